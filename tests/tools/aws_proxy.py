#!/usr/bin/env python3
"""aws_proxy.py - a fault-and-latency proxy in front of moto: a realistic AWS
on loopback for the benchmarks and the fault tests.

    aws_proxy.py --upstream http://127.0.0.1:5000 [--config FILE.json]
                 [--set KEY=JSON ...] [--port N] [--control-port N]
                 [--ready-file FILE] [--stats-file FILE]

The client (conductord, boto3, ansible) is pointed at the proxy with
AWS_ENDPOINT_URL / endpoint_url; every request is identified (service from
the SigV4 credential scope of the Authorization header; action from
Action= in the query or form body, X-Amz-Target for the JSON protocols,
method + path for rest-json Lambda), then, in this order:

  outage     while an outage is on, connections are refused (the listening
             socket is closed) or reset, as configured
  latency    a per-service delay: fixed_ms + uniform(0, jitter_ms)
  faults     at the configured rates: a throttling answer, a 5xx answer, a
             reset connection, a held connection that never answers (a
             timeout); resets and timeouts happen before or after the call
             reaches moto (an answer lost after AWS acted)
  limits     AWS's documented token buckets per action class (see LIMITS
             below): an empty bucket is answered with the service's real
             throttling error and status
  forwarded  to moto, and moto's answer back

Every call is counted per (service, action) with what happened to it.

Control (JSON over HTTP), on the control port and also under /__proxy/ on
the proxy port while it is up:

  GET  /__proxy/stats            counts: {"calls": {svc: {action: {...}}}, "totals": {...}}
  POST /__proxy/stats/reset      zero the counts (and refill every bucket)
  GET  /__proxy/config           the configuration in force
  POST /__proxy/config           merge a JSON object into it (nested objects merge)
  POST /__proxy/outage           {"seconds": S, "mode": "refuse"|"reset"}; seconds 0 ends it
  GET  /__proxy/health           {"ok": true, "outage": bool}

Configuration (defaults in DEFAULT_CONFIG; the file and --set merge into
it, and so do POSTs to /__proxy/config):

  {"latency": {"default": {"fixed_ms": 0, "jitter_ms": 0}, "ec2": {...}},
   "limits": {"enabled": true, "scale": 1.0, "buckets": {"ec2:mutating": {"capacity": 50, "rate": 5}}},
   "faults": {"default": {"throttle_rate": 0, "error_rate": 0, "timeout_rate": 0,
                          "reset_rate": 0, ...}, "iam": {...}},
   "seed": null}

"scale" multiplies every refill rate and capacity (2.0: twice AWS's
limits). A bucket override is keyed "SERVICE:CLASS" or "SERVICE:Action".

From Python (tests/bench, tests/faults):

    from aws_proxy import start_proxy
    proxy = start_proxy(moto_url, {"latency": {...}})   # a subprocess
    env["AWS_ENDPOINT_URL"] = proxy.url
    proxy.configure({"faults": {"default": {"throttle_rate": 0.3}}})
    proxy.outage(60)
    proxy.stats()
    proxy.stop()

Only the standard library (Python 3.9+).
"""

import argparse
import atexit
import copy
import errno
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

# --- AWS's limits -----------------------------------------------------------------
#
# EC2: "Request throttling for the Amazon EC2 API",
# https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
# Buckets are per action ("Limits are applied to individual API actions, not
# API action categories"); the category gives the size: non-mutating 100/20,
# unfiltered and unpaginated non-mutating 50/10, mutating 50/5,
# resource-intensive 50/5, and the uncategorized actions their own (below).
# RunInstances and TerminateInstances also take resource tokens (one per
# instance) from buckets of 1000 refilled at 2/s and 20/s.
#
# ELB: "Request throttling for the Elastic Load Balancing API",
# https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html
# Per account and region, API version 1 (classic) and 2 with their own
# buckets: non-mutating (Describe*) 40/10, CreateLoadBalancer 10/0.2, other
# mutating 20/2 (the same figures docs/sdk.md's client-side limits use).
#
# IAM publishes no token-bucket figures (only that it throttles with
# "Throttling"); we use the SDK's own budget, 20 tokens refilled at 10/s,
# shared by every action of the account.
#
# Lambda: "Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
# control plane 15 requests/s across all APIs except invocations, GetFunction
# (100/s) and GetPolicy (15/s).

