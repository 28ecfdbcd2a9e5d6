"""conductor.py - a private conductord for end-to-end tests.

    from conductor import Conductor, main

    class T(unittest.TestCase):
        def test_ping(self):
            with Conductor() as c:                 # started, READY=1 seen
                events, final = c.request("ping")
                self.assertTrue(final["ok"])
            # leaving the block: SIGTERM, exit status 0 asserted, temp dirs removed

    if __name__ == "__main__":
        main()                                     # unittest.main with our flags

A Conductor runs the real binary with everything private: a state
directory, a socket and a planners directory (holding a link to the fake
planner, plus any other .so asked for) in one temporary directory, the fake
service's directory (FUGUE_FAKE_DIR) in another, a config file of its own
(--config; empty unless given), --foreground (logs to a file, see log()),
--no-aws, and --enforce-interval when asked.

It plays systemd: NOTIFY_SOCKET is an AF_UNIX datagram socket the harness
reads, so READY=1 / STATUS= / WATCHDOG=1 / RELOADING=1 / STOPPING=1 are both
how the harness knows the daemon is up and something tests can assert on
(notifications). Pass watchdog_usec to set WATCHDOG_USEC.

Binaries come from the environment (set by tests/CMakeLists.txt) or from
main()'s flags: FUGUE_CONDUCTORD (--conductord), FUGUE_TEST_FAKE_SO
(--fake-so), FUGUE_TEST_BROKEN_<NAME> (the broken planners).

With moto=True the daemon talks to a private moto server instead (started
on a free 127.0.0.1 port by with_moto.py's code, stopped at close() whatever
happened): no --no-aws; AWS_ENDPOINT_URL, dummy keys, AWS_REGION=us-east-1
and empty AWS config/credentials files in its environment. c.moto_url is
the endpoint and c.boto3("ec2") a boto3 client on it, for checks and for
making drift behind the Conductor's back:

    with Conductor(moto=True, fake=False, planners=[vpc_so]) as c:
        c.ok("run", {...})
        vpcs = c.boto3("ec2").describe_vpcs()["Vpcs"]

FUGUE_TEST_WRAPPER (e.g. "valgrind --error-exitcode=99 ...") is put in front
of the daemon; every timeout is then multiplied by SLOW. A clean stop
(SIGTERM) must end in exit status 0, so a leak or a memory error reported
by the wrapper fails the test that stopped the daemon.

Only the standard library (boto3 and moto for moto=True); Python 3.9+.
"""

import atexit
import fcntl
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

WRAPPER = os.environ.get("FUGUE_TEST_WRAPPER", "").strip()
# valgrind makes the daemon 10-50 times slower; a timeout is an upper bound,
# never a measurement, so be generous.
SLOW = 20 if WRAPPER else 1

_live = set()  # Conductors not closed yet, stopped at exit whatever happened



