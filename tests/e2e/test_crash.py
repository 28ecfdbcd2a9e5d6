#!/usr/bin/env python3
"""test_crash.py - kill -9 of conductord in the middle of a run (and of a
kill), at several points, then a restart on the same state: the Conductor
must resolve what was in flight by observation and converge, with exactly
one of each resource in the fake service and a consistent status (every
resource Ready with the fake's id).

The points, made with the fake planner's injected delays (_faults.json):
  - at once, after run answered (the job may not have begun any call)
  - while a create waits in its delay_ms (journal open, nothing made yet)
  - after a create took effect, before its answer (delay_after_ms): the
    resource exists in the fake service, the Conductor never learned its id
  - a create that took effect and then failed ("after": the answer lost),
    without a crash: the next attempt, with the same client token, finds it
  - in the middle of a kill, after a delete took effect

Run by ctest, or by hand:
    tests/e2e/test_crash.py --conductord build/daemon/conductord \\
        --fake-so build/tests/planners/fugue_fake.so [Crash.test_name]
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main, SLOW, wait_until  # noqa: E402

COMPOSITION = """composition: web
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
"""

TYPES = ("Fake.Net.Network", "Fake.Net.Subnet", "Fake.Compute.Server")


class Crash(unittest.TestCase):

    def run_no_wait(self, c):
        result = c.ok("run", {"source": COMPOSITION, "sourceName": "web.yaml", "wait": False})
        self.assertTrue(result.get("fid"))
        return result["fid"]

    def calls(self, c, op, type_name):
        return c.fake.calls().get(op, {}).get(type_name, 0)

    def converged(self, c, fid):
        """Status once every resource is Ready (None until then)."""
        events, final = c.request("status", {"process": fid})
        if not final or not final.get("ok"):
            return None
        r = final["result"]
        if r["state"] != "Running" or r["counts"] != {"ready": 3, "total": 3}:
            return None
        return r

    def forgotten(self, c, fid):
        events, final = c.request("status", {"process": fid})
        return final is not None and not final["ok"] and final["error"]["code"] == "not_found"

    def assert_consistent(self, c, fid):
        status = wait_until("the process to converge", lambda: self.converged(c, fid))
        for t in TYPES:
            self.assertEqual(len(c.fake.resources(t)), 1,
                             "exactly one %s in the fake service\n%s" % (t, c.log()))
        self.assertEqual(len(c.fake.resources()), 3)
        by_name = {r["tags"]["fugue:resource"]: r for r in c.fake.resources()}
        for res in status["resources"]:
            self.assertEqual(res["status"], "Ready", res)
            self.assertEqual(res["id"], by_name[res["name"]]["id"],
                             "%s is recorded with the fake's id" % res["name"])
            self.assertEqual(by_name[res["name"]]["tags"]["fugue:fid"], fid)
        return status

    def restart_after_crash(self, c):
        c.kill9()
        c.fake.clear_faults()
        c.start()

    def test_crash_at_once(self):
        with Conductor() as c:
            c.fake.set_faults({"create": {"*": {"delay_ms": 200}}})
            fid = self.run_no_wait(c)
            self.restart_after_crash(c)
            self.assert_consistent(c, fid)

    def test_crash_while_create_waits(self):
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Net.Subnet": {"delay_ms": 60000}}})
            fid = self.run_no_wait(c)
            wait_until("the subnet's create to begin",
                       lambda: self.calls(c, "create", "Fake.Net.Subnet") >= 1)
            self.assertEqual(len(c.fake.resources("Fake.Net.Subnet")), 0)
            self.restart_after_crash(c)
            self.assert_consistent(c, fid)

    def test_crash_after_effect_before_answer(self):
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Net.Subnet": {"delay_after_ms": 60000}}})
            fid = self.run_no_wait(c)
            made = wait_until("the subnet to exist",
                              lambda: c.fake.resources("Fake.Net.Subnet"))
            self.restart_after_crash(c)
            status = self.assert_consistent(c, fid)
            sub = [r for r in status["resources"] if r["name"] == "sub"][0]
            self.assertEqual(sub["id"], made[0]["id"], "the subnet made before the crash is "
                             "adopted, not made again")
            self.assertIn("adopted", c.log())

    def test_crash_after_effect_then_again_while_converging(self):
        # Two crashes in a row: the second one during the restart's converge.
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Compute.Server": {"delay_after_ms": 60000}}})
            fid = self.run_no_wait(c)
            wait_until("the server to exist", lambda: c.fake.resources("Fake.Compute.Server"))
            c.kill9()
            c.start()
            time.sleep(0.2)
            self.restart_after_crash(c)
            self.assert_consistent(c, fid)

    def test_sigterm_mid_run(self):
        # A clean stop cancels the job: the waiting client is told, the exit
        # status is 0, and the next start finishes the run.
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Net.Subnet": {"delay_ms": 60000}}})
            answers = []
            client = c.connect()
            waiter = threading.Thread(target=lambda: answers.append(
                client.request("run", {"source": COMPOSITION, "sourceName": "web.yaml"})))
            waiter.start()
            wait_until("the subnet's create to begin",
                       lambda: self.calls(c, "create", "Fake.Net.Subnet") >= 1)
            self.assertEqual(c.stop(), 0)
            waiter.join(30 * SLOW)
            client.close()
            events, final = answers[0]
            self.assertIsNotNone(final, "the waiting client got an answer before the close")
            self.assertEqual(final["error"]["code"], "shutting_down", final)
            fid = [e["data"]["fid"] for e in events if e["event"] == "job"][0]
            c.fake.clear_faults()
            c.start()
            self.assert_consistent(c, fid)

    def test_lost_answer_without_crash(self):
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Net.Subnet": {"fail": 1, "after": True,
                                                              "code": "InternalError"}}})
            events, final = c.request("run", {"source": COMPOSITION, "sourceName": "web.yaml"})
            self.assertIsNotNone(final)
            fid = final.get("result", final.get("error", {}).get("details", {})).get("fid")
            self.assertTrue(fid, final)
            self.assert_consistent(c, fid)

    def test_lost_answer_fails_the_run_then_adopted(self):
        # Not retried in the job (not a transient error): the run fails, the
        # process is Failed, and its retry finds the subnet by its tags.
        with Conductor() as c:
            c.fake.set_faults({"create": {"Fake.Net.Subnet": {
                "fail": 1, "after": True, "code": "InvalidParameterValue"}}})
            events, final = c.request("run", {"source": COMPOSITION, "sourceName": "web.yaml"})
            self.assertFalse(final["ok"], final)
            self.assertEqual(final["error"]["code"], "failed")
            self.assertEqual(final["error"]["details"]["state"], "Failed")
            fid = final["error"]["details"]["fid"]
            made = c.fake.resources("Fake.Net.Subnet")
            self.assertEqual(len(made), 1)
            status = self.assert_consistent(c, fid)
            sub = [r for r in status["resources"] if r["name"] == "sub"][0]
            self.assertEqual(sub["id"], made[0]["id"])

    def test_crash_during_create_before_delete_replacement(self):
        # The server's subnet forces a replacement, created before the old
        # one is deleted. A crash after the new server exists, before its id
        # is recorded, must not leave two new servers: the next attempt
        # reuses the replacement's client token.
        with Conductor() as c:
            fid = c.ok("run", {"source": COMPOSITION, "sourceName": "web.yaml"})["fid"]
            old = c.fake.resources("Fake.Compute.Server")[0]["id"]
            moved = COMPOSITION.replace("    subnet: !ref sub\n", "    subnet: !ref sub2\n")
            moved += "  sub2:\n    type: Fake.Net.Subnet\n    network: !ref net\n" \
                     "    cidr: 10.0.2.0/24\n"
            c.fake.set_faults({"create": {"Fake.Compute.Server": {"delay_after_ms": 60000}}})
            c.ok("update", {"process": fid, "source": moved, "sourceName": "web.yaml",
                            "wait": False})
            wait_until("the new server to exist",
                       lambda: len(c.fake.resources("Fake.Compute.Server")) == 2)
            self.restart_after_crash(c)

            def replaced():
                servers = c.fake.resources("Fake.Compute.Server")
                status = self.converged_n(c, fid, 4)
                return status if status and [s["id"] for s in servers] != [old] \
                    and len(servers) == 1 else None
            status = wait_until("the replacement to finish", replaced)
            self.assertEqual(len(c.fake.resources("Fake.Compute.Server")), 1, c.log())
            srv = [r for r in status["resources"] if r["name"] == "srv"][0]
            self.assertEqual(srv["id"], c.fake.resources("Fake.Compute.Server")[0]["id"])
            self.assertNotEqual(srv["id"], old)

    def converged_n(self, c, fid, n):
        events, final = c.request("status", {"process": fid})
        if not final or not final.get("ok"):
            return None
        r = final["result"]
        if r["state"] != "Running" or r["counts"] != {"ready": n, "total": n}:
            return None
        return r

    def test_crash_in_the_middle_of_kill(self):
        with Conductor() as c:
            result = c.ok("run", {"source": COMPOSITION, "sourceName": "web.yaml"})
            fid = result["fid"]
            c.fake.set_faults({"remove": {"Fake.Net.Subnet": {"delay_after_ms": 60000}}})
            c.ok("kill", {"process": fid, "wait": False})
            wait_until("the subnet to be deleted",
                       lambda: not c.fake.resources("Fake.Net.Subnet"))
            self.restart_after_crash(c)
            wait_until("the kill to finish", lambda: self.forgotten(c, fid))
            self.assertEqual(c.fake.resources(), [], "everything deleted, once")
            history = c.ok("history", {"process": fid})["entries"]
            self.assertTrue(any(e["kind"] == "kill" and e["summary"].startswith("killed")
                                for e in history), history)


if __name__ == "__main__":
    main()
