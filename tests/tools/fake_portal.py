#!/usr/bin/env python3
"""A stand-in for the national portal in the bridge's tests: it answers the
way the portal does, logs every request it gets, and can be told to fail or
stall.

Usage: fake_portal.py PORT LOG
Each request is appended to LOG as one JSON line {path, headers, body}
(path with its query string). The file LOG.mode says how to answer the
next requests: "ok" (default), "fail" (HTTP 500) or "stall" (answer after
30 s, longer than any timeout of the tests).
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG = int(sys.argv[1]), sys.argv[2]
LOCK = threading.Lock()


def mode():
    try:
        with open(LOG + ".mode") as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


class Portal(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                "body": body.decode("utf-8", "replace")},
                               ensure_ascii=False) + "\n")
        m = mode()
        if m == "stall":
            time.sleep(30)
        if m == "fail":
            status, answer = 500, {"error_code": "-1", "message": "fake portal: lỗi"}
        elif self.path.endswith("/login"):
            status, answer = 200, {"error_code": 0, "session": "portal-session-1"}
        else:
            status, answer = 200, {"error_code": "0", "message": "fake portal: Đồng bộ thành công"}
        data = json.dumps(answer, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, fmt, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Portal).serve_forever()
