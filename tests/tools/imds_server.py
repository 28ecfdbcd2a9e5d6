#!/usr/bin/env python3
"""imds_server.py - a small IMDSv2 stand-in on 127.0.0.1 for the credential
tests.

    imds_server.py [--port-file F] [--lifetime S] [--role NAME]
                   [--expires-in SECONDS] [--code CODE]

The first line on stdout is "PORT n" (also written to --port-file, atomically).
The server exits by itself after --lifetime seconds (default 60) or when its
parent process goes away, and binds 127.0.0.1 only.

It answers as the instance metadata service does for IMDSv2:
    PUT /latest/api/token            needs X-aws-ec2-metadata-token-ttl-seconds
                                     (1..21600), else 400; answers a new token
    GET /latest/meta-data/iam/security-credentials/
                                     the role name (404 with --role "")
    GET /latest/meta-data/iam/security-credentials/ROLE
                                     the credentials document: a new access key
                                     each time (ASIAFAKE00000001, ...2, ...),
                                     expiring --expires-in seconds from now
Every GET needs a token this server issued in X-aws-ec2-metadata-token,
else 401.

Control endpoints (not counted):
    GET  /__stats                    {"paths": {"METHOD PATH": count},
                                      "credentials_served": n, "unauthorized": n}
    POST /__set?expires_in=N&code=C&role=R
                                     changes what the next documents say
"""

import argparse
import datetime
import http.server
import json
import os
import secrets
import socketserver
import sys
import threading
import time
import urllib.parse

ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


class State:
    def __init__(self, role, expires_in, code):
        self.lock = threading.Lock()
        self.role = role
        self.expires_in = expires_in
        self.code = code
        self.tokens = set()
        self.counts = {}
        self.served = 0
        self.unauthorized = 0

    def count(self, method, path):
        with self.lock:
            key = f"{method} {path}"
            self.counts[key] = self.counts.get(key, 0) + 1

    def stats(self):
        with self.lock:
            return {
                "paths": dict(self.counts),
                "credentials_served": self.served,
                "unauthorized": self.unauthorized,
            }


def iso8601(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imds-stand-in"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", content_type="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    @property
    def state(self):
        return self.server.state

    def do_PUT(self):
        self.drain()
        path = urllib.parse.urlsplit(self.path).path
        self.state.count("PUT", path)
        if path != "/latest/api/token":
            self.answer(404, "not found")
            return
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self.answer(400, "missing or invalid ttl")
            return
        token = secrets.token_urlsafe(40)
        with self.state.lock:
            self.state.tokens.add(token)
        self.answer(200, token)

    def do_POST(self):
        self.drain()
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/__set":
            self.answer(404, "not found")
            return
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        with self.state.lock:
            if "expires_in" in q:
                self.state.expires_in = int(q["expires_in"][0])
            if "code" in q:
                self.state.code = q["code"][0]
            if "role" in q:
                self.state.role = q["role"][0]
        self.answer(200, "ok")

    def authorized(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        with self.state.lock:
            ok = token is not None and token in self.state.tokens
            if not ok:
                self.state.unauthorized += 1
        return ok

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__stats":
            self.answer(200, json.dumps(self.state.stats()), "application/json")
            return
        self.state.count("GET", path)
        if not self.authorized():
            self.answer(401, "")
            return
        with self.state.lock:
            role = self.state.role
        if path == ROLE_PATH:
            if role:
                self.answer(200, role)
            else:
                self.answer(404, "not found")
            return
        if role and path == ROLE_PATH + role:
            self.answer(200, self.credentials(), "application/json")
            return
        self.answer(404, "not found")

    def credentials(self):
        with self.state.lock:
            self.state.served += 1
            n = self.state.served
            expires_in = self.state.expires_in
            code = self.state.code
        now = time.time()
        doc = {
            "Code": code,
            "LastUpdated": iso8601(now),
            "Type": "AWS-HMAC",
            "AccessKeyId": f"ASIAFAKE{n:08d}",
            "SecretAccessKey": f"fakeSecret{n:08d}" + "x" * 22,
            "Token": f"fakeToken{n:08d}" + "t" * 200,
            "Expiration": iso8601(now + expires_in),
        }
        if code != "Success":
            doc = {"Code": code, "Message": "stand-in failure", "LastUpdated": iso8601(now)}
        return json.dumps(doc, indent=2)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def watchdog(server, lifetime, parent):
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            break
        time.sleep(0.2)
    server.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file")
    ap.add_argument("--lifetime", type=float, default=60.0)
    ap.add_argument("--role", default="fugue-test-role")
    ap.add_argument("--expires-in", type=int, default=6 * 3600)
    ap.add_argument("--code", default="Success")
    args = ap.parse_args()

    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args.role, args.expires_in, args.code)
    port = server.server_address[1]
    print(f"PORT {port}", flush=True)
    if args.port_file:
        write_port_file(args.port_file, port)
    t = threading.Thread(target=watchdog, args=(server, args.lifetime, os.getppid()), daemon=True)
    t.start()
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
