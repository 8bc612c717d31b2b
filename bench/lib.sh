# bench/lib.sh — timing helpers shared by bench/run.sh and bench/keyring-inner.sh.
# Sourced, not run. Needs bash, python3 (to read hyperfine's JSON) or awk.
#
#   measure LABEL CMD ARGS...     run CMD once as a sanity check (must exit 0, else
#                                 the figure is skipped and the output is shown), then
#                                 time it with hyperfine (or a date +%s%N loop).
#                                 Sets M_MEAN, M_SD, M_MIN (ms) and M_N; returns 1 on skip.
#   PREPARE="cmd"                 optional: run before every timed run (not timed)
#   figure LABEL [TARGET_MS]      print "LABEL: mean ms ± sd ms (target ≤ T ms) OK|OVER"
#   ratio LABEL A B [TARGET]      print "LABEL: A/B×"
#
# Env: BENCH_MIN_RUNS (default 20), BENCH_WARMUP (default 3), BENCH_VERBOSE=1
# (show hyperfine's own output), BENCH_NO_HYPERFINE=1 (force the bash loop).
# Timings never change an exit status: these helpers only print.

: "${BENCH_MIN_RUNS:=20}"
: "${BENCH_WARMUP:=3}"
: "${BENCH_TMP:=${TMPDIR:-/tmp}}"
M_MEAN= M_SD= M_MIN= M_N=

if [ -z "${BENCH_NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null 2>&1; then
    BENCH_TIMER=hyperfine
else
    BENCH_TIMER=loop
fi

# Quote one argv for hyperfine -N (which splits with POSIX shell-word rules).
_hf_quote() {
    local a out=
    for a in "$@"; do
        out+="'${a//\'/\'\\\'\'}' "
    done
    printf '%s' "${out% }"
}

_now_ns() { date +%s%N; }

measure() {
    local label="$1"; shift
    M_MEAN= M_SD= M_MIN= M_N=
    local out rc
    if [ -n "${PREPARE:-}" ]; then bash -c "$PREPARE" >/dev/null 2>&1 </dev/null; fi
    out="$("$@" 2>&1 </dev/null)"; rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s: SKIPPED — sanity run failed (exit %d): %s\n' "$label" "$rc" "$*"
        printf '%s\n' "$out" | head -n 25 | sed 's/^/    | /'
        return 1
    fi
    local slug json
    slug="$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '_')"
    json="$BENCH_TMP/hf-$slug.json"
    if [ "$BENCH_TIMER" = hyperfine ]; then
        local -a hf=(hyperfine -N --warmup "$BENCH_WARMUP" --min-runs "$BENCH_MIN_RUNS"
                     --export-json "$json" --command-name "$label")
        [ -n "${PREPARE:-}" ] && hf+=(--prepare "$PREPARE")
        [ -z "${BENCH_VERBOSE:-}" ] && hf+=(--style none)
        if [ -n "${BENCH_VERBOSE:-}" ]; then
            "${hf[@]}" "$(_hf_quote "$@")" </dev/null; rc=$?
        else
            out="$("${hf[@]}" "$(_hf_quote "$@")" 2>&1 </dev/null)"; rc=$?
        fi
        if [ "$rc" -ne 0 ]; then
            printf '%s: SKIPPED — hyperfine failed (exit %d)\n' "$label" "$rc"
            printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
            return 1
        fi
        read -r M_MEAN M_SD M_MIN M_N < <(python3 - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
sd = r.get("stddev") or 0.0
print(f'{r["mean"]*1e3:.2f} {sd*1e3:.2f} {r["min"]*1e3:.2f} {len(r["times"])}')
PY
)
    else
        local i t0 t1 times=()
        for ((i = 0; i < BENCH_WARMUP; i++)); do
            [ -n "${PREPARE:-}" ] && bash -c "$PREPARE" >/dev/null 2>&1 </dev/null
            "$@" >/dev/null 2>&1 </dev/null
        done
        for ((i = 0; i < BENCH_MIN_RUNS; i++)); do
            [ -n "${PREPARE:-}" ] && bash -c "$PREPARE" >/dev/null 2>&1 </dev/null
            t0="$(_now_ns)"
            "$@" >/dev/null 2>&1 </dev/null
            t1="$(_now_ns)"
            times+=("$((t1 - t0))")
        done
        read -r M_MEAN M_SD M_MIN M_N < <(printf '%s\n' "${times[@]}" | awk '
            { x = $1 / 1e6; s += x; ss += x * x; n++; if (n == 1 || x < mn) mn = x }
            END { m = s / n; v = (n > 1) ? (ss - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
                  printf "%.2f %.2f %.2f %d\n", m, sqrt(v), mn, n }')
    fi
    [ -n "$M_MEAN" ] || { printf '%s: SKIPPED — could not read the timings\n' "$label"; return 1; }
    return 0
}

# figure LABEL [TARGET_MS]  — uses M_MEAN/M_SD/M_MIN/M_N from the last measure.
figure() {
    local label="$1" target="${2:-}" verdict=
    if [ -n "$target" ]; then
        if awk -v m="$M_MEAN" -v t="$target" 'BEGIN { exit !(m <= t) }'; then
            verdict=" (target ≤ $target ms) OK"
        else
            verdict=" (target ≤ $target ms) OVER TARGET"
        fi
    fi
    printf '%s: %s ms ± %s ms%s   [min %s ms, %s runs, %s]\n' \
        "$label" "$M_MEAN" "$M_SD" "$verdict" "$M_MIN" "$M_N" "$BENCH_TIMER"
}

# ratio LABEL A_MS B_MS [TARGET]
ratio() {
    local label="$1" a="$2" b="$3" target="${4:-}"
    awk -v l="$label" -v a="$a" -v b="$b" -v t="$target" 'BEGIN {
        if (b <= 0) { printf "%s: n/a\n", l; exit }
        r = a / b; v = ""
        if (t != "") v = sprintf(" (target ≤ %.1f×) %s", t, (r <= t) ? "OK" : "OVER TARGET")
        printf "%s: %.2f×%s\n", l, r, v }'
}
