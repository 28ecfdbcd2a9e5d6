#!/usr/bin/env python3
"""test_kill9_moto.py - conductord SIGKILLed again and again during a run
of 200 resources against moto, and during their kill; after each crash it
restarts on the same state and carries on. At the end: exactly one AWS
resource per declared resource, nothing untracked, a consistent status;
after the kill: nothing left.

The composition is tests/tools/gen_composition.py 200 (ten blocks of VPC,
internet gateway, route table, four subnets, five chained security
groups, a volume, two roles, a policy, an instance profile, two instances
and a classic load balancer) with the vpc, ec2, iam and elb planners.

conductord talks to moto through a small forwarding proxy (Gate) that can
hold one chosen call. That is how the crashes land at exact points of a
multi-call create: held "before", the call never reaches moto (the
resource is half made: an internet gateway created but not attached, a
security group without its rules, a route table without its route, a
load balancer without its instances); held "after", moto has acted and
its answer never comes back (the Conductor never learns the id: a role,
a volume, an instance, a load balancer that exist in moto only). The
other points: at once after `run` answered, after K resources are Ready,
after N more AWS calls, and at random moments (a fixed seed; set
FUGUE_KILL9_SEED to vary it), and three during the kill.

Counted in moto with boto3, for every type, against a baseline taken
before the run (moto's default VPC and its parts): every resource we made
carries fugue:fid and fugue:resource; per type, the number of resources
equals the number declared (no duplicate, no untagged orphan); the tags
name each declared resource once; status says every resource is Ready
with the id moto has; a dry-run resume (a fresh observation) plans nothing,
so what a crash left half made was finished. At each crash in the middle
of a call sequence, the restart's log must show recovery finding what was
in flight (a create's resource adopted by its tags, by the name the held
call's tags gave; or an update's resource found).

A create AWS acts on late (test_late_create_*): a small network (VPC,
subnet, internet gateway) whose CreateVpc the gate holds "late" across a
crash; the restarted Conductor finds no VPC by the tags and makes one;
then the held call reaches moto, which makes a second VPC with the same
tags. The next enforcement pass must delete that duplicate (history: "a
duplicate of vpc"), or with enforcement off show it as "vpc~ID" and
leave it; the kill deletes everything either way.

Long (about two minutes): ctest label "faults", run by `make faults`, not
by `make check`. Run by hand:
    FUGUE_PLANNERS_BUILD=build/planners \\
        tests/faults/test_kill9_moto.py --conductord build/daemon/conductord
"""

import collections
import contextlib
import http.client
import http.server
import json
import os
import random
import re
import socketserver
import sys
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

from conductor import Conductor, HarnessError, main, wait_until  # noqa: E402
import gen_composition  # noqa: E402

N = 200
PLANNERS = ("vpc", "ec2", "iam", "elb")
SEED = int(os.environ.get("FUGUE_KILL9_SEED", "8"))
# Upper bound for any one wait (a point to be reached, a converge): the
# whole run takes about a minute on an idle machine.
WAIT = 600


def planner_paths():
    """The four planners: FUGUE_PLANNER_<NAME>, else FUGUE_PLANNERS_BUILD/<name>.so."""
    out = []
    for name in PLANNERS:
        path = os.environ.get("FUGUE_PLANNER_" + name.upper())
        if not path and os.environ.get("FUGUE_PLANNERS_BUILD"):
            path = os.path.join(os.environ["FUGUE_PLANNERS_BUILD"], name + ".so")
        if not path or not os.path.exists(path):
            raise HarnessError("planner %s not found: set FUGUE_PLANNER_%s (ctest does)"
                               % (name, name.upper()))
        out.append(path)
    return out


# --- the gate: a proxy that can hold one call ----------------------------------------

