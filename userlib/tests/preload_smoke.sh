#!/bin/sh
# SPDX-License-Identifier: MIT
# preload_smoke.sh LIB - run real programs with LD_PRELOAD=LIB and compare
# their output with a run without it: ls, python3, bash (pipelines,
# subshells, background jobs), gcc.  Prints "ok NAME" / "not ok NAME".
set -u
LIB=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: same stdout and exit status with and without the library
run() {
	name=$1
	shift
	"$@" >"$tmp/plain.out" 2>"$tmp/plain.err"
	rc1=$?
	LD_PRELOAD=$LIB "$@" >"$tmp/pre.out" 2>"$tmp/pre.err"
	rc2=$?
	if [ "$rc1" -eq "$rc2" ] && cmp -s "$tmp/plain.out" "$tmp/pre.out" &&
	   ! grep -q 'mymem:' "$tmp/pre.err"; then
		echo "ok $name"
	else
		echo "not ok $name (exit $rc1 vs $rc2)"
		diff "$tmp/plain.out" "$tmp/pre.out" | head -n 10
		head -n 10 "$tmp/pre.err"
	fi
}

PY='
import collections, json, random
random.seed(7)
d = {}
for i in range(200000):
    d["key%d" % i] = [i] * (i % 17) + [str(i) * (i % 5)]
for i in range(0, 200000, 3):
    del d["key%d" % i]
s = "".join(str(len(v)) for v in d.values())
c = collections.Counter(s)
big = [bytes(random.getrandbits(8) for _ in range(n)) for n in range(0, 3000, 7)]
blob = json.dumps({k: v for k, v in list(d.items())[:5000]})
print(len(d), sorted(c.items()), sum(map(len, big)), len(blob), len(json.loads(blob)))
'

BASH_SCRIPT='
set -e
x=$(seq 1 20000 | sort -rn | head -n 3 | tr "\n" " ")
echo "top: $x"
( for i in 1 2 3; do echo "sub $i"; done ) | cat -n
sleep 0.1 & p1=$!
(seq 1 5000 | wc -l) & p2=$!
wait $p1; wait $p2
a=(); for i in $(seq 1 3000); do a+=("item$i"); done; echo "${#a[@]} ${a[2999]}"
declare -A m; for i in $(seq 1 2000); do m[k$i]=$((i*i)); done; echo "${m[k1999]}"
f() { local s=""; for i in $(seq 1 500); do s="$s$i,"; done; echo ${#s}; }; echo "$(f)"
echo done
'

cat >"$tmp/prog.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
	char *s = malloc(64);
	strcpy(s, "compiled");
	for (int i = 0; i < 1000; i++)
		s = realloc(s, 64 + (size_t)i * 13);
	printf("%s %zu\n", s, strlen(s));
	free(s);
	return 0;
}
CEOF

run ls ls -la /usr/lib /usr/share/man	# not /: /tmp there changes under other jobs
run python3 python3 -c "$PY"
run bash bash -c "$BASH_SCRIPT"
run sort-uniq sh -c 'seq 1 300000 | sed "s/\$/ line/" | sort | uniq -c | sort -n | tail -n 3'
run gcc sh -c "gcc -O2 -Wall -o '$tmp/prog' '$tmp/prog.c' && '$tmp/prog'"
run python3-best-fit env MYMEM_POLICY=best python3 -c "$PY"

# The library really is the allocator, and the heap is sound afterwards.
out=$(LD_PRELOAD=$LIB python3 -c '
import ctypes
x = [str(i) * 10 for i in range(100000)]
libc = ctypes.CDLL(None)
print(libc.mymem_check())' 2>&1)
if [ "$out" = "0" ]; then echo "ok preloaded-heap-checks-clean"; else echo "not ok preloaded-heap-checks-clean: $out"; fi
