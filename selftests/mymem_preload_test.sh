#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mymem_preload_test.sh - real programs on device pages, in the VM.
#
# Runs bash (pipelines, subshells, command substitution, background jobs),
# python3 (dicts, lists, strings) and gcc (compiling a C file) once with
# glibc's malloc and once with LD_PRELOAD=libmymem.so and
# MYMEM_REQUIRE_DEVICE=1 (no fallback: without the device every malloc
# would fail).  Each must give the same output and exit status, and the
# module's global counters must show that the preloaded run really mapped
# device pages and gave every one of them back.  TAP output.
set -u

top=$(pwd)
lib=${MYMEM_LIB:-$top/build/userlib/libmymem.so}
sysfs=/sys/class/misc/mymem
tmp=$(mktemp -d /tmp/mymem-preload.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

counter() { cat "$sysfs/$1"; }

ok() {	# verdict name [diagnostics...]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
		shift 2
		for line in "$@"; do echo "# $line"; done
	fi
}

# compare NAME CMD...: same stdout/exit status with and without libmymem,
# and the preloaded run used (and returned) device pages.
compare() {
	local name=$1 rc_plain rc_pre alloc0 alloc1 freed0 freed1 mmaps0 mmaps1
	shift
	(cd "$tmp" && "$@") >"$tmp/plain.out" 2>"$tmp/plain.err"
	rc_plain=$?
	alloc0=$(counter pages_allocated)
	freed0=$(counter pages_freed)
	mmaps0=$(counter mmap_calls)
	(cd "$tmp" && LD_PRELOAD=$lib MYMEM_REQUIRE_DEVICE=1 "$@") \
		>"$tmp/pre.out" 2>"$tmp/pre.err"
	rc_pre=$?
	alloc1=$(counter pages_allocated)
	freed1=$(counter pages_freed)
	mmaps1=$(counter mmap_calls)

	cmp -s "$tmp/plain.out" "$tmp/pre.out" && [ "$rc_plain" -eq "$rc_pre" ] &&
		! grep -q 'mymem' "$tmp/pre.err"
	ok $? "$name: same output and exit status with libmymem" \
		"exit $rc_plain without, $rc_pre with" \
		"$(diff "$tmp/plain.out" "$tmp/pre.out" | head -n 5)" \
		"$(head -n 5 "$tmp/pre.err")"
	[ $((alloc1 - alloc0)) -gt 0 ] && [ $((mmaps1 - mmaps0)) -gt 0 ] &&
		[ $((alloc1 - alloc0)) -eq $((freed1 - freed0)) ]
	ok $? "$name: ran on device pages and gave them all back" \
		"pages allocated $((alloc1 - alloc0)), freed $((freed1 - freed0)), mmap calls $((mmaps1 - mmaps0))"
}

bash_script='
set -e
x=$(seq 1 3000 | sort -rn | head -n 3 | tr "\n" " ")
echo "top: $x"
( for i in 1 2 3; do echo "sub $i"; done ) | cat -n
(seq 1 500 | wc -l) > bg1.out & p1=$!
(echo background; seq 1 100 | paste -sd+ | bc) > bg2.out & p2=$!
wait $p1 $p2
cat bg1.out bg2.out
declare -A h
for i in $(seq 1 300); do h[k$i]=$((i * i)); done
echo "assoc ${#h[@]} ${h[k300]}"
s=""; for i in $(seq 1 200); do s="$s$i,"; done; echo "${#s}"
for i in 1 2 3 4 5; do echo "$i" | (read v; echo "fork $((v * 2))"); done
'

py_script='
import collections, json
d = {}
for i in range(20000):
    d["key%d" % i] = [i] * (i % 13) + [str(i) * (i % 5)]
for i in range(0, 20000, 3):
    del d["key%d" % i]
s = "".join(str(len(v)) for v in d.values())
c = collections.Counter(s)
words = " ".join("w%d" % (i * 7919 % 1000) for i in range(20000)).split()
blob = json.dumps({k: v for k, v in list(d.items())[:2000]})
print(len(d), sorted(c.items()), len(set(words)), len(blob), len(json.loads(blob)))
'

cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; int v; };
static int cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}
int main(void)
{
	int a[64];
	struct node *head = NULL;
	for (int i = 0; i < 64; i++)
		a[i] = (i * 37) % 64;
	qsort(a, 64, sizeof(a[0]), cmp);
	for (int i = 0; i < 64; i++) {
		struct node *n = malloc(sizeof(*n));
		n->v = a[i];
		n->next = head;
		head = n;
	}
	printf("first %d last %d\n", a[0], head->v);
	return 0;
}
EOF

echo "TAP version 13"
echo "1..9"
compare "bash" bash -c "$bash_script"
compare "python3" python3 -c "$py_script"
# gcc itself, no shell in between (a shell would use device pages on its
# own): cc1's assembly must be the same byte for byte; then gcc with the
# cc1, as and ld it runs builds a program, which must run.
compare "gcc -S" gcc -O2 -S -o - prog.c
compare "gcc" gcc -O2 -o prog prog.c
out=$(cd "$tmp" && ./prog 2>&1)
[ "$out" = "first 0 last 63" ]
ok $? "gcc: the program built under libmymem runs" "it printed: $out"
echo "# Totals: pass:$((n - failed)) fail:$failed xfail:0 xpass:0 skip:0 error:0"
[ "$failed" -eq 0 ]
