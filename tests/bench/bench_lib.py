"""bench_lib.py - what the benchmarks (tests/bench) and the throttling and
outage tests (tests/faults) share: a private conductord talking to a
private moto through tests/tools/aws_proxy.py, generated compositions,
and the figures taken from a run.

    with ProxiedConductor(planners, proxy_config=REALISTIC) as pc:
        fid, secs = pc.run(gen_composition.generate(100))
        pc.proxy.stats()                  # every AWS call, per service and action
        pc.c                              # the tests/tools/conductor.py Conductor

The Conductor's AWS_ENDPOINT_URL is the proxy; boto3 checks (pc.boto3)
go to moto directly, so they are not counted.
"""

import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(SOURCE, "tests", "tools")
sys.path.insert(0, TOOLS)

import aws_proxy  # noqa: E402
import gen_composition  # noqa: E402
from conductor import Conductor, HarnessError, wait_until  # noqa: E402

# Per-call latency of the AWS APIs from inside the region, as fixed + a
# uniform jitter (ms): what a Describe or a Create takes to answer, not the
# resource's own provisioning time. IAM is a global service in us-east-1
# and slower than the regional ones.
REALISTIC_LATENCY = {
    "default": {"fixed_ms": 60, "jitter_ms": 40},
    "ec2": {"fixed_ms": 60, "jitter_ms": 40},
    "elasticloadbalancing": {"fixed_ms": 80, "jitter_ms": 40},
    "iam": {"fixed_ms": 100, "jitter_ms": 60},
    "lambda": {"fixed_ms": 60, "jitter_ms": 40},
}
REALISTIC = {"latency": REALISTIC_LATENCY, "limits": {"enabled": True}}

PLANNER_VARS = ("FUGUE_PLANNER_VPC", "FUGUE_PLANNER_EC2", "FUGUE_PLANNER_IAM",
                "FUGUE_PLANNER_ELB")


def planners_from_env(build_dir=None):
    """The planner .so paths: FUGUE_PLANNER_* from the environment (set by
    CMake), else BUILD_DIR/planners/*.so. Fails loudly when one is missing."""
    out = []
    for var in PLANNER_VARS:
        path = os.environ.get(var)
        if not path and build_dir:
            path = os.path.join(build_dir, "planners", var.split("_")[-1].lower() + ".so")
        if not path or not os.path.exists(path):
            raise HarnessError("%s: planner not found (%s); build first, or run through "
                               "ctest / make bench" % (var, path))
        out.append(path)
    return out


class ProxiedConductor:
    """A Conductor(moto=True) whose AWS calls go through an aws_proxy."""

    def __init__(self, planners, proxy_config=None, enforce_interval=None, config="",
                 env=None, args=()):
        self.c = Conductor(moto=True, fake=False, planners=planners, start=False,
                           enforce_interval=enforce_interval, config=config,
                           env=env, args=args)
        self.proxy = None
        try:
            self.proxy = aws_proxy.start_proxy(
                self.c.moto_url, proxy_config or {},
                log=open(os.path.join(self.c.tmp, "proxy.log"), "w"))
            self.c.extra_env["AWS_ENDPOINT_URL"] = self.proxy.url
            self.c.start()
        except BaseException:
            self.close(check=False)
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(check=exc_type is None)

    def close(self, check=True):
        try:
            self.c.close(check=check)
        finally:
            if self.proxy is not None:
                self.proxy.stop()
                self.proxy = None

    def boto3(self, service):
        return self.c.boto3(service)

    def pid(self):
        return self.c.pid

    def run(self, source, name="bench.yaml", timeout=3600, wait=True):
        """`run` of SOURCE; returns (result, seconds). Raises HarnessError
        when it does not converge."""
        t0 = time.monotonic()
        events, final = self.c.request("run", {"source": source, "sourceName": name,
                                               "wait": wait}, timeout=timeout)
        secs = time.monotonic() - t0
        if final is None or not final.get("ok"):
            raise HarnessError("run did not converge: %s\n--- daemon log (end):\n%s"
                               % (json.dumps(final)[:4000], self.c.log()[-6000:]))
        return final["result"], secs

    def status(self, process):
        return self.c.ok("status", {"process": process})

    def history(self, process, limit=0):
        return self.c.ok("history", {"process": process, "limit": limit})["entries"]


