#!/usr/bin/env bash
# The project's test command:  bash tests/run.sh [extra `cargo test` args...]
#
# 1. installs the test peers (tests/peers/setup.sh: Debian packages + venv with Django;
#    tests/peers/setup-oidc.sh: npm oidc-provider from its lock file),
# 2. starts the real Django peer on a free 127.0.0.1 port with a random password,
#    and the OIDC authorization server (tests/peers/start-oidc.sh),
# 3. runs `cargo test --locked --all-targets "$@"` inside a private keyring
#    session (tests/keyring-session.sh) and exits with its code.
#
# Environment given to the tests:
#   CONNTEST_DJANGO_URL       http://127.0.0.1:PORT of the Django peer
#   CONNTEST_DJANGO_PASSWORD  alice's password there (random per run: a canary
#                             that must never show up unmasked in any output)
#   CONNTEST_DJANGO_USER      alice   (CONNTEST_DJANGO_EMAIL alice@example.com)
#   CONNTEST_KEYRING_SESSION  absolute path of tests/keyring-session.sh, for tests
#                             that need their own (e.g. --locked) keyring session
#   CONNTEST_KEYRING_READY=1  set by keyring-session.sh: an unlocked private keyring
#   CONNTEST_PEERS_PYTHON     the venv python (to start more Python peers)
#   CONNTEST_OIDC_URL, CONNTEST_OIDC_CLIENT_SECRET, CONNTEST_OIDC_USER,
#   CONNTEST_OIDC_PASSWORD, CONNTEST_OIDC_KEYS, CONNTEST_BROWSER
#                             the OIDC peer and its scripted browser (tests/peers/oidc/README.md)
#   CONNTEST_OAUTH1_URL, _CONSUMER_KEY, _CONSUMER_SECRET, _TOKEN, _TOKEN_SECRET, _SIGN
#   CONNTEST_NTLM_URL, _DOMAIN, _USER, _PASSWORD
#                             the OAuth 1.0a and NTLM peers (tests/peers/oauth1, tests/peers/ntlm)
# Works with no stdin and CI=true.
# RUN_SH_TEST_CMD replaces the cargo command (run by `bash -c` in the keyring session):
# for smoke-testing this script, and for scripts/mutants.sh, which runs cargo-mutants there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

bash tests/peers/setup.sh </dev/null

PY="$ROOT/target/peers-venv/bin/python"
export CONNTEST_PEERS_PYTHON="$PY"

export CONNTEST_DJANGO_PASSWORD="canary-pw-$RANDOM$RANDOM$RANDOM"
export CONNTEST_DJANGO_USER=alice
export CONNTEST_DJANGO_EMAIL=alice@example.com

# The peer's request log is kept after the run for debugging.
django_log="$ROOT/target/django-peer.log"
django_pid=
cleanup() {
    if declare -F oidc_stop >/dev/null; then oidc_stop; fi
    if declare -F peers8_stop >/dev/null; then peers8_stop; fi
    if [ -n "$django_pid" ]; then
        kill "$django_pid" 2>/dev/null || true
        wait "$django_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --port 0: the server binds a free port itself (no pick-then-bind race) and
# prints "LISTENING http://127.0.0.1:PORT" once it accepts connections.
"$PY" tests/peers/django/app.py --port 0 </dev/null >"$django_log" 2>&1 &
django_pid=$!

started=$SECONDS
CONNTEST_DJANGO_URL=
until [ -n "$CONNTEST_DJANGO_URL" ] && curl -fsS -o /dev/null --max-time 2 "$CONNTEST_DJANGO_URL/api/csrf" 2>/dev/null; do
    if ! kill -0 "$django_pid" 2>/dev/null || [ $((SECONDS - started)) -ge 30 ]; then
        echo "tests/run.sh: the Django peer did not answer on ${CONNTEST_DJANGO_URL:-(no port yet)}/api/csrf within 30 s; its log:" >&2
        cat "$django_log" >&2
        exit 1
    fi
    sleep 0.1
    CONNTEST_DJANGO_URL="$(sed -n 's/^LISTENING \(http:[^ ]*\)$/\1/p' "$django_log" | head -n1)"
done
export CONNTEST_DJANGO_URL

# The OIDC authorization server (npm oidc-provider) and the scripted browser.
# shellcheck source=tests/peers/start-oidc.sh
source tests/peers/start-oidc.sh </dev/null || exit 1
# The OAuth 1.0a provider (Flask + oauthlib) and the NTLM acceptor (pyspnego).
# shellcheck source=tests/peers/start-peers8.sh
source tests/peers/start-peers8.sh </dev/null || exit 1

export CONNTEST_KEYRING_SESSION="$ROOT/tests/keyring-session.sh"

set +e
if [ -n "${RUN_SH_TEST_CMD:-}" ]; then
    bash tests/keyring-session.sh -- bash -c "$RUN_SH_TEST_CMD" </dev/null
else
    # A hung test must not eat CI's whole budget: the build and the suite get 40 minutes.
    bash tests/keyring-session.sh -- timeout --kill-after=30 2400 cargo test --locked --all-targets "$@" </dev/null
fi
rc=$?
set -e
exit "$rc"
