#!/usr/bin/env python3
"""gen_composition.py - a realistic composition of N resources, for the
benchmarks and the fault tests.

    gen_composition.py N [--name NAME] [--region R] [--no-instances] > big.yaml

The resources come in blocks of 20, each a small application of its own:

    vpc, igw, routes            a VPC with an internet gateway and a route table
    subnet-a..d                 four subnets in two zones (in the route table)
    sg-1..5                     five security groups, each taking HTTPS from
                                the previous one (a chain: real dependencies)
    data                        a volume
    role-app, role-ops          two IAM roles
    policy                      a managed policy
    profile                     an instance profile (role-app)
    web-1, web-2                two instances with the profile
    lb                          a classic load balancer in front of them

so the types are mixed in the proportions of a real account and the graph
has depth (vpc -> subnet -> instance -> lb is a critical path of 4, sg-1..5
one of 6). N that is not a multiple of 20 cuts the last block short, in an
order that keeps every reference inside the composition. Block K has the
network 10.(K mod 256).0.0/16: past 256 blocks VPCs reuse address ranges,
which AWS allows (VPCs are separate networks). At most 1,000 blocks
(20,000 resources).
--no-instances replaces the instances and the load balancer by more
volumes and groups (a run that does not wait for instances to boot).
"""
import argparse
import sys

BLOCK = 20
MAX_BLOCKS = 1000
ASSUME_EC2 = """      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}"""


def block(k, instances):
    """The resources of block K as (name, YAML text) in dependency order."""
    p = "b%d-" % k
    net = "10.%d" % (k % 256)
    out = [
        ("vpc", "type: AWS.VPC.Vpc\ncidrBlock: %s.0.0/16" % net),
        ("igw", "type: AWS.VPC.InternetGateway\nvpc: !ref %svpc" % p),
    ]
    for i, zone in enumerate("abcd"):
        out.append(("subnet-%s" % zone,
                    "type: AWS.VPC.Subnet\nvpc: !ref %svpc\ncidrBlock: %s.%d.0/24\n"
                    "availabilityZone: us-east-1%s" % (p, net, i, "ab"[i % 2])))
    out.append(("routes",
                "type: AWS.VPC.RouteTable\nvpc: !ref %svpc\nroutes:\n"
                "  - {destinationCidrBlock: 0.0.0.0/0, gatewayId: !ref %sigw}\n"
                "subnets: [%s]" % (p, p, ", ".join("!ref %ssubnet-%s" % (p, z)
                                                   for z in "abcd"))))
    for i in range(1, 6):
        src = ("cidrIp: %s.0.0/16" % net if i == 1
               else "sourceSecurityGroupId: !ref %ssg-%d" % (p, i - 1))
        out.append(("sg-%d" % i,
                    "type: AWS.VPC.SecurityGroup\nvpc: !ref %svpc\ndescription: tier %d\n"
                    "ingress:\n  - {ipProtocol: tcp, fromPort: 443, toPort: 443, %s}"
                    % (p, i, src)))
    out.append(("data", "type: AWS.EC2.Volume\navailabilityZone: us-east-1a\nsize: 8"))
    for role in ("app", "ops"):
        out.append(("role-%s" % role,
                    "type: AWS.IAM.Role\nassumeRolePolicy:\n%s" % ASSUME_EC2))
    out.append(("policy",
                "type: AWS.IAM.Policy\ndocument:\n  Version: \"2012-10-17\"\n  Statement:\n"
                "    - {Effect: Allow, Action: [\"s3:GetObject\"], "
                "Resource: \"arn:aws:s3:::bench-%d/*\"}" % k))
    out.append(("profile", "type: AWS.IAM.InstanceProfile\nrole: !ref %srole-app.name" % p))
    if instances:
        for i, zone in ((1, "a"), (2, "b")):
            out.append(("web-%d" % i,
                        "type: AWS.EC2.Instance\nimageId: ami-04681a1dbd79675a5\n"
                        "instanceType: t3.micro\nsubnet: !ref %ssubnet-%s\n"
                        "securityGroups: [!ref %ssg-5]\niamInstanceProfile: !ref %sprofile.name"
                        % (p, zone, p, p)))
        out.append(("lb",
                    "type: AWS.ELB.LoadBalancer\nsubnets: [!ref %ssubnet-a, !ref %ssubnet-b]\n"
                    "securityGroups: [!ref %ssg-1]\nlisteners:\n"
                    "  - {protocol: HTTP, loadBalancerPort: 80, instancePort: 80}\n"
                    "instances: [!ref %sweb-1, !ref %sweb-2]" % (p, p, p, p, p)))
    else:
        out.append(("data-2", "type: AWS.EC2.Volume\navailabilityZone: us-east-1b\nsize: 8"))
        out.append(("data-3", "type: AWS.EC2.Volume\navailabilityZone: us-east-1a\nsize: 16"))
        out.append(("sg-6", "type: AWS.VPC.SecurityGroup\nvpc: !ref %svpc\n"
                            "description: tier 6\ningress:\n"
                            "  - {ipProtocol: tcp, fromPort: 22, toPort: 22, "
                            "sourceSecurityGroupId: !ref %ssg-5}" % (p, p)))
    assert len(out) == BLOCK
    return [(p + name, text) for name, text in out]


def generate(n, name="bench", region="us-east-1", instances=True):
    if n < 1 or n > MAX_BLOCKS * BLOCK:
        raise ValueError("N must be 1 to %d" % (MAX_BLOCKS * BLOCK))
    lines = ["# generated by tests/tools/gen_composition.py %d" % n,
             "composition: %s" % name, "region: %s" % region,
             "tags: {purpose: benchmark}", "resources:"]
    count = 0
    for k in range((n + BLOCK - 1) // BLOCK):
        for rname, text in block(k, instances):
            if count == n:
                break
            lines.append("  %s:" % rname)
            lines.extend("    " + line for line in text.split("\n"))
            count += 1
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description="a composition of N resources")
    ap.add_argument("n", type=int)
    ap.add_argument("--name", default="bench")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--no-instances", action="store_true")
    args = ap.parse_args()
    try:
        sys.stdout.write(generate(args.n, args.name, args.region, not args.no_instances))
    except ValueError as e:
        sys.exit("gen_composition: %s" % e)


if __name__ == "__main__":
    main()
