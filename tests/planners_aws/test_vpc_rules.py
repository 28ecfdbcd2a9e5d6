#!/usr/bin/env python3
"""test_vpc_rules.py - AWS.VPC.RouteTable and AWS.VPC.SecurityGroup through
the real conductord and the vpc planner, against moto.

The VPC, subnets and internet gateway they need are made with boto3 and
referred to by id (a reference property takes an existing id), so these
tests depend on no other type. Drift is made as a person would, with boto3
behind the Conductor's back.

Run by ctest, or by hand:
    FUGUE_PLANNER_VPC=build/planners/vpc.so tests/planners_aws/test_vpc_rules.py \\
        --conductord build/daemon/conductord [Rules.test_name]
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until  # noqa: E402

VPC_SO = os.environ.get("FUGUE_PLANNER_VPC", "")

SG_TYPE = "AWS.VPC.SecurityGroup"
RT_TYPE = "AWS.VPC.RouteTable"


def composition(net, web_ingress=None, web_desc="web tier", routes=None, subnets=None,
                vpc=None, db_egress=True):
    """The test composition; NET holds the ids made with boto3."""
    vpc = vpc or net["vpc"]
    web_ingress = web_ingress if web_ingress is not None else [
        "{ipProtocol: tcp, fromPort: 443, toPort: 443, cidrIp: 0.0.0.0/0}",
        "{ipProtocol: tcp, fromPort: 80, toPort: 80, cidrIp: 0.0.0.0/0, description: http}",
        "{ipProtocol: icmp, fromPort: -1, toPort: -1, cidrIp: 10.0.0.0/16}",
    ]
    routes = routes if routes is not None else [
        "{destinationCidrBlock: 192.168.0.0/16, gatewayId: %s}" % net["igw"],
        "{destinationCidrBlock: 0.0.0.0/0, gatewayId: %s}" % net["igw"],
    ]
    subnets = subnets if subnets is not None else [net["b"], net["a"]]
    lines = [
        "composition: rules",
        "tags: {team: net}",
        "resources:",
        "  web:",
        "    type: %s" % SG_TYPE,
        "    vpc: %s" % net["vpc"],
        "    description: %s" % web_desc,
        "    tags: {tier: web}",
        "    ingress:" + ("" if web_ingress else " []"),
    ] + ["      - " + r for r in web_ingress] + [
        "  db:",
        "    type: %s" % SG_TYPE,
        "    vpc: %s" % net["vpc"],
        "    ingress:",
        # one IpPermission in AWS with two peers: flattened on observation
        "      - {ipProtocol: tcp, fromPort: 5432, toPort: 5432, cidrIp: 10.0.1.0/24}",
        "      - {ipProtocol: tcp, fromPort: 5432, toPort: 5432, sourceSecurityGroupId: !ref web}",
    ] + ([
        "    egress:",
        "      - {ipProtocol: tcp, fromPort: 443, toPort: 443, cidrIp: 0.0.0.0/0}",
    ] if db_egress else []) + [
        "  public:",
        "    type: %s" % RT_TYPE,
        "    vpc: %s" % vpc,
        "    routes:" + ("" if routes else " []"),
    ] + ["      - " + r for r in routes] + [
        "    subnets: [%s]" % ", ".join(subnets),
        "",
    ]
    return "\n".join(lines)


def conductor(**kw):
    if not VPC_SO:
        raise unittest.SkipTest("FUGUE_PLANNER_VPC is not set")
    return Conductor(moto=True, fake=False, planners=[VPC_SO], **kw)


# --- the tests ------------------------------------------------------------------------

class Rules(unittest.TestCase):

    def network(self, c):
        ec2 = c.boto3("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i)["Subnet"]["SubnetId"]
                   for i in (1, 2, 3)]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        return {"vpc": vpc, "a": subnets[0], "b": subnets[1], "c": subnets[2], "igw": igw}

    def run_source(self, c, source):
        events, final = c.request("run", {"source": source, "sourceName": "rules.yaml"},
                                  timeout=300)
        self.assertTrue(final and final["ok"], (final, c.log()[-4000:]))
        self.assertEqual(final["result"]["message"], "SUCCEEDED", final)
        return final["result"]

    def update(self, c, source, dry=False):
        events, final = c.request("update", {"process": "rules", "source": source,
                                             "dryRun": dry}, timeout=300)
        self.assertTrue(final and final["ok"], (final, c.log()[-4000:]))
        if not dry:
            wait_until("the update to finish", lambda: c.ok(
                "status", {"process": "rules"})["state"] == "Running" and
                self.last_history(c, "update"), timeout=60)
        return final["result"]

    def history(self, c, kind=None):
        entries = c.ok("history", {"process": "rules", "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def last_history(self, c, kind):
        entries = self.history(c, kind)
        return entries[0] if entries else None

    def plan_actions(self, c, source):
        plan = self.update(c, source, dry=True)["plan"]
        return {a["resource"]: (a["action"], a.get("changes")) for a in plan["actions"]}

    def assert_no_changes(self, c, source):
        actions = self.plan_actions(c, source)
        busy = {k: v for k, v in actions.items() if v[0] != "none"}
        self.maxDiff = None
        self.assertEqual(busy, {}, "a second plan must have nothing to do")

    def resource_ids(self, c):
        status = c.ok("status", {"process": "rules"})
        return {r["name"]: r.get("id") for r in status["resources"]}

    def group(self, c, gid):
        return c.boto3("ec2").describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]

    def table(self, c, rid):
        return c.boto3("ec2").describe_route_tables(RouteTableIds=[rid])["RouteTables"][0]

    @staticmethod
    def rules_of(perms):
        """{(proto, from, to, peer)} flattened from IpPermissions."""
        out = set()
        for p in perms:
            ports = (p.get("FromPort"), p.get("ToPort")) if p["IpProtocol"] != "-1" else (None, None)
            for r in p.get("IpRanges", []):
                out.add((p["IpProtocol"],) + ports + (r["CidrIp"],))
            for g in p.get("UserIdGroupPairs", []):
                out.add((p["IpProtocol"],) + ports + (g["GroupId"],))
        return out

    @staticmethod
    def routes_of(table):
        return {(r["DestinationCidrBlock"], r.get("GatewayId"))
                for r in table["Routes"] if r.get("GatewayId") != "local"}

    @staticmethod
    def subnets_of(table):
        return {a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")}

    # -- create, idempotence -----------------------------------------------------

    def test_create_and_nothing_to_do(self):
        with conductor() as c:
            net = self.network(c)
            source = composition(net)
            self.run_source(c, source)
            ids = self.resource_ids(c)
            web = self.group(c, ids["web"])
            db = self.group(c, ids["db"])
            self.assertEqual(self.rules_of(web["IpPermissions"]), {
                ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0"),
                ("icmp", -1, -1, "10.0.0.0/16")})
            self.assertEqual(web["Description"], "web tier")
            self.assertTrue(web["GroupName"].startswith("web-"), web["GroupName"])
            tags = {t["Key"]: t["Value"] for t in web.get("Tags", [])}
            self.assertEqual(tags.get("tier"), "web")
            self.assertEqual(tags.get("fugue:resource"), "web")
            # egress not declared: AWS's allow-all stays
            self.assertEqual(self.rules_of(web["IpPermissionsEgress"]),
                             {("-1", None, None, "0.0.0.0/0")})
            self.assertEqual(self.rules_of(db["IpPermissions"]), {
                ("tcp", 5432, 5432, "10.0.1.0/24"), ("tcp", 5432, 5432, ids["web"])})
            # egress declared: exactly the declared set, the default revoked
            self.assertEqual(self.rules_of(db["IpPermissionsEgress"]),
                             {("tcp", 443, 443, "0.0.0.0/0")})
            table = self.table(c, ids["public"])
            self.assertEqual(self.routes_of(table), {("0.0.0.0/0", net["igw"]),
                                                     ("192.168.0.0/16", net["igw"])})
            self.assertEqual(self.subnets_of(table), {net["a"], net["b"]})

            # the state create() returned matches the declaration
            self.assert_no_changes(c, source)
            # and so does what observation finds (flattening, order, shapes)
            before = len(self.history(c, "drift"))
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.2"})
            wait_until("two enforcement passes", lambda: self._enforced_twice(c), timeout=60)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "3600"})
            self.assert_no_changes(c, source)
            self.assertEqual(len(self.history(c, "drift")), before,
                             "observation must not see drift: %s" % self.history(c, "drift"))

    def _enforced_twice(self, c):
        status = c.ok("status", {"process": "rules"})
        if not status.get("lastEnforced"):
            return False
        if not hasattr(self, "_first_enforced"):
            self._first_enforced = status["lastEnforced"]
            return False
        return status["lastEnforced"] != self._first_enforced

    # -- update in place ---------------------------------------------------------

    def test_update_in_place(self):
        with conductor() as c:
            net = self.network(c)
            self.run_source(c, composition(net))
            ids = self.resource_ids(c)
            changed = composition(
                net,
                web_ingress=[
                    "{ipProtocol: tcp, fromPort: 443, toPort: 443, cidrIp: 0.0.0.0/0}",
                    "{ipProtocol: tcp, fromPort: 80, toPort: 80, cidrIp: 0.0.0.0/0, "
                    "description: plain http}",
                    "{ipProtocol: tcp, fromPort: 22, toPort: 22, cidrIp: 10.0.0.0/8}",
                ],
                routes=["{destinationCidrBlock: 0.0.0.0/0, gatewayId: %s}" % net["igw"],
                        "{destinationCidrBlock: 172.16.0.0/12, gatewayId: %s}" % net["igw"]],
                subnets=[net["a"], net["c"]])
            actions = self.plan_actions(c, changed)
            self.assertEqual(actions["web"][0], "update", actions)
            self.assertEqual(actions["public"][0], "update", actions)
            self.assertEqual(actions["db"][0], "none", actions)
            self.update(c, changed)
            self.assertEqual(self.resource_ids(c), ids, "updated in place, not replaced")
            web = self.group(c, ids["web"])
            self.assertEqual(self.rules_of(web["IpPermissions"]), {
                ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0"),
                ("tcp", 22, 22, "10.0.0.0/8")})
            http = [r for p in web["IpPermissions"] if p.get("FromPort") == 80
                    for r in p["IpRanges"]]
            self.assertEqual(http[0].get("Description"), "plain http")
            table = self.table(c, ids["public"])
            self.assertEqual(self.routes_of(table), {("0.0.0.0/0", net["igw"]),
                                                     ("172.16.0.0/12", net["igw"])})
            self.assertEqual(self.subnets_of(table), {net["a"], net["c"]})
            self.assert_no_changes(c, changed)

    # -- replace -----------------------------------------------------------------

    def test_replace(self):
        with conductor() as c:
            net = self.network(c)
            self.run_source(c, composition(net))
            ids = self.resource_ids(c)
            ec2 = c.boto3("ec2")
            vpc2 = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            changed = composition(net, web_desc="web tier v2", vpc=vpc2, routes=[], subnets=[])
            actions = self.plan_actions(c, changed)
            self.assertEqual(actions["web"][0], "replace", actions)
            self.assertEqual(actions["public"][0], "replace", actions)
            self.update(c, changed)
            new = self.resource_ids(c)
            self.assertNotEqual(new["web"], ids["web"])
            self.assertNotEqual(new["public"], ids["public"])
            self.assertEqual(self.group(c, new["web"])["Description"], "web tier v2")
            self.assertEqual(self.table(c, new["public"])["VpcId"], vpc2)
            groups = ec2.describe_security_groups(
                Filters=[{"Name": "group-id", "Values": [ids["web"]]}])["SecurityGroups"]
            self.assertEqual(groups, [], "the old group is deleted")
            tables = ec2.describe_route_tables(
                Filters=[{"Name": "route-table-id", "Values": [ids["public"]]}])["RouteTables"]
            self.assertEqual(tables, [], "the old table is deleted")
            # db's rule follows the new web group
            db = self.group(c, new["db"])
            self.assertIn(("tcp", 5432, 5432, new["web"]), self.rules_of(db["IpPermissions"]))
            self.assert_no_changes(c, changed)

    # -- delete ------------------------------------------------------------------

    def test_kill_leaves_nothing(self):
        with conductor() as c:
            net = self.network(c)
            self.run_source(c, composition(net))
            ids = self.resource_ids(c)
            events, final = c.request("kill", {"process": "rules"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            wait_until("the process to be forgotten",
                       lambda: not [p for p in c.ok("status")["processes"]
                                    if p["alias"] == "rules"], timeout=60)
            ec2 = c.boto3("ec2")
            groups = ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["SecurityGroups"]
            self.assertEqual([g["GroupName"] for g in groups], ["default"])
            tables = ec2.describe_route_tables(
                Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["RouteTables"]
            self.assertEqual([t["RouteTableId"] for t in tables if t["RouteTableId"] ==
                              ids["public"]], [])
            self.assertEqual(len(tables), 1, "only the main table is left")

    # -- drift -------------------------------------------------------------------

    def make_drift(self, c, net, ids):
        ec2 = c.boto3("ec2")
        ec2.revoke_security_group_ingress(GroupId=ids["web"], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ec2.authorize_security_group_ingress(GroupId=ids["web"], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ec2.delete_route(RouteTableId=ids["public"], DestinationCidrBlock="0.0.0.0/0")
        table = self.table(c, ids["public"])
        assoc = [a["RouteTableAssociationId"] for a in table["Associations"]
                 if a.get("SubnetId") == net["a"]][0]
        ec2.disassociate_route_table(AssociationId=assoc)

    def test_drift_corrected(self):
        with conductor() as c:
            net = self.network(c)
            source = composition(net)
            self.run_source(c, source)
            ids = self.resource_ids(c)
            self.make_drift(c, net, ids)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.3"})
            wanted_rules = {("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0"),
                            ("icmp", -1, -1, "10.0.0.0/16")}
            wait_until("the drift to be corrected", lambda: (
                self.rules_of(self.group(c, ids["web"])["IpPermissions"]) == wanted_rules and
                self.routes_of(self.table(c, ids["public"])) == {
                    ("0.0.0.0/0", net["igw"]), ("192.168.0.0/16", net["igw"])} and
                self.subnets_of(self.table(c, ids["public"])) == {net["a"], net["b"]}))
            drift = wait_until("a drift entry", lambda: self.history(c, "drift"), timeout=60)
            text = str(drift)
            self.assertIn("3389", text)
            self.assertIn("corrected", drift[-1]["summary"])
            self.assertEqual(self.resource_ids(c), ids, "corrected in place")

    def test_drift_report_only(self):
        with conductor() as c:
            net = self.network(c)
            self.run_source(c, composition(net))
            ids = self.resource_ids(c)
            c.ok("property", {"process": "rules", "key": "enforcement", "value": "off"})
            self.make_drift(c, net, ids)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.3"})
            entry = wait_until("a report-only drift entry", lambda: [
                e for e in self.history(c, "drift") if "enforcement off" in e["summary"]], timeout=60)
            props = {d["property"] for d in entry[0]["details"]}
            self.assertTrue({"ingress", "routes", "subnets"} <= props, entry)
            time.sleep(1)  # a few more passes: still nothing changed
            self.assertIn(("tcp", 3389, 3389, "0.0.0.0/0"),
                          self.rules_of(self.group(c, ids["web"])["IpPermissions"]))
            self.assertEqual(self.subnets_of(self.table(c, ids["public"])), {net["b"]})

    # -- validation --------------------------------------------------------------

    def test_validation(self):
        with conductor() as c:
            net = {"vpc": "vpc-12345678", "igw": "igw-1", "a": "subnet-a", "b": "subnet-b"}
            bad = composition(
                net,
                web_ingress=[
                    "{ipProtocol: tcp, cidrIp: 0.0.0.0/0}",
                    "{ipProtocol: tcp, fromPort: 90, toPort: 80, cidrIp: 0.0.0.0/0}",
                    "{ipProtocol: udp, fromPort: 53, toPort: 70000, cidrIp: 10.0.0.0/8}",
                    "{ipProtocol: '-1', fromPort: 1, toPort: 2, cidrIp: 10.0.0.0/8}",
                    "{ipProtocol: icmp, fromPort: 300, toPort: -1, cidrIp: 10.0.0.0/8}",
                    "{ipProtocol: tcp, fromPort: 1, toPort: 2, cidrIp: 10.0.0.5/8, "
                    "sourceSecurityGroupId: sg-1}",
                    "{ipProtocol: tcp, fromPort: 1, toPort: 2, cidrIp: 10.0.0.1/8}",
                    "{ipProtocol: tcp, fromPort: 5, toPort: 5, cidrIp: 10.0.0.0/8}",
                    "{ipProtocol: tcp, fromPort: 5, toPort: 5, cidrIp: 10.0.0.0/8}",
                ],
                routes=["{destinationCidrBlock: 10.1.0.0/16, gatewayId: igw-1, "
                        "natGatewayId: nat-1}",
                        "{destinationCidrBlock: 10.1.0.0/16, gatewayId: igw-1}",
                        "{destinationCidrBlock: 10.2.0.0/33, gatewayId: igw-1}",
                        "{destinationCidrBlock: 10.3.0.0/16, gatewayId: local}",
                        "{destinationCidrBlock: 10.4.0.0/16}"],
                subnets=["subnet-a", "subnet-a"])
            events, final = c.request("run", {"source": bad, "sourceName": "rules.yaml",
                                              "dryRun": True})
            self.assertFalse(final["ok"], final)
            text = str(final)
            for expected in ("ingress.0.fromPort", "ingress.1.toPort", "ingress.2.toPort",
                             "ingress.3.fromPort", "ingress.4.fromPort", "ingress.5",
                             "ingress.6.cidrIp", "ingress.8", "routes.0.natGatewayId",
                             "routes.1.destinationCidrBlock", "routes.2.destinationCidrBlock",
                             "routes.3.gatewayId", "routes.4", "subnets.1",
                             "exactly one target", "already routed", "not an ipv4 cidr",
                             "toPort is below fromPort", "rules.yaml:"):
                self.assertIn(expected, text)


if __name__ == "__main__":
    main()
