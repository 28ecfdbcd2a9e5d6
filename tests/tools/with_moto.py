#!/usr/bin/env python3
"""Run a command against a private moto server on a free loopback port.

    with_moto.py [--auth N] [--log FILE] -- COMMAND [ARGS...]

Starts `python3 -m moto.server -H 127.0.0.1 -p PORT`, waits until it
answers, runs COMMAND with the endpoint and dummy credentials in its
environment, then stops moto whatever happened, and exits with COMMAND's
status. With --auth N, moto verifies signatures and permissions after its
first N requests (INITIAL_NO_AUTH_ACTION_COUNT), so tests can see a bad
signature rejected.

Environment given to COMMAND:
  FUGUE_TEST_MOTO_ENDPOINT  http://127.0.0.1:PORT
  AWS_ENDPOINT_URL          the same (how the SDK is pointed at moto)
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY  dummy keys
  AWS_REGION                us-east-1 unless already set
  AWS_EC2_METADATA_DISABLED true (no IMDS probing in tests)
  AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE  /dev/null-like empty files
If FUGUE_TEST_WRAPPER is set (e.g. "valgrind --error-exitcode=99 ..."),
COMMAND runs under it.

Fails loudly (exit 1 with the reason) if moto is missing or does not start.

tests/tools/conductor.py imports start_moto, moto_env and stop from here
(Conductor(moto=True)); start_moto raises MotoError, which main() turns
into the exit.
"""
import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


class MotoError(RuntimeError):
    """moto is missing or did not start; the message says why."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1) as r:
                r.read()
                return True
        except Exception:
            time.sleep(0.1)
    return False


def start_moto(auth, log):
    try:
        import moto.server  # noqa: F401
    except Exception as e:  # pragma: no cover - the message is the point
        raise MotoError("with_moto: moto is not installed for %s (%s); install it with "
                        "'pip install \"moto[server]\"'" % (sys.executable, e)) from None
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    if auth is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth)
    for attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        url = "http://127.0.0.1:%d" % port
        if wait_ready(url, proc, time.monotonic() + 60):
            return proc, url
        stop(proc)
    log.flush()
    raise MotoError("with_moto: moto did not start on 127.0.0.1 (see %s)" % log.name)


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def moto_env(url, empty, base=None):
    """BASE (default os.environ) pointed at moto at URL with dummy keys;
    EMPTY is an empty file standing for the AWS config and credentials."""
    env = dict(os.environ if base is None else base)
    env.update({
        "FUGUE_TEST_MOTO_ENDPOINT": url,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": empty,
        "AWS_SHARED_CREDENTIALS_FILE": empty,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    env.setdefault("AWS_REGION", "us-east-1")
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auth", type=int, default=None)
    ap.add_argument("--log", default=None)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        ap.error("no command")
    tmp = tempfile.mkdtemp(prefix="fugue-moto-")
    log = open(args.log or os.path.join(tmp, "moto.log"), "w")
    try:
        proc, url = start_moto(args.auth, log)
    except MotoError as e:
        sys.exit(str(e))
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    env = moto_env(url, empty)
    wrapper = shlex.split(os.environ.get("FUGUE_TEST_WRAPPER", ""))
    rc = 1
    try:
        rc = subprocess.call(wrapper + cmd, env=env)
    finally:
        stop(proc)
        log.close()
    if rc != 0:
        print("with_moto: %s exited %d (moto log: %s)" % (cmd[0], rc, log.name), file=sys.stderr)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
