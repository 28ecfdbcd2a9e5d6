#!/usr/bin/env python3
"""test_network_example.py - examples/network.yaml through the real `fugue`
binary and a real conductord (vpc and ec2 planners) against moto.

One lifecycle, in order: `fugue validate` compiles the file; `fugue run`
converges it; `fugue status network` shows every resource Ready with an AWS
id; boto3 Describe calls find each resource with our fugue:fid tag and as
declared (VPC, four subnets, the internet gateway attached, the NAT gateway
available with its elastic IP, both route tables with their routes and
associations, both security groups with their rules, the key pair, both
instances running in their subnets); an enforcement pass finds no drift;
`fugue update --dry-run` with the same file says "No changes."; `fugue kill
network -y` leaves nothing of ours (a NAT gateway `deleted`, an instance
`terminated` and a released address count as gone).

moto keeps the network interfaces of terminated instances and of deleted
NAT gateways (AWS deletes them); the test allows exactly those.

FUGUE_TEST_WRAPPER (valgrind under `make valgrind`) wraps fugue as well as
the daemon.

Run by ctest (FUGUE_CLI, FUGUE_PLANNER_VPC, FUGUE_PLANNER_EC2, FUGUE_CONDUCTORD
set by tests/CMakeLists.txt), or by hand:
    FUGUE_CLI=build/cli/fugue FUGUE_PLANNER_VPC=build/planners/vpc.so \\
        FUGUE_PLANNER_EC2=build/planners/ec2.so \\
        tests/e2e/test_network_example.py --conductord build/daemon/conductord
"""

import json
import os
import shlex
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until, WRAPPER  # noqa: E402

EXAMPLE = os.path.join("examples", "network.yaml")  # relative: run from SOURCE
ALIAS = "network"
COMPOSITION_TAGS = {"project": "fugue-example", "environment": "demo"}
VPC_CIDR = "10.0.0.0/16"
SUBNETS = {  # name -> (cidr, zone, public)
    "public-a": ("10.0.0.0/24", "us-east-1a", True),
    "public-b": ("10.0.1.0/24", "us-east-1b", True),
    "private-a": ("10.0.10.0/24", "us-east-1a", False),
    "private-b": ("10.0.11.0/24", "us-east-1b", False),
}
IMAGE = "ami-04681a1dbd79675a5"
KEY_NAME = "network-example-deployer"
# name -> AWS id prefix: every resource of the example.
RESOURCES = {
    "vpc": "vpc-", "public-a": "subnet-", "public-b": "subnet-", "private-a": "subnet-",
    "private-b": "subnet-", "igw": "igw-", "nat-ip": "eipalloc-", "nat": "nat-",
    "public-routes": "rtb-", "private-routes": "rtb-", "web-sg": "sg-", "db-sg": "sg-",
    "deployer": "key-", "web": "i-", "db": "i-",
}


def env_path(var):
    path = os.environ.get(var)
    if not path:
        raise HarnessError("%s is not set: run through ctest" % var)
    return path


def tags_of(described, key="Tags"):
    return {t["Key"]: t["Value"] for t in described.get(key) or []}


def error_code(call):
    """The AWS error code CALL() raises, or None when it answers."""
    from botocore.exceptions import ClientError
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


