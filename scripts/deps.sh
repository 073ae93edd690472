#!/usr/bin/env bash
# deps.sh - installs the Debian packages mnemo needs to build and test, when any is missing.
#
# Idempotent: when every package is installed and every tool and pkg-config module is found,
# it prints nothing and exits 0 without calling apt. Runs apt-get as root directly or through
# sudo. Later issues append to PACKAGES (and to the checks below when they add a library).
set -euo pipefail

# Debian packages (bookworm), build and test.
PACKAGES=(
    build-essential
    pkg-config
    cmake
    libsqlite3-dev
    sqlite3
    libjansson-dev
    libcmocka-dev
    clang
    clang-format
    libclang-rt-14-dev
    libpcre2-dev
    libutf8proc-dev
    libmicrohttpd-dev
    libsodium-dev
    wrk
    curl
    libxxhash-dev
    libcurl4-openssl-dev
)

# What the build and `make test` use, checked after the packages.
PKGCONFIG_MODULES=(sqlite3 jansson cmocka libpcre2-8 libutf8proc libxxhash libcurl libmicrohttpd
    libsodium)
COMMANDS=(cmake pkg-config gcc clang clang-format make setarch)

# Packages from PACKAGES that dpkg does not report as installed (all of them without dpkg).
missing_packages() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        if ! command -v dpkg-query >/dev/null 2>&1 ||
            [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# Prints what the build cannot find; succeeds when nothing is missing.
check_tools() {
    local ok=0 cmd mod
    for cmd in "${COMMANDS[@]}"; do
        if ! command -v "$cmd" >/dev/null 2>&1; then
            echo "deps: command not found: $cmd" >&2
            ok=1
        fi
    done
    if command -v pkg-config >/dev/null 2>&1; then
        for mod in "${PKGCONFIG_MODULES[@]}"; do
            if ! pkg-config --exists "$mod"; then
                echo "deps: pkg-config cannot find: $mod" >&2
                ok=1
            fi
        done
    fi
    return "$ok"
}

# Node.js and npm run test tooling only (the official MCP TypeScript SDK client in
# tests/mcp). A machine that already has them (from Debian or elsewhere, e.g. NodeSource,
# whose nodejs bundles npm) is left alone: mixing the two sets of packages conflicts.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
fi

mapfile -t missing < <(missing_packages)
if [[ ${#missing[@]} -eq 0 ]] && check_tools 2>/dev/null; then
    exit 0
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    # dpkg says everything is installed but something is still not found: reinstalling the
    # whole list is the one repair this script can make.
    missing=("${PACKAGES[@]}")
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: need root or sudo to install them; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

if ! check_tools; then
    echo "deps: still missing after installing packages (see above)" >&2
    exit 1
fi
