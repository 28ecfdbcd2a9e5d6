#!/usr/bin/env python3
"""test_iam.py - the iam planner's Role, InstanceProfile and Policy through the real
conductord against moto: create, a second plan with nothing to do (the
documents are compared semantically: a single-value Action, keys in
another order), update in place, replace, kill leaving nothing, and drift
made with boto3 behind the Conductor's back (corrected with enforcement
on, only recorded with it off).

Run by ctest (FUGUE_PLANNER_IAM and FUGUE_CONDUCTORD set), or by hand:
    FUGUE_PLANNER_IAM=build/planners/iam.so tests/planners_aws/test_iam.py \\
        --conductord build/daemon/conductord [Iam.test_name]
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, wait_until  # noqa: E402

# Keys deliberately not in IAM's usual order, and single values where IAM
# also takes lists: a second plan must still have nothing to do.
APP = """composition: iamapp
tags: {team: iam}
resources:
  role:
    type: AWS.IAM.Role
    assumeRolePolicy:
      Statement:
        - Principal: {Service: ec2.amazonaws.com}
          Action: sts:AssumeRole
          Effect: Allow
      Version: "2012-10-17"
    description: app role
    inlinePolicies:
      s3read:
        Statement:
          - Resource: "*"
            Effect: Allow
            Action: s3:GetObject
        Version: "2012-10-17"
    managedPolicyArns: [ARN1]
    tags: {Name: app}
  profile:
    type: AWS.IAM.InstanceProfile
    role: !ref role.name
    tags: {Name: prof}
  pol:
    type: AWS.IAM.Policy
    description: app policy
    document:
      Statement:
        - Resource: "*"
          Action: ec2:DescribeInstances
          Effect: Allow
      Version: "2012-10-17"
    tags: {Name: pol}
