# shellcheck shell=bash
# bench/lib.sh — helpers shared by bench/run.sh and bench/keyring-inner.sh.
# Sourced, not run. Needs bash and python3 (bench/paired.py, bench/table.py).
#
#   paired LABEL [--prepare CMD] ::: NAME [--stdin=FILE] CMD ARGS... [::: NAME ...]...
#         time the commands interleaved with bench/paired.py (sanity run first,
#         then $BENCH_RUNS rounds after $BENCH_WARMUP, then $BENCH_RSS_RUNS runs
#         under GNU time). Sets, per NAME: MED[NAME] (median ms) and RSS[NAME]
#         (median peak RSS, KB), both empty when the command failed. Prints one
#         progress line per command.
#   row_pair CASE UNIT A PEER B [KIND TARGET [LABEL]]
#         add one row to the final table. UNIT: ms | kb. A: conntest's figure,
#         B: the peer's ("" = missing). PEER: the peer's name, or a reason it is
#         missing. KIND: ratio (A/B ≤ TARGET) | abs (A ≤ TARGET, in UNIT) |
#         none (the default). LABEL overrides the target cell.
#   row CASE CONNTEST PEER RATIO TARGET VERDICT     add a preformatted row
#   info TEXT                                       a line printed under the table
#
# Env: BENCH_TMP, BENCH_ROWS (table rows, TSV), BENCH_INFO (lines under the table),
# BENCH_RUNS, BENCH_WARMUP, BENCH_RSS_RUNS, BENCH_TIMER (paired | hyperfine),
# BENCH_TIME_BIN (GNU time). Timings never change an exit status.

: "${BENCH_TMP:=${TMPDIR:-/tmp}}"
: "${BENCH_ROWS:=$BENCH_TMP/rows.tsv}"
: "${BENCH_INFO:=$BENCH_TMP/info.txt}"
: "${BENCH_RUNS:=20}"
: "${BENCH_WARMUP:=3}"
: "${BENCH_RSS_RUNS:=5}"
: "${BENCH_TIMER:=paired}"
: "${BENCH_TIME_BIN:=/usr/bin/time}"
BENCH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# MED and RSS are read by the scripts that source this file.
# shellcheck disable=SC2034
declare -gA MED=() RSS=()

note() { printf '   %s\n' "$*"; }

paired() {
    local label="$1"; shift
    local -a pre=()
    if [ "${1:-}" = --prepare ]; then pre=(--prepare "$2"); shift 2; fi
    local slug out name ok med mean sd min n rss src
    slug="$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '_')"
    out="$(python3 "$BENCH_LIB_DIR/paired.py" --runs "$BENCH_RUNS" --warmup "$BENCH_WARMUP" \
        --rss-runs "$BENCH_RSS_RUNS" --time-bin "$BENCH_TIME_BIN" --timer "$BENCH_TIMER" \
        --json "$BENCH_TMP/$slug.json" "${pre[@]}" "$@" 2> >(sed 's/^/   ! /' >&2))"
    while IFS=$'\t' read -r name ok med mean sd min n rss src; do
        [ -n "$name" ] || continue
        if [ "$ok" = ok ]; then
            MED[$name]="$med"
            RSS[$name]="$([ "$rss" = - ] || printf '%s' "$rss")"
            note "$(printf '%-22s median %9.2f ms  (mean %.2f ± %.2f, min %.2f, %d runs)  peak RSS %s' \
                "$name" "$med" "$mean" "$sd" "$min" "$n" "$(fmt_kb "${RSS[$name]}") [$src]")"
        else
            # shellcheck disable=SC2034
            MED[$name]='' RSS[$name]=''
            note "$(printf '%-22s FAILED (see above)' "$name")"
        fi
    done <<<"$out"
}

# fmt_ms MS / fmt_kb KB: human figures ("" stays "").
fmt_ms() {
    [ -n "${1:-}" ] || return 0
    awk -v x="$1" 'BEGIN { if (x >= 1000) printf "%.2f s", x / 1000;
        else if (x >= 100) printf "%.0f ms", x; else if (x >= 10) printf "%.1f ms", x;
        else printf "%.2f ms", x }'
}
fmt_kb() {
    [ -n "${1:-}" ] || { printf 'n/a'; return 0; }
    awk -v x="$1" 'BEGIN { printf "%.1f MB", x / 1024 }'
}
fmt() { if [ "$1" = kb ]; then fmt_kb "$2"; else fmt_ms "$2"; fi; }

# le A B: exit 0 when A ≤ B.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
# div A B: A/B with two decimals (empty when B ≤ 0 or either is empty).
div() {
    [ -n "${1:-}" ] && [ -n "${2:-}" ] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}

row() {
    local IFS=$'\t'
    printf '%s\n' "$*" >>"$BENCH_ROWS"
}

info() { printf '%s\n' "$*" >>"$BENCH_INFO"; }

row_pair() {
    local case="$1" unit="$2" a="$3" peer="$4" b="$5" kind="${6:-none}" t="${7:-}" label="${8:-}"
    local ca cb r cr tcell verdict
    if [ -n "$a" ]; then ca="$(fmt "$unit" "$a")"; else ca="FAILED"; fi
    if [ -n "$b" ]; then cb="$peer $(fmt "$unit" "$b")"; else cb="$peer"; fi
    [ -n "$peer" ] || cb="—"
    r="$(div "$a" "$b")"
    if [ -n "$r" ]; then cr="${r}×"; else cr="—"; fi
    case "$kind" in
        ratio) tcell="${label:-ratio ≤ ${t}×}"
               if [ -z "$r" ]; then verdict="n/a"; elif le "$r" "$t"; then verdict=OK; else verdict="OVER TARGET"; fi ;;
        abs)   tcell="${label:-≤ $(fmt "$unit" "$t")}"
               if [ -z "$a" ]; then verdict="n/a"; elif le "$a" "$t"; then verdict=OK; else verdict="OVER TARGET"; fi ;;
        *)     tcell="${label:-—}" verdict="—" ;;
    esac
    row "$case" "$ca" "$cb" "$cr" "$tcell" "$verdict"
}
