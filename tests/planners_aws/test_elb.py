#!/usr/bin/env python3
"""test_elb.py - the elb planner (AWS.ELB.LoadBalancer, classic) through the
real conductord against moto, with the vpc and ec2 planners loaded: the
load balancer's subnets, security group and instances are resources of the
same composition, referenced with !ref.

Create, a second plan with nothing to do, update in place (a listener
added, the health check changed, an instance registered), replace (the
scheme), drift made with boto3 (an instance deregistered, a listener
deleted, the health check changed) corrected with enforcement on and only
recorded with it off, kill leaves nothing; validation errors.

Run by ctest (FUGUE_PLANNER_ELB/VPC/EC2 and FUGUE_CONDUCTORD set by
tests/CMakeLists.txt), or by hand:
    FUGUE_PLANNER_ELB=build/planners/elb.so FUGUE_PLANNER_VPC=build/planners/vpc.so \\
    FUGUE_PLANNER_EC2=build/planners/ec2.so \\
        tests/planners_aws/test_elb.py --conductord build/daemon/conductord [Elb.test_x]
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, wait_until  # noqa: E402

REGION = "us-east-1"


def planner(name):
    path = os.environ.get("FUGUE_PLANNER_" + name.upper())
    if not path:
        raise HarnessError("FUGUE_PLANNER_%s is not set: run through ctest" % name.upper())
    return path


def conductor(**kw):
    return Conductor(moto=True, fake=False,
                     planners=[planner("elb"), planner("vpc"), planner("ec2")], **kw)


NETWORK = """composition: web
region: us-east-1
tags: {team: web}
resources:
  vpc:
    type: AWS.VPC.Vpc
    cidrBlock: 10.0.0.0/16
  public-a:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.1.0/24
    availabilityZone: us-east-1a
  public-b:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.0.2.0/24
    availabilityZone: us-east-1b
  lb-sg:
    type: AWS.VPC.SecurityGroup
    vpc: !ref vpc
    description: load balancer
    ingress:
      - {ipProtocol: tcp, fromPort: 80, toPort: 80, cidrIp: 0.0.0.0/0}
  web1:
    type: AWS.EC2.Instance
    imageId: %(image)s
    instanceType: t2.micro
    subnet: !ref public-a
  web2:
    type: AWS.EC2.Instance
    imageId: %(image)s
    instanceType: t2.micro
    subnet: !ref public-b
"""

LB = """  front:
    type: AWS.ELB.LoadBalancer
    subnets: [!ref public-a, !ref public-b]
    securityGroups: [!ref lb-sg]
    scheme: %(scheme)s
    listeners:
%(listeners)s
    healthCheck: {target: "%(target)s", interval: 30, timeout: 5, unhealthyThreshold: 2,
                  healthyThreshold: 3}
    instances: [%(instances)s]
    crossZone: true
    idleTimeout: 120
    connectionDraining: {enabled: true, timeout: 60}
    tags: {role: front}
