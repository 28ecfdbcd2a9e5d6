#!/usr/bin/env python3
"""test_vpc.py - the vpc planner's Vpc, Subnet, InternetGateway, ElasticIp
and NatGateway types through the real conductord against moto: create,
a second plan with nothing to do, update in place, replace, kill leaving
nothing, validation errors, and drift made with boto3 behind the
Conductor's back (corrected with enforcement on, only recorded with it off).

(RouteTable and SecurityGroup: test_vpc_rules.py.)

Run by ctest (FUGUE_PLANNER_VPC and FUGUE_CONDUCTORD set), or by hand:
    FUGUE_PLANNER_VPC=build/planners/vpc.so tests/planners_aws/test_vpc.py \\
        --conductord build/daemon/conductord [Vpc.test_name]
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until  # noqa: E402

NETWORK = """composition: net
tags: {team: net}
resources:
  vpc:
    type: AWS.VPC.Vpc
    cidrBlock: 10.0.0.0/16
    enableDnsHostnames: true
    tags: {Name: main}
  pub:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.1.0/24
    availabilityZone: us-east-1a
    mapPublicIpOnLaunch: true
  priv:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.2.0/24
    availabilityZone: us-east-1b
    tags: {tier: private}
  igw:
    type: AWS.VPC.InternetGateway
    vpc: !ref vpc
    tags: {Name: gw}
  eip:
    type: AWS.VPC.ElasticIp
    tags: {Name: nat-ip}
  nat:
    type: AWS.VPC.NatGateway
    subnet: !ref pub
    elasticIp: !ref eip
    tags: {Name: nat}
