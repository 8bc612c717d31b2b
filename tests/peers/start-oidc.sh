# Starts the OIDC test peer (tests/peers/oidc/server.mjs) in the background.
# Meant to be sourced by a test script (bash):
#
#   source tests/peers/start-oidc.sh || exit 1
#   trap 'oidc_stop; other_cleanup' EXIT
#
# Installs the npm packages first when needed (tests/peers/setup-oidc.sh), starts
# the server on a free 127.0.0.1 port with a random canary client secret and
# password, waits up to 30 s for its LISTENING line and a successful
# GET /.well-known/openid-configuration, and exports:
#
#   CONNTEST_OIDC_URL            http://127.0.0.1:PORT (the issuer)
#   CONNTEST_OIDC_CLIENT_SECRET  secret of every confidential client (canary-cs-...)
#   CONNTEST_OIDC_USER           the user's login (alice)
#   CONNTEST_OIDC_PASSWORD       the user's password (canary-op-...)
#   CONNTEST_OIDC_KEYS           absolute path of tests/fixtures/keys
#   CONNTEST_BROWSER             absolute path of tests/peers/browser.py
#   CONNTEST_OIDC_PID            the server's pid
#   CONNTEST_OIDC_LOG            its log (stdout + stderr; kept after oidc_stop)
#
# Values already set in the environment for the secret, user and password are
# kept. OIDC_PEER_LOG overrides the log path (default target/oidc-peer.log),
# OIDC_SHORT_TTL is passed through (default 3 s). On failure it prints the log,
# stops the server and returns 1. Defines oidc_stop (idempotent).

_oidc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

oidc_stop() {
    if [ -n "${CONNTEST_OIDC_PID:-}" ]; then
        kill "$CONNTEST_OIDC_PID" 2>/dev/null || true
        wait "$CONNTEST_OIDC_PID" 2>/dev/null || true
        CONNTEST_OIDC_PID=
    fi
}

_oidc_rand() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }

_oidc_start() {
    local root="$_oidc_root" node= cand started url=
    bash "$root/tests/peers/setup-oidc.sh" </dev/null || return 1

    for cand in "${OIDC_NODE:-}" node /usr/bin/node; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 \
            && [ "$("$cand" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
            node="$(command -v "$cand")"; break
        fi
    done
    [ -n "$node" ] || { echo "start-oidc: no Node.js >= 20 found" >&2; return 1; }

    export CONNTEST_OIDC_CLIENT_SECRET="${CONNTEST_OIDC_CLIENT_SECRET:-canary-cs-$(_oidc_rand)}"
    export CONNTEST_OIDC_PASSWORD="${CONNTEST_OIDC_PASSWORD:-canary-op-$(_oidc_rand)}"
    export CONNTEST_OIDC_USER="${CONNTEST_OIDC_USER:-alice}"
    export CONNTEST_OIDC_KEYS="$root/tests/fixtures/keys"
    export CONNTEST_BROWSER="$root/tests/peers/browser.py"
    export CONNTEST_OIDC_LOG="${OIDC_PEER_LOG:-$root/target/oidc-peer.log}"
    mkdir -p "$(dirname "$CONNTEST_OIDC_LOG")"

    OIDC_CLIENT_SECRET="$CONNTEST_OIDC_CLIENT_SECRET" \
    OIDC_PASSWORD="$CONNTEST_OIDC_PASSWORD" \
    OIDC_USER="$CONNTEST_OIDC_USER" \
    OIDC_KEYS_DIR="$CONNTEST_OIDC_KEYS" \
        "$node" "$root/tests/peers/oidc/server.mjs" --port 0 </dev/null >"$CONNTEST_OIDC_LOG" 2>&1 &
    CONNTEST_OIDC_PID=$!
    export CONNTEST_OIDC_PID

    started=$SECONDS
    until [ -n "$url" ] && curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url/.well-known/openid-configuration" 2>/dev/null; do
        if ! kill -0 "$CONNTEST_OIDC_PID" 2>/dev/null || [ $((SECONDS - started)) -ge 30 ]; then
            echo "start-oidc: the OIDC peer did not answer on ${url:-(no port yet)}/.well-known/openid-configuration within 30 s; its log:" >&2
            cat "$CONNTEST_OIDC_LOG" >&2
            oidc_stop
            return 1
        fi
        sleep 0.05
        url="$(sed -n 's/^LISTENING \(http:[^ ]*\)$/\1/p' "$CONNTEST_OIDC_LOG" | head -n1)"
    done
    export CONNTEST_OIDC_URL="$url"
}

_oidc_start || return 1
