#!/usr/bin/env python3
"""Scripted browser for conntest's browser-step tests (Python 3.11, stdlib only).

    BROWSER=tests/peers/browser.py conntest test auth ...
    tests/peers/browser.py URL

conntest runs the program named in $BROWSER with the authorize URL as its one
argument and does not wait for it. This script returns at once (it detaches
with a double fork, stdio on /dev/null) and plays the user in the background,
the way a real browser would: a cookie jar that honours cookie Path, redirects
(301/302/303/307/308) followed by hand, the OIDC peer's login form filled in,
consent approved, and the final redirect to the client's loopback listener
delivered with a GET.

The listener is the first redirect target whose host is a loopback address and
whose port differs from the port of URL (the authorization server's).

Environment:
  BROWSER_MODE      approve (default) | deny | tamper-state | drop-state | never | direct
                      approve       log in, approve consent, deliver the redirect
                      deny          log in, deny consent, deliver the error redirect
                                    (error=access_denied&error_description=...)
                      tamper-state  as approve, but change the `state` value first
                      drop-state    as approve, but remove `state` first
                      never         do nothing at all (a user who never comes back)
                    OAuth 1.0a (tests/peers/oauth1: approve/deny/never work as above;
                    deny there redirects with denied=<token>&oauth_problem=user_refused):
                      tamper-token     as approve, but change `oauth_token` in the callback
                      tamper-verifier  as approve, but change `oauth_verifier`
                      drop-verifier    as approve, but remove `oauth_verifier`
                      direct        GET URL and follow redirects to the listener, no
                                    forms (for the generic `callback` step, /cb-test)
  BROWSER_USER      login to type (default alice)
  BROWSER_PASSWORD  password to type (default empty)
  BROWSER_LOG       append a log of what happened to this file: URLs without
                    query values, statuses, and the exit code of the background part
  BROWSER_TIMEOUT   give up after this many seconds (default 60)
  BROWSER_FOREGROUND=1  do not detach (for debugging; the exit code is then the
                    background part's)

Exit codes of the background part (in the log as `exit N`):
  0 delivered to the listener (any status), or mode never
  2 bad usage or mode
  3 the login was rejected (the login form came back)
  4 a page had no form or redirect to go on with (e.g. an error page)
  5 network error, timeout, or too many steps
"""

import html.parser
import http.cookiejar
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

MODES = {"approve", "deny", "tamper-state", "drop-state", "never", "direct",
         "tamper-token", "tamper-verifier", "drop-verifier"}
# Modes that edit one query parameter of the final redirect: mode -> (name, how).
EDITS = {
    "tamper-state": ("state", "tamper"),
    "drop-state": ("state", "drop"),
    "tamper-token": ("oauth_token", "tamper"),
    "tamper-verifier": ("oauth_verifier", "tamper"),
    "drop-verifier": ("oauth_verifier", "drop"),
}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAX_STEPS = 40


class Stop(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code
        self.why = why


# ---- logging ---------------------------------------------------------------------
_log_file = None


def log(msg):
    if _log_file is None:
        return
    stamp = time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 1000) % 1000:03d}"
    try:
        with open(_log_file, "a", encoding="utf-8") as f:
            f.write(f"{stamp} [{os.getpid()}] {msg}\n")
    except OSError:
        pass


def redact(url):
    """The URL without query values (names kept) and without a fragment."""
    parts = urllib.parse.urlsplit(url)
    names = [p.split("=", 1)[0] for p in parts.query.split("&") if p] if parts.query else []
    query = "&".join(names)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"{base}?{query}" if query else base


# ---- HTML forms ------------------------------------------------------------------
class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "fields": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "button", "textarea", "select"):
            typ = a.get("type", "submit" if tag == "button" else "text").lower()
            name = a.get("name")
            if not name:
                return
            if typ in ("submit", "image"):
                self._form["buttons"].append((name, a.get("value", "")))
            elif typ in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
            elif typ != "button":
                self._form["fields"].append((name, a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def forms_of(body):
    p = FormParser()
    p.feed(body)
    p.close()
    return p.forms


def field_names(form):
    return {n for n, _ in form["fields"]}


# ---- HTTP ------------------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # we follow redirects ourselves


class Browser:
    def __init__(self, deadline):
        self.jar = http.cookiejar.CookieJar()  # DefaultCookiePolicy honours Path
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback only: never a proxy
            urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirect(),
        )
        self.deadline = deadline
        self.steps = 0

    def request(self, method, url, data=None):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Stop(5, f"more than {MAX_STEPS} requests")
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Stop(5, "timed out")
        headers = {"User-Agent": "conntest-scripted-browser/1", "Accept": "text/html,*/*"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=min(remaining, 15)) as resp:
                status, hdrs, content = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs = e.code, e.headers
            try:
                content = e.read()
            except Exception:  # noqa: BLE001 - a body we cannot read is no body
                content = b""
            e.close()
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            log(f"{method} {redact(url)} -> error {reason}")
            raise Stop(5, f"network error: {reason}") from None
        location = hdrs.get("Location")
        extra = f" Location: {redact(urllib.parse.urljoin(url, location))}" if location else ""
        log(f"{method} {redact(url)} -> {status}{extra}")
        text = content.decode(hdrs.get_content_charset() or "utf-8", errors="replace")
        return status, location, text


def host_port(url):
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.hostname or "").lower(), port