"""

# What changes in place: tags everywhere, the DNS and public-IP switches.
NETWORK_UPDATED = (NETWORK
                   .replace("enableDnsHostnames: true", "enableDnsHostnames: false")
                   .replace("tags: {Name: main}", "tags: {Name: main2, env: test}")
                   .replace("mapPublicIpOnLaunch: true", "mapPublicIpOnLaunch: false")
                   .replace("tags: {Name: gw}", "tags: {Name: gw2}")
                   .replace("tags: {Name: nat-ip}", "tags: {Name: nat-ip2}")
                   .replace("tags: {Name: nat}", "tags: {Name: nat2}"))

# What forces replacement: a subnet's block.
NETWORK_REPLACED = NETWORK_UPDATED.replace("cidrBlock: 10.0.2.0/24", "cidrBlock: 10.0.3.0/24")


def planner_so():
    path = os.environ.get("FUGUE_PLANNER_VPC")
    if not path:
        raise HarnessError("FUGUE_PLANNER_VPC is not set: run through ctest")
    return path


def tags_of(described):
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


class Vpc(unittest.TestCase):

    def conductor(self, **kw):
        return Conductor(moto=True, fake=False, planners=[planner_so()], **kw)

    # --- helpers --------------------------------------------------------------------

    def run_net(self, c, source=NETWORK):
        events, final = c.request("run", {"source": source, "sourceName": "net.yaml"},
                                  timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", final)
        return final["result"]

    def update(self, c, source, dry=False):
        events, final = c.request("update", {"process": "net", "source": source,
                                             "sourceName": "net.yaml", "dryRun": dry},
                                  timeout=300)
        self.assertTrue(final and final["ok"], final)
        return final["result"]

    def actions(self, c, source):
        plan = self.update(c, source, dry=True)["plan"]
        return {a["resource"]: a["action"] for a in plan["actions"]}

    def ids(self, c):
        status = c.ok("status", {"process": "net"})
        return {r["name"]: r["id"] for r in status["resources"]}

    def history(self, c, kind=None):
        entries = c.ok("history", {"process": "net", "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def ours(self, ec2, fid):
        """Everything in moto tagged with process FID (NAT gateways in state
        deleted are gone: AWS and moto keep listing them)."""
        f = [{"Name": "tag:fugue:fid", "Values": [fid]}]
        left = {}
        left["vpcs"] = [v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]]
        left["subnets"] = [s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]]
        left["igws"] = [g["InternetGatewayId"]
                        for g in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]]
        left["eips"] = [a["AllocationId"] for a in ec2.describe_addresses(Filters=f)["Addresses"]]
        left["nats"] = [n["NatGatewayId"]
                        for n in ec2.describe_nat_gateways(Filter=f)["NatGateways"]
                        if n["State"] not in ("deleted", "deleting")]
        return left

    def dns_hostnames(self, ec2, vpc):
        return ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsHostnames")[
            "EnableDnsHostnames"]["Value"]

    def subnet(self, ec2, sid):
        found = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [sid]}])["Subnets"]
        return found[0] if found else None

    def igw_vpcs(self, ec2, gid):
        gw = ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"][0]
        return [a["VpcId"] for a in gw.get("Attachments", [])
                if a.get("State") not in ("detached", "detaching")]

    # --- tests ----------------------------------------------------------------------

    def test_lifecycle(self):
        with self.conductor() as c:
            ec2 = c.boto3("ec2")
            result = self.run_net(c)
            fid = result["fid"]
            ids = self.ids(c)

            # created as declared, tagged in the same call
            vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
            self.assertEqual(vpc["CidrBlock"], "10.0.0.0/16")
            tags = tags_of(vpc)
            self.assertEqual((tags["Name"], tags["team"], tags["fugue:fid"],
                              tags["fugue:resource"]), ("main", "net", fid, "vpc"))
            self.assertTrue(self.dns_hostnames(ec2, ids["vpc"]))
            pub = self.subnet(ec2, ids["pub"])
            self.assertEqual((pub["VpcId"], pub["CidrBlock"], pub["AvailabilityZone"],
                              pub["MapPublicIpOnLaunch"]),
                             (ids["vpc"], "10.0.1.0/24", "us-east-1a", True))
            self.assertEqual(self.igw_vpcs(ec2, ids["igw"]), [ids["vpc"]])
            eip = ec2.describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]
            self.assertEqual(eip["Domain"], "vpc")
            nat = ec2.describe_nat_gateways(NatGatewayIds=[ids["nat"]])["NatGateways"][0]
            self.assertEqual((nat["State"], nat["SubnetId"]), ("available", ids["pub"]))
            self.assertEqual(nat["NatGatewayAddresses"][0]["AllocationId"], ids["eip"])

            # attributes people and references need
            status = {r["name"]: r for r in c.ok("status", {"process": "net"})["resources"]}
            attrs = status["vpc"]["attributes"]
            self.assertEqual(attrs["arn"], "arn:aws:ec2:us-east-1:%s:vpc/%s"
                             % (vpc["OwnerId"], ids["vpc"]))
            self.assertTrue(attrs["defaultSecurityGroupId"].startswith("sg-"))
            self.assertTrue(attrs["mainRouteTableId"].startswith("rtb-"))
            self.assertEqual(status["pub"]["attributes"]["availabilityZone"], "us-east-1a")
            self.assertIn(ids["pub"], status["pub"]["attributes"]["arn"])
            self.assertEqual(status["eip"]["attributes"]["publicIp"], eip["PublicIp"])
            self.assertEqual(status["nat"]["attributes"]["publicIp"], eip["PublicIp"])

            # a second plan has nothing to do
            self.assertEqual(set(self.actions(c, NETWORK).values()), {"none"})

            # in place: same ids, new values
            plan = self.actions(c, NETWORK_UPDATED)
            self.assertEqual(plan, {"vpc": "update", "pub": "update", "priv": "none",
                                    "igw": "update", "eip": "update", "nat": "update"})
            self.assertEqual(self.update(c, NETWORK_UPDATED)["message"], "SUCCEEDED")
            self.assertEqual(self.ids(c), ids)
            vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
            self.assertEqual((tags_of(vpc)["Name"], tags_of(vpc)["env"]), ("main2", "test"))
            self.assertEqual(tags_of(vpc)["fugue:fid"], fid, "fugue's tags stay")
            self.assertFalse(self.dns_hostnames(ec2, ids["vpc"]))
            self.assertFalse(self.subnet(ec2, ids["pub"])["MapPublicIpOnLaunch"])
            gw = ec2.describe_internet_gateways(InternetGatewayIds=[ids["igw"]])
            self.assertEqual(tags_of(gw["InternetGateways"][0])["Name"], "gw2")
            nat = ec2.describe_nat_gateways(NatGatewayIds=[ids["nat"]])["NatGateways"][0]
            self.assertEqual(tags_of(nat)["Name"], "nat2")
            self.assertEqual(set(self.actions(c, NETWORK_UPDATED).values()), {"none"})

            # a tag no longer declared goes away
            fewer = NETWORK_UPDATED.replace("tags: {Name: main2, env: test}",
                                            "tags: {Name: main2}")
            self.assertEqual(self.actions(c, fewer)["vpc"], "update")
            self.update(c, fewer)
            vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
            self.assertNotIn("env", tags_of(vpc))

            # replacement: a new subnet, the old one deleted
            replaced = fewer.replace("cidrBlock: 10.0.2.0/24", "cidrBlock: 10.0.3.0/24")
            self.assertEqual(self.actions(c, replaced)["priv"], "replace")
            self.update(c, replaced)
            new_ids = self.ids(c)
            self.assertNotEqual(new_ids["priv"], ids["priv"])
            self.assertIsNone(self.subnet(ec2, ids["priv"]))
            self.assertEqual(self.subnet(ec2, new_ids["priv"])["CidrBlock"], "10.0.3.0/24")
            self.assertEqual(set(self.actions(c, replaced).values()), {"none"})

            # kill leaves nothing
            events, final = c.request("kill", {"process": "net"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            self.assertEqual(final["result"]["state"], "Killed")
            self.assertEqual(self.ours(ec2, fid),
                             {"vpcs": [], "subnets": [], "igws": [], "eips": [], "nats": []})

    def test_drift(self):
        with self.conductor() as c:
            ec2 = c.boto3("ec2")
            self.run_net(c)
            ids = self.ids(c)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.3"})

            # what a person does in the console
            ec2.delete_subnet(SubnetId=ids["priv"])
            ec2.create_tags(Resources=[ids["vpc"]], Tags=[{"Key": "Name", "Value": "edited"},
                                                          {"Key": "added-by-hand", "Value": "x"}])
            ec2.detach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc"])
            ec2.modify_subnet_attribute(SubnetId=ids["pub"], MapPublicIpOnLaunch={"Value": False})
            ec2.modify_vpc_attribute(VpcId=ids["vpc"], EnableDnsHostnames={"Value": False})
            ec2.create_tags(Resources=[ids["eip"], ids["nat"]],
                            Tags=[{"Key": "Name", "Value": "edited"}])

            def tag_name(described):
                return tags_of(described).get("Name")

            def restored():
                now = self.ids(c)
                if now["priv"] in (None, ids["priv"]):
                    return False
                sub = self.subnet(ec2, now["priv"])
                vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
                return (sub is not None and sub["CidrBlock"] == "10.0.2.0/24" and
                        tags_of(vpc).get("Name") == "main" and
                        "added-by-hand" not in tags_of(vpc) and
                        self.igw_vpcs(ec2, ids["igw"]) == [ids["vpc"]] and
                        self.subnet(ec2, ids["pub"])["MapPublicIpOnLaunch"] and
                        self.dns_hostnames(ec2, ids["vpc"]) and
                        tag_name(ec2.describe_addresses(AllocationIds=[ids["eip"]])
                                 ["Addresses"][0]) == "nat-ip" and
                        tag_name(ec2.describe_nat_gateways(NatGatewayIds=[ids["nat"]])
                                 ["NatGateways"][0]) == "nat")
            wait_until("the drift to be corrected", restored, timeout=120)
            drift = wait_until("a drift entry", lambda: self.history(c, "drift"), timeout=60)
            text = str(drift)
            self.assertIn("edited", text)
            self.assertIn("mapPublicIpOnLaunch", text)
            self.assertTrue(any("corrected" in e["summary"] for e in drift), drift)
            new_ids = self.ids(c)
            self.assertEqual({k: v for k, v in new_ids.items() if k != "priv"},
                             {k: v for k, v in ids.items() if k != "priv"},
                             "only the deleted subnet is made again")
            wait_until("a clean pass",
                       lambda: c.ok("status", {"process": "net"})["drift"] == 0, timeout=60)

            # report only: recorded, left as it is
            c.ok("property", {"process": "net", "key": "enforcement", "value": "off"})
            ec2.create_tags(Resources=[ids["vpc"]], Tags=[{"Key": "Name", "Value": "second"}])
            ec2.detach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc"])
            entry = wait_until("a report-only drift entry",
                               lambda: [e for e in self.history(c, "drift")
                                        if "enforcement off" in e["summary"] and
                                        "second" in str(e)], timeout=60)
            self.assertIn("vpc", str(entry[0]["details"]))
            time.sleep(1.0)  # several passes at 0.3 s; nothing may be changed by them
            vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
            self.assertEqual(tags_of(vpc)["Name"], "second")
            self.assertEqual(self.igw_vpcs(ec2, ids["igw"]), [])
            self.assertGreaterEqual(c.ok("status", {"process": "net"})["drift"], 1)

    def test_nat_gateway_waits_for_an_internet_gateway(self):
        # AWS fails a public NAT gateway made before its VPC has an internet
        # gateway attached; nothing in a composition orders the two, so the
        # planner waits for the attachment. Here a person attaches one later.
        source = """composition: natwait
