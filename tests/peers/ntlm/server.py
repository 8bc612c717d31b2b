#!/usr/bin/env python3
"""NTLM acceptor (HTTP, keep-alive) for conntest's tests: http.server + pyspnego.

    python tests/peers/ntlm/server.py --port 0     # -> LISTENING http://127.0.0.1:PORT
    python tests/peers/ntlm/server.py --port 0 --tls DIR [--negotiate]
                                                   # -> LISTENING https://127.0.0.1:PORT

--tls DIR: the same acceptor behind Python's ssl, with a private CA written to
DIR/ca.pem (tests/peers/tls_server.py makes the certificates); --client-cert
also requires a client certificate signed by that CA (DIR/client.pem, client.key). --negotiate: the
acceptor is pyspnego's "negotiate" (SPNEGO) and offers only `WWW-Authenticate:
Negotiate`, as an IIS site with Windows authentication and Kerberos first does;
NTLM messages are accepted under that scheme (raw, as Windows clients send them
when Kerberos is not available), and the `NTLM` scheme itself is refused.

Serves on 127.0.0.1 only, HTTP/1.1 keep-alive, one thread per connection. NTLM
authenticates a TCP connection, not a request: the three messages must come on
one connection (negotiate -> 401 with the challenge -> authenticate -> 200), and
an authenticated connection serves later requests without a header.

Environment:
  NTLM_DOMAIN            domain of the user (default TESTDOM)
  NTLM_USER              user name (default alice)
  NTLM_PASSWORD          password (default: random, never printed; no ':' or newline)
  NTLM_USER_FILE         pyspnego's credential file (lines DOMAIN:USER:PASSWORD). The
                         server writes it at start (a private temp file when unset),
                         except when it names an existing file and NTLM_PASSWORD is
                         unset: that file is then used as it is.
  NTLM_ALLOW_NO_DOMAIN   1 (default): also accept the user with an empty domain
                         (a client that sends no domain); 0: the domain is required
  LM_COMPAT_LEVEL        pyspnego's; default here 5 = NTLMv2 only (LM and NTv1
                         responses are refused)
  NTLM_QUIET=1           no per-request log lines

Strict like a real origin server (RFC 9112 §3.2): a request line in absolute form
(`GET http://host:port/path HTTP/1.1`), no Host, or a Host without the port gets 400
and the connection is closed.

Routes:
  GET  /api/me     NTLM required -> 200 {"user": "DOMAIN\\\\user", "connection": N, ...}
  POST /api/echo   NTLM required -> as /api/me plus "body" and "content_type"
  GET  /__stats    no auth -> {"handshakes_ok", "handshakes_failed", "connections", ...};
                   ?connection=N: that connection's own counts
The log (stderr) never holds a password, a hash or an NTLM message.
"""

import argparse
import atexit
import base64
import itertools
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LM_COMPAT_LEVEL", "5")

import spnego  # noqa: E402  (reads LM_COMPAT_LEVEL per context; set before any use)

QUIET = os.environ.get("NTLM_QUIET") == "1"
PROTECTED = {"/api/me": ("GET", "HEAD"), "/api/echo": ("POST",)}
MAX_BODY = 1 << 20


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.total = {"handshakes_ok": 0, "handshakes_failed": 0, "connections": 0,
                      "open_connections": 0, "challenges": 0, "requests": 0,
                      "authenticated_requests": 0, "unauthenticated_401": 0,
                      "bad_requests": 0}
        self.per_conn = {}  # id -> counts
        self.ids = itertools.count(1)

    def new_connection(self):
        with self.lock:
            cid = next(self.ids)
            self.total["connections"] += 1
            self.total["open_connections"] += 1
            self.per_conn[cid] = {"requests": 0, "challenges": 0, "handshakes_ok": 0,
                                  "handshakes_failed": 0, "authenticated_requests": 0,
                                  "user": None, "open": True}
            if len(self.per_conn) > 50000:
                for k in list(self.per_conn)[:10000]:
                    del self.per_conn[k]
            return cid

    def bump(self, cid, key, n=1):
        with self.lock:
            self.total[key] = self.total.get(key, 0) + n
            c = self.per_conn.get(cid)
            if c is not None and key in c:
                c[key] += n

    def set_conn(self, cid, **kw):
        with self.lock:
            c = self.per_conn.get(cid)
            if c is not None:
                c.update(kw)

    def closed(self, cid):
        with self.lock:
            self.total["open_connections"] -= 1
            if cid in self.per_conn:
                self.per_conn[cid]["open"] = False

    def snapshot(self, cid=None):
        with self.lock:
            if cid is None:
                return dict(self.total)
            c = self.per_conn.get(cid)
            return dict(c, connection=cid) if c is not None else None


STATS = Stats()


def log(msg):
    if not QUIET:
        print(msg, file=sys.stderr, flush=True)


