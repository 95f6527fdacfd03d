#!/bin/sh
# SPDX-License-Identifier: MIT
# run_tests.sh - run the libmymem test binaries given as arguments, then
# the LD_PRELOAD smoke tests and the valgrind tests; print one summary line
# "N passed, N failed" and exit non-zero if anything failed.  Each binary's
# TAP output is kept in $OUT/tests/<name>.log; a binary that dies before its
# totals counts as one failure.
set -u
OUT=${OUT:?OUT must point to the build directory of userlib}
here=$(dirname "$0")
pass=0
fail=0

for t in "$@"; do
	name=$(basename "$t")
	log="$OUT/tests/$name.log"
	# No nursery (thread_cache.c): the tests place blocks in runs and
	# next to each other from a size's first malloc on; test_api checks
	# the nursery itself in a child with the default.
	MYMEM_NURSERY=0 "$t" >"$log" 2>&1
	rc=$?
	totals=$(grep '^# Totals:' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		echo "FAIL $name: no totals (exit $rc), see $log"
		fail=$((fail + 1))
		continue
	fi
	p=$(echo "$totals" | sed -n 's/^# Totals: pass:\([0-9]*\).*/\1/p')
	f=$(echo "$totals" | sed -n 's/.* fail:\([0-9]*\).*/\1/p')
	e=$(echo "$totals" | sed -n 's/.* error:\([0-9]*\).*/\1/p')
	f=$((f + ${e:-0}))
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
		echo "FAIL $name: $totals (exit $rc), see $log"
		grep '^not ok' "$log" | sed 's/^/    /'
		[ "$f" -eq 0 ] && fail=$((fail + 1))
	else
		echo "ok   $name: $p passed"
	fi
done

# LD_PRELOAD smoke tests: each line of output is "ok NAME" or "not ok NAME".
smoke_log="$OUT/tests/preload_smoke.log"
sh "$here/preload_smoke.sh" "$OUT/libmymem.so" >"$smoke_log" 2>&1
sp=$(grep -c '^ok ' "$smoke_log")
sf=$(grep -c '^not ok ' "$smoke_log")
pass=$((pass + sp))
fail=$((fail + sf))
if [ "$sf" -ne 0 ] || [ "$sp" -eq 0 ]; then
	echo "FAIL preload_smoke: $sp passed, $sf failed, see $smoke_log"
	grep '^not ok' "$smoke_log" | sed 's/^/    /'
	[ "$sp" -eq 0 ] && fail=$((fail + 1))
else
	echo "ok   preload_smoke: $sp passed"
fi

# Under valgrind's memcheck: same line format as the smoke tests.
vg_log="$OUT/tests/valgrind_test.log"
sh "$here/valgrind_test.sh" "$OUT/tests" >"$vg_log" 2>&1
vp=$(grep -c '^ok ' "$vg_log")
vf=$(grep -c '^not ok ' "$vg_log")
pass=$((pass + vp))
fail=$((fail + vf))
if [ "$vf" -ne 0 ] || [ "$vp" -eq 0 ]; then
	echo "FAIL valgrind: $vp passed, $vf failed, see $vg_log"
	grep '^not ok' "$vg_log" | sed 's/^/    /'
	[ "$vp" -eq 0 ] && fail=$((fail + 1))
else
	echo "ok   valgrind: $vp passed$(grep -o ' # SKIP.*' "$vg_log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
