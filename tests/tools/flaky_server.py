#!/usr/bin/env python3
"""flaky_server.py - a scripted HTTP/1.1 server on 127.0.0.1 for the
transport and retry tests.

It answers requests from a script: a list of steps, each used COUNT times
in order, then a default step. It records every request (method, path,
headers, body, arrival time on the monotonic clock, connection number) so
a test can count attempts, connections and the gaps between attempts.

    flaky_server.py [--port-file F] [--lifetime S] [--script JSON]

The first line on stdout is "PORT n" (also written to --port-file). The
server exits by itself after --lifetime seconds (default 300) or when its
parent process goes away, and binds 127.0.0.1 only.

Control endpoints (never recorded, never consume a step):
    POST /__script    body: a script (below); replaces the current one
    POST /__reset     forgets the requests and the script
    GET  /__requests  {"requests": [{"seq", "method", "path", "headers":
                      {lower-case name: value}, "body", "time",
                      "connection"}, ...]}

A script is {"steps": [step, ...], "default": step}. A step is an object:
    count       how many requests it answers (default 1)
    status      HTTP status (default 200)
    body        the body (default empty)
    headers     {name: value} added to the answer
    echo        true: the body is the request as JSON (method, path,
                headers, body)
    ec2_error   an EC2 error code: an EC2 XML <Response><Errors> body
    query_error an error code: a query-protocol <ErrorResponse> body
    json_error  an error code: a JSON body with __type and the
                x-amzn-ErrorType header (rest-json and json protocols)
    message     the error message for the three above
    action      "respond" (default); "reset": abort the connection (RST)
                without answering; "close": close it without answering;
                "continue": send "100 Continue" (with an X-Interim header)
                before the answer
    sleep       seconds to wait before acting (for timeout tests)
    body_size   send a body of this many bytes: BODY (default "x")
                repeated and cut to size, with its Content-Length
    stream      true: the body goes out chunked, BODY (default "x")
                repeated without end, until the client goes away
    truncate    send the Content-Length of the whole body but only its
                first TRUNCATE bytes, then close the connection
The default step, when not given, is {"status": 200, "echo": true}.
The last four are for the malformed-response tests (oversized, endless
and cut-short answers).
"""

import argparse
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time

