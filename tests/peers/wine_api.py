#!/usr/bin/env python3
"""A tiny JSON-token API for tests/wine.sh (standard library only).

    POST /api/login          JSON {email, password} -> {access_token, refresh_token, expires_in}
    POST /api/token/refresh  form refresh_token=...  -> {access_token}
    GET  /api/me             Authorization: Bearer <token> -> {id, email}; 401 otherwise

`--big N` pads every access token to N characters, so an entry outgrows
Windows' 2,560-byte credential blob and must be split. Binds 127.0.0.1 only,
on a free port (`--port 0`), and prints "LISTENING http://127.0.0.1:PORT".
Each request is logged on stderr as "METHOD PATH STATUS".
"""

import argparse
import json
import secrets
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMAIL = "wine@example.com"
PASSWORD = "wine-pass"


class Api(BaseHTTPRequestHandler):
    tokens: dict = {}
    refresh_tokens: set = set()
    big = 0

    def log_message(self, fmt, *args):  # quiet: the status lines below say enough
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        print(f"{self.command} {self.path} {status}", file=sys.stderr, flush=True)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def new_token(self, email):
        token = "tok-" + secrets.token_hex(16)
        if self.big:
            token += "x" * max(0, self.big - len(token))
        Api.tokens[token] = email
        return token

    def do_POST(self):
        if self.path == "/api/login":
            try:
                creds = json.loads(self.body())
            except ValueError:
                return self.reply(400, {"error": "bad json"})
            if creds.get("email") != EMAIL or creds.get("password") != PASSWORD:
                return self.reply(401, {"error": "wrong email or password"})
            refresh = "ref-" + secrets.token_hex(16)
            Api.refresh_tokens.add(refresh)
            return self.reply(
                200,
                {"access_token": self.new_token(EMAIL), "refresh_token": refresh, "expires_in": 3600},
            )
        if self.path == "/api/token/refresh":
            form = urllib.parse.parse_qs(self.body().decode())
            if form.get("refresh_token", [""])[0] not in Api.refresh_tokens:
                return self.reply(401, {"error": "bad refresh token"})
            return self.reply(200, {"access_token": self.new_token(EMAIL)})
        return self.reply(404, {"error": "not found"})

    def do_GET(self):
        if self.path == "/api/me":
            auth = self.headers.get("Authorization", "")
            email = Api.tokens.get(auth.removeprefix("Bearer "))
            if not auth.startswith("Bearer ") or email is None:
                return self.reply(401, {"error": "token expired"})
            return self.reply(200, {"id": 7, "email": email})
        return self.reply(404, {"error": "not found"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--big", type=int, default=0)
    args = parser.parse_args()
    Api.big = args.big
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Api)
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