class Hold:
    """A call to hold: the first ACTION after SKIP others. MODE "before":
    never forwarded; "after": forwarded, and moto's answer kept back;
    "late": not forwarded while held, forwarded at Gate.land() (AWS acts
    on it late, after the restarted Conductor went on without it), and
    moto's answer dropped (its client is dead). Once held, RESOURCE is
    the fugue:resource tag the call carried (a create's), else None."""

    def __init__(self, action, mode, skip=0):
        if mode not in ("before", "after", "late"):
            raise ValueError("hold mode %r" % mode)
        self.action, self.mode, self.skip = action, mode, skip
        self.held = threading.Event()
        self.resource = None
        # "late" only: go lets the call through (cancelled: dropped
        # instead); landed is set once moto answered it, with answer.
        self.go = threading.Event()
        self.cancelled = False
        self.landed = threading.Event()
        self.answer = None  # (HTTP status, body)


def tagged_resource(body):
    """The value of the fugue:resource tag in a form-encoded create call
    (EC2's TagSpecification.N.Tag.M, the query services' Tags.member.M)."""
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    for key, values in form.items():
        if key.endswith(".Key") and values == ["fugue:resource"]:
            value = form.get(key[:-len("Key")] + "Value")
            if value:
                return value[0]
    return None


class Gate:
    """A forwarding HTTP proxy on 127.0.0.1 between conductord and moto.
    Counts every call by action; holds the call an armed Hold names until
    release(), after which the held connection is dropped unanswered (its
    client is dead by then: the test SIGKILLed it). A "late" hold is not
    let go by release(): only by land(), which forwards it then."""

    def __init__(self, upstream):
        u = urllib.parse.urlparse(upstream)
        self.upstream = (u.hostname, u.port)
        self.lock = threading.Lock()
        self.calls = collections.Counter()
        self.total = 0
        self.hold = None
        self.released = threading.Event()
        self.late = []  # every "late" hold taken, for close()
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                gate.handle(self, self.rfile.read(length) if length else b"")

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass  # a client SIGKILLed mid-call: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def action_of(handler, body):
        m = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
        if m:
            return m.group(1).decode()
        m = re.search(r"[?&]Action=([A-Za-z0-9]+)", handler.path)
        return m.group(1) if m else "%s %s" % (handler.command, handler.path)

    def arm(self, hold):
        with self.lock:
            self.released.clear()
            self.hold = hold
        return hold

    def release(self):
        """Disarms and lets every held call go (unanswered)."""
        with self.lock:
            self.hold = None
            self.released.set()

    def land(self, hold, timeout=60):
        """Lets a held "late" call reach moto now; returns moto's answer
        (HTTP status, body), which its dead client never gets."""
        if hold.mode != "late" or not hold.held.is_set():
            raise HarnessError("land(): %s was not held late" % hold.action)
        hold.go.set()
        if not hold.landed.wait(timeout):
            raise HarnessError("the late %s did not reach moto within %ds"
                               % (hold.action, timeout))
        return hold.answer

    def count(self):
        with self.lock:
            return self.total

    def _take(self, action, body):
        """The armed hold when this call is the one it names, else None."""
        with self.lock:
            self.calls[action] += 1
            self.total += 1
            h = self.hold
            if h is None or h.action != action or h.held.is_set():
                return None
            if h.skip > 0:
                h.skip -= 1
                return None
            h.resource = tagged_resource(body)
            h.held.set()
            if h.mode == "late":
                self.late.append(h)
            return h

    def handle(self, handler, body):
        hold = self._take(self.action_of(handler, body), body)
        if hold is not None and hold.mode == "before":
            self.released.wait(WAIT)
            handler.close_connection = True
            return
        if hold is not None and hold.mode == "late":
            hold.go.wait(WAIT)
            if hold.cancelled or not hold.go.is_set():
                handler.close_connection = True
                return
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
            conn.request(handler.command, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if hold is not None and hold.mode == "late":
            hold.answer = (resp.status, data)
            hold.landed.set()
            handler.close_connection = True
            return
        if hold is not None:
            self.released.wait(WAIT)
            handler.close_connection = True
            return
        handler.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                 "server", "date"):
                handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self):
        self.release()
        with self.lock:
            late = list(self.late)
        for h in late:  # a late call never landed stays unmade
            if not h.go.is_set():
                h.cancelled = True
                h.go.set()
        self.server.shutdown()
        self.server.server_close()


# --- what moto holds -------------------------------------------------------------------

