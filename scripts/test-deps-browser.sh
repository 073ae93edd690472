#!/usr/bin/env bash
# test-deps-browser.sh - what the dashboard's browser test needs, installed when missing:
# Debian's chromium (apt-get) and playwright-core (npm ci from tests/browser's lock file, into
# DIR, default tests/browser). Test tooling only: the runtime needs none of it, so it stays out
# of scripts/deps.sh. Idempotent: with everything present it prints nothing and calls neither
# apt nor npm.
#
#   scripts/test-deps-browser.sh [DIR]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tests/browser"
dir="${1:-$src}"

apt_install() {
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { echo "test-deps-browser: need root or sudo to install $*" >&2; return 1; }
        sudo=(sudo)
    fi
    # Another build may be installing at the same time: wait for dpkg's lock instead of failing.
    local opts=(-y -q -o DPkg::Lock::Timeout=300)
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install "${opts[@]}" "$@"; then
        "${sudo[@]}" apt-get update -q -o DPkg::Lock::Timeout=300
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install "${opts[@]}" "$@"
    fi
}

if [[ ! -x /usr/bin/chromium ]]; then
    echo "test-deps-browser: installing chromium" >&2
    apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "test-deps-browser: installing nodejs and npm" >&2
    apt_install nodejs npm
fi

mkdir -p "$dir"
if [[ "$dir" != "$src" ]]; then
    # npm ci works in the directory of the lock file: copy both when they changed.
    for f in package.json package-lock.json; do
        cmp -s "$src/$f" "$dir/$f" || cp "$src/$f" "$dir/$f"
    done
fi
stamp="$dir/node_modules/.mnemo-lock"
if [[ ! -f "$dir/node_modules/playwright-core/package.json" ]] || ! cmp -s "$src/package-lock.json" "$stamp"; then
    echo "test-deps-browser: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$src/package-lock.json" "$stamp"
fi
