#!/usr/bin/env bash
# Mutation testing of the files a change touches: does the suite notice when they break?
#
#   scripts/mutants.sh [--base REF] [--file PATH]... [-- CARGO_MUTANTS_ARGS...]
#
#   (default)      mutate the lines of src/ this branch changed since it left origin/main
#                  (main when there is no origin), uncommitted changes included:
#                  cargo-mutants --in-diff on `git diff $(git merge-base REF HEAD) -- src/`
#   --base REF     diff against REF instead
#   --file PATH    mutate every function of PATH instead of a diff (repeatable)
#   -- ARGS        passed to `cargo mutants` as is (e.g. `-- --list`, or
#                  `-- -- NAME_FILTER` to run only the tests matching a name)
#
# Each mutant (a one-line change cargo-mutants makes in a copy of the tree) is built
# and the WHOLE suite runs against it with the peers and the private keyring of the
# README's test command: tests/run.sh starts them and runs cargo-mutants in their
# place (RUN_SH_TEST_CMD). A mutant the suite passes on "survived": a behaviour no
# test pins down. The last line is the count; put it in an issue's closing notes.
#
# Slow (one suite run per mutant, one at a time: the machine has 2 cores), so it is
# NOT part of CI. cargo-mutants (crates.io) is installed into target/mutants-tools
# the first time (`cargo install --locked`); builds go to target/mutants/build, kept
# between runs. Results: target/mutants/mutants.out/
# (missed.txt lists the survivors, caught.txt, timeout.txt, unviable.txt, logs/).
# Exit status: cargo-mutants' — 0 every mutant caught, 2 some survived, 3 some
# timed out, 4 the suite fails without any mutant; 1 on a usage error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//; $d'; }
base=
files=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --base) [ $# -ge 2 ] || { usage >&2; exit 1; }; base="$2"; shift 2 ;;
        --file) [ $# -ge 2 ] || { usage >&2; exit 1; }; files+=("$2"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) printf 'mutants.sh: unknown argument `%s`\n' "$1" >&2; usage >&2; exit 1 ;;
    esac
done
if [ -n "$base" ] && [ ${#files[@]} -gt 0 ]; then
    echo "mutants.sh: --base and --file exclude each other" >&2; exit 1
fi

out="$ROOT/target/mutants"
mkdir -p "$out"
select=()
if [ ${#files[@]} -gt 0 ]; then
    for f in "${files[@]}"; do
        [ -f "$f" ] || { echo "mutants.sh: no file $f" >&2; exit 1; }
        select+=(--file "$f")
    done
else
    if [ -z "$base" ]; then
        if git rev-parse --verify --quiet origin/main >/dev/null; then base=origin/main; else base=main; fi
    fi
    git rev-parse --verify --quiet "$base^{commit}" >/dev/null || { echo "mutants.sh: no commit $base" >&2; exit 1; }
    # From where the branch left REF: what landed on REF since is not this change.
    fork="$(git merge-base "$base" HEAD)"
    git diff "$fork" -- src/ >"$out/diff.patch"
    if [ ! -s "$out/diff.patch" ]; then
        echo "mutants.sh: src/ does not differ from $base: nothing to mutate"
        exit 0
    fi
    select+=(--in-diff "$out/diff.patch")
fi

# cargo-mutants itself, once.
tools="$ROOT/target/mutants-tools"
if ! [ -x "$tools/bin/cargo-mutants" ]; then
    echo "mutants.sh: installing cargo-mutants into $tools" >&2
    nice -n 10 cargo install --locked --root "$tools" cargo-mutants </dev/null
fi
export PATH="$tools/bin:$PATH"

# The mutated copies build into one target dir of their own, kept between runs: only
# the first run compiles the dependencies (cargo-mutants' default, a fresh target in
# each copy, compiles them every time), and the tree's own target/ never holds a
# mutant's binary.
export CARGO_TARGET_DIR="$out/build"
# One mutant at a time (-j 1); each suite run gets the keyring session's environment
# from tests/run.sh.
cmd=(nice -n 10 cargo mutants --no-shuffle -j 1 --output "$out" "${select[@]}" "${extra[@]}")
rm -rf "$out/mutants.out" "$out/mutants.out.old"
set +e
RUN_SH_TEST_CMD="$(printf '%q ' "${cmd[@]}")" bash tests/run.sh
rc=$?
set -e

outcomes="$out/mutants.out/outcomes.json"
if [ -f "$outcomes" ]; then
    python3 - "$outcomes" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
print(f"mutants: {o.get('total_mutants', 0)} — caught {o.get('caught', 0)}, "
      f"survived {o.get('missed', 0)}, timed out {o.get('timeout', 0)}, unviable {o.get('unviable', 0)}")
EOF
    if [ -s "$out/mutants.out/missed.txt" ]; then
        echo "survivors (target/mutants/mutants.out/missed.txt):"
        sed 's/^/  /' "$out/mutants.out/missed.txt"
    fi
    survivors=$(grep -c . "$out/mutants.out/missed.txt" 2>/dev/null) || true
    echo "survivors: ${survivors:-0}"
else
    echo "mutants.sh: no outcomes (cargo-mutants exited $rc before testing)" >&2
fi
exit "$rc"
