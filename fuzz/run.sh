#!/bin/sh
# run.sh BINARY SRC_DIR TARGET WORK_DIR DEFAULT_SECONDS - what the ctest test fuzz_<target>
# runs: replay the checked-in corpus (every input once: a crash there is a regression), then
# fuzz a copy of it in WORK_DIR for $MNEMO_FUZZ_SECONDS (else DEFAULT_SECONDS). New inputs and
# crash artifacts stay in WORK_DIR; the source tree is only read.
set -eu
bin=$1 src=$2 target=$3 work=$4
secs=${MNEMO_FUZZ_SECONDS:-$5}
corpus=$src/corpus/$target
dict=$src/dict/$target.dict
set --
if [ -f "$dict" ]; then set -- "-dict=$dict"; fi

# Timeouts and memory: an input slower than 10 s or a process over 2.5 GB is a finding.
opts="-timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=2560 -print_final_stats=1"

echo "== replay $corpus"
"$bin" $opts "$@" -runs=0 "$corpus"

[ "$secs" -gt 0 ] || exit 0
rm -rf "$work/$target"
mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
cp -R "$corpus/." "$work/$target/corpus/"
echo "== fuzz $target for $secs s (artifacts in $work/$target/artifacts)"
"$bin" $opts "$@" -max_total_time="$secs" -artifact_prefix="$work/$target/artifacts/" \
    "$work/$target/corpus"
