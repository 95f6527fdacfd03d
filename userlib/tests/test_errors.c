// SPDX-License-Identifier: MIT
/*
 * test_errors.c - misuse is caught, never silently absorbed: double frees,
 * pointers the heap never gave out, and overwritten boundary tags each end
 * the program with SIGABRT and a message on stderr naming the pointer.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

#include "kselftest_harness.h"
#include "testutil.h"

struct misuse {
	void (*fn)(struct misuse *m);
	char ptr[32];		/* the pointer the message must name */
};

static void set_ptr(struct misuse *m, const void *p)
{
	snprintf(m->ptr, sizeof(m->ptr), "%#lx", (unsigned long)(uintptr_t)p);
}

static void runner(void *arg)
{
	struct misuse *m = arg;

	m->fn(m);
}

/* The child reports the pointer through a pipe-less trick: it writes it
 * to stderr first, so the parent finds both it and the abort message. */
static void announce(struct misuse *m, const void *p)
{
	set_ptr(m, p);
	fprintf(stderr, "PTR=%s\n", m->ptr);
}

static int expect_abort(struct __test_metadata *_metadata, void (*fn)(struct misuse *),
			const char *needle)
{
	struct misuse m = { .fn = fn };
	char msg[4096], ptr[40];
	int sig = run_in_child(runner, &m, msg, sizeof(msg));
	char *at = strstr(msg, "PTR=");

	EXPECT_EQ(SIGABRT, sig);
	EXPECT_NE(NULL, strstr(msg, needle));
	EXPECT_NE(NULL, strstr(msg, "mymem: "));
	EXPECT_NE(NULL, at);
	if (at) {
		sscanf(at, "PTR=%39s", ptr);
		/* the abort message names the very pointer */
		char *line = strstr(msg, "mymem: ");
		EXPECT_NE(NULL, line);
		if (line) {
			EXPECT_NE(NULL, strstr(line, ptr));
		}
	}
	if (sig != SIGABRT || !strstr(msg, needle))
		TH_LOG("child stderr: %s", msg);
	return 0;
}

static void small_double_free(struct misuse *m)
{
	void *p = malloc(40);

	announce(m, p);
	free(p);
	free(p);
}

static void medium_double_free(struct misuse *m)
{
	void *p = malloc(3000), *guard = malloc(3000);

	announce(m, p);
	free(p);
	free(p);
	free(guard);
}

static void merged_double_free(struct misuse *m)
{
	void *a = malloc(3000), *p = malloc(3000), *guard = malloc(100);

	announce(m, p);
	free(a);
	free(p);	/* merges into a: p's header is gone */
	free(p);
	free(guard);
}

static void huge_double_free(struct misuse *m)
{
	void *p = malloc(8 << 20);

	announce(m, p);
	free(p);
	free(p);
}

/* A block realloc() moved to a segment of its own, freed: the segment
 * waits in the growth cache, and a second free is refused all the same. */
static void grown_double_free(struct misuse *m)
{
	char *p = malloc(100 << 10), *guard = malloc(100 << 10);

	p = realloc(p, 300 << 10);
	announce(m, p);
	free(p);
	free(p);
	free(guard);
}

/* realloc() moved the data down into the free block before it: the old
 * pointer, now inside the new block, is no block of its own. */
static void moved_down_old_pointer(struct misuse *m)
{
	char *left = malloc(HEAP_REQ), *a = malloc(HEAP_REQ), *b = malloc(HEAP_REQ);
	char *guard = malloc(HEAP_REQ), *q;

	free(a);
	q = realloc(b, 2 * HEAP_REQ);
	if (q == b)
		abort();	/* not moved: the test's premise failed; it fails too */
	announce(m, b);
	free(b);
	free(q);
	free(left);
	free(guard);
}

static void *free_it(void *p)
{
	free(p);
	return NULL;
}

/* Freed by another thread: the block waits on its arena's remote list. */
static void remote_double_free(struct misuse *m)
{
	void *p = malloc(3000), *guard = malloc(3000);
	pthread_t t;

	announce(m, p);
	pthread_create(&t, NULL, free_it, p);
	pthread_join(t, NULL);
	free(p);
	free(guard);
}

static void remote_block_overflowed(struct misuse *m)
{
	char *p = malloc(3000), *q = malloc(3000);
	pthread_t t;

	announce(m, p);
	(void)q;
	memset(p + malloc_usable_size(p), 0, 8);	/* q's head: p's end tag */
	pthread_create(&t, NULL, free_it, p);
	pthread_join(t, NULL);
	mymem_check();			/* drains the remote list */
	fprintf(stderr, "overflow not caught\n");
}

