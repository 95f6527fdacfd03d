#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh - what `make -C fuzz run` runs: fuzz for $SECONDS seconds and sum up.
#
# Environment (set by the Makefile): BIN, OUT, SECONDS, JOBS, FUZZ_FLAGS,
# SEEDS.  The last two lines are "<execs> executions in <s> s" and
# "N passed, N failed" (1 passed when the fuzzer found nothing).
set -uo pipefail
mkdir -p "$OUT/corpus" "$OUT/artifacts"
log=$OUT/last-run.log
# -timeout: one input may take 30 s; -max_len: the harness reads at most
# ~4096 steps of a few bytes; -rss_limit_mb: the harness keeps <= 96 MiB live.
args=(-max_total_time="$SECONDS" -timeout=30 -max_len=8192 -rss_limit_mb=4096
      -print_final_stats=1 -artifact_prefix="$OUT/artifacts/")
if [ "${JOBS:-1}" -gt 1 ]; then
	args+=(-fork="$JOBS" -ignore_crashes=0)
fi
# shellcheck disable=SC2086
"$BIN" "${args[@]}" $FUZZ_FLAGS "$OUT/corpus" "$SEEDS" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
echo "fuzz: ${execs:-0} executions in ${secs:-$SECONDS} s, corpus $(ls "$OUT/corpus" | wc -l) + $(ls "$SEEDS" | wc -l) seeds"
# A recoverable UBSan report (pointer-overflow) does not stop the fuzzer.
if [ "$rc" -eq 0 ] && grep -q 'runtime error:' "$log"; then
	grep -m 5 'runtime error:' "$log"
	rc=1
fi
if [ "$rc" -eq 0 ]; then
	echo "1 passed, 0 failed"
else
	crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1)
	echo "fuzz: FAILED (exit status $rc) ${crash}; reproduce with: make -C fuzz repro INPUT=<that file>"
	echo "0 passed, 1 failed"
fi
exit "$rc"
