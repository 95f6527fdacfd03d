#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind_test.sh DIR - libmymem under valgrind's memcheck, with the
# programs `make tests` built in DIR (= $OUT/tests).  Prints "ok NAME" /
# "not ok NAME".
#
# Valgrind >= 3.12 replaces malloc and friends in any library that exports
# them, so a plain `valgrind prog` runs programs linked with libmymem.so on
# memcheck's own allocator; --soname-synonyms=somalloc=nouserintercepts
# keeps ours, and then only our client requests (valgrind_annot.c) tell
# memcheck about blocks.  Both ways must report what glibc's run reports:
#   vg_target: one 40-byte block definitely lost, and three invalid reads
#   of size 1 (a freed block, one byte past 20- and 32-byte blocks), each
#   reported at its line in vg_target.c;
#   vg_clean (threads, every entry point): no error at all.
set -u
DIR=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OURS=--soname-synonyms=somalloc=nouserintercepts

if ! command -v valgrind >/dev/null 2>&1; then
	echo "ok valgrind # SKIP valgrind not installed (make deps)"
	exit 0
fi

# vg NAME ARGS...: run valgrind, log in $tmp/NAME.log (pid prefixes cut).
vg() {
	name=$1
	shift
	valgrind --leak-check=full --num-callers=30 "$@" >"$tmp/$name.out" 2>"$tmp/$name.raw"
	echo $? >"$tmp/$name.rc"
	sed 's/^==[0-9]*== \{0,1\}//' "$tmp/$name.raw" >"$tmp/$name.log"
}

# The counts that must match glibc's: leak summary, error summary, and for
# each invalid read its size, where it happened and what the address is.
summary() {
	grep -E '^ *(definitely|indirectly|possibly) lost:|^ *still reachable:|^ERROR SUMMARY:' "$1"
	awk '/^Invalid read of size/ { print; st = 2; next }
	     st == 2 && /^ *at / { sub(/0x[0-9A-F]+: /, ""); print; st = 1; next }
	     st == 1 && /^ *Address / { sub(/0x[0-9a-f]+/, "ADDR");
		sub(/recently re-allocated /, ""); print; st = 0 }' "$1"
}

check() {
	name=$1
	shift
	if "$@"; then
		echo "ok $name"
	else
		echo "not ok $name"
		sed -n '1,60p' "$tmp/$name.log" 2>/dev/null
	fi
}

expect_target() {
	log=$tmp/$1.log
	grep -q '^   definitely lost: 40 bytes in 1 blocks$' "$log" &&
	grep -q '^   indirectly lost: 0 bytes in 0 blocks$' "$log" &&
	grep -q '^     possibly lost: 0 bytes in 0 blocks$' "$log" &&
	[ "$(grep -c '^Invalid read of size 1$' "$log")" -eq 3 ] &&
	[ "$(grep -A1 '^Invalid read of size 1$' "$log" | grep -c 'at 0x.*: read_\(freed\|past_end\) (vg_target.c:')" -eq 3 ] &&
	grep -q '^ERROR SUMMARY: 4 errors from 4 contexts' "$log" &&
	grep -q '^vg_target done$' "$tmp/$1.out"
}

same_as_glibc() {
	summary "$tmp/glibc.log" >"$tmp/glibc.sum"
	summary "$tmp/$1.log" >"$tmp/$1.sum"
	diff "$tmp/glibc.sum" "$tmp/$1.sum" >&2
}

# The leak's allocation stack runs through libmymem's malloc into main.
leak_stack_ours() {
	awk '/are definitely lost in loss record/ { on = 1; next } on && /^$/ { exit } on' \
		"$tmp/$1.log" >"$tmp/$1.stack"
	grep -q 'malloc_slow (malloc_api.c:' "$tmp/$1.stack" &&
	grep -q 'leak_one (vg_target.c:' "$tmp/$1.stack"
}

clean() {
	grep -q '^ERROR SUMMARY: 0 errors from 0 contexts' "$tmp/$1.log" &&
	[ "$(cat "$tmp/$1.rc")" -eq 0 ] && grep -q '^vg_clean: 0 failures$' "$tmp/$1.out"
}

vg glibc "$DIR/vg_target-glibc"
check glibc expect_target glibc

vg annotated "$OURS" "$DIR/vg_target"
check annotated expect_target annotated
check annotated-same-as-glibc same_as_glibc annotated
check annotated-leak-in-libmymem leak_stack_ours annotated

vg replaced "$DIR/vg_target"
check replaced expect_target replaced
check replaced-same-as-glibc same_as_glibc replaced

vg clean-annotated "$OURS" --error-exitcode=3 "$DIR/vg_clean"
check clean-annotated clean clean-annotated
vg clean-replaced --error-exitcode=3 "$DIR/vg_clean"
check clean-replaced clean clean-replaced
