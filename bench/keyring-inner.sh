#!/usr/bin/env bash
# Part d of bench/run.sh; runs inside tests/keyring-session.sh (private, unlocked
# gnome-keyring on a private D-Bus session). Needs CONNTEST_BIN and BASE_URL.
set -uo pipefail
exec </dev/null
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
BIN="${CONNTEST_BIN:?}"
BASE="${BASE_URL:?}"
Y="$BENCH/chain.yaml"
note() { printf '   %s\n' "$*"; }

[ "${CONNTEST_KEYRING_READY:-}" = 1 ] || { echo "keyring not ready"; exit 1; }

# Populate the cache once, and show what a failure looks like if it does not work.
out="$("$BIN" test auth "$Y" --var "base_url=$BASE" 2>&1)"; rc=$?
if [ "$rc" -ne 0 ]; then
    note "test auth with the keyring cache failed (exit $rc):"
    printf '%s\n' "$out" | head -n 20 | sed 's/^/    | /'
    exit 1
fi
if printf '%s\n' "$out" | grep -qi 'not cached\|nothing was cached\|keyring'; then
    note "warning from test auth: $(printf '%s\n' "$out" | grep -i 'cached\|keyring' | head -n 2)"
fi

cached= nocache=
if measure "test auth, keyring cache write" "$BIN" test auth "$Y" --var "base_url=$BASE"; then
    figure "test auth, keyring cache write"; cached="$M_MEAN"
fi
if measure "test auth --no-cache (same session)" "$BIN" --no-cache test auth "$Y" --var "base_url=$BASE"; then
    figure "test auth --no-cache (same session)"; nocache="$M_MEAN"
fi
if [ -n "$cached" ] && [ -n "$nocache" ]; then
    awk -v a="$cached" -v b="$nocache" \
        'BEGIN { printf "keyring write cost (difference): %.2f ms\n", a - b }'
fi

if measure "test api (cached outputs)" "$BIN" test api "$Y" --var "base_url=$BASE"; then
    figure "test api (cached outputs)" 5
fi

if measure "cache show (keyring read)" "$BIN" cache show "$Y"; then
    figure "cache show (keyring read)"
fi

# Baselines: the raw cost of one Secret Service store / lookup with secret-tool
# (one process, a couple of D-Bus round trips), to tell daemon cost from conntest's.
if command -v secret-tool >/dev/null 2>&1; then
    if measure "baseline: secret-tool store (via bash -c)" \
        bash -c 'printf x | secret-tool store --label=bench service conntest-bench account probe'; then
        figure "baseline: secret-tool store (via bash -c)"
    fi
    if measure "baseline: secret-tool lookup" secret-tool lookup service conntest-bench account probe; then
        figure "baseline: secret-tool lookup"
    fi
    secret-tool clear service conntest-bench account probe 2>/dev/null
fi

# The 401 case: expire every access token before each run; conntest should
# refresh, retry, and write the rotated tokens back.
if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -X POST "$BASE/_expire"
    j="$("$BIN" --format json test api "$Y" --var "base_url=$BASE" 2>/dev/null)"; rc=$?
    if [ "$rc" = 0 ] && printf '%s' "$j" | grep -q '"refreshed": *true'; then
        PREPARE="curl -s -o /dev/null -X POST $BASE/_expire"
        if measure "test api after 401 (refresh + retry + cache write)" \
            "$BIN" test api "$Y" --var "base_url=$BASE"; then
            figure "test api after 401 (refresh + retry + cache write)"
        fi
        unset PREPARE
    else
        note "401 case skipped: test api after expiring the token gave exit $rc," \
             "refreshed=$(printf '%s' "$j" | grep -o '"refreshed": *[a-z]*' | head -n1)"
    fi
else
    note "401 case skipped: curl not installed"
fi
exit 0