DEFAULT_STEP = {"status": 200, "echo": True}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.steps = []
        self.default = dict(DEFAULT_STEP)
        self.connections = 0

    def set_script(self, script):
        steps = []
        for step in script.get("steps", []):
            step = dict(step)
            step["count"] = int(step.get("count", 1))
            if step["count"] > 0:
                steps.append(step)
        with self.lock:
            self.steps = steps
            self.default = dict(script.get("default", DEFAULT_STEP))

    def reset(self):
        with self.lock:
            self.requests = []
            self.steps = []
            self.default = dict(DEFAULT_STEP)

    def next_step(self):
        with self.lock:
            if not self.steps:
                return self.default
            step = self.steps[0]
            step["count"] -= 1
            if step["count"] <= 0:
                self.steps.pop(0)
            return step

    def record(self, entry):
        with self.lock:
            entry["seq"] = len(self.requests)
            self.requests.append(entry)

    def new_connection(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def dump(self):
        with self.lock:
            return json.dumps({"requests": self.requests})


STATE = State()


def xml_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def error_body(step, seq):
    """Returns (body, extra headers) for the error shorthands, else None."""
    message = xml_escape(step.get("message", "scripted error"))
    request_id = "req-%d" % seq
    if "ec2_error" in step:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                "<Code>%s</Code><Message>%s</Message></Error></Errors>"
                "<RequestID>%s</RequestID></Response>"
                % (xml_escape(step["ec2_error"]), message, request_id))
        return body, {"Content-Type": "text/xml;charset=UTF-8"}
    if "query_error" in step:
        body = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
                "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                "<RequestId>%s</RequestId></ErrorResponse>"
                % (xml_escape(step["query_error"]), message, request_id))
        return body, {"Content-Type": "text/xml"}
    if "json_error" in step:
        code = step["json_error"]
        body = json.dumps({"__type": code, "message": step.get("message", "scripted error")})
        return body, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                      "x-amzn-RequestId": request_id}
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flaky/1"
    timeout = 120  # an idle keep-alive connection is dropped after this

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle and
        # delayed ACKs add 40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection_id = STATE.new_connection()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        return b""

    def read_chunked(self):
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def start_answer(self, status, headers):
        """The status line and HEADERS; the caller adds the length or chunking."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)

    def send(self, status, body, headers):
        raw = body.encode("utf-8") if isinstance(body, str) else body
        self.start_answer(status, headers)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)
        self.wfile.flush()

    def send_sized(self, status, body, headers, size):
        """BODY repeated and cut to SIZE bytes, written in pieces."""
        piece = (body.encode("utf-8") if isinstance(body, str) else body) or b"x"
        piece = piece * max(1, 65536 // len(piece))
        self.start_answer(status, headers)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        left = size
        try:
            while left > 0:
                chunk = piece[:left]
                self.wfile.write(chunk)
                left -= len(chunk)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up, as it should

    def send_stream(self, status, body, headers):
        """An endless chunked body: BODY again and again."""
        piece = (body.encode("utf-8") if isinstance(body, str) else body) or b"x"
        piece = piece * max(1, 65536 // len(piece))
        chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
        self.start_answer(status, headers)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            pass

    def send_truncated(self, status, body, headers, keep):
        raw = body.encode("utf-8") if isinstance(body, str) else body
        self.start_answer(status, headers)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw[:keep])
        self.wfile.flush()
        self.abort(False)

    def control(self, body):
        if self.path == "/__requests" and self.command == "GET":
            self.send(200, STATE.dump(), {"Content-Type": "application/json"})
        elif self.path == "/__script" and self.command == "POST":
            try:
                STATE.set_script(json.loads(body.decode("utf-8") or "{}"))
            except (ValueError, AttributeError) as e:
                self.send(400, "bad script: %s\n" % e, {})
                return
            self.send(200, "ok\n", {})
        elif self.path == "/__reset" and self.command == "POST":
            STATE.reset()
            self.send(200, "ok\n", {})
        else:
            self.send(404, "unknown control endpoint\n", {})

    def abort(self, hard):
        self.close_connection = True
        try:
            if hard:
                # SO_LINGER with a zero timeout makes close() send a RST.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_any(self):
        arrived = time.monotonic()
        body = self.read_body()
        if self.path.startswith("/__"):
            self.control(body)
            return
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "time": arrived,
            "connection": self.connection_id,
        }
        STATE.record(entry)
        self.answer(STATE.next_step(), entry)

    def answer(self, step, entry):
        if step.get("sleep"):
            time.sleep(float(step["sleep"]))
        action = step.get("action", "respond")
        if action in ("reset", "close"):
            self.abort(action == "reset")
            return
        if action == "continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
        headers = dict(step.get("headers", {}))
        err = error_body(step, entry["seq"])
        if err is not None:
            body, extra = err
            for name, value in extra.items():
                headers.setdefault(name, value)
        elif step.get("echo"):
            echo = {k: entry[k] for k in ("method", "path", "headers", "body")}
            body = json.dumps(echo)
            headers.setdefault("Content-Type", "application/json")
        else:
            body = step.get("body", "")
        status = int(step.get("status", 200))
        if step.get("stream"):
            self.send_stream(status, body, headers)
        elif "body_size" in step:
            self.send_sized(status, body, headers, int(step["body_size"]))
        elif "truncate" in step:
            self.send_truncated(status, body, headers, int(step["truncate"]))
        else:
            self.send(status, body, headers)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, BrokenPipeError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def watch_parent(parent):
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port-file", help="also write the port number here")
    parser.add_argument("--lifetime", type=float, default=300.0,
                        help="exit after this many seconds (default 300)")
    parser.add_argument("--script", help="initial script, as JSON")
    args = parser.parse_args()

    if args.script:
        STATE.set_script(json.loads(args.script))
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()

    stopper = threading.Timer(args.lifetime, lambda: os._exit(0))
    stopper.daemon = True
    stopper.start()
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
