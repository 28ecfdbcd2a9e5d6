#!/usr/bin/env python3
"""test_outage.py - AWS unreachable for a minute in the middle of a run, and
again while a converged process is enforced: the Conductor waits and
resumes, and never decides that a resource is gone because AWS did not
answer.

conductord (vpc, ec2, iam and elb planners, enforcement every 2 s) talks
to moto through tests/tools/aws_proxy.py. An outage closes the proxy's
listening socket (every connection refused) and resets the connections
that were open; moto itself keeps everything, as AWS would.

1. Outage during a run: a run of 60 resources starts; once 15 resources
   are Ready, AWS goes away for 60 s. Throughout, no resource is ever
   shown Deleted. After it, the process converges (the run job may fail
   during the outage; the Conductor retries the process on its own), and
   moto holds exactly one resource per declared one, tagged with our
   fugue:fid; no delete ever reached moto and each create reached it once
   per resource (nothing deleted, nothing made twice).
2. Outage during enforcement: the converged process is enforced every 2 s
   while AWS is away for 20 s, then for a few passes more. Every resource
   stays Ready with the same id, the process reports no drift, its
   history has no drift entry, no create or delete reaches moto, and the
   daemon never logs a resource as gone.

About three minutes: ctest label "faults" (make faults).
By hand: tests/faults/test_outage.py --conductord build/daemon/conductord
(with FUGUE_PLANNER_VPC/EC2/IAM/ELB set, or FUGUE_BUILD=build).
"""

import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

import bench_lib as B  # noqa: E402
from conductor import main, wait_until  # noqa: E402

N = 60
OUTAGE_RUN = 60
OUTAGE_ENFORCE = 20
GONE_LOG = "no longer exists"


class Watch:
    """Polls status in the background; remembers every resource ever shown
    Deleted (what the Conductor decided was gone)."""

    def __init__(self, pc, fid):
        self.pc, self.fid = pc, fid
        self.deleted = set()
        self.errors = []
        self.polls = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(0.5):
            try:
                st = self.pc.status(self.fid)
            except Exception as e:  # the harness names it; keep watching
                self.errors.append(str(e))
                continue
            self.polls += 1
            for r in st.get("resources", []):
                if r["status"] == "Deleted":
                    self.deleted.add(r["name"])

    def stop(self):
        self._stop.set()
        self._t.join()


class Outage(unittest.TestCase):

    def test_outage_during_run_and_enforcement(self):
        planners = B.planners_from_env(os.environ.get("FUGUE_BUILD"))
        source = B.composition(N, name="outage")
        declared = B.declared_by_kind(source)
        config = {"latency": {"default": {"fixed_ms": 10, "jitter_ms": 10}},
                  "limits": {"enabled": True}}
        with B.ProxiedConductor(planners, config, enforce_interval=2) as pc:
            fid = pc.c.ok("run", {"source": source, "sourceName": "outage.yaml",
                                  "wait": False})["fid"]
            watch = Watch(pc, fid)
            try:
                wait_until("15 resources Ready", lambda: self.ready(pc, fid) >= 15,
                           timeout=600, interval=0.2)
                ready_before = self.ready(pc, fid)
                self.assertLess(ready_before, N, "the run ended before the outage began")
                pc.proxy.outage(OUTAGE_RUN)
                t_out = time.monotonic()
                time.sleep(OUTAGE_RUN)
                self.assertFalse(pc.proxy.health()["outage"])
                st = wait_until("the process Running with %d resources Ready" % N,
                                lambda: self.converged(pc, fid), timeout=900, interval=1)
                sys.stderr.write("outage in a run: %d Ready when AWS went away, converged "
                                 "%.0f s after it came back\n"
                                 % (ready_before, time.monotonic() - t_out - OUTAGE_RUN))
                stats = pc.proxy.stats()
                self.assertGreater(stats["totals"]["outage_refused_connections"] +
                                   stats["totals"]["calls"], 0)
                self.check_moto(pc, fid, declared, stats)
                ids = {r["name"]: r["id"] for r in st["resources"]}

                # 2. enforcement while AWS is away
                hist_before = len(pc.history(fid))
                pc.proxy.reset_stats()
                log_mark = len(pc.c.log())
                pc.proxy.outage(OUTAGE_ENFORCE)
                time.sleep(OUTAGE_ENFORCE)
                before = pc.status(fid)["lastEnforced"]
                wait_until("two enforcement passes after the outage",
                           lambda: self.passes_after(pc, fid, before, 2), timeout=300,
                           interval=0.2)
            finally:
                watch.stop()
            self.assertEqual(watch.deleted, set(), "resources shown Deleted at some point")
            self.assertGreater(watch.polls, 100)
            st = pc.status(fid)
            self.assertEqual(st["state"], "Running")
            self.assertEqual(st["drift"], 0)
            self.assertEqual({r["name"]: r["id"] for r in st["resources"]}, ids,
                             "every resource keeps its id")
            self.assertTrue(all(r["status"] == "Ready" for r in st["resources"]))
            new = pc.history(fid)[:len(pc.history(fid)) - hist_before]
            self.assertEqual([h for h in new if h["kind"] == "drift"], [],
                             "no drift recorded for the outage")
            fwd = B.by_action(pc.proxy.stats())
            changes = {a: n for a, n in fwd.items()
                       if not a.split(":")[1].startswith(("Describe", "Get", "List"))}
            self.assertEqual(changes, {}, "only reads after the enforcement outage")
            self.assertNotIn(GONE_LOG, pc.c.log()[log_mark:])
            self.assertNotIn(GONE_LOG, pc.c.log())

    def ready(self, pc, fid):
        return pc.status(fid)["counts"]["ready"]

    def converged(self, pc, fid):
        st = pc.status(fid)
        if st["state"] == "Running" and st["counts"]["ready"] == N:
            return st
        return None

    def passes_after(self, pc, fid, before, k):
        """True once K passes ended after BEFORE (lastEnforced moved K times)."""
        cur = pc.status(fid)["lastEnforced"]
        if cur != getattr(self, "_last", before):
            self._last = cur
            self._seen = getattr(self, "_seen", 0) + 1
        return getattr(self, "_seen", 0) >= k

    def check_moto(self, pc, fid, declared, stats):
        tagged, every = B.count_by_fid(pc, fid)
        for kind, names in declared.items():
            self.assertEqual(tagged[kind], names, "%s tagged with our fid" % kind)
            if kind in every:
                self.assertEqual(every[kind], len(names), "%s in moto at all" % kind)
        fwd = B.by_action(stats)
        deletes = {a: n for a, n in fwd.items() if ":Delete" in a or ":Terminate" in a}
        self.assertEqual(deletes, {}, "nothing deleted")
        for action, kind in (("ec2:CreateVpc", "vpc"), ("ec2:CreateSubnet", "subnet"),
                             ("ec2:CreateSecurityGroup", "security_group"),
                             ("ec2:CreateVolume", "volume"), ("ec2:RunInstances", "instance"),
                             ("iam:CreateRole", "role"),
                             ("elasticloadbalancing:CreateLoadBalancer", "load_balancer")):
            # a create whose answer the outage lost is sent again with the
            # same client token where the API takes one; moto must still
            # hold one resource (checked above), the call may count twice
            self.assertLessEqual(fwd.get(action, 0), len(declared[kind]) + 2, action)


if __name__ == "__main__":
    main()
