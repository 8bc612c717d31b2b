# Starts the OAuth 1.0a provider (tests/peers/oauth1/app.py) and the NTLM
# acceptor (tests/peers/ntlm/server.py) in the background. Meant to be sourced
# by a test script (bash):
#
#   source tests/peers/start-peers8.sh || exit 1
#   trap 'peers8_stop; other_cleanup' EXIT
#
# Installs first when needed (tests/peers/setup-peers8.sh, which runs
# tests/peers/setup.sh when the venv is missing), starts both servers at once on
# free 127.0.0.1 ports with random canary secrets, waits up to 30 s for each
# LISTENING line and a successful GET /__stats, and exports:
#
#   CONNTEST_OAUTH1_URL              http://127.0.0.1:PORT of the OAuth 1 provider
#   CONNTEST_OAUTH1_CONSUMER_KEY     ck-test
#   CONNTEST_OAUTH1_CONSUMER_SECRET  canary-o1cs-<24 hex>
#   CONNTEST_OAUTH1_TOKEN            pre-issued access token (given-token mode), at-<24 hex>
#   CONNTEST_OAUTH1_TOKEN_SECRET     its secret, canary-o1ts-<24 hex>
#   CONNTEST_OAUTH1_SIGN             absolute path of tests/peers/oauth1/sign.py
#   CONNTEST_OAUTH1_BROWSER          absolute path of tests/peers/browser.py (the scripted user)
#   CONNTEST_OAUTH1_PID, CONNTEST_OAUTH1_LOG
#   CONNTEST_NTLM_URL                http://127.0.0.1:PORT of the NTLM acceptor
#   CONNTEST_NTLM_DOMAIN             TESTDOM
#   CONNTEST_NTLM_USER               alice
#   CONNTEST_NTLM_PASSWORD           canary-ntlm-<24 hex>
#   CONNTEST_NTLM_PID, CONNTEST_NTLM_LOG
#   CONNTEST_PEERS_PYTHON            the venv python (sign.py and the peers run with it)
#
# Values already set in the environment for the secrets, token, domain, user and
# password are kept. PEERS8_START="oauth1 ntlm" (default) picks which to start.
# OAUTH1_PEER_LOG / NTLM_PEER_LOG override the log paths (default
# target/oauth1-peer.log, target/ntlm-peer.log). On failure it prints the log,
# stops what it started and returns 1. Defines peers8_stop (idempotent).

_p8_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

peers8_stop() {
    local v pid
    for v in CONNTEST_OAUTH1_PID CONNTEST_NTLM_PID; do
        pid="${!v:-}"
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            printf -v "$v" '%s' ''
        fi
    done
}

_p8_rand() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }

# _p8_wait NAME PID LOG URLVAR: waits for LISTENING in LOG and GET URL/__stats.
_p8_wait() {
    local name="$1" pid="$2" logf="$3" urlvar="$4" url= started=$SECONDS
    until [ -n "$url" ] && curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url/__stats" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ $((SECONDS - started)) -ge 30 ]; then
            echo "start-peers8: the $name peer did not answer on ${url:-(no port yet)}/__stats within 30 s; its log:" >&2
            cat "$logf" >&2
            return 1
        fi
        sleep 0.05
        url="$(sed -n 's/^LISTENING \(http:[^ ]*\)$/\1/p' "$logf" | head -n1)"
    done
    printf -v "$urlvar" '%s' "$url"
    export "${urlvar?}"
}

_p8_start() {
    local root="$_p8_root" py which="${PEERS8_START:-oauth1 ntlm}"
    bash "$root/tests/peers/setup-peers8.sh" </dev/null || return 1
    py="${PEERS_VENV:-$root/target/peers-venv}/bin/python"
    export CONNTEST_PEERS_PYTHON="${CONNTEST_PEERS_PYTHON:-$py}"
    mkdir -p "$root/target"

    case " $which " in *" oauth1 "*)
        export CONNTEST_OAUTH1_CONSUMER_KEY="${CONNTEST_OAUTH1_CONSUMER_KEY:-ck-test}"
        export CONNTEST_OAUTH1_CONSUMER_SECRET="${CONNTEST_OAUTH1_CONSUMER_SECRET:-canary-o1cs-$(_p8_rand)}"
        export CONNTEST_OAUTH1_TOKEN="${CONNTEST_OAUTH1_TOKEN:-at-$(_p8_rand)}"
        export CONNTEST_OAUTH1_TOKEN_SECRET="${CONNTEST_OAUTH1_TOKEN_SECRET:-canary-o1ts-$(_p8_rand)}"
        export CONNTEST_OAUTH1_SIGN="$root/tests/peers/oauth1/sign.py"
        export CONNTEST_OAUTH1_BROWSER="$root/tests/peers/browser.py"
        export CONNTEST_OAUTH1_LOG="${OAUTH1_PEER_LOG:-$root/target/oauth1-peer.log}"
        mkdir -p "$(dirname "$CONNTEST_OAUTH1_LOG")"
        OAUTH1_CONSUMER_KEY="$CONNTEST_OAUTH1_CONSUMER_KEY" \
        OAUTH1_CONSUMER_SECRET="$CONNTEST_OAUTH1_CONSUMER_SECRET" \
        OAUTH1_TOKEN="$CONNTEST_OAUTH1_TOKEN" \
        OAUTH1_TOKEN_SECRET="$CONNTEST_OAUTH1_TOKEN_SECRET" \
            "$py" "$root/tests/peers/oauth1/app.py" --port 0 </dev/null >"$CONNTEST_OAUTH1_LOG" 2>&1 &
        CONNTEST_OAUTH1_PID=$!
        export CONNTEST_OAUTH1_PID
        ;;
    esac
    case " $which " in *" ntlm "*)
        export CONNTEST_NTLM_DOMAIN="${CONNTEST_NTLM_DOMAIN:-TESTDOM}"
        export CONNTEST_NTLM_USER="${CONNTEST_NTLM_USER:-alice}"
        export CONNTEST_NTLM_PASSWORD="${CONNTEST_NTLM_PASSWORD:-canary-ntlm-$(_p8_rand)}"
        export CONNTEST_NTLM_LOG="${NTLM_PEER_LOG:-$root/target/ntlm-peer.log}"
        mkdir -p "$(dirname "$CONNTEST_NTLM_LOG")"
        # NTLM_USER_FILE is left unset: the server writes its own private user file.
        env -u NTLM_USER_FILE \
            NTLM_DOMAIN="$CONNTEST_NTLM_DOMAIN" NTLM_USER="$CONNTEST_NTLM_USER" \
            NTLM_PASSWORD="$CONNTEST_NTLM_PASSWORD" \
            "$py" "$root/tests/peers/ntlm/server.py" --port 0 </dev/null >"$CONNTEST_NTLM_LOG" 2>&1 &
        CONNTEST_NTLM_PID=$!
        export CONNTEST_NTLM_PID
        ;;
    esac

    if [ -n "${CONNTEST_OAUTH1_PID:-}" ]; then
        _p8_wait "OAuth 1" "$CONNTEST_OAUTH1_PID" "$CONNTEST_OAUTH1_LOG" CONNTEST_OAUTH1_URL || { peers8_stop; return 1; }
    fi
    if [ -n "${CONNTEST_NTLM_PID:-}" ]; then
        _p8_wait "NTLM" "$CONNTEST_NTLM_PID" "$CONNTEST_NTLM_LOG" CONNTEST_NTLM_URL || { peers8_stop; return 1; }
    fi
}

_p8_start || return 1
