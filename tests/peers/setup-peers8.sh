#!/usr/bin/env bash
# Installs the Python packages of the OAuth 1.0a and NTLM test peers
# (tests/peers/oauth1, tests/peers/ntlm) into the peers venv:
#   Flask 3.1.x, oauthlib (3.2 or later, 4.0.x seen), pyspnego 0.12.x,
#   requests-oauthlib 2.x (the selftest's client).
# The venv (target/peers-venv, or $PEERS_VENV) is made by tests/peers/setup.sh,
# which runs first when the venv is missing. Idempotent and quiet when done
# (one Python start reading the installed versions, ~0.2 s); pip only when something is
# missing or off. Works as root with no stdin; one installer at a time (flock).
#   Usage: tests/peers/setup-peers8.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/target/peers-venv}"
log() { printf 'peers/setup-peers8: %s\n' "$*" >&2; }

REQS=('Flask>=3.1,<3.2' 'oauthlib>=3.2,<5' 'pyspnego>=0.12,<0.13' 'requests-oauthlib>=2.0,<3')

check() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
def v(name):
    return tuple(int(x) for x in version(name).split(".")[:2])
ok = (v("flask") == (3, 1) and (3, 2) <= v("oauthlib") < (5, 0)
      and v("pyspnego") == (0, 12) and (2, 0) <= v("requests-oauthlib") < (3, 0))
sys.exit(0 if ok else 1)
PY
}

if [ ! -x "$VENV/bin/python" ]; then
    bash "$ROOT/tests/peers/setup.sh" </dev/null
fi
check && exit 0

mkdir -p "$ROOT/target"
exec 9>"$ROOT/target/.setup-peers8.lock"
command -v flock >/dev/null 2>&1 && flock 9
check && exit 0  # another installer finished while we waited

started=$SECONDS
log "pip install ${REQS[*]} into $VENV"
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input "${REQS[@]}" </dev/null >"$ROOT/target/.setup-peers8.log" 2>&1; then
    cat "$ROOT/target/.setup-peers8.log" >&2
    log "pip install failed"
    exit 1
fi
rm -f "$ROOT/target/.setup-peers8.log"
check || { log "installed, but the version check still fails"; exit 1; }
log "$("$VENV/bin/python" -c 'from importlib.metadata import version as v; print(", ".join(f"{n} {v(n)}" for n in ("flask", "oauthlib", "pyspnego", "requests-oauthlib")))') in $((SECONDS - started)) s"
