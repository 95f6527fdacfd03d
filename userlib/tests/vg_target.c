// SPDX-License-Identifier: MIT
/*
 * vg_target.c - a program with exactly four memory bugs, for
 * valgrind_test.sh: it leaks one 40-byte block, reads one byte of a freed
 * block and one byte past the end of two blocks (of 20 bytes, where the
 * byte lies in the block's slack, and of 32 bytes, where it is the next
 * block's header).  Built against libmymem and against plain glibc, so the
 * two valgrind reports can be compared.  No stdio: nothing else allocates.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;	/* keeps the allocations from being optimised out */
static volatile char byte;
static volatile size_t at;	/* an index the compiler cannot see through */

static __attribute__((noinline)) void leak_one(void)
{
	char *p = malloc(40);

	memset(p, 'l', 40);
	sink = p;
	sink = NULL;		/* the only pointer to it is gone */
}

static __attribute__((noinline)) void read_freed(void)
{
	char *p = malloc(24);

	memset(p, 'f', 24);
	free(p);
	at = 3;
	byte = p[at];		/* invalid read of size 1, inside a freed block */
}

static __attribute__((noinline)) void read_past_end(size_t n)
{
	char *p = malloc(n);

	memset(p, 'e', n);
	at = n;
	byte = p[at];		/* invalid read of size 1, 0 bytes after the block */
	free(p);
}

int main(void)
{
	leak_one();
	read_freed();
	read_past_end(20);
	read_past_end(32);
	if (write(1, "vg_target done\n", 15) != 15)
		return 1;
	return 0;
}
