#!/usr/bin/env bash
# The Windows subset (issue 21, SPEC §6): runs a Windows conntest.exe through
# the commands a Windows user relies on, and prints one PASS/FAIL line per check
# and a closing "N passed, N failed" line; exits 1 when anything failed.
#
#   bash tests/wine.sh PATH/TO/conntest.exe
#
# On Linux the .exe runs under Wine (scripts/cross.sh installs Wine, builds the
# .exe and puts the ProcessPrng stub bcryptprimitives.dll beside it); on a
# Windows runner (Git Bash, CONNTEST_SUBSET_RUNNER=native) it runs directly.
#
# Checked: --version; validate (a good and a bad connector, exit 0 and 2); demo;
# `test auth` against a local Python API on 127.0.0.1 (tests/peers/wine_api.py);
# the exit codes 1, 2, 3, 4, 5; the Credential Manager round-trip: the entry that
# `test auth` saved is in the Credential Manager (read outside conntest: Wine's
# registry, or `cmdkey` natively), a second process shows it (`cache show`) and
# uses it (`test api` calls no login), and after `cache clear` it is gone, from the
# Credential Manager too; an entry split into parts, by CONNTEST_CACHE_CHUNK_CHARS
# and by the 2,560-byte blob limit itself.
#
# Environment: WINEPREFIX (default target/wine-prefix), CONNTEST_SUBSET_RUNNER
# (wine | native; default wine unless on Windows), CONNTEST_WINE_ACCOUNT (the
# connector name the round-trip uses; default wine-api).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT="$PWD"

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: bash tests/wine.sh PATH/TO/conntest.exe (got: ${1:-nothing})" >&2
    exit 2
fi
EXE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

case "$(uname -s)" in
    MINGW* | MSYS* | CYGWIN*) default_runner=native ;;
    *) default_runner=wine ;;
esac
RUNNER="${CONNTEST_SUBSET_RUNNER:-$default_runner}"
NAME="${CONNTEST_WINE_ACCOUNT:-wine-api}"
if [ "$default_runner" = native ]; then
    PY="${PYTHON:-$(command -v python || command -v python3)}"
else
    PY="${PYTHON:-$(command -v python3 || command -v python)}"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/conntest-wine.XXXXXX")"
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$RUNNER" = wine ]; then
    export WINEPREFIX="${WINEPREFIX:-$ROOT/target/wine-prefix}"
    export WINEDEBUG=-all
    # No Mono/Gecko install dialogs, and no display: everything stays headless.
    export WINEDLLOVERRIDES="mscoree,mshtml="
    unset DISPLAY WAYLAND_DISPLAY
    if [ ! -f "$(dirname "$EXE")/bcryptprimitives.dll" ]; then
        echo "tests/wine.sh: no bcryptprimitives.dll beside $EXE: Wine 8 lacks ProcessPrng, which Rust's std imports (scripts/cross.sh builds the stub)" >&2
        exit 2
    fi
    mkdir -p "$WINEPREFIX"
    # Creates the prefix on first use (about 10 s) so no check is timed against it.
    wineboot --init >/dev/null 2>&1 || true
    wineserver --wait 2>/dev/null || true
fi

# Each run is a new process: conntest's own in-memory state never carries over.
export CI=true NO_COLOR=1
unset XDG_RUNTIME_DIR CONNTEST_CACHE_CHUNK_CHARS CONNTEST_DIR
RC=0
OUT="$WORK/out"
ERR="$WORK/err"
ct() {
    if [ "$RUNNER" = wine ]; then
        (cd "$WORK" && timeout 120 wine "$EXE" "$@") </dev/null >"$OUT" 2>"$ERR"
    else
        (cd "$WORK" && timeout 120 "$EXE" "$@") </dev/null >"$OUT" 2>"$ERR"
    fi
    RC=$?
    tr -d '\r' <"$OUT" >"$OUT.lf" && mv "$OUT.lf" "$OUT"
    tr -d '\r' <"$ERR" >"$ERR.lf" && mv "$ERR.lf" "$ERR"
}

passed=0
failed=0
pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $1"
    echo "  exit code: $RC"
    sed 's/^/  stdout: /' "$OUT" | head -n 20
    sed 's/^/  stderr: /' "$ERR" | head -n 20
    failed=$((failed + 1))
}
# check DESCRIPTION EXPECTED_CODE [REGEX ...]: the last run exited with the code
# and its stdout+stderr matches every extended regex.
check() {
    local what="$1" code="$2"
    shift 2
    if [ "$RC" != "$code" ]; then
        fail "$what (expected exit $code)"
        return
    fi
    local re
    for re in "$@"; do
        if ! cat "$OUT" "$ERR" | grep -Eq -- "$re"; then
            fail "$what (no match for /$re/)"
            return
        fi
    done
    pass "$what"
}

