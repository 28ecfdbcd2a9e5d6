#!/usr/bin/env python3
"""test_cli.py - the real `fugue` binary against a real conductord running
the fake planner: every command's human and JSON output, exit codes, bad
arguments, an unreachable or wrong-version Conductor, piped vs. terminal
output (a pseudo-terminal), Ctrl-C during `run`, `init`, offline `validate`
and `graph`, the man page and the bash completion.

FUGUE_TEST_WRAPPER (valgrind under `make valgrind`) wraps fugue as well as
the daemon: fugue must be leak-free too (the wrapper's --error-exitcode
turns a leak into a wrong exit status).

Run by ctest, or by hand:
    FUGUE_CLI=build/cli/fugue tests/cli/test_cli.py \\
        --conductord build/daemon/conductord \\
        --fake-so build/tests/planners/fugue_fake.so [Online.test_name]
"""

import errno
import fcntl
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "tools"))

from conductor import Conductor, fake_so, HarnessError, main, SLOW, wait_until, WRAPPER  # noqa: E402

ESC = "\x1b["
# A colour (SGR) sequence; a terminal also gets \x1b[K for the live line, which is no colour.
SGR = re.compile(r"\x1b\[[0-9;]*m")
FID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ARROW = r"(?:->|→)"


def on_screen(out):
    """OUT as a terminal leaves it: colours gone, and of each line only what
    follows its last carriage return (the live progress line is redrawn in
    place, and a slow run, under valgrind, may draw it before the plan)."""
    lines = SGR.sub("", out).replace("\x1b[K", "").split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines)

COMMANDS = ["init", "run", "status", "update", "history", "suspend", "resume", "kill",
            "release", "property", "runtime", "validate", "graph"]

WEB = """composition: web
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

# WEB changed four ways: net renamed (~ update), sub's cidr (-/+ replace,
# forcing srv to follow), srv gone (- delete), srv2 new (+ create).
WEB2 = """composition: web
tags: {team: web}
resources:
  net:
    type: Fake.Net.Network
    cidr: 10.0.0.0/16
    name: prod
  sub:
    type: Fake.Net.Subnet
    network: !ref net
    cidr: 10.0.2.0/24
  srv2:
    type: Fake.Compute.Server
    subnet: !ref sub
    size: medium
"""

# Only net renamed and a new subnet: exactly one update and one create.
WEB3 = """composition: web
tags: {team: web}
resources:
  net:
    type: Fake.Net.Network
    cidr: 10.0.0.0/16
    name: prod
  sub:
    type: Fake.Net.Subnet
    network: !ref net
    cidr: 10.0.1.0/24
  sub2:
    type: Fake.Net.Subnet
    network: !ref net
    cidr: 10.0.3.0/24
  srv:
    type: Fake.Compute.Server
    subnet: !ref sub
    size: small
    password: hunter2-secret
"""

# Errors only the planners' schemas can find: line:col matter.
BAD = """composition: bad
resources:
  net:
    type: Fake.Net.Network
    cidr: 10.0.0.0/16
    nmae: main
  sub:
    type: Fake.Net.Subnt
    network: !ref net
  srv:
    type: Fake.Compute.Server
    subnet: !ref sbu
    size: huge
"""

# Compositions of the shared corpus whose errors come before any planner
# is asked (they are the same whatever the planners): NAME -> exit status
# checked only as "not 0".
CORPUS_STRUCTURAL = ["syntax_error", "tab_indent", "not_mapping", "empty",
                     "no_resources", "unknown_top_key"]


def fugue_path():
    path = os.environ.get("FUGUE_CLI")
    if not path:
        raise HarnessError("FUGUE_CLI is not set: run through ctest or set it to build/cli/fugue")
    return path


def fugue_argv(args):
    return shlex.split(WRAPPER) + [fugue_path()] + list(args)


def base_env(conductor=None, **extra):
    """A clean environment: none of the user's fugue settings, no NO_COLOR,
    a UTF-8 locale; FUGUE_CONDUCTOR names CONDUCTOR's socket when given."""
    env = dict(os.environ)
    for var in ("NO_COLOR", "FUGUE_CONDUCTOR", "FUGUE_PLANNERS_DIR", "CLICOLOR_FORCE",
                "FORCE_COLOR", "COLUMNS"):
        env.pop(var, None)
    env["LC_ALL"] = "C.UTF-8"
    env["TERM"] = "xterm"
    if conductor is not None:
        env["FUGUE_CONDUCTOR"] = conductor.socket_path
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def both(self):
        return self.out + self.err

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError("fugue %s: stdout is not one JSON document (%s):\n%s\n"
                                 "--- stderr:\n%s" % (" ".join(self.args), e, self.out, self.err))

    def __repr__(self):
        return "fugue %s -> %d\n--- stdout:\n%s--- stderr:\n%s" % (
            " ".join(self.args), self.rc, self.out, self.err)


def fugue(args, conductor=None, env=None, cwd=None, input=None, timeout=60):
    """Runs fugue ARGS with stdout and stderr piped (stdin: INPUT or
    /dev/null). Returns a Result."""
    full_env = base_env(conductor)
    full_env.update(env or {})
    for k in [k for k, v in full_env.items() if v is None]:
        del full_env[k]
    p = subprocess.run(fugue_argv(args), env=full_env, cwd=cwd,
                       input=input if input is not None else None,
                       stdin=subprocess.DEVNULL if input is None else None,
                       capture_output=True, text=True, timeout=timeout * SLOW)
    return Result(args, p.returncode, p.stdout, p.stderr)