EC2_UNFILTERED = {
    "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces",
    "DescribeSecurityGroups", "DescribeSnapshots", "DescribeSpotInstanceRequests",
    "DescribeVolumes",
}
EC2_RESOURCE_INTENSIVE = {
    "AcceptVpcPeeringConnection", "AuthorizeSecurityGroupIngress", "CancelSpotInstanceRequests",
    "CreateKeyPair", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection", "RevokeSecurityGroupIngress", "RequestSpotInstances",
}
# (capacity, refill per second) of the uncategorized actions a composition
# is likely to use; the table on the EC2 page has more.
EC2_UNCATEGORIZED = {
    "RunInstances": (5, 2), "StartInstances": (5, 2), "TerminateInstances": (100, 5),
    "CreateTags": (100, 10), "DeleteTags": (100, 10),
    "CreateVolume": (100, 5), "DeleteVolume": (100, 5),
    "CreateSnapshot": (100, 5), "DeleteSnapshot": (100, 5),
    "CreateNatGateway": (10, 1), "DeleteNatGateway": (10, 1),
    "AssociateNatGatewayAddress": (10, 1), "DisassociateNatGatewayAddress": (10, 1),
    "CreateNetworkInterface": (100, 5), "DeleteNetworkInterface": (100, 5),
    "ModifyNetworkInterfaceAttribute": (100, 5),
    "AssociateIamInstanceProfile": (100, 5), "DisassociateIamInstanceProfile": (100, 5),
    "ModifyInstanceMetadataOptions": (100, 5), "ModifyImageAttribute": (100, 5),
    "AssignPrivateIpAddresses": (100, 5), "UnassignPrivateIpAddresses": (100, 5),
    "AssignIpv6Addresses": (100, 5), "CreateLaunchTemplateVersion": (100, 5),
    "ModifyLaunchTemplate": (100, 5), "DeregisterImage": (100, 5), "CopyImage": (100, 1),
    "CreateVpcEndpoint": (4, 0.3), "DeleteVpcEndpoints": (4, 0.3), "ModifyVpcEndpoint": (4, 0.3),
    "CreateDefaultVpc": (1, 1), "CreateDefaultSubnet": (1, 1),
    "DescribeSecurityGroupReferences": (20, 5), "DescribeStaleSecurityGroups": (20, 5),
}
EC2_RESOURCE_BUCKETS = {"RunInstances": (1000, 2), "TerminateInstances": (1000, 20),
                        "StartInstances": (1000, 2), "StopInstances": (1000, 20)}
CLASS_SIZES = {
    ("ec2", "non-mutating"): (100, 20),
    ("ec2", "unfiltered"): (50, 10),
    ("ec2", "mutating"): (50, 5),
    ("ec2", "resource-intensive"): (50, 5),
    ("elasticloadbalancing", "non-mutating"): (40, 10),
    ("elasticloadbalancing", "CreateLoadBalancer"): (10, 0.2),
    ("elasticloadbalancing", "mutating"): (20, 2),
    ("iam", "all"): (20, 10),
    ("lambda", "control"): (15, 15),
    ("lambda", "GetFunction"): (100, 100),
    ("lambda", "GetPolicy"): (15, 15),
    ("lambda", "Invoke"): (10000, 10000),
    ("sts", "all"): (600, 600),
    ("default", "all"): (50, 25),
}

READ_PREFIXES = ("Describe", "List", "Get", "Search")

