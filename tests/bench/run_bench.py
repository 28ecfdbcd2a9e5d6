#!/usr/bin/env python3
"""run_bench.py - the Conductor's benchmarks (`make bench`). They print
figures and never pass or fail on time; they fail loudly when a tool they
need (moto, boto3, ansible, a built binary) is missing.

    run_bench.py --build BUILD [--sizes 100,1000,5000] [--enforce-sizes 100,1000]
                 [--peer-sizes 100,1000 | --no-peer] [--compile-size 10000]
                 [--no-instances-from N] [--out FILE]

For each size N, a composition of N resources (tests/tools/gen_composition.py)
is converged by a private conductord (BUILD/daemon/conductord, the planners
in BUILD/planners) talking to a private moto through tests/tools/aws_proxy.py
with realistic per-call latency and AWS's documented rate limits
(bench_lib.REALISTIC). Measured:

  converge      seconds of `run`, and its lower bound: the larger of
                critical path x per-call latency (the fixed part, the least a
                call takes) and, per AWS rate bucket, (calls - bucket size) /
                refill rate for the calls the run made; their ratio
  calls         AWS calls per resource created (forwarded to moto; calls the
                proxy throttled are counted apart)
  enforcement   AWS calls of one enforcement pass (observe everything, find
                no drift), averaged over two passes, for --enforce-sizes
  memory        conductord's peak RSS (VmHWM) per 1,000 managed resources,
                after the run and the passes; and between two sizes, the
                increase per 1,000 more resources
  compile+plan  BUILD/tests/bench/bench_compile on --compile-size resources:
                compile, plan against nothing, plan against a converged LIVE
  peer          the same infrastructure by Ansible's amazon.aws modules
                through the same proxy and limits (tests/bench/ansible_peer.py),
                for --peer-sizes; seconds, calls, and Ansible / Conductor

Output: a table on stdout, and the whole as JSON in --out (default
BUILD/bench/results.json; the table beside it as results.txt).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_lib as B  # noqa: E402
import ansible_peer  # noqa: E402
from conductor import HarnessError  # noqa: E402

ENFORCE_PASSES = 2


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def need_tools(args):
    """Fails loudly with the fix when something the benchmarks need is missing."""
    missing = []
    for mod, fix in (("moto.server", "pip install 'moto[server]'"), ("boto3", "pip install boto3")):
        try:
            __import__(mod)
        except Exception as e:  # the reason is the point
            missing.append("%s cannot be imported for %s (%s): %s" % (mod, sys.executable, e, fix))
    for path in (args.conductord, args.bench_compile):
        if not os.access(path, os.X_OK):
            missing.append("%s is not built: run `make` (or cmake --build %s)" % (path, args.build))
    if args.peer_sizes:
        try:
            ansible_peer.check_ansible()
        except ansible_peer.PeerError as e:
            missing.append(str(e) + "; or run with --no-peer")
    if missing:
        sys.exit("run_bench: cannot run:\n  " + "\n  ".join(missing))


# --- compile and plan ----------------------------------------------------------------------

def bench_compile(args, tmp):
    n = args.compile_size
    path = os.path.join(tmp, "compile-%d.yaml" % n)
    with open(path, "w") as f:
        f.write(B.composition(n))
    log("compile and plan: %d resources" % n)
    p = subprocess.run([args.bench_compile, os.path.join(args.build, "planners"), path, "5"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise HarnessError("bench_compile failed (%d): %s" % (p.returncode, p.stderr))
    r = json.loads(p.stdout)
    per = 10000.0 / r["resources"]
    r["note"] = p.stderr.strip()
    r["per_10k"] = {"compile_ms": r["compile_ms"] * per, "plan_new_ms": r["plan_new_ms"] * per,
                    "plan_converged_ms": r["plan_converged_ms"] * per}
    return r


# --- converge, enforcement, memory -------------------------------------------------------------

def lower_bound(source, stats, latency):
    fixed_ms = min(v["fixed_ms"] for v in latency.values())
    cp = B.critical_path(source)
    path_s = cp * fixed_ms / 1000.0
    buckets = B.bucket_bound(stats)
    sdk = B.sdk_bucket_bound(stats)
    rate_s = buckets[0][4] if buckets else 0.0
    return {
        "critical_path": cp, "per_call_ms": fixed_ms, "path_seconds": path_s,
        "rate_seconds": rate_s, "rate_bucket": buckets[0][0] if buckets else None,
        "seconds": max(path_s, rate_s),
        "buckets": [{"bucket": k, "calls": n, "capacity": cap, "refill": rate, "seconds": s}
                    for k, n, cap, rate, s in buckets[:6]],
        "sdk_buckets": [{"bucket": k, "calls": n, "capacity": cap, "refill": rate, "seconds": s}
                        for k, n, cap, rate, s in sdk[:4]],
    }


def last_enforced(pc, fid):
    return pc.status(fid).get("lastEnforced")


def enforcement_calls(pc, fid, passes=ENFORCE_PASSES, timeout=1800):
    """AWS calls per enforcement pass: the interval set to 1 s, the stats
    reset right after a pass ends, then PASSES more passes counted."""
    pc.c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "1"})
    seen = last_enforced(pc, fid)
    deadline = time.monotonic() + timeout

    def next_pass(prev):
        while time.monotonic() < deadline:
            cur = last_enforced(pc, fid)
            if cur != prev:
                return cur
            time.sleep(0.05)
        raise HarnessError("no enforcement pass within %ss" % timeout)

    seen = next_pass(seen)
    pc.proxy.reset_stats()
    t0 = time.monotonic()
    for _ in range(passes):
        seen = next_pass(seen)
    secs = time.monotonic() - t0
    stats = pc.proxy.stats()
    pc.c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "3600"})
    fwd, thr, allc = B.call_totals(stats)
    st = pc.status(fid)
    return {
        "passes": passes, "calls_per_pass": fwd / passes,
        "throttled_per_pass": thr / passes,
        "seconds_per_pass": max(0.0, secs / passes - 1.0),  # less the 1 s interval
        "by_action_per_pass": {k: v / passes for k, v in B.by_action(stats).items()},
        "drift": st.get("drift"),
        "ready": st.get("counts", {}).get("ready"),
    }


def bench_size(args, n):
    instances = not (args.no_instances_from and n >= args.no_instances_from)
    source = B.composition(n, instances=instances)
    log("converge %d resources%s" % (n, "" if instances else " (--no-instances)"))
    out = {"resources": n, "instances": instances}
    with B.ProxiedConductor(args.planners, B.REALISTIC, enforce_interval=3600) as pc:
        pc.proxy.reset_stats()
        res, secs = pc.run(source, timeout=4 * 3600)
        stats = pc.proxy.stats()
        fid = res["fid"]
        st = pc.status(fid)
        ready = st["counts"]["ready"]
        if ready != n:
            raise HarnessError("run said converged but %d/%d are ready" % (ready, n))
        fwd, thr, allc = B.call_totals(stats)
        lb = lower_bound(source, stats, B.REALISTIC["latency"])
        out["converge"] = {
            "seconds": secs, "lower_bound": lb, "ratio": secs / lb["seconds"],
            "calls": fwd, "calls_per_resource": fwd / n, "throttled": thr,
            "by_action": B.by_action(stats),
        }
        out["rss_after_run_kb"] = B.peak_rss_kb(pc.pid())
        log("  %d resources: %.1f s (bound %.1f s, ratio %.2f), %.2f calls/resource, %d throttled"
            % (n, secs, lb["seconds"], secs / lb["seconds"], fwd / n, thr))
        if n in args.enforce_sizes:
            log("  enforcement passes")
            out["enforcement"] = enforcement_calls(pc, fid)
            log("  %.1f calls per pass" % out["enforcement"]["calls_per_pass"])
        out["peak_rss_kb"] = B.peak_rss_kb(pc.pid())
        out["peak_rss_mb_per_1000"] = out["peak_rss_kb"] / 1024.0 / (n / 1000.0)
    return out


# --- the peer -----------------------------------------------------------------------------------

def count_in_moto(url):
    """What an N-resource run leaves in moto, by kind (for the peer's check)."""
    import boto3
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return B.count_every(boto3.client("ec2", **kw), boto3.client("iam", **kw),
                         boto3.client("elb", **kw))


def expected_counts(n):
    b = n // 20
    return {"vpcs": b, "subnets": 4 * b, "internet_gateways": b, "route_tables": b,
            "security_groups": 5 * b, "volumes": b, "instances": 2 * b, "roles": 2 * b,
            "policies": b, "instance_profiles": b, "load_balancers": b}


def bench_peer(args, n, tmp):
    import with_moto  # tests/tools, on the path through bench_lib
    import aws_proxy
    log("peer: ansible, %d resources" % n)
    moto_log = open(os.path.join(tmp, "peer-moto-%d.log" % n), "w")
    proc, url = with_moto.start_moto(None, moto_log)
    try:
        proxy = aws_proxy.start_proxy(url, B.REALISTIC,
                                      log=open(os.path.join(tmp, "peer-proxy-%d.log" % n), "w"))
        try:
            d = os.path.join(tmp, "ansible-%d" % n)
            ansible_peer.write_project(d, n, proxy.url, sys.executable, forks=args.forks)
            empty = os.path.join(tmp, "aws-empty")
            open(empty, "w").close()
            env = with_moto.moto_env(url, empty)
            secs, rc, tail = ansible_peer.run_playbook(d, env, timeout=4 * 3600)
            stats = proxy.stats()
        finally:
            proxy.stop()
        if rc != 0:
            raise HarnessError("ansible-playbook failed (%d); log in %s:\n%s"
                               % (rc, os.path.join(d, "ansible.log"), tail))
        counts = count_in_moto(url)
    finally:
        with_moto.stop(proc)
        moto_log.close()
    want = expected_counts(n)
    if counts != want:
        raise HarnessError("ansible made %r, expected %r" % (counts, want))
    fwd, thr, allc = B.call_totals(stats)
    log("  ansible %d resources: %.1f s, %.2f calls/resource, %d throttled"
        % (n, secs, fwd / n, thr))
    return {"resources": n, "seconds": secs, "calls": fwd, "calls_per_resource": fwd / n,
            "throttled": thr, "forks": args.forks, "resources_in_moto": counts,
            "by_action": B.by_action(stats)}


# --- output ---------------------------------------------------------------------------------------

def table(res):
    lines = []
    add = lines.append
    add("Fugue for C benchmarks, %s, %s (%d cores)" % (res["date"], res["machine"], res["cores"]))
    add("AWS: moto %s behind aws_proxy: latency %s ms (fixed + jitter), AWS's rate limits"
        % (res["moto"], ", ".join("%s %d+%d" % (k, v["fixed_ms"], v["jitter_ms"])
                                  for k, v in sorted(res["latency"].items()) if k != "default")))
    add("")
    add("%-9s %9s %9s %7s %-28s %10s %10s %10s" % (
        "resources", "converge", "bound", "ratio", "bound set by", "calls/res", "throttled",
        "RSS MB/1k"))
    for s in res["sizes"]:
        c = s["converge"]
        lb = c["lower_bound"]
        by = lb["rate_bucket"] if lb["rate_seconds"] >= lb["path_seconds"] else \
            "critical path %d x %d ms" % (lb["critical_path"], lb["per_call_ms"])
        add("%-9s %8.1fs %8.1fs %7.2f %-28s %10.2f %10d %10.1f" % (
            "%d%s" % (s["resources"], "" if s["instances"] else "*"), c["seconds"], lb["seconds"],
            c["ratio"], by, c["calls_per_resource"], c["throttled"], s["peak_rss_mb_per_1000"]))
    if any(not s["instances"] for s in res["sizes"]):
        add("* without instances and load balancers (--no-instances)")
    add("")
    add("client-side bound (docs/sdk.md buckets, shared per action class) at each size:")
    for s in res["sizes"]:
        sb = s["converge"]["lower_bound"]["sdk_buckets"]
        if sb:
            add("  %6d: %.1f s (%s: %d calls at %g/s)" % (s["resources"], sb[0]["seconds"],
                                                        sb[0]["bucket"], sb[0]["calls"],
                                                        sb[0]["refill"]))
    enf = [s for s in res["sizes"] if "enforcement" in s]
    if enf:
        add("")
        add("enforcement pass (observe all, no drift): AWS calls per pass")
        for s in enf:
            e = s["enforcement"]
            add("  %6d resources: %7.1f calls per pass (%.3f per resource), %.1f s per pass"
                % (s["resources"], e["calls_per_pass"], e["calls_per_pass"] / s["resources"],
                   e["seconds_per_pass"]))
    if res.get("rss_marginal_mb_per_1000") is not None:
        add("")
        add("memory: peak RSS grows %.1f MB per 1,000 more resources (between %d and %d)"
            % (res["rss_marginal_mb_per_1000"], res["sizes"][0]["resources"],
               res["sizes"][-1]["resources"]))
    cp = res.get("compile")
    if cp:
        add("")
        add("compile and plan, %d resources offline (median of %d): compile %.0f ms, plan new "
            "%.0f ms, plan converged %.0f ms; per 10,000: %.0f ms" % (
                cp["resources"], cp["repeat"], cp["compile_ms"], cp["plan_new_ms"],
                cp["plan_converged_ms"],
                cp["per_10k"]["compile_ms"] + cp["per_10k"]["plan_new_ms"]))
    if res.get("peer"):
        add("")
        add("peer: Ansible %s (amazon.aws / community.aws), same proxy and limits, forks %d"
            % (res.get("ansible", "?"), res["peer"][0]["forks"]))
        for p in res["peer"]:
            mine = next((s for s in res["sizes"] if s["resources"] == p["resources"]), None)
            ratio = p["seconds"] / mine["converge"]["seconds"] if mine else float("nan")
            add("  %6d resources: ansible %.1f s, %.2f calls/res; conductor %.1f s, %.2f "
                "calls/res; ansible / conductor = %.2f" % (
                    p["resources"], p["seconds"], p["calls_per_resource"],
                    mine["converge"]["seconds"] if mine else float("nan"),
                    mine["converge"]["calls_per_resource"] if mine else float("nan"), ratio))
    return "\n".join(lines) + "\n"


def versions():
    import moto
    out = {"moto": moto.__version__}
    try:
        p = subprocess.run(["ansible", "--version"], capture_output=True, text=True)
        out["ansible"] = p.stdout.split("\n")[0].strip()
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(B.SOURCE, "build"))
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--enforce-sizes", default="100,1000")
    ap.add_argument("--peer-sizes", default="100,1000")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--forks", type=int, default=10, help="ansible forks (default 10)")
    ap.add_argument("--compile-size", type=int, default=10000)
    ap.add_argument("--no-instances-from", type=int, default=0,
                    help="compositions of at least N resources without instances and ELBs")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    args.enforce_sizes = [int(x) for x in args.enforce_sizes.split(",") if x]
    args.peer_sizes = [] if args.no_peer else [int(x) for x in args.peer_sizes.split(",") if x]
    args.conductord = os.path.join(args.build, "daemon", "conductord")
    args.bench_compile = os.path.join(args.build, "tests", "bench", "bench_compile")
    args.out = args.out or os.path.join(args.build, "bench", "results.json")
    need_tools(args)
    os.environ["FUGUE_CONDUCTORD"] = args.conductord
    args.planners = B.planners_from_env(args.build)
    tmp = tempfile.mkdtemp(prefix="fugue-bench-")
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": platform.machine() + " " + platform.node(), "cores": os.cpu_count(),
           "latency": B.REALISTIC_LATENCY, "sizes": [], "peer": []}
    res.update(versions())
    ok = False
    try:
        res["compile"] = bench_compile(args, tmp)
        for n in args.sizes:
            res["sizes"].append(bench_size(args, n))
        if len(res["sizes"]) >= 2:
            a, b = res["sizes"][0], res["sizes"][-1]
            res["rss_marginal_mb_per_1000"] = (b["peak_rss_kb"] - a["peak_rss_kb"]) / 1024.0 / \
                ((b["resources"] - a["resources"]) / 1000.0)
        for n in args.peer_sizes:
            res["peer"].append(bench_peer(args, n, tmp))
        ok = True
    finally:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        if res["sizes"]:
            text = table(res)
            sys.stdout.write(text)
            with open(os.path.splitext(args.out)[0] + ".txt", "w") as f:
                f.write(text)
        log("results: %s" % args.out)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept %s (logs of the failed part)" % tmp)


if __name__ == "__main__":
    main()
