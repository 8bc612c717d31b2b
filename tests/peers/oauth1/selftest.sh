#!/usr/bin/env bash
# End-to-end self-test of the OAuth 1.0a peer and the scripted browser, without conntest:
#
#   bash tests/peers/oauth1/selftest.sh
#
# Starts the peer (tests/peers/start-peers8.sh with PEERS8_START=oauth1) and runs
# selftest.py with the peers venv: requests-oauthlib for the client side,
# curl + sign.py for raw URLs, tests/peers/browser.py as $BROWSER. Prints one
# line per check, timings and a closing `N passed, N failed` line; exits 1 if any
# check failed. KEEP=1 keeps the work dir (peer.log, browser.log).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
WORK="$(mktemp -d "${TMPDIR:-/tmp}/oauth1-selftest.XXXXXX")"
export OAUTH1_PEER_LOG="$WORK/peer.log" SELFTEST_WORK="$WORK"
rc=1
cleanup() {
    declare -F peers8_stop >/dev/null && peers8_stop
    if [ "$rc" -ne 0 ] || [ -n "${KEEP:-}" ]; then
        echo "selftest: kept $WORK (peer.log, browser.log)" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

bash tests/peers/setup-peers8.sh </dev/null || exit 1
t=$(date +%s%N)
PEERS8_START=oauth1
# shellcheck source=../start-peers8.sh
source tests/peers/start-peers8.sh || exit 1
echo "peer: $CONNTEST_OAUTH1_URL (ready in $(( ($(date +%s%N) - t) / 1000000 )) ms: setup check + python start + /__stats)"
"$CONNTEST_PEERS_PYTHON" tests/peers/oauth1/selftest.py
rc=$?
exit "$rc"