static void stack_pointer(struct misuse *m)
{
	int x;

	announce(m, &x);
	free(&x);
}

static void static_pointer(struct misuse *m)
{
	static char buf[64];

	announce(m, buf + 16);
	free(buf + 16);
}

static void interior_pointer(struct misuse *m)
{
	char *p = calloc(1, 500);

	announce(m, p + 32);
	free(p + 32);
}

static void misaligned_pointer(struct misuse *m)
{
	char *p = malloc(500);

	announce(m, p + 1);
	free(p + 1);
}

static void huge_interior_pointer(struct misuse *m)
{
	char *p = malloc(4 << 20);

	announce(m, p + 4096);
	free(p + 4096);
}

/* The reserved room after a grown large block is not a block either. */
static void huge_room_pointer(struct misuse *m)
{
	char *p = malloc(10), *q;

	p = realloc(p, 2 << 20);	/* a mapping with room after it */
	q = p + malloc_usable_size(p) + 8192;
	announce(m, q);
	free(q);
}

/*
 * The bytes written over a header are even ('B', 0x42): a valid tag byte
 * is always odd (internal.h), so they can never pass for one.  With an odd
 * byte ('A') the head matched the random tag once in 128 runs and read as
 * a free block: a "double free" report instead of "corrupted".
 */
#define SMASH	0x42

static void overflow_into_next_header(struct misuse *m)
{
	char *p = malloc(1000), *q = malloc(1000);

	announce(m, q);
	memset(p, SMASH, malloc_usable_size(p) + 16);	/* over q's boundary tag + header */
	free(q);
}

/* A block of the free lists above the cached sizes is checked in full at its own free. */
static void overflow_detected_on_own_free(struct misuse *m)
{
	char *p = malloc(20000), *q = malloc(20000);

	announce(m, p);
	(void)q;
	memset(p + malloc_usable_size(p), 0, 8);	/* q's prev_size: p's end tag */
	free(p);
}

/* A block of a run goes to the thread cache unchecked at its end; the tag
 * is checked when the cache returns it to the heap (mymem_trim flushes). */
static void overflow_of_cached_block_of(struct misuse *m, size_t n)
{
	char *p = malloc(n), *q = malloc(n);

	announce(m, p);
	(void)q;
	memset(p + malloc_usable_size(p), 0, 8);	/* q's head (a run's block): p's end tag */
	free(p);
	mymem_trim();
	fprintf(stderr, "overflow not caught\n");
}

static void overflow_of_cached_block(struct misuse *m) { overflow_of_cached_block_of(m, 100); }
static void overflow_of_cached_medium_block(struct misuse *m) { overflow_of_cached_block_of(m, 1000); }

static void underflow_into_own_header(struct misuse *m)
{
	char *p = malloc(200);

	announce(m, p);
	memset(p - 8, SMASH, 8);	/* p's own head word */
	free(p);
}

static void realloc_freed(struct misuse *m)
{
	void *p = malloc(3000), *g = malloc(10);

	announce(m, p);
	free(p);
	p = realloc(p, 5000);
	free(g);
}

/* ---- blocks of runs (userlib/run.c) ---- */

/* Freed, and back in its run (mymem_trim flushes the cache): still caught. */
static void run_block_double_free(struct misuse *m)
{
	void *p = malloc(100);

	announce(m, p);
	free(p);
	mymem_trim();
	free(p);
}

/* The run's own heap block is no block the program was given. */
static void run_record_pointer(struct misuse *m)
{
	static struct dump_block blk[4096];
	void *p = malloc(100);
	int n = read_dump(blk, 4096);
	const struct dump_block *r = n > 0 ? dump_run_of(blk, n < 4096 ? n : 4096, p) : NULL;

	if (!r) {
		fprintf(stderr, "setup: no run in the dump\n");
		return;
	}
	announce(m, (void *)(r->addr + 16));
	free((void *)(r->addr + 16));
}

/* The distance back to the run, in the block's header, overwritten. */
/* The offset bits of a run block's head changed, its tag left whole. */
static void run_offset_smashed(struct misuse *m)
{
	char *p = malloc(3000);
	uint64_t h;

	announce(m, p);
	memcpy(&h, p - 8, sizeof(h));
	h ^= (uint64_t)SMASH << 24;
	memcpy(p - 8, &h, sizeof(h));
	free(p);
	mymem_trim();		/* a cached block is checked against its run here */
	fprintf(stderr, "smashed offset not caught\n");
}

/* Change the byte at p the way an overflow would (through memcpy, which
 * the UBSan build does not bounds-check: the write is out of bounds on
 * purpose). */
