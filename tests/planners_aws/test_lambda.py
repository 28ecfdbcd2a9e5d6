#!/usr/bin/env python3
"""test_lambda.py - the lambda planner (AWS.Lambda.Function, AWS.Lambda.Permission)
through the real conductord against moto, with the iam planner loaded for the
function's role (!ref role.arn). The code is a zip built in the test's temporary
directory next to the composition file, named relative to it.

Function: create, a second plan with nothing to do, update in place (timeout,
variables, a new zip content at the same path), replace (functionName), drift
made with boto3 (timeout, variables, code) corrected with enforcement on and only
recorded with it off, kill leaves nothing. Permission: create, replace (principal),
replaced with its function, deleted. Sensitive variables never appear in any
reply, event, plan, status, history, `fugue` output, the conductord log (debug
level) or the state store. Validation errors with file:line:col; a role Lambda
cannot assume yet is waited for.

Run by ctest (FUGUE_PLANNER_LAMBDA, FUGUE_PLANNER_IAM, FUGUE_CLI and FUGUE_CONDUCTORD
set by tests/CMakeLists.txt), or by hand:
    FUGUE_PLANNER_LAMBDA=build/planners/lambda.so FUGUE_PLANNER_IAM=build/planners/iam.so \\
    FUGUE_CLI=build/cli/fugue \\
        tests/planners_aws/test_lambda.py --conductord build/daemon/conductord [Lambda.test_x]
"""

import base64
import hashlib
import io
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

from conductor import SLOW, WRAPPER, Conductor, HarnessError, main, wait_until  # noqa: E402

# Values that must never be seen outside AWS: declared sensitive, rotated, and
# one a person sets by hand (an undeclared variable counts as sensitive).
SECRET = "hunter2-Vq7Lx3p"
SECRET2 = "rotated-K9w2Pdm"
HAND = "by-hand-Tq4Rz8w"
SECRETS = (SECRET, SECRET2, HAND)

APP = """composition: lam
region: us-east-1
tags: {team: lam}
resources:
  role:
    type: AWS.IAM.Role
    assumeRolePolicy:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  fn:
    type: AWS.Lambda.Function
%(name)s    runtime: python3.12
    handler: index.handler
    role: !ref role.arn
    zipFile: %(zip)s
    timeout: %(timeout)d
    environment: {STAGE: %(stage)s}
    sensitiveEnvironment: {DB_PASSWORD: %(secret)s}
    description: test function
    tags: %(tags)s
  perm:
    type: AWS.Lambda.Permission
    function: !ref fn
    principal: %(principal)s
    sourceArn: arn:aws:s3:::lam-bucket
"""


def env_path(var):
    path = os.environ.get(var)
    if not path:
        raise HarnessError("%s is not set: run through ctest" % var)
    return path


