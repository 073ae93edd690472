#!/usr/bin/env bash
# run.sh - the dashboard's browser test as ctest runs it: installs what it needs
# (scripts/test-deps-browser.sh: Debian's chromium, playwright-core into the build dir), then
# runs dashboard.test.mjs against MNEMO_BIN. Screenshots go to $MNEMO_SCREENSHOTS (default:
# <build dir>/browser-screenshots; `MNEMO_SCREENSHOTS=docs/screenshots` refreshes the README's).
# Exit 77 (ctest: skipped) when the tools cannot be installed here (no package registry).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
: "${MNEMO_BIN:?MNEMO_BIN must name the mnemo binary}"
build="$(cd "$(dirname "$MNEMO_BIN")" && pwd)"
deps="${MNEMO_BROWSER_DEPS:-$build/browser-deps}"

if ! "$root/scripts/test-deps-browser.sh" "$deps"; then
    echo "SKIP: chromium or playwright-core could not be installed (scripts/test-deps-browser.sh)"
    exit 77
fi
shots="${MNEMO_SCREENSHOTS:-$build/browser-screenshots}"
case "$shots" in /*) ;; *) shots="$root/$shots" ;; esac
export MNEMO_BROWSER_DEPS="$deps" MNEMO_SCREENSHOTS="$shots"
exec node "$here/dashboard.test.mjs"
