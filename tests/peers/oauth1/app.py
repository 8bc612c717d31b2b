#!/usr/bin/env python3
"""OAuth 1.0a provider (RFC 5849) for conntest's tests: Flask 3.1 + oauthlib.

    python tests/peers/oauth1/app.py --port 0      # -> LISTENING http://127.0.0.1:PORT

Serves on 127.0.0.1 only (threaded). oauthlib's WebApplicationServer does the
protocol work (request token, authorization, access token, protected resources);
this file holds the RequestValidator (in-memory stores), the routes and the
statistics. See README.md beside it for the endpoints and the environment.

Environment:
  OAUTH1_CONSUMER_KEY     consumer key (default ck-test)
  OAUTH1_CONSUMER_SECRET  its secret (default: random, never printed)
  OAUTH1_TOKEN            pre-issued access token for "given token" mode (default: random)
  OAUTH1_TOKEN_SECRET     its secret (default: random, never printed)
  OAUTH1_SCREEN_NAME      user name returned with access tokens (default alice)
  OAUTH1_QUIET=1          no per-request log lines

The log (stderr) never holds a secret, a signature, a token secret or a query value.
"""

import argparse
import html
import json
import logging
import os
import secrets
import signal
import string
import sys
import threading
import time
import urllib.parse

from flask import Flask, Response, g, request
from oauthlib.common import safe_string_equals, urlencoded
from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_HMAC_SHA256,
    SIGNATURE_PLAINTEXT,
    RequestValidator,
    WebApplicationServer,
)
from oauthlib.oauth1.rfc5849 import errors as oauth_errors

CONSUMER_KEY = os.environ.get("OAUTH1_CONSUMER_KEY") or "ck-test"
CONSUMER_SECRET = os.environ.get("OAUTH1_CONSUMER_SECRET") or secrets.token_hex(16)
GIVEN_TOKEN = os.environ.get("OAUTH1_TOKEN") or "at" + secrets.token_hex(12)
GIVEN_TOKEN_SECRET = os.environ.get("OAUTH1_TOKEN_SECRET") or secrets.token_hex(16)
SCREEN_NAME = os.environ.get("OAUTH1_SCREEN_NAME") or "alice"
QUIET = os.environ.get("OAUTH1_QUIET") == "1"

ALLOWED_METHODS = (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_PLAINTEXT)
REQUEST_TOKEN_TTL = 600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Keys, tokens, nonces and verifiers: unreserved URI characters, 1..200 of them
# (oauthlib's defaults want 20-30 alphanumerics; `ck-test` has a dash and is 7 long).
SAFE_CHARS = set(string.ascii_letters + string.digits + "-._~")
# What oauthlib's urldecode() accepts in a query or form body (anything else,
# e.g. a raw `[` that many URL libraries leave unencoded, makes it raise).
URLENCODED_OK = set(urlencoded)

log = logging.getLogger("oauth1-peer")


# ---- stores ---------------------------------------------------------------------------
class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.consumers = {CONSUMER_KEY: CONSUMER_SECRET}
        # token -> dict(secret, client_key, callback, realms, verifier, created)
        self.request_tokens = {}
        # token -> dict(secret, client_key, realms, screen_name)
        self.access_tokens = {
            GIVEN_TOKEN: {"secret": GIVEN_TOKEN_SECRET, "client_key": CONSUMER_KEY,
                          "realms": [], "screen_name": SCREEN_NAME}
        }
        self.nonces = {}  # (client_key, timestamp, nonce, token) -> time seen
        self.events = []  # dicts: endpoint, method, token, verdict, status
        self.counters = {"request_tokens_issued": 0, "access_tokens_issued": 0,
                         "authorizations_approved": 0, "authorizations_denied": 0,
                         "replays_rejected": 0}

    def request_token(self, token):
        rt = self.request_tokens.get(token)
        if rt and time.time() - rt["created"] > REQUEST_TOKEN_TTL:
            self.request_tokens.pop(token, None)
            return None
        return rt


STORE = Store()


def note(**kw):
    """Remember facts about the current request for the stats and the reason."""
    try:
        d = g.setdefault("oauth", {})
    except RuntimeError:  # outside a request context
        return
    for k, v in kw.items():
        d.setdefault(k, v) if k == "error" else d.__setitem__(k, v)


