#!/usr/bin/env python3
"""test_ec2.py - the ec2 planner (AWS.EC2.Instance, Volume, KeyPair) through
the real conductord against moto.

For every type: create, a second plan with nothing to do, update in place,
replace, delete (kill leaves nothing: checked with boto3), and drift made
with boto3 behind the Conductor's back: corrected with enforcement on,
only recorded with it off. Validation errors come back with file:line:col.

Instances need a subnet: the tests make the network with boto3 and pass
plain ids (a reference property takes an existing id), and one test uses
the vpc planner's Vpc and Subnet through !ref when that planner is there.

Run by ctest (FUGUE_PLANNER_EC2, FUGUE_PLANNER_VPC, FUGUE_CONDUCTORD set by
tests/CMakeLists.txt), or by hand:
    FUGUE_PLANNER_EC2=build/planners/ec2.so FUGUE_PLANNER_VPC=build/planners/vpc.so \\
        tests/planners_aws/test_ec2.py --conductord build/daemon/conductord [Ec2.test_x]
"""

import base64
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until  # noqa: E402

REGION = "us-east-1"


def planner(name):
    path = os.environ.get("FUGUE_PLANNER_" + name.upper())
    if not path:
        raise HarnessError("FUGUE_PLANNER_%s is not set: run through ctest" % name.upper())
    return path


def conductor(**kw):
    """A conductord with the ec2 and vpc planners, pointed at a private moto."""
    return Conductor(moto=True, fake=False, planners=[planner("ec2"), planner("vpc")], **kw)