"""

UPDATED = (APP.replace("description: app role", "description: app role 2\n"
                       "    maxSessionDuration: 7200")
           .replace("Action: s3:GetObject", "Action: [s3:GetObject, s3:ListBucket]")
           .replace("managedPolicyArns: [ARN1]", "managedPolicyArns: [ARN2]")
           .replace("tags: {Name: app}", "tags: {Name: app2, env: test}")
           .replace("Action: ec2:DescribeInstances",
                    "Action: [ec2:DescribeInstances, ec2:DescribeVpcs]")
           .replace("tags: {Name: pol}", "tags: {Name: pol2}"))

REPLACED = (UPDATED.replace("description: app role 2", "description: app role 2\n"
                            "    path: /app/")
            .replace("description: app policy", "description: app policy 2"))

POLICY = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}


def planner_so():
    path = os.environ.get("FUGUE_PLANNER_IAM")
    if not path:
        raise HarnessError("FUGUE_PLANNER_IAM is not set: run through ctest")
    return path


def tags_of(lst):
    return {t["Key"]: t["Value"] for t in lst}


def as_doc(d):
    return json.loads(d) if isinstance(d, str) else d


class Iam(unittest.TestCase):

    def conductor(self, **kw):
        return Conductor(moto=True, fake=False, planners=[planner_so()], **kw)

    def setup_policies(self, iam):
        arns = []
        for name in ("fugue-test-p1", "fugue-test-p2"):
            arns.append(iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(POLICY))
                        ["Policy"]["Arn"])
        return arns

    def source(self, text, arns):
        return text.replace("ARN1", arns[0]).replace("ARN2", arns[1])

    def run_app(self, c, source):
        events, final = c.request("run", {"source": source, "sourceName": "iam.yaml"},
                                  timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", final)
        return final["result"]

    def update(self, c, source, dry=False):
        events, final = c.request("update", {"process": "iamapp", "source": source,
                                             "sourceName": "iam.yaml", "dryRun": dry},
                                  timeout=300)
        self.assertTrue(final and final["ok"], final)
        return final["result"]

    def actions(self, c, source):
        plan = self.update(c, source, dry=True)["plan"]
        return {a["resource"]: a["action"] for a in plan["actions"]}

    def status(self, c):
        return {r["name"]: r for r in c.ok("status", {"process": "iamapp"})["resources"]}

    def history(self, c, kind=None):
        entries = c.ok("history", {"process": "iamapp", "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def attached(self, iam, role):
        return sorted(p["PolicyArn"] for p in
                      iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])

    def default_doc(self, iam, arn):
        pol = iam.get_policy(PolicyArn=arn)["Policy"]
        return as_doc(iam.get_policy_version(PolicyArn=arn, VersionId=pol["DefaultVersionId"])
                      ["PolicyVersion"]["Document"])

    def test_lifecycle(self):
        with self.conductor() as c:
            iam = c.boto3("iam")
            arns = self.setup_policies(iam)
            app = self.source(APP, arns)
            fid = self.run_app(c, app)["fid"]
            st = self.status(c)
            name = st["role"]["attributes"]["name"]
            pname = st["profile"]["attributes"]["name"]
            self.assertTrue(name.startswith("role-"), name)

            role = iam.get_role(RoleName=name)["Role"]
            self.assertEqual(role["RoleId"], st["role"]["id"])
            self.assertEqual(role["Arn"], st["role"]["attributes"]["arn"])
            self.assertEqual(role["Description"], "app role")
            tags = tags_of(iam.list_role_tags(RoleName=name)["Tags"])
            self.assertEqual((tags["Name"], tags["team"], tags["fugue:fid"],
                              tags["fugue:resource"]), ("app", "iam", fid, "role"))
            self.assertEqual(iam.list_role_policies(RoleName=name)["PolicyNames"], ["s3read"])
            self.assertEqual(self.attached(iam, name), [arns[0]])
            prof = iam.get_instance_profile(InstanceProfileName=pname)["InstanceProfile"]
            self.assertEqual([r["RoleName"] for r in prof["Roles"]], [name])
            self.assertEqual(prof["InstanceProfileId"], st["profile"]["id"])
            parn = st["pol"]["attributes"]["arn"]
            pol = iam.get_policy(PolicyArn=parn)["Policy"]
            self.assertEqual((pol["PolicyId"], pol["Description"]), (st["pol"]["id"], "app policy"))
            self.assertEqual(tags_of(pol["Tags"])["Name"], "pol")

            # a second plan has nothing to do: documents compared semantically
            self.assertEqual(set(self.actions(c, app).values()), {"none"})
            # the same trust policy spelled otherwise by hand is no change either
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": ["sts:AssumeRole"],
                    "Principal": {"Service": ["ec2.amazonaws.com"]}}]}))
            self.assertEqual(set(self.actions(c, app).values()), {"none"})

            # in place
            updated = self.source(UPDATED, arns)
            self.assertEqual(self.actions(c, updated),
                             {"role": "update", "profile": "none", "pol": "update"})
            self.assertEqual(self.update(c, updated)["message"], "SUCCEEDED")
            self.assertEqual(self.status(c)["role"]["id"], st["role"]["id"])
            role = iam.get_role(RoleName=name)["Role"]
            self.assertEqual((role["Description"], role["MaxSessionDuration"]),
                             ("app role 2", 7200))
            doc = as_doc(iam.get_role_policy(RoleName=name, PolicyName="s3read")
                         ["PolicyDocument"])
            self.assertEqual(doc["Statement"][0]["Action"], ["s3:GetObject", "s3:ListBucket"])
            self.assertEqual(self.attached(iam, name), [arns[1]])
            tags = tags_of(iam.list_role_tags(RoleName=name)["Tags"])
            self.assertEqual((tags["Name"], tags["env"], tags["fugue:fid"]), ("app2", "test", fid))
            self.assertEqual(set(self.actions(c, updated).values()), {"none"})
            self.assertEqual(self.status(c)["pol"]["id"], st["pol"]["id"])
            self.assertEqual(self.default_doc(iam, parn)["Statement"][0]["Action"],
                             ["ec2:DescribeInstances", "ec2:DescribeVpcs"])
            self.assertEqual(tags_of(iam.get_policy(PolicyArn=parn)["Policy"]["Tags"])["Name"],
                             "pol2")

            # five more documents: never more than AWS's five versions
            for i in range(5):
                more = updated.replace("ec2:DescribeVpcs", "ec2:DescribeSubnets%d" % i)
                self.assertEqual(self.update(c, more)["message"], "SUCCEEDED")
                versions = iam.list_policy_versions(PolicyArn=parn)["Versions"]
                self.assertLessEqual(len(versions), 5)
            self.assertEqual(self.default_doc(iam, parn)["Statement"][0]["Action"],
                             ["ec2:DescribeInstances", "ec2:DescribeSubnets4"])
            self.assertEqual(self.update(c, updated)["message"], "SUCCEEDED")

            # replacement: a new path makes a new role (same name, new id)
            replaced = self.source(REPLACED, arns)
            self.assertEqual(self.actions(c, replaced)["role"], "replace")
            self.assertEqual(self.update(c, replaced)["message"], "SUCCEEDED")
            st2 = self.status(c)
            self.assertNotEqual(st2["role"]["id"], st["role"]["id"])
            role = iam.get_role(RoleName=name)["Role"]
            self.assertEqual((role["Path"], role["RoleId"]), ("/app/", st2["role"]["id"]))
            prof = iam.get_instance_profile(InstanceProfileName=pname)["InstanceProfile"]
            self.assertEqual([r["RoleName"] for r in prof["Roles"]], [name])
            self.assertNotEqual(st2["pol"]["id"], st["pol"]["id"])
            parn = st2["pol"]["attributes"]["arn"]
            self.assertEqual(iam.get_policy(PolicyArn=parn)["Policy"]["Description"],
                             "app policy 2")
            self.assertEqual(set(self.actions(c, replaced).values()), {"none"})
            # attached by hand: kill detaches it before deleting
            iam.attach_role_policy(RoleName=name, PolicyArn=parn)

            # kill leaves nothing
            events, final = c.request("kill", {"process": "iamapp"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            self.assertEqual(final["result"]["state"], "Killed")
            self.assertEqual([r["RoleName"] for r in iam.list_roles()["Roles"]
                              if r["RoleName"] == name], [])
            self.assertEqual([p for p in iam.list_instance_profiles()["InstanceProfiles"]
                              if p["InstanceProfileName"] == pname], [])
            self.assertEqual([p for p in iam.list_policies(Scope="Local")["Policies"]
                              if p["Arn"] == parn], [])
            # the managed policies (not ours) are still there, detached
            for arn in arns:
                self.assertEqual(iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 0)

    def test_drift(self):
        with self.conductor() as c:
            iam = c.boto3("iam")
            arns = self.setup_policies(iam)
            app = self.source(APP, arns)
            self.run_app(c, app)
            st = self.status(c)
            name = st["role"]["attributes"]["name"]
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.3"})

            # what a person does in the console
            iam.delete_role_policy(RoleName=name, PolicyName="s3read")
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))
            iam.detach_role_policy(RoleName=name, PolicyArn=arns[0])
            pname = st["profile"]["attributes"]["name"]
            iam.remove_role_from_instance_profile(InstanceProfileName=pname, RoleName=name)
            iam.delete_instance_profile(InstanceProfileName=pname)
            parn = st["pol"]["attributes"]["arn"]
            iam.create_policy_version(PolicyArn=parn, SetAsDefault=True, PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "*", "Resource": "*"}]}))

            def profile_roles():
                found = [p for p in iam.list_instance_profiles()["InstanceProfiles"]
                         if p["InstanceProfileName"] == pname]
                return [r["RoleName"] for r in found[0]["Roles"]] if found else None

            def restored():
                if profile_roles() != [name]:
                    return False
                role = iam.get_role(RoleName=name)["Role"]
                trust = as_doc(role["AssumeRolePolicyDocument"])
                return (self.default_doc(iam, parn)["Statement"][0]["Action"] ==
                        "ec2:DescribeInstances" and
                        iam.list_role_policies(RoleName=name)["PolicyNames"] == ["s3read"] and
                        self.attached(iam, name) == [arns[0]] and
                        trust["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com")
            wait_until("the drift to be corrected", restored, timeout=120)
            drift = wait_until("a drift entry", lambda: self.history(c, "drift"), timeout=60)
            self.assertTrue(any("corrected" in e["summary"] for e in drift), drift)
            self.assertEqual(self.status(c)["role"]["id"], st["role"]["id"])
            self.assertNotEqual(self.status(c)["profile"]["id"], st["profile"]["id"])
            wait_until("a clean pass",
                       lambda: c.ok("status", {"process": "iamapp"})["drift"] == 0, timeout=60)

            # report only: recorded, left as it is
            c.ok("property", {"process": "iamapp", "key": "enforcement", "value": "off"})
            iam.detach_role_policy(RoleName=name, PolicyArn=arns[0])
            wait_until("a report-only drift entry",
                       lambda: [e for e in self.history(c, "drift")
                                if "enforcement off" in e["summary"]], timeout=60)
            time.sleep(1.0)  # several passes at 0.3 s; nothing may be changed by them
            self.assertEqual(self.attached(iam, name), [])
            self.assertGreaterEqual(c.ok("status", {"process": "iamapp"})["drift"], 1)

    def test_validation(self):
        with self.conductor() as c:
            bad = APP.replace("description: app role", "description: app role\n"
                              "    maxSessionDuration: 60\n    path: nope")
            bad = bad.replace("role: !ref role.name", "role: !ref role")
            events, final = c.request("run", {"source": bad, "sourceName": "iam.yaml"},
                                      timeout=60)
            self.assertFalse(final["ok"], final)
            text = json.dumps(final)
            self.assertIn("maxSessionDuration", text)
            self.assertIn("path", text)
            self.assertIn("role.name", text)


if __name__ == "__main__":
    main()