static void flip_byte(char *p, unsigned char bits)
{
	unsigned char c;

	memcpy(&c, p, 1);
	c ^= bits;
	memcpy(p, &c, 1);
}

/* The last block of a run: past it lies the next heap block's header. */
static void run_last_block_overflowed(struct misuse *m)
{
	static struct dump_block blk[4096];
	char *p[40], *last = NULL;
	int n;

	for (int i = 0; i < 40; i++)
		p[i] = malloc(480);	/* 496-byte blocks: a class nothing else uses */
	n = read_dump(blk, 4096);
	for (int i = 0; i < 40 && n > 0 && !last; i++) {
		const struct dump_block *r = dump_run_of(blk, n < 4096 ? n : 4096, p[i]);

		if (r && (uintptr_t)p[i] - 16 == r->addr + 16 + 64 + (r->run_capacity - 1) * 496)
			last = p[i];
	}
	if (!last) {
		fprintf(stderr, "setup: no last block\n");
		return;
	}
	announce(m, last);
	flip_byte(last + malloc_usable_size(last), 0x5a);	/* one byte past it: the run's canary */
	free(last);
	mymem_trim();		/* the cache gives it back to its run */
	fprintf(stderr, "overflow not caught\n");
}

/* The same, from the run's last block straight on to the next heap block. */
static void run_last_block_overflowed_far(struct misuse *m)
{
	static struct dump_block blk[4096];
	char *p[40], *last = NULL, *next = NULL;
	int n;

	for (int i = 0; i < 40; i++)
		p[i] = malloc(300);	/* 320-byte blocks: a class nothing else uses */
	n = read_dump(blk, 4096);
	for (int i = 0; i < 40 && n > 0 && !last; i++) {
		const struct dump_block *r = dump_run_of(blk, n < 4096 ? n : 4096, p[i]);

		if (r && (uintptr_t)p[i] - 16 == r->addr + 16 + 64 + (r->run_capacity - 1) * 320) {
			last = p[i];
			next = (char *)(uintptr_t)(r->addr + r->size);	/* the next heap block */
		}
	}
	if (!last) {
		fprintf(stderr, "setup: no last block\n");
		return;
	}
	announce(m, last);
	/* the canary, any slack, and the next heap block's prev_size */
	memset(last + malloc_usable_size(last), 0, (size_t)(next + 8 - (last + malloc_usable_size(last))));
	free(last);
	mymem_trim();
	fprintf(stderr, "overflow not caught\n");
}

/* One byte past a run's block: the low byte of the next block's head (its
 * size).  free() of that block must not file it by the changed size. */
static void run_block_overflowed_by_one_byte(struct misuse *m)
{
	char *p = malloc(200), *q = malloc(200);	/* 208-byte blocks: a class nothing else uses */

	if (q != p + 208) {
		fprintf(stderr, "setup: blocks not adjacent\n");
		return;
	}
	announce(m, q);
	flip_byte(p + malloc_usable_size(p), 0x80);	/* q's size: 208 -> 80 */
	free(q);
	fprintf(stderr, "overflow not caught\n");
}

/* The cache gives a bin back as one chain; the blocks of a run after the
 * first are checked against the run the first one found (run_take_back).
 * An overflow past one of those must still be caught. */
static void run_block_deep_in_a_chain_overflowed(struct misuse *m)
{
	char *p[8];

	for (int i = 0; i < 8; i++)
		p[i] = malloc(360);	/* 368-byte blocks: a class nothing else uses */
	for (int i = 1; i < 8; i++) {
		if (p[i] != p[0] + i * 368) {
			fprintf(stderr, "setup: blocks not adjacent\n");
			return;
		}
	}
	announce(m, p[2]);
	flip_byte(p[2] + malloc_usable_size(p[2]), 0x80);	/* p[3]'s head, which stays in use */
	free(p[0]);
	free(p[1]);
	free(p[2]);
	free(p[4]);
	free(p[5]);		/* the chain: p[5], p[4], p[2], ... */
	mymem_trim();
	fprintf(stderr, "overflow not caught\n");
}

/* A link of a free block in its run overwritten after free(): the next
 * refill must not follow it. */
static void run_free_link_overwritten(struct misuse *m)
{
	char *keep = malloc(440), *p = malloc(440), *q;	/* 464-byte blocks: a class nothing else uses */

	free(p);
	mymem_trim();		/* back in its run (kept by keep), at the head of its free list */
	memcpy(p, &(void *){ (void *)0x10000 }, sizeof(void *));
	announce(m, (void *)0x10010);
	q = malloc(440);	/* the refill takes p, then the forged link */
	fprintf(stderr, "not caught: %p\n", (void *)q);
	q = malloc(440);
	fprintf(stderr, "not caught: %p\n", (void *)q);
	free(keep);
}

