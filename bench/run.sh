#!/usr/bin/env bash
# conntest benchmarks: prints figures and ratios against targets.
#
#   bench/run.sh [--no-build] [--quick] [--no-keyring]
#
# This is NOT a test: a figure over its target prints "OVER TARGET" but never
# changes the exit status. Exit status is 0, or 1 only when the release build
# fails (nothing to measure). Reads no stdin; binds only 127.0.0.1.
#
# What it measures (target in brackets):
#   a. `conntest --no-cache test auth bench/chain.yaml` (login → token → GET /me
#      against bench/server.py) vs hurl running bench/chain.hurl     [ratio ≤ 1.0×]
#      (falls back to bench/chain-curl.sh — three curl calls — without hurl)
#   b. `conntest validate` over 1,000 generated connectors              [≤ 300 ms]
#   c. `conntest --version`                                             [≤ 3 ms]
#   d. inside tests/keyring-session.sh (private gnome-keyring), when secret-tool
#      and dbus-run-session exist: `test auth` with vs without the cache (keyring
#      write cost), `test api` from cached outputs [≤ 5 ms], `test api` after a
#      401 (refresh + retry), `cache show` (keyring read). See bench/keyring-inner.sh.
#
# Env: CONNTEST_BIN (use this binary instead of target/release/conntest;
# combine with --no-build), HURL (path to hurl), BENCH_MIN_RUNS (20),
# BENCH_WARMUP (3), BENCH_VERBOSE=1, BENCH_NO_HYPERFINE=1 (bash loop timer),
# BENCH_NO_HURL=1 (use the curl fallback), BENCH_CONNECTORS (1000).
# Tools: hyperfine (optional; `apt-get install hyperfine`), hurl (optional;
# `cargo install hurl --locked`), python3 (the server), curl (fallback, 401 case).
set -uo pipefail
exec </dev/null

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
cd "$ROOT" || exit 1

build=1 keyring=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --quick) export BENCH_MIN_RUNS=5 BENCH_WARMUP=1 ;;
        --no-keyring) keyring=0 ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//; $d'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/conntest-bench.XXXXXX")"
export BENCH_TMP
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

section() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# ---------------------------------------------------------------- 1. build
section "build"
if [ "$build" = 1 ]; then
    t0="$(date +%s)"
    if ! nice -n 19 cargo build --release --locked; then
        echo "release build failed: nothing to measure" >&2
        exit 1
    fi
    note "cargo build --release --locked: $(( $(date +%s) - t0 )) s"
fi
BIN="${CONNTEST_BIN:-$ROOT/target/release/conntest}"
if [ ! -x "$BIN" ]; then
    echo "no conntest binary at $BIN (run without --no-build)" >&2
    exit 1
fi
note "binary: $BIN ($("$BIN" --version 2>&1 | head -n1))"
note "timer: $BENCH_TIMER$( [ "$BENCH_TIMER" = hyperfine ] && printf ' (%s)' "$(hyperfine --version)")," \
     "min runs $BENCH_MIN_RUNS, warmup $BENCH_WARMUP; $(nproc 2>/dev/null || echo '?') CPUs," \
     "load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
[ "$BENCH_TIMER" = loop ] && note "hyperfine not used$( [ -n "${BENCH_NO_HYPERFINE:-}" ] && echo ' (BENCH_NO_HYPERFINE)' || echo ': not installed'): timing with a bash loop (date +%s%N; includes fork cost)"

# ---------------------------------------------------------------- 2. server
section "local API (bench/server.py)"
BASE_URL=
if command -v python3 >/dev/null 2>&1; then
    python3 "$BENCH/server.py" 0 >"$BENCH_TMP/server.out" 2>"$BENCH_TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        [ -s "$BENCH_TMP/server.out" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    port="$(head -n1 "$BENCH_TMP/server.out" 2>/dev/null)"
    if [[ "$port" =~ ^[0-9]+$ ]]; then
        BASE_URL="http://127.0.0.1:$port"
        note "listening on $BASE_URL (HTTP/1.1 keep-alive, pid $SERVER_PID)"
    else
        note "server did not start: $(cat "$BENCH_TMP/server.err" 2>/dev/null | tail -n3)"
    fi
else
    note "python3 not found: network figures skipped"
fi
export BASE_URL