DEFAULT_CONFIG = {
    "latency": {"default": {"fixed_ms": 0, "jitter_ms": 0}},
    "limits": {"enabled": True, "scale": 1.0, "buckets": {}},
    "faults": {"default": {
        "throttle_rate": 0.0,        # answered with the service's throttling error
        "error_rate": 0.0,           # answered with a 5xx
        "error_statuses": [500, 503],
        "timeout_rate": 0.0,         # held, never answered
        "timeout_hold_s": 65.0,      # longer than the SDK's 60 s per attempt
        "timeout_after_forward": 0.5,  # share of timeouts whose call reached moto first
        "reset_rate": 0.0,           # connection reset (RST)
        "reset_after_forward": 0.5,  # share of resets whose call reached moto first
    }},
    "seed": None,
}


def bucket_of(service, action, params):
    """(bucket key, capacity, refill/s) for a call, per AWS's documented
    scheme; the key names the bucket (per action for EC2)."""
    if service == "ec2":
        if action in EC2_UNCATEGORIZED:
            cap, rate = EC2_UNCATEGORIZED[action]
            return "ec2:" + action, "uncategorized", cap, rate
        if action.startswith(READ_PREFIXES):
            if action in EC2_UNFILTERED and not any(
                    k.startswith(("Filter.", "MaxResults", "NextToken")) for k in params):
                cls = "unfiltered"
            else:
                cls = "non-mutating"
        elif action in EC2_RESOURCE_INTENSIVE:
            cls = "resource-intensive"
        else:
            cls = "mutating"
        cap, rate = CLASS_SIZES[("ec2", cls)]
        # the same action unfiltered and filtered draws from different buckets
        key = "ec2:%s%s" % (action, ":unfiltered" if cls == "unfiltered" else "")
        return key, cls, cap, rate
    if service == "elasticloadbalancing":
        version = params.get("Version", "2012-06-01")
        if action == "CreateLoadBalancer":
            cls = "CreateLoadBalancer"
        elif action.startswith(READ_PREFIXES):
            cls = "non-mutating"
        else:
            cls = "mutating"
        cap, rate = CLASS_SIZES[(service, cls)]
        return "elb-%s:%s" % (version, cls), cls, cap, rate
    if service == "iam":
        cap, rate = CLASS_SIZES[("iam", "all")]
        return "iam:all", "all", cap, rate
    if service == "lambda":
        cls = action if action in ("GetFunction", "GetPolicy", "Invoke") else "control"
        cap, rate = CLASS_SIZES[("lambda", cls)]
        return "lambda:" + cls, cls, cap, rate
    cap, rate = CLASS_SIZES.get((service, "all"), CLASS_SIZES[("default", "all")])
    return service + ":all", "all", cap, rate


class Bucket:
    """A token bucket that starts full; take() never waits."""

    def __init__(self, capacity, rate):
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.at = time.monotonic()

    def take(self, n=1.0):
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


# --- identifying a request ----------------------------------------------------------

CRED_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")

LAMBDA_ROUTES = [  # (method, path regex, action); paths after the API version
    ("POST", r"functions/?$", "CreateFunction"),
    ("GET", r"functions/?$", "ListFunctions"),
    ("GET", r"functions/[^/]+/?$", "GetFunction"),
    ("DELETE", r"functions/[^/]+/?$", "DeleteFunction"),
    ("GET", r"functions/[^/]+/configuration$", "GetFunctionConfiguration"),
    ("PUT", r"functions/[^/]+/configuration$", "UpdateFunctionConfiguration"),
    ("PUT", r"functions/[^/]+/code$", "UpdateFunctionCode"),
    ("POST", r"functions/[^/]+/invocations$", "Invoke"),
    ("POST", r"functions/[^/]+/policy$", "AddPermission"),
    ("GET", r"functions/[^/]+/policy$", "GetPolicy"),
    ("DELETE", r"functions/[^/]+/policy/[^/]+$", "RemovePermission"),
    ("POST", r"functions/[^/]+/versions$", "PublishVersion"),
    ("GET", r"functions/[^/]+/versions$", "ListVersionsByFunction"),
    ("POST", r"functions/[^/]+/aliases$", "CreateAlias"),
    ("GET", r"functions/[^/]+/aliases$", "ListAliases"),
    ("GET", r"functions/[^/]+/aliases/[^/]+$", "GetAlias"),
    ("PUT", r"functions/[^/]+/aliases/[^/]+$", "UpdateAlias"),
    ("DELETE", r"functions/[^/]+/aliases/[^/]+$", "DeleteAlias"),
    ("PUT", r"functions/[^/]+/concurrency$", "PutFunctionConcurrency"),
    ("DELETE", r"functions/[^/]+/concurrency$", "DeleteFunctionConcurrency"),
    ("POST", r"tags/.+$", "TagResource"),
    ("GET", r"tags/.+$", "ListTags"),
    ("DELETE", r"tags/.+$", "UntagResource"),
]


