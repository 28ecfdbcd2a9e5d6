#!/usr/bin/env python3
"""test_throttle_storm.py - a run of 60 resources while AWS throttles 30%
of all calls, on top of its ordinary rate limits: it converges, and makes
every resource exactly once.

conductord (vpc, ec2, iam and elb planners) talks to moto through
tests/tools/aws_proxy.py, which answers 30% of the calls, at random (a
fixed seed), with each service's own throttling error before they reach
moto: EC2 RequestLimitExceeded (HTTP 503), IAM and ELB Throttling (400).
The SDK retries them (standard mode, its retry quota) and the scheduler
retries what the SDK gave up on; a job that still fails leaves the
process Failed and the Conductor retries it on its own, so the test waits
for the process to be Running with every resource Ready.

Then, counted in moto with boto3: per kind, the resources tagged with our
fugue:fid name each declared resource exactly once, and there is nothing
else of that kind in moto (an untagged duplicate would show); each
create action reached moto once per resource (throttled calls never
reach it, so a second create would be a duplicate attempt); nothing was
deleted.

A minute or two: ctest label "faults" (make faults).
By hand: tests/faults/test_throttle_storm.py --conductord build/daemon/conductord
(with FUGUE_PLANNER_VPC/EC2/IAM/ELB set, or FUGUE_BUILD=build).
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import bench_lib as B  # noqa: E402
from conductor import HarnessError, main, wait_until  # noqa: E402

N = 60
RATE = 0.3
# create action -> kind; each must reach moto exactly once per resource
CREATES = {
    "ec2:CreateVpc": "vpc", "ec2:CreateSubnet": "subnet",
    "ec2:CreateInternetGateway": "igw", "ec2:CreateRouteTable": "route_table",
    "ec2:CreateSecurityGroup": "security_group", "ec2:CreateVolume": "volume",
    "ec2:RunInstances": "instance", "iam:CreateRole": "role", "iam:CreatePolicy": "policy",
    "iam:CreateInstanceProfile": "instance_profile",
    "elasticloadbalancing:CreateLoadBalancer": "load_balancer",
}


def storm_config():
    return {"latency": {"default": {"fixed_ms": 5, "jitter_ms": 10}},
            "limits": {"enabled": True},
            "faults": {"default": {"throttle_rate": RATE}},
            "seed": 30}


class ThrottleStorm(unittest.TestCase):

    def test_storm_converges_without_duplicates(self):
        planners = B.planners_from_env(os.environ.get("FUGUE_BUILD"))
        source = B.composition(N, name="storm")
        declared = B.declared_by_kind(source)
        with B.ProxiedConductor(planners, storm_config(), enforce_interval=2) as pc:
            t0 = time.monotonic()
            events, final = pc.c.request("run", {"source": source, "sourceName": "storm.yaml"},
                                         timeout=1800)
            first_ok = bool(final and final.get("ok"))
            if final is None:
                raise HarnessError("no answer to run:\n" + pc.c.log()[-6000:])
            fid = (final.get("result") or final.get("error", {}).get("details") or {}).get("fid")
            self.assertTrue(fid, final)
            # converged by the run, or by the Conductor's own retries after it
            st = wait_until("the process Running with %d resources Ready" % N,
                            lambda: self.converged(pc, fid), timeout=900, interval=1)
            secs = time.monotonic() - t0
            stats = pc.proxy.stats()
            tot = stats["totals"]
            sys.stderr.write("storm: %s in %.0f s (run job %s); %d calls, %d throttled by the "
                             "storm, %d by the limits\n"
                             % (st["state"], secs, "converged" if first_ok else "failed",
                                tot["calls"], tot["throttled_injected"],
                                tot["throttled_limit"]))
            # the storm really blew: about RATE of all calls
            self.assertGreater(tot["throttled_injected"], 0.2 * tot["calls"], tot)

            tagged, every = B.count_by_fid(pc, fid)
            for kind, names in declared.items():
                self.assertEqual(tagged[kind], names, "%s tagged with our fid" % kind)
                if kind in every:
                    self.assertEqual(every[kind], len(names), "%s in moto at all" % kind)
            fwd = B.by_action(stats)
            for action, kind in CREATES.items():
                self.assertEqual(fwd.get(action, 0), len(declared[kind]),
                                 "%s calls that reached moto" % action)
            deletes = {a: n for a, n in fwd.items() if ":Delete" in a or ":Terminate" in a}
            self.assertEqual(deletes, {}, "nothing is deleted")

    def converged(self, pc, fid):
        st = pc.status(fid)
        if st["state"] == "Running" and st["counts"]["ready"] == N:
            return st
        return None


if __name__ == "__main__":
    main()
