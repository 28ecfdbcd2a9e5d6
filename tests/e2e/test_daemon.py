#!/usr/bin/env python3
"""test_daemon.py - conductord's lifecycle through the real binary: the
systemd protocol (READY, STATUS, WATCHDOG, RELOADING, STOPPING), signals
(TERM, INT, HUP), config and flag errors, a second daemon, a broken planner
next to good ones, and clients that abuse the socket.

Run by ctest (which sets FUGUE_CONDUCTORD, FUGUE_TEST_FAKE_SO and
FUGUE_TEST_BROKEN_*), or by hand:
    tests/e2e/test_daemon.py --conductord build/daemon/conductord \\
        --fake-so build/tests/planners/fugue_fake.so [TestCase.test_name]
"""

import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import SLOW, Conductor, broken_so, main, run_conductord  # noqa: E402


NETWORK = """composition: net
resources:
  net:
    type: Fake.Net.Network
    cidr: 10.0.0.0/16
"""


class Lifecycle(unittest.TestCase):

    def test_ready_status_ping_stop(self):
        c = Conductor()
        try:
            ready = c.notify.wait_for("READY", "1")
            self.assertEqual(ready.get("MAINPID"), str(c.pid), "READY=1 names our pid")
            self.assertIn("STATUS", ready, "READY=1 carries a STATUS= line")
            self.assertRegex(ready["STATUS"], r"\d+ process", "STATUS= is the summary")
            self.assertTrue(os.path.exists(c.socket_path), "the socket exists once READY")
            self.assertEqual(os.stat(c.socket_path).st_mode & 0o777, 0o660,
                             "the socket's mode is 0660")

            result = c.ok("ping")
            self.assertIsInstance(result.get("version"), str, "ping answers a version")
            self.assertEqual(result.get("protocol"), 1, "ping answers the protocol version")

            self.assertEqual(c.stop(), 0, "SIGTERM ends with exit status 0")
            stopping = c.notify.wait_for("STOPPING", "1", timeout=1)
            self.assertIsNotNone(stopping)
            self.assertFalse(os.path.exists(c.socket_path), "the socket file is removed at stop")
            self.assertIn("SIGTERM received", c.log())
        finally:
            c.close()

    def test_sigint_stops_cleanly(self):
        with Conductor() as c:
            c.signal(signal.SIGINT)
            self.assertEqual(c.wait_exit(), 0, "SIGINT ends with exit status 0\n" + c.log())
            self.assertEqual(c.notify.count("STOPPING", "1"), 1)
            self.assertIn("SIGINT received", c.log())

    def test_restart_on_the_same_state(self):
        with Conductor() as c:
            c.restart()
            c.ok("ping")
            self.assertEqual(c.notify.count("READY", "1"), 2, "READY=1 at each start")

    def test_status_is_refreshed(self):
        with Conductor() as c:
            ready = c.notify.wait_for("READY", "1")
            self.assertRegex(ready["STATUS"], r"^0 processes")
            c.ok("run", {"source": NETWORK, "sourceName": "net.yaml"})
            # Refreshed every 5 s when it changed.
            status = c.notify.wait_for("STATUS", match=r"^1 process", timeout=15)
            self.assertNotIn("READY", status, "a plain STATUS= update")

    def test_sigterm_during_a_job(self):
        # A create that takes long: SIGTERM arrives while it is in flight.
        with Conductor() as c:
            c.fake.set_faults({"create": {"*": {"delay_ms": 3000}}})
            started = threading.Event()
            finals = []

            def run():
                finals.append(c.request("run", {"source": NETWORK, "sourceName": "net.yaml"},
                                        on_event=lambda e: started.set())[1])

            t = threading.Thread(target=run)
            t.start()
            self.assertTrue(started.wait(30 * SLOW), "the run started")
            began = time.monotonic()
            self.assertEqual(c.stop(), 0, "exit 0 with a planner call in flight")
            t.join(30 * SLOW)
            self.assertLess(time.monotonic() - began, 30 * SLOW, "the grace period is bounded")
            final = finals[0] if finals else None
            if final is not None:  # the connection may close before the reply
                self.assertFalse(final["ok"], "a job cut by shutdown does not report success")
            self.assertFalse(os.path.exists(c.socket_path))
            # The next start resolves what was in flight: exactly one network.
            c.fake.clear_faults()
            c.start()
            c.ok("ping")
            deadline = time.monotonic() + 30 * SLOW
            while len(c.fake.resources()) > 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertLessEqual(len(c.fake.resources()), 1, "nothing created twice")

    def test_watchdog(self):
        # WATCHDOG_USEC=1 s: the daemon must ping every 0.5 s.
        with Conductor(watchdog_usec=1000000) as c:
            first = c.notify.wait_for("WATCHDOG", "1")
            self.assertIsNotNone(first)
            mark = c.notify.mark()
            c.notify.wait_for("WATCHDOG", "1", start=mark, timeout=5)
            self.assertGreaterEqual(c.notify.count("WATCHDOG", "1"), 2)

    def test_no_watchdog_for_another_pid(self):
        # WATCHDOG_PID names someone else: the watchdog is not ours to feed.
        with Conductor(watchdog_usec=100000, env={"WATCHDOG_PID": "1"}) as c:
            c.ok("ping")
            c.ok("ping")
        self.assertEqual(c.notify.count("WATCHDOG"), 0,
                         "no WATCHDOG=1 when WATCHDOG_PID is another process")


