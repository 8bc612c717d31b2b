#!/usr/bin/env bash
# Run a command against a private, throw-away OS keyring (Secret Service).
#
#   tests/keyring-session.sh [--locked] -- CMD ARGS...
#
# CMD runs inside its own `dbus-run-session` bus, with HOME, XDG_DATA_HOME,
# XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR pointing into a fresh temp
# dir, so the developer's real keyring is never touched. (CARGO_HOME and
# RUSTUP_HOME are pinned to their current values first, so `cargo` still works.)
# DISPLAY/WAYLAND_DISPLAY are unset so no prompt window can ever appear.
#
# Default mode: `gnome-keyring-daemon --unlock --components=secrets` is started
# with a random password on stdin. It creates the `login` keyring, makes it the
# `default` collection, and leaves it unlocked. The script waits until
# `org.freedesktop.secrets` is owned on the bus (the daemon returns before it
# owns the name; a client that came too early would D-Bus-activate a second,
# locked daemon), then proves a store/lookup/clear round trip with secret-tool.
# CMD sees CONNTEST_KEYRING_READY=1.
#
# Crash restarts: the daemon is started through a wrapper that is also the
# session's D-Bus activation file for org.freedesktop.secrets, so a daemon that
# dies under CMD is started again by the next client's call, with the same
# password and keyring file — as a desktop's service manager brings it back —
# instead of a locked daemon activated from the system's service file.
# gnome-keyring-daemon 42 does crash (SIGTRAP, "gkd_secret_service_get_pkcs11_
# session: assertion 'client' failed") when a client vanishes mid-call, as the
# kill -9 tests make conntest do; those tests use a session of their own. Every
# start and exit is recorded, and when the daemon was restarted (or is gone)
# at the end, the starts and the daemon's log are printed on stderr.
#
# --locked: the Secret Service runs but the default collection is LOCKED.
# A first daemon creates the `login` keyring with password A (and stores a probe
# item, so the keyring file exists), is stopped; a second daemon is started with
# `--unlock` fed a wrong password B ("failed to unlock login keyring on startup").
# Observed with gnome-keyring 42.1 on Debian 12: any access that needs the
# collection unlocked makes the daemon ask for a system prompt; D-Bus activates
# gcr-prompter, which exits 1 at once ("cannot open display"), so the request is
# dismissed within ~50 ms: `secret-tool store` exits 1 with "Cannot create an
# item in a locked collection", `secret-tool lookup` exits 1 and prints nothing.
# Nothing hangs. The script checks that a store fails (within 10 s) before CMD
# runs. CMD sees CONNTEST_KEYRING_LOCKED=1 (and no CONNTEST_KEYRING_READY).
# KEYRING_SESSION_SEED (--locked only): a bash command run while the keyring is
# still unlocked, before it is locked, e.g. to store items that CMD then finds in
# a locked collection (as a user whose login keyring stayed locked would).
#
# Exit code: CMD's. 125 (with a message on stderr) when the keyring could not be
# set up. The daemon and the temp dir are removed afterwards.
# Env: KEYRING_SESSION_TIMEOUT (seconds to wait for the bus name, default 10).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
die() {
    if [ -n "${tmp:-}" ] && [ -s "$tmp/dbus-daemon.log" ]; then
        printf 'keyring-session: session bus log:\n' >&2; cat "$tmp/dbus-daemon.log" >&2
    fi
    printf 'keyring-session: %s\n' "$*" >&2; exit 125
}