def public_key():
    """A fresh OpenSSH ed25519 public key (moto parses what it imports)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


def tags_of(described):
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


def indent(text, n):
    return "\n".join(" " * n + line if line else line for line in text.split("\n"))


class Ec2(unittest.TestCase):

    # -- talking to the Conductor ------------------------------------------------

    def run_source(self, c, source, alias="p"):
        events, final = c.request("run", {"source": source, "sourceName": "ec2.yaml",
                                          "alias": alias}, timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", (final, c.log()[-4000:]))
        return final["result"]

    def update(self, c, source, alias="p"):
        events, final = c.request("update", {"process": alias, "source": source,
                                             "sourceName": "ec2.yaml"}, timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", (final, c.log()[-4000:]))
        return final["result"], events

    def plan(self, c, source, alias="p"):
        """The dry-run plan of SOURCE: {resource: action}."""
        result = c.ok("update", {"process": alias, "source": source, "dryRun": True})
        return {a["resource"]: a["action"] for a in result["plan"]["actions"]}

    def assert_nothing_to_do(self, c, source):
        plan = self.plan(c, source)
        self.assertEqual(set(plan.values()), {"none"}, plan)

    def status(self, c, alias="p"):
        return {r["name"]: r for r in c.ok("status", {"process": alias})["resources"]}

    def resource_id(self, c, name, alias="p"):
        return self.status(c, alias)[name]["id"]

    def kill(self, c, alias="p"):
        events, final = c.request("kill", {"process": alias}, timeout=300)
        self.assertTrue(final and final["ok"], final)

    def history(self, c, alias, kind=None):
        entries = c.ok("history", {"process": alias, "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def enforce_every(self, c, seconds):
        c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": str(seconds)})

    # -- what moto has -------------------------------------------------------------

    def ours(self, ec2, fid):
        """Everything of process FID still there: live instances, volumes, keys."""
        flt = [{"Name": "tag:fugue:fid", "Values": [fid]}]
        live = [i["InstanceId"]
                for r in ec2.describe_instances(Filters=flt)["Reservations"]
                for i in r["Instances"]
                if i["State"]["Name"] not in ("terminated", "shutting-down")]
        volumes = [v["VolumeId"] for v in ec2.describe_volumes(Filters=flt)["Volumes"]]
        keys = [k["KeyName"] for k in ec2.describe_key_pairs(Filters=flt)["KeyPairs"]]
        return live + volumes + keys

    def network(self, ec2):
        """A VPC, a subnet in us-east-1a and two security groups, made with boto3."""
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                                   AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
        sg1 = ec2.create_security_group(GroupName="web", Description="web",
                                        VpcId=vpc)["GroupId"]
        sg2 = ec2.create_security_group(GroupName="admin", Description="admin",
                                        VpcId=vpc)["GroupId"]
        return vpc, subnet, sg1, sg2

    def image(self, ec2, n=0):
        images = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])
        return images[n]

    # -- key pairs -------------------------------------------------------------------

    def key_source(self, material, tags="{team: ops}", name=None):
        return ("composition: keys\nregion: %s\nresources:\n  deployer:\n"
                "    type: AWS.EC2.KeyPair\n%s    publicKeyMaterial: \"%s\"\n"
                "    tags: %s\n" % (REGION, "    keyName: %s\n" % name if name else "",
                                     material, tags))

    def test_key_pair(self):
        with conductor() as c:
            ec2 = c.boto3("ec2")
            src = self.key_source(public_key())
            fid = self.run_source(c, src)["fid"]
            keys = ec2.describe_key_pairs(KeyNames=["deployer"])["KeyPairs"]
            self.assertEqual(len(keys), 1)
            self.assertEqual(tags_of(keys[0])["fugue:fid"], fid)
            self.assertEqual(tags_of(keys[0])["team"], "ops")
            st = self.status(c)["deployer"]
            self.assertEqual(st["id"], keys[0]["KeyPairId"])
            self.assertEqual(st["attributes"]["fingerprint"], keys[0]["KeyFingerprint"])
            self.assertEqual(st["attributes"]["keyName"], "deployer")
            self.assert_nothing_to_do(c, src)

            # Tags in place.
            src2 = src.replace("{team: ops}", "{team: sec}")
            self.assertEqual(self.plan(c, src2), {"deployer": "update"})
            self.update(c, src2)
            keys = ec2.describe_key_pairs(KeyNames=["deployer"])["KeyPairs"]
            self.assertEqual(tags_of(keys[0])["team"], "sec")
            self.assertEqual(keys[0]["KeyPairId"], st["id"], "updated, not replaced")
            self.assert_nothing_to_do(c, src2)

            # New material replaces.
            src3 = self.key_source(public_key(), "{team: sec}")
            self.assertEqual(self.plan(c, src3), {"deployer": "replace"})
            self.update(c, src3)
            keys = ec2.describe_key_pairs(KeyNames=["deployer"])["KeyPairs"]
            self.assertEqual(len(keys), 1)
            self.assertNotEqual(keys[0]["KeyPairId"], st["id"])
            self.assertNotEqual(keys[0]["KeyFingerprint"], st["attributes"]["fingerprint"])

            # Drift: a tag changed by hand is put back.
            self.enforce_every(c, 0.3)
            ec2.create_tags(Resources=[keys[0]["KeyPairId"]], Tags=[{"Key": "team",
                                                                    "Value": "console"}])
            wait_until("the key's tag to be restored", lambda: tags_of(
                ec2.describe_key_pairs(KeyNames=["deployer"])["KeyPairs"][0])["team"] == "sec", timeout=60)

            self.kill(c)
            self.assertEqual(self.ours(ec2, fid), [])

    # -- volumes ---------------------------------------------------------------------

    def volume_source(self, size=10, az="us-east-1a", extra=""):
        return ("composition: disks\nregion: %s\ntags: {team: storage}\nresources:\n  data:\n"
                "    type: AWS.EC2.Volume\n    availabilityZone: %s\n    size: %d\n"
                "    volumeType: gp3\n    tags: {role: data}\n%s"
                % (REGION, az, size, extra))

    def test_volume(self):
        with conductor() as c:
            ec2 = c.boto3("ec2")
            src = self.volume_source()
            fid = self.run_source(c, src)["fid"]
            vid = self.resource_id(c, "data")
            vol = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
            self.assertEqual((vol["Size"], vol["VolumeType"], vol["AvailabilityZone"]),
                             (10, "gp3", "us-east-1a"))
            self.assertEqual(tags_of(vol)["fugue:fid"], fid)
            self.assertEqual(tags_of(vol)["fugue:resource"], "data")
            self.assertEqual(tags_of(vol)["team"], "storage", "the composition's tags too")
            self.assert_nothing_to_do(c, src)
            # Enforcement passes find nothing: the composition's tags are not drift.
            self.enforce_every(c, 0.2)
            for _ in range(2):
                seen = c.ok("status", {"process": "p"})["lastEnforced"]
                wait_until("an enforcement pass", lambda: c.ok(
                    "status", {"process": "p"})["lastEnforced"] != seen, timeout=60)
            self.assertEqual(self.history(c, "p", "drift"), [])
            self.enforce_every(c, 3600)

            # Grows and changes type in place.
            src2 = self.volume_source(20).replace("gp3", "gp2")
            self.assertEqual(self.plan(c, src2), {"data": "update"})
            self.update(c, src2)
            vol = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
            self.assertEqual((vol["Size"], vol["VolumeType"]), (20, "gp2"))
            self.assert_nothing_to_do(c, src2)

            # Shrinking is refused, not done.
            _, final = c.request("update", {"process": "p", "source": self.volume_source(5)
                                            .replace("gp3", "gp2")}, timeout=300)
            self.assertNotEqual((final.get("result") or {}).get("message"), "SUCCEEDED")
            self.assertIn("cannot shrink", str(final) + str(self.history(c, "p")))
            self.update(c, src2)

            # Another zone replaces.
            src3 = self.volume_source(20, "us-east-1b").replace("gp3", "gp2")
            self.assertEqual(self.plan(c, src3), {"data": "replace"})
            self.update(c, src3)
            new = self.resource_id(c, "data")
            self.assertNotEqual(new, vid)
            self.assertEqual(ec2.describe_volumes(VolumeIds=[new])["Volumes"][0]
                             ["AvailabilityZone"], "us-east-1b")
            self.assertEqual(self.ours(ec2, fid), [new], "the old volume is deleted")

            self.kill(c)
            self.assertEqual(self.ours(ec2, fid), [])

    def test_validation(self):
        with conductor() as c:
            bad = self.volume_source(2, "eu-west-1a", "    iops: 20000\n"
                                     "    attachment: {instance: i-0123456789abcdef0, "
                                     "device: /dev/hda}\n").replace("gp3", "io1")
            events, final = c.request("run", {"source": bad, "sourceName": "bad.yaml"})
            self.assertFalse(final["ok"], final)
            text = str(final)
            self.assertIn("bad.yaml:", text)
            self.assertIn("zone 'eu-west-1a' is not in region us-east-1", text)
            self.assertIn("io1 volume has 4 to 16384 GiB", text)
            self.assertIn("/dev/hda", text)
            self.assertIn("at most 100 iops", text)
            big = ("composition: big\nregion: %s\nresources:\n  web:\n"
                   "    type: AWS.EC2.Instance\n    imageId: ami-1\n    instanceType: t2.micro\n"
                   "    subnet: subnet-1\n    userData: \"%s\"\n    privateIpAddress: 10.0.0.300\n"
                   "    rootVolume: {size: 100000}\n" % (REGION, "x" * 17000))
            events, final = c.request("run", {"source": big, "sourceName": "big.yaml"})
            self.assertFalse(final["ok"], final)
            text = str(final)
            self.assertIn("big.yaml:", text)
            self.assertIn("user data is 17000 bytes", text)
            self.assertIn("'10.0.0.300' is not an IPv4 address", text)

    # -- instances -----------------------------------------------------------------

    def instance_source(self, image, subnet, groups, itype="t2.micro", tags="{app: web}",
                        volume=True, key=True, material=None):
        src = ("composition: web\nregion: %s\ntags: {team: web, app: composition}\nresources:\n"
               "  web:\n    type: AWS.EC2.Instance\n    imageId: %s\n    instanceType: %s\n"
               "    subnet: %s\n    securityGroups: [%s]\n    userData: \"#!/bin/sh\\necho hi\\n\"\n"
               "    rootVolume: {size: 12, volumeType: gp3}\n    tags: %s\n"
               % (REGION, image, itype, subnet, ", ".join(groups), tags))
        if key:
            src += "    keyName: !ref deployer.keyName\n"
            src += ("  deployer:\n    type: AWS.EC2.KeyPair\n    publicKeyMaterial: \"%s\"\n"
                    % material)
        if volume:
            src += ("  data:\n    type: AWS.EC2.Volume\n    availabilityZone: us-east-1a\n"
                    "    size: 5\n    attachment: {instance: !ref web, device: /dev/sdf}\n")
        return src

    def instance(self, ec2, iid):
        return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]

    def test_instance(self):
        with conductor() as c:
            ec2 = c.boto3("ec2")
            vpc, subnet, sg1, sg2 = self.network(ec2)
            image = self.image(ec2)
            material = public_key()
            src = self.instance_source(image, subnet, [sg1], material=material)
            fid = self.run_source(c, src)["fid"]
            st = self.status(c)
            iid = st["web"]["id"]
            inst = self.instance(ec2, iid)
            self.assertEqual(inst["State"]["Name"], "running")
            self.assertEqual((inst["ImageId"], inst["InstanceType"], inst["SubnetId"]),
                             (image, "t2.micro", subnet))
            self.assertEqual([g["GroupId"] for g in inst["SecurityGroups"]], [sg1])
            self.assertEqual(inst["KeyName"], "deployer")
            self.assertEqual(tags_of(inst)["fugue:fid"], fid)
            self.assertEqual(tags_of(inst)["app"], "web", "the resource's tag wins")
            self.assertEqual(tags_of(inst)["team"], "web")
            attrs = st["web"]["attributes"]
            self.assertEqual(attrs["privateIp"], inst["PrivateIpAddress"])
            self.assertEqual(attrs["availabilityZone"], "us-east-1a")
            self.assertRegex(attrs["arn"], r"^arn:aws:ec2:us-east-1:\d{12}:instance/" + iid)
            root = inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
            self.assertEqual(ec2.describe_volumes(VolumeIds=[root])["Volumes"][0]["Size"], 12)
            user_data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
            self.assertEqual(base64.b64decode(user_data["UserData"]["Value"]),
                             b"#!/bin/sh\necho hi\n")
            vol = ec2.describe_volumes(VolumeIds=[st["data"]["id"]])["Volumes"][0]
            self.assertEqual((vol["Attachments"][0]["InstanceId"],
                              vol["Attachments"][0]["Device"]), (iid, "/dev/sdf"))
            self.assert_nothing_to_do(c, src)

            # In place: type (stop, modify, start) and security groups.
            src2 = self.instance_source(image, subnet, [sg1, sg2], "t2.small",
                                        material=material)
            self.assertEqual(self.plan(c, src2)["web"], "update")
            self.update(c, src2)
            inst = self.instance(ec2, iid)
            self.assertEqual((inst["InstanceType"], inst["State"]["Name"]), ("t2.small", "running"))
            self.assertEqual(sorted(g["GroupId"] for g in inst["SecurityGroups"]),
                             sorted([sg1, sg2]))
            self.assert_nothing_to_do(c, src2)

            # Drift, enforcement on.
            self.enforce_every(c, 0.5)
            ec2.modify_instance_attribute(InstanceId=iid, Groups=[sg2])
            ec2.create_tags(Resources=[iid], Tags=[{"Key": "app", "Value": "console"}])
            ec2.detach_volume(VolumeId=st["data"]["id"], InstanceId=iid)  # moto needs the instance
            wait_until("groups, tag and attachment to be restored", lambda: (
                sorted(g["GroupId"] for g in self.instance(ec2, iid)["SecurityGroups"]) ==
                sorted([sg1, sg2]) and tags_of(self.instance(ec2, iid))["app"] == "web" and
                [a["InstanceId"] for a in ec2.describe_volumes(
                    VolumeIds=[st["data"]["id"]])["Volumes"][0]["Attachments"]] == [iid]))
            drift = wait_until("a drift entry", lambda: self.history(c, "p", "drift"), timeout=60)
            self.assertIn("corrected", drift[-1]["summary"])

            ec2.terminate_instances(InstanceIds=[iid])
            new = wait_until("the instance to be recreated", lambda: [
                r["id"] for r in [self.status(c)["web"]]
                if r["id"] != iid and r["status"] == "Ready"], timeout=60)[0]
            wait_until("the new instance to run and have the volume", lambda: (
                self.instance(ec2, new)["State"]["Name"] == "running" and
                [a["InstanceId"] for a in ec2.describe_volumes(
                    VolumeIds=[st["data"]["id"]])["Volumes"][0]["Attachments"]] == [new]), timeout=60)
            iid = new

            # Report only: recorded, left alone.
            c.ok("property", {"process": "p", "key": "enforcement", "value": "off"})
            ec2.create_tags(Resources=[iid], Tags=[{"Key": "app", "Value": "by-hand"}])
            wait_until("a report-only drift entry", lambda: [
                e for e in self.history(c, "p", "drift")[:1]
                if "enforcement off" in e["summary"]], timeout=60)
            self.assertEqual(tags_of(self.instance(ec2, iid))["app"], "by-hand")
            c.ok("property", {"process": "p", "key": "enforcement", "value": "on"})
            self.enforce_every(c, 3600)
            wait_until("the tag to be restored", lambda:
                       tags_of(self.instance(ec2, iid))["app"] == "web", timeout=60)

            # A new image replaces (and the volume follows the new instance).
            src3 = self.instance_source(self.image(ec2, 1), subnet, [sg1, sg2], "t2.small",
                                        material=material)
            self.assertEqual(self.plan(c, src3)["web"], "replace")
            self.update(c, src3)
            new = self.resource_id(c, "web")
            self.assertNotEqual(new, iid)
            self.assertEqual(self.instance(ec2, iid)["State"]["Name"], "terminated")
            self.assertEqual([a["InstanceId"] for a in ec2.describe_volumes(
                VolumeIds=[st["data"]["id"]])["Volumes"][0]["Attachments"]], [new])

            self.kill(c)
            self.assertEqual(self.ours(ec2, fid), [])

    def test_instance_on_vpc_planner_subnet(self):
        with conductor() as c:
            ec2 = c.boto3("ec2")
            src = ("composition: net\nregion: %s\nresources:\n"
                   "  vpc:\n    type: AWS.VPC.Vpc\n    cidrBlock: 10.1.0.0/16\n"
                   "  sub:\n    type: AWS.VPC.Subnet\n    vpc: !ref vpc\n"
                   "    cidrBlock: 10.1.1.0/24\n    availabilityZone: us-east-1b\n"
                   "  box:\n    type: AWS.EC2.Instance\n    imageId: %s\n"
                   "    instanceType: t3.micro\n    subnet: !ref sub\n"
                   "    privateIpAddress: 10.1.1.10\n    sourceDestCheck: false\n"
                   % (REGION, self.image(ec2)))
            fid = self.run_source(c, src)["fid"]
            inst = self.instance(ec2, self.resource_id(c, "box"))
            self.assertEqual(inst["PrivateIpAddress"], "10.1.1.10")
            self.assertEqual(inst["Placement"]["AvailabilityZone"], "us-east-1b")
            self.assert_nothing_to_do(c, src)
            # sourceDestCheck in place
            src2 = src.replace("sourceDestCheck: false", "sourceDestCheck: true")
            self.assertEqual(self.plan(c, src2)["box"], "update")
            self.update(c, src2)
            self.assert_nothing_to_do(c, src2)
            self.kill(c)
            self.assertEqual(self.ours(ec2, fid), [])


if __name__ == "__main__":
    main()