def identify(method, path, headers, body):
    """(service, action, params) of a request; params are the query/form
    parameters (first value each)."""
    auth = headers.get("Authorization", "")
    m = CRED_RE.search(auth)
    service = m.group(2) if m else None
    url = urllib.parse.urlsplit(path)
    params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
    ctype = headers.get("Content-Type", "")
    if body and "x-www-form-urlencoded" in ctype:
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        except ValueError:
            form = {}
        params.update({k: v[0] for k, v in form.items()})
    target = headers.get("X-Amz-Target")
    if "Action" in params:
        action = params["Action"]
    elif target:
        action = target.rsplit(".", 1)[-1]
    elif service == "lambda" or re.match(r"/20\d\d-\d\d-\d\d/(functions|tags)", url.path):
        service = service or "lambda"
        rest = re.sub(r"^/20\d\d-\d\d-\d\d/", "", url.path)
        action = next((a for meth, rx, a in LAMBDA_ROUTES
                       if meth == method and re.match(rx, rest)), None)
        if action is None:
            action = "%s %s" % (method, re.sub(r"^/20\d\d-\d\d-\d\d/([^/]+).*", r"\1", url.path))
    else:
        action = "%s %s" % (method, url.path.split("?")[0][:40])
    return service or "unknown", action, params


# --- answers AWS gives ----------------------------------------------------------------

def _query_error(service, status, code, message):
    rid = str(uuid.uuid4())
    if service == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                "<Code>%s</Code><Message>%s</Message></Error></Errors>"
                "<RequestID>%s</RequestID></Response>" % (code, message, rid))
    else:
        ns = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
              "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/"
              }.get(service, "https://%s.amazonaws.com/doc/" % service)
        kind = "Sender" if status < 500 else "Receiver"
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
                "<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>"
                % (ns, kind, code, message, rid))
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body.encode()


def _json_error(status, code, message, extra=None):
    rid = str(uuid.uuid4())
    doc = {"__type": code, "message": message}
    doc.update(extra or {})
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": rid,
               "x-amzn-ErrorType": code + ":"}
    return status, headers, json.dumps(doc).encode()


def throttle_answer(service, json_protocol):
    if service == "lambda":
        status, headers, body = _json_error(429, "TooManyRequestsException", "Rate exceeded",
                                            {"Reason": "CallerRateLimitExceeded", "Type": "User"})
        headers["Retry-After"] = "1"
        return status, headers, body
    if service == "ec2":
        return _query_error(service, 503, "RequestLimitExceeded", "Request limit exceeded.")
    if json_protocol:
        return _json_error(400, "ThrottlingException", "Rate exceeded")
    return _query_error(service, 400, "Throttling", "Rate exceeded")


def server_error_answer(service, json_protocol, status):
    if service == "lambda":
        return _json_error(status, "ServiceException", "injected server error")
    if json_protocol:
        return _json_error(status, "InternalServerError" if status == 500
                           else "ServiceUnavailable", "injected server error")
    if service == "ec2":
        return _query_error(service, status, "InternalError" if status == 500 else "Unavailable",
                            "An internal error has occurred (injected).")
    return _query_error(service, status, "InternalFailure" if status == 500
                        else "ServiceUnavailable", "injected server error")


