#!/usr/bin/env python3
"""seed_corpus.py - (re)writes the seed inputs of the fuzz corpora in
tests/fuzz/corpus/<target>/ (files named seed-*; inputs the fuzzers found
are kept beside them under their hash names, regression inputs as
regress-*).

    tests/fuzz/seed_corpus.py [--out tests/fuzz/corpus]

  xml       AWS answers recorded from moto: EC2, IAM and ELB calls made with
            boto3 through a recording proxy (successes and errors), as the
            SDK receives them
  json      the same for Lambda (rest-json) and DynamoDB (JSON 1.0); an
            error whose code travels in x-amzn-ErrorType is written as
            "T:<header>\\n<body>", the form fuzz_json reads
  compiler  the compositions in the tree: examples/, tests/compositions/
            good and bad, two generated ones (gen_composition.py) and the
            fake planner's composition of tests/e2e/test_crash.py
  protocol  request lines a client sends: every command, good and bad

Needs moto and boto3 (the tests' own requirements). Only the standard
library otherwise.
"""

import argparse
import glob
import hashlib
import http.client
import http.server
import io
import json
import os
import re
import shutil
import socketserver
import sys
import tempfile
import threading
import urllib.parse
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "tools"))

MAX_BODY = 32 * 1024


class Recorder:
    """A proxy to moto that keeps every answer: (label, status, headers, body)."""

    def __init__(self, upstream):
        u = urllib.parse.urlparse(upstream)
        self.upstream = (u.hostname, u.port)
        self.answers = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                conn = http.client.HTTPConnection(*rec.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                m = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body)
                label = m.group(1).decode() if m else (
                    self.headers.get("X-Amz-Target", "").split(".")[-1] or
                    "_".join([self.command] + self.path.split("?")[0].strip("/").split("/")[1:4]))
                rec.answers.append((label, r.status, dict(r.getheaders()), data))
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                         "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def attempt(call):
    """CALL(); an AWS error answer is what we want to record too."""
    try:
        return call()
    except Exception as e:  # botocore ClientError and friends
        return e


