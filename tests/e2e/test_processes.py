#!/usr/bin/env python3
"""test_processes.py - the process model through the real conductord and
its socket: run with progress events, status, drift corrected and drift
only recorded, lock, suspend / resume, kill, release, runtime settings, and
the caller's uid (SO_PEERCRED) in history.

Drift is made as a person would: by changing the fake service's files
behind the Conductor's back.

Run by ctest, or by hand:
    tests/e2e/test_processes.py --conductord build/daemon/conductord \\
        --fake-so build/tests/planners/fugue_fake.so [Processes.test_name]
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until  # noqa: E402

COMPOSITION = """composition: web
tags: {team: web}
resources:
  net:
    type: Fake.Net.Network
    cidr: 10.0.0.0/16
    name: main
  sub:
    type: Fake.Net.Subnet
    network: !ref net
    cidr: 10.0.1.0/24
  srv:
    type: Fake.Compute.Server
    subnet: !ref sub
    size: small
    password: hunter2-secret
"""


class Processes(unittest.TestCase):

    def run_web(self, c):
        events, final = c.request("run", {"source": COMPOSITION, "sourceName": "web.yaml"})
        self.assertTrue(final and final["ok"], final)
        return events, final["result"]

    def resource(self, c, name):
        for r in c.fake.resources():
            if r["tags"].get("fugue:resource") == name:
                return r
        return None

    def history(self, c, process, kind=None):
        entries = c.ok("history", {"process": process, "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def test_run_status_and_events(self):
        with Conductor() as c:
            events, result = self.run_web(c)
            self.assertEqual(result["state"], "Running")
            self.assertEqual(result["message"], "SUCCEEDED")
            kinds = [e["event"] for e in events]
            self.assertEqual(kinds[:2], ["accepted", "plan"])
            self.assertEqual(kinds[-1], "job")
            done = [e["data"]["resource"] for e in events
                    if e["event"] == "progress" and e["data"]["phase"] == "done"]
            self.assertEqual(done, ["net", "sub", "srv"], "dependencies first")
            status = c.ok("status", {"process": "web"})
            self.assertEqual(status["counts"], {"ready": 3, "total": 3})
            listing = c.ok("status")["processes"]
            self.assertEqual([p["alias"] for p in listing], ["web"])
            self.assertEqual(self.resource(c, "net")["tags"]["team"], "web")
            run = self.history(c, "web", "run")
            self.assertEqual(run[0]["uid"], os.getuid(), "the caller's uid, from SO_PEERCRED")
            # The secret never leaves the Conductor.
            self.assertNotIn("hunter2", str(events) + str(status) + str(self.history(c, "web")))
            self.assertNotIn("hunter2", c.log())

    def test_drift_corrected_and_recorded(self):
        with Conductor() as c:
            self.run_web(c)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.2"})
            net = self.resource(c, "net")
            net["properties"]["name"] = "console-edit"
            c.fake.write_resource(net)
            c.fake.delete_resource(self.resource(c, "srv")["id"])
            wait_until("the drift to be corrected",
                       lambda: self.resource(c, "srv") and
                       self.resource(c, "net")["properties"]["name"] == "main")
            drift = wait_until("a drift entry", lambda: self.history(c, "web", "drift"))
            text = str(drift)
            self.assertIn("console-edit", text)
            self.assertIn("corrected", drift[-1]["summary"])
            self.assertEqual(len(c.fake.resources()), 3)

            # Report-only: recorded, left as it is.
            c.ok("property", {"process": "web", "key": "enforcement", "value": "off"})
            before = len(self.history(c, "web", "drift"))
            net = self.resource(c, "net")
            net["properties"]["name"] = "second-edit"
            c.fake.write_resource(net)
            entry = wait_until("a report-only drift entry",
                               lambda: [e for e in self.history(c, "web", "drift")[:1]
                                        if "enforcement off" in e["summary"]])
            self.assertGreater(len(self.history(c, "web", "drift")), before)
            item = [d for d in entry[0]["details"] if d["property"] == "name"][0]
            self.assertEqual((item["declared"], item["actual"]), ("main", "second-edit"))
            self.assertEqual(self.resource(c, "net")["properties"]["name"], "second-edit")
            status = c.ok("status", {"process": "web"})
            self.assertGreaterEqual(status["drift"], 1)
            self.assertIsNotNone(status["lastEnforced"])

    def test_lock(self):
        with Conductor() as c:
            self.run_web(c)
            c.ok("property", {"process": "web", "key": "lock", "value": "on"})
            for command, args in (("kill", {"process": "web"}),
                                  ("suspend", {"process": "web"}),
                                  ("release", {"process": "web"}),
                                  ("update", {"process": "web", "source": COMPOSITION})):
                events, final = c.request(command, args)
                self.assertFalse(final["ok"])
                self.assertEqual(final["error"]["code"], "locked")
                self.assertIn("fugue property web lock --set off", final["error"]["message"])
            self.assertEqual(len(c.fake.resources()), 3)
            c.ok("status", {"process": "web"})
            c.ok("property", {"process": "web", "key": "lock", "value": "off"})
            c.ok("suspend", {"process": "web"})

    def test_suspend_resume(self):
        with Conductor() as c:
            self.run_web(c)
            self.assertEqual(c.ok("suspend", {"process": "web"})["state"], "Suspended")
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.1"})
            net = self.resource(c, "net")
            net["properties"]["name"] = "while-suspended"
            c.fake.write_resource(net)
            c.fake.reset_calls()
            time.sleep(1)
            self.assertEqual(c.fake.calls().get("observe", {}), {}, "no pass while suspended")
            result = c.ok("resume", {"process": "web"})
            self.assertEqual(result["state"], "Running")
            self.assertEqual(self.resource(c, "net")["properties"]["name"], "main")
            kinds = [e["kind"] for e in self.history(c, "web")]
            self.assertIn("suspend", kinds)
            self.assertIn("resume", kinds)

    def test_kill(self):
        with Conductor() as c:
            _, result = self.run_web(c)
            events, final = c.request("kill", {"process": "web"})
            self.assertTrue(final["ok"], final)
            deleted = [e["data"]["resource"] for e in events
                       if e["event"] == "progress" and e["data"]["phase"] == "done"]
            self.assertEqual(deleted, ["srv", "sub", "net"], "reverse dependency order")
            self.assertEqual(c.fake.resources(), [])
            events, final = c.request("status", {"process": "web"})
            self.assertEqual(final["error"]["code"], "not_found")
            self.assertTrue(self.history(c, result["fid"], "kill"))

    def test_release(self):
        with Conductor() as c:
            _, result = self.run_web(c)
            released = c.ok("release", {"process": "web"})
            self.assertEqual(released["resources"], 3)
            self.assertEqual(len(c.fake.resources()), 3)
            for r in c.fake.resources():
                self.assertEqual(r["tags"]["fugue:fid"], result["fid"],
                                 "released resources keep their fugue:* tags")
            events, final = c.request("status", {"process": "web"})
            self.assertEqual(final["error"]["code"], "not_found")
            self.assertTrue(self.history(c, result["fid"], "release"))

    def test_accepted_event_and_ping(self):
        with Conductor() as c:
            events, result = self.run_web(c)
            self.assertEqual(events[0]["event"], "accepted", "the FID comes first")
            self.assertEqual(events[0]["data"],
                             {"fid": result["fid"], "alias": "web", "job": "run"})
            events, final = c.request("kill", {"process": "web"})
            self.assertTrue(final["ok"], final)
            self.assertEqual(events[0]["data"]["job"], "kill")
            self.assertEqual([e["event"] for e in events].count("accepted"), 1)
            ping = c.ok("ping")
            me = ping["conductor"]
            self.assertEqual((me["version"], me["protocol"]), (ping["version"], ping["protocol"]))
            self.assertTrue(os.path.exists("/proc/%d" % me["pid"]))
            self.assertRegex(me["started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_restart_keeps_enforcement_status(self):
        with Conductor() as c:
            self.run_web(c)
            status = c.ok("status", {"process": "web"})
            deps = {r["name"]: r["dependsOn"] for r in status["resources"]}
            self.assertEqual(deps, {"net": [], "sub": ["net"], "srv": ["sub"]})
            c.ok("property", {"process": "web", "key": "enforcement", "value": "off"})
            net = self.resource(c, "net")
            net["properties"]["name"] = "console-edit"
            c.fake.write_resource(net)
            c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.2"})
            before = wait_until("the drift in status",
                                lambda: [s for s in [c.ok("status", {"process": "web"})]
                                         if s["drift"] == 1])[0]
            # Suspended: no pass runs after the restart, what status shows is
            # what the store kept.
            c.ok("suspend", {"process": "web"})
            before = c.ok("status", {"process": "web"})
            c.restart()
            after = c.ok("status", {"process": "web"})
            self.assertIsNotNone(after["lastEnforced"])
            self.assertEqual(after["lastEnforced"], before["lastEnforced"])
            self.assertEqual(after["drift"], 1)
            drift = {r["name"]: r["drift"] for r in after["resources"]}
            self.assertEqual(drift["sub"], [])
            self.assertEqual([(d["property"], d["declared"], d["actual"]) for d in drift["net"]],
                             [("name", "main", "console-edit")])
            listed = c.ok("status")["processes"][0]
            self.assertEqual((listed["drift"], listed["lastEnforced"]),
                             (1, before["lastEnforced"]))
            self.assertNotIn("hunter2", str(after))

    def test_restart_keeps_processes_and_settings(self):
        with Conductor() as c:
            self.run_web(c)
            c.ok("runtime", {"op": "set", "key": "enforce.interval.fake", "value": "7"})
            c.restart()
            status = c.ok("status", {"process": "web"})
            self.assertEqual(status["state"], "Running")
            settings = c.ok("runtime", {"op": "get", "key": "enforce.interval.fake"})
            self.assertEqual(settings["settings"]["enforce.interval.fake"], "7")
            self.assertEqual(len(c.fake.resources()), 3)


if __name__ == "__main__":
    main()