NEGOTIATE = False  # --negotiate: offer and accept only the Negotiate scheme


def new_acceptor():
    # NegotiateOptions.use_ntlm: pyspnego's own NTLM code, never gss-ntlmssp.
    protocol = "negotiate" if NEGOTIATE else "ntlm"
    return spnego.server(protocol=protocol, options=spnego.NegotiateOptions.use_ntlm)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "conntest-ntlm-peer/1"

    def version_string(self):
        return self.server_version
    timeout = 60  # an idle keep-alive connection is closed after this many seconds

    # ---- per connection ------------------------------------------------------------
    def setup(self):
        super().setup()
        self.conn_id = STATS.new_connection()
        self.ctx = None  # acceptor context between the negotiate and authenticate messages
        self.user = None  # set once the connection is authenticated
        self.t0 = time.monotonic()

    def finish(self):
        try:
            super().finish()
        finally:
            STATS.closed(self.conn_id)

    def log_message(self, fmt, *args):  # http.server's own lines (errors only; requests are logged below)
        log(f"conn {self.conn_id}: " + (fmt % args))

    def log_request(self, code="-", size="-"):
        pass

    # ---- plumbing ------------------------------------------------------------------
    def read_body(self):
        """Always consume the request body so the next request on the connection parses."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(16)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, obj=None, headers=(), body=None, ctype="application/json"):
        if body is None:
            body = (json.dumps(obj) + "\n").encode() if obj is not None else b""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        path = urllib.parse.urlsplit(self.path).path
        log(f"conn {self.conn_id}: {self.command} {path} {status}{self._note}")

    def deny(self, why, challenge=None, scheme="NTLM"):
        self._note = f" ({why})"
        scheme = "Negotiate" if NEGOTIATE else scheme
        value = f"{scheme} {base64.b64encode(challenge).decode()}" if challenge else scheme
        self.reply(401, {"error": "unauthorized", "reason": why}, headers=[("WWW-Authenticate", value)])

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # ---- the request -----------------------------------------------------------------
    def refusal(self):
        """Why a real origin server answers 400 to this request line and Host (RFC 9112
        §3.2), or None. http.server itself takes `GET http://host/path` and routes it
        nowhere; IIS and friends refuse it, and so does this peer."""
        if not self.path.startswith("/"):
            return "request target not in origin form (/path?query)"
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            return "exactly one Host header is required"
        port = self.server.server_address[1]
        _, sep, given = hosts[0].strip().rpartition(":")
        if port != 80 and (not sep or given != str(port)):
            return f"Host lacks the port {port}"
        return None

    def dispatch(self):
        self._note = ""
        STATS.bump(self.conn_id, "requests")
        why = self.refusal()
        if why:
            STATS.bump(self.conn_id, "bad_requests")
            self.close_connection = True
            self._note = f" ({why})"
            self.reply(400, {"error": "bad request", "reason": why})
            return
        try:
            body = self.read_body()
        except (ValueError, ConnectionError) as e:
            self.close_connection = True
            self._note = f" ({e})"
            self.reply(400, {"error": "bad request", "reason": str(e)})
            return
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        if path == "/__stats":
            q = urllib.parse.parse_qs(parts.query)
            if "connection" in q:
                try:
                    snap = STATS.snapshot(int(q["connection"][0]))
                except ValueError:
                    snap = None
                if snap is None:
                    self.reply(404, {"error": "no such connection"})
                else:
                    self.reply(200, snap)
            else:
                self.reply(200, STATS.snapshot())
            return
        if path not in PROTECTED:
            self.reply(404, {"error": "not found"})
            return
        if self.command not in PROTECTED[path]:
            self.reply(405, {"error": "method not allowed"}, headers=[("Allow", ", ".join(PROTECTED[path]))])
            return
        try:
            if not self.authenticate():
                return
        except Exception as e:  # noqa: BLE001 - pyspnego raises ValueError etc. for bad input
            self.ctx = None
            STATS.bump(self.conn_id, "handshakes_failed")
            self.deny(f"NTLM error: {type(e).__name__}")
            return
        STATS.bump(self.conn_id, "authenticated_requests")
        out = {"user": self.user, "connection": self.conn_id,
               "request_on_connection": STATS.snapshot(self.conn_id)["requests"],
               "method": self.command, "path": path}
        if path == "/api/echo":
            out["content_type"] = self.headers.get("Content-Type")
            out["body"] = body.decode("utf-8", errors="replace")
        self.reply(200, out)

    def authenticate(self):
        """True when the request may be served; otherwise a 401 has been sent."""
        header = self.headers.get("Authorization")
        if not header:
            if self.user is not None:
                return True  # NTLM authenticated this connection earlier
            STATS.bump(self.conn_id, "unauthenticated_401")
            self.deny("no credentials")
            return False
        scheme, _, b64 = header.strip().partition(" ")
        if scheme.lower() not in (("negotiate",) if NEGOTIATE else ("ntlm", "negotiate")):
            STATS.bump(self.conn_id, "unauthenticated_401")
            self.deny(f"unsupported scheme {scheme[:20]!r}")
            return False
        scheme = "Negotiate" if scheme.lower() == "negotiate" else "NTLM"
        try:
            token = base64.b64decode(b64.strip(), validate=True)
        except ValueError:
            STATS.bump(self.conn_id, "handshakes_failed")
            self.deny("token is not base64")
            return False
        if len(token) < 12 or token[:8] != b"NTLMSSP\x00":
            STATS.bump(self.conn_id, "handshakes_failed")
            self.deny("not an NTLM message (raw NTLMSSP expected)")
            return False
        mtype = int.from_bytes(token[8:12], "little")
        if mtype == 1:
            # A negotiate message starts over, also on an authenticated connection.
            self.user = None
            STATS.set_conn(self.conn_id, user=None)
            self.ctx = new_acceptor()
            challenge = self.ctx.step(token)
            STATS.bump(self.conn_id, "challenges")
            self._note = " (challenge sent)"
            self.reply(401, {"error": "unauthorized", "reason": "NTLM challenge"},
                       headers=[("WWW-Authenticate", f"{scheme} {base64.b64encode(challenge).decode()}")])
            return False
        if mtype == 3:
            ctx, self.ctx = self.ctx, None
            if ctx is None:
                STATS.bump(self.conn_id, "handshakes_failed")
                self.deny("authenticate message without a negotiate on this connection")
                return False
            try:
                ctx.step(token)
            except Exception as e:  # noqa: BLE001 - wrong password: SpnegoError; odd input: ValueError
                STATS.bump(self.conn_id, "handshakes_failed")
                self.deny(f"authentication failed: {type(e).__name__}")
                return False
            if not ctx.complete:
                STATS.bump(self.conn_id, "handshakes_failed")
                self.deny("authentication incomplete")
                return False
            self.user = ctx.client_principal
            STATS.bump(self.conn_id, "handshakes_ok")
            STATS.set_conn(self.conn_id, user=self.user)
            self._note = " (authenticated)"
            return True
        STATS.bump(self.conn_id, "handshakes_failed")
        self.deny(f"unexpected NTLM message type {mtype}")
        return False


def write_user_file():
    """Returns (path, domain, user) and sets NTLM_USER_FILE for pyspnego."""
    domain = os.environ.get("NTLM_DOMAIN") or "TESTDOM"
    user = os.environ.get("NTLM_USER") or "alice"
    password = os.environ.get("NTLM_PASSWORD")
    given = os.environ.get("NTLM_USER_FILE")
    if given and os.path.isfile(given) and password is None:
        return given, None, None
    if password is None:
        password = secrets.token_hex(12)
    for what, v in (("NTLM_DOMAIN", domain), ("NTLM_USER", user), ("NTLM_PASSWORD", password)):
        if ":" in v or "\n" in v or "\r" in v:
            sys.exit(f"ntlm-peer: {what} must not contain ':' or a line break")
    path = given
    if not path:
        d = tempfile.mkdtemp(prefix="conntest-ntlm-")
        atexit.register(shutil.rmtree, d, True)
        path = os.path.join(d, "users")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{domain}:{user}:{password}\n")
        if os.environ.get("NTLM_ALLOW_NO_DOMAIN", "1") != "0":
            f.write(f":{user}:{password}\n")
    os.environ["NTLM_USER_FILE"] = path
    return path, domain, user


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8002, help="TCP port on 127.0.0.1 (0 = any free)")
    p.add_argument("--tls", metavar="DIR", help="serve https with a private CA written to DIR/ca.pem")
    p.add_argument("--negotiate", action="store_true", help="offer and accept only the Negotiate scheme")
    p.add_argument("--client-cert", action="store_true",
                   help="with --tls: require a client certificate (DIR/client.pem and client.key are written)")
    args = p.parse_args()
    global NEGOTIATE
    NEGOTIATE = args.negotiate
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    path, domain, user = write_user_file()
    new_acceptor()  # fail now, not on the first client, if pyspnego cannot accept

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

    httpd = Server(("127.0.0.1", args.port), Handler)
    port = httpd.server_address[1]
    scheme = "http"
    if args.tls:
        import ssl

        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from tls_server import make_certs

        cert, key = make_certs(args.tls, "mtls" if args.client_cert else "good")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if args.client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(args.tls, "ca.pem"))
        # The handshake runs in the connection's thread, not in accept().
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    who = f"{domain}\\{user}" if user else f"users of {path}"
    print(f"ntlm-peer: {who}, LM_COMPAT_LEVEL={os.environ['LM_COMPAT_LEVEL']}, user file {path}",
          file=sys.stderr, flush=True)
    print(f"LISTENING {scheme}://127.0.0.1:{port}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