resources:
  vpc:
    type: AWS.VPC.Vpc
    cidrBlock: 10.9.0.0/16
  pub:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.9.0.0/24
    availabilityZone: us-east-1a
  eip:
    type: AWS.VPC.ElasticIp
  nat:
    type: AWS.VPC.NatGateway
    subnet: !ref pub
    elasticIp: !ref eip
"""
        with self.conductor() as c:
            ec2 = c.boto3("ec2")
            fid = c.ok("run", {"source": source, "sourceName": "natwait.yaml",
                               "wait": False})["fid"]

            def waiting():
                st = {r["name"]: r["status"] for r in c.ok("status", {"process": fid})["resources"]}
                return all(st.get(n) == "Ready" for n in ("vpc", "pub", "eip")) and \
                    st.get("nat") == "Creating"
            wait_until("the NAT gateway's create to begin", waiting, timeout=60)
            time.sleep(2)  # the create keeps waiting: it polls for the attachment
            self.assertEqual(ec2.describe_nat_gateways(
                Filters=[{"Name": "tag:fugue:fid", "Values": [fid]}])["NatGateways"], [],
                "no NAT gateway is made before the VPC has an internet gateway")
            vpc_id = [r["id"] for r in c.ok("status", {"process": fid})["resources"]
                      if r["name"] == "vpc"][0]
            igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
            wait_until("the process to converge", lambda: c.ok(
                "status", {"process": fid})["resources"] and all(
                r["status"] == "Ready" for r in c.ok("status", {"process": fid})["resources"]),
                timeout=120)

    def test_replace_network(self):
        with self.conductor() as c:
            ec2 = c.boto3("ec2")
            fid = self.run_net(c)["fid"]
            ids = self.ids(c)

            # a new VPC block: the VPC and what lives in it are made again; the
            # gateway moves to the new VPC in place. (The NAT gateway takes a new
            # address: moto keeps a deleted NAT gateway's address associated.)
            moved = (NETWORK.replace("10.0.", "10.1.")
                     .replace("elasticIp: !ref eip", "elasticIp: !ref eip2")
                     + "  eip2:\n    type: AWS.VPC.ElasticIp\n")
            plan = self.actions(c, moved)
            self.assertEqual(plan, {"vpc": "replace", "pub": "replace", "priv": "replace",
                                    "igw": "update", "eip": "none", "eip2": "create",
                                    "nat": "replace"})
            self.assertEqual(self.update(c, moved)["message"], "SUCCEEDED")
            new = self.ids(c)
            for name in ("vpc", "pub", "priv", "nat"):
                self.assertNotEqual(new[name], ids[name], name)
            self.assertEqual((new["igw"], new["eip"]), (ids["igw"], ids["eip"]))
            self.assertEqual(self.igw_vpcs(ec2, ids["igw"]), [new["vpc"]])
            self.assertEqual(ec2.describe_vpcs(Filters=[{"Name": "vpc-id",
                                                         "Values": [ids["vpc"]]}])["Vpcs"], [])
            nat = ec2.describe_nat_gateways(NatGatewayIds=[new["nat"]])["NatGateways"][0]
            self.assertEqual((nat["SubnetId"], nat["State"]), (new["pub"], "available"))
            old = ec2.describe_nat_gateways(NatGatewayIds=[ids["nat"]])["NatGateways"]
            self.assertTrue(all(n["State"] == "deleted" for n in old), old)
            self.assertEqual(set(self.actions(c, moved).values()), {"none"})

            # a private NAT gateway instead: replaced, and the address no longer declared
            private = (moved.replace("    elasticIp: !ref eip2\n",
                                     "    connectivityType: private\n")
                       .replace("  eip:\n    type: AWS.VPC.ElasticIp\n    tags: {Name: nat-ip}\n",
                                "")
                       .replace("  eip2:\n    type: AWS.VPC.ElasticIp\n", ""))
            plan = self.actions(c, private)
            self.assertEqual((plan["nat"], plan["eip"], plan["eip2"]),
                             ("replace", "delete", "delete"))
            self.update(c, private)
            self.assertNotEqual(self.ids(c)["nat"], new["nat"])
            self.assertEqual(ec2.describe_addresses(Filters=[{"Name": "tag:fugue:fid",
                                                              "Values": [fid]}])["Addresses"], [])

            events, final = c.request("kill", {"process": "net"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            self.assertEqual(self.ours(ec2, fid),
                             {"vpcs": [], "subnets": [], "igws": [], "eips": [], "nats": []})

    def test_validation(self):
        bad = """composition: bad