"""

HTTP = "      - {protocol: HTTP, loadBalancerPort: 80, instancePort: 8080}"
TCP = "      - {protocol: TCP, loadBalancerPort: 9000, instanceProtocol: TCP, instancePort: 9000}"


class Elb(unittest.TestCase):

    def source(self, image, scheme="internet-facing", listeners=(HTTP,),
               target="HTTP:8080/health", instances=("web1",)):
        return NETWORK % {"image": image} + LB % {
            "scheme": scheme, "listeners": "\n".join(listeners), "target": target,
            "instances": ", ".join("!ref " + i for i in instances)}

    def run_source(self, c, source, alias="p"):
        events, final = c.request("run", {"source": source, "sourceName": "elb.yaml",
                                          "alias": alias}, timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", (final, c.log()[-4000:]))
        return final["result"]

    def update(self, c, source, alias="p"):
        events, final = c.request("update", {"process": alias, "source": source,
                                             "sourceName": "elb.yaml"}, timeout=300)
        self.assertTrue(final and final["ok"], final)
        self.assertEqual(final["result"]["message"], "SUCCEEDED", (final, c.log()[-4000:]))

    def plan(self, c, source, alias="p"):
        result = c.ok("update", {"process": alias, "source": source, "dryRun": True})
        return {a["resource"]: a["action"] for a in result["plan"]["actions"]}

    def assert_nothing_to_do(self, c, source):
        plan = self.plan(c, source)
        self.assertEqual(set(plan.values()), {"none"}, plan)

    def status(self, c, alias="p"):
        return {r["name"]: r for r in c.ok("status", {"process": alias})["resources"]}

    def history(self, c, alias, kind=None):
        entries = c.ok("history", {"process": alias, "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def enforce_every(self, c, seconds):
        c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": str(seconds)})

    def image(self, ec2):
        return sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])[0]

    def lb(self, elb, name):
        return elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]

    def ports(self, elb, name):
        return sorted(d["Listener"]["LoadBalancerPort"]
                      for d in self.lb(elb, name)["ListenerDescriptions"])

    def registered(self, elb, name):
        return sorted(i["InstanceId"] for i in self.lb(elb, name)["Instances"])

    def test_load_balancer(self):
        with conductor() as c:
            elb, ec2 = c.boto3("elb"), c.boto3("ec2")
            image = self.image(ec2)
            src = self.source(image)
            fid = self.run_source(c, src)["fid"]
            st = self.status(c)
            name = st["front"]["id"]
            self.assertLessEqual(len(name), 32)
            self.assertTrue(name.startswith("front-"), name)
            self.assertEqual(st["front"]["attributes"]["name"], name)
            self.assertTrue(st["front"]["attributes"]["dnsName"])
            d = self.lb(elb, name)
            self.assertEqual(sorted(d["Subnets"]),
                             sorted([st["public-a"]["id"], st["public-b"]["id"]]))
            self.assertEqual(d["SecurityGroups"], [st["lb-sg"]["id"]])
            self.assertEqual(d["Scheme"], "internet-facing")
            self.assertEqual(self.ports(elb, name), [80])
            self.assertEqual(d["HealthCheck"]["Target"], "HTTP:8080/health")
            self.assertEqual(d["HealthCheck"]["HealthyThreshold"], 3)
            self.assertEqual(self.registered(elb, name), [st["web1"]["id"]])
            attrs = elb.describe_load_balancer_attributes(
                LoadBalancerName=name)["LoadBalancerAttributes"]
            self.assertTrue(attrs["CrossZoneLoadBalancing"]["Enabled"])
            self.assertEqual(attrs["ConnectionSettings"]["IdleTimeout"], 120)
            tags = {t["Key"]: t["Value"] for t in elb.describe_tags(
                LoadBalancerNames=[name])["TagDescriptions"][0]["Tags"]}
            self.assertEqual((tags["role"], tags["team"], tags["fugue:fid"]),
                             ("front", "web", fid))
            self.assert_nothing_to_do(c, src)

            # In place: a listener added, the health check changed, an instance registered.
            src2 = self.source(image, listeners=(HTTP, TCP), target="TCP:8080",
                               instances=("web1", "web2"))
            self.assertEqual(self.plan(c, src2)["front"], "update")
            self.update(c, src2)
            self.assertEqual(self.status(c)["front"]["id"], name, "updated, not replaced")
            self.assertEqual(self.ports(elb, name), [80, 9000])
            self.assertEqual(self.lb(elb, name)["HealthCheck"]["Target"], "TCP:8080")
            self.assertEqual(self.registered(elb, name),
                             sorted([st["web1"]["id"], st["web2"]["id"]]))
            self.assert_nothing_to_do(c, src2)

            # Drift, enforcement on: restored.
            self.enforce_every(c, 0.5)
            elb.deregister_instances_from_load_balancer(
                LoadBalancerName=name, Instances=[{"InstanceId": st["web2"]["id"]}])
            elb.delete_load_balancer_listeners(LoadBalancerName=name, LoadBalancerPorts=[9000])
            elb.configure_health_check(LoadBalancerName=name, HealthCheck={
                "Target": "TCP:22", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2,
                "HealthyThreshold": 3})
            wait_until("instance, listener and health check to be restored", lambda: (
                self.registered(elb, name) == sorted([st["web1"]["id"], st["web2"]["id"]]) and
                self.ports(elb, name) == [80, 9000] and
                self.lb(elb, name)["HealthCheck"]["Target"] == "TCP:8080"), timeout=60)
            drift = wait_until("a drift entry", lambda: self.history(c, "p", "drift"), timeout=60)
            self.assertIn("corrected", drift[-1]["summary"])

            # Report only: recorded, left alone.
            c.ok("property", {"process": "p", "key": "enforcement", "value": "off"})
            elb.delete_load_balancer_listeners(LoadBalancerName=name, LoadBalancerPorts=[9000])
            wait_until("a report-only drift entry", lambda: [
                e for e in self.history(c, "p", "drift")[:1]
                if "enforcement off" in e["summary"]], timeout=60)
            self.assertEqual(self.ports(elb, name), [80])
            c.ok("property", {"process": "p", "key": "enforcement", "value": "on"})
            wait_until("the listener to be restored",
                       lambda: self.ports(elb, name) == [80, 9000], timeout=60)
            self.enforce_every(c, 3600)

            # The scheme replaces: deleted, then made again under a new name.
            src3 = self.source(image, scheme="internal", listeners=(HTTP, TCP),
                               target="TCP:8080", instances=("web1", "web2"))
            self.assertEqual(self.plan(c, src3)["front"], "replace")
            self.update(c, src3)
            old, name = name, self.status(c)["front"]["id"]
            self.assertNotEqual(name, old, "a replacement has a name of its own")
            self.assertTrue(name.startswith("front-"), name)
            self.assertEqual(self.lb(elb, name)["Scheme"], "internal")
            self.assertEqual(self.registered(elb, name),
                             sorted([st["web1"]["id"], st["web2"]["id"]]))
            self.assertEqual(self.ports(elb, name), [80, 9000])
            self.assert_nothing_to_do(c, src3)

            events, final = c.request("kill", {"process": "p"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            left = [d["LoadBalancerName"] for d in
                    elb.describe_load_balancers()["LoadBalancerDescriptions"]]
            self.assertEqual(left, [])

    def test_zones(self):
        """A load balancer by zones (no VPC), a declared name, tags and an attribute in place."""
        src = ("composition: zones\nregion: us-east-1\nresources:\n  api:\n"
               "    type: AWS.ELB.LoadBalancer\n    loadBalancerName: api-lb\n"
               "    availabilityZones: [us-east-1a, us-east-1b]\n    listeners:\n"
               "      - {protocol: TCP, loadBalancerPort: 443, instancePort: 8443}\n"
               "    idleTimeout: %d\n    tags: {tier: %s}\n")
        with conductor() as c:
            elb = c.boto3("elb")
            fid = self.run_source(c, src % (60, "api"))["fid"]
            self.assertEqual(self.status(c)["api"]["id"], "api-lb")
            d = self.lb(elb, "api-lb")
            self.assertEqual(sorted(d["AvailabilityZones"]), ["us-east-1a", "us-east-1b"])
            self.assert_nothing_to_do(c, src % (60, "api"))
            src2 = src % (300, "edge")
            self.assertEqual(self.plan(c, src2), {"api": "update"})
            self.update(c, src2)
            attrs = elb.describe_load_balancer_attributes(
                LoadBalancerName="api-lb")["LoadBalancerAttributes"]
            self.assertEqual(attrs["ConnectionSettings"]["IdleTimeout"], 300)
            tags = {t["Key"]: t["Value"] for t in elb.describe_tags(
                LoadBalancerNames=["api-lb"])["TagDescriptions"][0]["Tags"]}
            self.assertEqual((tags["tier"], tags["fugue:fid"]), ("edge", fid))
            self.assert_nothing_to_do(c, src2)
            events, final = c.request("kill", {"process": "p"}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            self.assertEqual(elb.describe_load_balancers()["LoadBalancerDescriptions"], [])

    def test_validation(self):
        with conductor() as c:
            image = "ami-12345678"
            bad = self.source(image).replace(
                "    subnets: [!ref public-a, !ref public-b]\n",
                "    subnets: [!ref public-a]\n    availabilityZones: [us-east-1a]\n").replace(
                'target: "HTTP:8080/health"', 'target: "PING"').replace(
                "HTTP, loadBalancerPort: 80", "HTTPS, loadBalancerPort: 80")
            events, final = c.request("run", {"source": bad, "sourceName": "elb.yaml",
                                              "alias": "v"}, timeout=60)
            text = str(final)
            self.assertFalse(final["ok"], final)
            self.assertIn("not both", text)
            self.assertIn("PROTOCOL:PORT", text)
            self.assertIn("sslCertificateId", text)
            self.assertIn("elb.yaml:", text)


if __name__ == "__main__":
    main()
