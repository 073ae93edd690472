#!/usr/bin/env bash
# sqlite_vec.sh - fetches the sqlite-vec extension that bench_memory compares mnemo's vector
# scan against: npm package sqlite-vec-linux-x64, version pinned, tarball checked by sha256.
#
#   bench/sqlite_vec.sh [DIR]    (DIR defaults to build/)
#
# Puts DIR/sqlite-vec-0.1.9/vec0.so in place (once; later runs reuse it) and prints its
# absolute path on stdout. On any failure (no npm, no network, checksum mismatch, not
# x86-64 Linux) it prints the reason on stderr and exits 1; the benchmark then reports
# sqlite-vec as unavailable instead of failing.
set -euo pipefail

readonly PKG=sqlite-vec-linux-x64
readonly VERSION=0.1.9
# sha256 of sqlite-vec-linux-x64-0.1.9.tgz as the npm registry served it (npm's own sha1 for
# it is 692af0d05a6c37c41049e3b5bdcdf60508dfaf5c).
readonly TGZ_SHA256=d75c33662b3ce690d122a5f4285a3acf2f6ba288c46331a7b1fad593b6da2908

fail() {
    echo "sqlite_vec.sh: $*" >&2
    exit 1
}

dir=${1:-build}
[[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] || fail "the package is built for Linux x86-64 only"
mkdir -p "$dir" || fail "cannot create '$dir'"
dest=$(cd "$dir" && pwd)/sqlite-vec-$VERSION
so=$dest/vec0.so
if [[ -s "$so" ]]; then
    echo "$so"
    exit 0
fi
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mnemo-sqlite-vec-XXXXXX") || fail "cannot create a temp dir"
trap 'rm -rf "$tmp"' EXIT
# --ignore-scripts: a tarball is all we want; nothing of the package runs here.
if ! (cd "$tmp" && npm pack --ignore-scripts --loglevel=error "$PKG@$VERSION" >npm.out 2>npm.err); then
    fail "npm pack $PKG@$VERSION failed: $(head -n 2 "$tmp/npm.err" | tr '\n' ' ')"
fi
tgz=$tmp/$PKG-$VERSION.tgz
[[ -f "$tgz" ]] || fail "npm pack did not produce $PKG-$VERSION.tgz"
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
[[ "$sum" == "$TGZ_SHA256" ]] || fail "checksum mismatch for $PKG-$VERSION.tgz: $sum"
tar -xzf "$tgz" -C "$tmp" package/vec0.so || fail "the tarball has no package/vec0.so"
mkdir -p "$dest"
# Copy then rename, so a concurrent or interrupted run never leaves a half-written .so.
cp "$tmp/package/vec0.so" "$dest/vec0.so.tmp"
mv -f "$dest/vec0.so.tmp" "$so"
echo "$so"