def edit_param(url, name, how):
    """tamper: change the value of query parameter `name` (add name=tampered when
    absent); drop: remove it. Other raw query pieces are kept byte for byte."""
    parts = urllib.parse.urlsplit(url)
    pieces = [p for p in parts.query.split("&") if p] if parts.query else []
    out, seen = [], False
    for p in pieces:
        if urllib.parse.unquote_plus(p.split("=", 1)[0]) != name:
            out.append(p)
            continue
        seen = True
        if how == "tamper":
            value = p.split("=", 1)[1] if "=" in p else ""
            out.append(f"{name}=tampered-{value[:8]}X")
    if how == "tamper" and not seen:
        out.append(f"{name}=tampered")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(out), parts.fragment))


def run(url, mode, user, password, timeout):
    b = Browser(time.monotonic() + timeout)
    _, as_port = host_port(url)

    def is_listener(u):
        h, p = host_port(u)
        return urllib.parse.urlsplit(u).scheme == "http" and h in LOOPBACK_HOSTS and p != as_port

    def deliver(u):
        if mode in EDITS:
            name, how = EDITS[mode]
            u = edit_param(u, name, how)
            log(f"{mode}: {name} {'changed' if how == 'tamper' else 'removed'}")
        status, _, _ = b.request("GET", u)
        log(f"delivered to the listener: {status}")
        return 0

    method, data, current = "GET", None, url
    logged_in = False
    while True:
        if is_listener(current):
            return deliver(current)
        status, location, body = b.request(method, current, data)
        method, data = "GET", None
        if status in (301, 302, 303, 307, 308) and location:
            current = urllib.parse.urljoin(current, location)
            continue
        if status in (301, 302, 303, 307, 308):
            raise Stop(4, f"redirect {status} without Location")
        if mode == "direct":
            raise Stop(4, f"no redirect to a listener (status {status})")
        forms = forms_of(body)
        login = next((f for f in forms if "password" in field_names(f)), None)
        consent = next((f for f in forms if any(n == "decision" for n, _ in f["buttons"] + f["fields"])
                        and "password" not in field_names(f)), None)
        # Issue 19: the device flow's user-code confirmation (verification_uri_complete).
        device = next((f for f in forms if "user_code" in field_names(f)), None)
        if device is None and "<title>Device signed in</title>" in body:
            log("device flow: signed in")
            return 0
        if login is not None:
            if logged_in:
                raise Stop(3, "the login was rejected (the login form came back)")
            logged_in = True
            fields = dict(login["fields"])
            fields["login"] = user
            fields["password"] = password
            fields["decision"] = "login"
            log(f"login form: signing in as {user!r}")
            method, data = login["method"].upper(), fields
            current = urllib.parse.urljoin(current, login["action"] or current)
        elif device is not None:
            fields = dict(device["fields"])
            log("device form: confirming the user code")
            method, data = device["method"].upper(), fields
            current = urllib.parse.urljoin(current, device["action"] or current)
        elif consent is not None:
            decision = "deny" if mode == "deny" else "approve"
            fields = dict(consent["fields"])
            fields["decision"] = decision
            log(f"consent form: {decision}")
            method, data = consent["method"].upper(), fields
            current = urllib.parse.urljoin(current, consent["action"] or current)
        else:
            title = re.search(r"<title>(.*?)</title>", body, re.S | re.I)
            err = re.search(r'class="error"[^>]*>(.*?)<', body, re.S)
            what = (err or title).group(1).strip() if (err or title) else body[:120].strip()
            raise Stop(4, f"page with status {status} and no form to go on with: {what}")
        if method == "GET" and data:
            current = f"{current.split('?', 1)[0]}?{urllib.parse.urlencode(data)}"
            data = None


def background(url, mode):
    user = os.environ.get("BROWSER_USER", "alice")
    password = os.environ.get("BROWSER_PASSWORD", "")
    try:
        timeout = float(os.environ.get("BROWSER_TIMEOUT", "60"))
    except ValueError:
        timeout = 60.0
    log(f"start: mode={mode} url={redact(url)}")
    try:
        code = run(url, mode, user, password, timeout)
    except Stop as s:
        log(f"stopped: {s.why}")
        code = s.code
    except Exception as e:  # noqa: BLE001 - report anything, the caller only sees the log
        log(f"crashed: {type(e).__name__}: {e}")
        code = 5
    log(f"exit {code}")
    return code


def detach():
    """Double fork: the caller gets exit 0 at once; the grandchild, in its own
    session with stdio on /dev/null and no inherited fds, goes on."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    os.closerange(3, 65536)


def main(argv):
    global _log_file
    _log_file = os.environ.get("BROWSER_LOG") or None
    if len(argv) != 2:
        sys.stderr.write("usage: browser.py URL\n")
        return 2
    url = argv[1]
    mode = os.environ.get("BROWSER_MODE", "approve") or "approve"
    if mode not in MODES:
        sys.stderr.write(f"browser.py: unknown BROWSER_MODE {mode!r} (one of {', '.join(sorted(MODES))})\n")
        log(f"start: unknown mode {mode!r}")
        log("exit 2")
        return 2
    if mode == "never":
        log(f"start: mode=never url={redact(url)}: doing nothing")
        log("exit 0")
        return 0
    if os.environ.get("BROWSER_FOREGROUND") == "1":
        return background(url, mode)
    detach()
    os._exit(background(url, mode))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
