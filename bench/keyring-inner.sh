#!/usr/bin/env bash
# The keyring section of bench/run.sh; runs inside tests/keyring-session.sh
# (private, unlocked gnome-keyring on a private D-Bus session). Needs
# CONNTEST_BIN, BASE_URL and the BENCH_* variables run.sh exports; adds its
# rows to $BENCH_ROWS. Cases, each paired (interleaved) with its peer:
#   - `test auth` with the cache (3 requests + keyring write) and `--no-cache
#     test auth` vs `secret-tool store` of an entry of the same size as the one
#     conntest stored; the write cost is the difference of the two test auths;
#     with cache / --no-cache [≤ 1.3×].
#   - `test api` from the cache (1 request + keyring read) and `cache show`
#     vs `secret-tool lookup` of that entry; `test api` from the cache vs
#     `--no-cache test auth` of the same flow [≤ 1.0×].
#   - `test api` after a 401 (every token expired before each run: refresh,
#     retry, cache write).
set -uo pipefail
exec </dev/null
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
BIN="${CONNTEST_BIN:?}"
BASE="${BASE_URL:?}"
Y="$BENCH/chain.yaml"
NAME=bench-chain
ST=(service conntest-bench account probe)

if [ "${CONNTEST_KEYRING_READY:-}" != 1 ]; then
    row "keyring" "failed: keyring not ready" "" "" "" "n/a"
    exit 1
fi

# Populate the cache once, and show what a failure looks like if it does not work.
out="$("$BIN" test auth "$Y" --var "base_url=$BASE" 2>&1)"; rc=$?
if [ "$rc" -ne 0 ]; then
    note "test auth with the keyring cache failed (exit $rc):"
    printf '%s\n' "$out" | head -n 20 | sed 's/^/    | /'
    row "keyring: test auth with cache" "FAILED (exit $rc)" "" "" "" "n/a"
    exit 1
fi
if printf '%s\n' "$out" | grep -qi 'not cached\|nothing was cached'; then
    note "warning from test auth: $(printf '%s\n' "$out" | grep -i 'cached\|keyring' | head -n 2)"
fi

