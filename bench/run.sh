#!/usr/bin/env bash
# conntest benchmarks: one command, one table of medians and ratios from paired runs.
#
#   bench/run.sh [--quick] [--no-build] [--no-keyring] [--only SECTION]...
#
#   --quick         5 timed rounds, 1 warm-up, 3 RSS runs (default 20 / 3 / 5)
#   --no-build      use the existing release binary (or CONNTEST_BIN)
#   --no-keyring    skip the keyring section
#   --only SECTION  run only this section (repeatable, or comma-separated):
#                   flows, validate, version, oauth, signing, ntlm-tls, mtls, keyring
#
# This is NOT a test: a figure over its target prints "OVER TARGET" in the
# table but never changes the exit status. Exit status is 0, 1 only when there
# is no conntest binary to measure (the release build failed), 2 on a usage error.
# Reads no stdin; the local API binds 127.0.0.1 only and gets all the traffic.
#
# Every comparison is PAIRED: bench/paired.py runs the commands of a case in
# rounds, one run of each per round with the order rotating, so noise from the
# rest of the machine hits conntest and its peer alike. Figures are medians of
# wall time (spawn -> exit). Peak RSS is the median of `/usr/bin/time -f %M`
# over separate runs. Sections (targets in brackets):
#   flows     generated connectors of 3, 50, 200 and 400 chained api_request
#             steps (bench/gen.py: login -> token -> alternating GET /me and
#             POST /refresh, each templating a token from an earlier step) run
#             with `conntest --no-cache test auth`, against the same requests
#             as a generated .hurl file (captures) run by hurl, on bench/server.py.
#             Median of both, conntest/hurl [≤ 1.0×; 3 steps ≤ 0.30×], per request (median / N),
#             conntest per-request(400)/per-request(50) [≤ 1.2×], peak RSS
#             [3 steps: ≤ 11 MiB; 400 steps: ≤ hurl's]. `test lifecycle` of bench/chain.yaml vs
#             bench/lifecycle.hurl (the same 5 requests) [≤ 0.6×].
#   validate  `conntest validate --dir` over 1,000 and 10,000 generated
#             connectors [1,000 ≤ 150 ms wall and ≤ 60 ms CPU (user + sys,
#             bench/selfcpu.py); 10,000 ≤ 10× the 1,000 figure, wall and CPU].
#   version   `conntest --version` vs `xh --version` [≤ 0.6×] vs `hurl --version`.
#   oauth     against the OIDC peer (tests/peers/oidc: npm oidc-provider on node,
#             started by tests/peers/start-oidc.sh; files from bench/gen.py oauth):
#             - client credentials + test API: `conntest --no-cache test auth` of
#               an oauth2_client_credentials connector (cc-client, then GET
#               /api/me with the Bearer token) vs hurl doing the same two
#               requests (POST /token with [BasicAuth], capture access_token,
#               GET /api/me), paired [≤ 1.0×]; peak RSS.
#             - authorization code + PKCE end to end (public-pkce) with the
#               scripted browser tests/peers/browser.py (through
#               bench/browser-cpu.py): median wall time of `conntest --no-cache
#               test auth`, and conntest's own CPU (user+sys of the conntest
#               process alone) / wall [≤ 10 %]. bench/selfcpu.py: wait4 rusage
#               of conntest minus the CPU of the browser launcher that conntest
#               reaps (its detached part is not conntest's); one run at a time,
#               each after the previous browser ended.
#             - jwt_bearer signing: N = 1 and N = 50 steps without token_url,
#               each signing one JWT (keys from tests/fixtures/keys inlined as
#               block scalars; bench/gen.py jwt), all interleaved; per-step cost
#               (t50 − t1) / 49 for RS256 and ES256 against OpenSSL's cost per
#               signature (`openssl speed -mr rsa2048 ecdsap256`) [RS256 ≤ 1.5×,
#               ES256 ≤ 3×], EdDSA and HS256 for reference. Needs neither node
#               nor the peer.
#             Without Node.js ≥ 20 ($OIDC_NODE, else PATH), curl, or the peer's
#             npm packages (tests/peers/setup-oidc.sh runs `npm ci` unless
#             BENCH_NO_INSTALL), the client-credentials and PKCE rows say
#             n/a and why. browser.py's `env python3` is pointed at the running
#             interpreter (no version-manager shim padding the wall time).
#   signing   js step: engine start + eval of a small transform (a run with one
#             js step minus an empty run) [≤ 1 ms], and the same transform in
#             `node -e`; an NTLM-authenticated test API call (sign_in: ntlm)
#             vs `curl --ntlm` [≤ 1.0×], the same over https (the peer with
#             --tls, its private CA) vs `curl --ntlm --cacert` [≤ 1.0×]; a
#             test API call to a server that requires a client certificate
#             (tls_server.py mtls, --cert/--key) minus one to a plain TLS
#             server (tls_server.py good) [≤ 1 ms]; an OAuth 1.0a-signed call (sign_in:
#             oauth1) vs curl sending oauthlib's precomputed header. Peers from
#             tests/peers/start-peers8.sh (pyspnego, oauthlib).
#   ntlm-tls  only the NTLM-over-https row of `signing` (issue 18: ≤ 1.0× of
#             `curl --ntlm --cacert` on the same server, paired, interleaved).
#   mtls      only the client-certificate row of `signing` (issue 18: ≤ 1 ms
#             added over the same call to a plain TLS server, paired medians).
#   keyring   inside tests/keyring-session.sh (private gnome-keyring): `test auth`
#             with the cache vs `secret-tool store` of an entry of the same size
#             (and the write cost: cached minus --no-cache), `test api` from the
#             cache [≤ 5 ms] and `cache show` vs `secret-tool lookup`, `call` from
#             the cache vs `secret-tool lookup` + curl [≤ 0.7×], `test api`
#             after a 401 (refresh + retry). See bench/keyring-inner.sh.
#
# Tools. hurl and xh: $HURL / $XH if set, else PATH, else target/bench-tools/bin,
# else `cargo install --locked hurl@8.0.1 xh --root target/bench-tools` (niced,
# -j $CARGO_BUILD_JOBS or 1; hurl first gets Debian libcurl4-openssl-dev
# libxml2-dev libclang-dev pkg-config). GNU time (Debian `time`), secret-tool,
# gnome-keyring and dbus-run-session (Debian) and hyperfine (only for
# BENCH_TIMER=hyperfine) are apt-get installed when missing (root or sudo -n).
# A tool that cannot be had is named in its rows; the rest still runs.
#
# Env: CONNTEST_BIN (binary to measure; with --no-build), HURL, XH, OIDC_NODE (oauth),
# BENCH_RUNS (20), BENCH_WARMUP (3), BENCH_RSS_RUNS (5),
# BENCH_FLOW_STEPS ("3 50 200 400"), BENCH_TOOLS_DIR (target/bench-tools),
# BENCH_NO_INSTALL=1 (install nothing), BENCH_TIMER=hyperfine (time with
# `hyperfine -N` instead: all runs of A, then all of B — not interleaved),
# CARGO_BUILD_JOBS (1), BENCH_KEEP_TMP=1 (keep the generated files and JSON).
set -uo pipefail
exec </dev/null

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
cd "$ROOT" || exit 1