def tag_map(tags, key="Key", value="Value"):
    return {t[key]: t[value] for t in tags or []}


def inventory(c):
    """Every resource of the composition's types in moto:
    {type: {id: tags}}. Instances terminated are gone."""
    ec2, iam, elb = c.boto3("ec2"), c.boto3("iam"), c.boto3("elb")
    inv = {}
    inv["AWS.VPC.Vpc"] = {v["VpcId"]: tag_map(v.get("Tags"))
                          for v in ec2.describe_vpcs()["Vpcs"]}
    inv["AWS.VPC.InternetGateway"] = {
        g["InternetGatewayId"]: tag_map(g.get("Tags"))
        for g in ec2.describe_internet_gateways()["InternetGateways"]}
    inv["AWS.VPC.Subnet"] = {s["SubnetId"]: tag_map(s.get("Tags"))
                             for s in ec2.describe_subnets()["Subnets"]}
    inv["AWS.VPC.RouteTable"] = {
        r["RouteTableId"]: tag_map(r.get("Tags"))
        for r in ec2.describe_route_tables()["RouteTables"]
        if not any(a.get("Main") for a in r.get("Associations", []))}
    inv["AWS.VPC.SecurityGroup"] = {
        g["GroupId"]: tag_map(g.get("Tags"))
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["GroupName"] != "default"}
    # An instance's root volume is attached to it: not one of ours.
    inv["AWS.EC2.Volume"] = {v["VolumeId"]: tag_map(v.get("Tags"))
                             for v in ec2.describe_volumes()["Volumes"]
                             if not v.get("Attachments")}
    inv["AWS.EC2.Instance"] = {
        i["InstanceId"]: tag_map(i.get("Tags"))
        for page in ec2.get_paginator("describe_instances").paginate()
        for r in page["Reservations"] for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")}
    inv["AWS.IAM.Role"] = {
        r["RoleId"]: tag_map(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])
        for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]}
    inv["AWS.IAM.Policy"] = {
        p["PolicyId"]: tag_map(iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"])
        for page in iam.get_paginator("list_policies").paginate(Scope="Local")
        for p in page["Policies"]}
    # (moto has no ListInstanceProfileTags; GetInstanceProfile carries the tags.)
    inv["AWS.IAM.InstanceProfile"] = {
        p["InstanceProfileId"]: tag_map(iam.get_instance_profile(
            InstanceProfileName=p["InstanceProfileName"])["InstanceProfile"].get("Tags"))
        for page in iam.get_paginator("list_instance_profiles").paginate()
        for p in page["InstanceProfiles"]}
    names = [lb["LoadBalancerName"] for lb in elb.describe_load_balancers()["LoadBalancerDescriptions"]]
    lbs = {}
    for i in range(0, len(names), 20):
        for d in elb.describe_tags(LoadBalancerNames=names[i:i + 20])["TagDescriptions"]:
            lbs[d["LoadBalancerName"]] = tag_map(d.get("Tags"))
    inv["AWS.ELB.LoadBalancer"] = lbs
    return inv


def without(inv, baseline):
    return {t: {i: tags for i, tags in ids.items() if i not in baseline.get(t, {})}
            for t, ids in inv.items()}


class Kill9Moto(unittest.TestCase):

    def setUp(self):
        self.source = gen_composition.generate(N, name="kill9")
        self.declared = {}  # name -> type
        name = None
        for line in self.source.split("\n"):
            m = re.match(r"^  ([a-z0-9-]+):$", line)
            if m:
                name = m.group(1)
            m = re.match(r"^    type: (\S+)$", line)
            if m:
                self.declared[name] = m.group(1)
        self.assertEqual(len(self.declared), N)
        self.rng = random.Random(SEED)
        self.points = []  # what each crash interrupted, for the report
        # The process the helpers below watch, and its number of resources.
        self.alias, self.total = "kill9", N

    # -- the daemon ------------------------------------------------------------------

    def status(self, c):
        events, final = c.request("status", {"process": self.alias}, timeout=120)
        if final is None or not final.get("ok"):
            return None
        return final["result"]

    def ready(self, c):
        s = self.status(c)
        return s["counts"]["ready"] if s else 0

    def crash(self, c, gate, what):
        """SIGKILL now, then start again on the same state. Returns what the
        daemon logged from its start to READY=1 (its recovery)."""
        ready = self.ready(c)
        c.kill9()
        gate.release()
        self.points.append((what, ready, gate.count()))
        sys.stderr.write("kill -9 #%d: %s (%d/%d Ready, %d AWS calls so far)\n"
                         % (len(self.points), what, ready, self.total, gate.count()))
        before = len(c.log())
        c.start(timeout=120)
        return c.log()[before:]

    def crash_at(self, c, gate, action, mode, skip=0):
        """Holds the next ACTION (after SKIP) and crashes while it is held.
        Fails when the job ends (converged, or the process killed) first."""
        hold = gate.arm(Hold(action, mode, skip))
        deadline = time.monotonic() + WAIT
        while not hold.held.wait(0.2):
            s = self.status(c)
            over = s is None or (s["state"] == "Running" and
                                 s["counts"]["ready"] == self.total)
            if over or time.monotonic() > deadline:
                gate.release()
                self.fail("kill point not reached: no %s call before the job ended\n%s"
                          % (action, self.log_tail(c)))
        recovery = self.crash(c, gate, {
            "before": "%s held before it reached moto",
            "after": "%s reached moto, its answer held back",
            "late": "%s held, to reach moto late"}[mode] % action)
        return hold, recovery

    def crash_in_flight(self, c, gate, action, mode):
        """crash_at() in the middle of a create (its first call with the
        answer lost, or a later call of the sequence) or of the update that
        finishes a resource adopted at an earlier crash: the restart's
        recovery must find what was made, adopting a create's resource by
        its tags, not leave it to be made again. When the held call carried
        our tags (a create's first call), that resource by name."""
        hold, recovery = self.crash_at(c, gate, action, mode)
        name = re.escape(hold.resource) if hold.resource else r"\S+"
        pattern = (r"recovery: %s (create: \S+ found by its tags, adopted|update: \S+ found)"
                   % name)
        self.assertRegex(recovery, pattern, "%s held %s: the restart found nothing in flight"
                         % (action, mode))

    def crash_when(self, c, gate, what, pred):
        wait_until(what, pred, timeout=WAIT, interval=0.02)
        self.crash(c, gate, what)

    def log_tail(self, c):
        return "--- daemon log (end):\n" + c.log()[-8000:]

    def converged(self, c):
        s = self.status(c)
        if s and s["state"] == "Running" and \
                s["counts"] == {"ready": self.total, "total": self.total}:
            return s
        return None

    # -- checks ------------------------------------------------------------------------

    def check_moto(self, c, baseline, status):
        """One AWS resource per declared resource, each tagged, each the one status names."""
        ours = without(inventory(c), baseline)
        fid = status["fid"]
        by_name = {r["name"]: r for r in status["resources"]}
        self.assertEqual(len(by_name), N)
        want = collections.Counter(self.declared.values())
        for type_name, ids in sorted(ours.items()):
            names = collections.Counter()
            for rid, tags in ids.items():
                self.assertEqual(tags.get("fugue:fid"), fid,
                                 "%s %s in moto does not carry our fugue:fid: untracked\n%s"
                                 % (type_name, rid, tags))
                names[tags.get("fugue:resource")] += 1
            dups = {n: k for n, k in names.items() if k > 1}
            self.assertEqual(dups, {}, "%s: duplicates in moto" % type_name)
            self.assertEqual(len(ids), want[type_name],
                             "%s: %d in moto, %d declared" % (type_name, len(ids),
                                                             want[type_name]))
            for rid, tags in ids.items():
                name = tags["fugue:resource"]
                self.assertEqual(self.declared.get(name), type_name, (name, rid))
                self.assertEqual(by_name[name]["id"], rid,
                                 "%s: status has %s, moto %s" % (name, by_name[name]["id"], rid))
        for res in status["resources"]:
            self.assertEqual(res["status"], "Ready", res)
            self.assertIn(res["id"], ours[res["type"]], res)
        return ours

    def check_no_drift(self, c):
        """A fresh observation of all 200 matches the declaration: what a crash
        left half made (a gateway not attached, a group without its rules, a
        route table without its route, a load balancer without its
        instances) was finished."""
        result = c.ok("resume", {"process": "kill9", "dryRun": True}, timeout=300)
        summary = result["plan"]["summary"]
        changes = [a for a in result["plan"]["actions"] if a["action"] != "none"]
        self.assertEqual((summary["create"], summary["update"], summary["replace"],
                          summary["delete"]), (0, 0, 0, 0),
                         "drift after converging: %s" % json.dumps(changes)[:4000])
        self.assertEqual(summary["none"], N)

    # -- the test --------------------------------------------------------------------

    @contextlib.contextmanager
    def gated_conductor(self):
        """A conductord (enforcement every hour) that reaches moto through a
        Gate; yields (conductor, gate, what moto held before)."""
        c = Conductor(moto=True, fake=False, planners=planner_paths(), start=False,
                      enforce_interval=3600)
        with c:
            gate = Gate(c.moto_url)
            try:
                c.extra_env["AWS_ENDPOINT_URL"] = gate.url
                c.start()
                yield c, gate, inventory(c)
            finally:
                gate.close()

    def test_kill9_200_resources(self):
        with self.gated_conductor() as (c, gate, baseline):
            self.run_and_crash(c, gate)
            status = wait_until("the process to converge", lambda: self.converged(c),
                                timeout=WAIT, interval=0.5)
            ours = self.check_moto(c, baseline, status)
            self.check_no_drift(c)
            sys.stderr.write("converged after %d crashes: %s\n" % (
                len(self.points),
                ", ".join("%d %s" % (len(v), t.split(".")[-1]) for t, v in ours.items())))
            self.kill_and_crash(c, gate, status["fid"])
            left = {t: v for t, v in without(inventory(c), baseline).items() if v}
            self.assertEqual(left, {}, "left in moto after the kill")

    def run_and_crash(self, c, gate):
        result = c.ok("run", {"source": self.source, "sourceName": "kill9.yaml", "wait": False})
        self.assertTrue(result.get("fid"))
        # 1: at once: the job may not have made a single call.
        self.crash(c, gate, "at once after run answered")
        # Root resources (no dependencies: made first).
        self.crash_in_flight(c, gate, "CreateRole", "after")
        self.crash_in_flight(c, gate, "CreateVolume", "after")
        self.crash_when(c, gate, "15 resources Ready", lambda: self.ready(c) >= 15)
        # Multi-call creates, in the middle.
        self.crash_in_flight(c, gate, "AttachInternetGateway", "before")
        self.crash_in_flight(c, gate, "CreateSecurityGroup", "after")
        self.crash_in_flight(c, gate, "AuthorizeSecurityGroupIngress", "before")
        self.crash_in_flight(c, gate, "AddRoleToInstanceProfile", "after")
        mark = gate.count()
        self.crash_when(c, gate, "40 more AWS calls", lambda: gate.count() >= mark + 40)
        self.crash_in_flight(c, gate, "CreateRoute", "before")
        self.crash_in_flight(c, gate, "AssociateRouteTable", "after")
        self.crash_in_flight(c, gate, "RunInstances", "after")
        self.crash_in_flight(c, gate, "CreateLoadBalancer", "after")
        self.crash_in_flight(c, gate, "RegisterInstancesWithLoadBalancer", "before")
        # At random moments of what is left.
        for _ in range(3):
            if self.converged(c):
                break
            delay = self.rng.uniform(0.2, 3.0)
            time.sleep(delay)
            self.crash(c, gate, "at random, %.2f s after the restart" % delay)

    def kill_and_crash(self, c, gate, fid):
        c.ok("kill", {"process": "kill9", "wait": False})
        self.crash_at(c, gate, "DeleteLoadBalancer", "after")
        self.crash_at(c, gate, "TerminateInstances", "after")
        self.crash_at(c, gate, "DeleteSecurityGroup", "before")

        def forgotten():
            events, final = c.request("status", {"process": fid})
            return final is not None and not final["ok"] and \
                final["error"]["code"] == "not_found"
        wait_until("the kill to finish", forgotten, timeout=WAIT, interval=0.5)

    # -- a create AWS acts on late ------------------------------------------------------

    def test_late_create_duplicate_deleted(self):
        """The next enforcement pass deletes the duplicate a late create made."""
        self.late_create(enforcement=True)

    def test_late_create_duplicate_enforcement_off(self):
        """Enforcement off: the duplicate is shown and left; kill deletes it."""
        self.late_create(enforcement=False)

    def late_create(self, enforcement):
        """CreateVpc held, conductord SIGKILLed and restarted: its recovery
        finds no VPC by the tags and the run makes one. Only then does the
        held call reach moto: a second VPC with the same fugue:fid and
        fugue:resource tags (what AWS does with a call it received before
        the crash and acts on late). The Conductor must track it as
        "vpc~ID", delete it at the next enforcement pass (or, with
        enforcement off, show it and leave it), and delete it at kill."""
        self.alias, self.total = "late", len(LATE_DECLARED)
        with self.gated_conductor() as (c, gate, baseline):
            ec2 = c.boto3("ec2")
            fid = c.ok("run", {"source": LATE_SOURCE, "sourceName": "late.yaml",
                               "wait": False})["fid"]
            hold, recovery = self.crash_at(c, gate, "CreateVpc", "late")
            self.assertEqual(hold.resource, "vpc")
            self.assertIn("recovery: vpc create: not found", recovery,
                          "the restart did not see the held CreateVpc in flight")
            status = wait_until("the process to converge", lambda: self.converged(c),
                                timeout=LATE_WAIT, interval=0.3)
            vpc = self.resource(status, "vpc")["id"]
            self.assertEqual(vpc_ids(ec2, fid), [vpc], "before the late create lands")
            if not enforcement:
                c.ok("property", {"process": self.alias, "key": "enforcement",
                                  "value": "off"})

            # The late create lands: two VPCs carry our tags for "vpc".
            code, body = gate.land(hold)
            self.assertEqual(code, 200, body[:2000])
            both = vpc_ids(ec2, fid)
            self.assertEqual(len(both), 2, "moto holds %s" % both)
            self.assertIn(vpc, both)
            late = [v for v in both if v != vpc][0]
            self.assertEqual(vpc_tags(ec2, late).get("fugue:resource"), "vpc")
            self.assertEqual(gate.calls["CreateVpc"], 2)
            sys.stderr.write("late CreateVpc landed: %s beside %s\n" % (late, vpc))

            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "1"})
            if enforcement:
                self.check_duplicate_deleted(c, ec2, fid, vpc, late)
            else:
                self.check_duplicate_kept(c, gate, ec2, fid, vpc, late)

            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "3600"})
            events, final = c.request("kill", {"process": self.alias}, timeout=300)
            self.assertTrue(final and final["ok"], final)
            self.assertEqual(final["result"]["state"], "Killed")
            self.assertEqual(vpc_ids(ec2, fid), [], "VPCs left after the kill")
            left = {t: v for t, v in without(inventory(c), baseline).items() if v}
            self.assertEqual(left, {}, "left in moto after the kill")

    def resource(self, status, name):
        found = [r for r in status["resources"] if r["name"] == name]
        self.assertEqual(len(found), 1, status["resources"])
        return found[0]

    def drift_entries(self, c):
        entries = c.ok("history", {"process": self.alias, "limit": 0})["entries"]
        return [e for e in entries if e["kind"] == "drift"]

    def check_duplicate_deleted(self, c, ec2, fid, vpc, late):
        """One pass deletes LATE: moto holds VPC only, status names it and
        nothing else, history says why."""
        def done():
            s = self.status(c)
            if s is None or vpc_ids(ec2, fid) != [vpc]:
                return None
            if [r for r in s["resources"] if "~" in r["name"]]:
                return None
            if not [e for e in self.drift_entries(c) if "a duplicate of" in e["summary"]]:
                return None
            return s
        try:
            s = wait_until("the duplicate %s to be deleted" % late, done,
                           timeout=LATE_WAIT, interval=0.5)
        except HarnessError as e:
            s = self.status(c)
            self.fail("%s\nmoto: %s\nstatus: %s\ndrift: %s\n%s" % (
                e, vpc_ids(ec2, fid), s and [(r["name"], r["id"]) for r in s["resources"]],
                json.dumps(self.drift_entries(c))[:3000], self.log_tail(c)))
        self.assertEqual(self.resource(s, "vpc")["id"], vpc)
        self.assertEqual(sorted(r["name"] for r in s["resources"]), sorted(LATE_DECLARED))
        entry = [e for e in self.drift_entries(c) if "a duplicate of" in e["summary"]][0]
        self.assertIn("a duplicate of vpc", entry["summary"])
        self.assertIn("vpc~" + late, json.dumps(entry))
        self.assertIn("vpc: %s also carries its tags" % late, c.log())
        converged = wait_until("Running with every resource Ready", lambda: self.converged(c),
                               timeout=LATE_WAIT, interval=0.3)
        self.assertEqual(self.resource(converged, "vpc")["id"], vpc)
        sys.stderr.write("duplicate deleted: %s\n" % entry["summary"])

    def check_duplicate_kept(self, c, gate, ec2, fid, vpc, late):
        """Enforcement off: LATE shows in status as vpc~LATE, counted as
        drift, and passes leave it in moto."""
        name = "vpc~" + late

        def shown():
            s = self.status(c)
            return s if s and [r for r in s["resources"] if r["name"] == name] else None
        try:
            wait_until("status to show %s" % name, shown, timeout=LATE_WAIT, interval=0.5)
        except HarnessError as e:
            s = self.status(c)
            self.fail("%s\nstatus: %s\n%s" % (
                e, s and [(r["name"], r["id"]) for r in s["resources"]], self.log_tail(c)))
        # Several passes at 1 s (each one DescribeVpcs at least): none may delete it.
        mark = gate.calls["DescribeVpcs"]
        wait_until("three more passes", lambda: gate.calls["DescribeVpcs"] >= mark + 3,
                   timeout=LATE_WAIT, interval=0.3)
        s = shown()
        self.assertIsNotNone(s, "%s no longer in status" % name)
        self.assertEqual(self.resource(s, name)["id"], late)
        self.assertEqual(self.resource(s, "vpc")["id"], vpc)
        self.assertGreaterEqual(s["drift"], 1, s)
        self.assertEqual(sorted(vpc_ids(ec2, fid)), sorted([vpc, late]),
                         "a pass with enforcement off deleted something")
        self.assertEqual(gate.calls["DeleteVpc"], 0)
        entries = [e for e in self.drift_entries(c) if "a duplicate of vpc" in e["summary"]]
        self.assertTrue(entries, "no drift entry for the duplicate: %s"
                        % json.dumps(self.drift_entries(c))[:3000])
        for e in entries:
            self.assertIn("enforcement off", e["summary"])
            self.assertIn(name, json.dumps(e))
        sys.stderr.write("duplicate kept with enforcement off: %s (drift %d)\n"
                         % (name, s["drift"]))


LATE_SOURCE = """composition: late
resources:
  vpc:
    type: AWS.VPC.Vpc
    cidrBlock: 10.7.0.0/16
  subnet:
    type: AWS.VPC.Subnet
    vpc: !ref vpc
    cidrBlock: 10.7.1.0/24
    availabilityZone: us-east-1a
  igw:
    type: AWS.VPC.InternetGateway
    vpc: !ref vpc
"""
LATE_DECLARED = ("vpc", "subnet", "igw")
# Upper bound for one wait of the late-create tests (a converge, a pass).
LATE_WAIT = 90


def vpc_ids(ec2, fid):
    """The VPCs in moto tagged with process FID, sorted."""
    f = [{"Name": "tag:fugue:fid", "Values": [fid]}]
    return sorted(v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"])


def vpc_tags(ec2, vpc):
    return tag_map(ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0].get("Tags"))


if __name__ == "__main__":
    main()