# ---------------------------------------------------------------- a. chain vs hurl
section "a. three-request chain: conntest vs hurl"
if [ -n "$BASE_URL" ]; then
    ct_mean=
    if measure "conntest --no-cache test auth (3 requests)" \
        "$BIN" --no-cache test auth "$BENCH/chain.yaml" --var "base_url=$BASE_URL" --non-interactive; then
        figure "conntest --no-cache test auth (3 requests)"
        ct_mean="$M_MEAN"
    fi

    HURL="${HURL:-$(command -v hurl || true)}"
    c="${CARGO_HOME:-$HOME/.cargo}/bin/hurl"
    [ -z "$HURL" ] && [ -x "$c" ] && HURL="$c"
    [ -n "${BENCH_NO_HURL:-}" ] && HURL=
    ref_mean= ref_name=
    if [ -n "$HURL" ]; then
        note "hurl: $HURL ($("$HURL" --version 2>&1 | head -n1))"
        if measure "hurl bench/chain.hurl (3 requests)" \
            "$HURL" --no-output --variable "base_url=$BASE_URL" "$BENCH/chain.hurl"; then
            figure "hurl bench/chain.hurl (3 requests)"
            ref_mean="$M_MEAN" ref_name=hurl
        fi
    else
        note "hurl $( [ -n "${BENCH_NO_HURL:-}" ] && echo 'disabled (BENCH_NO_HURL)' || echo 'not installed'): comparing with bench/chain-curl.sh (three curl processes," \
             "three connections) instead — NOT the hurl comparison"
    fi
    if [ -z "$ref_mean" ] && command -v curl >/dev/null 2>&1; then
        if measure "curl ×3 bench/chain-curl.sh (3 requests)" bash "$BENCH/chain-curl.sh" "$BASE_URL"; then
            figure "curl ×3 bench/chain-curl.sh (3 requests)"
            ref_mean="$M_MEAN" ref_name="curl×3 (fallback)"
        fi
    fi
    if [ -n "$ct_mean" ] && [ -n "$ref_mean" ]; then
        ratio "ratio conntest/$ref_name" "$ct_mean" "$ref_mean" 1.0
    else
        note "ratio conntest/hurl: n/a"
    fi
else
    note "skipped: no local API"
fi

# ---------------------------------------------------------------- b. validate 1000
section "b. validate many connectors"
n="${BENCH_CONNECTORS:-1000}"
gen="$BENCH_TMP/connectors"
mkdir -p "$gen"
# Templates: bench/chain.yaml plus every connectors/*.yaml that validates on its own.
templates=("$BENCH/chain.yaml")
for f in "$ROOT"/connectors/*.yaml; do
    [ -f "$f" ] || continue
    if "$BIN" validate "$f" >/dev/null 2>&1; then templates+=("$f"); fi
done
for ((i = 0; i < n; i++)); do
    t="${templates[i % ${#templates[@]}]}"
    name="$(printf 'gen-%04d-%s' "$i" "$(basename "$t" .yaml)")"
    # Replace (or add) the top-level name: so every connector is distinct.
    if grep -q '^name:' "$t"; then
        sed "s/^name:.*/name: $name/" "$t" >"$gen/$name.yaml"
    else
        { printf 'name: %s\n' "$name"; cat "$t"; } >"$gen/$name.yaml"
    fi
done
note "$n connectors in a temp dir, cycling ${#templates[@]} templates:" \
     "$(for t in "${templates[@]}"; do printf '%s ' "${t#"$ROOT"/}"; done)" \
     "($(cat "$gen"/*.yaml | wc -c | awk '{printf "%.1f MB", $1/1e6}'))"
vout="$("$BIN" validate --dir "$gen" 2>&1)"; vrc=$?
note "sanity: exit $vrc, $(printf '%s\n' "$vout" | tail -n1)"
if measure "validate $n connectors" "$BIN" validate --dir "$gen"; then
    if [ "$n" = 1000 ]; then figure "validate $n connectors" 300; else figure "validate $n connectors"; fi
fi

# ---------------------------------------------------------------- c. --version
section "c. start-up"
if measure "conntest --version" "$BIN" --version; then
    figure "conntest --version" 3
fi

# ---------------------------------------------------------------- d. keyring
section "d. keyring (private gnome-keyring via tests/keyring-session.sh)"
if [ "$keyring" = 0 ]; then
    note "skipped (--no-keyring)"
elif [ -z "$BASE_URL" ]; then
    note "skipped: no local API"
elif ! command -v secret-tool >/dev/null 2>&1 || ! command -v dbus-run-session >/dev/null 2>&1; then
    note "skipped: secret-tool and/or dbus-run-session not installed"
else
    export CONNTEST_BIN="$BIN" BENCH_TIMER_NAME="$BENCH_TIMER"
    timeout 600 "$ROOT/tests/keyring-session.sh" -- bash "$BENCH/keyring-inner.sh"
    krc=$?
    if [ "$krc" -ne 0 ]; then
        note "keyring part failed (exit $krc$( [ "$krc" = 125 ] && echo ': keyring-session.sh could not set up the keyring' )$( [ "$krc" = 124 ] && echo ': timed out' ))"
    fi
fi

section "done"
note "figures only: timings never fail this script"
exit 0