# ---- validator ------------------------------------------------------------------------
class Validator(RequestValidator):
    @property
    def enforce_ssl(self):
        return False  # http on loopback in tests

    @property
    def allowed_signature_methods(self):
        return ALLOWED_METHODS

    @property
    def timestamp_lifetime(self):
        return 600

    @property
    def dummy_client(self):
        return "dummy-client"

    @property
    def dummy_request_token(self):
        return "dummy-request-token"

    @property
    def dummy_access_token(self):
        return "dummy-access-token"

    @staticmethod
    def _ok(value):
        return bool(value) and 1 <= len(value) <= 200 and set(value) <= SAFE_CHARS

    def check_client_key(self, client_key):
        return self._ok(client_key)

    def check_request_token(self, request_token):
        return self._ok(request_token)

    def check_access_token(self, request_token):
        ok = self._ok(request_token)
        if not ok:
            note(error="invalid access token format")
        return ok

    def check_nonce(self, nonce):
        return self._ok(nonce)

    def check_verifier(self, verifier):
        return self._ok(verifier)

    def check_realms(self, realms):
        return True  # any realm the client names

    def get_client_secret(self, client_key, request):
        return STORE.consumers.get(client_key, "dummy-secret")

    def get_request_token_secret(self, client_key, token, request):
        with STORE.lock:
            rt = STORE.request_token(token)
        return rt["secret"] if rt and rt["client_key"] == client_key else "dummy-secret"

    def get_access_token_secret(self, client_key, token, request):
        at = STORE.access_tokens.get(token)
        return at["secret"] if at and at["client_key"] == client_key else "dummy-secret"

    def get_default_realms(self, client_key, request):
        return []

    def get_realms(self, token, request):
        rt = STORE.request_tokens.get(token)
        return list(rt["realms"]) if rt else []

    def get_redirect_uri(self, token, request):
        return STORE.request_tokens[token]["callback"]

    def get_rsa_key(self, client_key, request):
        raise NotImplementedError("RSA signatures are not offered")

    def invalidate_request_token(self, client_key, request_token, request):
        with STORE.lock:
            STORE.request_tokens.pop(request_token, None)

    def validate_client_key(self, client_key, request):
        ok = client_key in STORE.consumers
        note(client_ok=ok)
        return ok

    def validate_request_token(self, client_key, token, request):
        with STORE.lock:
            rt = STORE.request_token(token)
        ok = bool(rt) and rt["client_key"] == client_key
        note(token_ok=ok)
        return ok

    def validate_access_token(self, client_key, token, request):
        at = STORE.access_tokens.get(token)
        ok = bool(at) and at["client_key"] == client_key
        note(token_ok=ok)
        return ok

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        key = (client_key, timestamp, nonce, request_token or access_token)
        now = time.time()
        with STORE.lock:
            if key in STORE.nonces:
                STORE.counters["replays_rejected"] += 1
                note(error="nonce/timestamp pair already used (replay)")
                return False
            if len(STORE.nonces) > 20000:  # forget what the timestamp check rejects anyway
                for k in [k for k, t in STORE.nonces.items() if now - t > 1300]:
                    del STORE.nonces[k]
            STORE.nonces[key] = now
        return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        try:
            parts = urllib.parse.urlsplit(redirect_uri)
            ok = parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS and parts.port is not None
        except ValueError:
            ok = False
        note(callback_ok=ok)
        return ok

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def validate_verifier(self, client_key, token, verifier, request):
        with STORE.lock:
            rt = STORE.request_token(token)
        ok = bool(rt) and rt["client_key"] == client_key and rt["verifier"] is not None \
            and safe_string_equals(verifier, rt["verifier"])
        note(verifier_ok=ok)
        return ok

    def verify_request_token(self, token, request):
        with STORE.lock:
            rt = STORE.request_token(token)
        return bool(rt) and rt["verifier"] is None

    def verify_realms(self, token, realms, request):
        return True

    def save_request_token(self, token, request):
        with STORE.lock:
            STORE.request_tokens[token["oauth_token"]] = {
                "secret": token["oauth_token_secret"], "client_key": request.client_key,
                "callback": request.redirect_uri, "realms": list(request.realms or []),
                "verifier": None, "created": time.time(),
            }
            STORE.counters["request_tokens_issued"] += 1

    def save_verifier(self, token, verifier, request):
        with STORE.lock:
            STORE.request_tokens[token]["verifier"] = verifier["oauth_verifier"]

    def save_access_token(self, token, request):
        with STORE.lock:
            STORE.access_tokens[token["oauth_token"]] = {
                "secret": token["oauth_token_secret"], "client_key": request.client_key,
                "realms": list(request.realms or []), "screen_name": SCREEN_NAME,
            }
            STORE.counters["access_tokens_issued"] += 1