def moto_gap(service, action, params, status, headers, body):
    """Where moto answers what AWS never does, the answer AWS gives. One
    case: moto 5 fails with a bare HTML 500 on DescribeLoadBalancerAttributes
    of a classic load balancer that does not exist (AWS: 400
    LoadBalancerNotFound), which stops Ansible's elb_classic_lb before it
    creates anything."""
    if (service == "elasticloadbalancing" and action == "DescribeLoadBalancerAttributes" and
            status == 500 and not body.lstrip().startswith(b"<ErrorResponse")):
        return _query_error(service, 400, "LoadBalancerNotFound",
                            "There is no ACTIVE Load Balancer named '%s'"
                            % params.get("LoadBalancerName", ""))
    return status, headers, body


# --- the proxy --------------------------------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length"}


def merge(base, more):
    """BASE updated in place with MORE, nested dicts merged."""
    for k, v in more.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


class Stats:
    FIELDS = ("calls", "forwarded", "throttled_limit", "throttled_injected", "errors_injected",
              "timeouts", "resets", "refused", "upstream_failed", "latency_ms")

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.by = {}
            self.started = time.time()
            self.outage_refused = 0

    def add(self, service, action, field, n=1):
        with self.lock:
            svc = self.by.setdefault(service, {})
            row = svc.get(action)
            if row is None:
                row = svc[action] = dict.fromkeys(self.FIELDS, 0)
            row[field] += n

    def snapshot(self):
        with self.lock:
            calls = copy.deepcopy(self.by)
            totals = dict.fromkeys(self.FIELDS, 0)
            for svc in calls.values():
                for row in svc.values():
                    for k in self.FIELDS:
                        totals[k] += row[k]
            totals["outage_refused_connections"] = self.outage_refused
            return {"calls": calls, "totals": totals, "since": self.started,
                    "seconds": time.time() - self.started}


