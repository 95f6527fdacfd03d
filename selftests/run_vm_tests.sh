#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run_vm_tests.sh - run every /dev/mymem selftest; meant for the test VM.
#
# Usage (from the project's top directory, as root, module loaded):
#   qemu/vm-run --kernel 6.1 -- selftests/run_vm_tests.sh
#
# Runs each test program build/selftests/mymem_*_test in turn, then the
# library's suites (build/userlib/tests/) on the device, the module
# unload/reload test last; passes their TAP output through, and ends with
# one line:  "N passed, N failed"  (", N skipped" added when some were).
# Counts are test cases, from the TAP "ok"/"not ok" lines; a program that
# dies before reporting all its planned cases has the missing ones counted
# as failed.  Exit status 0 only when nothing failed.
#
# It saves and restores what the tests may change (module parameters,
# kernel.core_pattern) and makes sure the module is loaded again at the end.
#
# Environment:
#   MYMEM_SELFTESTS        test programs to run (default: all, in order)
#   MYMEM_SELFTESTS_DIR    where they are (default: build/selftests)
#   MYMEM_SELFTESTS_UBSAN  1: run the UBSan builds (build/selftests/ubsan)
#   MYMEM_TEST_TIMEOUT     seconds one program may take (default 1500)
#   MYMEM_KVER             kernel version (set by vm-run); picks the .ko that
#                          the reload test and the final check insmod
set -u

top=$(pwd)
bindir=${MYMEM_SELFTESTS_DIR:-$top/build/selftests}
[ "${MYMEM_SELFTESTS_UBSAN:-0}" = 1 ] && bindir=$bindir/ubsan
# Every test program there: the module's own in a fixed order, then any
# other mymem_*_test found (e.g. the library's), the unload/reload test last.
order="mymem_mmap_test mymem_fork_test mymem_stats_test mymem_limits_test
	mymem_ioctl_test mymem_firstclass_test"
if [ -z "${MYMEM_SELFTESTS:-}" ]; then
	tests=$order
	for f in "$bindir"/mymem_*_test; do
		t=${f##*/}
		[ -x "$f" ] || continue
		case " $(echo $order) mymem_reload_test " in
		*" $t "*) ;;
		*) tests="$tests $t" ;;
		esac
	done
	# The library's own suites, on the device this time (the UBSan builds:
	# smaller op counts and mymem_check() after every step).
	for t in test_api test_errors test_policy test_random-ubsan \
		test_threads-ubsan test_fork-ubsan; do
		tests="$tests $top/build/userlib/tests/$t"
	done
	tests="$tests mymem_reload_test"
else
	tests=$MYMEM_SELFTESTS
fi
per_test_timeout=${MYMEM_TEST_TIMEOUT:-1500}
kver=${MYMEM_KVER:-$(uname -r)}
export MYMEM_KO=${MYMEM_KO:-$top/build/kmod/$kver/mymem.ko}
# A development aid of the tests (dry runs against /dev/zero); never here.
unset MYMEM_TEST_DEVICE
# Programs linked with libmymem must run on the device, never the fallback;
# they find their helper programs (mymem_heap_target) beside them.
export MYMEM_REQUIRE_DEVICE=1
export MYMEM_SELFTESTS_DIR=$bindir

params=/sys/module/mymem/parameters
saved_max_pages=$(cat $params/max_pages 2>/dev/null)
saved_max_ppp=$(cat $params/max_pages_per_process 2>/dev/null)
saved_core_pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)

passed=0 failed=0 skipped=0 status=0

# The first memory cgroup of a boot turns a static key on for good, and
# the kernel patches kfree and its kin for it with int3 breakpoints while
# the other vCPU may be running them. QEMU's multi-threaded TCG can lose
# that race: once, a kworker took "Oops: int3" in kfree (6.12 guest, CI,
# during the memcg test) and the guest panicked. So flip the key here,
# before any test runs and while little else does.
cgroot=/sys/fs/cgroup
cg_mounted=
if [ "$(stat -f -c %T "$cgroot" 2>/dev/null)" != cgroup2fs ]; then
	mount -t cgroup2 none "$cgroot" 2>/dev/null && cg_mounted=1
fi
if grep -qw memory "$cgroot/cgroup.controllers" 2>/dev/null; then
	echo +memory > "$cgroot/cgroup.subtree_control" 2>/dev/null
	mkdir "$cgroot/mymem-warmup" 2>/dev/null && rmdir "$cgroot/mymem-warmup"
fi
[ -n "$cg_mounted" ] && umount "$cgroot"

for t in $tests; do
	# The library's suites place blocks in runs from a size's first
	# malloc on: without the nursery, as userlib/tests/run_tests.sh runs them.
	nursery=
	case $t in
	/*) bin=$t; t=${t##*/}; nursery=0 ;;
	*) bin=$bindir/$t ;;
	esac
	echo "# ==== $t"
	if [ ! -x "$bin" ]; then
		echo "not ok - $t: $bin is missing (make -C selftests)"
		failed=$((failed + 1))
		continue
	fi
	log=$(mktemp /tmp/mymem-selftest.XXXXXX)
	env ${nursery:+MYMEM_NURSERY=$nursery} \
		timeout -s KILL "$per_test_timeout" "$bin" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# TAP: "ok N name", "ok N # SKIP why", "not ok N name".
	p=$(grep -E '^ok [0-9]+' "$log" | grep -cvE '^ok [0-9]+ # SKIP')
	s=$(grep -cE '^ok [0-9]+ # SKIP' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
	missing=0
	if [ -z "$plan" ]; then
		echo "# $t: no TAP plan (exit status $rc)"
		missing=1
	elif [ $((p + s + f)) -lt "$plan" ]; then
		missing=$((plan - p - s - f))
		echo "# $t: $missing of $plan planned cases never reported (exit status $rc)"
	fi
	if [ "$rc" -ne 0 ] && [ $((f + missing)) -eq 0 ]; then
		echo "# $t: exit status $rc although every case passed"
		status=1
	fi
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f + missing))
	rm -f "$log"
done

# Put back what the tests may have changed, and the module itself.
if [ ! -d /sys/module/mymem ]; then
	echo "# the module is not loaded after the tests: loading $MYMEM_KO"
	args=()
	[ -n "$saved_max_pages" ] && args+=("max_pages=$saved_max_pages")
	[ -n "$saved_max_ppp" ] && args+=("max_pages_per_process=$saved_max_ppp")
	insmod "$MYMEM_KO" "${args[@]}" || status=1
fi
if [ -n "$saved_max_pages" ] &&
   [ "$(cat $params/max_pages 2>/dev/null)" != "$saved_max_pages" ]; then
	echo "# restoring max_pages=$saved_max_pages"
	echo "$saved_max_pages" > $params/max_pages || status=1
fi
if [ -n "$saved_max_ppp" ] &&
   [ "$(cat $params/max_pages_per_process 2>/dev/null)" != "$saved_max_ppp" ]; then
	echo "# restoring max_pages_per_process=$saved_max_ppp"
	echo "$saved_max_ppp" > $params/max_pages_per_process || status=1
fi
if [ -n "$saved_core_pattern" ] &&
   [ "$(cat /proc/sys/kernel/core_pattern)" != "$saved_core_pattern" ]; then
	echo "# restoring kernel.core_pattern"
	printf '%s\n' "$saved_core_pattern" > /proc/sys/kernel/core_pattern
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