class NetworkExample(unittest.TestCase):

    # -- the fugue binary --------------------------------------------------------------

    def fugue(self, c, *args, planners=None, timeout=300):
        """Runs fugue ARGS against C's socket, from the source directory, with
        a clean environment (FUGUE_PLANNERS_DIR=PLANNERS when given). Returns
        (exit status, stdout, stderr)."""
        env = dict(os.environ)
        for var in ("NO_COLOR", "FUGUE_CONDUCTOR", "FUGUE_PLANNERS_DIR", "COLUMNS"):
            env.pop(var, None)
        env["LC_ALL"] = "C.UTF-8"
        if planners:
            env["FUGUE_PLANNERS_DIR"] = planners
        argv = shlex.split(WRAPPER) + [env_path("FUGUE_CLI"), "--conductor", c.socket_path]
        p = subprocess.run(argv + list(args), env=env, cwd=SOURCE, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout * SLOW)
        return p.returncode, p.stdout, p.stderr

    def fugue_ok(self, c, *args, **kw):
        rc, out, err = self.fugue(c, *args, **kw)
        self.assertEqual(rc, 0, "fugue %s -> %d\n--- stdout:\n%s--- stderr:\n%s"
                         "--- daemon log (end):\n%s"
                         % (" ".join(args), rc, out, err, c.log()[-6000:]))
        return out, err

    def status(self, c):
        out, _ = self.fugue_ok(c, "--json", "status", ALIAS)
        return json.loads(out)

    # -- the lifecycle -----------------------------------------------------------------

    def test_network_example(self):
        with Conductor(moto=True, fake=False, enforce_interval=1,
                       planners=[env_path("FUGUE_PLANNER_VPC"),
                                 env_path("FUGUE_PLANNER_EC2")]) as c:
            ec2 = c.boto3("ec2")
            out, _ = self.fugue_ok(c, "validate", EXAMPLE, "--planners-dir", c.planners_dir)
            self.assertIn("%s: %d resources, valid" % (EXAMPLE, len(RESOURCES)), out)

            fid, ids = self.run_example(c)
            self.check_aws(ec2, fid, ids)
            self.check_no_drift(c)

            out, _ = self.fugue_ok(c, "update", ALIAS, EXAMPLE, "--dry-run",
                                   planners=c.planners_dir)
            self.assertIn("No changes.", out)

            nat_enis = [a["NetworkInterfaceId"] for a in ec2.describe_nat_gateways(
                NatGatewayIds=[ids["nat"]])["NatGateways"][0]["NatGatewayAddresses"]]
            out, _ = self.fugue_ok(c, "kill", ALIAS, "-y")
            self.assertRegex(out, r"process network killed: %d resources deleted"
                             % len(RESOURCES))
            rc, _, err = self.fugue(c, "status", ALIAS)
            self.assertEqual(rc, 1, err)
            self.check_gone(ec2, fid, ids, nat_enis)

    def run_example(self, c):
        """fugue run, then fugue status: returns (fid, {name: AWS id})."""
        out, _ = self.fugue_ok(c, "run", EXAMPLE, planners=c.planners_dir)
        self.assertIn("compiling %s: %d resources" % (EXAMPLE, len(RESOURCES)), out)
        self.assertRegex(out, r"process network converged: %d resources ready" % len(RESOURCES))

        # The human table: every resource Ready with an id of its kind.
        out, _ = self.fugue_ok(c, "status", ALIAS)
        self.assertRegex(out, r"resources\s+%d/%d ready" % (len(RESOURCES), len(RESOURCES)))
        rows = {}
        for line in out.splitlines():
            cols = line.split()
            if len(cols) == 5 and cols[0] in RESOURCES:
                rows[cols[0]] = cols
        self.assertEqual(set(rows), set(RESOURCES), out)
        for name, (_, _, aws_id, state, drift) in rows.items():
            self.assertTrue(aws_id.startswith(RESOURCES[name]), (name, aws_id))
            self.assertEqual((state, drift), ("Ready", "-"), name)

        # The same from --json, which the checks below use.
        st = self.status(c)
        self.assertEqual(st["state"], "Running")
        self.assertEqual(st["message"], "SUCCEEDED")
        ids = {r["name"]: r["id"] for r in st["resources"]}
        self.assertEqual(ids, {name: cols[2] for name, cols in rows.items()})
        return st["fid"], ids

    # -- what moto has after the run ---------------------------------------------------

    def assert_ours(self, described, fid, name, key="Tags"):
        tags = tags_of(described, key)
        self.assertEqual(tags.get("fugue:fid"), fid, (name, tags))
        self.assertEqual(tags.get("fugue:resource"), name, (name, tags))
        for k, v in COMPOSITION_TAGS.items():
            self.assertEqual(tags.get(k), v, (name, tags))

    def check_aws(self, ec2, fid, ids):
        flt = [{"Name": "tag:fugue:fid", "Values": [fid]}]

        vpcs = ec2.describe_vpcs(Filters=flt)["Vpcs"]
        self.assertEqual([v["VpcId"] for v in vpcs], [ids["vpc"]])
        self.assertEqual(vpcs[0]["CidrBlock"], VPC_CIDR)
        self.assert_ours(vpcs[0], fid, "vpc")
        for attr, field in (("enableDnsSupport", "EnableDnsSupport"),
                            ("enableDnsHostnames", "EnableDnsHostnames")):
            got = ec2.describe_vpc_attribute(VpcId=ids["vpc"], Attribute=attr)
            self.assertTrue(got[field]["Value"], attr)

        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(Filters=flt)["Subnets"]}
        self.assertEqual(set(subnets), {ids[n] for n in SUBNETS})
        for name, (cidr, zone, public) in SUBNETS.items():
            s = subnets[ids[name]]
            self.assert_ours(s, fid, name)
            self.assertEqual((s["VpcId"], s["CidrBlock"], s["AvailabilityZone"],
                              s["MapPublicIpOnLaunch"]), (ids["vpc"], cidr, zone, public), name)

        igws = ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]
        self.assertEqual([g["InternetGatewayId"] for g in igws], [ids["igw"]])
        self.assert_ours(igws[0], fid, "igw")
        self.assertEqual([(a["VpcId"], a["State"]) for a in igws[0]["Attachments"]],
                         [(ids["vpc"], "available")])

        addrs = ec2.describe_addresses(Filters=flt)["Addresses"]
        self.assertEqual([a["AllocationId"] for a in addrs], [ids["nat-ip"]])
        self.assert_ours(addrs[0], fid, "nat-ip")

        nats = ec2.describe_nat_gateways(Filters=[{"Name": "tag:fugue:fid", "Values": [fid]}])
        nats = nats["NatGateways"]
        self.assertEqual([(n["NatGatewayId"], n["State"]) for n in nats],
                         [(ids["nat"], "available")])
        self.assert_ours(nats[0], fid, "nat")
        self.assertEqual((nats[0]["VpcId"], nats[0]["SubnetId"]), (ids["vpc"], ids["public-a"]))
        self.assertEqual([a["AllocationId"] for a in nats[0]["NatGatewayAddresses"]],
                         [ids["nat-ip"]])
        self.assertEqual(nats[0]["NatGatewayAddresses"][0]["PublicIp"], addrs[0]["PublicIp"])

        self.check_route_tables(ec2, flt, fid, ids)
        self.check_security_groups(ec2, flt, fid, ids)

        keys = ec2.describe_key_pairs(Filters=flt)["KeyPairs"]
        self.assertEqual([(k["KeyPairId"], k["KeyName"]) for k in keys],
                         [(ids["deployer"], KEY_NAME)])
        self.assert_ours(keys[0], fid, "deployer")

        instances = {i["InstanceId"]: i
                     for r in ec2.describe_instances(Filters=flt)["Reservations"]
                     for i in r["Instances"]}
        self.assertEqual(set(instances), {ids["web"], ids["db"]})
        for name, subnet, sg, itype in (("web", "public-a", "web-sg", "t3.micro"),
                                        ("db", "private-a", "db-sg", "t3.small")):
            i = instances[ids[name]]
            self.assert_ours(i, fid, name)
            self.assertEqual(i["State"]["Name"], "running", name)
            self.assertEqual((i["SubnetId"], i["VpcId"]), (ids[subnet], ids["vpc"]), name)
            self.assertEqual([g["GroupId"] for g in i["SecurityGroups"]], [ids[sg]], name)
            self.assertEqual((i["ImageId"], i["InstanceType"], i["KeyName"]),
                             (IMAGE, itype, KEY_NAME), name)
        # db's root volume is the declared 20 GiB gp3, tagged like the instance.
        root = instances[ids["db"]]["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
        vol = ec2.describe_volumes(VolumeIds=[root])["Volumes"][0]
        self.assertEqual((vol["Size"], vol["VolumeType"]), (20, "gp3"))
        self.assertEqual(tags_of(vol).get("fugue:fid"), fid)

    def check_route_tables(self, ec2, flt, fid, ids):
        tables = {t["RouteTableId"]: t
                  for t in ec2.describe_route_tables(Filters=flt)["RouteTables"]}
        self.assertEqual(set(tables), {ids["public-routes"], ids["private-routes"]})
        for name, target_key, target, subnets in (
                ("public-routes", "GatewayId", ids["igw"], ("public-a", "public-b")),
                ("private-routes", "NatGatewayId", ids["nat"], ("private-a", "private-b"))):
            t = tables[ids[name]]
            self.assert_ours(t, fid, name)
            self.assertEqual(t["VpcId"], ids["vpc"])
            routes = {r["DestinationCidrBlock"]: r for r in t["Routes"]}
            self.assertEqual(set(routes), {VPC_CIDR, "0.0.0.0/0"}, (name, t["Routes"]))
            self.assertEqual(routes[VPC_CIDR].get("GatewayId"), "local")
            self.assertEqual(routes["0.0.0.0/0"].get(target_key), target, (name, t["Routes"]))
            assoc = sorted(a["SubnetId"] for a in t["Associations"] if not a.get("Main"))
            self.assertEqual(assoc, sorted(ids[s] for s in subnets), name)

    def check_security_groups(self, ec2, flt, fid, ids):
        groups = {g["GroupId"]: g
                  for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]}
        self.assertEqual(set(groups), {ids["web-sg"], ids["db-sg"]})

        def rules(group):
            out = set()
            for p in group["IpPermissions"]:
                for r in p.get("IpRanges", []):
                    out.add((p["IpProtocol"], p["FromPort"], p["ToPort"], r["CidrIp"]))
                for r in p.get("UserIdGroupPairs", []):
                    out.add((p["IpProtocol"], p["FromPort"], p["ToPort"], r["GroupId"]))
            return out

        web, db = groups[ids["web-sg"]], groups[ids["db-sg"]]
        for name, g, desc in (("web-sg", web, "web tier"), ("db-sg", db, "database tier")):
            self.assert_ours(g, fid, name)
            self.assertEqual((g["VpcId"], g["Description"]), (ids["vpc"], desc), name)
        self.assertEqual(rules(web), {("tcp", 80, 80, "0.0.0.0/0"),
                                      ("tcp", 443, 443, "0.0.0.0/0"),
                                      ("tcp", 22, 22, VPC_CIDR)})
        self.assertEqual(rules(db), {("tcp", 5432, 5432, ids["web-sg"])})

    # -- enforcement -----------------------------------------------------------------------

    def check_no_drift(self, c):
        """Waits for an enforcement pass that observed every resource, then
        asserts it found nothing to correct (the observed shapes match)."""
        before = {r["name"]: r["lastObserved"] for r in self.status(c)["resources"]}

        def observed_again():
            st = self.status(c)
            if all(r["lastObserved"] and r["lastObserved"] != before[r["name"]]
                   for r in st["resources"]):
                return st
            return None

        st = wait_until("an enforcement pass over every resource", observed_again, timeout=60)
        self.assertEqual(st["drift"], 0, st)
        for r in st["resources"]:
            self.assertEqual(r["status"], "Ready", r)
            self.assertFalse(r["drift"], r)  # [] after a pass, null before any
        out, _ = self.fugue_ok(c, "--json", "history", ALIAS, "--limit", "0")
        kinds = [e["kind"] for e in json.loads(out)["entries"]]
        self.assertNotIn("drift", kinds)

    # -- what moto has after the kill --------------------------------------------------------

    def check_gone(self, ec2, fid, ids, nat_enis):
        flt = [{"Name": "tag:fugue:fid", "Values": [fid]}]
        # Nothing left by tag ...
        self.assertEqual(ec2.describe_vpcs(Filters=flt)["Vpcs"], [])
        self.assertEqual(ec2.describe_subnets(Filters=flt)["Subnets"], [])
        self.assertEqual(ec2.describe_internet_gateways(Filters=flt)["InternetGateways"], [])
        self.assertEqual(ec2.describe_addresses(Filters=flt)["Addresses"], [])
        self.assertEqual(ec2.describe_route_tables(Filters=flt)["RouteTables"], [])
        self.assertEqual(ec2.describe_security_groups(Filters=flt)["SecurityGroups"], [])
        self.assertEqual(ec2.describe_key_pairs(Filters=flt)["KeyPairs"], [])
        self.assertEqual(ec2.describe_volumes(Filters=flt)["Volumes"], [])
        self.assertEqual([n["State"] for n in ec2.describe_nat_gateways(
            Filters=flt)["NatGateways"] if n["State"] not in ("deleted", "deleting")], [])
        self.assertEqual([i["State"]["Name"]
                          for r in ec2.describe_instances(Filters=flt)["Reservations"]
                          for i in r["Instances"] if i["State"]["Name"] != "terminated"], [])

        # ... nor by id (a resource whose tags were lost would hide from the filter).
        for call, code in (
                (lambda: ec2.describe_vpcs(VpcIds=[ids["vpc"]]), "InvalidVpcID.NotFound"),
                (lambda: ec2.describe_subnets(SubnetIds=[ids[n] for n in SUBNETS]),
                 "InvalidSubnetID.NotFound"),
                (lambda: ec2.describe_internet_gateways(InternetGatewayIds=[ids["igw"]]),
                 "InvalidInternetGatewayID.NotFound"),
                (lambda: ec2.describe_addresses(AllocationIds=[ids["nat-ip"]]),
                 "InvalidAllocationID.NotFound"),
                (lambda: ec2.describe_route_tables(
                    RouteTableIds=[ids["public-routes"], ids["private-routes"]]),
                 "InvalidRouteTableID.NotFound"),
                (lambda: ec2.describe_security_groups(GroupIds=[ids["web-sg"], ids["db-sg"]]),
                 "InvalidGroup.NotFound"),
                (lambda: ec2.describe_key_pairs(KeyNames=[KEY_NAME]),
                 "InvalidKeyPair.NotFound")):
            self.assertEqual(error_code(call), code)
        nat = ec2.describe_nat_gateways(NatGatewayIds=[ids["nat"]])["NatGateways"]
        self.assertIn(nat[0]["State"], ("deleted", "deleting"))
        states = [i["State"]["Name"]
                  for r in ec2.describe_instances(InstanceIds=[ids["web"], ids["db"]])[
                      "Reservations"] for i in r["Instances"]]
        self.assertEqual(states, ["terminated", "terminated"])

        # moto keeps the interfaces of terminated instances and deleted NAT
        # gateways; nothing else may be left in the deleted VPC.
        left = ec2.describe_network_interfaces(
            Filters=[{"Name": "vpc-id", "Values": [ids["vpc"]]}])["NetworkInterfaces"]
        for eni in left:
            owner = eni.get("Attachment", {}).get("InstanceId")
            self.assertTrue(owner in (ids["web"], ids["db"]) or
                            eni["NetworkInterfaceId"] in nat_enis, eni)


if __name__ == "__main__":
    main()
