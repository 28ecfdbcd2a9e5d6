#!/usr/bin/env python3
"""Cross-check libfugue's SigV4 signer against botocore's SigV4Auth.

    sigv4_crosscheck.py --out FILE [--count N] [--seed S] [--run TEST_SIGV4]

Generates N (default 300, at least 200) requests from a fixed seed: methods,
URLs with reserved, percent-encoded and raw UTF-8 characters in paths and
queries, repeated query keys, dot segments and empty segments, repeated
headers and values with runs of white space, leading/trailing and Unicode
white space and embedded line breaks, headers the signer must skip or
replace, empty, text and binary bodies, with and without a session token,
many regions and services, hosts with and without ports (default and not),
IPv6 literals, at many clocks. Each is signed by botocore's SigV4Auth with
its clock patched, and FILE receives the inputs (body in base64) with
botocore's canonical request, string to sign, Authorization, Host and
X-Amz-Date. A few requests botocore refuses (bad ports) are written with
"error": true; the C signer must answer FUGUE_EINVAL for them.

With --run, runs `TEST_SIGV4 crosscheck` (under $FUGUE_TEST_WRAPPER when set)
with FUGUE_SIGV4_VECTORS=FILE and fails unless it exits 0 and reports having
compared every generated request. Exits 1 if botocore is missing.
"""
import argparse
import base64
import datetime
import json
import os
import random
import re
import shlex
import subprocess
import sys
from unittest import mock
from urllib.parse import quote