def drive(url):
    import boto3
    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    ec2, iam, elb = boto3.client("ec2", **kw), boto3.client("iam", **kw), boto3.client("elb", **kw)
    lam, ddb = boto3.client("lambda", **kw), boto3.client("dynamodb", **kw)
    tags = [{"Key": "fugue:fid", "Value": "0f1e2d3c-0000-4000-8000-000000000001"},
            {"Key": "fugue:resource", "Value": "net"}]

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
    ec2.describe_vpcs(Filters=[{"Name": "tag:fugue:fid", "Values": [tags[0]["Value"]]}])
    ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsSupport")
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                            AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    ec2.describe_subnets()
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.describe_internet_gateways()
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=sub)
    ec2.describe_route_tables()
    sg = ec2.create_security_group(VpcId=vpc, GroupName="web", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    ec2.describe_security_groups(GroupIds=[sg])
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    ec2.describe_volumes()
    inst = ec2.run_instances(ImageId="ami-04681a1dbd79675a5", InstanceType="t3.micro",
                             MinCount=1, MaxCount=1, SubnetId=sub, ClientToken="tok-1",
                             TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    iid = inst["Instances"][0]["InstanceId"]
    ec2.describe_instances(MaxResults=5)
    ec2.create_key_pair(KeyName="deployer")
    attempt(lambda: ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"]))
    attempt(lambda: ec2.delete_vpc(VpcId=vpc))  # DependencyViolation
    attempt(lambda: ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24"))

    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=doc, Tags=tags)["Role"]
    iam.get_role(RoleName="app")
    iam.list_roles()
    iam.list_role_tags(RoleName="app")
    attempt(lambda: iam.put_role_policy(RoleName="app", PolicyName="inline",
                                        PolicyDocument=doc))  # MalformedPolicyDocument
    iam.list_role_policies(RoleName="app")
    pol = iam.create_policy(PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": "*"}]}))["Policy"]["Arn"]
    iam.get_policy(PolicyArn=pol)
    iam.get_policy_version(PolicyArn=pol, VersionId="v1")
    iam.attach_role_policy(RoleName="app", PolicyArn=pol)
    iam.list_attached_role_policies(RoleName="app")
    iam.create_instance_profile(InstanceProfileName="app", Tags=tags)
    iam.add_role_to_instance_profile(InstanceProfileName="app", RoleName="app")
    iam.get_instance_profile(InstanceProfileName="app")
    iam.get_account_authorization_details(Filter=["Role"])
    attempt(lambda: iam.get_role(RoleName="missing"))
    attempt(lambda: iam.create_role(RoleName="app", AssumeRolePolicyDocument=doc))
    attempt(lambda: iam.delete_role(RoleName="app"))  # DeleteConflict

    elb.create_load_balancer(LoadBalancerName="front", Subnets=[sub], SecurityGroups=[sg],
                             Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                         "InstancePort": 80}], Tags=tags)
    elb.register_instances_with_load_balancer(LoadBalancerName="front",
                                              Instances=[{"InstanceId": iid}])
    elb.configure_health_check(LoadBalancerName="front", HealthCheck={
        "Target": "HTTP:80/", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2,
        "HealthyThreshold": 2})
    elb.describe_load_balancers()
    elb.describe_tags(LoadBalancerNames=["front"])
    elb.describe_load_balancer_attributes(LoadBalancerName="front")
    attempt(lambda: elb.describe_load_balancers(LoadBalancerNames=["missing"]))
    ec2.terminate_instances(InstanceIds=[iid])

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("hello.py", "def handler(event, context):\n    return 'hi'\n")
    lam.create_function(FunctionName="hello", Runtime="python3.11", Role=role["Arn"],
                        Handler="hello.handler", Code={"ZipFile": code.getvalue()},
                        Environment={"Variables": {"STAGE": "demo"}}, Tags={"team": "web"})
    lam.get_function(FunctionName="hello")
    lam.get_function_configuration(FunctionName="hello")
    lam.list_functions()
    lam.list_tags(Resource=lam.get_function(FunctionName="hello")["Configuration"]["FunctionArn"])
    lam.add_permission(FunctionName="hello", StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com")
    lam.get_policy(FunctionName="hello")
    attempt(lambda: lam.get_function(FunctionName="missing"))
    attempt(lambda: lam.create_function(FunctionName="hello", Runtime="python3.11",
                                        Role=role["Arn"], Handler="h.h",
                                        Code={"ZipFile": code.getvalue()}))
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.list_tables()
    ddb.describe_table(TableName="t")
    ddb.put_item(TableName="t", Item={"k": {"S": "a"}, "n": {"M": {"x": {"L": [{"N": "1"}]}}}})
    ddb.get_item(TableName="t", Key={"k": {"S": "a"}})
    attempt(lambda: ddb.describe_table(TableName="missing"))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def clean(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "seed-*")):
        os.unlink(old)


def record(out):
    import with_moto
    tmp = tempfile.mkdtemp(prefix="fugue-seed-")
    log = open(os.path.join(tmp, "moto.log"), "w")
    proc, url = with_moto.start_moto(None, log)
    rec = Recorder(url)
    try:
        drive(rec.url)
    finally:
        rec.close()
        with_moto.stop(proc)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    xml_dir, json_dir = os.path.join(out, "xml"), os.path.join(out, "json")
    clean(xml_dir)
    clean(json_dir)
    seen = set()
    for label, status, headers, body in rec.answers:
        if not body or len(body) > MAX_BODY or (label, status) in seen:
            continue
        seen.add((label, status))
        name = "seed-%s-%d" % (re.sub(r"[^A-Za-z0-9_]", "", label)[:40], status)
        if body.lstrip().startswith(b"<"):
            write(os.path.join(xml_dir, name + ".xml"), body)
        else:
            etype = {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype")
            data = (b"T:" + etype.encode() + b"\n" + body) if etype else body
            write(os.path.join(json_dir, name + ".json"), data)


def compositions(out):
    import gen_composition
    d = os.path.join(out, "compiler")
    clean(d)
    files = (glob.glob(os.path.join(SOURCE, "examples", "*.yaml")) +
             glob.glob(os.path.join(SOURCE, "tests", "compositions", "*", "*.yaml")))
    for path in sorted(files):
        rel = os.path.relpath(path, SOURCE).replace(os.sep, "-")
        shutil.copyfile(path, os.path.join(d, "seed-" + rel))
    write(os.path.join(d, "seed-gen-20.yaml"), gen_composition.generate(20).encode())
    write(os.path.join(d, "seed-gen-20-no-instances.yaml"),
          gen_composition.generate(20, instances=False).encode())
    with open(os.path.join(SOURCE, "tests", "e2e", "test_crash.py")) as f:
        crash = re.search(r'COMPOSITION = """(.*?)"""', f.read(), re.S).group(1)
    write(os.path.join(d, "seed-fake-crash.yaml"), crash.encode())


def requests(out):
    d = os.path.join(out, "protocol")
    clean(d)
    with open(os.path.join(SOURCE, "examples", "network.yaml")) as f:
        network = f.read()

    def req(command, args=None, rid="c1"):
        msg = {"protocol": 1, "id": rid, "command": command}
        if args is not None:
            msg["args"] = args
        return json.dumps(msg)

    lines = {
        "ping": req("ping"),
        "status": req("status") + "\n" + req("status", {"process": "network"}, "c2"),
        "history": req("history", {"process": "network", "limit": 5}),
        "run": req("run", {"source": network, "sourceName": "network.yaml",
                           "alias": "net", "wait": False}),
        "run-dry": req("run", {"source": network, "dryRun": True}),
        "update": req("update", {"process": "net", "source": network, "dryRun": True}),
        "suspend-resume": req("suspend", {"process": "net"}) + "\n" +
                          req("resume", {"process": "net", "wait": True}, "c2"),
        "kill": req("kill", {"process": "0f1e2d3c-0000-4000-8000-000000000001"}),
        "release": req("release", {"process": "net"}),
        "property": req("property", {"process": "net", "key": "lock", "value": "on"}),
        "runtime": "\n".join([req("runtime", {"op": "list"}, "a"),
                              req("runtime", {"op": "get", "key": "concurrency"}, "b"),
                              req("runtime", {"op": "set", "key": "enforce.interval.vpc",
                                              "value": "0.5"}, "c"),
                              req("runtime", {"op": "unset", "key": "log.level"}, "d")]),
        "bad-protocol": '{"protocol": 2, "id": "x", "command": "ping"}',
        "bad-json": '{"protocol": 1, "id": "x", "command": "ping",}',
        "bad-args": req("status", {"process": 7, "extra": [1, {"a": None}]}),
        "unknown": req("launch", {}, None),
        "pipelined": "\n".join(req("ping", None, "p%d" % i) for i in range(3)) + "\n\n \r\n",
    }
    for name, text in lines.items():
        write(os.path.join(d, "seed-" + name), text.encode() + b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    record(args.out)
    compositions(args.out)
    requests(args.out)
    for target in sorted(os.listdir(args.out)):
        n = len(os.listdir(os.path.join(args.out, target)))
        print("%s: %d inputs" % (target, n))


if __name__ == "__main__":
    main()