class Server(WebApplicationServer):
    """oauthlib's server, recording what it decided for the stats and the 401 reason."""

    def _create_request(self, *args, **kwargs):
        try:
            req = super()._create_request(*args, **kwargs)
        except oauth_errors.OAuth1Error as e:
            note(error=e.description or e.error)
            raise
        note(method=req.signature_method, token=req.resource_owner_key, realm=req.realm)
        return req

    def _check_mandatory_parameters(self, request):
        try:
            return super()._check_mandatory_parameters(request)
        except oauth_errors.OAuth1Error as e:
            note(error=e.description or e.error)
            raise

    def _check_signature(self, request, is_token_request=False):
        ok = super()._check_signature(request, is_token_request=is_token_request)
        note(signature_ok=ok)
        return ok


SERVER = Server(Validator())
app = Flask(__name__)


# ---- request helpers ------------------------------------------------------------------
def _pct_fix(raw: bytes, keep) -> str:
    """Percent-encode every byte outside `keep` (a set of characters); existing
    %XX escapes and `+` stay as they are, so the decoded parameters do not change."""
    out = []
    for b in raw:
        c = chr(b)
        out.append(c if b < 0x80 and c in keep else f"%{b:02X}")
    return "".join(out)


def raw_target() -> bytes:
    """The request target exactly as it was on the request line."""
    env = request.environ
    raw = env.get("RAW_URI") or env.get("REQUEST_URI")
    if raw is None:
        q = env.get("QUERY_STRING", "")
        raw = urllib.parse.quote(env.get("SCRIPT_NAME", "") + env.get("PATH_INFO", "")) + ("?" + q if q else "")
        return raw.encode("latin-1")
    # werkzeug's dev server stores str(latin-1 request line).encode("utf-8").decode("latin-1")
    try:
        return raw.encode("latin-1").decode("utf-8").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return raw.encode("latin-1", errors="replace")


def signed_uri() -> str:
    """The absolute URI to verify against: scheme (http, or https under tls.py) + Host header + raw path and query
    (query characters oauthlib would reject are percent-encoded first)."""
    raw = raw_target()
    if raw.startswith(b"http://"):  # absolute-form request target
        raw = b"/" + raw.split(b"/", 3)[3] if raw.count(b"/") >= 3 else b"/"
    path, _, query = raw.partition(b"?")
    path_s = _pct_fix(path, set(string.printable) - set(" \t\r\n\x0b\x0c#?"))
    host = request.headers.get("Host") or f"{request.environ['SERVER_NAME']}:{request.environ['SERVER_PORT']}"
    uri = f"{request.scheme}://{host}{path_s}"  # https behind tls.py
    if query:
        uri += "?" + _pct_fix(query, URLENCODED_OK)
    return uri


def form_body() -> str:
    """The raw body when it is a form, with characters oauthlib rejects escaped; else ''."""
    ctype = request.headers.get("Content-Type", "")
    data = request.get_data(cache=True)
    if "application/x-www-form-urlencoded" not in ctype:
        return ""
    return _pct_fix(data, URLENCODED_OK)


def oauth_headers() -> dict:
    return {k: v for k, v in request.headers.items()}


def non_oauth_params(uri: str, body: str) -> dict:
    """Query then body parameters, oauth_* left out; a repeated name gives a list."""
    out = {}
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query, keep_blank_values=True)
    if body:
        pairs += urllib.parse.parse_qsl(body, keep_blank_values=True)
    for k, v in pairs:
        if k.startswith("oauth_"):
            continue
        if k in out:
            out[k] = out[k] + [v] if isinstance(out[k], list) else [out[k], v]
        else:
            out[k] = v
    return out


def reason() -> str:
    o = g.get("oauth", {})
    if o.get("error"):
        return o["error"]
    why = []
    for key, text in (("client_ok", "unknown consumer key"), ("token_ok", "unknown or expired token"),
                      ("verifier_ok", "invalid verifier"), ("callback_ok", "callback must be http on a loopback address with a port"),
                      ("signature_ok", "invalid signature")):
        if o.get(key) is False:
            why.append(text)
    return "; ".join(why) or "request refused"


def record(endpoint: str, status: int):
    o = g.get("oauth", {})
    if "signature_ok" in o:
        verdict = "valid" if o["signature_ok"] else "invalid"
    else:
        verdict = "refused"  # refused before a signature verdict (replay, malformed, ...)
    g.verdict = verdict
    with STORE.lock:
        STORE.events.append({"endpoint": endpoint, "method": o.get("method") or "(none)",
                             "token": o.get("token"), "verdict": verdict, "status": status})
        if len(STORE.events) > 200000:
            del STORE.events[:100000]


