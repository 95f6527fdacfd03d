/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by the libmymem tests: a small PRNG, block
 * fill patterns, running a function in a child to catch an abort and its
 * message, and reading the heap dump back.
 */
#ifndef MYMEM_TESTUTIL_H
#define MYMEM_TESTUTIL_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mymem.h"

/*
 * A request served by the free lists (coalescing, in-place resizing):
 * above the thread caches' and runs' sizes (16 KiB blocks), below the mmap
 * threshold.  Smaller ones come from runs of one size (userlib/run.c).
 */
#define HEAP_REQ	20000

static inline uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}


/* Word-wise patterns: fast enough for millions of blocks. */
static inline uint64_t pattern_word(uint64_t seed, size_t i)
{
	return (seed + i) * 0x9E3779B97F4A7C15ull;
}

/* Byte i of the pattern, whatever the block's length (little-endian). */
static inline uint8_t pattern_byte(uint64_t seed, size_t i)
{
	uint64_t v = pattern_word(seed, i / 8);
	uint8_t b[8];

	memcpy(b, &v, 8);
	return b[i % 8];
}

static inline void fill_pattern(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	size_t w = n / 8;

	for (size_t i = 0; i < w; i++) {
		uint64_t v = pattern_word(seed, i);

		memcpy(b + 8 * i, &v, 8);
	}
	for (size_t i = 8 * w; i < n; i++)
		b[i] = pattern_byte(seed, i);
}

/* Index (rounded down to a word) of the first wrong byte, or n. */
static inline size_t check_pattern(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	size_t w = n / 8;

	for (size_t i = 0; i < w; i++) {
		uint64_t v;

		memcpy(&v, b + 8 * i, 8);
		if (v != pattern_word(seed, i))
			return 8 * i;
	}
	for (size_t i = 8 * w; i < n; i++)
		if (b[i] != pattern_byte(seed, i))
			return i;
	return n;
}

/*
 * Run fn(arg) in a child with stderr captured.  Returns the signal that
 * ended the child (0 if it exited) and copies its stderr to msg.
 */
static inline int run_in_child(void (*fn)(void *), void *arg, char *msg, size_t msglen)
{
	int pfd[2], status = 0;
	size_t got = 0;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		fn(arg);
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r = read(pfd[0], msg + got, msglen - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == msglen - 1)
			break;
	}
	msg[got] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* One block line of mymem_dump(). */
struct dump_block {
	uintptr_t seg;
	uintptr_t addr;		/* block header address */
	size_t size;
	char state[8];		/* used, free, cached or run: */
	size_t run_out, run_capacity, run_bs;	/* state "run:" */
};

/*
 * Read mymem_dump() back: fills up to max blocks, returns how many there
 * were, or -1.  Lines are "segment 0x..." then "  0x... size state".
 */
static inline int read_dump(struct dump_block *out, int max)
{
	FILE *f = tmpfile();
	char line[256];
	uintptr_t seg = 0;
	int n = 0;

	if (!f)
		return -1;
	if (mymem_dump(f) != 0) {
		fclose(f);
		return -1;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, s;
		char st[16];

		if (sscanf(line, "segment %lx", &a) == 1) {
			seg = a;
		} else if (sscanf(line, " %lx %lu %15s", &a, &s, st) == 3) {
			if (n < max) {
				out[n].seg = seg;
				out[n].addr = a;
				out[n].size = s;
				snprintf(out[n].state, sizeof(out[n].state), "%s", st);
				out[n].run_out = out[n].run_capacity = out[n].run_bs = 0;
				if (!strcmp(st, "run:"))
					sscanf(line, " %*x %*u run: %zu of %zu blocks of %zu",
					       &out[n].run_out, &out[n].run_capacity,
					       &out[n].run_bs);
			}
			n++;
		}
	}
	fclose(f);
	return n;
}

/* The dumped run whose heap block holds p, or NULL. */
static inline const struct dump_block *dump_run_of(const struct dump_block *blk, int n,
						   const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (int i = 0; i < n; i++)
		if (!strcmp(blk[i].state, "run:") && a > blk[i].addr &&
		    a < blk[i].addr + blk[i].size)
			return &blk[i];
	return NULL;
}

static inline struct mymem_heap_stats get_stats(void)
{
	struct mymem_heap_stats st;

	mymem_heap_stats(&st);
	return st;
}

#endif /* MYMEM_TESTUTIL_H */
