#!/usr/bin/env bash
# Installs the OIDC test peer's npm packages (tests/peers/oidc: oidc-provider 9.13
# + jose, pinned by package-lock.json). Idempotent and quiet when done: runs
# `npm ci` only when node_modules is missing or stale (the lock file or the
# Node.js version changed since the last install). Works as root with no stdin.
#   Usage: tests/peers/setup-oidc.sh        (env OIDC_NODE: the node binary to use)
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/oidc" && pwd)"
log() { printf 'peers/setup-oidc: %s\n' "$*" >&2; }

NODE="${OIDC_NODE:-}"
if [ -z "$NODE" ]; then
    for cand in node /usr/bin/node; do
        if command -v "$cand" >/dev/null 2>&1 \
            && [ "$("$cand" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
            NODE="$(command -v "$cand")"; break
        fi
    done
fi
if [ -z "$NODE" ]; then
    log "needs Node.js >= 20 (oidc-provider 9); found: $(node --version 2>/dev/null || echo none)"
    exit 1
fi
NPM="$(dirname "$NODE")/npm"
[ -x "$NPM" ] || NPM="$(command -v npm || true)"
if [ -z "$NPM" ]; then
    log "npm not found next to $NODE or on PATH"
    exit 1
fi

stamp_file="$DIR/node_modules/.conntest-stamp"
want="$("$NODE" --version) $(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"

# One installer at a time (parallel test scripts).
exec 9>"$DIR/.setup.lock"
command -v flock >/dev/null 2>&1 && flock 9

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
    && [ -f "$DIR/node_modules/oidc-provider/package.json" ] && [ -f "$DIR/node_modules/jose/package.json" ]; then
    exit 0
fi

log "npm ci in $DIR ($("$NODE" --version))"
started=$SECONDS
if ! (cd "$DIR" && PATH="$(dirname "$NODE"):$PATH" npm_config_update_notifier=false \
        "$NPM" ci --no-audit --no-fund --loglevel=error </dev/null >"$DIR/.npm-ci.log" 2>&1); then
    cat "$DIR/.npm-ci.log" >&2
    log "npm ci failed"
    exit 1
fi
printf '%s\n' "$want" >"$stamp_file"
rm -f "$DIR/.npm-ci.log"
log "installed oidc-provider $("$NODE" -p 'require(process.argv[1]).version' "$DIR/node_modules/oidc-provider/package.json") in $((SECONDS - started)) s"
