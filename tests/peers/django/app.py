#!/usr/bin/env python3
"""Real Django peer for conntest's tests: cookie session + double-submit CSRF.

    python tests/peers/django/app.py --port PORT

Serves on 127.0.0.1 only (threaded, HTTP/1.1). A fresh sqlite DB in a temp dir
is migrated at start and user `alice` (alice@example.com, id 1) is created with
the password from env CONNTEST_DJANGO_PASSWORD (default correct-horse-battery-staple).
`--port 0` picks a free port. The line `LISTENING http://127.0.0.1:PORT` is
printed on stdout once the socket accepts connections.

Stock Django middleware does the work: SessionMiddleware, CsrfViewMiddleware
(cookie `csrftoken`, header `X-CSRFToken` or form field `csrfmiddlewaretoken`;
Origin is checked when sent), AuthenticationMiddleware. `login()` rotates the
CSRF token, so a client must pick up the new `csrftoken` cookie.

Routes (JSON):
  GET  /api/csrf    ensure_csrf_cookie -> {"csrf_cookie_set": true}
  POST /api/login   form or JSON {username|email, password}; 200 {"ok": true, "username": ...}
                    401 {"error": "invalid credentials"}; CSRF failure -> 403
  GET  /api/me      200 {"id", "username", "email"} | 401 {"error": "not authenticated"}
  POST /api/echo    CSRF + login required; {"method", "headers" (lower-case), "body"}
  POST /api/logout  CSRF protected; {"ok": true}
"""

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import socketserver
import sys
import tempfile

import django
from django.conf import settings

DEFAULT_PASSWORD = "correct-horse-battery-staple"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (0 = any free)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    return p.parse_args()


ARGS = parse_args() if __name__ == "__main__" else argparse.Namespace(port=0, quiet=True)
DATA_DIR = tempfile.mkdtemp(prefix="conntest-django-")


def _cleanup():
    shutil.rmtree(DATA_DIR, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

settings.configure(
    DEBUG=False,
    SECRET_KEY=secrets.token_urlsafe(50),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",  # sets Content-Length (keep-alive)
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(DATA_DIR, "db.sqlite3"),
            # Threaded server + parallel tests: wait for locks instead of failing.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
    APPEND_SLASH=False,
    CSRF_COOKIE_HTTPONLY=False,
    CSRF_COOKIE_SECURE=False,
    SESSION_COOKIE_SECURE=False,
    CSRF_USE_SESSIONS=False,
    # Keep Django's decision and status (403); only the body is JSON so tests can read the reason.
    CSRF_FAILURE_VIEW=__name__ + ".csrf_failure",
    LOGGING_CONFIG=None if ARGS.quiet else "logging.config.dictConfig",
)
django.setup()

from django.contrib.auth import authenticate, get_user_model, login, logout  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import ensure_csrf_cookie  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402


def csrf_failure(request, reason=""):
    return JsonResponse({"error": "csrf", "reason": reason}, status=403)


@require_GET
@ensure_csrf_cookie
def api_csrf(request):
    return JsonResponse({"csrf_cookie_set": True})


def _credentials(request):
    ctype = (request.content_type or "").lower()
    if ctype == "application/json":
        try:
            data = json.loads(request.body.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict):
            return None
    else:
        data = request.POST
    return data.get("username"), data.get("email"), data.get("password")


@require_POST
def api_login(request):
    creds = _credentials(request)
    if creds is None:
        return JsonResponse({"error": "malformed body"}, status=400)
    username, email, password = creds
    if not username and email:
        user = get_user_model().objects.filter(email__iexact=str(email)).first()
        username = user.username if user else None
    user = None
    if username and isinstance(password, str):
        user = authenticate(request, username=str(username), password=password)
    if user is None:
        return JsonResponse({"error": "invalid credentials"}, status=401)
    login(request, user)  # cycles the session key and rotates the CSRF token
    return JsonResponse({"ok": True, "username": user.username})


@require_POST
def api_logout(request):
    logout(request)
    return JsonResponse({"ok": True})


@require_GET
def api_me(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not authenticated"}, status=401)
    u = request.user
    return JsonResponse({"id": u.id, "username": u.username, "email": u.email})


@require_POST
def api_echo(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not authenticated"}, status=401)
    return JsonResponse(
        {
            "method": request.method,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": request.body.decode("utf-8", errors="replace"),
        }
    )


urlpatterns = [
    path("api/csrf", api_csrf),
    path("api/login", api_login),
    path("api/logout", api_logout),
    path("api/me", api_me),
    path("api/echo", api_echo),
]


def main():
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    password = os.environ.get("CONNTEST_DJANGO_PASSWORD", DEFAULT_PASSWORD)
    get_user_model().objects.create_user("alice", email="alice@example.com", password=password)

    class Handler(WSGIRequestHandler):
        def log_message(self, *a):
            if not ARGS.quiet:
                super().log_message(*a)

    server_cls = type("ThreadedWSGIServer", (socketserver.ThreadingMixIn, WSGIServer), {"daemon_threads": True})
    httpd = server_cls(("127.0.0.1", ARGS.port), Handler, ipv6=False)
    httpd.set_app(get_wsgi_application())
    port = httpd.server_address[1]
    print(f"LISTENING http://127.0.0.1:{port}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