class Reload(unittest.TestCase):

    def test_sighup_applies_a_changed_file(self):
        with Conductor(config="logLevel: info\n") as c:
            self.assertNotIn("debug logging is on", c.log())
            ready = c.reload("logLevel: debug\nenforcement: {interval: 12}\n")
            self.assertIn("STATUS", ready)
            log = c.wait_log("configuration reloaded")
            self.assertRegex(log, r"configuration reloaded: .*interval=12s .*log=debug")
            self.assertIn("debug logging is on", log, "the new log level is applied")
            c.ok("ping")

    def test_sighup_refuses_a_broken_file(self):
        # Start at debug: afterwards, debug lines prove the old level stayed.
        with Conductor(config="logLevel: debug\n") as c:
            c.reload("logLevel: error\nconcurency: 3\n")
            log = c.wait_log("config reload refused")
            self.assertIn("%s:2:1: unknown key 'concurency' (did you mean 'concurrency'?)"
                          % c.config_path, log, "the reason is logged with file:line:col")
            self.assertNotIn("configuration reloaded", log)
            c.ok("ping")
            c.wait_log("command ping")  # the server's debug line: still at debug

            c.reload("state: [\n")
            c.wait_log("syntax error")
            c.ok("ping")


class StartupErrors(unittest.TestCase):

    def test_bad_config_file(self):
        with Conductor(start=False) as c:
            c.write_config("logLevel: loud\nenforcement:\n  intervall: 3\n")
            rc, out, err = run_conductord(c.args())
            self.assertEqual(rc, 1, "a bad config file: exit 1\n" + err)
            self.assertIn("%s:1:11: logLevel: bad value 'loud'" % c.config_path, err)
            self.assertIn("%s:3:3: unknown key 'intervall' in enforcement (did you mean "
                          "'interval'?)" % c.config_path, err)
            self.assertFalse(os.path.exists(c.socket_path), "nothing was started")

    def test_missing_config_named_by_flag(self):
        with Conductor(start=False) as c:
            os.unlink(c.config_path)
            rc, out, err = run_conductord(c.args())
            self.assertEqual(rc, 1, err)
            self.assertIn("%s: cannot read the config file: no such file or directory"
                          % c.config_path, err)

    def test_usage_errors(self):
        for args, why in ((["--bogus"], "an unknown flag"),
                          (["--enforce-interval", "soon"], "a bad interval"),
                          (["--enforce-interval", "0"], "a zero interval"),
                          (["--log-level", "chatty"], "a bad log level"),
                          (["extra"], "an argument")):
            rc, out, err = run_conductord(args)
            self.assertEqual(rc, 2, "%s: exit 2, got %d\n%s" % (why, rc, err))
            self.assertIn("conductord", err, why)
        rc, out, err = run_conductord(["--bogus"])
        self.assertIn("usage: conductord", err)

    def test_help_lists_the_flags(self):
        rc, out, err = run_conductord(["--help"])
        self.assertEqual(rc, 0)
        for flag in ("--config", "--socket", "--state-dir", "--planners-dir",
                     "--enforce-interval", "--log-level", "--foreground"):
            self.assertIn(flag, out)

    def test_unreadable_planners_dir(self):
        with Conductor(start=False) as c:
            args = c.args() + ["--planners-dir", os.path.join(c.tmp, "missing")]
            rc, out, err = run_conductord(args)
            self.assertEqual(rc, 1, err)
            self.assertIn("missing", err)

    def test_second_conductor_on_the_same_socket(self):
        with Conductor() as first:
            # Its own state, the first one's socket.
            with Conductor(start=False, args=["--socket", first.socket_path]) as second:
                second.start(wait=False)
                self.assertEqual(second.wait_exit(), 1, "the second daemon exits 1")
                self.assertIn("another conductor is listening", second.log())
                self.assertEqual(second.notify.count("READY"), 0)
            self.assertTrue(os.path.exists(first.socket_path), "the first one's socket stays")
            first.ok("ping")

    def test_second_conductor_on_the_same_state(self):
        with Conductor() as first:
            with Conductor(start=False, args=["--state-dir", first.state_dir]) as second:
                second.start(wait=False)
                self.assertEqual(second.wait_exit(), 1, "the second daemon exits 1")
                self.assertIn("state directory %s is in use by another conductord (pid %d)"
                              % (first.state_dir, first.pid), second.log())
            first.ok("ping")