MIN_REQUESTS = 200

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except Exception as e:  # the message is the point
    sys.exit("sigv4_crosscheck: botocore is not installed for %s (%s); "
             "install it with `%s -m pip install botocore`" % (sys.executable, e, sys.executable))


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth that keeps what it signed, without changing how."""

    def string_to_sign(self, request, canonical_request):
        sts = super().string_to_sign(request, canonical_request)
        self.recorded = (canonical_request, sts)
        return sts


# --- the pieces requests are made of -------------------------------------------

METHODS = ["GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "get", "Post"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-3", "ap-southeast-2", "sa-east-1", "us-gov-west-1",
           "cn-north-1", "me-central-1"]
SERVICES = ["service", "ec2", "iam", "sts", "sqs", "sns", "elasticloadbalancing", "execute-api",
            "monitoring", "dynamodb", "autoscaling", "logs", "lambda", "kms"]
HOSTS = ["example.amazonaws.com", "ec2.us-east-1.amazonaws.com", "IAM.AmazonAWS.com",
         "sts.eu-west-3.amazonaws.com", "localhost", "127.0.0.1", "my-api.execute-api.Us-West-2.amazonaws.com",
         "[::1]", "[2001:DB8::a:1]", "[::ffff:192.0.2.1]", "sqs.cn-north-1.amazonaws.com.cn"]
PATH_SEGMENTS = [
    "a", "b", "example", "Example1", "v1", "2015-08-30", "-._~", "users", "a.b", "x_y",
    ".", "..", "", "", "...", ".hidden",
    "%2F", "%2f", "%20", "%25", "%2B", "%3A", "%E1%88%B4", "%E2%82%AC", "%7E", "a%2Fb",
    "!$&'()*+,;=:@", "a+b", "a=b", "sub;param", "@user", "name:tag",
    "\u00e9t\u00e9", "\u1234", "caf\u00e9", "\U0001F600", "\u65e5\u672c",
    "example space", "percent%", "~tilde", "UPPER", "MiXeD",
]
QUERY_KEYS = ["Action", "Version", "Param1", "Param2", "param1", "Param-3", "a", "A", "b", "_", "~",
              "Filter.1.Name", "Filter.1.Value.1", "Marker", "X-Amz-Meta", "key with space",
              "\u1234", "\u00e9", "k/s", "k?q", "k+p", "", "a[]", "emoji\U0001F600"]
QUERY_VALUES = ["", "value1", "value2", "Value1", "ListUsers", "2010-05-08", "a b", "a+b", "a=b=c",
                "/", "?", "%", "\u20ac", "\u00e9t\u00e9", "-._~", "!*'();:@&=+$,/?#[]", "1", "10", "9",
                "true", "x" * 40]
HEADER_NAMES = ["Content-Type", "X-Amz-Target", "My-Header1", "my-header1", "MY-HEADER1", "My-Header2",
                "X-Amz-Meta-Color", "x-amz-meta-color", "Accept", "Content-Encoding", "X-Custom",
                "Cache-Control", "If-None-Match", "x-amz-user-agent", "Content-Language", "Range"]
HEADER_VALUES = ["value1", "value2", " value1", "value1 ", "  leading", "trailing   ",
                 "\"a   b   c\"", "a\tb", "a \t b\t\tc", "line1\nline2", "line1\r\n line2",
                 "multi\n\tline\n  value", "", " ", "\t", "a\u00a0b", "\u3000ideographic\u3000",
                 "x\u2003y\u2009z", "a\x1cb", "application/x-www-form-urlencoded; charset=utf-8",
                 "application/x-amz-json-1.1", "AmazonEC2.DescribeInstances", "bytes=0-9",
                 "caf\u00e9", "\u65e5\u672c\u8a9e", "W/\"etag\"", "gzip, deflate", "a,b", "a;b",
                 "x" * 60]
SKIPPED_HEADERS = [("User-Agent", "fugue/0.1 (test)"), ("Expect", "100-continue"),
                   ("Transfer-Encoding", "chunked"), ("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe"),
                   ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
                   ("Authorization", "AWS4-HMAC-SHA256 stale"), ("X-Amz-Date", "20000101T000000Z"),
                   ("Upgrade", "h2c"), ("Proxy-Authorization", "Basic Zm9v")]
DOC_TOKEN = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRX"
             "mxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburE"
             "Dy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL"
             "64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
EPOCH = datetime.datetime(1970, 1, 1)
DOC_TIME = int((datetime.datetime(2015, 8, 30, 12, 36, 0) - EPOCH).total_seconds())


def encode_sent(rng, s):
    """S as a client would put it in a URL: usually percent-encoded, sometimes raw."""
    if rng.random() < 0.15:
        return s
    return quote(s, safe="-_.~" if rng.random() < 0.7 else "-_.~/:@!$'()*,;")


def make_authority(rng, https):
    host = rng.choice(HOSTS)
    default = 443 if https else 80
    r = rng.random()
    if r < 0.45:
        return host
    if r < 0.6:
        return "%s:%d" % (host, default)             # the default, written out
    if r < 0.7:
        return "%s:%d" % (host, 80 if https else 443)  # the other scheme's default
    if r < 0.75:
        return "%s:" % host                           # an empty port
    if r < 0.8:
        return "%s:0%d" % (host, rng.randint(1000, 9999))
    return "%s:%d" % (host, rng.choice([1, 8080, 4566, 5000, 9000, 65535, rng.randint(1, 65535)]))


def make_path(rng):
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.15:
        return "/"
    segs = [rng.choice(PATH_SEGMENTS) for _ in range(rng.randint(1, 6))]
    path = "/" + "/".join(s if rng.random() < 0.8 or "%" in s else quote(s, safe="") for s in segs)
    if rng.random() < 0.3:
        path += "/"
    if rng.random() < 0.1:
        path = "/" + path
    return path


def make_query(rng):
    r = rng.random()
    if r < 0.3:
        return ""
    if r < 0.35:
        return "?"
    pairs = []
    for _ in range(rng.randint(1, 7)):
        if pairs and rng.random() < 0.25:
            key = pairs[-1][0]                      # a repeated key
        else:
            key = encode_sent(rng, rng.choice(QUERY_KEYS))
        x = rng.random()
        if x < 0.1:
            pairs.append((key, None))               # "key" without '='
        else:
            pairs.append((key, encode_sent(rng, rng.choice(QUERY_VALUES))))
    q = "&".join(k if v is None else "%s=%s" % (k, v) for k, v in pairs)
    if rng.random() < 0.05:
        q += "&"
    if rng.random() < 0.05:
        q = "&" + q
    return "?" + q


def make_headers(rng, has_token):
    headers = []
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(HEADER_NAMES)
        headers.append((name, rng.choice(HEADER_VALUES)))
        if rng.random() < 0.2:
            headers.append((name.upper() if rng.random() < 0.5 else name, rng.choice(HEADER_VALUES)))
    for _ in range(rng.randint(0, 2)):
        headers.append(rng.choice(SKIPPED_HEADERS))
    if rng.random() < 0.15:
        headers.append(("X-Amz-Security-Token", "caller-token-" + str(rng.randint(0, 999))))
    if rng.random() < 0.08:
        headers.append(("X-Amz-Content-SHA256", rng.choice(["UNSIGNED-PAYLOAD", " UNSIGNED-PAYLOAD ",
                                                            "e3b0c44298fc1c149afbf4c8996fb924"])))
    if rng.random() < 0.05:
        headers.append(("Host", rng.choice(["override.example.com", " Spaced.Host:8443 "])))
    rng.shuffle(headers)
    return headers


def make_body(rng):
    r = rng.random()
    if r < 0.4:
        return b""
    if r < 0.65:
        return "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName".encode()
    if r < 0.8:
        return json.dumps({"TableName": "t\u00e9", "Key": {"id": {"S": "\u65e5"}}},
                          ensure_ascii=False).encode()
    if r < 0.97:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    return bytes(rng.randrange(256) for _ in range(70000))


def make_credentials(rng):
    if rng.random() < 0.3:
        access, secret = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    else:
        access = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        secret = "".join(rng.choice(B64) for _ in range(40))
    r = rng.random()
    if r < 0.55:
        token = ""
    elif r < 0.65:
        token = DOC_TOKEN
    else:
        token = "".join(rng.choice(B64) for _ in range(rng.randint(16, 800)))
    return access, secret, token


def make_time(rng):
    r = rng.random()
    if r < 0.2:
        return DOC_TIME
    if r < 0.3:
        return DOC_TIME + 11 * 3600 + 23 * 60 + 59   # 23:59:59, the last second of the date
    if r < 0.35:
        return 2208988800 + rng.randint(0, 86400)   # after 2038
    return rng.randint(946684800, 2000000000)


def make_request(rng, index):
    https = rng.random() < 0.75
    access, secret, token = make_credentials(rng)
    req = {
        "name": "generated-%03d" % index,
        "method": rng.choice(METHODS),
        "url": "%s://%s%s%s" % ("https" if https else rng.choice(["http", "HTTP"]),
                                 make_authority(rng, https), make_path(rng), make_query(rng)),
        "headers": make_headers(rng, bool(token)),
        "body": make_body(rng),
        "region": rng.choice(REGIONS),
        "service": rng.choice(SERVICES),
        "time": make_time(rng),
        "access_key": access,
        "secret_key": secret,
        "token": token,
    }
    if rng.random() < 0.03:
        req["url"] += "#fragment"
    return req


def bad_port_requests():
    """URLs botocore refuses while computing Host: the C signer must say EINVAL."""
    out = []
    for i, port in enumerate(["99999", "65536", "8o", "-1", "1e3"]):
        out.append({"name": "bad-port-%d" % i, "method": "GET",
                    "url": "https://example.amazonaws.com:%s/" % port, "headers": [], "body": b"",
                    "region": "us-east-1", "service": "service", "time": DOC_TIME,
                    "access_key": "AKIDEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    "token": ""})
    return out


# --- signing with botocore ------------------------------------------------------

def sign(req):
    creds = Credentials(req["access_key"], req["secret_key"], req["token"] or None)
    request = AWSRequest(method=req["method"], url=req["url"], data=req["body"])
    for name, value in req["headers"]:
        request.headers[name] = value   # appends: repeated names stay repeated
    auth = RecordingSigV4Auth(creds, req["service"], req["region"])
    now = EPOCH + datetime.timedelta(seconds=req["time"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(request)
    canonical, sts = auth.recorded
    host = next(line[5:] for line in canonical.split("\n") if line.startswith("host:"))
    return {"canonical_request": canonical, "string_to_sign": sts,
            "authorization": request.headers["Authorization"], "host": host,
            "amz_date": request.context["timestamp"]}


def vector(req):
    v = dict(req)
    v["headers"] = [[n, val] for n, val in req["headers"]]
    v["body_b64"] = base64.b64encode(req["body"]).decode()
    del v["body"]
    try:
        v["expect"] = sign(req)
        v["error"] = False
    except ValueError:
        v["error"] = True
    return v


def generate(count, seed):
    rng = random.Random(seed)
    vectors = [vector(make_request(rng, i)) for i in range(count)]
    refused = [v["name"] for v in vectors if v["error"]]
    if refused:
        sys.exit("sigv4_crosscheck: botocore refused generated requests %s" % refused)
    for req in bad_port_requests():
        v = vector(req)
        if not v["error"]:
            sys.exit("sigv4_crosscheck: botocore accepted %s, expected a refusal" % req["url"])
        vectors.append(v)
    return vectors


def run(test, path, count):
    env = dict(os.environ, FUGUE_SIGV4_VECTORS=path)
    cmd = shlex.split(os.environ.get("FUGUE_TEST_WRAPPER", "")) + [test, "crosscheck"]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    m = re.search(r"sigv4 crosscheck: compared (\d+) requests, (\d+) mismatches", proc.stdout)
    if proc.returncode != 0:
        sys.exit("sigv4_crosscheck: %s exited with %d" % (test, proc.returncode))
    if not m:
        sys.exit("sigv4_crosscheck: %s did not report a comparison" % test)
    compared, mismatches = int(m.group(1)), int(m.group(2))
    if compared != count or compared < MIN_REQUESTS or mismatches != 0:
        sys.exit("sigv4_crosscheck: compared %d of %d requests (need >= %d), %d mismatches"
                 % (compared, count, MIN_REQUESTS, mismatches))
    print("sigv4_crosscheck: OK, %d requests signed identically to botocore %s"
          % (compared, botocore.__version__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the JSON file to write")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20150830)
    ap.add_argument("--run", metavar="TEST_SIGV4", help="then run this test_sigv4 against the file")
    args = ap.parse_args()
    if args.count < MIN_REQUESTS:
        sys.exit("sigv4_crosscheck: --count must be at least %d" % MIN_REQUESTS)
    vectors = generate(args.count, args.seed)
    doc = {"botocore_version": botocore.__version__, "seed": args.seed, "count": args.count,
           "requests": vectors}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print("sigv4_crosscheck: wrote %d requests (+%d refusals) signed by botocore %s to %s"
          % (args.count, len(vectors) - args.count, botocore.__version__, args.out))
    if args.run:
        run(args.run, args.out, args.count)


if __name__ == "__main__":
    main()
