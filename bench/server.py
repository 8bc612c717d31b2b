#!/usr/bin/env python3
"""Tiny HTTP/1.1 keep-alive API for bench/run.sh (Python stdlib only).

    python3 bench/server.py [PORT] [--ttl SECONDS]

Binds 127.0.0.1 only. PORT 0 (the default) picks a free port. The first line on
stdout is the port actually bound, e.g. "41234" (then stdout is flushed).

Endpoints (a 3-request login chain plus refresh):
  POST /login    JSON {"username", "password"}      -> {"session": "..."}
  POST /token    form session=...                   -> {"access_token", "refresh_token",
                                                        "token_type": "Bearer", "expires_in"}
  GET  /me       Authorization: Bearer <access>     -> {"username": "bench"}   (401 otherwise)
  POST /refresh  form refresh_token=...             -> {"access_token", "refresh_token",
                                                        "token_type", "expires_in"}
  POST /_expire  (no auth)                          -> expire every access token issued so far,
                                                        so the next GET /me answers 401
  GET  /_health                                     -> {"ok": true}

Credentials: username "bench", password "bench-password".
Access tokens also expire after --ttl seconds (default: never).
"""
import json
import secrets
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERNAME = "bench"
PASSWORD = "bench-password"

_lock = threading.Lock()
_sessions = set()
_access = {}  # access token -> expiry (epoch seconds, or None)
_refresh = set()
TTL = None


def _issue_tokens():
    access = "at-" + secrets.token_hex(16)
    refresh = "rt-" + secrets.token_hex(16)
    with _lock:
        _access[access] = (time.time() + TTL) if TTL else None
        _refresh.add(refresh)
    body = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer"}
    if TTL:
        body["expires_in"] = TTL
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "conntest-bench/1"
    wbufsize = -1  # buffer headers + body, flushed once per response

    def setup(self):
        super().setup()
        # One write per response, and no Nagle delay on top of it.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- helpers ---------------------------------------------------------------
    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, obj, extra_headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _form(self, raw):
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}

    # -- routes ------------------------------------------------------------------
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_health":
            return self._send(200, {"ok": True})
        if path == "/me":
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else ""
            with _lock:
                known = token in _access
                exp = _access.get(token)
            if not known or (exp is not None and exp <= time.time()):
                return self._send(401, {"error": "invalid_token"},
                                  [("WWW-Authenticate", 'Bearer error="invalid_token"')])
            return self._send(200, {"username": USERNAME, "id": 1})
        return self._send(404, {"error": "not_found", "path": path})

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        raw = self._read_body()
        if path == "/login":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._send(400, {"error": "bad_json"})
            if not isinstance(body, dict) or body.get("username") != USERNAME \
                    or body.get("password") != PASSWORD:
                return self._send(401, {"error": "bad_credentials"})
            session = "s-" + secrets.token_hex(16)
            with _lock:
                _sessions.add(session)
            return self._send(200, {"session": session})
        if path == "/token":
            session = self._form(raw).get("session", "")
            with _lock:
                ok = session in _sessions
            if not ok:
                return self._send(401, {"error": "bad_session"})
            return self._send(200, _issue_tokens())
        if path == "/refresh":
            rt = self._form(raw).get("refresh_token", "")
            with _lock:
                ok = rt in _refresh
            if not ok:
                return self._send(401, {"error": "invalid_grant"})
            return self._send(200, _issue_tokens())
        if path == "/_expire":
            with _lock:
                n = len(_access)
                for k in _access:
                    _access[k] = 0.0
            return self._send(200, {"expired": n})
        return self._send(404, {"error": "not_found", "path": path})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main(argv):
    global TTL
    port = 0
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--ttl":
            TTL = float(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            port = int(a)
    httpd = Server(("127.0.0.1", port), Handler)
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