build=1 keyring=1 only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --quick) export BENCH_RUNS=5 BENCH_WARMUP=1 BENCH_RSS_RUNS=3 ;;
        --no-keyring) keyring=0 ;;
        --only|--only=*)
            if [ "$1" = --only ]; then
                [ $# -ge 2 ] || { echo "run.sh: --only needs a SECTION (flows, validate, version, oauth, signing, ntlm-tls, mtls, keyring)" >&2; exit 2; }
                v="$2"; shift
            else
                v="${1#--only=}"
            fi
            IFS=, read -r -a parts <<<"$v"
            for s in "${parts[@]}"; do
                case "$s" in
                    flows|validate|version|oauth|signing|ntlm-tls|mtls|keyring) only+=("$s") ;;
                    *) echo "run.sh: unknown section: $s (flows, validate, version, oauth, signing, ntlm-tls, mtls, keyring)" >&2; exit 2 ;;
                esac
            done ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//; $d'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
want() {
    [ "${#only[@]}" -eq 0 ] && return 0
    local s; for s in "${only[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

: "${BENCH_RUNS:=${BENCH_MIN_RUNS:-20}}"
: "${BENCH_WARMUP:=3}"
: "${BENCH_RSS_RUNS:=5}"
: "${BENCH_TIMER:=paired}"
JOBS="${CARGO_BUILD_JOBS:-1}"
TOOLS="${BENCH_TOOLS_DIR:-$ROOT/target/bench-tools}"
export BENCH_RUNS BENCH_WARMUP BENCH_RSS_RUNS BENCH_TIMER

BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/conntest-bench.XXXXXX")"
export BENCH_TMP BENCH_ROWS="$BENCH_TMP/rows.tsv" BENCH_INFO="$BENCH_TMP/info.txt"
: >"$BENCH_ROWS"; : >"$BENCH_INFO"
SERVER_PID=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    if declare -F oidc_stop >/dev/null; then oidc_stop; fi
    if [ -n "${BENCH_KEEP_TMP:-}" ]; then echo "kept $BENCH_TMP" >&2; else rm -rf "$BENCH_TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

section() { printf '\n== %s\n' "$*"; }

# Starts a Python peer (`tests/peers/...` ARGS) in the background; its URL
# (from the LISTENING line) in $PEER_URL, its pid appended to $PEER_PIDS.
start_peer() {
    local log; log="$(mktemp)"
    "$CONNTEST_PEERS_PYTHON" "$@" >"$log" 2>/dev/null &
    PEER_PIDS="${PEER_PIDS:-} $!"
    PEER_URL=""
    for _ in $(seq 100); do
        PEER_URL="$(sed -n 's/^LISTENING \(http[^ ]*\)$/\1/p' "$log" | head -n1)"
        [ -n "$PEER_URL" ] && return 0
        sleep 0.1
    done
    return 1
}

# NTLM over https vs curl --ntlm --cacert on the same server (needs start-peers8.sh's NTLM user).
bench_ntlm_tls() {
    local dir="$1/tls"
    mkdir -p "$dir/ntlm"
    PEER_PIDS=""
    if NTLM_USER="$CONNTEST_NTLM_USER" NTLM_DOMAIN="$CONNTEST_NTLM_DOMAIN" NTLM_PASSWORD="$CONNTEST_NTLM_PASSWORD" \
        NTLM_USER_FILE="$dir/ntlm-users" NTLM_QUIET=1 start_peer "$ROOT/tests/peers/ntlm/server.py" --port 0 --tls "$dir/ntlm"; then
        printf 'name: bench-ntlm-tls\nvariables: {url: "%s", user: "%s", pw: "%s", domain: "%s"}\nauth_flow: []\nsign_in: {type: ntlm, username: "{{ vars.user }}", password: "{{ vars.pw }}", domain: "{{ vars.domain }}"}\ntest_api: {request: {url: "{{ vars.url }}/api/me"}}\n' \
            "$PEER_URL" "$CONNTEST_NTLM_USER" "$CONNTEST_NTLM_PASSWORD" "$CONNTEST_NTLM_DOMAIN" >"$dir/ntlm.yaml"
        MED=() RSS=()
        paired "signing-ntlm-tls" ::: conntest "$BIN" --no-cache --cacert "$dir/ntlm/ca.pem" test auth "$dir/ntlm.yaml" \
            ::: curl curl -fsS --ntlm --cacert "$dir/ntlm/ca.pem" -u "$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER:$CONNTEST_NTLM_PASSWORD" -o /dev/null "$PEER_URL/api/me"
        row_pair "NTLM over https (test API call)" ms "${MED[conntest]:-}" "curl --ntlm --cacert" "${MED[curl]:-}" ratio 1.0
    else
        row "NTLM over https (test API call)" "n/a" "" "—" "≤ 1.0×" "the TLS NTLM peer did not start"
    fi
    # shellcheck disable=SC2086
    [ -n "$PEER_PIDS" ] && kill $PEER_PIDS 2>/dev/null
    return 0
}

# What a client certificate adds to a TLS call: the same test API call to a
# server that requires one (tls_server.py mtls) and to one that does not (good).
bench_mtls() {
    local dir="$1/tls" t
    mkdir -p "$dir/good" "$dir/mtls"
    PEER_PIDS=""
    if start_peer "$ROOT/tests/peers/tls_server.py" "$dir/good" good; then
        printf 'name: bench-tls\nauth_flow: []\ntest_api: {request: {url: "%s/me"}}\n' "$PEER_URL" >"$dir/good.yaml"
        if start_peer "$ROOT/tests/peers/tls_server.py" "$dir/mtls" mtls; then
            printf 'name: bench-mtls\nauth_flow: []\ntest_api: {request: {url: "%s/me"}}\n' "$PEER_URL" >"$dir/mtls.yaml"
            MED=() RSS=()
            BENCH_RSS_RUNS=0 paired "mtls" ::: tls "$BIN" --no-cache --cacert "$dir/good/ca.pem" test auth "$dir/good.yaml" \
                ::: mtls "$BIN" --no-cache --cacert "$dir/mtls/ca.pem" --cert "$dir/mtls/client.pem" --key "$dir/mtls/client.key" test auth "$dir/mtls.yaml"
            if [ -n "${MED[tls]:-}" ] && [ -n "${MED[mtls]:-}" ]; then
                t="$(awk -v a="${MED[mtls]}" -v b="${MED[tls]}" 'BEGIN { printf "%.2f", a - b }')"
                row "client certificate: mTLS call − plain TLS call" "$t ms" "" "—" "≤ 1 ms" "$(awk -v d="$t" 'BEGIN { print (d <= 1.0) ? "OK" : "OVER TARGET" }')"
            fi
        fi
    fi
    if [ -z "${MED[tls]:-}" ] || [ -z "${MED[mtls]:-}" ]; then
        row "client certificate: mTLS call − plain TLS call" "n/a" "" "—" "≤ 1 ms" "a TLS peer did not start or a run failed"
    fi
    # shellcheck disable=SC2086
    [ -n "$PEER_PIDS" ] && kill $PEER_PIDS 2>/dev/null
    return 0
}
group() { printf '#SECTION %s\n' "$*" >>"$BENCH_ROWS"; }

# ---------------------------------------------------------------- installs
mkdir -p "$TOOLS"
APT_LOG="$TOOLS/apt.log"
apt_updated=0
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# apt_install PKG...: install the Debian packages not yet installed; 0 when all are.
apt_install() {
    local -a need=() sudo=() opts=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
    local p
    for p in "$@"; do have_pkg "$p" || need+=("$p"); done
    [ "${#need[@]}" -eq 0 ] && return 0
    [ -n "${BENCH_NO_INSTALL:-}" ] && return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || return 1
        sudo=(sudo -n)
    fi
    note "apt-get install ${need[*]} (log: $APT_LOG)"
    if ! DEBIAN_FRONTEND=noninteractive nice -n 19 "${sudo[@]}" apt-get install "${opts[@]}" "${need[@]}" >>"$APT_LOG" 2>&1; then
        if [ "$apt_updated" = 0 ]; then
            apt_updated=1
            note "apt-get install failed; apt-get update, then once more"
            "${sudo[@]}" apt-get update -q >>"$APT_LOG" 2>&1
        fi
        DEBIAN_FRONTEND=noninteractive nice -n 19 "${sudo[@]}" apt-get install "${opts[@]}" "${need[@]}" >>"$APT_LOG" 2>&1 \
            || { note "apt-get install ${need[*]} failed: see $APT_LOG"; return 1; }
    fi
}

declare -A WHY=()
# find_tool VAR NAME CRATE: set VAR to the tool's path ($VAR, PATH, $TOOLS/bin,
# ~/.cargo/bin, else cargo install CRATE into $TOOLS), or to "" with WHY[NAME].
find_tool() {
    local var="$1" name="$2" crate="$3" given="${!1:-}" p='' log
    if [ -n "$given" ]; then
        p="$(command -v "$given" 2>/dev/null || true)"
        if [ -z "$p" ] || [ ! -x "$p" ]; then
            WHY[$name]="$var=$given is not an executable"
            printf -v "$var" '%s' ""
            return 1
        fi
    fi
    [ -n "$p" ] || p="$(command -v "$name" 2>/dev/null || true)"
    [ -n "$p" ] || { [ -x "$TOOLS/bin/$name" ] && p="$TOOLS/bin/$name"; }
    [ -n "$p" ] || { [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/$name" ] && p="${CARGO_HOME:-$HOME/.cargo}/bin/$name"; }
    if [ -z "$p" ]; then
        if [ -n "${BENCH_NO_INSTALL:-}" ]; then
            WHY[$name]="not installed; BENCH_NO_INSTALL set"
        elif ! command -v cargo >/dev/null 2>&1; then
            WHY[$name]="not installed, and no cargo to install it"
        else
            if [ "$name" = hurl ] && ! apt_install libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config; then
                note "hurl's build dependencies are missing; trying cargo install anyway"
            fi
            log="$TOOLS/install-$name.log"
            note "cargo install --locked $crate --root $TOOLS (nice, -j $JOBS; takes minutes; log: $log)"
            local t0; t0="$(date +%s)"
            if nice -n 19 cargo install --locked -j "$JOBS" --root "$TOOLS" "$crate" >"$log" 2>&1 \
                && [ -x "$TOOLS/bin/$name" ]; then
                p="$TOOLS/bin/$name"
                note "installed $TOOLS/bin/$name in $(( $(date +%s) - t0 )) s"
            else
                WHY[$name]="cargo install $crate failed, see $log"
                tail -n 5 "$log" | sed 's/^/   | /'
            fi
        fi
    fi
    printf -v "$var" '%s' "$p"
    [ -n "$p" ]
}

section "tools"
if ! [ -x "$BENCH_TIME_BIN" ]; then
    apt_install time || true
fi
if [ -x "$BENCH_TIME_BIN" ]; then
    note "GNU time: $BENCH_TIME_BIN"
else
    note "GNU time not available: peak RSS from wait4's ru_maxrss of the timed runs instead"
fi
if [ "$BENCH_TIMER" = hyperfine ] && ! command -v hyperfine >/dev/null 2>&1; then
    apt_install hyperfine || true
    command -v hyperfine >/dev/null 2>&1 || { note "hyperfine not available: paired timer instead"; BENCH_TIMER=paired; }
fi
HURL="${HURL:-}" XH="${XH:-}"
if want flows || want version || want oauth; then
    if find_tool HURL hurl hurl@8.0.1; then
        note "hurl: $HURL ($("$HURL" --version 2>&1 | head -n1))"
    else
        note "hurl: not available — ${WHY[hurl]}"
    fi
fi
if want version; then
    if find_tool XH xh xh; then
        note "xh: $XH ($("$XH" --version 2>&1 | head -n1))"
    else
        note "xh: not available — ${WHY[xh]}"
    fi
fi
peer_or_why() { # peer_or_why NAME PATH: the peer cell's name, or why it is missing
    if [ -n "$2" ]; then printf '%s' "$1"; else printf '%s: n/a (%s)' "$1" "${WHY[$1]:-not found}"; fi
}

# ---------------------------------------------------------------- build
section "build"
if [ "$build" = 1 ] && [ -z "${CONNTEST_BIN:-}" ]; then
    t0="$(date +%s)"
    if ! nice -n 19 cargo build --release --locked -j "$JOBS"; then
        echo "release build failed: nothing to measure" >&2
        exit 1
    fi
    note "cargo build --release --locked -j $JOBS: $(( $(date +%s) - t0 )) s"
fi
BIN="${CONNTEST_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/conntest}"
if [ ! -x "$BIN" ]; then
    echo "no conntest binary at $BIN (run without --no-build, or set CONNTEST_BIN)" >&2
    exit 1
fi
note "binary: $BIN ($("$BIN" --version 2>&1 | head -n1))"
note "timer: $BENCH_TIMER, $BENCH_RUNS rounds after $BENCH_WARMUP warm-up, RSS over $BENCH_RSS_RUNS runs;" \
     "$(nproc 2>/dev/null || echo '?') CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

# ---------------------------------------------------------------- server
BASE_URL=
if want flows || { want keyring && [ "$keyring" = 1 ]; }; then
    section "local API (bench/server.py)"
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
        note "server did not start: $(tail -n3 "$BENCH_TMP/server.err" 2>/dev/null)"
    fi
fi
export BASE_URL

# ---------------------------------------------------------------- flows
if want flows; then
    section "flows: N chained api_request steps, conntest --no-cache test auth vs hurl"
    group "flows"
    steps="${BENCH_FLOW_STEPS:-3 50 200 400}"
    if [ -z "$BASE_URL" ]; then
        row "flows" "skipped: the local API did not start" "" "" "" "n/a"
    else
        fdir="$BENCH_TMP/flows"
        declare -A FLOW_CT=() FLOW_HURL=()
        for n in $steps; do
            python3 "$BENCH/gen.py" flow "$n" "$fdir" || { row "flow $n steps" "generator failed" "" "" "" "n/a"; continue; }
            cmds=(::: conntest "$BIN" --no-cache test auth "$fdir/flow-$n.yaml"
                  --var "base_url=$BASE_URL" --non-interactive)
            [ -n "$HURL" ] && cmds+=(::: hurl "$HURL" --no-output --variable "base_url=$BASE_URL"
                  --variable username=bench --variable password=bench-password "$fdir/flow-$n.hurl")
            printf -- '-- %s steps\n' "$n"
            MED=() RSS=()
            paired "flow-$n" "${cmds[@]}"
            FLOW_CT[$n]="${MED[conntest]:-}" FLOW_HURL[$n]="${MED[hurl]:-}"
            peer="$(peer_or_why hurl "$HURL")"
            if [ "$n" = 3 ]; then tgt=0.30; else tgt=1.0; fi
            row_pair "flow $n steps: wall" ms "${MED[conntest]:-}" "$peer" "${MED[hurl]:-}" ratio "$tgt"
            if [ "$n" = 400 ]; then
                row_pair "flow $n steps: peak RSS" kb "${RSS[conntest]:-}" "$peer" "${RSS[hurl]:-}" ratio 1.0 "≤ hurl"
            else
                if [ "$n" = 3 ]; then
                    row_pair "flow $n steps: peak RSS" kb "${RSS[conntest]:-}" "$peer" "${RSS[hurl]:-}" abs 11264 "≤ 11 MiB"
                else
                    row_pair "flow $n steps: peak RSS" kb "${RSS[conntest]:-}" "$peer" "${RSS[hurl]:-}"
                fi
            fi
        done
        # Per request = median / N.
        per() { [ -n "${2:-}" ] && awk -v m="$2" -v n="$1" 'BEGIN { printf "%.4f", m / n }'; }
        ct_line="per request (median / N), conntest:" hu_line="per request (median / N), hurl:    "
        for n in $steps; do
            ct_line+="  $n: $(fmt_ms "$(per "$n" "${FLOW_CT[$n]:-}")")"
            hu_line+="  $n: $(fmt_ms "$(per "$n" "${FLOW_HURL[$n]:-}")")"
            [ -n "${FLOW_CT[$n]:-}" ] || ct_line+="n/a"
            [ -n "${FLOW_HURL[$n]:-}" ] || hu_line+="n/a"
        done
        info "$ct_line"
        info "$hu_line"
        p400="$(per 400 "${FLOW_CT[400]:-}")" p50="$(per 50 "${FLOW_CT[50]:-}")"
        h400="$(per 400 "${FLOW_HURL[400]:-}")" h50="$(per 50 "${FLOW_HURL[50]:-}")"
        hr="$(div "$h400" "$h50")"
        if [ -n "$p400" ] && [ -n "$p50" ]; then
            r="$(div "$p400" "$p50")"
            if le "$r" 1.2; then v=OK; else v="OVER TARGET"; fi
            row "per request: 400 steps / 50 steps" "$(fmt_ms "$p400") / $(fmt_ms "$p50")" \
                "$( [ -n "$hr" ] && echo "hurl $(fmt_ms "$h400") / $(fmt_ms "$h50") (${hr}×)" || echo "—")" "${r}×" "ratio ≤ 1.2×" "$v"
        else
            row "per request: 400 steps / 50 steps" "n/a (needs N = 50 and 400)" "" "—" "ratio ≤ 1.2×" "n/a"
        fi
        # test lifecycle (issue 20): auth, test API, refresh, test API — the same 5
        # requests as bench/lifecycle.hurl [≤ 0.6× hurl].
        cmds=(::: lifecycle "$BIN" --no-cache test lifecycle "$BENCH/chain.yaml" --var "base_url=$BASE_URL" --non-interactive)
        [ -n "$HURL" ] && cmds+=(::: hurl "$HURL" --no-output --variable "base_url=$BASE_URL"
              --variable username=bench --variable password=bench-password "$BENCH/lifecycle.hurl")
        MED=() RSS=()
        paired "lifecycle" "${cmds[@]}"
        row_pair "test lifecycle (5 req)" ms "${MED[lifecycle]:-}" "$(peer_or_why hurl "$HURL")" "${MED[hurl]:-}" ratio 0.6
    fi
fi

# ---------------------------------------------------------------- validate
if want validate; then
    section "validate: 1,000 and 10,000 generated connectors"
    group "validate"
    # Templates: bench/chain.yaml plus every connectors/*.yaml that validates on its own.
    templates=("$BENCH/chain.yaml")
    for f in "$ROOT"/connectors/*.yaml; do
        [ -f "$f" ] || continue
        if "$BIN" validate "$f" >/dev/null 2>&1; then templates+=("$f"); fi
    done
    for n in 1000 10000; do
        bytes="$(python3 "$BENCH/gen.py" connectors "$n" "$BENCH_TMP/connectors-$n" "${templates[@]}")"
        note "$n connectors in $BENCH_TMP/connectors-$n ($(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'))"
    done
    note "templates: $(for t in "${templates[@]}"; do printf '%s ' "${t#"$ROOT"/}"; done)"
    MED=() RSS=()
    paired "validate" ::: v1000 "$BIN" validate --dir "$BENCH_TMP/connectors-1000" \
                      ::: v10000 "$BIN" validate --dir "$BENCH_TMP/connectors-10000"
    row_pair "validate 1,000 connectors" ms "${MED[v1000]:-}" "" "" abs 150
    # CPU (user + sys of the process, wait4 rusage), the issue-24 target.
    for n in 1000 10000; do
        cpu="$(python3 "$BENCH/selfcpu.py" --runs "$BENCH_RUNS" --warmup 1 -- "$BIN" validate --dir "$BENCH_TMP/connectors-$n" | cut -f3)"
        eval "CPU_$n=\$cpu"
    done
    row_pair "validate 1,000 connectors: CPU" ms "${CPU_1000:-}" "" "" abs 60
    r="$(div "${CPU_10000:-}" "${CPU_1000:-}")"
    if [ -z "$r" ]; then v="n/a"; elif le "$r" 10; then v=OK; else v="OVER TARGET"; fi
    row "validate 10,000 connectors: CPU" "$( [ -n "${CPU_10000:-}" ] && fmt_ms "$CPU_10000" || echo FAILED)" "" \
        "$( [ -n "$r" ] && echo "${r}× (of 1,000)" || echo —)" "≤ 10× the 1,000 figure" "$v"
    ten=
    [ -n "${MED[v1000]:-}" ] && ten="$(awk -v x="${MED[v1000]}" 'BEGIN { printf "%.3f", 10 * x }')"
    r="$(div "${MED[v10000]:-}" "${MED[v1000]:-}")"
    if [ -z "$r" ]; then v="n/a"; elif le "$r" 10; then v=OK; else v="OVER TARGET"; fi
    row "validate 10,000 connectors" "$( [ -n "${MED[v10000]:-}" ] && fmt_ms "${MED[v10000]}" || echo FAILED)" \
        "$( [ -n "$ten" ] && echo "10× the 1,000 figure: $(fmt_ms "$ten")" || echo —)" \
        "$( [ -n "$r" ] && echo "${r}× (of 1,000)" || echo —)" "≤ 10× the 1,000 figure" "$v"
    row_pair "validate 1,000: peak RSS" kb "${RSS[v1000]:-}" "" ""
    row_pair "validate 10,000: peak RSS" kb "${RSS[v10000]:-}" "" ""
fi

# ---------------------------------------------------------------- version
if want version; then
    section "version: conntest --version vs xh --version vs hurl --version"
    group "start-up"
    cmds=(::: conntest "$BIN" --version)
    [ -n "$XH" ] && cmds+=(::: xh "$XH" --version)
    [ -n "$HURL" ] && cmds+=(::: hurl "$HURL" --version)
    MED=() RSS=()
    paired "version" "${cmds[@]}"
    for p in xh hurl; do
        if [ "$p" = xh ]; then path="$XH"; else path="$HURL"; fi
        if [ "$p" = xh ]; then
            row_pair "--version vs $p" ms "${MED[conntest]:-}" "$(peer_or_why "$p" "$path")" "${MED[$p]:-}" ratio 0.6
        else
            row_pair "--version vs $p" ms "${MED[conntest]:-}" "$(peer_or_why "$p" "$path")" "${MED[$p]:-}"
        fi
    done
    for p in xh hurl; do
        if [ "$p" = xh ]; then path="$XH"; else path="$HURL"; fi
        row_pair "--version vs $p: peak RSS" kb "${RSS[conntest]:-}" "$(peer_or_why "$p" "$path")" "${RSS[$p]:-}"
    done
fi

# ---------------------------------------------------------------- oauth
if want oauth; then
    section "oauth: OIDC peer (client credentials vs hurl, PKCE with the scripted browser), jwt_bearer signing"
    group "oauth"
    odir="$BENCH_TMP/oauth"
    mkdir -p "$odir"

    # The peer: Node.js >= 20, curl, and its npm packages (tests/peers/setup-oidc.sh).
    oidc_why='' node_bin=''
    for cand in "${OIDC_NODE:-}" node /usr/bin/node; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 \
            && [ "$("$cand" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
            node_bin="$(command -v "$cand")"; break
        fi
    done
    oidc_dir="$ROOT/tests/peers/oidc"
    if [ -z "$node_bin" ]; then
        oidc_why="no Node.js ≥ 20 for the OIDC peer (node: $(node --version 2>/dev/null || echo none))"
    elif ! command -v curl >/dev/null 2>&1; then
        oidc_why="curl not installed (tests/peers/start-oidc.sh needs it)"
    elif [ ! -f "$oidc_dir/server.mjs" ] || [ ! -f "$ROOT/tests/peers/start-oidc.sh" ]; then
        oidc_why="no OIDC peer in this checkout (tests/peers/oidc)"
    elif [ -n "${BENCH_NO_INSTALL:-}" ] \
        && [ "$(cat "$oidc_dir/node_modules/.conntest-stamp" 2>/dev/null)" != \
             "$("$node_bin" --version) $(sha256sum "$oidc_dir/package-lock.json" | cut -d' ' -f1)" ]; then
        oidc_why="the OIDC peer's npm packages are missing or stale and BENCH_NO_INSTALL is set; run tests/peers/setup-oidc.sh"
    else
        # Quiet peer (no per-request log line), its log in our temp dir.
        export OIDC_QUIET=1 OIDC_NODE="$node_bin"
        OIDC_PEER_LOG="$odir/oidc-peer.log"
        # shellcheck source=tests/peers/start-oidc.sh
        if source "$ROOT/tests/peers/start-oidc.sh" 2>"$odir/oidc-start.err"; then
            note "OIDC peer: $CONNTEST_OIDC_URL (pid $CONNTEST_OIDC_PID, $("$node_bin" --version), oidc-provider" \
                 "$("$node_bin" -p 'require(process.argv[1]).version' "$oidc_dir/node_modules/oidc-provider/package.json" 2>/dev/null))"
        else
            oidc_why="the OIDC peer did not start: $(grep -v '^[[:space:]]*$' "$odir/oidc-start.err" | tail -n 1 | cut -c1-90)"
            tail -n 5 "$odir/oidc-start.err" | sed 's/^/   | /'
        fi
    fi
    [ -z "$oidc_why" ] || note "OIDC peer: n/a — $oidc_why"
    if [ -z "$oidc_why" ] && ! python3 "$BENCH/gen.py" oauth "$odir"; then
        oidc_why="bench/gen.py oauth failed"
    fi

    # 1. Client credentials + GET /api/me: conntest vs hurl, paired.
    printf -- '-- client credentials + test API (cc-client)\n'
    if [ -n "$oidc_why" ]; then
        row "client credentials + GET /api/me: wall" "n/a ($oidc_why)" "" "—" "ratio ≤ 1.0×" "n/a"
    else
        cmds=(::: conntest "$BIN" --no-cache test auth "$odir/cc.yaml" --non-interactive)
        [ -n "$HURL" ] && cmds+=(::: hurl "$HURL" --no-output "$odir/cc.hurl")
        MED=() RSS=()
        paired "oauth-cc" "${cmds[@]}"
        peer="$(peer_or_why hurl "$HURL")"
        row_pair "client credentials + GET /api/me: wall" ms "${MED[conntest]:-}" "$peer" "${MED[hurl]:-}" ratio 1.0
        row_pair "client credentials + GET /api/me: peak RSS" kb "${RSS[conntest]:-}" "$peer" "${RSS[hurl]:-}"
    fi

    # 2. Authorization code + PKCE with the scripted browser: wall, and conntest's own CPU.
    printf -- '-- authorization code + PKCE, scripted browser (public-pkce)\n'
    pk_case="auth code + PKCE, scripted browser"
    if [ -n "$oidc_why" ]; then
        row "$pk_case: wall" "n/a ($oidc_why)" "" "—" "—" "n/a"
        row "$pk_case: conntest CPU / wall" "n/a ($oidc_why)" "" "—" "≤ 10 % of wall" "n/a"
    else
        : >"$odir/browser.log"; : >"$odir/browser-cpu.tsv"
        # browser.py starts with `env python3`: put the real interpreter first in
        # PATH, so a version-manager shim (pyenv: a bash script and helpers, ~0.2 s)
        # does not pad the wall time and so shrink conntest's share.
        py_path="$PATH"
        py_dir="$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null)"
        [ -n "$py_dir" ] && [ -x "$py_dir/python3" ] && py_path="$py_dir:$PATH"
        out="$(PATH="$py_path" BROWSER="$BENCH/browser-cpu.py" BENCH_BROWSER_SCRIPT="$CONNTEST_BROWSER" \
            BENCH_BROWSER_CPU="$odir/browser-cpu.tsv" BROWSER_LOG="$odir/browser.log" BROWSER_TIMEOUT=30 \
            BROWSER_USER="$CONNTEST_OIDC_USER" BROWSER_PASSWORD="$CONNTEST_OIDC_PASSWORD" \
            python3 "$BENCH/selfcpu.py" --runs "$BENCH_RUNS" --warmup "$BENCH_WARMUP" \
                --child-cpu "$odir/browser-cpu.tsv" --settle-log "$odir/browser.log" \
                --json "$BENCH_TMP/oauth-pkce.json" \
                -- "$BIN" --no-cache test auth "$odir/pkce.yaml" --non-interactive \
            2> >(sed 's/^/   ! /' >&2))"
        IFS=$'\t' read -r ok wall self total kids share n fails <<<"$out"
        if [ "$ok" = ok ]; then
            note "$(printf 'conntest               median %9.2f ms wall; CPU: self %.2f ms = wait4 %.2f − browser launcher %.2f; share %.2f %% (%d runs, %s failed)' \
                "$wall" "$self" "$total" "$kids" "$share" "$n" "$fails")"
            [ "$fails" = 0 ] || note "warning: $fails run(s) exited non-zero or their browser did not log 'exit 0' (see $odir/browser.log with BENCH_KEEP_TMP=1)"
            row "$pk_case: wall" "$(fmt_ms "$wall")" "incl. browser.py (7 peer requests) + token + /api/me" "—" "—" "—"
            if le "$share" 10; then v=OK; else v="OVER TARGET"; fi
            row "$pk_case: conntest CPU / wall" "$(fmt_ms "$self") CPU of $(fmt_ms "$wall")" \
                "note: user+sys of conntest alone (wait4 − browser launcher $(fmt_ms "$kids"))" "${share} %" "≤ 10 % of wall" "$v"
            info "auth code + PKCE: conntest CPU = user+sys from wait4's rusage of the conntest process minus the CPU of the"
            info "  browser launcher it spawns and reaps (browser.py's first process: Python start-up, then it detaches;"
            info "  bench/browser-cpu.py reports it). /usr/bin/time %U+%S would show the sum: median $(fmt_ms "$total")."
            info "  The detached browser and the OIDC peer are other processes and not counted. Medians over $n runs."
        else
            row "$pk_case: wall" "FAILED (see the log above)" "" "—" "—" "n/a"
            row "$pk_case: conntest CPU / wall" "FAILED" "" "—" "≤ 10 % of wall" "n/a"
        fi
    fi

    # 3. jwt_bearer: N = 1 and N = 50 signing steps, all interleaved.
    printf -- '-- jwt_bearer signing: 1 vs 50 steps\n'
    jwt_algs=(RS256 ES256 EdDSA HS256)
    cmds=()
    for alg in "${jwt_algs[@]}"; do
        for n in 1 50; do
            if python3 "$BENCH/gen.py" jwt "$n" "$alg" "$ROOT/tests/fixtures/keys" "$odir"; then
                cmds+=(::: "$alg-$n" "$BIN" --no-cache test auth "$odir/jwt-$alg-$n.yaml" --non-interactive)
            else
                note "bench/gen.py jwt $n $alg failed"
            fi
        done
    done
    MED=() RSS=()
    [ "${#cmds[@]}" -gt 0 ] && BENCH_RSS_RUNS=0 paired "oauth-jwt" "${cmds[@]}"
    # OpenSSL's own cost per signature (`openssl speed`: the same P-256 / RSA
    # 2048 signing `openssl dgst -sign` does, without its process start-up).
    declare -A SSL=()
    if command -v openssl >/dev/null; then
        # -mr lines: +F2:INDEX:BITS:SIGNS_PER_S:VERIFIES_PER_S (F2 RSA, F4 ECDSA).
        while IFS=: read -r tag _ bits signs _; do
            case "$tag:$bits" in
                +F2:2048) SSL[RS256]="$(awk -v s="$signs" 'BEGIN { if (s > 0) printf "%.4f", 1000 / s }')" ;;
                +F4:256) SSL[ES256]="$(awk -v s="$signs" 'BEGIN { if (s > 0) printf "%.4f", 1000 / s }')" ;;
            esac
        done < <(openssl speed -mr -seconds 1 rsa2048 ecdsap256 2>/dev/null | grep -E '^\+F[24]:')
    fi
    declare -A PER=()
    for alg in "${jwt_algs[@]}"; do
        t1="${MED[$alg-1]:-}" t50="${MED[$alg-50]:-}"
        case "$alg" in RS256) limit=1.5 ;; ES256) limit=3 ;; *) limit= ;; esac
        if [ -n "$t1" ] && [ -n "$t50" ]; then
            per="$(awk -v a="$t50" -v b="$t1" 'BEGIN { printf "%.4f", (a - b) / 49 }')"
            peer="—" r="—" v="—" tgt="— (reference)"
            if [ -n "$limit" ]; then
                tgt="ratio ≤ ${limit}× openssl"
                if [ -n "${SSL[$alg]:-}" ]; then
                    peer="openssl speed $(fmt_ms "${SSL[$alg]}")"
                    r="$(div "$per" "${SSL[$alg]}")"
                    if le "$r" "$limit"; then v=OK; else v="OVER TARGET"; fi
                    r="${r}×"
                else
                    peer="openssl speed: n/a" v="n/a"
                fi
            fi
            row "jwt_bearer $alg: per step ((t50 − t1) / 49)" "$(fmt_ms "$per")" "$peer" "$r" "$tgt" "$v"
            PER[$alg]="$per"
        else
            row "jwt_bearer $alg: per step ((t50 − t1) / 49)" "FAILED" "" "—" "$tgt" "n/a"
        fi
    done
    # The signature alone: a step's cost minus an HS256 step's (the same step
    # work — claims, JSON, base64, the masker — around a signature of ~1 µs).
    for alg in RS256 ES256; do
        case "$alg" in RS256) limit=1.5 ;; *) limit=3 ;; esac
        if [ -n "${PER[$alg]:-}" ] && [ -n "${PER[HS256]:-}" ] && [ -n "${SSL[$alg]:-}" ]; then
            net="$(awk -v a="${PER[$alg]}" -v b="${PER[HS256]}" 'BEGIN { printf "%.4f", a - b }')"
            r="$(div "$net" "${SSL[$alg]}")"
            if le "$r" "$limit"; then v=OK; else v="OVER TARGET"; fi
            row "jwt_bearer $alg: the signature (step − HS256 step)" "$(fmt_ms "$net")" \
                "openssl speed $(fmt_ms "${SSL[$alg]}")" "${r}×" "ratio ≤ ${limit}× openssl" "$v"
        fi
    done
    if declare -F oidc_stop >/dev/null; then oidc_stop; fi
fi

# ---------------------------------------------------------------- keyring
if want signing; then
    section "signing: js step, NTLM and OAuth 1.0a resource calls"
    sdir="$BENCH_TMP/signing"; mkdir -p "$sdir"
    # js: a small transform; the engine's own cost is the js run minus an empty one.
    cat >"$sdir/js.yaml" <<'YAML'
name: bench-js
auth_flow:
  - id: shape
    type: js
    params: {token: "abc.def", scopes: "a b c"}
    code: |
      const parts = params.token.split(".");
      return {header: "Token " + btoa(parts[0]), n: params.scopes.split(/\s+/).length, at: new Date(0).toISOString()};
YAML
    printf 'name: bench-empty\nauth_flow: []\n' >"$sdir/empty.yaml"
    # The same step 201 times: (t201 − t1) / 200 is one more js step's engine
    # cost (a fresh engine, the compile `validate` makes, the eval) without the
    # noise of a process start, which a single-step difference drowns in.
    python3 - "$sdir/js.yaml" "$sdir/js201.yaml" <<'PY'
import sys
src = open(sys.argv[1]).read()
head, step = src.split("auth_flow:\n", 1)
steps = "".join(step.replace("id: shape", f"id: shape{i}") for i in range(201))
open(sys.argv[2], "w").write(head.replace("bench-js", "bench-js201") + "auth_flow:\n" + steps)
PY
    cmds=(::: js "$BIN" --no-cache test auth "$sdir/js.yaml" ::: empty "$BIN" --no-cache test auth "$sdir/empty.yaml"
          ::: js201 "$BIN" --no-cache test auth "$sdir/js201.yaml")
    node_bin="$(command -v node || true)"
    [ -n "$node_bin" ] && cmds+=(::: node "$node_bin" -e 'const p={token:"abc.def",scopes:"a b c"};const parts=p.token.split(".");console.log(JSON.stringify({header:"Token "+btoa(parts[0]),n:p.scopes.split(/\s+/).length,at:new Date(0).toISOString()}))')
    MED=() RSS=()
    BENCH_RSS_RUNS=0 paired "signing-js" "${cmds[@]}"
    if [ -n "${MED[js201]:-}" ] && [ -n "${MED[js]:-}" ]; then
        engine="$(awk -v a="${MED[js201]}" -v b="${MED[js]}" 'BEGIN { printf "%.3f", (a - b) / 200 }')"
        verdict=OK; awk -v e="$engine" 'BEGIN { exit !(e > 1.0) }' && verdict="OVER TARGET"
        row "js step: engine start + eval ((201 steps − 1 step) / 200)" "$engine ms" "" "—" "≤ 1 ms" "$verdict"
    fi
    if [ -n "${MED[js]:-}" ] && [ -n "${MED[empty]:-}" ]; then
        first="$(awk -v a="${MED[js]}" -v b="${MED[empty]}" 'BEGIN { printf "%.2f", a - b }')"
        row "js step: first of a process (js run − empty run; noisy)" "$first ms" "" "—" "—" "—"
    fi
    row_pair "js flow (whole process) vs node -e (same transform)" ms "${MED[js]:-}" "node" "${MED[node]:-}" none
    # NTLM and OAuth 1.0a peers (tests/peers/start-peers8.sh).
    if source "$ROOT/tests/peers/start-peers8.sh" >"$sdir/peers8.log" 2>&1; then
        printf 'name: bench-ntlm\nvariables: {url: "%s", user: "%s", pw: "%s", domain: "%s"}\nauth_flow: []\nsign_in: {type: ntlm, username: "{{ vars.user }}", password: "{{ vars.pw }}", domain: "{{ vars.domain }}"}\ntest_api: {request: {url: "{{ vars.url }}/api/me"}}\n' \
            "$CONNTEST_NTLM_URL" "$CONNTEST_NTLM_USER" "$CONNTEST_NTLM_PASSWORD" "$CONNTEST_NTLM_DOMAIN" >"$sdir/ntlm.yaml"
        MED=() RSS=()
        paired "signing-ntlm" ::: conntest "$BIN" --no-cache test auth "$sdir/ntlm.yaml" \
            ::: curl curl -fsS --ntlm -u "$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER:$CONNTEST_NTLM_PASSWORD" -o /dev/null "$CONNTEST_NTLM_URL/api/me"
        row_pair "NTLM-authenticated test API call" ms "${MED[conntest]:-}" "curl --ntlm" "${MED[curl]:-}" ratio 1.0
        bench_ntlm_tls "$sdir"
        bench_mtls "$sdir"
        printf 'name: bench-oauth1\nvariables: {url: "%s", cs: "%s", token: "%s", ts: "%s"}\nauth_flow: []\nsign_in: {type: oauth1, consumer_key: ck-test, consumer_secret: "{{ vars.cs }}", token: "{{ vars.token }}", token_secret: "{{ vars.ts }}"}\ntest_api: {request: {url: "{{ vars.url }}/api/me", query: {q: "a b"}}}\n' \
            "$CONNTEST_OAUTH1_URL" "$CONNTEST_OAUTH1_CONSUMER_SECRET" "$CONNTEST_OAUTH1_TOKEN" "$CONNTEST_OAUTH1_TOKEN_SECRET" >"$sdir/oauth1.yaml"
        # curl sends one precomputed signed request (oauthlib's header); the peer refuses
        # the replays with a 401, which costs it the same work.
        header="$("$CONNTEST_PEERS_PYTHON" "$CONNTEST_OAUTH1_SIGN" "{\"method\": \"GET\", \"url\": \"$CONNTEST_OAUTH1_URL/api/me?q=a%20b\", \"consumer_key\": \"ck-test\", \"consumer_secret\": \"$CONNTEST_OAUTH1_CONSUMER_SECRET\", \"token\": \"$CONNTEST_OAUTH1_TOKEN\", \"token_secret\": \"$CONNTEST_OAUTH1_TOKEN_SECRET\"}" 2>/dev/null)"
        MED=() RSS=()
        paired "signing-oauth1" ::: conntest "$BIN" --no-cache test auth "$sdir/oauth1.yaml" \
            ::: curl curl -sS -o /dev/null -H "${header:-Authorization: OAuth x}" "$CONNTEST_OAUTH1_URL/api/me?q=a%20b"
        row_pair "OAuth 1.0a-signed test API call" ms "${MED[conntest]:-}" "curl (precomputed)" "${MED[curl]:-}" none
        peers8_stop
    else
        row "NTLM / OAuth 1.0a" "n/a (the peers did not start: see $sdir/peers8.log)" "" "" "" "n/a"
    fi
fi

# The two TLS rows of `signing` on their own (`--only ntlm-tls`, `--only mtls`).
if ! want signing && { want ntlm-tls || want mtls; }; then
    section "TLS: NTLM over https vs curl --ntlm --cacert, and what a client certificate adds"
    tdir="$BENCH_TMP/tls-only"; mkdir -p "$tdir"
    # shellcheck source=tests/peers/start-peers8.sh
    if PEERS8_START=ntlm source "$ROOT/tests/peers/start-peers8.sh" >"$tdir/peers8.log" 2>&1; then
        want ntlm-tls && bench_ntlm_tls "$tdir"
        want mtls && bench_mtls "$tdir"
        peers8_stop
    else
        row "NTLM over https / mTLS" "n/a (the peers did not start: see $tdir/peers8.log)" "" "" "" "n/a"
    fi
fi

if want keyring; then
    section "keyring (private gnome-keyring via tests/keyring-session.sh)"
    group "keyring"
    if [ "$keyring" = 0 ]; then
        note "skipped (--no-keyring)"
        row "keyring" "skipped (--no-keyring)" "" "" "" "—"
    elif [ -z "$BASE_URL" ]; then
        row "keyring" "skipped: the local API did not start" "" "" "" "n/a"
    else
        missing=()
        command -v secret-tool >/dev/null 2>&1 || missing+=(libsecret-tools)
        command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring)
        command -v dbus-run-session >/dev/null 2>&1 || missing+=(dbus-user-session)
        command -v dbus-send >/dev/null 2>&1 || missing+=(dbus)
        [ "${#missing[@]}" -gt 0 ] && { apt_install "${missing[@]}" || true; }
        if ! command -v secret-tool >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1 \
            || ! command -v dbus-run-session >/dev/null 2>&1; then
            note "skipped: secret-tool, gnome-keyring-daemon or dbus-run-session missing (tests/peers/setup.sh installs them)"
            row "keyring" "skipped: secret-tool / gnome-keyring / dbus-run-session not available" "" "" "" "n/a"
        else
            export CONNTEST_BIN="$BIN"
            timeout 900 "$ROOT/tests/keyring-session.sh" -- bash "$BENCH/keyring-inner.sh"
            krc=$?
            if [ "$krc" -ne 0 ]; then
                why="exit $krc"
                [ "$krc" = 125 ] && why="keyring-session.sh could not set up the keyring"
                [ "$krc" = 124 ] && why="timed out"
                note "keyring part failed ($why)"
                row "keyring" "failed: $why" "" "" "" "n/a"
            fi
        fi
    fi
fi

# ---------------------------------------------------------------- table
section "results (medians of paired runs; figures only, never a failure)"
info "timer: $BENCH_TIMER ($BENCH_RUNS runs each, $BENCH_WARMUP warm-up, $( [ "$BENCH_TIMER" = paired ] && echo "interleaved, rotating order" || echo "NOT interleaved: all of A, then all of B")); RSS: median of $BENCH_RSS_RUNS runs of $( [ -x "$BENCH_TIME_BIN" ] && echo "$BENCH_TIME_BIN -f %M" || echo "wait4 ru_maxrss")"
info "conntest: $BIN ($("$BIN" --version 2>&1 | head -n1)); hurl: ${HURL:-n/a}; xh: ${XH:-n/a}; load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
python3 "$BENCH/table.py" "$BENCH_ROWS" "$BENCH_INFO"
exit 0
