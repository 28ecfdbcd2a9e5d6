#!/usr/bin/env python3
"""test_demo.py - `make demo` (scripts/demo.py) does what the README says:
runs examples/webapp.yaml against moto through a private Conductor, shows
the drift it makes by hand corrected, kills the process, finds nothing left,
and stops the Conductor and moto it started, also when it fails or is
interrupted.

Run by ctest (FUGUE_CONDUCTORD set by tests/CMakeLists.txt: the build
directory is two levels above it), or by hand:
    FUGUE_CONDUCTORD=build/daemon/conductord tests/e2e/test_demo.py [Demo.test_x]
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(TOP, "scripts", "demo.py")


def build_dir():
    conductord = os.environ.get("FUGUE_CONDUCTORD")
    if not conductord:
        raise AssertionError("FUGUE_CONDUCTORD is not set: run through ctest")
    return os.path.dirname(os.path.dirname(os.path.abspath(conductord)))


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def demo_processes(tmp):
    """PIDs of processes whose command line names the demo's directory TMP."""
    out = subprocess.run(["pgrep", "-f", tmp], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) != os.getpid()]


class Demo(unittest.TestCase):
    def start(self, *args):
        env = dict(os.environ)
        env.pop("FUGUE_CONDUCTOR", None)
        return subprocess.Popen([sys.executable, DEMO, "--build", build_dir()] + list(args),
                                cwd=TOP, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def servers(self, output):
        """moto's port and the demo's directory, as the demo printed them."""
        port = re.search(r"moto: http://127\.0\.0\.1:(\d+)", output)
        tmp = re.search(r"conductord: (/\S+)/conductor\.sock", output)
        self.assertTrue(port and tmp, "the demo did not say where moto and conductord run:\n"
                        + output)
        return int(port.group(1)), tmp.group(1)

    def assert_stopped(self, output):
        port, tmp = self.servers(output)
        self.assertFalse(listening(port), "moto still listens on %d after the demo" % port)
        self.assertEqual(demo_processes(tmp), [], "conductord still runs after the demo")

    def test_whole_demo(self):
        p = self.start()
        output, _ = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 0, output)
        for step in ("fugue run examples/webapp.yaml", "fugue status webapp",
                     "aws ec2 revoke-security-group-ingress",
                     "aws elb deregister-instances-from-load-balancer",
                     "aws lambda update-function-configuration",
                     "fugue history webapp", "fugue kill webapp -y", "demo done"):
            self.assertIn(step, output)
        # every resource of the composition converged, the drift was corrected
        self.assertRegex(output, r"process webapp converged: \d+ resources ready")
        self.assertRegex(output, r"drift in \d+ resources? .*: corrected")
        self.assertIn("lb-sg allows HTTP: yes; web-2 registered: yes; api timeout: 10 s",
                      output)
        self.assertRegex(output, r"process webapp killed: \d+ resources deleted")
        counts = re.findall(r"^    (\w[\w ()]+?)\s+(\d+)$", output, re.M)
        self.assertGreaterEqual(len(counts), 10, output)
        self.assertTrue(all(n == "0" for _, n in counts), counts)
        self.assert_stopped(output)
        # the temporary directory is gone without --keep
        _, tmp = self.servers(output)
        self.assertFalse(os.path.exists(tmp))

    def test_interrupted_stops_everything(self):
        p = self.start()
        lines = []
        deadline = time.monotonic() + 120
        for line in p.stdout:
            lines.append(line)
            if line.startswith("create ") or time.monotonic() > deadline:
                break
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=120)
        output = "".join(lines) + rest
        self.assertEqual(p.returncode, 1, output)
        self.assertIn("demo: interrupted", output)
        self.assert_stopped(output)

    def test_missing_build_fails_and_stops_moto(self):
        empty = tempfile.mkdtemp(prefix="fugue-demo-test-")
        env = dict(os.environ)
        p = subprocess.run([sys.executable, DEMO, "--build", empty], cwd=TOP, env=env,
                           capture_output=True, text=True, timeout=120)
        output = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, output)
        self.assertIn("conductord is missing: build first (make)", output)
        port = int(re.search(r"moto: http://127\.0\.0\.1:(\d+)", output).group(1))
        self.assertFalse(listening(port))
        kept = re.search(r"kept (/\S+) ", output)
        self.assertTrue(kept, "a failed demo keeps its logs and says where:\n" + output)
        shutil.rmtree(kept.group(1))
        os.rmdir(empty)


if __name__ == "__main__":
    unittest.main(verbosity=2)