# The size of what conntest stored (all parts, if the entry was split).
size=0 parts=0
for acct in "$NAME" "$NAME#2" "$NAME#3" "$NAME#4" "$NAME#5" "$NAME#6" "$NAME#7" "$NAME#8"; do
    v="$(secret-tool lookup service conntest account "$acct" 2>/dev/null)" || break
    [ -n "$v" ] || break
    size=$((size + ${#v})) parts=$((parts + 1))
done
if [ "$parts" = 0 ]; then
    size=1024
    note "could not read conntest's entry with secret-tool lookup; storing 1024 bytes instead"
else
    note "conntest's cache entry: $size characters in $parts keyring item(s)"
fi
entry="$BENCH_TMP/keyring-entry.txt"
head -c "$size" /dev/zero | tr '\0' 'x' >"$entry"
secret-tool store --label=conntest-bench "${ST[@]}" <"$entry" 2>/dev/null

# 1. keyring write: test auth (cached, and --no-cache) vs secret-tool store.
MED=() RSS=()
paired "keyring-write" \
    ::: auth-cached "$BIN" test auth "$Y" --var "base_url=$BASE" \
    ::: auth-nocache "$BIN" --no-cache test auth "$Y" --var "base_url=$BASE" \
    ::: secret-tool-store --stdin="$entry" secret-tool store --label=conntest-bench "${ST[@]}"
store_label="secret-tool store ($size B)"
row_pair "test auth with cache (3 req + write)" ms "${MED[auth-cached]:-}" "$store_label" "${MED[secret-tool-store]:-}"
wcost=
if [ -n "${MED[auth-cached]:-}" ] && [ -n "${MED[auth-nocache]:-}" ]; then
    wcost="$(awk -v a="${MED[auth-cached]}" -v b="${MED[auth-nocache]}" 'BEGIN { printf "%.3f", a - b }')"
fi
row_pair "keyring write cost (cached − --no-cache)" ms "$wcost" "$store_label" "${MED[secret-tool-store]:-}"
row_pair "test auth: with cache vs --no-cache" ms "${MED[auth-cached]:-}" "--no-cache" "${MED[auth-nocache]:-}" ratio 1.3
row_pair "test auth with cache: peak RSS" kb "${RSS[auth-cached]:-}" "secret-tool store" "${RSS[secret-tool-store]:-}"

# 2. keyring read: test api from the cache, cache show vs secret-tool lookup.
MED=() RSS=()
paired "keyring-read" \
    ::: api-cached "$BIN" test api "$Y" --var "base_url=$BASE" \
    ::: cache-show "$BIN" cache show "$Y" \
    ::: auth-nocache "$BIN" --no-cache test auth "$Y" --var "base_url=$BASE" \
    ::: secret-tool-lookup secret-tool lookup "${ST[@]}"
row_pair "test api from cache (1 req + read)" ms "${MED[api-cached]:-}" "secret-tool lookup" "${MED[secret-tool-lookup]:-}" abs 5 "≤ 5 ms"
row_pair "test api from cache vs --no-cache test auth (3 req)" ms "${MED[api-cached]:-}" "--no-cache test auth" "${MED[auth-nocache]:-}" ratio 1.0
row_pair "cache show (keyring read)" ms "${MED[cache-show]:-}" "secret-tool lookup" "${MED[secret-tool-lookup]:-}"
row_pair "test api from cache: peak RSS" kb "${RSS[api-cached]:-}" "secret-tool lookup" "${RSS[secret-tool-lookup]:-}"
secret-tool clear "${ST[@]}" 2>/dev/null

# 2b. conntest call from the cache vs what a script does without it: read the
# entry with secret-tool lookup, then curl with the token [≤ 0.7×] (issue 20).
tok="$(secret-tool lookup service conntest account "$NAME" 2>/dev/null | python3 -c \
    'import json, sys; print(json.load(sys.stdin)["outputs"]["token"]["body"]["access_token"])' 2>/dev/null)"
if [ -n "$tok" ] && command -v curl >/dev/null 2>&1; then
    peer="$BENCH_TMP/lookup-curl.sh"
    printf '%s\n' "secret-tool lookup service conntest account $NAME >/dev/null || exit 1" \
        "exec curl -fsS -o /dev/null -H 'Authorization: Bearer $tok' '$BASE/me'" >"$peer"
    MED=() RSS=()
    paired "keyring-call" \
        ::: call-cached "$BIN" call "$Y" /me --var "base_url=$BASE" \
        ::: lookup-curl sh "$peer"
    row_pair "call from cache (1 req + read)" ms "${MED[call-cached]:-}" "secret-tool lookup + curl" "${MED[lookup-curl]:-}" ratio 0.7
else
    row "call from cache" "skipped: the cached token could not be read (or no curl)" "" "" "" "n/a"
fi

# 3. The 401 case: expire every access token before each run; conntest should
# refresh, retry, and write the rotated tokens back.
expire="python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + \"/_expire\", method=\"POST\"), timeout=5)' $BASE"
sh -c "$expire" >/dev/null 2>&1
j="$("$BIN" --format json test api "$Y" --var "base_url=$BASE" 2>/dev/null)"; rc=$?
if [ "$rc" = 0 ] && printf '%s' "$j" | grep -q '"refreshed": *true'; then
    MED=() RSS=()
    paired "keyring-401" --prepare "$expire" \
        ::: api-after-401 "$BIN" test api "$Y" --var "base_url=$BASE"
    row_pair "test api after 401 (refresh + retry + write)" ms "${MED[api-after-401]:-}" "" ""
else
    note "401 case skipped: test api after expiring the tokens gave exit $rc," \
         "refreshed=$(printf '%s' "$j" | grep -o '"refreshed": *[a-z]*' | head -n1)"
    row "test api after 401" "skipped (exit $rc, not refreshed)" "" "" "" "n/a"
fi
exit 0