if [ -z "${_CONNTEST_KS_INNER:-}" ]; then
    # ---------------- outer part: temp dirs, then a private session bus -------------
    mode=unlocked
    while [ $# -gt 0 ]; do
        case "$1" in
            --locked) mode=locked; shift ;;
            --) shift; break ;;
            -h|--help) sed -n '2,/^set -euo/p' "$SELF" | sed 's/^# \{0,1\}//; $d'; exit 0 ;;
            *) break ;;
        esac
    done
    [ $# -gt 0 ] || die "usage: keyring-session.sh [--locked] -- CMD ARGS..."
    for bin in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
        command -v "$bin" >/dev/null 2>&1 || die "$bin not found: run tests/peers/setup.sh"
    done

    # Keep the Rust toolchain reachable once HOME changes.
    if [ -z "${CARGO_HOME:-}" ] && [ -d "$HOME/.cargo" ]; then export CARGO_HOME="$HOME/.cargo"; fi
    if [ -z "${RUSTUP_HOME:-}" ] && [ -d "$HOME/.rustup" ]; then export RUSTUP_HOME="$HOME/.rustup"; fi

    tmp="$(mktemp -d "${TMPDIR:-/tmp}/conntest-keyring.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/home/.local/share" "$tmp/home/.config" "$tmp/home/.cache" "$tmp/run"
    chmod 700 "$tmp/home" "$tmp/run"
    # The bus daemon (and the services it activates, e.g. gcr-prompter) log to a
    # file instead of CMD's stderr; it is printed if the set-up fails.
    dbus_daemon="$(command -v dbus-daemon)"
    printf '#!/bin/sh\nexec %q "$@" 2>>%q\n' "$dbus_daemon" "$tmp/dbus-daemon.log" >"$tmp/dbus-daemon"
    chmod +x "$tmp/dbus-daemon"
    # The Secret Service is started through this wrapper, by start_daemon and by
    # D-Bus activation alike (the user's service dir wins over the system's): a
    # daemon that crashed comes back with the session's password, as a desktop's
    # service manager would bring it back, instead of a locked stranger that a
    # client's call activated. Every start and exit is recorded in daemon-starts.
    mkdir -p "$tmp/home/.local/share/dbus-1/services"
    {
        printf '#!/bin/sh\n'
        printf 'echo "started $(date +%%T.%%N)" >>%q\n' "$tmp/daemon-starts"
        printf 'gnome-keyring-daemon --foreground --unlock --components=secrets <%q >>%q 2>&1 &\n' \
            "$tmp/daemon-password" "$tmp/gnome-keyring-daemon.log"
        printf 'echo $! >%q\nwait $!\n' "$tmp/daemon.pid"
        printf 'echo "exited with status $? $(date +%%T.%%N)" >>%q\n' "$tmp/daemon-starts"
    } >"$tmp/secrets-daemon"
    chmod +x "$tmp/secrets-daemon"
    printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$tmp/secrets-daemon" \
        >"$tmp/home/.local/share/dbus-1/services/org.freedesktop.secrets.service"

    unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK DBUS_SESSION_BUS_ADDRESS \
          CONNTEST_KEYRING_READY CONNTEST_KEYRING_LOCKED
    set +e
    HOME="$tmp/home" \
    XDG_DATA_HOME="$tmp/home/.local/share" \
    XDG_CONFIG_HOME="$tmp/home/.config" \
    XDG_CACHE_HOME="$tmp/home/.cache" \
    XDG_RUNTIME_DIR="$tmp/run" \
    _CONNTEST_KS_INNER="$mode" \
    _CONNTEST_KS_TMP="$tmp" \
        dbus-run-session --dbus-daemon="$tmp/dbus-daemon" -- bash "$SELF" "$@"
    rc=$?
    set -e
    exit "$rc"
fi

# ---------------- inner part: runs on the private bus ----------------------------
mode="$_CONNTEST_KS_INNER"
tmp="$_CONNTEST_KS_TMP"
unset _CONNTEST_KS_INNER _CONNTEST_KS_TMP
timeout_s="${KEYRING_SESSION_TIMEOUT:-10}"
log="$tmp/gnome-keyring-daemon.log"
daemon_pid=

name_owned() { # prints true/false
    dbus-send --session --dest=org.freedesktop.DBus --type=method_call --print-reply \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
        | awk '/boolean/ {print $2}'
}

wait_name() { # wait_name true|false
    local want="$1" tries=$((timeout_s * 20))
    while [ "$(name_owned)" != "$want" ]; do
        if [ -n "$daemon_pid" ] && [ "$want" = true ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
            cat "$log" >&2 2>/dev/null || true
            die "gnome-keyring-daemon exited before owning org.freedesktop.secrets"
        fi
        tries=$((tries - 1))
        if [ "$tries" -lt 0 ]; then
            cat "$log" >&2 2>/dev/null || true
            die "timed out after ${timeout_s}s waiting for org.freedesktop.secrets to be $([ "$want" = true ] && echo owned || echo released) on the session bus"
        fi
        sleep 0.05
    done
}

starts="$tmp/daemon-starts"
ours=0 # the starts this script made; any more were restarts after a crash
start_daemon() { # start_daemon PASSWORD
    printf '%s' "$1" >"$tmp/daemon-password"
    "$tmp/secrets-daemon" 2>>"$log" &
    daemon_pid=$!
    ours=$((ours + 1))
    wait_name true
}

stop_daemon() { # the daemon running now, whoever started it
    local pid
    pid="$(cat "$tmp/daemon.pid" 2>/dev/null || true)"
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    [ -z "$daemon_pid" ] || wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
    rm -f "$tmp/daemon.pid"
}
trap stop_daemon EXIT

rand_pw() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
probe=(service conntest-probe account "probe-$$")

start_daemon "$(rand_pw)"
secret-tool store --label=conntest-probe "${probe[@]}" <<<"probe-value" 2>>"$log" \
    || { cat "$log" >&2; die "could not store a probe item in the default collection"; }
got="$(secret-tool lookup "${probe[@]}" 2>>"$log" || true)"
[ "$got" = "probe-value" ] || { cat "$log" >&2; die "probe item did not read back (got '$got')"; }
secret-tool clear "${probe[@]}" 2>>"$log" || die "could not clear the probe item"

if [ "$mode" = locked ]; then
    # Make sure login.keyring is on disk before restarting with a wrong password.
    if [ -n "${KEYRING_SESSION_SEED:-}" ]; then
        bash -c "$KEYRING_SESSION_SEED" >>"$log" 2>&1 || { cat "$log" >&2; die "KEYRING_SESSION_SEED failed"; }
    fi
    [ -f "$XDG_DATA_HOME/keyrings/login.keyring" ] || die "login.keyring was not written"
    stop_daemon
    wait_name false
    start_daemon "wrong-$(rand_pw)"
    if timeout 10 secret-tool store --label=conntest-probe "${probe[@]}" <<<"x" 2>>"$log"; then
        secret-tool clear "${probe[@]}" 2>/dev/null || true
        die "--locked: storing into the collection succeeded; it should be locked"
    fi
    export CONNTEST_KEYRING_LOCKED=1
else
    export CONNTEST_KEYRING_READY=1
fi

set +e
"$@"
rc=$?
set -e
# A daemon that died under CMD explains keyring failures around that moment: say
# so, with its log (both files are in the temp dir, which is removed on exit).
started="$(grep -c '^started' "$starts" 2>/dev/null || true)"
restarts=$((${started:-0} - ours))
if [ "$restarts" -gt 0 ] || [ "$(name_owned)" != true ]; then
    printf 'keyring-session: gnome-keyring-daemon stopped while the command ran (restarted %s time(s) by D-Bus activation); starts and exits:\n' \
        "$restarts" >&2
    cat "$starts" >&2 2>/dev/null || true
    printf 'keyring-session: the daemon log:\n' >&2
    cat "$log" >&2 2>/dev/null || true
fi
stop_daemon
exit "$rc"