def json_response(obj, status=200, headers=None):
    resp = Response(json.dumps(obj, ensure_ascii=False) + "\n", status=status,
                    content_type="application/json; charset=utf-8")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def form_response(body, status, headers):
    resp = Response(body or "", status=status)
    resp.headers["Content-Type"] = "application/x-www-form-urlencoded"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    resp.headers["Cache-Control"] = "no-store"
    return resp


def html_page(title, body, status=200):
    doc = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
           f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


# ---- token endpoints ------------------------------------------------------------------
@app.route("/oauth/request_token", methods=["POST", "GET"])
def request_token():
    try:
        h, b, s = SERVER.create_request_token_response(
            signed_uri(), http_method=request.method, body=form_body(), headers=oauth_headers())
    except ValueError as e:  # a query or body oauthlib cannot parse
        note(error=f"malformed request: {e}")
        h, b, s = {}, None, 400
    if s != 200 and not b:
        b = urllib.parse.urlencode({"error": "unauthorized", "error_description": reason()})
    elif s != 200:
        note(error=dict(urllib.parse.parse_qsl(b)).get("error_description", "") or reason())
    record("request_token", s)
    return form_response(b, s, h)


@app.route("/oauth/access_token", methods=["POST", "GET"])
def access_token():
    try:
        h, b, s = SERVER.create_access_token_response(
            signed_uri(), http_method=request.method, body=form_body(), headers=oauth_headers(),
            credentials={"screen_name": SCREEN_NAME, "user_id": "1"})
    except ValueError as e:
        note(error=f"malformed request: {e}")
        h, b, s = {}, None, 400
    if s != 200 and not b:
        b = urllib.parse.urlencode({"error": "unauthorized", "error_description": reason()})
    record("access_token", s)
    return form_response(b, s, h)


# ---- authorization (the user's page) --------------------------------------------------
@app.get("/oauth/authorize")
def authorize_page():
    token = request.args.get("oauth_token", "")
    with STORE.lock:
        rt = STORE.request_token(token)
        usable = bool(rt) and rt["verifier"] is None
    if not usable:
        g.verdict = "unknown-token"
        return html_page("Authorization failed",
                         '<p class="error">Unknown, expired or already used request token.</p>', 400)
    consumer = html.escape(rt["client_key"])
    realms = html.escape(" ".join(rt["realms"])) or "(none)"
    body = (f"<p>Signed in as <b>{html.escape(SCREEN_NAME)}</b>.</p>\n"
            f"<p>The application <b>{consumer}</b> asks for access to your account (realms: {realms}).</p>\n"
            '<form method="post" action="/oauth/authorize">\n'
            f'  <input type="hidden" name="oauth_token" value="{html.escape(token)}">\n'
            '  <button type="submit" name="decision" value="approve">Approve</button>\n'
            '  <button type="submit" name="decision" value="deny">Deny</button>\n'
            "</form>")
    return html_page(f"Authorize {rt['client_key']}", body)


@app.post("/oauth/authorize")
def authorize_decision():
    token = request.form.get("oauth_token", "")
    decision = request.form.get("decision", "")
    with STORE.lock:
        rt = STORE.request_token(token)
        usable = bool(rt) and rt["verifier"] is None
    if not usable:
        g.verdict = "unknown-token"
        return html_page("Authorization failed",
                         '<p class="error">Unknown, expired or already used request token.</p>', 400)
    if decision != "approve":
        # OAuth 1.0a defines no error redirect; like Twitter's, this one carries
        # `denied=<request token>` (plus the Problem Reporting extension's oauth_problem).
        with STORE.lock:
            STORE.request_tokens.pop(token, None)
            STORE.counters["authorizations_denied"] += 1
        g.verdict = "denied"
        sep = "&" if "?" in rt["callback"] else "?"
        loc = rt["callback"] + sep + urllib.parse.urlencode({"denied": token, "oauth_problem": "user_refused"})
        return Response("", status=302, headers={"Location": loc})
    uri = f"http://{request.headers.get('Host', '127.0.0.1')}/oauth/authorize?" + \
        urllib.parse.urlencode({"oauth_token": token})
    try:
        h, _, s = SERVER.create_authorization_response(uri, http_method="GET", realms=rt["realms"])
    except oauth_errors.OAuth1Error as e:
        g.verdict = "error"
        return html_page("Authorization failed", f'<p class="error">{html.escape(e.description or e.error)}</p>', 400)
    with STORE.lock:
        STORE.counters["authorizations_approved"] += 1
    g.verdict = "approved"
    return Response("", status=s, headers=h)


