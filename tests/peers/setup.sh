#!/usr/bin/env bash
# Installs what conntest's real-peer tests need. Idempotent and quiet when done:
#   - Debian packages: gnome-keyring (Secret Service daemon), libsecret-tools
#     (secret-tool), dbus + dbus-user-session (dbus-run-session, dbus-send),
#     tmux (interactive-prompt tests), curl (readiness probes), libxml2-utils
#     (xmllint: the JUnit report checked against a published schema), chromium (the
#     HTML report in a headless browser), python3-jsonschema (JSON results vs. their schema).
#   - A Python venv at target/peers-venv (relative to the repo root) with Django 5.2.x
#     and dbus-next.
# Works as root with no stdin; apt is skipped when the binaries are present,
# pip when Django already imports from the venv.
#   Usage: tests/peers/setup.sh            (env PEERS_VENV overrides the venv path)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/target/peers-venv}"

log() { printf 'peers/setup: %s\n' "$*" >&2; }

# ---- Debian packages --------------------------------------------------------
need_apt=()
command -v gnome-keyring-daemon >/dev/null 2>&1 || need_apt+=(gnome-keyring)
command -v secret-tool          >/dev/null 2>&1 || need_apt+=(libsecret-tools)
command -v dbus-send            >/dev/null 2>&1 || need_apt+=(dbus)
command -v dbus-run-session     >/dev/null 2>&1 || need_apt+=(dbus-user-session)
command -v dbus-daemon          >/dev/null 2>&1 || need_apt+=(dbus-daemon)
command -v tmux                 >/dev/null 2>&1 || need_apt+=(tmux)
command -v curl                 >/dev/null 2>&1 || need_apt+=(curl)
command -v xmllint              >/dev/null 2>&1 || need_apt+=(libxml2-utils)
# chromium: the --html report opened in a headless browser.
command -v chromium             >/dev/null 2>&1 || need_apt+=(chromium)
# python3-jsonschema: test results checked against `conntest schema --results`.
/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || need_apt+=(python3-jsonschema)

if ((${#need_apt[@]})); then
    log "installing Debian packages: ${need_apt[*]}"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { log "not root and no sudo: install ${need_apt[*]} by hand"; exit 1; }
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
    # Update the lists only when an install without it fails (no lists, or stale ones).
    if ! "${SUDO[@]}" apt-get install "${apt_opts[@]}" "${need_apt[@]}" </dev/null >/tmp/peers-apt.$$.log 2>&1; then
        "${SUDO[@]}" apt-get update -q </dev/null >>/tmp/peers-apt.$$.log 2>&1 || true
        if ! "${SUDO[@]}" apt-get install "${apt_opts[@]}" "${need_apt[@]}" </dev/null >>/tmp/peers-apt.$$.log 2>&1; then
            cat /tmp/peers-apt.$$.log >&2
            log "apt-get install failed"
            exit 1
        fi
    fi
    rm -f /tmp/peers-apt.$$.log
fi

# ---- Python venv with Django -------------------------------------------------
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import django, dbus_next, sys; sys.exit(0 if django.VERSION[:2] == (5, 2) else 1)' 2>/dev/null; then
    exit 0
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in python3 /usr/bin/python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv, ensurepip' 2>/dev/null; then
            PY="$cand"; break
        fi
    done
fi
if [ -z "$PY" ]; then
    log "no python3 with venv/ensurepip; installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null >/dev/null 2>&1 \
        || { apt-get update -q </dev/null >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null >/dev/null; }
    PY=/usr/bin/python3
fi

log "creating venv $VENV with $("$PY" --version 2>&1)"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
# dbus-next (pure Python) plays a Secret Service that never answers (tests/peers/hung_secrets.py).
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input 'Django>=5.2,<5.3' 'dbus-next>=0.2.3,<0.3' </dev/null
"$VENV/bin/python" -c 'import django; print("peers/setup: Django", django.get_version())' >&2