# The Credential Manager's own list of conntest items, read without conntest.
store_items() {
    if [ "$RUNNER" = wine ]; then
        # Wine keeps credentials under this key, one subkey per target name.
        wine reg query 'HKCU\Software\Wine\Credential Manager' 2>/dev/null | tr -d '\r' |
            sed -n 's/.*\\Credential Manager\\\(Generic: \)\{0,1\}\(.*\.conntest\)$/\2/p'
    else
        # Git Bash would turn /list into a path.
        MSYS_NO_PATHCONV=1 cmdkey /list 2>/dev/null | tr -d '\r' |
            sed -n 's/^ *Target: \(LegacyGeneric:target=\)\{0,1\}\(.*\.conntest\) *$/\2/p'
    fi
}
# store_check DESCRIPTION present|absent ACCOUNT: ACCOUNT `NAME#` stands for any part NAME#k.
store_check() {
    local items found=absent
    items="$(store_items)"
    if [[ "$3" == *"#" ]]; then
        if grep -Eq -- "^$3[0-9]+\.conntest\$" <<<"$items"; then found=present; fi
    elif grep -Fxq -- "$3.conntest" <<<"$items"; then
        found=present
    fi
    if [ "$found" = "$2" ]; then
        pass "$1"
    else
        echo "Credential Manager items: ${items:-(none)}" >"$OUT"
        : >"$ERR"
        fail "$1"
    fi
}

# start_api [--big N]: a local API on 127.0.0.1; sets URL and API_LOG.
start_api() {
    API_LOG="$WORK/api-$RANDOM.log"
    "$PY" "$ROOT/tests/peers/wine_api.py" --port 0 "$@" >"$API_LOG.out" 2>"$API_LOG" &
    server_pids+=($!)
    URL=
    local _
    for _ in $(seq 100); do
        URL="$(tr -d '\r' <"$API_LOG.out" | sed -n 's/^LISTENING \(http:[^ ]*\)$/\1/p' | head -n1)"
        [ -n "$URL" ] && return 0
        sleep 0.1
    done
    echo "tests/wine.sh: the local API did not start" >&2
    cat "$API_LOG" >&2
    exit 1
}
# api_calls: the requests the API saw since the last call of api_calls.
API_SEEN=0
api_calls() {
    local total
    total=$(wc -l <"$API_LOG")
    tail -n +"$((API_SEEN + 1))" "$API_LOG" | tr -d '\r'
    API_SEEN=$total
}

mkdir -p "$WORK/connectors"
cat >"$WORK/connectors/$NAME.yaml" <<'EOF'
name: CONNECTOR_NAME
description: JSON token login against tests/peers/wine_api.py
base_url: "{{ vars.base_url }}"
variables:
  base_url: "http://127.0.0.1:9"
auth_flow:
  - id: login_form
    type: form
    title: Sign in
    fields:
      - {key: email, type: email, label: Email}
      - {key: password, type: password, label: Password}
  - id: login
    type: api_request
    request:
      method: POST
      url: /api/login
      json:
        email: "{{ login_form.email }}"
        password: "{{ login_form.password }}"
refresh_flow:
  steps:
    - id: renew
      type: api_request
      request:
        method: POST
        url: /api/token/refresh
        form:
          refresh_token: "{{ login.body.refresh_token }}"
  update_variables:
    login.body.access_token: "{{ renew.body.access_token }}"
request_parameters:
  - {name: Authorization, in: header, value: "Bearer {{ login.body.access_token }}"}
test_api:
  name: Current user
  request: {method: GET, url: /api/me}
  expect:
    status: [200]
    json:
      - {path: "$.email", equals: "{{ login_form.email }}"}
EOF
sed -i "s/CONNECTOR_NAME/$NAME/" "$WORK/connectors/$NAME.yaml"
mkdir -p "$WORK/bad"
cp "$ROOT/tests/fixtures/invalid/syntax.yaml" "$WORK/bad/broken.yaml"
LOGIN=(--input login_form.email=wine@example.com --input login_form.password=wine-pass)

echo "tests/wine.sh: $EXE ($RUNNER)"

# --- the basics -------------------------------------------------------------
ct --version
check "--version names the build" 0 '^conntest [0-9]+\.[0-9]+\.[0-9]+'

ct validate "connectors/$NAME.yaml"
check "validate: a good connector is exit 0" 0