resources:
  vpc:
    type: AWS.VPC.Vpc
    cidrBlock: 10.0.0.0/16
  outside:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.1.0.0/24
  syntax:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.300.0/24
  zone:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.4.0/24
    availabilityZone: eu-west-1a
  eip:
    type: AWS.VPC.ElasticIp
  nat:
    type: AWS.VPC.NatGateway
    subnet: !ref zone
  privnat:
    type: AWS.VPC.NatGateway
    subnet: !ref zone
    connectivityType: private
    elasticIp: !ref eip
"""
        with self.conductor() as c:
            events, final = c.request("run", {"source": bad, "sourceName": "bad.yaml"})
            self.assertFalse(final["ok"])
            self.assertEqual(final["error"]["code"], "invalid_composition")
            diags = ["%d:%d %s" % (d["line"], d["col"], d["message"])
                     for d in final["error"]["details"]["diagnostics"]]
            text = "\n".join(diags)
            self.assertRegex(text, r"9:\d+ .*cidrBlock: 10\.1\.0\.0/24 is not inside the "
                                   r"vpc's block 10\.0\.0\.0/16")
            self.assertRegex(text, r"13:\d+ .*'10\.0\.300\.0/24' is not an IPv4 CIDR block")
            self.assertRegex(text, r"18:\d+ .*'eu-west-1a' is not a zone of region us-east-1")
            self.assertIn("a public nat gateway needs an elasticIp", text)
            self.assertIn("a private nat gateway takes no elasticIp", text)
            self.assertEqual(len(diags), 5, text)
            self.assertEqual(c.ok("status")["processes"], [])


if __name__ == "__main__":
    main()
