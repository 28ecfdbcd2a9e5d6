#!/usr/bin/env python3
"""demo.py - `make demo`: examples/webapp.yaml run, enforced and killed
against moto on loopback, with a private Conductor.

    scripts/demo.py [--build DIR] [--keep]

Steps (each printed as it happens):
  1. start moto on 127.0.0.1 (a free port) and conductord pointed at it:
     the planners of DIR/planners, its socket and state in a fresh
     temporary directory, enforcement every few seconds;
  2. `fugue run examples/webapp.yaml`, its progress as it goes;
  3. `fugue status webapp`;
  4. drift made by hand, behind the Conductor's back, with boto3: the load
     balancer's HTTP rule revoked from its security group, web-2
     deregistered from the load balancer, the function's timeout changed;
  5. the next enforcement cycle puts it back: `fugue history webapp`;
  6. `fugue kill webapp`, then every service is asked for anything still
     tagged with the process's fid: nothing is left.
Whatever happens (a failure, Ctrl-C, SIGTERM), the Conductor and moto it
started are stopped and the temporary directory removed (--keep keeps it,
with the Conductor's and moto's logs, and says where).
Exit 0 when every step did what it should, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "tools"))

import with_moto  # noqa: E402

COMPOSITION = os.path.join("examples", "webapp.yaml")
ALIAS = "webapp"
ENFORCE_SECONDS = 5


class DemoError(RuntimeError):
    """A step did not do what it should; the message says what."""


def say(text):
    print("\n\033[1m==> %s\033[0m" % text if sys.stdout.isatty() else "\n==> %s" % text,
          flush=True)


def note(text):
    print("    " + text, flush=True)


class Demo:
    def __init__(self, build, keep):
        self.build = os.path.abspath(build)
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="fugue-demo-")
        self.socket = os.path.join(self.tmp, "conductor.sock")
        self.moto = None
        self.moto_url = None
        self.conductord = None
        self.logs = []
        self.fid = None

    # -- the two servers -------------------------------------------------------

    def start_moto(self):
        log = open(os.path.join(self.tmp, "moto.log"), "w")
        self.logs.append(log)
        try:
            self.moto, self.moto_url = with_moto.start_moto(None, log)
        except with_moto.MotoError as e:
            raise DemoError(str(e)) from None
        empty = os.path.join(self.tmp, "aws-empty")
        open(empty, "w").close()
        self.env = with_moto.moto_env(self.moto_url, empty)
        for var in [v for v in self.env if v.startswith("AWS_ENDPOINT_URL_")]:
            self.env.pop(var)
        self.env["AWS_REGION"] = "us-east-1"
        self.env["FUGUE_CONDUCTOR"] = self.socket
        self.env["FUGUE_PLANNERS_DIR"] = os.path.join(self.build, "planners")
        self.env.pop("NOTIFY_SOCKET", None)
        note("moto: %s (its log: %s)" % (self.moto_url, log.name))

    def start_conductord(self):
        binary = os.path.join(self.build, "daemon", "conductord")
        planners = os.path.join(self.build, "planners")
        if not os.access(binary, os.X_OK):
            raise DemoError("%s is missing: build first (make)" % binary)
        argv = [binary, "--foreground", "--socket", self.socket,
                "--state-dir", os.path.join(self.tmp, "state"), "--planners-dir", planners,
                "--enforce-interval", str(ENFORCE_SECONDS)]
        log = open(os.path.join(self.tmp, "conductord.log"), "w")
        self.logs.append(log)
        self.conductord = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.conductord.poll() is not None:
                raise DemoError("conductord exited with %d:\n%s"
                                % (self.conductord.returncode, self.tail(log.name)))
            if os.path.exists(self.socket) and self.fugue_json("status") is not None:
                note("conductord: %s, planners %s (its log: %s)"
                     % (self.socket, ", ".join(sorted(p[:-3] for p in os.listdir(planners)
                                                       if p.endswith(".so"))), log.name))
                return
            time.sleep(0.1)
        raise DemoError("conductord did not answer on %s within 30 s:\n%s"
                        % (self.socket, self.tail(log.name)))

    @staticmethod
    def tail(path, lines=20):
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        if self.conductord and self.conductord.poll() is None:
            os.killpg(self.conductord.pid, signal.SIGTERM)
            try:
                self.conductord.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.conductord.pid, signal.SIGKILL)
                self.conductord.wait()
        if self.moto:
            with_moto.stop(self.moto)
        for log in self.logs:
            log.close()
        if self.keep:
            print("\nkept %s (conductord.log, moto.log, state/)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- fugue and AWS ------------------------------------------------------------

    def fugue(self, *args, check=True):
        """Runs the fugue CLI with its output on the terminal."""
        cmd = [os.path.join(self.build, "cli", "fugue")] + list(args)
        print("$ fugue " + " ".join(args), flush=True)
        rc = subprocess.call(cmd, env=self.env, cwd=TOP, stdin=subprocess.DEVNULL)
        if check and rc != 0:
            raise DemoError("`fugue %s` failed (exit %d)" % (" ".join(args), rc))
        return rc

    def fugue_json(self, *args):
        """The --json answer of a fugue command, None when it failed."""
        cmd = [os.path.join(self.build, "cli", "fugue"), "--json"] + list(args)
        p = subprocess.run(cmd, env=self.env, cwd=TOP, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def aws(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def resource_ids(self):
        """{resource name: AWS id} of the process, from `fugue status`."""
        st = self.fugue_json("status", ALIAS) or {}
        return {r["name"]: r.get("id") for r in st.get("resources", [])}

    # -- the steps -------------------------------------------------------------------

    def run(self):
        say("starting moto (the AWS) and a private Conductor")
        self.start_moto()
        self.start_conductord()

        say("fugue run %s: the Conductor creates it, in dependency order" % COMPOSITION)
        self.fugue("run", COMPOSITION)
        st = self.fugue_json("status", ALIAS)
        if not st:
            raise DemoError("`fugue status %s` gave no answer after the run" % ALIAS)
        self.fid = st["fid"]

        say("fugue status: every resource with its AWS id")
        self.fugue("status", ALIAS)

        say("drift: three changes made by hand, behind the Conductor's back")
        since = len(self.history())
        self.make_drift()

        say("the next enforcement cycle (every %d s) finds the drift and puts it back"
            % ENFORCE_SECONDS)
        self.wait_corrected(since)
        self.fugue("history", ALIAS, "-n", "3")
        self.check_corrected()

        say("fugue kill: everything is deleted, in reverse dependency order")
        self.fugue("kill", ALIAS, "-y")

        say("nothing is left: every service asked for what carries fugue:fid=%s" % self.fid)
        self.check_nothing_left()
        say("demo done: created, enforced, killed")

    def history(self):
        h = self.fugue_json("history", ALIAS, "-n", "0") or {}
        return h.get("entries", [])

    def make_drift(self):
        ids = self.resource_ids()
        ec2, elb, lam = self.aws("ec2"), self.aws("elb"), self.aws("lambda")
        note("aws ec2 revoke-security-group-ingress --group-id %s "
             "--protocol tcp --port 80 --cidr 0.0.0.0/0" % ids["lb-sg"])
        ec2.revoke_security_group_ingress(GroupId=ids["lb-sg"], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        note("aws elb deregister-instances-from-load-balancer --load-balancer-name %s "
             "--instances %s" % (ids["lb"], ids["web-2"]))
        elb.deregister_instances_from_load_balancer(LoadBalancerName=ids["lb"],
                                                    Instances=[{"InstanceId": ids["web-2"]}])
        fn = self.function_name()
        note("aws lambda update-function-configuration --function-name %s --timeout 60" % fn)
        lam.update_function_configuration(FunctionName=fn, Timeout=60)

    def function_name(self):
        st = self.fugue_json("status", ALIAS) or {}
        for r in st.get("resources", []):
            if r["name"] == "api":
                attrs = r.get("attributes") or {}
                return attrs.get("name") or attrs.get("functionName") or r.get("id")
        raise DemoError("the process has no resource 'api'")

    def wait_corrected(self, since, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.history()
            new = entries[:max(0, len(entries) - since)]
            if any(e.get("kind") == "drift" and "corrected" in (e.get("summary") or "")
                   and "not corrected" not in (e.get("summary") or "") for e in new):
                return
            time.sleep(1)
        raise DemoError("no corrected drift in the history within %d s" % timeout)

    def check_corrected(self):
        ids = self.resource_ids()
        rules = self.aws("ec2").describe_security_groups(
            GroupIds=[ids["lb-sg"]])["SecurityGroups"][0]["IpPermissions"]
        http = [r for r in rules if r.get("FromPort") == 80 and
                any(x.get("CidrIp") == "0.0.0.0/0" for x in r.get("IpRanges", []))]
        lb = self.aws("elb").describe_load_balancers(
            LoadBalancerNames=[ids["lb"]])["LoadBalancerDescriptions"][0]
        registered = {i["InstanceId"] for i in lb["Instances"]}
        timeout = self.aws("lambda").get_function_configuration(
            FunctionName=self.function_name())["Timeout"]
        note("checked in AWS: lb-sg allows HTTP: %s; web-2 registered: %s; api timeout: %d s"
             % ("yes" if http else "NO", "yes" if ids["web-2"] in registered else "NO",
                timeout))
        if not http or ids["web-2"] not in registered or timeout != 10:
            raise DemoError("the drift was not put back")

    def check_nothing_left(self):
        ec2, elb, iam, lam = (self.aws(s) for s in ("ec2", "elb", "iam", "lambda"))
        tag = [{"Name": "tag:fugue:fid", "Values": [self.fid]}]

        def ours(tags):
            return any(t.get("Key") == "fugue:fid" and t.get("Value") == self.fid
                       for t in tags or [])

        counts = {
            "EC2 instances (not terminated)": sum(
                1 for r in ec2.describe_instances(Filters=tag)["Reservations"]
                for i in r["Instances"] if i["State"]["Name"] != "terminated"),
            "VPCs": len(ec2.describe_vpcs(Filters=tag)["Vpcs"]),
            "subnets": len(ec2.describe_subnets(Filters=tag)["Subnets"]),
            "security groups": len(ec2.describe_security_groups(Filters=tag)["SecurityGroups"]),
            "internet gateways": len(ec2.describe_internet_gateways(
                Filters=tag)["InternetGateways"]),
            "route tables": len(ec2.describe_route_tables(Filters=tag)["RouteTables"]),
            "load balancers": len(elb.describe_load_balancers()["LoadBalancerDescriptions"]),
            "IAM roles": sum(1 for r in iam.list_roles()["Roles"]
                             if ours(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])),
            "IAM instance profiles": len(iam.list_instance_profiles()["InstanceProfiles"]),
            "Lambda functions": len(lam.list_functions()["Functions"]),
        }
        for what, n in counts.items():
            note("%-32s %d" % (what, n))
        left = {k: n for k, n in counts.items() if n}
        if left:
            raise DemoError("left behind after kill: %s" % left)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the build directory (default: build)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and state")
    args = ap.parse_args()
    os.chdir(TOP)

    def interrupted(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, interrupted)

    demo = Demo(args.build, args.keep)
    try:
        demo.run()
        return 0
    except DemoError as e:
        print("\ndemo: error: %s" % e, file=sys.stderr)
        demo.keep = True
        return 1
    except KeyboardInterrupt:
        print("\ndemo: interrupted", file=sys.stderr)
        return 1
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