def wait_until(what, pred, timeout=30, interval=0.05):
    """Polls PRED until it returns something true and returns that; raises
    HarnessError naming WHAT after TIMEOUT seconds (times SLOW under a
    wrapper such as valgrind)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError("timed out waiting for " + what)
        time.sleep(interval)

def _stop_all():
    for c in list(_live):
        c.close(check=False)


atexit.register(_stop_all)


class HarnessError(AssertionError):
    """Something the test expected did not happen; the message says what."""


def conductord_path():
    path = os.environ.get("FUGUE_CONDUCTORD")
    if not path:
        raise HarnessError("FUGUE_CONDUCTORD is not set: run through ctest or pass --conductord")
    return path


def fake_so():
    path = os.environ.get("FUGUE_TEST_FAKE_SO")
    if not path:
        raise HarnessError("FUGUE_TEST_FAKE_SO is not set: run through ctest or pass --fake-so")
    return path


def broken_so(name):
    """The broken test planner NAME (abi_major, signature, no_entry, ...):
    FUGUE_TEST_BROKEN_<NAME>, else where the build puts it next to the fake."""
    var = "FUGUE_TEST_BROKEN_" + name
    path = os.environ.get(var)
    if path:
        return path
    path = os.path.join(os.path.dirname(os.path.abspath(fake_so())), "broken",
                        "fugue_broken_%s.so" % name)
    if not os.path.exists(path):
        raise HarnessError("%s is not set and %s does not exist: run through ctest"
                           % (var, path))
    return path


def command(args):
    """The argv running conductord with ARGS, behind the wrapper if any."""
    return shlex.split(WRAPPER) + [conductord_path()] + list(args)


def run_conductord(args, env=None, timeout=30):
    """Runs conductord ARGS to its end (for usage and config errors).
    Returns (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("NOTIFY_SOCKET", None)
    full_env.update(env or {})
    p = subprocess.run(command(args), env=full_env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def _with_moto():
    """tests/tools/with_moto.py, whose moto code the harness shares."""
    if "with_moto" not in sys.modules:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        try:
            import with_moto  # noqa: F401
        finally:
            sys.path.pop(0)
    return sys.modules["with_moto"]


def _tmpdir(prefix):
    # AF_UNIX paths are limited to 108 bytes: a long TMPDIR falls back to /tmp.
    base = os.environ.get("TMPDIR", "/tmp")
    if len(base) > 40:
        base = "/tmp"
    return tempfile.mkdtemp(prefix=prefix, dir=base)


# --- systemd's side -----------------------------------------------------------

class Notifications:
    """The NOTIFY_SOCKET end: every datagram, parsed into a dict of
    assignments (plus "_raw"), in arrival order."""

    def __init__(self, path):
        self.path = path
        self.messages = []
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._sock.settimeout(0.1)
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        # Stops only once closed AND drained, so nothing sent before the
        # daemon exited is lost.
        while True:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                if self._closed:
                    return
                continue
            except OSError:
                return
            msg = {"_raw": data.decode("utf-8", "replace")}
            for line in msg["_raw"].split("\n"):
                if "=" in line:
                    key, value = line.split("=", 1)
                    msg[key] = value
            with self._cond:
                self.messages.append(msg)
                self._cond.notify_all()

    def count(self, key, value=None, start=0):
        with self._cond:
            return sum(1 for m in self.messages[start:]
                       if key in m and (value is None or m[key] == value))

    def wait_for(self, key, value=None, timeout=10, start=0, alive=None, match=None):
        """The first message from index START holding KEY (=VALUE when
        given; matching the regular expression MATCH when given). Raises
        HarnessError after TIMEOUT seconds (times SLOW), or as soon as
        ALIVE() says the daemon died."""
        deadline = time.monotonic() + timeout * SLOW
        with self._cond:
            while True:
                for m in self.messages[start:]:
                    if key in m and (value is None or m[key] == value) and \
                            (match is None or re.search(match, m[key])):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("no %s%s from the daemon within %ss; got %r" % (
                        key, "=" + (value or "/%s/" % match) if value or match else "",
                        timeout * SLOW, [m["_raw"] for m in self.messages]))
                if alive is not None and not alive():
                    raise HarnessError("the daemon exited before sending %s" % key)
                self._cond.wait(min(left, 0.2))

    def mark(self):
        """The index the next message will have (for wait_for's START)."""
        with self._cond:
            return len(self.messages)

    def close(self):
        self._closed = True
        self._thread.join()
        self._sock.close()


# --- the socket protocol ----------------------------------------------------------

class Client:
    """One connection to the daemon's socket. Messages are JSON lines."""

    _ids = itertools.count(1)

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect(path)
        self._buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_message(self):
        """The next message as a dict, or None at end of file. Raises
        socket.timeout when nothing comes in time."""
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, command, args=None, on_event=None, request_id=None):
        """Sends one request; returns (events, final). ON_EVENT(event) is
        called as each event arrives. FINAL is None when the connection
        closed first (the daemon died, or closed us)."""
        if request_id is None:
            request_id = "t%d" % next(Client._ids)
        req = {"protocol": 1, "id": request_id, "command": command, "args": args or {}}
        self.send_raw(json.dumps(req).encode() + b"\n")
        events = []
        while True:
            msg = self.read_message()
            if msg is None:
                return events, None
            if "ok" in msg:
                return events, msg
            events.append(msg)
            if on_event is not None:
                on_event(msg)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- the fake service -------------------------------------------------------------

class FakeService:
    """The fake planner's cloud: a directory (see
    tests/planners/fake/fake_planner.c). Edits take the service's lock, so
    they are safe while the daemon runs: this is how tests make drift."""

    def __init__(self, path):
        self.path = path

    def _locked(self):
        lock = open(os.path.join(self.path, "_lock"), "a+")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def _read_json(self, name, default):
        try:
            with open(os.path.join(self.path, name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return default

    def _write_json(self, name, value):
        tmp = os.path.join(self.path, "." + name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(value, f)
        os.rename(tmp, os.path.join(self.path, name))

    def resources(self, type_name=None):
        """Every resource (dicts as stored), optionally of one type."""
        with self._locked():
            out = []
            for name in sorted(os.listdir(self.path)):
                if name.startswith(("_", ".")) or not name.endswith(".json"):
                    continue
                r = self._read_json(name, None)
                if r is not None and (type_name is None or r.get("type") == type_name):
                    out.append(r)
            return out

    def resource(self, rid):
        return self._read_json(rid + ".json", None)

    def write_resource(self, res):
        """Replaces a resource behind the Conductor's back (drift)."""
        with self._locked():
            self._write_json(res["id"] + ".json", res)

    def delete_resource(self, rid):
        """Deletes a resource behind the Conductor's back (drift)."""
        with self._locked():
            try:
                os.unlink(os.path.join(self.path, rid + ".json"))
            except FileNotFoundError:
                pass

    def calls(self):
        """{"create": {"Fake.Net.Network": 2}, ...}"""
        with self._locked():
            return self._read_json("_calls.json", {})

    def reset_calls(self):
        with self._locked():
            self._write_json("_calls.json", {})

    def set_faults(self, faults):
        """Replaces _faults.json (see the planner's header for the format)."""
        with self._locked():
            self._write_json("_faults.json", faults)

    def faults(self):
        with self._locked():
            return self._read_json("_faults.json", {})

    def clear_faults(self):
        self.set_faults({})


# --- the daemon ---------------------------------------------------------------------

class Conductor:
    """A private conductord. Arguments (all optional):

    planners         extra .so paths to link into the planners directory
                     (the fake planner is always there unless fake=False)
    enforce_interval seconds, passed as --enforce-interval
    config           text of the config file (default: empty)
    args             more command-line arguments
    env              more environment variables
    watchdog_usec    sets WATCHDOG_USEC (systemd's watchdog)
    start            start at once and wait for READY=1 (default True)
    fake             link the fake planner (default True)
    moto             run against a private moto server (see the module doc)
    """

    def __init__(self, planners=(), enforce_interval=None, config="", args=(), env=None,
                 watchdog_usec=None, start=True, fake=True, moto=False):
        self.tmp = _tmpdir("fugue-e2e-")
        self.fake_dir = _tmpdir("fugue-fake-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.socket_path = os.path.join(self.tmp, "run", "conductor.sock")
        self.planners_dir = os.path.join(self.tmp, "planners")
        self.config_path = os.path.join(self.tmp, "conductor.yaml")
        self.log_path = os.path.join(self.tmp, "conductord.log")
        self.fake = FakeService(self.fake_dir)
        self.extra_args = list(args)
        self.extra_env = dict(env or {})
        self.enforce_interval = enforce_interval
        self.watchdog_usec = watchdog_usec
        self.proc = None
        self.returncode = None
        self._log_file = None
        self._closed = False
        self.moto = moto
        self.moto_url = None
        self._moto_proc = None
        self._moto_log = None
        os.mkdir(self.planners_dir)
        if fake:
            os.symlink(os.path.abspath(fake_so()), os.path.join(self.planners_dir, "fugue_fake.so"))
        for i, so in enumerate(planners):
            os.symlink(os.path.abspath(so),
                       os.path.join(self.planners_dir, "%02d_%s" % (i, os.path.basename(so))))
        self.write_config(config)
        self.notify = Notifications(os.path.join(self.tmp, "notify"))
        _live.add(self)
        try:
            if moto:
                self._start_moto()
            if start:
                self.start()
        except BaseException:
            self.close(check=False)
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # A failing test must not be hidden by a second failure at stop.
        self.close(check=exc_type is None)

    # -- setup ---------------------------------------------------------------

    def _start_moto(self):
        with_moto = _with_moto()
        self._moto_log = open(os.path.join(self.tmp, "moto.log"), "w")
        try:
            self._moto_proc, self.moto_url = with_moto.start_moto(None, self._moto_log)
        except with_moto.MotoError as e:
            raise HarnessError(str(e)) from None
        self._aws_empty = os.path.join(self.tmp, "aws-empty")
        open(self._aws_empty, "w").close()

    def _stop_moto(self):
        if self._moto_proc is not None:
            _with_moto().stop(self._moto_proc)
            self._moto_proc = None
        if self._moto_log:
            self._moto_log.close()
            self._moto_log = None

    def moto_running(self):
        """Whether the private moto server is still up."""
        return self._moto_proc is not None and self._moto_proc.poll() is None

    def boto3(self, service):
        """A boto3 client for SERVICE on the private moto (moto=True only)."""
        if not self.moto_url:
            raise HarnessError("boto3(): this Conductor was not started with moto=True")
        import boto3
        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def args(self):
        """The daemon's arguments (without the wrapper and the binary)."""
        args = ["--config", self.config_path, "--socket", self.socket_path,
                "--state-dir", self.state_dir, "--planners-dir", self.planners_dir,
                "--foreground"]
        if not self.moto:
            args.append("--no-aws")
        if self.enforce_interval is not None:
            args += ["--enforce-interval", str(self.enforce_interval)]
        return args + self.extra_args

    def argv(self):
        return command(self.args())

    def environment(self):
        env = dict(os.environ)
        for var in ("JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                    "FUGUE_PLANNERS_DIR"):
            env.pop(var, None)
        env["NOTIFY_SOCKET"] = self.notify.path
        env["FUGUE_FAKE_DIR"] = self.fake_dir
        if self.watchdog_usec:
            env["WATCHDOG_USEC"] = str(self.watchdog_usec)
        if self.moto:
            # Per-service overrides would send a call past our moto.
            for var in [v for v in env if v.startswith("AWS_ENDPOINT_URL_")]:
                env.pop(var)
            env.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)
            env = _with_moto().moto_env(self.moto_url, self._aws_empty, env)
            env["AWS_REGION"] = "us-east-1"
        env.update(self.extra_env)
        return env

    # -- lifecycle ---------------------------------------------------------------

    def start(self, wait=True, timeout=30):
        """Starts the daemon; with WAIT, returns after READY=1."""
        if self.running():
            raise HarnessError("the daemon is already running")
        mark = self.notify.mark()
        self._log_file = open(self.log_path, "a")
        self._log_file.write("--- start: %s\n" % " ".join(self.argv()))
        self._log_file.flush()
        self.returncode = None
        self.proc = subprocess.Popen(self.argv(), env=self.environment(),
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout, start=mark)

    def wait_ready(self, timeout=30, start=0):
        try:
            return self.notify.wait_for("READY", "1", timeout, start=start, alive=self.running)
        except HarnessError as e:
            raise HarnessError("%s\n--- daemon log:\n%s" % (e, self.log())) from None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=60):
        """Waits for the daemon to end; returns its exit status."""
        try:
            self.returncode = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise HarnessError("the daemon did not exit within %ss\n--- daemon log:\n%s"
                               % (timeout * SLOW, self.log())) from None
        self._log_file.close()
        return self.returncode

    def stop(self, check=True, timeout=60):
        """SIGTERM and wait. With CHECK, asserts exit status 0 (a wrapper's
        leak report is a nonzero status). Returns the status."""
        if not self.running():
            status = self.proc.wait() if self.proc else None
            if check and status not in (None, 0):
                raise HarnessError("the daemon had already exited with status %s\n"
                                   "--- daemon log:\n%s" % (status, self.log()))
            return status
        self.signal(signal.SIGTERM)
        status = self.wait_exit(timeout)
        if check and status != 0:
            raise HarnessError("the daemon exited with status %d after SIGTERM, expected 0\n"
                               "--- daemon log:\n%s" % (status, self.log()))
        return status

    def kill9(self):
        """SIGKILL: a crash. The state and the fake service stay."""
        if self.running():
            self.proc.kill()
            self.wait_exit()

    def restart(self, wait=True, timeout=30):
        """Stops (SIGTERM, checked) if running, then starts again on the
        same state, socket and fake service."""
        if self.running():
            self.stop()
        self.start(wait, timeout)

    def reload(self, config=None, timeout=30):
        """Writes CONFIG (when given), sends SIGHUP and waits for the
        RELOADING=1 / READY=1 pair. Returns the READY message."""
        if config is not None:
            self.write_config(config)
        mark = self.notify.mark()
        self.signal(signal.SIGHUP)
        self.notify.wait_for("RELOADING", "1", timeout, start=mark, alive=self.running)
        return self.notify.wait_for("READY", "1", timeout, start=mark, alive=self.running)

    def close(self, check=True):
        """Stops the daemon (CHECK: exit status 0) and removes the temp dirs."""
        if self._closed:
            return
        self._closed = True
        _live.discard(self)
        try:
            if self.proc is not None and self.running():
                if check:
                    self.stop(check=True)
                else:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            if self._log_file:
                self._log_file.close()
            self._stop_moto()
            self.notify.close()
            if os.environ.get("FUGUE_KEEP_TMP"):
                sys.stderr.write("kept %s and %s\n" % (self.tmp, self.fake_dir))
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
                shutil.rmtree(self.fake_dir, ignore_errors=True)

    # -- talking -------------------------------------------------------------------

    def connect(self, timeout=30):
        return Client(self.socket_path, timeout)

    def request(self, command, args=None, on_event=None, timeout=60):
        """One request on a fresh connection: (events, final)."""
        with self.connect(timeout) as client:
            return client.request(command, args, on_event)

    def ok(self, command, args=None, on_event=None, timeout=60):
        """A request that must succeed: returns its result."""
        events, final = self.request(command, args, on_event, timeout)
        if final is None or not final.get("ok"):
            raise HarnessError("%s %r: expected ok, got %r" % (command, args, final))
        return final.get("result", {})

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=10):
        """Waits until TEXT is in the daemon's log; returns the log."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            log = self.log()
            if text in log:
                return log
            if time.monotonic() > deadline:
                raise HarnessError("%r not in the daemon log within %ss:\n%s"
                                   % (text, timeout * SLOW, log))
            time.sleep(0.05)


def main():
    """unittest.main, after taking --conductord PATH and --fake-so PATH off
    the command line (they set FUGUE_CONDUCTORD / FUGUE_TEST_FAKE_SO)."""
    argv = [sys.argv[0]]
    rest = sys.argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--conductord" and rest:
            os.environ["FUGUE_CONDUCTORD"] = rest.pop(0)
        elif arg == "--fake-so" and rest:
            os.environ["FUGUE_TEST_FAKE_SO"] = rest.pop(0)
        else:
            argv.append(arg)
    unittest.main(argv=argv, verbosity=2)