class Planners(unittest.TestCase):

    def test_broken_planner_is_refused_not_fatal(self):
        with Conductor(planners=[broken_so("abi_major"), broken_so("signature")]) as c:
            c.ok("ping")
            log = c.log()
            self.assertRegex(log, r"planner \S*abi_major\S* refused")
            self.assertRegex(log, r"planner \S*signature\S* refused")


class SocketAbuse(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = Conductor()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def assert_alive(self):
        self.assertTrue(self.c.running(), "the daemon is still running")
        self.c.ok("ping")

    def test_garbage_line(self):
        with self.c.connect() as cl:
            cl.send_raw(b"this is not json\n")
            msg = cl.read_message()
            self.assertIsNotNone(msg, "an error line, not a closed connection")
            self.assertFalse(msg.get("ok"))
            self.assertEqual(msg["error"]["code"], "bad_request")
            # The connection stays usable.
            events, final = cl.request("ping")
            self.assertTrue(final and final.get("ok"), final)
            cl.send_raw(b"\x00\xff\xfe{{{\n")
            msg = cl.read_message()
            self.assertEqual(msg["error"]["code"], "bad_request")
        self.assert_alive()

    def test_unknown_command_and_protocol(self):
        with self.c.connect() as cl:
            events, final = cl.request("fly-to-the-moon")
            self.assertEqual(final["error"]["code"], "unknown_command")
            cl.send_raw(b'{"protocol": 99, "id": "p", "command": "ping"}\n')
            msg = cl.read_message()
            self.assertEqual(msg["error"]["code"], "protocol")
            self.assertEqual(msg.get("id"), "p")
        self.assert_alive()

    def test_huge_request(self):
        cl = self.c.connect()
        payload = b'{"protocol": 1, "id": "h", "command": "ping", "args": {"x": "' + \
            b"a" * (9 * 1024 * 1024) + b'"}}\n'
        try:
            cl.send_raw(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before it has read everything
        msg = None
        try:
            msg = cl.read_message()
        except ConnectionResetError:
            pass
        cl.close()
        self.assertIsNotNone(msg, "a too_large error line before the close")
        self.assertEqual(msg["error"]["code"], "too_large")
        self.assert_alive()

    def test_vanishing_clients(self):
        # Half a request, then gone.
        cl = self.c.connect()
        cl.send_raw(b'{"protocol": 1, "id": "v", "comm')
        cl.close()
        # A whole request, gone before the answer is read.
        for _ in range(10):
            cl = self.c.connect()
            cl.send_raw(b'{"protocol": 1, "id": "v", "command": "ping"}\n')
            cl.close()
        # Connected, nothing sent, reset.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.c.socket_path)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        self.assert_alive()

    def test_many_connections_at_once(self):
        n = 60
        clients = [self.c.connect() for _ in range(n)]
        results = [None] * n
        errors = []

        def ping(i):
            try:
                _, final = clients[i].request("ping")
                results[i] = final
            except Exception as e:  # reported below
                errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=ping, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60 * SLOW)
        for cl in clients:
            cl.close()
        self.assertEqual(errors, [])
        self.assertTrue(all(r and r.get("ok") for r in results),
                        "every one of %d clients answered: %r" % (n, results))
        self.assert_alive()

    def test_slow_writer_gets_its_answer(self):
        with self.c.connect() as cl:
            line = b'{"protocol": 1, "id": "s", "command": "ping"}\n'
            for i in range(0, len(line), 7):
                cl.send_raw(line[i:i + 7])
                time.sleep(0.01)
            msg = cl.read_message()
            self.assertTrue(msg and msg.get("ok"), msg)


if __name__ == "__main__":
    main()