def peak_rss_kb(pid):
    """VmHWM of PID (kB): the peak resident set size."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise HarnessError("no VmHWM for pid %d" % pid)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise HarnessError("no VmRSS for pid %d" % pid)


# --- the lower bound of a converge ----------------------------------------------------------

REF_RE = re.compile(r"!ref ([A-Za-z0-9_-]+)")


def critical_path(source):
    """The longest chain of references (in resources) of a generated
    composition: its depth in the dependency graph."""
    deps = {}
    name = None
    for line in source.splitlines():
        m = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
        if m:
            name = m.group(1)
            deps[name] = set()
        elif name and line.startswith("    "):
            deps[name].update(REF_RE.findall(line))
    depth = {}

    def d(n):
        if n not in depth:
            depth[n] = 1 + max((d(x) for x in deps.get(n, ()) if x in deps), default=0)
        return depth[n]

    return max((d(n) for n in deps), default=0)


def bucket_bound(stats, scale=1.0):
    """Per AWS rate bucket (as the proxy keys them): the calls that went
    through it and the seconds they need at least, (calls - capacity) /
    refill. Returns [(bucket, calls, capacity, rate, seconds)], slowest first."""
    per = {}
    for svc, actions in stats["calls"].items():
        for action, row in actions.items():
            n = row["forwarded"] + row["throttled_limit"]
            if n == 0:
                continue
            # the proxy split unfiltered Describes by their parameters; the
            # counts do not keep them, so the larger (filtered) bucket is used
            key, _cls, cap, rate = aws_proxy.bucket_of(svc, action, {"Filter.1.Name": "x"})
            b = per.setdefault(key, [0, cap * scale, rate * scale])
            b[0] += row["forwarded"]
    out = []
    for key, (n, cap, rate) in per.items():
        out.append((key, n, cap, rate, max(0.0, n - cap) / rate))
    out.sort(key=lambda r: -r[4])
    return out


def sdk_bucket_bound(stats):
    """The same bound under the SDK's own client-side buckets (docs/sdk.md:
    one bucket per service and action class, shared by every action of the
    class): how much of a converge's time the client's limits explain."""
    sdk = {  # class -> (burst, refill/s), docs/sdk.md
        ("ec2", "RunInstances"): (5, 2), ("ec2", "mutating"): (50, 5),
        ("ec2", "read"): (100, 20),
        ("elasticloadbalancing", "CreateLoadBalancer"): (10, 0.2),
        ("elasticloadbalancing", "mutating"): (20, 2),
        ("elasticloadbalancing", "read"): (40, 10),
        ("lambda", "control"): (15, 15), ("lambda", "Invoke"): (50, 25),
        ("iam", "all"): (20, 10),
    }
    per = {}
    for svc, actions in stats["calls"].items():
        for action, row in actions.items():
            if svc == "iam":
                cls = "all"
            elif svc == "lambda":
                cls = "Invoke" if action == "Invoke" else "control"
            elif action in ("RunInstances", "CreateLoadBalancer"):
                cls = action
            elif action.startswith(aws_proxy.READ_PREFIXES):
                cls = "read"
            else:
                cls = "mutating"
            cap, rate = sdk.get((svc, cls), (50, 25))
            b = per.setdefault("%s:%s" % (svc, cls), [0, cap, rate])
            b[0] += row["forwarded"] + row["throttled_limit"]
    out = [(k, n, cap, rate, max(0.0, n - cap) / rate) for k, (n, cap, rate) in per.items()]
    out.sort(key=lambda r: -r[4])
    return out


def call_totals(stats, services=None):
    """(forwarded calls, throttled by the limits, all received) in STATS."""
    fwd = thr = allc = 0
    for svc, actions in stats["calls"].items():
        if services and svc not in services:
            continue
        for row in actions.values():
            fwd += row["forwarded"]
            thr += row["throttled_limit"] + row["throttled_injected"]
            allc += row["calls"]
    return fwd, thr, allc


def by_action(stats, field="forwarded"):
    """{"svc:Action": n} of FIELD, nonzero only, sorted by name."""
    out = {}
    for svc, actions in sorted(stats["calls"].items()):
        for action, row in sorted(actions.items()):
            if row[field]:
                out["%s:%s" % (svc, action)] = row[field]
    return out


def composition(n, name="bench", instances=True):
    return gen_composition.generate(n, name=name, instances=instances)


# --- what is in moto, by our tags ------------------------------------------------------------

def count_by_fid(pc, fid):
    """{kind: [fugue:resource names]} of every resource in moto that carries
    fugue:fid = FID (asked of moto directly, with boto3), and {kind: n} of
    every resource of those kinds in moto at all (moto's defaults left out),
    so that an untagged duplicate shows too."""
    ec2 = pc.boto3("ec2")
    iam = pc.boto3("iam")
    elb = pc.boto3("elb")
    flt = [{"Name": "tag:fugue:fid", "Values": [fid]}]

    def names(items, key="Tags"):
        out = []
        for it in items:
            tags = {t["Key"]: t["Value"] for t in it.get(key) or []}
            if tags.get("fugue:fid") == fid:
                out.append(tags.get("fugue:resource"))
        return sorted(out)

    instances = [i for r in pages(ec2, "describe_instances", "Reservations")
                 for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    tagged = {
        "vpc": names(pages(ec2, "describe_vpcs", "Vpcs", Filters=flt)),
        "subnet": names(pages(ec2, "describe_subnets", "Subnets", Filters=flt)),
        "igw": names(pages(ec2, "describe_internet_gateways", "InternetGateways", Filters=flt)),
        "route_table": names(pages(ec2, "describe_route_tables", "RouteTables", Filters=flt)),
        "security_group": names(pages(ec2, "describe_security_groups", "SecurityGroups",
                                      Filters=flt)),
        # an instance's root volume carries the instance's tags: not ours to count
        "volume": names([v for v in pages(ec2, "describe_volumes", "Volumes", Filters=flt)
                         if not v.get("Attachments")]),
        "instance": names(instances),
        "role": names([iam.get_role(RoleName=r["RoleName"])["Role"]
                       for r in pages(iam, "list_roles", "Roles")]),
        "policy": names([dict(p, Tags=iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"])
                         for p in pages(iam, "list_policies", "Policies", Scope="Local")]),
        "instance_profile": names(pages(iam, "list_instance_profiles", "InstanceProfiles")),
    }
    lbs = [d["LoadBalancerName"] for d in pages(elb, "describe_load_balancers",
                                                "LoadBalancerDescriptions")]
    descs = []
    for i in range(0, len(lbs), 20):
        descs += elb.describe_tags(LoadBalancerNames=lbs[i:i + 20])["TagDescriptions"]
    tagged["load_balancer"] = names(descs)
    total = count_every(ec2, iam, elb)
    every = {kind: total[key] for kind, key in (
        ("vpc", "vpcs"), ("subnet", "subnets"), ("security_group", "security_groups"),
        ("volume", "volumes"), ("instance", "instances"), ("role", "roles"),
        ("load_balancer", "load_balancers"))}
    return tagged, every


def pages(client, op, key, **params):
    """Every KEY item of every page of boto3 CLIENT's OP."""
    return [x for p in client.get_paginator(op).paginate(**params) for x in p[key]]


def count_every(ec2, iam, elb):
    """{kind: n} of everything of the benchmark's kinds in moto, whoever made
    it, moto's own defaults (default VPC, subnets and groups, main route
    tables, instances' root volumes, AWS-managed policies) left out."""
    insts = [i for r in pages(ec2, "describe_instances", "Reservations") for i in r["Instances"]
             if i["State"]["Name"] != "terminated"]
    return {
        "vpcs": len([v for v in pages(ec2, "describe_vpcs", "Vpcs") if not v.get("IsDefault")]),
        "subnets": len([s for s in pages(ec2, "describe_subnets", "Subnets")
                        if not s.get("DefaultForAz")]),
        "internet_gateways": len(pages(ec2, "describe_internet_gateways", "InternetGateways")),
        "route_tables": len([r for r in pages(ec2, "describe_route_tables", "RouteTables")
                             if not any(a.get("Main") for a in r.get("Associations", []))]),
        "security_groups": len([g for g in pages(ec2, "describe_security_groups",
                                                 "SecurityGroups") if g["GroupName"] != "default"]),
        "volumes": len([v for v in pages(ec2, "describe_volumes", "Volumes")
                        if not v.get("Attachments")]),
        "instances": len(insts),
        "roles": len(pages(iam, "list_roles", "Roles")),
        "policies": len(pages(iam, "list_policies", "Policies", Scope="Local")),
        "instance_profiles": len(pages(iam, "list_instance_profiles", "InstanceProfiles")),
        "load_balancers": len(pages(elb, "describe_load_balancers", "LoadBalancerDescriptions")),
    }


def declared_by_kind(source):
    """{kind: [resource names]} of a generated composition, in the kinds of
    count_by_fid."""
    kinds = {"AWS.VPC.Vpc": "vpc", "AWS.VPC.Subnet": "subnet",
             "AWS.VPC.InternetGateway": "igw", "AWS.VPC.RouteTable": "route_table",
             "AWS.VPC.SecurityGroup": "security_group", "AWS.EC2.Volume": "volume",
             "AWS.EC2.Instance": "instance", "AWS.IAM.Role": "role", "AWS.IAM.Policy": "policy",
             "AWS.IAM.InstanceProfile": "instance_profile",
             "AWS.ELB.LoadBalancer": "load_balancer"}
    out = {k: [] for k in kinds.values()}
    name = None
    for line in source.splitlines():
        m = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
        if m:
            name = m.group(1)
        m = re.match(r"^    type: (\S+)", line)
        if m and name:
            out[kinds[m.group(1)]].append(name)
    return {k: sorted(v) for k, v in out.items()}