class ProxyState:
    """Configuration, buckets, stats and the outage switch, shared by every
    handler thread."""

    def __init__(self, upstream, config):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.lock = threading.Lock()
        self.config = merge(copy.deepcopy(DEFAULT_CONFIG), config or {})
        self.rng = random.Random(self.config.get("seed"))
        self.buckets = {}
        self.stats = Stats()
        self.outage_until = 0.0
        self.outage_mode = "refuse"
        self.conns = set()  # live client sockets, reset when an outage starts
        self.dropped = set()  # sockets to close with an RST, not a FIN
        self.on_outage = None  # set by the server: closes/reopens the listener

    # configuration

    def configure(self, more):
        with self.lock:
            merge(self.config, more)
            if "seed" in more:
                self.rng = random.Random(self.config.get("seed"))
            if "limits" in more:
                self.buckets = {}
            return copy.deepcopy(self.config)

    def section(self, name, service):
        with self.lock:
            sec = self.config.get(name, {})
            out = dict(sec.get("default", {}))
            out.update(sec.get(service, {}))
            return out

    def chance(self, p):
        if p <= 0:
            return False
        with self.lock:
            return self.rng.random() < p

    def uniform(self, a, b):
        with self.lock:
            return self.rng.uniform(a, b)

    # limits

    def take(self, service, action, params):
        """True when the call may go through AWS's buckets."""
        with self.lock:
            limits = self.config.get("limits", {})
            if not limits.get("enabled", True):
                return True
            scale = float(limits.get("scale", 1.0))
            key, cls, cap, rate = bucket_of(service, action, params)
            over = limits.get("buckets", {})
            o = over.get(key) or over.get("%s:%s" % (service, action)) or \
                over.get("%s:%s" % (service, cls))
            if o:
                cap, rate = o.get("capacity", cap), o.get("rate", rate)
            b = self.buckets.get(key)
            if b is None:
                b = self.buckets[key] = Bucket(cap * scale, rate * scale)
            if not b.take():
                return False
            if service == "ec2" and action in EC2_RESOURCE_BUCKETS:
                n = self._instances(action, params)
                rkey = "ec2-resource:" + action
                rb = self.buckets.get(rkey)
                if rb is None:
                    rcap, rrate = EC2_RESOURCE_BUCKETS[action]
                    rb = self.buckets[rkey] = Bucket(rcap * scale, rrate * scale)
                if not rb.take(n):
                    b.tokens += 1  # the request token is not spent on a refused call
                    return False
            return True

    @staticmethod
    def _instances(action, params):
        if action in ("RunInstances",):
            try:
                return max(1, int(params.get("MaxCount", "1")))
            except ValueError:
                return 1
        return max(1, sum(1 for k in params if k.startswith("InstanceId.")))

    # outage

    def in_outage(self):
        return time.monotonic() < self.outage_until

    def start_outage(self, seconds, mode):
        with self.lock:
            self.outage_until = time.monotonic() + max(0.0, float(seconds))
            self.outage_mode = mode
            conns = list(self.conns)
        for s in conns:
            self.drop(s, wake=True)
        if self.on_outage:
            self.on_outage(seconds, mode)


    def drop(self, sock, wake=False):
        """Marks SOCK to be closed with an RST (SO_LINGER 0) instead of a
        FIN when its handler ends, as a dropped connection is; WAKE ends a
        handler waiting for the next request on it (SHUT_RD sends nothing)."""
        with self.lock:
            self.dropped.add(sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if wake:
                sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass


class _Dropped(Exception):
    """The connection was reset or held on purpose: no answer is written."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-proxy"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: thousands of calls
        pass

    def setup(self):
        super().setup()
        # headers and body go out in one write anyway; no Nagle stalls
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.state.conns.add(self.connection)

    def finish(self):
        self.server.state.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.command != "HEAD":
            self._headers_buffer.append(b"\r\n" + body)  # one write with the headers
            self.flush_headers()
        else:
            self.end_headers()

    def handle_any(self):
        state = self.server.state
        body = self.read_body()
        if self.path.startswith("/__proxy/"):
            return self.control(body)
        if state.in_outage():
            # a kept-alive connection, or one that got in before the listener closed
            with state.stats.lock:
                state.stats.outage_refused += 1
            state.drop(self.connection)
            self.close_connection = True
            return
        try:
            self.proxy(body)
        except _Dropped:
            self.close_connection = True

    # control

    def control(self, body):
        state = self.server.state
        path = self.path.split("?")[0].rstrip("/")
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self.json(400, {"error": "bad JSON: %s" % e})
        if path == "/__proxy/stats" and self.command == "GET":
            return self.json(200, state.stats.snapshot())
        if path == "/__proxy/stats/reset" and self.command == "POST":
            state.stats.reset()
            with state.lock:
                state.buckets = {}
            return self.json(200, {"ok": True})
        if path == "/__proxy/config":
            if self.command == "POST":
                if not isinstance(doc, dict):
                    return self.json(400, {"error": "expected a JSON object"})
                return self.json(200, state.configure(doc))
            return self.json(200, state.configure({}))
        if path == "/__proxy/outage" and self.command == "POST":
            mode = doc.get("mode", "refuse")
            if mode not in ("refuse", "reset"):
                return self.json(400, {"error": "mode: refuse or reset"})
            state.start_outage(float(doc.get("seconds", 0)), mode)
            return self.json(200, {"ok": True, "outage": state.in_outage()})
        if path == "/__proxy/health":
            return self.json(200, {"ok": True, "outage": state.in_outage()})
        return self.json(404, {"error": "no such control path: %s %s" % (self.command, path)})

    def json(self, status, doc):
        self.answer(status, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    # the AWS side

    def proxy(self, body):
        state = self.server.state
        headers = {k: v for k, v in self.headers.items()}
        service, action, params = identify(self.command, self.path, self.headers, body)
        json_protocol = "x-amz-json" in self.headers.get("Content-Type", "")
        stats = state.stats
        stats.add(service, action, "calls")
        lat = state.section("latency", service)
        delay = float(lat.get("fixed_ms", 0)) + state.uniform(0, float(lat.get("jitter_ms", 0)))
        if delay > 0:
            stats.add(service, action, "latency_ms", delay)
            time.sleep(delay / 1000.0)
        f = state.section("faults", service)
        if state.chance(float(f.get("throttle_rate", 0))):
            stats.add(service, action, "throttled_injected")
            return self.answer(*throttle_answer(service, json_protocol))
        if state.chance(float(f.get("error_rate", 0))):
            stats.add(service, action, "errors_injected")
            with state.lock:
                status = state.rng.choice(f.get("error_statuses") or [500])
            return self.answer(*server_error_answer(service, json_protocol, int(status)))
        timeout = state.chance(float(f.get("timeout_rate", 0)))
        reset = not timeout and state.chance(float(f.get("reset_rate", 0)))
        after = (timeout and state.chance(float(f.get("timeout_after_forward", 0.5)))) or \
                (reset and state.chance(float(f.get("reset_after_forward", 0.5))))
        if (timeout or reset) and not after:
            self.drop(service, action, timeout, f)
        if not state.take(service, action, params):
            stats.add(service, action, "throttled_limit")
            return self.answer(*throttle_answer(service, json_protocol))
        try:
            status, rheaders, rbody = self.forward(body, headers)
        except OSError as e:
            stats.add(service, action, "upstream_failed")
            return self.answer(*server_error_answer(service, json_protocol, 502)[:2],
                               ("upstream: %s" % e).encode())
        stats.add(service, action, "forwarded")
        status, rheaders, rbody = moto_gap(service, action, params, status, rheaders, rbody)
        if timeout or reset:
            self.drop(service, action, timeout, f)
        return self.answer(status, rheaders, rbody)

    def drop(self, service, action, timeout, f):
        """Resets the connection, or holds it without an answer (a timeout)
        and then closes it. Raises _Dropped."""
        stats = self.server.state.stats
        if timeout:
            stats.add(service, action, "timeouts")
            deadline = time.monotonic() + float(f.get("timeout_hold_s", 65))
            self.connection.settimeout(0.5)
            while time.monotonic() < deadline:
                try:  # the client giving up closes its end: stop holding
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
                time.sleep(0.2)
        else:
            stats.add(service, action, "resets")
        self.server.state.drop(self.connection)
        raise _Dropped()

    def forward(self, body, headers):
        up = self.server.state.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=300)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            fwd["Content-Length"] = str(len(body))
            fwd["Connection"] = "close"
            conn.request(self.command, self.path, body=body, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state):
        self.state = state
        super().__init__(addr, Handler)

    def shutdown_request(self, request):
        with self.state.lock:
            dropped = request in self.state.dropped
            self.state.dropped.discard(request)
        if dropped:
            self.close_request(request)  # SO_LINGER 0: an RST
        else:
            super().shutdown_request(request)


class Proxy:
    """The proxy in this process: a data listener (AWS) and a control
    listener, each served by its own thread. An outage in "refuse" mode
    closes the data listener and reopens it on the same port when over."""

    def __init__(self, upstream, config=None, port=0, control_port=0, host="127.0.0.1"):
        self.state = ProxyState(upstream, config)
        self.state.on_outage = self._outage
        self.host = host
        self._data = Server((host, port), self.state)
        self.port = self._data.server_address[1]
        self._control = Server((host, control_port), self.state)
        self.control_port = self._control.server_address[1]
        self._lock = threading.Lock()
        self._timer = None
        self._threads = []

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        for srv in (self._data, self._control):
            self._serve(srv)
        return self

    def _serve(self, srv):
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True)
        t.start()
        self._threads.append(t)

    def _outage(self, seconds, mode):
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            if mode == "refuse" and seconds > 0 and self._data is not None:
                self._data.shutdown()
                self._data.server_close()
                self._data = None
            if seconds > 0:
                self._timer = threading.Timer(seconds, self._outage_over)
                self._timer.daemon = True
                self._timer.start()
            else:
                self._reopen()

    def _outage_over(self):
        with self._lock:
            self._timer = None
            self._reopen()

    def _reopen(self):
        if self._data is not None:
            return
        for _ in range(100):
            try:
                self._data = Server((self.host, self.port), self.state)
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                time.sleep(0.05)
        self._serve(self._data)

    def stop(self):
        with self._lock:
            if self._timer:
                self._timer.cancel()
            for srv in (self._data, self._control):
                if srv is not None:
                    srv.shutdown()
                    srv.server_close()
            self._data = None


# --- a proxy in a subprocess, for tests and benchmarks ------------------------------------

class ProxyError(RuntimeError):
    """The proxy did not start or its control endpoint failed."""


_children = set()


def _stop_children():
    for p in list(_children):
        p.stop()


atexit.register(_stop_children)


class ProxyProcess:
    """aws_proxy.py running as a child process (its own interpreter, so that
    its threads do not share a GIL with the harness). Stopped at the
    harness's exit whatever happened; it also ends by itself when the
    harness dies."""

    def __init__(self, upstream, config=None, log=None):
        self._tmp = tempfile.mkdtemp(prefix="fugue-proxy-")
        ready = os.path.join(self._tmp, "ready.json")
        cfg = os.path.join(self._tmp, "config.json")
        with open(cfg, "w") as fh:
            json.dump(config or {}, fh)
        self._log = log or open(os.path.join(self._tmp, "proxy.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--upstream", upstream,
             "--config", cfg, "--ready-file", ready],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ProxyError("aws_proxy did not start (see %s)" % self._log.name)
            time.sleep(0.05)
        with open(ready) as fh:
            info = json.load(fh)
        os.unlink(ready)
        os.unlink(cfg)
        self._own_log = log is None  # then the log stays in the directory
        self.url = info["url"]
        self.control_url = info["control_url"]
        _children.add(self)

    def _call(self, method, path, doc=None):
        data = None if doc is None else json.dumps(doc).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except OSError as e:
            raise ProxyError("aws_proxy control %s %s: %s" % (method, path, e)) from None

    def stats(self):
        return self._call("GET", "/__proxy/stats")

    def reset_stats(self):
        return self._call("POST", "/__proxy/stats/reset", {})

    def configure(self, doc):
        return self._call("POST", "/__proxy/config", doc)

    def config(self):
        return self._call("GET", "/__proxy/config")

    def outage(self, seconds, mode="refuse"):
        return self._call("POST", "/__proxy/outage", {"seconds": seconds, "mode": mode})

    def health(self):
        return self._call("GET", "/__proxy/health")

    def stop(self):
        _children.discard(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()
        if not getattr(self, "_own_log", True):
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_proxy(upstream, config=None, log=None):
    """A ProxyProcess in front of UPSTREAM: .url for AWS_ENDPOINT_URL."""
    return ProxyProcess(upstream, config, log)


def summarize(stats, services=None):
    """{(service, action): calls forwarded + throttled} from a stats
    snapshot, for the benchmarks' tables."""
    out = {}
    for svc, actions in stats["calls"].items():
        if services and svc not in services:
            continue
        for action, row in actions.items():
            out[(svc, action)] = row
    return out


# --- command line -------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="fault-and-latency proxy in front of moto")
    ap.add_argument("--upstream", required=True, help="moto's URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--config", help="a JSON file merged into the defaults")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                    help="one setting, e.g. faults.default.throttle_rate=0.3")
    ap.add_argument("--port", type=int, default=0, help="proxy port (default: a free one)")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--ready-file", help="written with the URLs once listening")
    ap.add_argument("--stats-file", help="the stats are written here at exit")
    args = ap.parse_args(argv)
    config = {}
    if args.config:
        with open(args.config) as fh:
            config = json.load(fh)
    for item in args.set:
        path, _, value = item.partition("=")
        try:
            val = json.loads(value)
        except ValueError:
            val = value
        node = config
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = val
    proxy = Proxy(args.upstream, config, args.port, args.control_port).start()
    info = {"url": proxy.url, "control_url": "http://127.0.0.1:%d" % proxy.control_port,
            "pid": os.getpid()}
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(info, fh)
        os.rename(tmp, args.ready_file)
    print("aws_proxy: %s -> %s (control %s)" % (proxy.url, args.upstream, info["control_url"]),
          flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    parent = os.getppid()
    while not done.wait(1):
        if args.ready_file and os.getppid() != parent:
            break  # started by a harness that died: do not outlive it
    if args.stats_file:
        with open(args.stats_file, "w") as fh:
            json.dump(proxy.state.stats.snapshot(), fh, indent=1)
    proxy.stop()


if __name__ == "__main__":
    main()