static void usable_size_of_garbage(struct misuse *m)
{
	int x;

	announce(m, &x);
	malloc_usable_size(&x);
}

TEST(double_free_small) { expect_abort(_metadata, small_double_free, "double free"); }
TEST(double_free_medium) { expect_abort(_metadata, medium_double_free, "double free"); }
TEST(double_free_after_merge) { expect_abort(_metadata, merged_double_free, "free("); }
TEST(double_free_by_another_thread) { expect_abort(_metadata, remote_double_free, "double free"); }
TEST(overflow_of_a_block_another_thread_freed) { expect_abort(_metadata, remote_block_overflowed, "boundary tag"); }
TEST(double_free_large) { expect_abort(_metadata, huge_double_free, "invalid pointer"); }
TEST(double_free_of_a_block_grown_into_its_own_segment) { expect_abort(_metadata, grown_double_free, "invalid pointer"); }
TEST(free_of_the_old_pointer_of_a_block_moved_down) { expect_abort(_metadata, moved_down_old_pointer, "free("); }
TEST(free_stack_pointer) { expect_abort(_metadata, stack_pointer, "invalid pointer"); }
TEST(free_static_pointer) { expect_abort(_metadata, static_pointer, "invalid pointer"); }
TEST(free_interior_pointer) { expect_abort(_metadata, interior_pointer, "invalid pointer"); }
TEST(free_misaligned_pointer) { expect_abort(_metadata, misaligned_pointer, "invalid pointer"); }
TEST(free_large_interior_pointer) { expect_abort(_metadata, huge_interior_pointer, "invalid pointer"); }
TEST(free_pointer_into_room_after_large_block) { expect_abort(_metadata, huge_room_pointer, "invalid pointer"); }
TEST(overflow_caught_at_next_free) { expect_abort(_metadata, overflow_into_next_header, "corrupted"); }
TEST(overflow_caught_at_own_free) { expect_abort(_metadata, overflow_detected_on_own_free, "boundary tag"); }
TEST(overflow_of_cached_block_caught_when_cache_returns_it) { expect_abort(_metadata, overflow_of_cached_block, "boundary tag"); }
TEST(overflow_of_cached_medium_block_caught_when_cache_returns_it) { expect_abort(_metadata, overflow_of_cached_medium_block, "boundary tag"); }
TEST(underflow_caught) { expect_abort(_metadata, underflow_into_own_header, "corrupted"); }
TEST(realloc_of_freed_pointer) { expect_abort(_metadata, realloc_freed, "realloc("); }
TEST(usable_size_of_foreign_pointer) { expect_abort(_metadata, usable_size_of_garbage, "invalid pointer"); }
TEST(double_free_of_a_block_back_in_its_run) { expect_abort(_metadata, run_block_double_free, "double free"); }
TEST(free_of_a_runs_own_record) { expect_abort(_metadata, run_record_pointer, "invalid pointer"); }
TEST(smashed_run_offset_caught) { expect_abort(_metadata, run_offset_smashed, "corrupted"); }
TEST(overflow_past_a_runs_last_block_caught) { expect_abort(_metadata, run_last_block_overflowed, "boundary tag"); }
TEST(long_overflow_past_a_runs_last_block_caught) { expect_abort(_metadata, run_last_block_overflowed_far, "boundary tag"); }
TEST(one_byte_overflow_into_the_next_run_block_caught) { expect_abort(_metadata, run_block_overflowed_by_one_byte, "corrupted block header"); }
TEST(overflow_past_a_block_deep_in_a_returned_chain_caught) { expect_abort(_metadata, run_block_deep_in_a_chain_overflowed, "boundary tag"); }
TEST(run_free_list_link_overwritten_caught) { expect_abort(_metadata, run_free_link_overwritten, "written after free"); }

/* mymem_check() sees damage that no free() has tripped over yet. */
TEST(check_reports_corruption)
{
	char *p = malloc(1000), *q = malloc(1000);
	size_t saved;

	ASSERT_EQ(0, mymem_check());
	size_t u = malloc_usable_size(p);

	memcpy(&saved, p + u, sizeof(saved));	/* q's prev_size */
	memset(p + u, 0x11, sizeof(saved));
	ASSERT_EQ(MYMEM_E_CORRUPT, mymem_check());
	memcpy(p + u, &saved, sizeof(saved));
	ASSERT_EQ(0, mymem_check());
	free(p);
	free(q);
}

TEST_HARNESS_MAIN