# ---- protected resources --------------------------------------------------------------
def protected(endpoint):
    uri = signed_uri()
    body = form_body()
    try:
        ok, req = SERVER.validate_protected_resource_request(
            uri, http_method=request.method, body=body, headers=oauth_headers())
    except ValueError as e:
        note(error=f"malformed request: {e}")
        ok, req = False, None
    if not ok and req is not None and not req.resource_owner_key:
        note(error="missing oauth_token (a protected resource needs an access token)")
    status = 200 if ok else 401
    record(endpoint, status)
    if not ok:
        return json_response({"ok": False, "error": "invalid_request" if g.verdict == "refused" else "unauthorized",
                              "reason": reason()}, 401,
                             {"WWW-Authenticate": 'OAuth realm="conntest-oauth1-peer"'})
    at = STORE.access_tokens.get(req.resource_owner_key, {})
    raw_body = request.get_data(cache=True)
    out = {
        "ok": True,
        "consumer": req.client_key,
        "token": req.resource_owner_key,
        "screen_name": at.get("screen_name"),
        "signature_method": req.signature_method,
        "realm": req.realm,
        "method": request.method,
        "params": non_oauth_params(uri, body),
    }
    if endpoint == "echo":
        out["content_type"] = request.headers.get("Content-Type")
        out["body"] = raw_body.decode("utf-8", errors="replace")
    return json_response(out)


@app.route("/api/me", methods=["GET", "HEAD"])
def api_me():
    return protected("me")


@app.post("/api/echo")
def api_echo():
    return protected("echo")


# ---- test-only endpoints --------------------------------------------------------------
def _tally(events):
    def triple():
        return {"valid": 0, "invalid": 0, "refused": 0}
    per_endpoint, per_method, total = {}, {}, triple()
    for e in events:
        per_endpoint.setdefault(e["endpoint"], triple())[e["verdict"]] += 1
        per_method.setdefault(e["method"], triple())[e["verdict"]] += 1
        total[e["verdict"]] += 1
    matrix = {}
    for e in events:
        matrix.setdefault(e["endpoint"], {}).setdefault(e["method"], triple())[e["verdict"]] += 1
    return {"total": total, "endpoints": per_endpoint, "methods": per_method, "by_endpoint_and_method": matrix}


@app.get("/__stats")
def stats():
    token = request.args.get("token")
    with STORE.lock:
        events = [e for e in STORE.events if token is None or e["token"] == token]
        counters = dict(STORE.counters)
    out = _tally(events)
    if token is None:
        out.update(counters)
    else:
        out["token"] = token
    return json_response(out)


@app.post("/__tokens")
def new_token():
    """A fresh pre-authorized access token pair for the consumer (given-token tests
    that want their own per-token stats)."""
    tok, sec = "at" + secrets.token_hex(12), secrets.token_hex(16)
    with STORE.lock:
        STORE.access_tokens[tok] = {"secret": sec, "client_key": CONSUMER_KEY, "realms": [],
                                    "screen_name": SCREEN_NAME}
    return json_response({"oauth_token": tok, "oauth_token_secret": sec})


# ---- logging --------------------------------------------------------------------------
@app.before_request
def _start_clock():
    g.t0 = time.monotonic()


@app.after_request
def _log_line(resp):
    if not QUIET:
        path = request.path
        if request.query_string:
            names = [p.split("=", 1)[0] for p in request.query_string.decode("latin-1").split("&") if p]
            path += "?" + "&".join(names)
        o = g.get("oauth", {})
        extra = ""
        if o.get("method") or g.get("verdict"):
            extra = f" method={o.get('method') or '-'} verdict={g.get('verdict', '-')}"
        if resp.status_code >= 400 and request.path.startswith(("/oauth/", "/api/")):
            extra += f" reason={reason()!r}"
        ms = (time.monotonic() - g.get("t0", time.monotonic())) * 1000
        print(f"{request.method} {path} {resp.status_code} {ms:.0f}ms{extra}", file=sys.stderr, flush=True)
    return resp


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8001, help="TCP port on 127.0.0.1 (0 = any free)")
    args = p.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log has query values
    logging.getLogger("oauthlib").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    from werkzeug.serving import make_server
    httpd = make_server("127.0.0.1", args.port, app, threaded=True)
    port = httpd.socket.getsockname()[1]
    print(f"oauth1-peer: consumer {CONSUMER_KEY}, methods {', '.join(ALLOWED_METHODS)}", file=sys.stderr, flush=True)
    print(f"LISTENING http://127.0.0.1:{port}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
