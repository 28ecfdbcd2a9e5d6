#!/usr/bin/env python3
"""test_moto_harness.py - Conductor(moto=True): a real conductord with an AWS
client pointed at a private moto, a boto3 client on the same moto, and moto
stopped at close whatever happened.

Run by ctest (which sets FUGUE_CONDUCTORD), or by hand:
    tests/e2e/test_moto_harness.py --conductord build/daemon/conductord
"""

import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import Conductor, HarnessError, main  # noqa: E402


def answers(url):
    try:
        with urllib.request.urlopen(url + "/moto-api/", timeout=2) as r:
            r.read()
            return True
    except Exception:
        return False


class MotoHarness(unittest.TestCase):
    def test_moto_started_used_and_stopped(self):
        with Conductor(moto=True, fake=False) as c:
            self.assertTrue(c.moto_running())
            self.assertTrue(c.moto_url.startswith("http://127.0.0.1:"))
            self.assertNotIn("--no-aws", c.args())
            env = c.environment()
            self.assertEqual(env["AWS_ENDPOINT_URL"], c.moto_url)
            self.assertEqual(env["AWS_REGION"], "us-east-1")
            self.assertEqual(os.path.getsize(env["AWS_CONFIG_FILE"]), 0)
            _, final = c.request("ping")
            self.assertTrue(final["ok"], final)
            ec2 = c.boto3("ec2")
            vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
            ids = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
            self.assertIn(vpc, ids)
            # The daemon made its AWS client (no --no-aws) without complaint.
            self.assertNotIn("no aws client", c.log().lower())
            url, proc = c.moto_url, c._moto_proc
        self.assertFalse(c.moto_running())
        self.assertIsNotNone(proc.poll(), "moto still running after close()")
        self.assertFalse(answers(url))

    def test_moto_stopped_when_the_daemon_fails_to_start(self):
        started = []

        class Recording(Conductor):
            def _start_moto(self):
                super()._start_moto()
                started.append((self._moto_proc, self.moto_url))

        with self.assertRaises(HarnessError):
            Recording(moto=True, fake=False, args=["--no-such-flag"])
        self.assertEqual(len(started), 1)
        proc, url = started[0]
        self.assertIsNotNone(proc.poll(), "moto still running after a failed start")
        self.assertFalse(answers(url))

    def test_boto3_needs_moto(self):
        with Conductor(fake=True) as c:
            self.assertIn("--no-aws", c.args())
            self.assertIsNone(c.moto_url)
            with self.assertRaises(HarnessError):
                c.boto3("ec2")


if __name__ == "__main__":
    main()