def make_zip(path, body):
    """A zip with index.py returning BODY; its CodeSha256 (base64 SHA-256)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return %r\n" % body)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Lambda(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fugue-lambda-")
        self.path = os.path.join(self.dir, "app.yaml")
        os.mkdir(os.path.join(self.dir, "code"))
        self.sha1 = make_zip(os.path.join(self.dir, "code", "fn.zip"), "v1")
        self.seen = []  # every reply and event, checked for secrets at the end

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def conductor(self, **kw):
        return Conductor(moto=True, fake=False, args=["--log-level", "debug"],
                         planners=[env_path("FUGUE_PLANNER_LAMBDA"),
                                   env_path("FUGUE_PLANNER_IAM")], **kw)

    def source(self, name=None, timeout=10, stage="test", secret=SECRET,
               principal="s3.amazonaws.com", zip_path="code/fn.zip",
               tags="{app: demo, owner: ops}"):
        text = APP % {"name": "    functionName: %s\n" % name if name else "",
                      "zip": zip_path, "timeout": timeout, "stage": stage, "secret": secret,
                      "principal": principal, "tags": tags}
        with open(self.path, "w") as f:
            f.write(text)
        return text

    def request(self, c, command, args, timeout=300):
        events, final = c.request(command, args, timeout=timeout)
        self.seen.append(json.dumps([events, final]))
        self.assertTrue(final and final["ok"], (final, c.log()[-4000:]))
        return final["result"]

    def run_app(self, c, source):
        result = self.request(c, "run", {"source": source, "sourceName": self.path,
                                         "sourceDir": self.dir})
        self.assertEqual(result["message"], "SUCCEEDED", (result, c.log()[-4000:]))
        return result

    def update(self, c, source):
        result = self.request(c, "update", {"process": "lam", "source": source,
                                            "sourceName": self.path, "sourceDir": self.dir})
        self.assertEqual(result["message"], "SUCCEEDED", (result, c.log()[-4000:]))
        return result

    def plan(self, c, source):
        result = self.request(c, "update", {"process": "lam", "source": source,
                                            "sourceDir": self.dir, "dryRun": True})
        return {a["resource"]: a for a in result["plan"]["actions"]}

    def actions(self, c, source):
        return {k: a["action"] for k, a in self.plan(c, source).items()}

    def status(self, c):
        return {r["name"]: r for r in self.request(c, "status", {"process": "lam"})["resources"]}

    def history(self, c, kind=None):
        entries = self.request(c, "history", {"process": "lam", "limit": 0})["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    def enforce_every(self, c, seconds):
        c.ok("runtime", {"op": "set", "key": "enforce.interval", "value": str(seconds)})

    def fugue(self, c, *args):
        """The real `fugue` ARGS against C, from another directory than the
        composition's (relative paths must still be found). Its stdout."""
        rc, out, err = self.fugue_rc(c, *args)
        self.assertEqual(rc, 0, (args, out, err, c.log()[-4000:]))
        return out

    def fugue_rc(self, c, *args):
        """The same: (exit status, stdout, stderr)."""
        env = dict(os.environ)
        for var in ("NO_COLOR", "FUGUE_CONDUCTOR", "COLUMNS"):
            env.pop(var, None)
        env["LC_ALL"] = "C.UTF-8"
        env["FUGUE_PLANNERS_DIR"] = c.planners_dir
        argv = shlex.split(WRAPPER) + [env_path("FUGUE_CLI"), "--conductor", c.socket_path]
        p = subprocess.run(argv + list(args), env=env, cwd="/", stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300 * SLOW)
        self.seen.append(p.stdout + p.stderr)
        return p.returncode, p.stdout, p.stderr

    def config(self, lam, name):
        return lam.get_function_configuration(FunctionName=name)

    def variables(self, lam, name):
        return self.config(lam, name).get("Environment", {}).get("Variables", {})

    def statements(self, lam, name):
        try:
            return json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        except lam.exceptions.ResourceNotFoundException:
            return []

    def assert_no_secrets(self, c):
        """No secret in anything the Conductor said or logged, nor in its
        state store but in the declaration itself (the process's source and
        compiled composition, which it needs to enforce): applied and
        observed properties, journal and history hold digests."""
        texts = list(self.seen) + [c.log()]
        for secret in SECRETS:
            for text in texts:
                self.assertNotIn(secret, text, "a secret leaked: %s" % text[:2000])
        db = sqlite3.connect(os.path.join(c.state_dir, "conductor.db"))
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")]
            for table in tables:
                cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]
                for row in db.execute("SELECT * FROM %s" % table):
                    for col, value in zip(cols, row):
                        if (table, col) in (("processes", "source"), ("processes", "compiled")):
                            continue
                        for secret in SECRETS:
                            self.assertNotIn(secret, str(value),
                                             "a secret in the state store: %s.%s" % (table, col))
        finally:
            db.close()

    # -- the function's life ----------------------------------------------------------

    def test_function(self):
        with self.conductor() as c:
            lam = c.boto3("lambda")
            src = self.source()
            fid = self.run_app(c, src)["fid"]
            st = self.status(c)
            name = st["fn"]["id"]
            self.assertTrue(name.startswith("fn-"), name)
            self.assertEqual(st["fn"]["attributes"]["name"], name)
            self.assertEqual(st["fn"]["attributes"]["version"], "$LATEST")
            g = lam.get_function(FunctionName=name)
            conf = g["Configuration"]
            self.assertEqual(conf["FunctionArn"], st["fn"]["attributes"]["arn"])
            self.assertEqual((conf["Runtime"], conf["Handler"], conf["Timeout"],
                              conf["MemorySize"], conf["Description"]),
                             ("python3.12", "index.handler", 10, 128, "test function"))
            self.assertEqual(conf["Role"], st["role"]["attributes"]["arn"])
            self.assertEqual(conf["CodeSha256"], self.sha1)
            self.assertEqual(conf["Environment"]["Variables"],
                             {"STAGE": "test", "DB_PASSWORD": SECRET})
            self.assertEqual((g["Tags"]["app"], g["Tags"]["team"], g["Tags"]["fugue:fid"],
                              g["Tags"]["fugue:resource"]), ("demo", "lam", fid, "fn"))
            sts = self.statements(lam, name)
            self.assertEqual([s["Sid"] for s in sts], [st["perm"]["attributes"]["statementId"]])
            self.assertTrue(st["perm"]["id"].startswith("%s/%s/" % (name, sts[0]["Sid"])),
                            st["perm"])
            self.assertEqual(sts[0]["Principal"], {"Service": "s3.amazonaws.com"})
            self.assertEqual(set(self.actions(c, src).values()), {"none"})

            # In place: timeout, variables, tags, and a new content at the same path.
            sha2 = make_zip(os.path.join(self.dir, "code", "fn.zip"), "v2")
            src2 = self.source(timeout=20, stage="prod", secret=SECRET2,
                               tags="{app: demo2, tier: web}")
            plan = self.plan(c, src2)
            self.assertEqual((plan["fn"]["action"], plan["perm"]["action"]), ("update", "none"))
            self.assertEqual(sorted(ch["property"] for ch in plan["fn"]["changes"]),
                             ["environment", "sensitiveEnvironment", "tags", "timeout",
                              "zipFile"])
            self.update(c, src2)
            self.assertEqual(self.status(c)["fn"]["id"], name, "updated, not replaced")
            conf = self.config(lam, name)
            self.assertEqual((conf["Timeout"], conf["CodeSha256"]), (20, sha2))
            self.assertEqual(conf["Environment"]["Variables"],
                             {"STAGE": "prod", "DB_PASSWORD": SECRET2})
            tags = lam.list_tags(Resource=conf["FunctionArn"])["Tags"]
            self.assertEqual((tags["app"], tags["tier"], tags["team"], "owner" in tags),
                             ("demo2", "web", "lam", False))
            self.assertEqual(set(self.actions(c, src2).values()), {"none"})
            # the zip moved (same content): nothing to do either
            os.rename(os.path.join(self.dir, "code", "fn.zip"), os.path.join(self.dir, "fn.zip"))
            moved = self.source(timeout=20, stage="prod", secret=SECRET2, zip_path="fn.zip",
                                tags="{app: demo2, tier: web}")
            self.assertEqual(set(self.actions(c, moved).values()), {"none"})
            self.update(c, moved)

            # Drift, enforcement on: restored.
            self.enforce_every(c, 0.5)
            lam.update_function_configuration(
                FunctionName=name, Timeout=99,
                Environment={"Variables": {"STAGE": "hacked", "DB_PASSWORD": SECRET2,
                                           "EXTRA": HAND}})
            wait_until("timeout and variables to be restored", lambda: (
                self.config(lam, name)["Timeout"] == 20 and
                self.variables(lam, name) == {"STAGE": "prod", "DB_PASSWORD": SECRET2}),
                timeout=60)
            drift = wait_until("a drift entry", lambda: self.history(c, "drift"), timeout=60)
            self.assertIn("corrected", drift[0]["summary"])
            make_zip(os.path.join(self.dir, "other.zip"), "by hand")
            with open(os.path.join(self.dir, "other.zip"), "rb") as f:
                lam.update_function_code(FunctionName=name, ZipFile=f.read())
            wait_until("the code to be restored",
                       lambda: self.config(lam, name)["CodeSha256"] == sha2, timeout=60)

            # Report only: recorded, left alone, shown in status.
            c.ok("property", {"process": "lam", "key": "enforcement", "value": "off"})
            lam.update_function_configuration(FunctionName=name, Timeout=42)
            wait_until("a report-only drift entry", lambda: [
                e for e in self.history(c, "drift")[:1]
                if "enforcement off" in e["summary"]], timeout=60)
            time.sleep(1.5)  # several passes: none may change anything
            self.assertEqual(self.config(lam, name)["Timeout"], 42)
            drifted = self.status(c)["fn"]["drift"]
            self.assertEqual([(d["property"], d["declared"], d["actual"]) for d in drifted],
                             [("timeout", 20, 42)])
            c.ok("property", {"process": "lam", "key": "enforcement", "value": "on"})
            wait_until("the timeout to be restored",
                       lambda: self.config(lam, name)["Timeout"] == 20, timeout=60)
            # the pass that restored it has ended (and recorded what it did)
            wait_until("a clean pass", lambda: c.ok("status", {"process": "lam"})["drift"] == 0,
                       timeout=60)
            self.enforce_every(c, 3600)

            # A new principal replaces the permission.
            src3 = self.source(timeout=20, stage="prod", secret=SECRET2, zip_path="fn.zip",
                               principal="events.amazonaws.com", tags="{app: demo2, tier: web}")
            self.assertEqual(self.actions(c, src3), {"role": "none", "fn": "none",
                                                     "perm": "replace"})
            self.update(c, src3)
            sts = self.statements(lam, name)
            self.assertEqual([s["Principal"] for s in sts], [{"Service": "events.amazonaws.com"}])
            self.assertEqual(set(self.actions(c, src3).values()), {"none"})

            # A declared name replaces the function, and its permission with it.
            src4 = self.source(name="lam-renamed", timeout=20, stage="prod", secret=SECRET2,
                               zip_path="fn.zip", principal="events.amazonaws.com",
                               tags="{app: demo2, tier: web}")
            self.assertEqual(self.actions(c, src4), {"role": "none", "fn": "replace",
                                                     "perm": "replace"})
            self.update(c, src4)
            st = self.status(c)
            self.assertEqual(st["fn"]["id"], "lam-renamed")
            self.assertEqual([f["FunctionName"] for f in lam.list_functions()["Functions"]],
                             ["lam-renamed"])
            self.assertEqual(self.variables(lam, "lam-renamed"),
                             {"STAGE": "prod", "DB_PASSWORD": SECRET2})
            self.assertEqual(len(self.statements(lam, "lam-renamed")), 1)
            self.assertEqual(set(self.actions(c, src4).values()), {"none"})

            # No longer declared: the permission is removed, the function stays.
            no_perm = src4[:src4.index("  perm:")]
            self.assertEqual(self.actions(c, no_perm)["perm"], "delete")
            self.update(c, no_perm)
            self.assertEqual(self.statements(lam, "lam-renamed"), [])

            self.request(c, "kill", {"process": "lam"})
            self.assertEqual(lam.list_functions()["Functions"], [])
            role = st["role"]["attributes"]["name"]
            self.assertNotIn(role, [r["RoleName"] for r in c.boto3("iam").list_roles()["Roles"]])
            self.assert_no_secrets(c)

    # -- secrets through the real fugue ---------------------------------------------

    def test_secrets_in_fugue_output(self):
        with self.conductor() as c:
            lam = c.boto3("lambda")
            self.source()
            out = self.fugue(c, "run", self.path)
            self.assertIn("converged", out)
            name = self.status(c)["fn"]["id"]
            self.assertEqual(self.variables(lam, name)["DB_PASSWORD"], SECRET)
            self.fugue(c, "status", "lam")
            self.fugue(c, "--json", "status", "lam")
            self.source(secret=SECRET2)
            out = self.fugue(c, "update", "--dry-run", "lam", self.path)
            self.assertIn("sensitiveEnvironment", out)
            self.assertIn("(sensitive)", out)
            self.fugue(c, "--json", "update", "--dry-run", "lam", self.path)
            self.fugue(c, "update", "lam", self.path)
            self.assertEqual(self.variables(lam, name)["DB_PASSWORD"], SECRET2)
            # a variable set by hand shows up as drift, its value masked
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": {
                "STAGE": "test", "DB_PASSWORD": SECRET2, "EXTRA": HAND}})
            c.ok("property", {"process": "lam", "key": "enforcement", "value": "off"})
            self.enforce_every(c, 0.5)
            wait_until("the drift to be reported", lambda: self.history(c, "drift"), timeout=60)
            out = self.fugue(c, "status", "lam")
            self.fugue(c, "--json", "status", "lam")
            self.fugue(c, "history", "lam")
            self.fugue(c, "--json", "history", "lam")
            drift = self.status(c)["fn"]["drift"]
            self.assertEqual([(d["property"], d["actual"]) for d in drift],
                             [("sensitiveEnvironment", {"DB_PASSWORD": "(sensitive)",
                                                        "EXTRA": "(sensitive)"})])
            self.fugue(c, "kill", "-y", "lam")
            self.assertEqual(lam.list_functions()["Functions"], [])
            self.assert_no_secrets(c)

    # -- eventual consistency ------------------------------------------------------

    def test_role_not_assumable_yet(self):
        """CreateFunction refused because Lambda cannot assume the role (it
        does not exist yet, as a new role right after IAM made it): waited for."""
        with self.conductor() as c:
            iam = c.boto3("iam")
            arn = "arn:aws:iam::123456789012:role/late-role"
            src = self.source().replace("role: !ref role.arn", "role: " + arn)
            later = threading.Timer(3.0, lambda: iam.create_role(
                RoleName="late-role", AssumeRolePolicyDocument="{}"))
            later.start()
            try:
                started = time.monotonic()
                self.run_app(c, src)
                self.assertGreater(time.monotonic() - started, 2.5)
            finally:
                later.cancel()
            name = self.status(c)["fn"]["id"]
            self.assertEqual(self.config(c.boto3("lambda"), name)["Role"], arn)
            self.request(c, "kill", {"process": "lam"})

    # -- code from S3 ----------------------------------------------------------------

    def test_s3_code(self):
        with self.conductor() as c:
            s3, lam = c.boto3("s3"), c.boto3("lambda")
            s3.create_bucket(Bucket="lam-code")
            for key, body in (("v1.zip", "s3 v1"), ("v2.zip", "s3 v2")):
                sha = make_zip(os.path.join(self.dir, key), body)
                with open(os.path.join(self.dir, key), "rb") as f:
                    s3.put_object(Bucket="lam-code", Key=key, Body=f.read())
                if key == "v2.zip":
                    sha2 = sha
            src = self.source().replace("zipFile: code/fn.zip",
                                        "s3Bucket: lam-code\n    s3Key: v1.zip")
            self.run_app(c, src)
            name = self.status(c)["fn"]["id"]
            self.assertEqual(set(self.actions(c, src).values()), {"none"})
            src2 = src.replace("v1.zip", "v2.zip")
            self.assertEqual(self.actions(c, src2)["fn"], "update")
            self.update(c, src2)
            self.assertEqual(self.config(lam, name)["CodeSha256"], sha2)
            self.assertEqual(set(self.actions(c, src2).values()), {"none"})
            self.request(c, "kill", {"process": "lam"})
            self.assertEqual(lam.list_functions()["Functions"], [])

    # -- validation ------------------------------------------------------------------

    def test_validation(self):
        with self.conductor() as c:
            bad = (self.source()
                   .replace("timeout: 10", "timeout: 1000\n    memorySize: 64")
                   .replace("role: !ref role.arn", "role: !ref role")
                   .replace("STAGE: test", "STAGE: test, 9lives: x, DB_PASSWORD: y")
                   .replace("principal: s3.amazonaws.com", "principal: s3.amazonaws.com\n"
                            "    sourceAccount: '12345'"))
            events, final = c.request("run", {"source": bad, "sourceName": "lam.yaml",
                                              "sourceDir": self.dir}, timeout=60)
            self.assertFalse(final["ok"], final)
            diags = {(d["line"], d["message"].split(": ")[1])
                     for d in final["error"]["details"]["diagnostics"]}
            self.assertEqual(diags, {(15, "role"), (17, "timeout"), (18, "memorySize"),
                                     (19, "environment.9lives"),
                                     (19, "environment.DB_PASSWORD"), (27, "sourceAccount")},
                             final)
            self.assertTrue(final["error"]["message"].startswith("lam.yaml:15:11: "), final)
            # a zip that is not there, at the value's position
            events, final = c.request("run", {
                "source": self.source(zip_path="code/nope.zip"), "sourceName": "lam.yaml",
                "sourceDir": self.dir}, timeout=60)
            self.assertFalse(final["ok"], final)
            self.assertEqual(final["error"]["message"],
                             "lam.yaml:16:14: property 'zipFile' of AWS.Lambda.Function: "
                             "cannot read '%s/code/nope.zip': no such file or directory"
                             % self.dir)
            # a relative path with no directory to resolve it against
            events, final = c.request("run", {"source": self.source(), "sourceName": "lam.yaml"},
                                      timeout=60)
            self.assertFalse(final["ok"], final)
            self.assertIn("lam.yaml:16:14: ", final["error"]["message"])
            self.assertIn("directory is not known", final["error"]["message"])
            # both code sources, and neither
            both = self.source().replace("zipFile: code/fn.zip",
                                         "zipFile: code/fn.zip\n    s3Bucket: b\n    s3Key: k")
            events, final = c.request("run", {"source": both, "sourceName": "lam.yaml",
                                              "sourceDir": self.dir}, timeout=60)
            self.assertIn("not both", json.dumps(final))
            self.assertIn("lam.yaml:16:", json.dumps(final))
            # offline, from another directory: the zip relative to the file
            self.source()
            self.assertIn("3 resources, valid", self.fugue(c, "validate", self.path))
            self.source(zip_path="code/nope.zip")
            rc, out, err = self.fugue_rc(c, "validate", self.path)
            self.assertEqual(rc, 1, (out, err))
            self.assertIn("%s:16:14: property 'zipFile' of AWS.Lambda.Function: cannot read "
                          "'%s/code/nope.zip'" % (self.path, os.path.realpath(self.dir)),
                          out + err)
            none = self.source().replace("    zipFile: code/fn.zip\n", "")
            events, final = c.request("run", {"source": none, "sourceName": "lam.yaml",
                                              "sourceDir": self.dir}, timeout=60)
            self.assertIn("needs its code", json.dumps(final))
            self.assertEqual(c.boto3("lambda").list_functions()["Functions"], [])


if __name__ == "__main__":
    main()
