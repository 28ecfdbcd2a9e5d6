#!/usr/bin/env python3
"""The INSTALLED Fugue against a private moto, as an operator runs it.

    run_installed.py --composition queue.yaml --work DIR

Called by test_packages.sh once the .debs are installed and the
out-of-tree planner is in the installed planners directory. It starts
/usr/sbin/conductord as the fugue user with no path flags at all, so the
packaged defaults are what is tested: /etc/fugue/conductor.yaml, the
installed planners directory, /var/lib/fugue, /run/fugue/conductor.sock
(group fugue). Only the AWS endpoint (moto on 127.0.0.1), dummy keys and a
short enforcement interval come from outside, as an operator would put them
in /etc/fugue/conductor.env. /usr/bin/fugue, with its default socket,
drives it:

  validate, run (an SQS queue pair of the out-of-tree planner and a VPC of
  the installed vpc planner), status, drift made with boto3 and corrected
  by enforcement, who may use the socket (group fugue), kill (nothing left
  in moto), SIGTERM (exit 0).

Prints "ok: ..." / "FAIL: ..." lines (test_packages.sh counts them) and
"run_installed: done" at the end; conductord and moto are stopped whatever
happens.
"""
import argparse
import grp
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from with_moto import MotoError, moto_env, start_moto, stop  # noqa: E402

CONDUCTORD = "/usr/sbin/conductord"
FUGUE = "/usr/bin/fugue"
SOCKET = "/run/fugue/conductor.sock"
STATE_DB = "/var/lib/fugue/conductor.db"
failures = 0


def ok(what):
    print("ok: " + what, flush=True)


def fail(what, detail=""):
    global failures
    failures += 1
    print("FAIL: " + what + (("\n" + detail.rstrip()) if detail else ""), flush=True)


def check(what, cond, detail=""):
    if cond:
        ok(what)
    else:
        fail(what, detail)
    return cond


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    return pred()


def fugue(env, *args, as_user=None, timeout=120):
    """Runs the installed fugue (as root, or through setpriv AS_USER args)."""
    cmd = (as_user or []) + [FUGUE] + list(args)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def find_key(tree, key):
    """The first value of KEY anywhere in a JSON tree (status nests it)."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for v in tree:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--composition", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()

    work = args.work
    comp = os.path.join(work, "queue.yaml")
    shutil.copy(args.composition, comp)
    # Readable by the fugue user: the AWS config and credentials files the
    # environment points at are empty, so only the dummy keys count.
    empty = os.path.join(work, "aws-empty")
    open(empty, "w").close()
    os.chmod(empty, 0o644)
    mlog = open(os.path.join(work, "moto.log"), "w")
    try:
        moto, url = start_moto(None, mlog)
    except MotoError as e:
        fail("moto did not start", str(e))
        print("run_installed: done")
        return 1
    daemon = None
    dlog_path = os.path.join(work, "conductord.log")
    try:
        env = moto_env(url, empty)
        for var in ("FUGUE_CONDUCTOR", "FUGUE_PLANNERS_DIR"):
            env.pop(var, None)
        denv = dict(env, HOME="/var/lib/fugue")
        with open(dlog_path, "w") as dlog:
            daemon = subprocess.Popen(
                ["setpriv", "--reuid=fugue", "--regid=fugue", "--init-groups",
                 CONDUCTORD, "--foreground", "--enforce-interval", "2"],
                env=denv, stdout=dlog, stderr=subprocess.STDOUT, cwd="/")

        def log():
            with open(dlog_path) as f:
                return f.read()

        ready = wait_for(lambda: daemon.poll() is not None or
                         "ready: serving " + SOCKET in log(), 60)
        if not check("installed conductord (user fugue, packaged defaults) is ready on " + SOCKET,
                     ready and daemon.poll() is None, log()):
            return 1
        st = os.stat(SOCKET)
        check("the socket is fugue:fugue, mode 0660",
              (oct(st.st_mode & 0o777), grp.getgrgid(st.st_gid).gr_name) == ("0o660", "fugue"),
              "mode %o gid %d" % (st.st_mode & 0o777, st.st_gid))

        r = fugue(env, "validate", comp)
        check("fugue validate (installed planners, out-of-tree one included)",
              r.returncode == 0 and "3 resources, valid" in r.stdout, r.stdout + r.stderr)

        r = fugue(env, "run", comp)
        check("fugue run: converged", r.returncode == 0 and "converged" in r.stdout,
              r.stdout + r.stderr + log())

        r = fugue(env, "--json", "status", "queues")
        counts = None
        try:
            counts = find_key(json.loads(r.stdout), "counts")
        except ValueError:
            pass
        check("fugue status: 3/3 resources ready", counts == {"ready": 3, "total": 3},
              r.stdout + r.stderr)

        import boto3
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        qurl = sqs.get_queue_url(QueueName="fugue-packaging-jobs")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=qurl, AttributeNames=["All"])["Attributes"]
        tags = sqs.list_queue_tags(QueueUrl=qurl).get("Tags", {})
        check("the queue is in moto as declared, tagged by the Conductor",
              attrs.get("VisibilityTimeout") == "60" and tags.get("fugue:resource") == "jobs"
              and tags.get("team") == "packaging", "%r %r" % (attrs, tags))
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:fugue:resource", "Values": ["net"]}])["Vpcs"]
        check("the VPC is in moto (installed vpc planner)",
              len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "10.42.0.0/16", repr(vpcs))

        # Drift behind the Conductor's back; enforcement (every 2 s) puts it back.
        sqs.set_queue_attributes(QueueUrl=qurl, Attributes={"VisibilityTimeout": "5"})
        back = wait_for(lambda: sqs.get_queue_attributes(
            QueueUrl=qurl, AttributeNames=["VisibilityTimeout"])["Attributes"]
            ["VisibilityTimeout"] == "60", 60)
        check("drift on the out-of-tree type is corrected by enforcement", back, log())
        r = fugue(env, "history", "queues")
        check("fugue history shows the correction", "corrected" in r.stdout, r.stdout + r.stderr)

        # The socket is for the fugue group: nobody is refused, nobody with
        # the group gets in.
        gid = grp.getgrnam("fugue").gr_gid
        outsider = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        member = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=%d" % gid]
        r = fugue(env, "status", as_user=outsider)
        check("a user outside the fugue group cannot use the Conductor (exit 3)",
              r.returncode == 3, "exit %d: %s%s" % (r.returncode, r.stdout, r.stderr))
        r = fugue(env, "status", as_user=member)
        check("a member of the fugue group can", r.returncode == 0 and "queues" in r.stdout,
              "exit %d: %s%s" % (r.returncode, r.stdout, r.stderr))

        r = fugue(env, "kill", "queues", "-y")
        check("fugue kill", r.returncode == 0, r.stdout + r.stderr + log())
        left = [u for u in sqs.list_queues().get("QueueUrls", []) if "fugue-packaging" in u]
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:fugue:resource", "Values": ["net"]}])["Vpcs"]
        check("nothing left in moto after the kill", not left and not vpcs, "%r %r" % (left, vpcs))

        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        check("conductord stops on SIGTERM with status 0", rc == 0, "status %r\n%s" % (rc, log()))
        st = os.stat(STATE_DB)
        check("its state is %s, owned by fugue" % STATE_DB,
              st.st_uid == os.stat("/var/lib/fugue").st_uid and
              grp.getgrgid(st.st_gid).gr_name == "fugue")
    except Exception as e:  # a harness error is a failure with its reason
        fail("run_installed: %s: %s" % (type(e).__name__, e))
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        stop(moto)
        mlog.close()
    print("run_installed: done", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
