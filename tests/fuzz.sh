#!/usr/bin/env bash
# Long fuzzing run of every target (tests/integration/fuzz.rs): connector files through
# load + validate, templates with a hostile context through the renderer, and (issue 22)
# the callback listener's request parser, token answers (JSON and form-encoded) and
# --inputs files.
#
#   bash tests/fuzz.sh [SECONDS] [SEED]     # default: 1800 s (30 min) per target
#
# The targets run two at a time, one per core, in a release build, under a 4 GiB
# address-space limit so a runaway allocation aborts instead of swapping.
# Findings (panics, slow inputs, hangs) are saved under target/fuzz-findings/;
# replay one with
#   CONNTEST_FUZZ_REPLAY=target/fuzz-findings/NAME cargo test --release --test integration fuzz::replay -- --ignored --nocapture
# An abort (out of memory) cannot save its input: run again with the same SEED and
# CONNTEST_FUZZ_TRACE=1, which writes each input to target/fuzz-findings/*-current
# first (at half the speed).
# `cargo test` runs the same targets for a few thousand inputs each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-1800}
seed=${2:-$(date +%s)}
cargo test --release --test integration --no-run
echo "fuzzing for ${secs} s per target, seed ${seed}"
ulimit -v $((4 * 1024 * 1024))
CONNTEST_FUZZ_SECS=$secs CONNTEST_FUZZ_SEED=$seed \
  cargo test --release --test integration fuzz:: -- --nocapture --test-threads=2