class Pty:
    """fugue on a pseudo-terminal: stdin, stdout and stderr are the terminal
    (120 columns; no \\n -> \\r\\n translation, so a \\r in the output is
    fugue's own)."""

    def __init__(self, args, env, cwd=None):
        self.args = args
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.proc = subprocess.Popen(fugue_argv(args), env=env, cwd=cwd, stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.data = b""

    def read_until(self, pred, timeout):
        """Reads until PRED(text so far) or end of output; returns the text."""
        deadline = time.monotonic() + timeout * SLOW
        while not pred(self.text()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("fugue %s: timed out on the terminal; got %r"
                                   % (" ".join(self.args), self.text()))
            r, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if not r:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError as e:
                if e.errno == errno.EIO:  # every slave end closed: the child ended
                    break
                raise
            if not chunk:
                break
            self.data += chunk
        return self.text()

    def write(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=60):
        """Reads to the end; returns (exit status, output)."""
        self.read_until(lambda t: False if self.proc.poll() is None else self._drained(),
                        timeout)
        self.read_until(lambda t: self._drained(), timeout)
        rc = self.proc.wait(timeout * SLOW)
        os.close(self.master)
        return rc, self.text()

    def _drained(self):
        r, _, _ = select.select([self.master], [], [], 0)
        if not r:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return True
        if not chunk:
            return True
        self.data += chunk
        return False

    def text(self):
        return self.data.decode("utf-8", "replace")


def on_pty(args, conductor=None, env=None, cwd=None, timeout=60):
    e = base_env(conductor)
    e.update(env or {})
    t = Pty(args, e, cwd)
    return t.finish(timeout)


def lines_matching(text, pattern):
    return [ln for ln in text.splitlines() if re.search(pattern, ln)]


class TmpDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="fugue-cli-")

    def write(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def planners_dir(tmp):
    """A planners directory holding only the fake planner."""
    d = os.path.join(tmp.path, "planners")
    os.mkdir(d)
    os.symlink(os.path.abspath(fake_so()), os.path.join(d, "fugue_fake.so"))
    return d


# ==== without a Conductor ==========================================================

class Usage(unittest.TestCase):
    """Help, version and usage errors (exit 2): no Conductor needed."""

    def test_help_lists_every_command(self):
        r = fugue(["--help"])
        self.assertEqual(r.rc, 0, r)
        for cmd in COMMANDS:
            self.assertRegex(r.out, r"(?m)^\s+%s\b" % cmd, "fugue --help lists %s" % cmd)
        for opt in ("--json", "--conductor", "--no-color"):
            self.assertIn(opt, r.out)

    def test_every_command_has_help(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                r = fugue([cmd, "--help"])
                self.assertEqual(r.rc, 0, r)
                self.assertRegex(r.out, r"(?i)usage:\s*fugue %s\b" % cmd, r)
                self.assertEqual(r.err, "", "help goes to stdout")
                # -h too, and --help wins over a missing argument
                r2 = fugue([cmd, "-h"])
                self.assertEqual(r2.rc, 0, r2)
                self.assertEqual(r2.out, r.out)

    def test_help_command(self):
        r = fugue(["help", "kill"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, fugue(["kill", "--help"]).out)
        r = fugue(["help", "stauts"])
        self.assertEqual(r.rc, 2, r)
        self.assertIn("status", r.err)

    def test_version(self):
        r = fugue(["--version"])
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^fugue \S*\d+\.\d+")

    def test_unknown_command_did_you_mean(self):
        r = fugue(["stauts"])
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "")
        self.assertIn("stauts", r.err)
        self.assertRegex(r.err, r"did you mean .*\bstatus\b")
        r = fugue(["frobnicate"])
        self.assertEqual(r.rc, 2, r)
        self.assertIn("frobnicate", r.err)
        self.assertNotIn("did you mean", r.err)

    def test_no_command(self):
        r = fugue([])
        self.assertEqual(r.rc, 2, r)
        self.assertIn("usage", r.both.lower())

    def test_missing_arguments(self):
        for args in (["run"], ["update", "web"], ["update"], ["history"], ["suspend"],
                     ["resume"], ["kill", "-y"], ["release", "-y"], ["property"],
                     ["runtime"], ["runtime", "get"], ["runtime", "set", "concurrency"],
                     ["runtime", "unset"], ["validate"], ["graph"]):
            with self.subTest(args=args):
                r = fugue(args, env={"FUGUE_CONDUCTOR": "/nonexistent/c.sock"})
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertIn("fugue %s --help" % args[0], r.err, "the hint names the help")

    def test_extra_arguments(self):
        for args in (["status", "a", "b"], ["suspend", "a", "b"], ["init", "x"],
                     ["runtime", "list", "x"], ["property", "a", "lock", "on"]):
            with self.subTest(args=args):
                r = fugue(args, env={"FUGUE_CONDUCTOR": "/nonexistent/c.sock"})
                self.assertEqual(r.rc, 2, r)

    def test_bad_options(self):
        for args in (["status", "--bogus"], ["run", "x.yaml", "--no-wiat"], ["kill", "web", "-q"],
                     ["--frob", "status"], ["history", "web", "-n", "abc"],
                     ["history", "web", "-n", "-3"], ["runtime", "frobnicate"],
                     ["property", "web", "colour"], ["--conductor"]):
            with self.subTest(args=args):
                r = fugue(args, env={"FUGUE_CONDUCTOR": "/nonexistent/c.sock"})
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertEqual(len(r.err.strip().splitlines()) <= 3, True,
                                 "a short error:\n" + r.err)

    def test_unknown_command_json(self):
        # --json does not change the exit code; stdout stays a JSON document or empty.
        r = fugue(["--json", "stauts"])
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "", "a usage error prints no document")


class Unreachable(unittest.TestCase):
    """Exit 3 with a reason and a hint."""

    def test_no_socket(self):
        with TmpDir() as t:
            path = os.path.join(t.path, "nothing.sock")
            for how in ("env", "flag"):
                with self.subTest(how=how):
                    if how == "env":
                        r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
                    else:
                        r = fugue(["--conductor", path, "status"])
                    self.assertEqual(r.rc, 3, r)
                    self.assertEqual(r.out, "")
                    self.assertIn(path, r.err)
                    self.assertIn("hint", r.err)
                    self.assertIn("FUGUE_CONDUCTOR" if how == "env" else "--conductor", r.err,
                                  "the hint says where the path came from")

    def test_not_listening(self):
        # A socket file nobody listens on (a crashed Conductor): how to start it.
        with TmpDir() as t:
            path = os.path.join(t.path, "stale.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.close()
            r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
            self.assertEqual(r.rc, 3, r)
            self.assertIn(path, r.err)
            self.assertRegex(r.err, r"conductord|systemctl")

    def test_permission_denied(self):
        # A socket of mode 0660 (as the Conductor makes it) and a user outside its
        # group: as root, fugue runs as nobody (setpriv, util-linux); otherwise the
        # socket is made unreadable to its own owner (mode 0000).
        with TmpDir() as t:
            os.chmod(t.path, 0o755)
            path = os.path.join(t.path, "c.sock")
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            as_root = os.geteuid() == 0
            if as_root:
                self.assertTrue(shutil.which("setpriv"), "setpriv (util-linux) is needed as root")
            try:
                srv.bind(path)
                srv.listen(1)
                os.chmod(path, 0o660 if as_root else 0o000)
                env = base_env(FUGUE_CONDUCTOR=path)
                prefix = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                          if as_root else [])
                p = subprocess.run(prefix + fugue_argv(["status"]), env=env,
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=60 * SLOW)
            finally:
                srv.close()
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("permission denied", p.stderr)
            group = __import__("grp").getgrgid(os.stat(t.path).st_gid).gr_name
            self.assertRegex(p.stderr, r"hint: .*group '%s'" % re.escape(group),
                             "the hint names the socket's group")

    def test_not_a_socket(self):
        with TmpDir() as t:
            path = t.write("regular", "I am not a socket\n")
            r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
            self.assertEqual(r.rc, 3, r)
            self.assertIn(path, r.err)
            r = fugue(["status"], env={"FUGUE_CONDUCTOR": t.path})
            self.assertEqual(r.rc, 3, r)

    def test_json_unreachable(self):
        with TmpDir() as t:
            r = fugue(["--json", "status"], env={"FUGUE_CONDUCTOR": t.path + "/x.sock"})
            self.assertEqual(r.rc, 3, r)
            self.assertEqual(r.out, "", "unreachable: no document, the line on stderr")
            self.assertIn("x.sock", r.err)

    def test_every_conductor_command_is_unreachable(self):
        with TmpDir() as t:
            comp = t.write("web.yaml", WEB)
            env = {"FUGUE_CONDUCTOR": os.path.join(t.path, "none.sock")}
            for args in (["run", comp], ["status"], ["status", "web"], ["update", "web", comp],
                         ["history", "web"], ["suspend", "web"], ["resume", "web"],
                         ["kill", "web", "-y"], ["release", "web", "-y"], ["property", "web"],
                         ["runtime", "list"], ["graph", "web"]):
                with self.subTest(args=args):
                    r = fugue(args, env=env)
                    self.assertEqual(r.rc, 3, r)

    def _serve(self, path, answer):
        """A one-connection-at-a-time server answering every request line
        with ANSWER(request)."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(8)
        srv.settimeout(0.2)
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                conn.settimeout(10 * SLOW)
                buf = b""
                try:
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                        while b"\n" in buf:
                            line, buf = buf.split(b"\n", 1)
                            req = json.loads(line)
                            conn.sendall(json.dumps(answer(req)).encode() + b"\n")
                except (OSError, ValueError):
                    pass
                conn.close()

        th = threading.Thread(target=loop, daemon=True)
        th.start()

        def close():
            stop.set()
            th.join()
            srv.close()
        return close

    def test_wrong_protocol_version(self):
        # A newer Conductor: its ping answers protocol 99.
        with TmpDir() as t:
            path = os.path.join(t.path, "new.sock")
            seen = []

            def answer(req):
                seen.append(req)
                if req.get("protocol") != 99:
                    return {"protocol": 99, "id": req.get("id"), "ok": False,
                            "error": {"code": "protocol",
                                      "message": "protocol %s is not supported; this Conductor "
                                                 "speaks 99" % req.get("protocol")}}
                return {"protocol": 99, "id": req.get("id"), "ok": True,
                        "result": {"version": "9.0.0", "protocol": 99}}
            close = self._serve(path, answer)
            try:
                r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
            finally:
                close()
            self.assertEqual(r.rc, 3, r)
            self.assertIn("99", r.err, "the Conductor's version is named")
            self.assertIn("1", r.err)
            self.assertTrue(seen and seen[0]["protocol"] == 1, seen)
            self.assertNotIn("status", [q.get("command") for q in seen],
                             "nothing but ping is sent to a Conductor of another version")

    def test_ping_answers_another_version(self):
        # An ok ping whose result names protocol 99.
        with TmpDir() as t:
            path = os.path.join(t.path, "new.sock")

            def answer(req):
                return {"protocol": 1, "id": req.get("id"), "ok": True,
                        "result": {"version": "9.0.0", "protocol": 99}}
            close = self._serve(path, answer)
            try:
                r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
            finally:
                close()
            self.assertEqual(r.rc, 3, r)
            self.assertIn("99", r.err)

    def test_garbage_server(self):
        # Something that is not a Conductor answers: unreachable, not a crash.
        with TmpDir() as t:
            path = os.path.join(t.path, "junk.sock")
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(path)
            srv.listen(4)

            def loop():
                try:
                    conn, _ = srv.accept()
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
                    conn.close()
                except OSError:
                    pass
            th = threading.Thread(target=loop, daemon=True)
            th.start()
            try:
                r = fugue(["status"], env={"FUGUE_CONDUCTOR": path})
            finally:
                th.join(30 * SLOW)
                srv.close()
            self.assertEqual(r.rc, 3, r)


class Offline(unittest.TestCase):
    """init, validate, graph FILE, the man page and the completion."""

    def test_init_writes_and_refuses_to_overwrite(self):
        with TmpDir() as t:
            r = fugue(["init"], cwd=t.path)
            self.assertEqual(r.rc, 0, r)
            path = os.path.join(t.path, "fugue.yaml")
            with open(path) as f:
                text = f.read()
            for key in ("conductor", "region", "ami", "instanceType", "sshKeyName",
                        "availabilityZones", "socket", "bucket"):
                self.assertIn(key, text, "fugue.yaml has %s" % key)
            self.assertGreater(len(lines_matching(text, r"^\s*#")), 3, "it is commented")
            self.assertIn("fugue.yaml", r.both, "it says what it wrote")
            # A fugue.yaml as written is readable by fugue itself.
            r = fugue(["status"], cwd=t.path,
                      env={"FUGUE_CONDUCTOR": None})
            self.assertEqual(r.rc, 3, "the default socket is not there, but the file parses\n%r"
                             % r)
            # Not overwritten without --force.
            with open(path, "a") as f:
                f.write("# mine\n")
            r = fugue(["init"], cwd=t.path)
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn("--force", r.err)
            with open(path) as f:
                self.assertTrue(f.read().endswith("# mine\n"), "the file is untouched")
            r = fugue(["init", "--force"], cwd=t.path)
            self.assertEqual(r.rc, 0, r)
            with open(path) as f:
                self.assertEqual(f.read(), text, "--force writes it afresh")

    def test_init_json(self):
        with TmpDir() as t:
            r = fugue(["--json", "init"], cwd=t.path)
            self.assertEqual(r.rc, 0, r)
            doc = r.json()
            self.assertTrue(doc["file"].endswith("fugue.yaml"), doc)
            self.assertIs(doc["written"], True, doc)
            self.assertTrue(os.path.exists(os.path.join(t.path, "fugue.yaml")))

    def test_validate_good(self):
        with TmpDir() as t:
            pd = planners_dir(t)
            comp = t.write("web.yaml", WEB)
            r = fugue(["validate", comp, "--planners-dir", pd])
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.err, "")
            self.assertIn("web.yaml", r.out)
            # FUGUE_PLANNERS_DIR instead of the flag; no Conductor anywhere.
            r = fugue(["validate", comp],
                      env={"FUGUE_PLANNERS_DIR": pd, "FUGUE_CONDUCTOR": "/nonexistent/c.sock"})
            self.assertEqual(r.rc, 0, r)
            r = fugue(["--json", "validate", comp, "--planners-dir", pd])
            self.assertEqual(r.rc, 0, r)
            doc = r.json()
            self.assertIs(doc["valid"], True, doc)
            self.assertEqual(doc["diagnostics"], [], doc)
            self.assertEqual(doc["resources"], 3, doc)
            self.assertEqual(doc["file"], comp, doc)
            r = fugue(["validate", comp, "-p", pd])
            self.assertEqual(r.rc, 0, r)
            self.assertIn("3 resources, valid", r.out)

    def test_validate_bad(self):
        with TmpDir() as t:
            pd = planners_dir(t)
            t.write("bad.yaml", BAD)
            r = fugue(["validate", "bad.yaml", "--planners-dir", pd], cwd=t.path)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(r.out, "")
            errs = r.err.strip().splitlines()
            self.assertIn("bad.yaml:6:5: unknown property 'nmae' in Fake.Net.Network "
                          "(did you mean 'name'?)", errs)
            self.assertIn("bad.yaml:8:11: unknown type 'Fake.Net.Subnt' "
                          "(did you mean 'Fake.Net.Subnet'?)", errs)
            self.assertIn("bad.yaml:12:13: reference to unknown resource 'sbu' "
                          "(did you mean 'sub'?)", errs)
            self.assertTrue(any(e.startswith("bad.yaml:13:11: ") and "huge" in e for e in errs),
                            errs)
            json_r = fugue(["--json", "validate", "bad.yaml", "--planners-dir", pd], cwd=t.path)
            self.assertEqual(json_r.rc, r.rc, json_r)
            doc = json_r.json()
            self.assertIs(doc["valid"], False, doc)
            self.assertEqual(doc["file"], "bad.yaml")
            diags = doc["diagnostics"]
            self.assertEqual(len(diags), len([e for e in errs if re.match(r"bad.yaml:\d+:\d+:", e)]))
            self.assertEqual({"file", "line", "col", "message"} - set(diags[0]), set(), diags[0])
            self.assertIn({"file": "bad.yaml", "line": 6, "col": 5,
                           "message": "unknown property 'nmae' in Fake.Net.Network "
                                      "(did you mean 'name'?)"},
                          [{k: d[k] for k in ("file", "line", "col", "message")} for d in diags])

    def test_validate_corpus(self):
        # The structural part of tests/compositions/bad: exactly the expected lines.
        corpus = os.path.join(SOURCE, "tests", "compositions", "bad")
        with TmpDir() as t:
            pd = planners_dir(t)
            for name in CORPUS_STRUCTURAL:
                with self.subTest(name=name):
                    with open(os.path.join(corpus, name + ".expected")) as f:
                        expected = f.read().strip().splitlines()
                    r = fugue(["validate", name + ".yaml", "--planners-dir", pd], cwd=corpus)
                    self.assertEqual(r.rc, 1, r)
                    lines = r.err.strip().splitlines()
                    self.assertEqual(lines[:len(expected)], expected, r)
                    # then at most a summary line ("fugue: error: ... is not valid (N errors)")
                    self.assertLessEqual(len(lines), len(expected) + 1, r)

    def test_validate_missing_file_and_planners_dir(self):
        with TmpDir() as t:
            pd = planners_dir(t)
            r = fugue(["validate", os.path.join(t.path, "nope.yaml"), "--planners-dir", pd])
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn("nope.yaml", r.err)
            comp = t.write("web.yaml", WEB)
            r = fugue(["validate", comp, "--planners-dir", os.path.join(t.path, "none")])
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn("none", r.err)

    def test_graph_of_a_file(self):
        with TmpDir() as t:
            pd = planners_dir(t)
            comp = t.write("web.yaml", WEB)
            r = fugue(["graph", comp, "--planners-dir", pd],
                      env={"FUGUE_CONDUCTOR": "/nonexistent/c.sock"})
            self.assertEqual(r.rc, 0, r)
            self.assert_dot(r.out)
            r = fugue(["graph", comp, "--planners-dir", pd, "--json"])
            self.assertEqual(r.rc, 0, r)
            doc = r.json()
            self.assertEqual(doc["name"], "web")
            self.assertEqual(sorted((n["name"], n["type"]) for n in doc["nodes"]),
                             [("net", "Fake.Net.Network"), ("srv", "Fake.Compute.Server"),
                              ("sub", "Fake.Net.Subnet")])
            self.assertEqual(sorted((e["from"], e["to"]) for e in doc["edges"]),
                             [("srv", "sub"), ("sub", "net")], "from a resource to its dependency")
            bad = t.write("bad.yaml", BAD)
            r = fugue(["graph", bad, "--planners-dir", pd])
            self.assertEqual(r.rc, 1, r)
            self.assertIn("bad.yaml:6:5:", r.err)

    def assert_dot(self, out):
        self.assertRegex(out.strip(), r"^(strict\s+)?digraph\b[^{]*\{[\s\S]*\}$")
        for name in ("net", "sub", "srv"):
            self.assertRegex(out, r'"?%s"?' % name)
        edges = sorted(re.findall(r'"?([\w-]+)"?\s*->\s*"?([\w-]+)"?', out))
        self.assertEqual(edges, [("srv", "sub"), ("sub", "net")],
                         "one edge per direct reference, to the dependency:\n" + out)

    def test_man_page(self):
        page = os.path.join(SOURCE, "packaging", "man", "fugue.1")
        self.assertTrue(os.path.exists(page))
        with open(page) as f:
            text = f.read()
        for cmd in COMMANDS:
            self.assertIn(cmd, text)
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT",
                        "FILES", "EXAMPLES", "SEE ALSO"):
            self.assertRegex(text, r"(?m)^\.SH \"?%s\"?$" % section)
        if shutil.which("groff"):
            p = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True,
                               text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_completion(self):
        script = os.path.join(SOURCE, "packaging", "completion", "fugue.bash")
        p = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        # Completes commands, options and runtime subcommands without a Conductor.
        self.assertEqual(complete(script, "fugue st"), ["status"])
        self.assertEqual(complete(script, "fugue runtime "), ["get", "list", "set", "unset"])
        self.assertEqual(complete(script, "fugue property web "), ["alias", "enforcement", "lock"])
        self.assertEqual(complete(script, "fugue property web lock --set "), ["off", "on"])
        self.assertIn("--dry-run", complete(script, "fugue run x.yaml --"))
        self.assertIn("--json", complete(script, "fugue run x.yaml --"))
        # No Conductor: no aliases, nothing printed.
        self.assertEqual(complete(script, "fugue status ",
                                  env={"FUGUE_CONDUCTOR": "/nonexistent/c.sock"}), [])


def complete(script, line, env=None):
    """The completions bash offers for LINE (the cursor at its end)."""
    words = line.split(" ")
    prog = ("source %s\n"
            "COMP_WORDS=(%s)\n"
            "COMP_CWORD=%d\n"
            "COMP_LINE=%s\nCOMP_POINT=${#COMP_LINE}\n"
            "_fugue fugue\n"
            "printf '%%s\\n' \"${COMPREPLY[@]}\"\n") % (
        shlex.quote(script), " ".join(shlex.quote(w) for w in words), len(words) - 1,
        shlex.quote(line))
    e = base_env()
    bindir = tempfile.mkdtemp(prefix="fugue-cli-bin-")
    try:
        os.symlink(fugue_path(), os.path.join(bindir, "fugue"))
        e["PATH"] = bindir + os.pathsep + e.get("PATH", "")
        e.update(env or {})
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                           text=True, env=e, timeout=30)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)
    if p.returncode != 0 or p.stderr:
        raise AssertionError("completion of %r: status %d, stderr %r" % (line, p.returncode,
                                                                        p.stderr))
    return sorted(x for x in p.stdout.splitlines() if x)


# ==== against a Conductor ============================================================

class Empty(unittest.TestCase):
    """A Conductor with no process yet."""

    def test_empty_conductor(self):
        with Conductor() as c:
            r = fugue(["status"], conductor=c)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("No processes. Start one with `fugue run FILE`.", r.out)
            r = fugue(["status", "--json"], conductor=c)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.json(), {"processes": []})
            r = fugue(["history", "web"], conductor=c)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("web", r.err)
            r = fugue(["runtime", "get", "concurrency"], conductor=c)
            self.assertEqual((r.rc, r.out.strip()), (0, "16"), r)


class Online(unittest.TestCase):
    """One Conductor for the class; each test uses its own aliases."""

    @classmethod
    def setUpClass(cls):
        cls.c = Conductor()
        cls.tmp = TmpDir()
        cls.web = cls.tmp.write("web.yaml", WEB)
        cls.web2 = cls.tmp.write("web2.yaml", WEB2)
        cls.web3 = cls.tmp.write("web3.yaml", WEB3)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__()
        cls.c.close()

    def setUp(self):
        self.c.fake.clear_faults()

    def tearDown(self):
        self.c.fake.clear_faults()

    def fugue(self, *args, **kw):
        return fugue(list(args), conductor=self.c, **kw)

    def ok(self, *args, **kw):
        r = self.fugue(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        return r

    def start(self, alias, path=None):
        """A converged process ALIAS from WEB (through the socket, not fugue)."""
        with open(path or self.web) as f:
            source = f.read()
        return self.c.ok("run", {"source": source, "sourceName": "web.yaml", "alias": alias})

    def status_of(self, alias):
        return self.c.ok("status", {"process": alias})

    def exists(self, alias):
        _, final = self.c.request("status", {"process": alias})
        return final["ok"]

    def resources_of(self, fid):
        return [r for r in self.c.fake.resources() if r["tags"].get("fugue:fid") == fid]

    # -- run --------------------------------------------------------------------------

    def test_run_human(self):
        r = self.ok("run", self.web, "-a", "run-h")
        out = r.out
        self.assertNotIn(ESC, r.both, "no colour when piped")
        self.assertNotIn("\r", r.both, "no live line when piped")
        low = out.lower()
        for phase in ("sending", "accepted"):
            self.assertIn(phase, low)
        # the phases, FID and alias come before the progress, not after the job
        first_progress = next(i for i, ln in enumerate(out.splitlines()) if re.search(r"\bnet\b", ln))
        accepted = next(i for i, ln in enumerate(out.splitlines()) if "accepted" in ln.lower())
        self.assertLess(accepted, first_progress, "accepted (with the FID) before the progress")
        st = self.status_of("run-h")
        self.assertTrue(lines_matching(out, r"accepted: process run-h \(%s\)" % st["fid"]), out)
        # plain event lines, one per resource at least
        for name in ("net", "sub", "srv"):
            self.assertTrue(lines_matching(out, r"\b%s\b" % name), "a line for %s" % name)
        self.assertRegex(out, r"(?i)converged|succeeded|running")
        self.assertEqual(st["state"], "Running")
        self.assertEqual(st["counts"], {"ready": 3, "total": 3})

    def test_run_json(self):
        r = self.ok("run", self.web, "-a", "run-j", "--json")
        doc = r.json()
        self.assertRegex(doc["fid"], FID)
        self.assertEqual(doc["alias"], "run-j")
        self.assertEqual(doc["state"], "Running")
        self.assertEqual(doc["message"], "SUCCEEDED")
        self.assertIn("plan", doc)
        self.assertEqual(r.err, "", "no progress on stderr with --json")

    def test_run_default_alias_and_conflict(self):
        # The composition's name is the alias; a second run of it is refused.
        with TmpDir() as t:
            comp = t.write("solo.yaml", WEB.replace("composition: web", "composition: solo"))
            r = self.ok("run", comp)
            self.assertIn("solo", r.out)
            r = self.fugue("run", comp)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("solo", r.err)
            self.assertEqual(r.err.count("\n") <= 3, True, r)

    def test_run_no_wait(self):
        self.c.fake.set_faults({"create": {"*": {"delay_ms": 300}}})
        r = self.ok("run", self.web, "-a", "run-nw", "--no-wait", "--json")
        doc = r.json()
        self.assertRegex(doc["fid"], FID)
        self.assertEqual(doc["alias"], "run-nw")
        wait_until("run-nw converges",
                   lambda: self.status_of("run-nw")["counts"]["ready"] == 3)
        r = self.ok("run", self.web, "-a", "run-nw2", "--no-wait")
        self.assertIn("run-nw2", r.out)
        self.assertRegex(r.out, FID)

    def test_run_dry_run(self):
        r = self.ok("run", self.web, "-a", "run-dry", "--dry-run")
        for name, typ in (("net", "Fake.Net.Network"), ("sub", "Fake.Net.Subnet"),
                          ("srv", "Fake.Compute.Server")):
            self.assertTrue(lines_matching(r.out, r"^\s*\+ %s \(%s\)" % (name, typ)), r.out)
        self.assertIn("Plan: 3 to create, 0 to update, 0 to replace, 0 to delete.", r.out)
        self.assertFalse(self.exists("run-dry"), "a dry run starts nothing")
        self.assertNotIn("hunter2-secret", r.out, "sensitive values are never shown")
        r = self.ok("run", self.web, "-a", "run-dry", "--dry-run", "--json")
        doc = r.json()
        plan = doc.get("plan", doc)
        self.assertEqual(plan["summary"]["create"], 3, doc)
        self.assertNotIn("hunter2-secret", r.out)
        self.assertFalse(self.exists("run-dry"))

    def test_run_invalid_composition(self):
        with TmpDir() as t:
            t.write("bad.yaml", BAD)
            r = self.fugue("run", "bad.yaml", "-a", "run-bad", cwd=t.path)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("bad.yaml:6:5: unknown property 'nmae' in Fake.Net.Network "
                          "(did you mean 'name'?)", r.err.splitlines())
            self.assertIn("bad.yaml:8:11:", r.err)
            self.assertFalse(self.exists("run-bad"))
            r = self.fugue("run", "bad.yaml", "-a", "run-bad", "--json", cwd=t.path)
            self.assertEqual(r.rc, 1, r)
            err = r.json()["error"]
            self.assertEqual(err["code"], "invalid_composition")
            self.assertIn({"file": "bad.yaml", "line": 6, "col": 5,
                           "message": "unknown property 'nmae' in Fake.Net.Network "
                                      "(did you mean 'name'?)"}, err["details"]["diagnostics"])

    def test_run_compiles_locally_first(self):
        # With planners where `fugue validate` finds them, run compiles
        # before sending: errors never reach the Conductor.
        with TmpDir() as t:
            env = base_env(self.c, FUGUE_PLANNERS_DIR=planners_dir(t))
            t.write("bad.yaml", BAD)
            r = self.fugue("run", "bad.yaml", "-a", "run-local-bad", cwd=t.path, env=env)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("bad.yaml:6:5: unknown property 'nmae' in Fake.Net.Network "
                          "(did you mean 'name'?)", r.err.splitlines())
            self.assertNotIn("sending", r.out.lower(), "nothing sent after a local error")
            with open(self.web) as f:
                t.write("web.yaml", f.read())
            r = self.ok("run", "web.yaml", "-a", "run-local", cwd=t.path, env=env)
            lines = r.out.splitlines()
            compiling = [i for i, ln in enumerate(lines) if ln.startswith("compiling web.yaml: 3 resources")]
            sending = [i for i, ln in enumerate(lines) if ln.lower().startswith("sending")]
            self.assertTrue(compiling and sending and compiling[0] < sending[0], r.out)
        # Without planners here, the Conductor compiles, and run says so.
        r = self.ok("run", self.web, "-a", "run-remote-compile")
        self.assertTrue(lines_matching(r.out, r"^compiling .*: in the Conductor"), r.out)

    def test_run_missing_file(self):
        r = self.fugue("run", os.path.join(self.tmp.path, "nope.yaml"))
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertIn("nope.yaml", r.err)

    def test_run_failure_names_resources(self):
        self.c.fake.set_faults({"create": {"Fake.Compute.Server": {
            "fail": 1000, "code": "InsufficientInstanceCapacity"}}})
        r = self.fugue("run", self.web, "-a", "run-fail")
        self.assertEqual(r.rc, 1, r)
        failing = lines_matching(r.both, r"\bsrv\b.*InsufficientInstanceCapacity")
        self.assertTrue(failing, "the failing resource is named with its code:\n%r" % r)
        st = self.status_of("run-fail")
        self.assertEqual(st["state"], "Failed")
        # status groups it under Failed, with the message
        s = self.ok("status")
        rows = lines_matching(s.out, r"/run-fail\s")
        self.assertEqual(len(rows), 1, s.out)
        self.assertRegex(rows[0], r"^\s*Failed\s")
        self.assertRegex(rows[0], r"FAILED.*srv", "the last message names the resource")
        # --json: the error document names the resource and code
        self.c.fake.set_faults({"create": {"Fake.Compute.Server": {
            "fail": 1000, "code": "InsufficientInstanceCapacity"}}})
        r = self.fugue("run", self.web, "-a", "run-fail-j", "--json")
        self.assertEqual(r.rc, 1, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "failed")
        self.assertEqual(err["details"]["state"], "Failed")
        self.assertEqual(err["details"]["alias"], "run-fail-j")
        failed = [e for e in err["details"]["errors"] if not e["skipped"]]
        self.assertEqual([(e["resource"], e["action"], e["code"]) for e in failed],
                         [("srv", "create", "InsufficientInstanceCapacity")], err)

    # -- progress: terminal vs. pipe ---------------------------------------------------

    def test_progress_on_a_terminal(self):
        self.c.fake.set_faults({"create": {"*": {"delay_ms": 400}}})
        rc, out = on_pty(["run", self.web, "-a", "pty-run"], conductor=self.c)
        self.assertEqual(rc, 0, out)
        self.assertIn("\r", out, "a live line rewritten in place")
        self.assertRegex(out, SGR, "colours on a terminal")
        self.assertRegex(out, r"\d+/3", "resources done/total")
        self.assertRegex(out, r"\d+(\.\d+)?s\b", "elapsed time")

    def test_progress_piped(self):
        self.c.fake.set_faults({"create": {"*": {"delay_ms": 200}}})
        r = self.ok("run", self.web, "-a", "pipe-run")
        self.assertNotIn("\r", r.both)
        self.assertNotIn(ESC, r.both)
        for name in ("net", "sub", "srv"):
            self.assertTrue(lines_matching(r.out, r"\b%s\b.*(?i:creat|done|ready)" % name)
                            or lines_matching(r.out, r"(?i:creat|done|ready).*\b%s\b" % name),
                            "an event line for %s:\n%s" % (name, r.out))

    def test_no_color(self):
        self.start("nc")
        for env, extra in (({"NO_COLOR": "1"}, []), ({}, ["--no-color"])):
            with self.subTest(env=env, extra=extra):
                rc, out = on_pty(extra + ["status"], conductor=self.c, env=env)
                self.assertEqual(rc, 0, out)
                self.assertNotRegex(out, SGR)
                self.assertIn("nc", out)
                self.c.fake.set_faults({"create": {"*": {"delay_ms": 100}}})
                rc, out = on_pty(extra + ["run", self.web, "-a", "nc-%d" % len(extra)],
                                 conductor=self.c, env=env)
                self.assertEqual(rc, 0, out)
                self.assertNotRegex(out, SGR)
                self.assertIn("\r", out, "still a live line: only colour is off")
        # and on a terminal without either, the table header is coloured
        rc, out = on_pty(["status"], conductor=self.c)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, SGR)

    # -- Ctrl-C --------------------------------------------------------------------------

    def interrupt_run(self, alias, extra=()):
        """Starts `fugue run WEB -a ALIAS`, sends it SIGINT while the
        server's create is in flight, and returns (exit status, stdout,
        stderr, seconds from SIGINT to exit)."""
        p = subprocess.Popen(fugue_argv(["run", self.web, "-a", alias] + list(extra)),
                             env=base_env(self.c), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # net and sub are ready: the server's (slow) create is under way.
            wait_until("the subnet of %s is created" % alias,
                       lambda: self.exists(alias) and
                       self.status_of(alias)["counts"]["ready"] == 2)
            time.sleep(0.3)
            began = time.monotonic()
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30 * SLOW)
            return p.returncode, out, err, time.monotonic() - began
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    def test_ctrl_c_detaches(self):
        delay = 15.0 if WRAPPER else 3.0
        self.c.fake.set_faults({"create": {"Fake.Compute.Server": {"delay_ms": int(delay * 1000)}}})
        rc, out, err, took = self.interrupt_run("ctrl-c")
        self.assertEqual(rc, 130, out + err)
        self.assertLess(took, delay, "fugue left at once, not when the create ended")
        said = [ln for ln in err.splitlines() if re.search(r"(?i)detach", ln)]
        self.assertTrue(said, "it says it detached, on stderr:\n" + out + err)
        self.assertIn("goes on", said[-1])
        self.assertIn("fugue status ctrl-c", said[-1], "and how to follow the process")
        # --json: one document saying so
        rc, out, err, took = self.interrupt_run("ctrl-c-j", ["--json"])
        self.assertEqual(rc, 130, out + err)
        doc = json.loads(out)
        self.assertIs(doc["detached"], True, doc)
        self.assertEqual(doc["alias"], "ctrl-c-j")
        self.assertEqual(doc["fid"], self.status_of("ctrl-c-j")["fid"])
        # The processes go on in the Conductor and converge.
        for alias in ("ctrl-c", "ctrl-c-j"):
            wait_until("%s converges" % alias,
                       lambda: self.status_of(alias)["counts"]["ready"] == 3, timeout=60)
            self.assertEqual(self.status_of(alias)["state"], "Running")

    # -- status --------------------------------------------------------------------------

    def test_status_all(self):
        self.start("st-a")
        self.start("st-b")
        self.c.ok("suspend", {"process": "st-b"})
        self.c.ok("property", {"process": "st-a", "key": "lock", "value": "on"})
        try:
            r = self.ok("status")
            self.assertNotIn(ESC, r.out)
            out = r.out.splitlines()
            header = out[0].split()
            for col in ("STATE", "UPDATED", "CREATED", "FID/ALIAS", "FLAGS", "MESSAGE"):
                self.assertIn(col, header, r.out)
            a = [i for i, ln in enumerate(out) if re.search(r"/st-a\s", ln)]
            b = [i for i, ln in enumerate(out) if re.search(r"/st-b\s", ln)]
            self.assertEqual(len(a), 1, "st-a listed once:\n" + r.out)
            self.assertEqual(len(b), 1, "the suspended st-b listed once:\n" + r.out)
            # grouped by state: every row's first column, Running rows all before Suspended ones
            states = [ln.split()[0] for ln in out[1:] if ln.strip()]
            self.assertEqual(states[a[0] - 1], "Running")
            self.assertEqual(states[b[0] - 1], "Suspended")
            seen = []
            for st in states:
                if not seen or seen[-1] != st:
                    self.assertNotIn(st, seen, "one group per state:\n" + r.out)
                    seen.append(st)
            fid_a = self.status_of("st-a")["fid"]
            row_a = out[a[0]]
            self.assertIn(fid_a, row_a)
            self.assertRegex(row_a, r"\sle\s", "flags: lock and enforcement on")
            self.assertIn("SUCCEEDED", row_a)
            self.assertRegex(row_a, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "local times")
            self.assertRegex(out[b[0]], r"\s-e\s", "flags: enforcement on, no lock")
            # columns are aligned: FID/ALIAS starts at the same offset in every row
            col = out[0].index("FID/ALIAS")
            for i in (a[0], b[0]):
                self.assertRegex(out[i][col:], r"^" + FID + "/")
        finally:
            self.c.ok("property", {"process": "st-a", "key": "lock", "value": "off"})

    def test_status_all_json(self):
        self.start("stj")
        r = self.ok("status", "--json")
        doc = r.json()
        procs = [p for p in doc["processes"] if p["alias"] == "stj"]
        self.assertEqual(len(procs), 1, doc)
        p = procs[0]
        for key in ("fid", "alias", "state", "lock", "enforcement", "created", "updated",
                    "message", "resources", "drift", "lastEnforced"):
            self.assertIn(key, p)
        self.assertEqual(p["resources"], {"ready": 3, "total": 3})
        self.assertIs(p["lock"], False)
        self.assertIs(p["enforcement"], True)

    def test_status_one(self):
        res = self.start("st-one")
        fid = res["fid"]
        ids = {r["tags"]["fugue:resource"]: r["id"] for r in self.resources_of(fid)}
        # drift: srv changed behind the Conductor's back, enforcement off so it stays
        self.c.ok("property", {"process": "st-one", "key": "enforcement", "value": "off"})
        for alias in ("st-one", fid):
            with self.subTest(by=alias):
                r = self.ok("status", alias)
                out = r.out
                header = [ln for ln in out.splitlines() if re.search(r"(?i)\btype\b", ln)]
                self.assertTrue(header, out)
                for name, typ in (("net", "Fake.Net.Network"), ("sub", "Fake.Net.Subnet"),
                                  ("srv", "Fake.Compute.Server")):
                    rows = lines_matching(out, r"^\s*%s\s" % name)
                    self.assertEqual(len(rows), 1, out)
                    self.assertIn(typ, rows[0])
                    self.assertIn(ids[name], rows[0], "the cloud id")
                    self.assertIn("Ready", rows[0])
                self.assertIn(fid, out)
        r = self.ok("status", "st-one", "--json")
        doc = r.json()
        self.assertEqual(doc["fid"], fid)
        self.assertEqual(doc["counts"], {"ready": 3, "total": 3})
        names = sorted(x["name"] for x in doc["resources"])
        self.assertEqual(names, ["net", "srv", "sub"])
        for x in doc["resources"]:
            for key in ("name", "type", "id", "status"):
                self.assertIn(key, x)
        self.assertNotIn("hunter2-secret", r.out)

    def test_status_not_found(self):
        r = self.fugue("status", "no-such-process")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("no-such-process", r.err)
        self.assertIn("fugue status", r.err, "the hint: list the processes")
        r = self.fugue("status", "no-such-process", "--json")
        self.assertEqual(r.rc, 1, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "not_found")
        self.assertIn("no-such-process", err["message"])

    # -- update ---------------------------------------------------------------------------

    def test_update_dry_run_plan(self):
        self.start("upd-dry")
        r = self.ok("update", "upd-dry", self.web2, "--dry-run")
        out = r.out
        self.assertTrue(lines_matching(out, r"^\s*~ net \(Fake.Net.Network\)"), out)
        self.assertTrue(lines_matching(out, r'^\s+name: "main" %s "prod"' % ARROW), out)
        rep = lines_matching(out, r"^\s*-/\+ sub \(Fake.Net.Subnet\)")
        self.assertTrue(rep, out)
        self.assertTrue(lines_matching(out, r"cidr: .*10\.0\.1\.0/24.*%s.*10\.0\.2\.0/24.*"
                                            r"forces replacement" % ARROW), out)
        self.assertTrue(lines_matching(out, r"^\s*- srv \(Fake.Compute.Server\)"), out)
        self.assertTrue(lines_matching(out, r"^\s*\+ srv2 \(Fake.Compute.Server\)"), out)
        self.assertIn("Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.", out)
        self.assertNotIn("hunter2-secret", out)
        # nothing changed
        st = self.status_of("upd-dry")
        self.assertEqual(sorted(x["name"] for x in st["resources"]), ["net", "srv", "sub"])
        r = self.ok("update", "upd-dry", self.web2, "--dry-run", "--json")
        doc = r.json()
        plan = doc.get("plan", doc)
        self.assertEqual(plan["summary"], {"create": 1, "update": 1, "replace": 1, "delete": 1,
                                           "none": 0}, doc)
        # No changes
        r = self.ok("update", "upd-dry", self.web, "--dry-run")
        self.assertIn("No changes.", r.out)

    def test_update_runs(self):
        res = self.start("upd")
        r = self.ok("update", "upd", self.web3)
        self.assertIn("Plan: 1 to create, 1 to update, 0 to replace, 0 to delete.", r.out)
        self.assertTrue(lines_matching(r.out, r"\bsub2\b"), r.out)
        st = self.status_of("upd")
        self.assertEqual(st["counts"], {"ready": 4, "total": 4})
        nets = [x for x in self.resources_of(res["fid"]) if x["type"] == "Fake.Net.Network"]
        self.assertEqual(nets[0]["properties"]["name"], "prod")
        r = self.ok("update", "upd", self.web3, "--json")
        doc = r.json()
        self.assertEqual(doc["fid"], res["fid"])
        self.assertEqual(doc["state"], "Running")

    def test_update_not_found_and_bad_file(self):
        r = self.fugue("update", "nobody", self.web)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("nobody", r.err)
        self.start("upd-bad")
        with TmpDir() as t:
            t.write("bad.yaml", BAD)
            r = self.fugue("update", "upd-bad", "bad.yaml", cwd=t.path)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("bad.yaml:6:5:", r.err)

    # -- history ---------------------------------------------------------------------------

    def test_history(self):
        res = self.start("hist")
        self.c.ok("suspend", {"process": "hist"})
        self.c.ok("resume", {"process": "hist"})
        r = self.ok("history", "hist")
        out = r.out.splitlines()

        def first(kind):
            rows = [i for i, ln in enumerate(out)
                    if re.search(r"(?<![\w-])%s(?![\w-])" % kind, ln)]
            self.assertTrue(rows, "a %s entry:\n%s" % (kind, r.out))
            return rows[0]
        self.assertLess(first("resume"), first("suspend"), "newest first")
        self.assertLess(first("suspend"), first("run"), "newest first")
        r = self.ok("history", "hist", "--json")
        doc = r.json()
        self.assertEqual(doc["fid"], res["fid"])
        entries = doc["entries"]
        kinds = [e["kind"] for e in entries]
        self.assertLess(kinds.index("resume"), kinds.index("suspend"))
        self.assertLess(kinds.index("suspend"), kinds.index("run"))
        for key in ("id", "time", "kind", "uid", "summary", "details"):
            self.assertIn(key, entries[0])
        self.assertEqual(entries[-1]["kind"], "run")
        r = self.ok("history", "hist", "-n", "1", "--json")
        self.assertEqual(len(r.json()["entries"]), 1)
        r = self.ok("history", "hist", "--limit", "2")
        self.assertIsNotNone(r.out)

    def test_history_shows_drift(self):
        res = self.start("hist-drift")
        self.c.ok("property", {"process": "hist-drift", "key": "enforcement", "value": "off"})
        srv = [x for x in self.resources_of(res["fid"]) if x["type"] == "Fake.Compute.Server"][0]
        srv["properties"]["size"] = "large"
        self.c.fake.write_resource(srv)
        # an enforcement pass now: resume runs one
        self.c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": "0.2"})
        try:
            wait_until("drift recorded", lambda: any(
                e["kind"] == "drift" for e in self.c.ok("history", {"process": "hist-drift"})
                ["entries"]))
        finally:
            self.c.ok("runtime", {"op": "unset", "key": "enforce.interval"})
        r = self.ok("history", "hist-drift")
        drift = lines_matching(r.out, r"\bdrift\b")
        self.assertTrue(drift, r.out)
        self.assertTrue(lines_matching(r.out, r"size"), "the drifted property is shown\n" + r.out)
        # and status shows the drift
        r = self.ok("status", "hist-drift")
        self.assertTrue(lines_matching(r.out, r"^srv\s.*\ssize\s*$"), "srv's DRIFT: size\n" + r.out)

    # -- suspend, resume ---------------------------------------------------------------------

    def test_suspend_resume(self):
        self.start("sr")
        r = self.ok("suspend", "sr")
        self.assertIn("sr", r.out)
        self.assertEqual(self.status_of("sr")["state"], "Suspended")
        r = self.ok("suspend", "sr", "--json")
        self.assertEqual(r.json()["state"], "Suspended")
        r = self.ok("resume", "sr", "--dry-run")
        self.assertIn("No changes.", r.out)
        self.assertEqual(self.status_of("sr")["state"], "Suspended", "a dry run changes nothing")
        r = self.ok("resume", "sr")
        self.assertEqual(self.status_of("sr")["state"], "Running")
        r = self.fugue("resume", "sr")
        self.assertEqual(r.rc, 1, "resume of a running process is a conflict\n%r" % r)
        self.c.ok("suspend", {"process": "sr"})
        r = self.ok("resume", "sr", "--json")
        self.assertEqual(r.json()["state"], "Running")

    def test_no_wait_and_dry_run_json(self):
        res = self.start("nw")
        self.c.ok("suspend", {"process": "nw"})
        doc = self.ok("resume", "nw", "--dry-run", "--json").json()
        self.assertEqual((doc["fid"], doc["dryRun"]), (res["fid"], True), doc)
        self.assertEqual(doc["plan"]["summary"]["create"], 0, doc)
        self.assertEqual(self.status_of("nw")["state"], "Suspended")
        doc = self.ok("resume", "nw", "--no-wait", "--json").json()
        self.assertEqual((doc["fid"], doc["state"]), (res["fid"], "Running"), doc)
        # update is refused (conflict) while the resume job runs: retried until accepted
        wait_until("update accepted", lambda: self.fugue("update", "nw", self.web3,
                                                         "--no-wait").rc == 0)
        wait_until("nw updated", lambda: self.status_of("nw")["counts"] ==
                   {"ready": 4, "total": 4})
        doc = self.ok("kill", "nw", "--dry-run", "--json").json()
        self.assertEqual(doc["plan"]["summary"]["delete"], 4, doc)
        doc = self.ok("kill", "nw", "-y", "--no-wait", "--json").json()
        self.assertEqual((doc["fid"], doc["state"]), (res["fid"], "Killing"), doc)
        wait_until("nw is gone", lambda: not self.exists("nw"))
        self.assertEqual(self.resources_of(res["fid"]), [])

    def test_resume_dry_run_shows_drift(self):
        res = self.start("sr-drift")
        self.c.ok("suspend", {"process": "sr-drift"})
        net = [x for x in self.resources_of(res["fid"]) if x["type"] == "Fake.Net.Network"][0]
        net["properties"]["name"] = "hacked"
        self.c.fake.write_resource(net)
        r = self.ok("resume", "sr-drift", "--dry-run")
        self.assertTrue(lines_matching(r.out, r"^\s*~ net \(Fake.Net.Network\)"), r.out)
        self.assertTrue(lines_matching(r.out, r'name: "hacked" %s "main"' % ARROW), r.out)

    # -- kill, release -------------------------------------------------------------------------

    def test_kill_needs_confirmation(self):
        res = self.start("kill-c")
        r = self.fugue("kill", "kill-c")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertIn("-y", r.err, "it says how to confirm without a terminal")
        self.assertTrue(self.exists("kill-c"))
        self.assertEqual(len(self.resources_of(res["fid"])), 3)
        r = self.fugue("kill", "kill-c", input="y\n")  # a pipe is no terminal either
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(self.exists("kill-c"))
        # on a terminal: asked; "n" keeps it, "y" kills it
        t = Pty(["kill", "kill-c"], base_env(self.c))
        t.read_until(lambda s: "?" in s, 30)
        t.write("n\n")
        rc, out = t.finish()
        self.assertEqual(rc, 1, out)
        self.assertIn("[y/N]", out)
        self.assertIn("kill-c", out)
        self.assertTrue(self.exists("kill-c"))
        t = Pty(["kill", "kill-c"], base_env(self.c))
        t.read_until(lambda s: "?" in s, 30)
        t.write("y\n")
        rc, out = t.finish()
        self.assertEqual(rc, 0, out)
        self.assertFalse(self.exists("kill-c"))
        self.assertEqual(self.resources_of(res["fid"]), [])

    def test_kill(self):
        res = self.start("kill-y")
        r = self.ok("kill", "kill-y", "--dry-run")
        for name in ("net", "sub", "srv"):
            self.assertTrue(lines_matching(r.out, r"^\s*- %s \(" % name), r.out)
        self.assertIn("Plan: 0 to create, 0 to update, 0 to replace, 3 to delete.", r.out)
        self.assertTrue(self.exists("kill-y"))
        r = self.ok("kill", "kill-y", "-y")
        self.assertNotIn("\r", r.out)
        self.assertFalse(self.exists("kill-y"))
        self.assertEqual(self.resources_of(res["fid"]), [])
        res = self.start("kill-j")
        r = self.ok("kill", "kill-j", "--yes", "--json")
        doc = r.json()
        self.assertEqual(doc["fid"], res["fid"])
        self.assertEqual(doc["state"], "Killed")
        r = self.fugue("kill", "kill-j", "-y")
        self.assertEqual(r.rc, 1, r)

    def test_kill_progress_on_a_terminal(self):
        self.start("kill-pty")
        self.c.fake.set_faults({"remove": {"*": {"delay_ms": 300}}})
        rc, out = on_pty(["kill", "kill-pty", "-y"], conductor=self.c)
        self.assertEqual(rc, 0, out)
        self.assertIn("\r", out)
        self.assertFalse(self.exists("kill-pty"))

    def test_update_progress_on_a_terminal(self):
        self.start("upd-pty")
        self.c.fake.set_faults({"create": {"*": {"delay_ms": 300}},
                                "update": {"*": {"delay_ms": 300}}})
        rc, out = on_pty(["update", "upd-pty", self.web3], conductor=self.c)
        self.assertEqual(rc, 0, out)
        self.assertIn("\r", out)
        self.assertRegex(on_screen(out), r"(?m)^~ net \(Fake.Net.Network\)", "the whole plan")
        self.assertRegex(out, SGR)
        self.assertEqual(self.status_of("upd-pty")["counts"], {"ready": 4, "total": 4})

    def test_release(self):
        res = self.start("rel")
        r = self.fugue("release", "rel")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("-y", r.err)
        self.assertTrue(self.exists("rel"))
        r = self.ok("release", "rel", "-y")
        self.assertIn("rel", r.out)
        self.assertRegex(r.out, r"\b3\b", "how many resources stay")
        self.assertFalse(self.exists("rel"))
        self.assertEqual(len(self.resources_of(res["fid"])), 3, "the resources stay")
        # history by FID still works
        r = self.ok("history", res["fid"], "--json")
        self.assertEqual(r.json()["entries"][0]["kind"], "release")
        res = self.start("rel-j")
        r = self.ok("release", "rel-j", "-y", "--json")
        doc = r.json()
        self.assertEqual(doc["fid"], res["fid"])
        self.assertEqual(doc["resources"], 3)

    # -- property, lock ------------------------------------------------------------------------

    def test_property(self):
        res = self.start("prop")
        r = self.ok("property", "prop")
        for key, value in (("alias", "prop"), ("lock", "off"), ("enforcement", "on")):
            self.assertTrue(lines_matching(r.out, r"^\s*%s\b.*\b%s\b" % (key, value)), r.out)
        r = self.ok("property", "prop", "--json")
        doc = r.json()
        self.assertEqual(doc, {"fid": res["fid"], "alias": "prop", "lock": False,
                               "enforcement": True})
        r = self.ok("property", "prop", "lock")
        self.assertIn("off", r.out)
        r = self.ok("property", "prop", "enforcement", "--set", "off")
        self.assertIs(self.status_of("prop")["enforcement"], False)
        r = self.ok("property", "prop", "enforcement", "--set", "on", "--json")
        self.assertIs(r.json()["enforcement"], True)
        r = self.ok("property", "prop", "alias", "--set", "prop2")
        self.assertTrue(self.exists("prop2"))
        self.assertFalse(self.exists("prop"))
        r = self.fugue("property", "prop2", "lock", "--set", "maybe")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("maybe", r.err)
        r = self.fugue("property", "prop2", "--set", "on")
        self.assertEqual(r.rc, 2, "--set without a KEY\n%r" % r)

    def test_lock_refuses_with_hint(self):
        self.start("locked")
        self.ok("property", "locked", "lock", "--set", "on")
        try:
            hint = "fugue property locked lock --set off"
            for args in (["suspend", "locked"], ["resume", "locked"], ["kill", "locked", "-y"],
                         ["release", "locked", "-y"], ["update", "locked", self.web3],
                         ["property", "locked", "enforcement", "--set", "off"]):
                with self.subTest(args=args):
                    r = self.fugue(*args)
                    self.assertEqual(r.rc, 1, r)
                    self.assertIn("locked", r.err)
                    self.assertIn(hint, r.err)
            r = self.fugue("suspend", "locked", "--json")
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(r.json()["error"]["code"], "locked")
            # reading is allowed
            self.ok("status", "locked")
            self.ok("history", "locked")
            self.ok("property", "locked")
            s = self.ok("status")
            self.assertTrue(lines_matching(s.out, r"locked.*\bl\s*e\b|\ble\b.*locked"), s.out)
        finally:
            self.ok("property", "locked", "lock", "--set", "off")
        self.ok("suspend", "locked")

    # -- runtime -------------------------------------------------------------------------------

    def test_runtime(self):
        r = self.ok("runtime", "list")
        for key in ("enforce.interval", "concurrency", "log.level", "enforce.interval.fake",
                    "concurrency.fake"):
            self.assertTrue(lines_matching(r.out, r"^\s*%s\s" % re.escape(key)), r.out)
        doc = self.ok("runtime", "list", "--json").json()
        self.assertIn("concurrency", doc["settings"])
        self.assertIn("concurrency", doc["defaults"])
        try:
            r = self.ok("runtime", "set", "concurrency", "4")
            self.assertIn("4", r.out)
            r = self.ok("runtime", "get", "concurrency")
            self.assertRegex(r.out, r"\b4\b")
            doc = self.ok("runtime", "get", "concurrency", "--json").json()
            self.assertEqual(str(doc["settings"]["concurrency"]), "4")
            r = self.fugue("runtime", "set", "concurrency", "0")
            self.assertEqual(r.rc, 2, r)
            self.assertIn("concurrency", r.err)
            r = self.fugue("runtime", "set", "log.level", "verbose")
            self.assertEqual(r.rc, 2, r)
            r = self.fugue("runtime", "get", "no.such.key")
            self.assertEqual(r.rc, 2, r)
            self.ok("runtime", "set", "log.level", "debug")
        finally:
            self.ok("runtime", "unset", "concurrency")
            self.ok("runtime", "unset", "log.level")
        doc = self.ok("runtime", "get", "concurrency", "--json").json()
        self.assertEqual(str(doc["settings"]["concurrency"]),
                         str(doc["defaults"]["concurrency"]))

    # -- graph of a process --------------------------------------------------------------------

    def test_graph_of_a_process(self):
        self.start("gr")
        r = self.ok("graph", "gr")
        Offline.assert_dot(self, r.out)

    # -- completion with a Conductor ---------------------------------------------------

    def test_completion_of_aliases(self):
        self.start("comp-web")
        script = os.path.join(SOURCE, "packaging", "completion", "fugue.bash")
        got = complete(script, "fugue status comp-")
        self.assertEqual(got, [], "no FUGUE_CONDUCTOR, no --conductor: nothing")
        got = complete(script, "fugue --conductor %s kill comp-" % self.c.socket_path)
        self.assertEqual(got, ["comp-web"])
        got = complete(script, "fugue property comp-", env={"FUGUE_CONDUCTOR": self.c.socket_path})
        self.assertEqual(got, ["comp-web"])
        got = complete(script, "fugue runtime get concurrency.",
                       env={"FUGUE_CONDUCTOR": self.c.socket_path})
        self.assertEqual(got, ["concurrency.fake"])

    # -- finding the Conductor -----------------------------------------------------------------

    def test_finding_the_conductor(self):
        real = self.c.socket_path
        bogus = "/nonexistent/c.sock"
        with TmpDir() as t:
            # --conductor wins over FUGUE_CONDUCTOR
            r = fugue(["--conductor", real, "status"], env={"FUGUE_CONDUCTOR": bogus})
            self.assertEqual(r.rc, 0, r)
            r = fugue(["status", "--conductor", real], env={"FUGUE_CONDUCTOR": bogus})
            self.assertEqual(r.rc, 0, "global options anywhere\n%r" % r)
            r = fugue(["--conductor=" + real, "status"], env={"FUGUE_CONDUCTOR": bogus})
            self.assertEqual(r.rc, 0, r)
            # ./fugue.yaml's conductor.socket
            t.write("fugue.yaml", "conductor:\n  socket: %s\n" % real)
            r = fugue(["status"], cwd=t.path)
            self.assertEqual(r.rc, 0, r)
            # FUGUE_CONDUCTOR wins over fugue.yaml
            r = fugue(["status"], cwd=t.path, env={"FUGUE_CONDUCTOR": bogus})
            self.assertEqual(r.rc, 3, r)
            self.assertIn(bogus, r.err)
            # a fugue.yaml naming a missing socket: the hint names the file
            t.write("fugue.yaml", "conductor:\n  socket: %s\n" % bogus)
            r = fugue(["status"], cwd=t.path)
            self.assertEqual(r.rc, 3, r)
            self.assertIn("fugue.yaml", r.err)
            # a broken fugue.yaml: usage error with its position
            t.write("fugue.yaml", "conductor:\n  socket: [unclosed\n")
            r = fugue(["status"], cwd=t.path)
            self.assertEqual(r.rc, 2, r)
            self.assertRegex(r.err, r"fugue\.yaml:\d+:\d+:")


if __name__ == "__main__":
    main()