ct validate bad/broken.yaml
check "validate: a broken connector is exit 2 with a line:column" 2 'broken\.yaml:[0-9]+:[0-9]+'

ct demo
check "demo: signs in, refreshes after a 401, passes" 0 '401' '[Rr]efresh'

# A clean start: nothing conntest stored in an earlier run.
ct -d connectors cache clear --all
check "cache clear --all (a clean start)" 0

# --- a flow against a local server ------------------------------------------
start_api
ct -d connectors --no-cache test auth "$NAME" --var "base_url=$URL" "${LOGIN[@]}"
check "test auth against 127.0.0.1 passes (exit 0)" 0
if api_calls | grep -q '^GET /api/me 200$'; then pass "the local API saw the login and the test API call"; else fail "the local API saw no test API call"; fi

# --- exit codes ---------------------------------------------------------------
ct -d connectors --no-cache test auth "$NAME" --var "base_url=$URL" --input login_form.email=wine@example.com --input login_form.password=wrong
check "exit 1: a step failed (wrong password)" 1 '401'
api_calls >/dev/null

ct -d connectors test auth no-such-connector
check "exit 2: unknown connector" 2

ct -d connectors --no-cache test auth "$NAME" --var "base_url=$URL"
check "exit 3: a Form input is needed but nobody can be asked" 3 'login_form\.email'

ct -d connectors --no-cache test auth "$NAME" --var "base_url=http://127.0.0.1:9" "${LOGIN[@]}" --timeout 5
check "exit 5: connection refused on 127.0.0.1:9" 5

# --- the Credential Manager round-trip -----------------------------------------
ct -d connectors cache clear "$NAME"
ct -d connectors test api "$NAME" --var "base_url=$URL"
check "exit 4: test api with nothing cached" 4

ct -d connectors test auth "$NAME" --var "base_url=$URL" "${LOGIN[@]}"
check "test auth saves to the Credential Manager" 0
store_check "the entry is in the Credential Manager (read without conntest)" present "$NAME"
api_calls >/dev/null

ct -d connectors cache show "$NAME"
check "a second process sees the entry: cache show" 0 'access_token' 'wine@example\.com'
if grep -q 'tok-' "$OUT" "$ERR"; then fail "cache show masks the token"; else pass "cache show masks the token"; fi

ct -d connectors test api "$NAME" --var "base_url=$URL"
check "a third process uses the entry: test api passes" 0
calls="$(api_calls)"
if [ "$calls" = "GET /api/me 200" ]; then
    pass "test api called only the test API, with the cached token"
else
    echo "  API calls: $calls" >"$OUT"
    fail "test api called only the test API, with the cached token"
fi

ct -d connectors cache clear "$NAME"
check "cache clear" 0
store_check "after cache clear the entry is gone from the Credential Manager" absent "$NAME"
ct -d connectors test api "$NAME" --var "base_url=$URL"
check "after cache clear test api finds nothing cached (exit 4)" 4

# --- split entries --------------------------------------------------------------
export CONNTEST_CACHE_CHUNK_CHARS=100
ct -d connectors test auth "$NAME" --var "base_url=$URL" "${LOGIN[@]}"
check "CONNTEST_CACHE_CHUNK_CHARS=100: test auth saves a split entry" 0
store_check "the split entry's parts ($NAME#k) are in the Credential Manager" present "$NAME#"
unset CONNTEST_CACHE_CHUNK_CHARS
ct -d connectors cache show "$NAME"
check "a second process reassembles the split entry (cache show)" 0 'access_token'
ct -d connectors test api "$NAME" --var "base_url=$URL"
check "test api passes with the split entry" 0
ct -d connectors cache clear "$NAME"
check "cache clear removes the split entry" 0
store_check "no part of the split entry is left in the Credential Manager" absent "$NAME#"
store_check "no head of the split entry is left in the Credential Manager" absent "$NAME"

# A token too big for one 2,560-byte credential blob: split by the platform limit.
start_api --big 4000
ct -d connectors test auth "$NAME" --var "base_url=$URL" "${LOGIN[@]}"
check "a 4,000-character token outgrows one credential blob: test auth saves it" 0
store_check "it was split by the blob limit (parts $NAME#k exist)" present "$NAME#"
ct -d connectors test api "$NAME" --var "base_url=$URL"
check "test api passes with the 4,000-character token read back" 0
ct -d connectors cache clear "$NAME"
check "cache clear removes it" 0
store_check "after cache clear no part is left" absent "$NAME#"
store_check "after cache clear no head is left" absent "$NAME"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
