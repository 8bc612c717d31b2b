#!/usr/bin/env python3
"""End-to-end checks of the OAuth 1.0a peer without conntest (run by selftest.sh).

Needs the environment of tests/peers/start-peers8.sh (CONNTEST_OAUTH1_*) and the
peers venv (requests, requests-oauthlib). Plays conntest's part with
requests-oauthlib, curl + sign.py, a one-shot loopback listener and
tests/peers/browser.py as $BROWSER. Prints one line per check and a closing
`N passed, N failed` line; exit 1 when a check failed.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import requests
from requests_oauthlib import OAuth1, OAuth1Session

U = os.environ["CONNTEST_OAUTH1_URL"]
CK = os.environ["CONNTEST_OAUTH1_CONSUMER_KEY"]
CS = os.environ["CONNTEST_OAUTH1_CONSUMER_SECRET"]
TOK = os.environ["CONNTEST_OAUTH1_TOKEN"]
TS = os.environ["CONNTEST_OAUTH1_TOKEN_SECRET"]
SIGN = os.environ["CONNTEST_OAUTH1_SIGN"]
BROWSER = os.environ["CONNTEST_OAUTH1_BROWSER"]
PEER_LOG = os.environ.get("CONNTEST_OAUTH1_LOG")
WORK = os.environ.get("SELFTEST_WORK", "/tmp")
METHODS = ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT")

S = requests.Session()
S.trust_env = False  # loopback only: never a proxy
passed = failed = 0


def check(desc, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {desc}")
    else:
        failed += 1
        print(f"FAIL {desc}" + (f"\n     {detail}" if detail else ""))
    sys.stdout.flush()
    return cond


def body(r):
    try:
        return r.json()
    except ValueError:
        return {"_text": r.text[:300]}


def stats(token=None):
    return S.get(f"{U}/__stats", params={"token": token} if token else None).json()


def sign(spec):
    out = subprocess.run([sys.executable, SIGN, "--json", json.dumps(spec)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def curl(*args):
    """Runs curl; returns (status, parsed JSON body or text)."""
    out = subprocess.run(["curl", "-sS", "-g", "--noproxy", "*", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True)
    text, _, code = out.stdout.rpartition("\n")
    try:
        return int(code), json.loads(text)
    except ValueError:
        return int(code or 0), text


AWKWARD_GET = [("q", "a b"), ("filter[name]", "a b"), ("a", "1"), ("a", "0"), ("u", "ü"),
               ("sym", "!*'();:@&=+$,/?#[]~"), ("empty", "")]
AWKWARD_EXPECT = {"q": "a b", "filter[name]": "a b", "a": ["1", "0"], "u": "ü",
                  "sym": "!*'();:@&=+$,/?#[]~", "empty": ""}


# ---- 1. given token: each signature method, awkward GET, signed form POST -------------------
def given_token():
    for m in METHODS:
        auth = OAuth1(CK, CS, TOK, TS, signature_method=m)
        r = S.get(f"{U}/api/me", params=AWKWARD_GET, auth=auth)
        b = body(r)
        check(f"given token, {m}: GET /api/me with awkward params -> 200", r.status_code == 200, r.text)
        check(f"given token, {m}: consumer, token and method echoed",
              (b.get("consumer"), b.get("token"), b.get("signature_method")) == (CK, TOK, m), b)
        check(f"given token, {m}: params as received (spaces, filter[name], a=1&a=0, ü, reserved chars, empty)",
              b.get("params") == AWKWARD_EXPECT, b.get("params"))
        form = [("x", "1 2"), ("filter[name]", "a b"), ("a", "1"), ("a", "0"), ("u", "ü"), ("amp", "&=+%")]
        r = S.post(f"{U}/api/echo", params=[("via", "query")], data=form, auth=auth)
        b = body(r)
        check(f"given token, {m}: signed form POST /api/echo -> 200", r.status_code == 200, r.text)
        check(f"given token, {m}: query + body params echoed",
              b.get("params") == {"via": "query", "x": "1 2", "filter[name]": "a b", "a": ["1", "0"],
                                  "u": "ü", "amp": "&=+%"}, b.get("params"))


# ---- 2. raw URLs through curl with sign.py's header ----------------------------------------
def raw_urls():
    # RFC 5849 section 1.2's example
    ex = sign({"url": "http://photos.example.net/photos", "params": {"file": "vacation.jpg", "size": "original"},
               "consumer_key": "dpf43f3p2l4k3l03", "consumer_secret": "kd94hf93k423kf44",
               "token": "nnch734d00sl2jdk", "token_secret": "pfkkdhi9sl3r4s00",
               "nonce": "kllo9940pd9333jh", "timestamp": 1191242096})
    check("sign.py: RFC 5849 1.2 example signature tR3+Ty81lMeYAr/Fid0kMTYa/WM=",
          ex["signature"] == "tR3+Ty81lMeYAr/Fid0kMTYa/WM=", ex)
    check("sign.py: RFC 5849 1.2 example base string",
          ex["base_string"] == "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key"
          "%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26"
          "oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal",
          ex["base_string"])

    # Raw `[`, `]`, %20 and + in the query as a client may send them (curl -g keeps them raw).
    for m in METHODS:
        raw = f"{U}/api/me?filter[name]=a%20b&q=a+b&a=1&a=0&u=%C3%BC"
        s = sign({"url": raw, "consumer_key": CK, "consumer_secret": CS, "token": TOK, "token_secret": TS,
                  "signature_method": m})
        st, b = curl("-H", f"Authorization: {s['authorization']}", raw)
        check(f"curl + sign.py, {m}: raw [ ] %20 + in the query -> 200", st == 200, b)
        check(f"curl + sign.py, {m}: decoded params",
              isinstance(b, dict) and b.get("params") == {"filter[name]": "a b", "q": "a b", "a": ["1", "0"], "u": "ü"},
              b)
    s = sign({"method": "POST", "url": f"{U}/api/echo?k=v", "body": [["x", "1 2"], ["y", "ü"]],
              "consumer_key": CK, "consumer_secret": CS, "token": TOK, "token_secret": TS, "realm": "Photos"})
    st, b = curl("-H", f"Authorization: {s['authorization']}", "-H", f"Content-Type: {s['content_type']}",
                 "--data-raw", s["body"], s["url"])
    check("curl + sign.py: form POST with realm -> 200", st == 200, b)
    check("curl + sign.py: realm echoed, params echoed",
          isinstance(b, dict) and b.get("realm") == "Photos" and b.get("params") == {"k": "v", "x": "1 2", "y": "ü"}, b)
    # a body parameter changed after signing: the body is part of the signature
    s = sign({"method": "POST", "url": f"{U}/api/echo?k=v", "body": [["x", "1 2"], ["y", "ü"]],
              "consumer_key": CK, "consumer_secret": CS, "token": TOK, "token_secret": TS})
    st, b = curl("-H", f"Authorization: {s['authorization']}", "-H", f"Content-Type: {s['content_type']}",
                 "--data-raw", s["body"].replace("x=1", "x=9"), s["url"])
    check("form POST: body changed after signing -> 401 invalid signature",
          st == 401 and "invalid signature" in str(b), b)
    s = sign({"url": f"{U}/api/me?a=1", "consumer_key": CK, "consumer_secret": CS, "token": TOK, "token_secret": TS})
    st, b = curl("-H", f"Authorization: {s['authorization']}", f"{U}/api/me?a=2")
    check("GET: query changed after signing -> 401 invalid signature", st == 401 and "invalid signature" in str(b), b)


# ---- 3. refusals -----------------------------------------------------------------------------
def refusals():
    before = stats()
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, "wrong-" + CS, TOK, TS))
    check("wrong consumer secret -> 401 'invalid signature'",
          r.status_code == 401 and body(r).get("reason") == "invalid signature", r.text)
    check("401 carries WWW-Authenticate: OAuth", r.headers.get("WWW-Authenticate", "").startswith("OAuth "), r.headers)
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS, TOK, "wrong-" + TS, signature_method="PLAINTEXT"))
    check("wrong token secret (PLAINTEXT) -> 401", r.status_code == 401, r.text)
    r = S.get(f"{U}/api/me", auth=OAuth1("ck-unknown", CS, TOK, TS))
    check("unknown consumer key -> 401 naming it", r.status_code == 401 and "unknown consumer key" in r.text, r.text)
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS, "no-such-token", TS))
    check("unknown token -> 401", r.status_code == 401 and "unknown or expired token" in r.text, r.text)
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS))
    check("no token -> 401 missing oauth_token", r.status_code == 401 and "missing oauth_token" in r.text, r.text)
    r = S.get(f"{U}/api/me")
    check("no Authorization at all -> 401", r.status_code == 401, r.text)
    ts = str(int(time.time()))
    auth = OAuth1(CK, CS, TOK, TS, nonce="replay" + ts, timestamp=ts)
    r1, r2 = S.get(f"{U}/api/me", auth=auth), S.get(f"{U}/api/me", auth=auth)
    check("nonce/timestamp replay: first 200, second 401 (replay)",
          r1.status_code == 200 and r2.status_code == 401 and "replay" in r2.text, (r1.text, r2.text))
    old = str(int(time.time()) - 3600)
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS, TOK, TS, timestamp=old))
    check("timestamp an hour old -> 401", r.status_code == 401 and "Timestamp" in r.text, r.text)
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS, TOK, TS, signature_method="HMAC-SHA512"))
    check("HMAC-SHA512 (not offered) -> 401 naming the allowed methods",
          r.status_code == 401 and "HMAC-SHA512 not in" in r.text, r.text)
    after = stats()
    d = lambda *k: _get(after, *k) - _get(before, *k)  # noqa: E731
    check("stats: the wrong secrets counted as invalid signatures (me, HMAC-SHA1 and PLAINTEXT)",
          d("endpoints", "me", "invalid") >= 4 and d("methods", "PLAINTEXT", "invalid") >= 1, after)
    check("stats: the replay counted (replays_rejected, refused)",
          d("replays_rejected") >= 1 and d("endpoints", "me", "refused") >= 3, after)


def _get(d, *keys):
    for k in keys:
        d = d.get(k, 0) if isinstance(d, dict) else 0
    return d


# ---- 4. three-legged with the scripted browser ------------------------------------------------
class Listener:
    """conntest's loopback listener: one GET on /callback, remembered."""

    def __init__(self):
        got = self.got = {}
        ev = self.ev = threading.Event()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                got["path"] = self.path
                b = b"<p>You may close this window.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)
                ev.set()

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.callback = f"http://127.0.0.1:{self.port}/callback"
        threading.Thread(target=self.srv.handle_request, daemon=True).start()

    def wait(self, secs):
        ok = self.ev.wait(secs)
        self.srv.server_close()
        if not ok:
            return None
        parts = urllib.parse.urlsplit(self.got["path"])
        return parts.path, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def browse(mode, url):
    t = time.monotonic()
    env = dict(os.environ, BROWSER_MODE=mode, BROWSER_LOG=os.path.join(WORK, "browser.log"))
    rc = subprocess.run([BROWSER, url], env=env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return rc, (time.monotonic() - t) * 1000


def three_legged(method, mode="approve", realm=None):
    """Request token -> $BROWSER -> callback; returns (session, request token, callback query)."""
    lst = Listener()
    sess = OAuth1Session(CK, CS, callback_uri=lst.callback, signature_method=method)
    sess.trust_env = False
    rt = sess.fetch_request_token(f"{U}/oauth/request_token", realm=realm)
    rc, ms = browse(mode, f"{U}/oauth/authorize?oauth_token={urllib.parse.quote(rt['oauth_token'])}")
    check(f"3-legged {method} ({mode}): $BROWSER returns at once (rc 0, {ms:.0f} ms)", rc == 0 and ms < 1500)
    cb = lst.wait(3 if mode == "never" else 20)
    return sess, rt, cb


def flows():
    for m in METHODS:
        t0 = time.monotonic()
        sess, rt, cb = three_legged(m, realm=["photos"] if m == "HMAC-SHA1" else None)
        check(f"3-legged {m}: request token with oauth_callback_confirmed=true",
              rt.get("oauth_callback_confirmed") == "true", rt)
        if not check(f"3-legged {m}: browser delivered the callback to the listener", cb is not None):
            continue
        path, q = cb
        check(f"3-legged {m}: callback on /callback with the request token and a verifier",
              path == "/callback" and q.get("oauth_token") == rt["oauth_token"] and q.get("oauth_verifier"), cb)
        at = sess.fetch_access_token(f"{U}/oauth/access_token", verifier=q["oauth_verifier"])
        check(f"3-legged {m}: access token + secret + screen_name=alice",
              at.get("oauth_token") and at.get("oauth_token_secret") and at.get("screen_name") == "alice", at)
        if m == "HMAC-SHA1":
            check("3-legged: realm requested at the request token is authorized",
                  at.get("oauth_authorized_realms") == "photos", at)
        ms = (time.monotonic() - t0) * 1000
        print(f"timing: three-legged {m} (request token, browser, callback, access token) {ms:.0f} ms")
        r = sess.get(f"{U}/api/me", params={"q": "a b"})
        b = body(r)
        check(f"3-legged {m}: /api/me with the new token -> 200, its token echoed",
              r.status_code == 200 and b.get("token") == at["oauth_token"] and b.get("params") == {"q": "a b"}, r.text)
        st = stats(at["oauth_token"])
        check(f"3-legged {m}: per-token stats count that one valid call",
              _get(st, "endpoints", "me", "valid") == 1 and _get(st, "methods", m, "valid") == 1, st)
        # the verifier is single use
        again = OAuth1Session(CK, CS, rt["oauth_token"], rt["oauth_token_secret"], verifier=q["oauth_verifier"],
                              signature_method=m)
        again.trust_env = False
        r = again.post(f"{U}/oauth/access_token")
        check(f"3-legged {m}: the request token/verifier cannot be exchanged twice -> 401", r.status_code == 401, r.text)

    # deny
    sess, rt, cb = three_legged("HMAC-SHA1", "deny")
    check("deny: callback with denied=<token>&oauth_problem=user_refused and no verifier",
          cb is not None and cb[1].get("denied") == rt["oauth_token"] and cb[1].get("oauth_problem") == "user_refused"
          and "oauth_verifier" not in cb[1], cb)
    r = S.get(f"{U}/oauth/authorize", params={"oauth_token": rt["oauth_token"]})
    check("deny: the request token is gone (authorize page -> 400)", r.status_code == 400, r.status_code)
    # never
    sess, rt, cb = three_legged("HMAC-SHA1", "never")
    check("never: no callback within 3 s", cb is None, cb)
    # tamper-verifier: the access-token request fails
    sess, rt, cb = three_legged("HMAC-SHA256", "tamper-verifier")
    if check("tamper-verifier: callback delivered with a changed verifier",
             cb is not None and cb[1].get("oauth_verifier", "").startswith("tampered-"), cb):
        sess._client.client.verifier = cb[1]["oauth_verifier"]
        r = sess.post(f"{U}/oauth/access_token")
        check("tamper-verifier: access token request -> 401 invalid verifier",
              r.status_code == 401 and "invalid+verifier" in r.text, r.text)
    # tamper-token: the callback's oauth_token is not the request token (a client must notice)
    sess, rt, cb = three_legged("HMAC-SHA1", "tamper-token")
    check("tamper-token: callback oauth_token differs from the request token",
          cb is not None and cb[1].get("oauth_token") != rt["oauth_token"] and cb[1].get("oauth_verifier"), cb)

    sess, rt, cb = three_legged("PLAINTEXT", "drop-verifier")
    check("drop-verifier: callback with the request token and no verifier",
          cb is not None and cb[1].get("oauth_token") == rt["oauth_token"] and "oauth_verifier" not in cb[1], cb)

    # request-token refusals
    bad = OAuth1Session(CK, CS, callback_uri="http://example.com/callback")
    bad.trust_env = False
    r = bad.post(f"{U}/oauth/request_token")
    check("request token with a non-loopback callback -> 401 naming the rule",
          r.status_code == 401 and "loopback" in r.text, r.text)
    nocb = OAuth1Session(CK, CS)
    nocb.trust_env = False
    r = nocb.post(f"{U}/oauth/request_token")
    check("request token without oauth_callback -> 400", r.status_code == 400 and "callback" in r.text.lower(), r.text)
    r = S.post(f"{U}/oauth/request_token",
               auth=OAuth1(CK, "wrong-" + CS, callback_uri="http://127.0.0.1:9/callback"))
    check("request token with a wrong consumer secret -> 401 invalid signature",
          r.status_code == 401 and "invalid+signature" in r.text, r.text)
    r = S.get(f"{U}/oauth/authorize", params={"oauth_token": "nope"})
    check("authorize page with an unknown token -> 400 with class=error",
          r.status_code == 400 and 'class="error"' in r.text, r.status_code)

    # a fresh token pair from /__tokens works and has its own stats
    pair = S.post(f"{U}/__tokens").json()
    r = S.get(f"{U}/api/me", auth=OAuth1(CK, CS, pair["oauth_token"], pair["oauth_token_secret"],
                                         signature_method="HMAC-SHA256"))
    check("POST /__tokens: a new pre-authorized pair works", r.status_code == 200, r.text)
    st = stats(pair["oauth_token"])
    check("per-token stats: exactly one valid HMAC-SHA256 call", st["total"] == {"valid": 1, "invalid": 0, "refused": 0}
          and _get(st, "methods", "HMAC-SHA256", "valid") == 1, st)
    st = stats()
    for ep in ("request_token", "access_token", "me", "echo"):
        check(f"stats: endpoint {ep} has valid signatures counted", _get(st, "endpoints", ep, "valid") > 0, st)
    check("stats: approvals and denials counted",
          st.get("authorizations_approved", 0) >= 5 and st.get("authorizations_denied", 0) >= 1, st)


def log_has_no_secrets():
    if not PEER_LOG or not os.path.exists(PEER_LOG):
        return
    text = open(PEER_LOG, encoding="utf-8", errors="replace").read()
    check("peer log holds neither the consumer secret nor the token secret",
          CS not in text and TS not in text and urllib.parse.quote(CS) not in text)


def main():
    t = time.monotonic()
    given_token()
    raw_urls()
    refusals()
    flows()
    log_has_no_secrets()
    print(f"timing: checks {(time.monotonic() - t):.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
