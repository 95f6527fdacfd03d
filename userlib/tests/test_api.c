// SPDX-License-Identifier: MIT
/*
 * test_api.c - unit tests of every entry point of libmymem and its edges:
 * alignment, errno, overflow, in-place realloc, large blocks, statistics,
 * dump, check, trim, page source selection.  Runs with whatever page
 * source is present (device in the VM, anonymous mmap on the host).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

static char **g_argv;

/* This test program again, in a mode of its own (see main), with only
 * the given environment (at most two variables). */
struct self_run {
	const char *mode;	/* argv[1] */
	const char *env[3];
};

static void exec_self(void *arg)
{
	const struct self_run *r = arg;
	char *const argv[] = { g_argv[0], (char *)r->mode, NULL };

	execve("/proc/self/exe", argv, (char *const *)r->env);
	_exit(99);
}

static int run_self(const char *mode, const char *env0, const char *env1, char *msg,
		    size_t msglen)
{
	struct self_run r = { mode, { env0, env1, NULL } };

	return run_in_child(exec_self, &r, msg, msglen);
}

void cfree(void *);

static bool aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

TEST(malloc_sizes_and_alignment)
{
	for (size_t n = 0; n < 5000; n += (n < 300 ? 1 : 37)) {
		unsigned char *p = malloc(n);

		ASSERT_NE(NULL, p);
		ASSERT_TRUE(aligned(p, alignof(max_align_t)));
		ASSERT_GE(malloc_usable_size(p), n);
		memset(p, 0xab, n);
		free(p);
	}
	ASSERT_EQ(0, mymem_check());
}

TEST(malloc_zero_is_unique)
{
	void *a = malloc(0), *b = malloc(0);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(a, b);
	free(a);
	free(b);
}

TEST(malloc_too_large_enomem)
{
	size_t sizes[] = { SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)1 << 62 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		ASSERT_EQ(NULL, malloc(sizes[i]));
		ASSERT_EQ(ENOMEM, errno);
	}
	/* the heap is still usable */
	void *p = malloc(100);
	ASSERT_NE(NULL, p);
	free(p);
	ASSERT_EQ(0, mymem_check());
}

TEST(free_null_and_errno)
{
	void *p = malloc(64), *q = malloc(5000), *h = malloc(3 * MiB);

	errno = 1234;
	free(NULL);
	ASSERT_EQ(1234, errno);
	free(p);
	ASSERT_EQ(1234, errno);
	free(q);
	ASSERT_EQ(1234, errno);
	free(h);
	ASSERT_EQ(1234, errno);
	cfree(malloc(10));
}

TEST(calloc_zeroes_reused_memory)
{
	for (size_t n = 1; n < 200000; n = n * 3 + 1) {
		unsigned char *p = malloc(n), *q;

		ASSERT_NE(NULL, p);
		memset(p, 0xff, n);
		free(p);
		q = calloc(1, n);
		ASSERT_NE(NULL, q);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(0, q[i]);
		free(q);
	}
	/* large: straight from the page source */
	unsigned char *h = calloc(4, MiB);
	ASSERT_NE(NULL, h);
	for (size_t i = 0; i < 4 * MiB; i += 4096)
		ASSERT_EQ(0, h[i]);
	free(h);
	ASSERT_EQ(0, mymem_check());
}

TEST(calloc_after_coalesce_is_zero)
{
	/* Free neighbours merge; their old headers must not leak into calloc. */
	void *blk[64];

	for (int i = 0; i < 64; i++) {
		blk[i] = malloc(700 + i * 16);
		memset(blk[i], 0x5a, 700 + i * 16);
	}
	for (int i = 0; i < 64; i++)
		free(blk[i]);
	unsigned char *z = calloc(1, 60000);
	ASSERT_NE(NULL, z);
	for (size_t i = 0; i < 60000; i++)
		ASSERT_EQ(0, z[i]);
	free(z);
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * calloc of n bytes from memory the page source has just handed over must
 * not write it (the pages are zero already): the minor faults it causes
 * stay far below the block's page count, and the block reads as zero.
 * The control: writing a block malloc took from the same kind of memory
 * faults about once a page, so the count does see touched pages (with a
 * page source that populates its pages up front it cannot: skipped).
 */
static void calloc_untouched(struct __test_metadata *_metadata, size_t n, bool huge)
{
	long pages = (long)(n / (size_t)getpagesize()), before, calloc_faults, write_faults;
	struct mymem_heap_stats st0 = get_stats(), st1;
	unsigned char *m, *p;

	m = malloc(n);		/* the control, kept while p is taken */
	ASSERT_NE(NULL, m);
	before = minor_faults();
	memset(m, 0x5a, n);
	write_faults = minor_faults() - before;

	before = minor_faults();
	p = calloc(1, n);
	calloc_faults = minor_faults() - before;
	ASSERT_NE(NULL, p);
	st1 = get_stats();
	/* the path meant: mappings of their own, or fresh heap space */
	ASSERT_EQ(st0.huge_blocks + (huge ? 2 : 0), st1.huge_blocks);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(0, p[i]);	/* braced: stops at the first bad byte */
	}
	TH_LOG("%zu bytes: calloc %ld minor faults, writing a malloc'ed block %ld, %ld pages",
	       n, calloc_faults, write_faults, pages);
	free(p);
	free(m);
	if (write_faults < pages / 2)
		SKIP(return, "writing %ld pages caused %ld faults: cannot tell", pages, write_faults);
	ASSERT_LT(calloc_faults, pages / 4);
}

TEST(calloc_does_not_touch_fresh_heap_pages)
{
	calloc_untouched(_metadata, 768 * 1024, false);	/* below the mmap threshold */
}

TEST(calloc_does_not_touch_fresh_mapping)
{
	calloc_untouched(_metadata, 4 * MiB, true);	/* above it */
}

/* The other direction: a block that held data is cleared, every byte. */
TEST(calloc_clears_a_reused_block)
{
	/* Both above the thread cache and runs (HEAP_REQ, testutil.h). */
	const size_t sizes[] = { HEAP_REQ, 300 * 1024 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		unsigned char *p = malloc(n), *guard = malloc(64), *q;

		ASSERT_NE(NULL, p);
		ASSERT_NE(NULL, guard);
		memset(p, 0xaa, n);
		free(p);
		q = calloc(1, n);
		ASSERT_EQ(p, q);	/* the very block: its bytes were 0xaa */
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(0, q[i]);
		}
		free(q);
		free(guard);
	}
}

TEST(calloc_overflow)
{
	errno = 0;
	ASSERT_EQ(NULL, calloc(SIZE_MAX / 2, 3));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, calloc((size_t)1 << 33, (size_t)1 << 33));
	ASSERT_EQ(ENOMEM, errno);
	void *p = calloc(0, 0);
	ASSERT_NE(NULL, p);
	free(p);
}

TEST(realloc_basics)
{
	char *p = realloc(NULL, 10);

	ASSERT_NE(NULL, p);
	strcpy(p, "hello");
	p = realloc(p, 100000);
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("hello", p);
	p = realloc(p, 3 * MiB);		/* into a large block */
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("hello", p);
	p = realloc(p, 20);			/* back into the heap */
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("hello", p);
	errno = 0;
	ASSERT_EQ(NULL, realloc(p, SIZE_MAX));	/* fails, p untouched */
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_STREQ("hello", p);
	ASSERT_EQ(NULL, realloc(p, 0));		/* frees */
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block realloc() moves to a mapping of its own gets room reserved after
 * it: growing it again (up to 4x) commits pages in place, with no copy,
 * and the pages really are there and counted.
 */
TEST(realloc_grows_a_large_block_in_place)
{
	struct mymem_heap_stats s0, s1;
	unsigned char *p, *q;
	size_t n = 2 * MiB;

	mymem_trim();		/* no cached segment: the pages are fresh */
	p = malloc(100);
	ASSERT_NE(NULL, p);
	memset(p, 0x5a, 100);
	p = realloc(p, n);			/* moves: a mapping with room */
	ASSERT_NE(NULL, p);
	memset(p + 100, 0x5a, n - 100);
	for (int step = 0; step < 2; step++) {
		s0 = get_stats();
		uintptr_t was = (uintptr_t)p;

		q = realloc(p, 2 * n);
		ASSERT_EQ(was, (uintptr_t)q) TH_LOG("step %d: %zu -> %zu bytes moved", step, n, 2 * n);
		p = q;		/* the old pointer is dead even when equal */
		n *= 2;
		s1 = get_stats();
		ASSERT_GE(malloc_usable_size(p), n);
		ASSERT_EQ(s0.huge_blocks, s1.huge_blocks);
		ASSERT_EQ(s0.huge_bytes + n / 2, s1.huge_bytes);
		ASSERT_EQ(s0.pages_mapped + n / 2 / s1.page_size, s1.pages_mapped);
		for (size_t i = 0; i < n / 2; i += 4096)
			ASSERT_EQ(0x5a, p[i]);
		for (size_t i = n / 2; i < n; i += 4096)
			ASSERT_EQ(0, p[i]);	/* fresh pages */
		memset(p + n / 2, 0x5a, n / 2);
		ASSERT_EQ(0, mymem_check());
	}
	q = realloc(p, 4 * n);			/* out of room: moves, keeps the data */
	ASSERT_NE(NULL, q);
	for (size_t i = 0; i < n; i += 4096)
		ASSERT_EQ(0x5a, q[i]);
	ASSERT_EQ(0, mymem_check());
	s0 = get_stats();
	free(q);		/* its segment waits in the growth cache */
	mymem_trim();
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks - 1, s1.huge_blocks);
	ASSERT_GT(s0.pages_mapped, s1.pages_mapped + 4 * n / s1.page_size - 1);
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block realloc() has to move stays in the heap while a run class could
 * hold it (up to 16376 bytes) and gets a segment of its own from one byte
 * more.  (A run's block never grows in place, so both must move.)
 */
TEST(a_growing_block_past_the_run_classes_gets_a_segment)
{
	struct mymem_heap_stats s0, s1;
	struct dump_block blk[8192];
	void *first[16];
	char *p, *q;
	int n;

	/* A thread's first blocks of a size come from the free lists (the
	 * nursery), where they may grow in place: use them up. */
	for (int i = 0; i < 16; i++)
		first[i] = malloc(8000);
	mymem_trim();
	s0 = get_stats();
	for (unsigned own = 0; own <= 1; own++) {	/* 16376 bytes, then 16377 */
		p = malloc(8000);
		ASSERT_NE(NULL, p);
		n = read_dump(blk, 8192);
		ASSERT_NE(NULL, dump_run_of(blk, n < 8192 ? n : 8192, p));
		strcpy(p, "moved");
		q = realloc(p, 16376 + own);
		ASSERT_NE(NULL, q);
		ASSERT_STREQ("moved", q);
		ASSERT_GE(malloc_usable_size(q), (size_t)16376 + own);
		s1 = get_stats();
		ASSERT_EQ(s0.huge_blocks + own, s1.huge_blocks);
		free(q);
	}
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks, s1.huge_blocks);
	ASSERT_EQ(0, mymem_check());
	for (int i = 0; i < 16; i++)
		free(first[i]);
	mymem_trim();
}

/*
 * Such a block grows in place in the room after it.  Freed, the segment
 * waits in the growth cache, its pages mapped, for the next growing block;
 * the cache keeps at most twice the pages its last block used, and
 * mymem_trim() empties it.
 */
TEST(a_growing_block_in_a_segment_of_its_own_the_next_one_reuses)
{
	struct mymem_heap_stats s0, s1, s2;
	char *p, *q;
	uintptr_t seg;
	size_t pg;

	mymem_trim();
	s0 = get_stats();
	pg = s0.page_size;
	p = malloc(100);
	ASSERT_NE(NULL, p);
	strcpy(p, "grow");
	q = realloc(p, 200 << 10);
	ASSERT_NE(NULL, q);
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks + 1, s1.huge_blocks);
	ASSERT_STREQ("grow", q);
	p = realloc(q, 1200 << 10);		/* with its room: in place */
	ASSERT_EQ(q, p);
	memset(p + (200 << 10), 1, 1000 << 10);
	seg = (uintptr_t)p >> 22;
	s1 = get_stats();
	free(p);
	s2 = get_stats();
	ASSERT_EQ(s1.huge_blocks - 1, s2.huge_blocks);
	ASSERT_EQ(s1.pages_mapped, s2.pages_mapped);	/* cached, not unmapped */
	ASSERT_EQ(0, mymem_check());

	p = malloc(100);
	ASSERT_NE(NULL, p);
	strcpy(p, "again");
	q = realloc(p, 300 << 10);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(seg, (uintptr_t)q >> 22);	/* the cached segment */
	ASSERT_STREQ("again", q);
	s1 = get_stats();
	ASSERT_EQ(s2.pages_mapped, s1.pages_mapped);	/* its pages were there */
	free(q);
	s2 = get_stats();
	/* twice the last block's 300 KiB stay, the rest (about 600) went */
	ASSERT_LT(s2.pages_mapped + (500 << 10) / pg, s1.pages_mapped);
	ASSERT_GE(mymem_trim(), (size_t)600 << 10);
	s2 = get_stats();
	ASSERT_EQ(s0.pages_mapped, s2.pages_mapped);
	ASSERT_EQ(0, mymem_check());
}

TEST(realloc_grows_in_place)
{
	/* Heap sizes, so freed blocks go to the free lists. */
	char *p = malloc(HEAP_REQ), *q = malloc(HEAP_REQ), *guard = malloc(HEAP_REQ);

	ASSERT_NE(NULL, guard);
	memset(p, 'x', HEAP_REQ);
	free(q);
	char *r = realloc(p, 2 * HEAP_REQ - 100);
	ASSERT_EQ(p, r);
	for (int i = 0; i < HEAP_REQ; i++)
		ASSERT_EQ('x', r[i]);
	ASSERT_GE(malloc_usable_size(r), 2 * HEAP_REQ - 100);
	free(r);
	free(guard);
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block that cannot grow at its end takes the free block before it (and
 * the one after, if free): the data moves down, nothing new is taken from
 * the heap.  A doubling array leaves no hole behind so.
 */
TEST(realloc_grows_down_into_a_free_left_neighbour)
{
	char *left = malloc(HEAP_REQ), *a = malloc(HEAP_REQ), *b = malloc(HEAP_REQ);
	char *guard = malloc(HEAP_REQ), *q;
	struct mymem_heap_stats s0, s1;

	ASSERT_NE(NULL, guard);
	if (a + malloc_usable_size(a) + 16 != b || b + malloc_usable_size(b) + 16 != guard)
		SKIP(return, "the blocks are not neighbours");
	fill_pattern(b, HEAP_REQ, 5);
	free(a);
	s0 = get_stats();
	q = realloc(b, 2 * HEAP_REQ);		/* a's block and b's hold it */
	s1 = get_stats();
	ASSERT_EQ(a, q);
	ASSERT_EQ(HEAP_REQ, check_pattern(q, HEAP_REQ, 5));
	ASSERT_GE(malloc_usable_size(q), 2 * HEAP_REQ);
	ASSERT_EQ(s0.pages_mapped, s1.pages_mapped);
	ASSERT_EQ(s0.free_blocks - 1, s1.free_blocks);	/* a's block is taken */
	ASSERT_EQ(0, mymem_check());
	free(q);
	free(left);
	free(guard);
	ASSERT_EQ(0, mymem_check());
}

/* The same with the free block after it too: left + block + right. */
TEST(realloc_grows_down_taking_both_neighbours)
{
	char *left = malloc(HEAP_REQ), *a = malloc(HEAP_REQ), *b = malloc(HEAP_REQ);
	char *c = malloc(HEAP_REQ), *guard = malloc(HEAP_REQ), *q;

	ASSERT_NE(NULL, guard);
	if (a + malloc_usable_size(a) + 16 != b || b + malloc_usable_size(b) + 16 != c ||
	    c + malloc_usable_size(c) + 16 != guard)
		SKIP(return, "the blocks are not neighbours");
	fill_pattern(b, HEAP_REQ, 6);
	free(a);
	free(c);
	q = realloc(b, 3 * HEAP_REQ);
	ASSERT_EQ(a, q);
	ASSERT_EQ(HEAP_REQ, check_pattern(q, HEAP_REQ, 6));
	ASSERT_GE(malloc_usable_size(q), 3 * HEAP_REQ);
	ASSERT_EQ(0, mymem_check());
	/* The old pointer is dead: freeing it again is caught (test_errors). */
	free(q);
	free(left);
	free(guard);
	ASSERT_EQ(0, mymem_check());
}

TEST(realloc_shrinks_in_place)
{
	char *p = malloc(4 * HEAP_REQ), *guard = malloc(HEAP_REQ);
	struct mymem_heap_stats before, after;

	memset(p, 'y', 4 * HEAP_REQ);
	before = get_stats();
	char *r = realloc(p, 2 * HEAP_REQ);
	after = get_stats();
	ASSERT_EQ(p, r);
	ASSERT_LT(malloc_usable_size(r), 2 * HEAP_REQ + 100);
	ASSERT_GT(after.free_bytes, before.free_bytes);	/* the tail went back */
	for (int i = 0; i < 2 * HEAP_REQ; i++)
		ASSERT_EQ('y', r[i]);
	free(r);
	free(guard);
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block grown a few bytes at a time (a string being appended to) gets an
 * eighth of its size of room with each resize, so the steps after it fit:
 * resized a handful of times, not once per step.  A doubling gets exactly
 * what it asks, and a small shrink keeps the block as it is.
 */
TEST(realloc_in_small_steps_leaves_room_and_doubling_does_not)
{
	char *p = malloc(9 * HEAP_REQ), *q;
	size_t n = HEAP_REQ, u;
	int changes = 0;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, realloc(p, n));	/* a big shrink: the rest, after it, is free */
	u = malloc_usable_size(p);
	ASSERT_LT(u, n + 32);
	fill_pattern(p, n, 3);
	while (n < 2 * HEAP_REQ) {
		n += 16;
		q = realloc(p, n);
		ASSERT_EQ(p, q);	/* in place: the room is there */
		ASSERT_GE(malloc_usable_size(q), n);
		if (malloc_usable_size(q) != u) {
			changes++;
			/* an eighth more than asked, but for the rounding */
			ASSERT_GE(malloc_usable_size(q), n + u / 8 - 16);
			u = malloc_usable_size(q);
		}
	}
	ASSERT_EQ(HEAP_REQ, check_pattern(p, HEAP_REQ, 3));
	ASSERT_LE(changes, 7);		/* 1.125^6 > 2: six or seven resizes */
	ASSERT_GE(changes, 5);
	q = realloc(p, n - 100);	/* a small shrink */
	ASSERT_EQ(p, q);
	ASSERT_EQ(u, malloc_usable_size(q));
	p = realloc(q, 2 * n);		/* a doubling: exactly that */
	ASSERT_NE(NULL, p);
	ASSERT_GE(malloc_usable_size(p), 2 * n);
	ASSERT_LT(malloc_usable_size(p), 2 * n + 32);
	ASSERT_EQ(HEAP_REQ, check_pattern(p, HEAP_REQ, 3));
	free(p);
	ASSERT_EQ(0, mymem_check());
}

/*
 * Growth at the top of a segment whose reservation holds the request but
 * not the eighth of room a small step asks on top: in place all the same
 * (the room is a wish, the request is not).
 */
TEST(realloc_at_a_segments_end_grows_in_place_without_its_room)
{
	char *filler, *p, *q;

	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 32 << 20));	/* 20 MB in the heap */
	filler = malloc(12000000);
	p = malloc(10000000);
	ASSERT_NE(NULL, filler);
	ASSERT_NE(NULL, p);
	q = realloc(p, 20000000);	/* into the top of the 32 MiB reservation */
	ASSERT_NE(NULL, q);
	p = q;
	memset(p + 19999990, 7, 10);
	q = realloc(p, 20000000 + 4096);	/* fits; 20000000 / 8 more would not */
	ASSERT_EQ(p, q);
	ASSERT_EQ(7, q[19999999]);
	free(q);
	free(filler);
	ASSERT_EQ(0, mymem_check());
}

TEST(reallocarray_overflow)
{
	void *p = malloc(10);

	errno = 0;
	ASSERT_EQ(NULL, reallocarray(p, SIZE_MAX / 2, 4));
	ASSERT_EQ(ENOMEM, errno);
	p = reallocarray(p, 100, 8);
	ASSERT_NE(NULL, p);
	ASSERT_GE(malloc_usable_size(p), 800);
	free(p);
}

TEST(posix_memalign_all_powers)
{
	for (size_t a = sizeof(void *); a <= 4 * MiB; a <<= 1) {
		size_t sizes[] = { 0, 1, 100, 5000, 70000 };

		for (unsigned i = 0; i < 5; i++) {
			void *p = (void *)1;

			ASSERT_EQ(0, posix_memalign(&p, a, sizes[i]));
			ASSERT_NE(NULL, p);
			ASSERT_TRUE(aligned(p, a));
			memset(p, 1, sizes[i]);
			free(p);
		}
	}
	ASSERT_EQ(0, mymem_check());
}

TEST(posix_memalign_rejects)
{
	void *p = (void *)1;
	size_t bad[] = { 0, 1, 2, 4, 3, 24, 48, 100 };

	errno = 77;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(EINVAL, posix_memalign(&p, bad[i], 16));
		ASSERT_EQ((void *)1, p);
	}
	ASSERT_EQ(ENOMEM, posix_memalign(&p, 64, SIZE_MAX - 100));
	ASSERT_EQ(77, errno);
}

TEST(aligned_alloc_and_memalign)
{
	for (size_t a = 1; a <= 2 * MiB; a <<= 1) {
		void *p = aligned_alloc(a, 3 * a), *q = memalign(a, 100);

		ASSERT_NE(NULL, p);
		ASSERT_NE(NULL, q);
		ASSERT_TRUE(aligned(p, a));
		ASSERT_TRUE(aligned(q, a));
		ASSERT_TRUE(aligned(p, 16));
		free(p);
		free(q);
	}
	errno = 0;
	ASSERT_EQ(NULL, aligned_alloc(3, 30));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(NULL, memalign(96, 30));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(NULL, aligned_alloc(0, 30));
	ASSERT_EQ(EINVAL, errno);
}

TEST(valloc_pvalloc)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *v = valloc(10), *w = pvalloc(10), *z = pvalloc(0);

	ASSERT_TRUE(aligned(v, (size_t)pg));
	ASSERT_TRUE(aligned(w, (size_t)pg));
	ASSERT_TRUE(aligned(z, (size_t)pg));
	ASSERT_GE(malloc_usable_size(w), (size_t)pg);
	free(v);
	free(w);
	free(z);
}

TEST(usable_size)
{
	ASSERT_EQ(0, malloc_usable_size(NULL));
	void *p = malloc(33), *h = malloc(5 * MiB);
	ASSERT_GE(malloc_usable_size(p), 33);
	ASSERT_LT(malloc_usable_size(p), 33 + 64);
	ASSERT_GE(malloc_usable_size(h), 5 * MiB);
	free(p);
	free(h);
}

TEST(libc_aliases)
{
	extern void *__libc_malloc(size_t);
	extern void __libc_free(void *);
	void *p = __libc_malloc(10);

	ASSERT_NE(NULL, p);
	free(p);
	__libc_free(malloc(20));
}

TEST(large_blocks_get_own_mapping)
{
	struct mymem_heap_stats s0 = get_stats(), s1, s2;
	unsigned char *p = malloc(8 * MiB);

	ASSERT_NE(NULL, p);
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks + 1, s1.huge_blocks);
	ASSERT_GE(s1.pages_mapped, s0.pages_mapped + 8 * MiB / s1.page_size);
	for (size_t i = 0; i < 8 * MiB; i += 4096)
		ASSERT_EQ(0, p[i]);
	memset(p, 7, 8 * MiB);
	free(p);
	s2 = get_stats();
	ASSERT_EQ(s0.huge_blocks, s2.huge_blocks);
	ASSERT_EQ(s0.pages_mapped, s2.pages_mapped);	/* returned at once */
	ASSERT_EQ(0, mymem_check());
}

/* ---- runs (userlib/run.c) ----------------------------------------------- */

#define NDUMP 8192
static struct dump_block dumped[NDUMP];

/*
 * Small and medium requests come from runs of their class size.  A run's
 * block has an 8-byte header (a block of the free lists a 16-byte one), so
 * n bytes take the class that holds n + 8.
 */
TEST(small_and_medium_blocks_come_from_runs_of_their_class)
{
	const size_t sizes[] = { 1, 24, 25, 100, 504, 505, 513, 976, 984, 985, 1000, 1100,
				 3000, 9000, 16376 };
	const size_t class[] = { 32, 32, 48, 112, 512, 528, 528, 992, 992, 1024, 1024, 1152,
				 3072, 9216, 16384 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	void *p[N];
	int n;

	for (int i = 0; i < N; i++) {
		p[i] = malloc(sizes[i]);
		ASSERT_NE(NULL, p[i]);
		ASSERT_EQ(class[i] - 8, malloc_usable_size(p[i]));
	}
	n = read_dump(dumped, NDUMP);
	ASSERT_GT(n, 0);
	ASSERT_LE(n, NDUMP);
	for (int i = 0; i < N; i++) {
		const struct dump_block *r = dump_run_of(dumped, n, p[i]);

		ASSERT_NE(NULL, r) TH_LOG("%zu bytes: not in a run", sizes[i]);
		ASSERT_EQ(class[i], r->run_bs);
		ASSERT_GE(r->run_out, 1);
		ASSERT_LE(r->run_out, r->run_capacity);
		/* a block boundary of the run: header + 64-byte run record + k blocks */
		ASSERT_EQ(0, ((uintptr_t)p[i] - 16 - (r->addr + 16 + 64)) % class[i]);
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block that realloc() grows past 504 bytes leaves the runs for the free
 * lists, where it can grow in place next time; malloc() of the same size
 * still takes a run's block.
 */
TEST(a_block_growing_past_504_bytes_moves_to_the_free_lists)
{
	char *p = malloc(400), *q;
	int n;

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, 400);
	p = realloc(p, 600);
	ASSERT_NE(NULL, p);
	ASSERT_GE(malloc_usable_size(p), 600);
	for (int i = 0; i < 400; i++)
		ASSERT_EQ(0x5a, (unsigned char)p[i]);
	q = malloc(600);
	ASSERT_NE(NULL, q);
	n = read_dump(dumped, NDUMP);
	ASSERT_GT(n, 0);
	ASSERT_EQ(NULL, dump_run_of(dumped, n, p));
	ASSERT_NE(NULL, dump_run_of(dumped, n, q));
	free(p);
	free(q);
	ASSERT_EQ(0, mymem_check());
}

/*
 * A block of the free lists with a run's class size (here from memalign)
 * is not cached: a bin with runs promises n + 8 bytes, and such a block
 * gives 8 fewer.  Freed, it goes back to the free lists; the mallocs of
 * that size after it still get whole blocks of runs.
 */
TEST(a_free_list_block_of_a_run_size_never_serves_that_size)
{
	void *a[32], *p[64];
	int n;

	for (int i = 0; i < 32; i++) {
		a[i] = memalign(64, 40);	/* a 64-byte block of the free lists */
		ASSERT_NE(NULL, a[i]);
		ASSERT_EQ(48, malloc_usable_size(a[i]));
	}
	for (int i = 0; i < 32; i++)
		free(a[i]);
	for (int i = 0; i < 64; i++) {
		p[i] = malloc(56);		/* 56 + 8: the 64-byte class */
		ASSERT_NE(NULL, p[i]);
		ASSERT_EQ(56, malloc_usable_size(p[i]));
		memset(p[i], 0x5a, 56);
	}
	ASSERT_EQ(0, mymem_check());
	n = read_dump(dumped, NDUMP);
	for (int i = 0; i < 64; i++)
		ASSERT_NE(NULL, dump_run_of(dumped, n, p[i]));
	for (int i = 0; i < 64; i++)
		free(p[i]);
	ASSERT_EQ(0, mymem_check());
}

/* Every medium request rounds up to a class at most 1/16 above it. */
TEST(medium_requests_round_up_by_at_most_a_sixteenth)
{
	for (size_t n = 985; n <= 16376; n += 7) {
		void *p = malloc(n);
		size_t u = malloc_usable_size(p), bs = (n + 8 + 15) / 16 * 16;

		ASSERT_NE(NULL, p);
		ASSERT_GE(u, n);
		ASSERT_LE((u + 8) * 16, bs * 17) TH_LOG("%zu bytes: usable %zu", n, u);
		free(p);
	}
	ASSERT_EQ(0, mymem_check());
}

/* A run's blocks have one size: realloc stays inside it, or moves. */
TEST(realloc_of_a_run_block_stays_within_its_class)
{
	char *p = malloc(100), *q, *r;

	ASSERT_EQ(104, malloc_usable_size(p));	/* a 112-byte block */
	fill_pattern(p, 100, 5);
	ASSERT_EQ(p, realloc(p, 104));		/* still fits */
	ASSERT_EQ(p, realloc(p, 60));		/* not worth a move */
	ASSERT_EQ(60, check_pattern(p, 60, 5));
	q = realloc(p, 40);			/* below half: a smaller class */
	ASSERT_NE(p, q);
	ASSERT_EQ(48 - 8, malloc_usable_size(q));	/* 40 + 8 rounds up to 48 */
	ASSERT_EQ(40, check_pattern(q, 40, 5));
	r = realloc(q, 400);
	ASSERT_NE(q, r);
	ASSERT_EQ(40, check_pattern(r, 40, 5));
	free(r);
	ASSERT_EQ(0, mymem_check());
}

/* A medium block that grows moves to the free lists, where it can grow in
 * place next time. */
TEST(a_growing_medium_block_moves_to_the_free_lists)
{
	char *p = malloc(4000), *q;
	int n;

	fill_pattern(p, 4000, 9);
	q = realloc(p, 6000);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(4000, check_pattern(q, 4000, 9));
	n = read_dump(dumped, NDUMP);
	ASSERT_GT(n, 0);
	ASSERT_EQ(NULL, dump_run_of(dumped, n, q));
	for (int i = 0; i < n && i < NDUMP; i++)
		if (dumped[i].addr + 16 == (uintptr_t)q)
			ASSERT_STREQ("used", dumped[i].state);
	free(q);
	ASSERT_EQ(0, mymem_check());
}

static void *fill_and_free_runs(void *arg)
{
	static void *p[3000];

	(void)arg;
	for (int i = 0; i < 3000; i++)
		p[i] = malloc(200 + (size_t)(i % 4) * 16);	/* 4 classes, ~170 runs */
	for (int i = 0; i < 3000; i++)
		free(p[i]);
	return NULL;		/* thread exit: the cache goes back to the runs */
}

/* A run with no block out goes back to the heap, except the one a class
 * keeps; mymem_trim() returns those too. */
TEST(empty_runs_go_back_to_the_heap)
{
	struct mymem_heap_stats s0, s1, s2;
	size_t empty = 0, runs = 0;
	pthread_t t;
	int n;

	s0 = get_stats();
	ASSERT_EQ(0, pthread_create(&t, NULL, fill_and_free_runs, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	s1 = get_stats();
	ASSERT_EQ(0, mymem_check());
	n = read_dump(dumped, NDUMP);
	ASSERT_GT(n, 0);
	ASSERT_LE(n, NDUMP);
	for (int i = 0; i < n; i++) {
		if (strcmp(dumped[i].state, "run:"))
			continue;
		runs++;
		if (dumped[i].run_out == 0)
			empty++;
	}
	/* ~170 runs were filled: at most one empty run per class and arena
	 * is left (4 classes here, any others from earlier tests) */
	ASSERT_LT(empty, 4 * 64 + 20) TH_LOG("%zu empty runs of %zu", empty, runs);
	ASSERT_LT(runs, 100) TH_LOG("%zu runs left", runs);
	/* all freed, but what pthread_create itself keeps (its thread record) */
	ASSERT_LT(s1.bytes_in_use, s0.bytes_in_use + 4096);
	mymem_trim();
	n = read_dump(dumped, NDUMP);
	for (int i = 0; i < n; i++)
		if (!strcmp(dumped[i].state, "run:")) {
			ASSERT_GT(dumped[i].run_out, 0);
		}
	s2 = get_stats();
	ASSERT_LE(s2.pages_mapped, s1.pages_mapped);
	ASSERT_EQ(0, mymem_check());
}

/* Medium sizes honour a mmap threshold set below them. */
TEST(mmap_threshold_below_medium_sizes_is_honoured)
{
	struct mymem_heap_stats s0, s1;
	void *p;

	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 4096));
	s0 = get_stats();
	p = malloc(8000);
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks + 1, s1.huge_blocks);
	free(p);
	p = malloc(3000);		/* below it: a run's block */
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks, s1.huge_blocks);
	free(p);
}

/* mymem_stats() is mymem_heap_stats() under the classic name. */
TEST(mymem_stats_is_mymem_heap_stats)
{
	struct mymem_heap_stats a, b;
	void *p = malloc(300);

	ASSERT_NE(NULL, p);
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ASSERT_EQ(0, mymem_heap_stats(&a));
	ASSERT_EQ(0, mymem_stats(&b));
	/* nothing allocated in between: the same figures */
	EXPECT_EQ(a.alloc_count, b.alloc_count);
	EXPECT_EQ(a.free_count, b.free_count);
	EXPECT_EQ(a.bytes_in_use, b.bytes_in_use);
	EXPECT_EQ(a.pages_mapped, b.pages_mapped);
	EXPECT_EQ(a.free_bytes, b.free_bytes);
	EXPECT_EQ(a.page_source, b.page_source);
	EXPECT_GE(b.bytes_in_use, 300);
	EXPECT_EQ(MYMEM_E_INVALID, mymem_stats(NULL));
	free(p);
}

/* Where in a dump a block header sits, and what it says of it. */
struct dumped {
	unsigned long addr;
	size_t size;
	char state[16];
};

/*
 * mymem_dump() lists every segment in address order, and a heap segment's
 * blocks tile it from its first block to the sentinel: each starts where
 * the one before ended, no two free blocks are neighbours, and the blocks
 * the test holds show with their sizes and states.
 */
TEST(dump_lists_every_block_in_address_order)
{
	char *a = malloc(HEAP_REQ), *b = malloc(HEAP_REQ + 1000), *c = malloc(HEAP_REQ);
	char *big = malloc(4 * MiB);
	char *small = malloc(100);	/* a block of a run of 112-byte blocks */
	static struct dumped blk[1 << 16];
	unsigned long seg = 0, prev_seg = 0, next_addr = 0, seg_end = 0;
	size_t committed = 0, nblk = 0, nseg = 0;
	bool prev_free = false, in_heap = false, big_seen = false, small_seen = false;
	char line[256];
	FILE *f = tmpfile();

	ASSERT_NE(NULL, f);
	ASSERT_TRUE(a && b && c && big && small);
	free(b);		/* past the thread cache and runs: a free block */
	ASSERT_EQ(0, mymem_dump(f));
	rewind(f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	ASSERT_EQ(0, strncmp(line, "mymem heap dump: policy ", 24));
	for (int legend = 0; legend < 2; legend++) {
		ASSERT_NE(NULL, fgets(line, sizeof(line), f));
		ASSERT_EQ(NULL, strchr(line, '0')) TH_LOG("not the legend: %s", line);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long addr, reserved;
		char state[16];
		size_t size;
		int arena;

		if (sscanf(line, "segment %lx arena %d: reserved %lu committed %zu",
			   &seg, &arena, &reserved, &committed) == 4) {
			ASSERT_TRUE(!in_heap || next_addr == seg_end) TH_LOG("segment %#lx not tiled", prev_seg);
			ASSERT_GT(seg, prev_seg);
			ASSERT_LE(committed, reserved);
			prev_seg = seg;
			next_addr = seg + 64;		/* the segment header */
			seg_end = seg + committed - 16;	/* the sentinel */
			in_heap = true;
			prev_free = false;
			nseg++;
		} else if (sscanf(line, "segment %lx large block: reserved %lu committed %zu",
				  &seg, &reserved, &committed) == 3) {
			ASSERT_TRUE(!in_heap || next_addr == seg_end) TH_LOG("segment %#lx not tiled", prev_seg);
			ASSERT_GT(seg, prev_seg);
			prev_seg = seg;
			in_heap = false;
			ASSERT_NE(NULL, fgets(line, sizeof(line), f));
			ASSERT_EQ(3, sscanf(line, " %lx %zu %15s", &addr, &size, state));
			ASSERT_STREQ("used", state);
			if (addr == (unsigned long)big - 16) {
				ASSERT_GE(size, 4 * MiB + 16);
				big_seen = true;
			}
			nseg++;
		} else {
			ASSERT_EQ(3, sscanf(line, " %lx %zu %15s", &addr, &size, state)) TH_LOG("line: %s", line);
			ASSERT_TRUE(in_heap);
			ASSERT_EQ(next_addr, addr) TH_LOG("a gap or an overlap before %#lx", addr);
			ASSERT_TRUE(!strcmp(state, "used") || !strcmp(state, "free") ||
				    !strcmp(state, "cached") || !strcmp(state, "run:")) TH_LOG("state %s", state);
			if (!strcmp(state, "run:")) {
				size_t out, cap, bs;

				ASSERT_EQ(3, sscanf(line, " %*x %*u run: %zu of %zu blocks of %zu out",
						    &out, &cap, &bs)) TH_LOG("line: %s", line);
				ASSERT_LE(out, cap);
				ASSERT_GT(cap, 0);
				/* header, record, blocks, the last block's tail */
				ASSERT_LE(16 + 64 + cap * bs + 8, size);
				if ((unsigned long)small - 16 > addr &&
				    (unsigned long)small - 16 < addr + size) {
					ASSERT_EQ(112, bs);
					ASSERT_GE(out, 1);
					small_seen = true;
				}
			}
			ASSERT_FALSE(prev_free && !strcmp(state, "free")) TH_LOG("free neighbours at %#lx", addr);
			prev_free = !strcmp(state, "free");
			next_addr = addr + size;
			ASSERT_LT(nblk, sizeof(blk) / sizeof(blk[0]));
			blk[nblk].addr = addr;
			blk[nblk].size = size;
			strcpy(blk[nblk].state, state);
			nblk++;
		}
	}
	ASSERT_TRUE(!in_heap || next_addr == seg_end);
	ASSERT_GE(nseg, 2);
	ASSERT_TRUE(big_seen);
	ASSERT_TRUE(small_seen) TH_LOG("no run holds the 100-byte block");
	fclose(f);
	for (int k = 0; k < 3; k++) {
		unsigned long want = (unsigned long)(k == 0 ? a : k == 1 ? b : c) - 16;
		size_t i;

		for (i = 0; i < nblk && blk[i].addr != want; i++)
			;
		ASSERT_LT(i, nblk) TH_LOG("block %d (%#lx) not in the dump", k, want);
		ASSERT_STREQ(k == 1 ? "free" : "used", blk[i].state);
		ASSERT_GE(blk[i].size, (k == 1 ? HEAP_REQ + 1000 : HEAP_REQ) + 16);
	}
	free(a);
	free(c);
	free(big);
	free(small);
}

TEST(stats_add_up)
{
	struct mymem_heap_stats a, b, c;
	void *p[10];

	free(malloc(1));	/* the thread cache's first use allocates too */
	a = get_stats();

	for (int i = 0; i < 10; i++)
		p[i] = malloc(100 * (i + 1));
	b = get_stats();
	ASSERT_EQ(a.alloc_count + 10, b.alloc_count);
	ASSERT_GE(b.bytes_in_use, a.bytes_in_use + 5500);
	ASSERT_EQ(b.bytes_allocated - b.bytes_freed, b.bytes_in_use);
	for (int i = 0; i < 10; i++)
		free(p[i]);
	c = get_stats();
	ASSERT_EQ(b.free_count + 10, c.free_count);
	ASSERT_EQ(a.bytes_in_use, c.bytes_in_use);
	ASSERT_GT(c.pages_mapped, 0);
	ASSERT_GE(c.free_bytes, c.largest_free_block);
	ASSERT_TRUE(c.fragmentation >= 0.0 && c.fragmentation <= 1.0);
	ASSERT_EQ(0, mymem_check());

	FILE *f = tmpfile();
	ASSERT_EQ(0, mymem_print_stats(f));
	rewind(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ASSERT_NE(NULL, strstr(buf, "bytes in use"));
	ASSERT_NE(NULL, strstr(buf, "page source"));
	ASSERT_NE(NULL, strstr(buf, "fragmentation"));
}

TEST(page_source_is_reported)
{
	struct mymem_heap_stats st = get_stats();

	if (access("/dev/mymem", R_OK | W_OK) == 0) {
		ASSERT_EQ(MYMEM_SOURCE_DEVICE, st.page_source);
	} else {
		ASSERT_EQ(MYMEM_SOURCE_ANON, st.page_source);
	}
	ASSERT_NE(NULL, strstr(mymem_page_source_name(MYMEM_SOURCE_ANON), "fallback"));
}

TEST(require_device_fails_cleanly)
{
	char msg[2048];
	int sig = run_self("--require-device-child", "MYMEM_REQUIRE_DEVICE=1",
			   "MYMEM_DEVICE=/nonexistent/mymem", msg, sizeof(msg));

	if (access("/dev/mymem", F_OK) == 0 && !strstr(msg, "MYMEM_REQUIRE_DEVICE")) {
		/* /nonexistent/mymem is used, so the message must come anyway */
		ASSERT_NE(NULL, strstr(msg, "MYMEM_REQUIRE_DEVICE"));
	}
#ifdef MYMEM_STATIC_TEST
	/* static glibc's own start-up allocations cannot cope with NULL */
	if (sig != 0) {
		ASSERT_NE(NULL, strstr(msg, "MYMEM_REQUIRE_DEVICE=1 but"));
		return;
	}
#endif
	ASSERT_EQ(0, sig);
	ASSERT_NE(NULL, strstr(msg, "child-ok"));
	/* a one-time message: it appears once */
	char *first = strstr(msg, "MYMEM_REQUIRE_DEVICE=1 but");
	ASSERT_NE(NULL, first);
	ASSERT_EQ(NULL, strstr(first + 1, "MYMEM_REQUIRE_DEVICE=1 but"));
}

/*
 * The library initialises at a process's first allocation, not when it is
 * loaded: a program that never allocates opens no device, so it never
 * sees the missing device's one-time message either.
 */
TEST(a_program_that_never_allocates_does_not_initialise_the_library)
{
	char msg[2048];

#ifdef MYMEM_STATIC_TEST
	SKIP(return, "static glibc allocates during its own start-up");
#endif
#ifdef MYMEM_UBSAN_TEST
	SKIP(return, "the UBSan runtime allocates during start-up");
#endif
	ASSERT_EQ(0, run_self("--no-alloc-child", "MYMEM_REQUIRE_DEVICE=1",
			      "MYMEM_DEVICE=/nonexistent/mymem", msg, sizeof(msg)));
	ASSERT_STREQ("", msg);
}

/*
 * A single-threaded process's thread cache lives in the library's bss:
 * after its first small allocations, all it has mapped from the page
 * source is its first heap segment's initial 128 KiB.
 */
TEST(the_first_thread_cache_maps_no_pages)
{
	char msg[2048];
	unsigned long kib = 0;
	char *at;

	ASSERT_EQ(0, run_self("--one-thread-child", "MYMEM_DEVICE=none", NULL, msg, sizeof(msg)));
	at = strstr(msg, "mapped-kib ");
	ASSERT_NE(NULL, at) TH_LOG("child said: %s", msg);
	kib = strtoul(at + strlen("mapped-kib "), NULL, 10);
	ASSERT_LT(0, kib);
	ASSERT_GE(128, kib) TH_LOG("child said: %s", msg);
}

TEST(fallback_when_device_missing)
{
	char msg[2048];

	ASSERT_EQ(0, run_self("--fallback-child", "MYMEM_DEVICE=/nonexistent/mymem", NULL,
			      msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "fallback-ok"));
}

TEST(strerror_names_every_code)
{
	for (int e = MYMEM_OK; e <= MYMEM_E_NOT_HEAP; e++) {
		ASSERT_NE(NULL, mymem_strerror(e));
		ASSERT_EQ(NULL, strstr(mymem_strerror(e), "unknown"));
	}
	ASSERT_NE(NULL, strstr(mymem_strerror(999), "unknown"));
}

TEST(policy_get_set)
{
	ASSERT_EQ(MYMEM_E_INVALID, mymem_set_policy(-1));
	ASSERT_EQ(MYMEM_E_INVALID, mymem_set_policy(MYMEM_POLICY_COUNT));
	for (int pol = 0; pol < MYMEM_POLICY_COUNT; pol++) {
		void *keep = malloc(3000);

		ASSERT_EQ(0, mymem_set_policy(pol));
		ASSERT_EQ(pol, mymem_get_policy());
		free(keep);
		void *p = malloc(5000);
		ASSERT_NE(NULL, p);
		free(p);
		ASSERT_EQ(0, mymem_check());
	}
	ASSERT_EQ(0, mymem_set_policy(MYMEM_POLICY_FAST));
}

TEST(dump_lists_segments_in_order)
{
	void *a = malloc(HEAP_REQ), *b = malloc(HEAP_REQ + 1000), *c = malloc(4 * MiB);
	struct dump_block blk[4096];

	free(a);
	int n = read_dump(blk, 4096);
	ASSERT_GT(n, 3);
	ASSERT_LE(n, 4096);
	bool seen_free = false, seen_b = false, seen_c = false;
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			ASSERT_LT(blk[i - 1].addr, blk[i].addr);
		}
		if (!strcmp(blk[i].state, "free"))
			seen_free = true;
		if (blk[i].addr + 16 == (uintptr_t)b && !strcmp(blk[i].state, "used"))
			seen_b = true;
		if (blk[i].addr + 16 == (uintptr_t)c)
			seen_c = true;
	}
	ASSERT_TRUE(seen_free);
	ASSERT_TRUE(seen_b);
	ASSERT_TRUE(seen_c);
	free(b);
	free(c);
}

TEST(trim_returns_pages)
{
	enum { N = 200 };
	void *p[N];
	struct mymem_heap_stats s0, s1, s2;

	s0 = get_stats();
	for (int i = 0; i < N; i++)
		p[i] = malloc(100 * 1024);
	s1 = get_stats();
	ASSERT_GE(s1.pages_mapped, s0.pages_mapped + N * 100 * 1024 / s1.page_size);
	for (int i = 0; i < N; i++)
		free(p[i]);
	mymem_trim();
	s2 = get_stats();
	/* all but a little slack went back */
	ASSERT_LT(s2.pages_mapped, s0.pages_mapped + 2 * MiB / s2.page_size);
	ASSERT_EQ(0, mymem_check());
}

TEST(mallopt_sets_the_mmap_threshold)
{
	struct mymem_heap_stats s0 = get_stats(), s1;
	void *p, *q;

	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 64 * 1024));
	p = malloc(100 * 1024);			/* above it: a mapping of its own */
	s1 = get_stats();
	ASSERT_EQ(s0.huge_blocks + 1, s1.huge_blocks);
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 4 * MiB));
	q = malloc(2 * MiB);			/* below it: in the heap */
	ASSERT_EQ(s1.huge_blocks, get_stats().huge_blocks);
	free(p);
	free(q);
	/* a freed large block does not slide a threshold the program set */
	p = malloc(8 * MiB);
	free(p);
	q = malloc(6 * MiB);
	ASSERT_EQ(s0.huge_blocks + 1, get_stats().huge_blocks);
	free(q);
	ASSERT_EQ(0, mymem_check());
}

TEST(mallopt_rejects_what_it_cannot_do)
{
	ASSERT_EQ(0, mallopt(M_MMAP_THRESHOLD, -1));
	ASSERT_EQ(0, mallopt(M_MMAP_THRESHOLD, 64 << 20));	/* glibc's maximum is 32 MiB */
	ASSERT_EQ(0, mallopt(M_MMAP_THRESHOLD, 100));
	ASSERT_EQ(0, mallopt(M_MXFAST, 64));
	ASSERT_EQ(0, mallopt(M_ARENA_MAX, 1));
	ASSERT_EQ(0, mallopt(12345, 1));
	ASSERT_EQ(1, mallopt(M_TRIM_THRESHOLD, 1 << 20));
	ASSERT_EQ(1, mallopt(M_TOP_PAD, 0));
}

/* mallinfo2()/mallinfo() report this heap, not glibc's unused arena. */
TEST(mallinfo2_reports_this_heap)
{
	struct mymem_heap_stats st;
	struct mallinfo2 m0, m1, m2;
	struct mallinfo old;
	char *small[64], *large;

	m0 = mallinfo2();
	for (int i = 0; i < 64; i++)
		ASSERT_NE(NULL, small[i] = malloc(1000));
	large = malloc(8 * MiB);
	ASSERT_NE(NULL, large);
	m1 = mallinfo2();
	/* The small blocks are heap bytes in use; the large one a mapping. */
	ASSERT_LE(m0.uordblks + 64 * 1000, m1.uordblks);
	ASSERT_EQ(m0.hblks + 1, m1.hblks);
	ASSERT_LE(m0.hblkhd + 8 * MiB, m1.hblkhd);
	ASSERT_LT(0, m1.arena);
	ASSERT_LE(m1.uordblks, m1.arena);
	ASSERT_EQ(0, mymem_heap_stats(&st));
	ASSERT_EQ(st.huge_blocks, m1.hblks);
	ASSERT_EQ(st.free_blocks, m1.ordblks);
	ASSERT_EQ(st.free_bytes + st.cached_bytes, m1.fordblks);
	/* The int interface (deprecated; programs still call it) agrees
	 * while the figures fit in an int. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	old = mallinfo();
#pragma GCC diagnostic pop
	ASSERT_EQ((int)m1.hblks, old.hblks);
	ASSERT_EQ((int)m1.hblkhd, old.hblkhd);
	free(large);
	for (int i = 0; i < 64; i++)
		free(small[i]);
	m2 = mallinfo2();
	ASSERT_EQ(m0.hblks, m2.hblks);
	ASSERT_GT(m1.uordblks, m2.uordblks);
	ASSERT_LE(m1.fordblks, m2.fordblks + 64 * 1024);
}

/* malloc_stats() prints our statistics to stderr, as glibc's does. */
static void call_malloc_stats(void *arg)
{
	(void)arg;
	free(malloc(100));
	malloc_stats();
}

TEST(malloc_stats_prints_to_stderr)
{
	char msg[4096] = "";

	ASSERT_EQ(0, run_in_child(call_malloc_stats, NULL, msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "mymem heap statistics")) TH_LOG("got: %s", msg);
	ASSERT_NE(NULL, strstr(msg, "bytes in use:")) TH_LOG("got: %s", msg);
}

TEST(malloc_trim_gives_pages_back)
{
	enum { N = 200 };
	void *p[N];
	struct mymem_heap_stats s0 = get_stats(), s1;

	ASSERT_EQ(1, mallopt(M_TRIM_THRESHOLD, 64 << 20));	/* free() keeps it all */
	for (int i = 0; i < N; i++)
		p[i] = malloc(100 * 1024);
	for (int i = 0; i < N; i++)
		free(p[i]);
	s1 = get_stats();
	ASSERT_GE(s1.pages_mapped, s0.pages_mapped + N * 100 * 1024 / s1.page_size);
	ASSERT_EQ(1, malloc_trim(0));
	ASSERT_LT(get_stats().pages_mapped, s0.pages_mapped + 2 * MiB / s1.page_size);
	ASSERT_EQ(0, malloc_trim(0));		/* nothing left to give */
	ASSERT_EQ(0, mymem_check());
}

/*
 * Free tops go back after the purge delay (250 ms by default, heap.c),
 * at the arena's next heap operation: here the free of a block of the
 * free lists, which lands on the top.
 */
enum { BIG_N = 400, BIG_SIZE = 64 * 1024 };	/* 25 MiB of free-list blocks */

static size_t mapped_bytes(void)
{
	struct mymem_heap_stats st = get_stats();

	return st.pages_mapped * st.page_size;
}

static void big_alloc(void **p)
{
	for (int i = 0; i < BIG_N; i++)
		p[i] = malloc(BIG_SIZE);
}

static void big_free(void **p)
{
	for (int i = 0; i < BIG_N; i++)
		free(p[i]);
}

static void after_purge_delay(void)
{
	usleep(350 * 1000);
	free(malloc(20000));	/* above 16 KiB: the free lists, at the top */
}

TEST(memory_falls_after_big_frees_once_the_purge_delay_passed)
{
	void *p[BIG_N];
	size_t m1, m2;

	big_alloc(p);
	m1 = mapped_bytes();
	big_free(p);
	m2 = mapped_bytes();
	/* kept for now: a program that builds them again finds them */
	ASSERT_GE(m2 + MiB, m1);
	after_purge_delay();
	/* well over half of the 25 MiB went back, without mymem_trim */
	ASSERT_LT(mapped_bytes() + 12 * MiB, m1);
	ASSERT_EQ(0, mymem_check());
}

TEST(memory_reused_during_the_purge_delay_stays)
{
	void *p[BIG_N];
	size_t m1;
	struct timespec t0, t1;

	big_alloc(p);
	m1 = mapped_bytes();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	big_free(p);		/* arms the purge */
	big_alloc(p);		/* takes the same pages again */
	big_free(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 200)
		SKIP(return, "the reuse took over 200 ms of the 250 ms delay (a loaded machine)");
	after_purge_delay();
	/* the 25 MiB were used again inside the delay: they stayed (only
	 * what the heap had committed above them and never used went) */
	ASSERT_GE(mapped_bytes(), (size_t)BIG_N * BIG_SIZE);
	/* the free of after_purge_delay() armed it again: now it goes */
	after_purge_delay();
	ASSERT_LT(mapped_bytes() + 12 * MiB, m1);
}

TEST(malloc_reaching_the_clock_check_purges_too)
{
	void *p[BIG_N], *q[64];
	size_t m1;

	big_alloc(p);
	m1 = mapped_bytes();
	big_free(p);
	usleep(350 * 1000);
	/* no free: heap_alloc looks at the clock once every 64 calls */
	for (int i = 0; i < 64; i++)
		q[i] = malloc(20000);
	ASSERT_LT(mapped_bytes() + 10 * MiB, m1);
	for (int i = 0; i < 64; i++)
		free(q[i]);
}

TEST(small_allocations_after_the_delay_purge_too)
{
	enum { NS = 20000 };
	static void *q[NS];
	void *p[BIG_N];
	size_t m1;

	big_alloc(p);
	m1 = mapped_bytes();
	big_free(p);
	usleep(350 * 1000);
	/* a program living on the thread caches: their refills look too */
	for (int i = 0; i < NS; i++)
		q[i] = malloc(16 + i % 200);
	ASSERT_LT(mapped_bytes() + 10 * MiB, m1);
	for (int i = 0; i < NS; i++)
		free(q[i]);
}

/* Run in the child: with MYMEM_PURGE_DELAY=0 the frees trim at once. */
static int purge_now_check(void)
{
	void *p[BIG_N];
	size_t m1;
	char *g;

	big_alloc(p);
	m1 = mapped_bytes();
	big_free(p);
	if (mapped_bytes() + 12 * MiB < m1)
		fprintf(stderr, "purge-now-ok\n");
	/* and a segment realloc() made goes at its free: no growth cache */
	g = realloc(malloc(100), 2 * MiB);
	if (!g)
		return 1;
	memset(g, 1, 2 * MiB);
	m1 = mapped_bytes();
	free(g);
	if (mapped_bytes() + 2 * MiB <= m1)
		fprintf(stderr, "no-growth-cache-ok\n");
	return 0;
}

TEST(purge_delay_zero_trims_at_each_free)
{
	char msg[2048];

	ASSERT_EQ(0, run_self("--purge-now-child", "MYMEM_PURGE_DELAY=0", NULL, msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "purge-now-ok"));
	ASSERT_NE(NULL, strstr(msg, "no-growth-cache-ok"));
}

/* thread_cache.c: a thread's small allocations before it sets up a cache. */
#define TC_FIRST	1024

/* Blocks of 700 bytes: from the free lists (a 16-byte header: 704 usable)
 * or from a run (an 8-byte header: 712 usable). */
static void count_700(void **p, int n, int *from_lists, int *from_run)
{
	*from_lists = *from_run = 0;
	for (int i = 0; i < n; i++) {
		p[i] = malloc(700);
		if (!p[i])
			return;
		if (malloc_usable_size(p[i]) == 704 && *from_run == 0)
			(*from_lists)++;
		else if (malloc_usable_size(p[i]) == 712)
			(*from_run)++;
	}
}

/*
 * Run in the child, with the default nursery: the first TC_FIRST small
 * blocks of the thread, of any size, come from the free lists, without a
 * cache; then a size's first 8 still do, the next come from a run.
 */
static int first_allocations_check(void)
{
	static void *p[TC_FIRST + 40];
	int from_lists, from_run;

	count_700(p, TC_FIRST + 40, &from_lists, &from_run);
	for (int i = 0; i < TC_FIRST + 40; i++)
		free(p[i]);
	fprintf(stderr, "lists %d run %d check %d\n", from_lists, from_run, mymem_check());
	return 0;
}

/* The same, once the thread's first allocations (of another size) are made. */
static int nursery_check(void)
{
	static void *first[TC_FIRST];
	void *p[10];
	int from_lists, from_run;

	for (int i = 0; i < TC_FIRST; i++)
		first[i] = malloc(100);
	count_700(p, 10, &from_lists, &from_run);
	for (int i = 0; i < 10; i++)
		free(p[i]);
	for (int i = 0; i < TC_FIRST; i++)
		free(first[i]);
	fprintf(stderr, "lists %d run %d check %d\n", from_lists, from_run, mymem_check());
	return 0;
}

TEST(a_sizes_first_blocks_come_from_the_free_lists_then_from_a_run)
{
	char msg[2048];

	/* MYMEM_NURSERY unset: the default nursery */
	ASSERT_EQ(0, run_self("--nursery-child", "MYMEM_PURGE_DELAY=250", NULL, msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "lists 8 run 2 check 0")) TH_LOG("child said: %s", msg);
}

/* A child that exits at once: the fork is what counts. */
static void fork_and_wait(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Usable size of a new 700-byte block (kept: 704 from the free lists, 712 from a run). */
static size_t usable_700(void)
{
	return malloc_usable_size(malloc(700));
}

/*
 * Run in the child, with the default nursery.  A process whose cache
 * served TC_FIRST mallocs (the size in a run) before it forks keeps it,
 * and keeps it while it allocates TC_FIRST blocks between forks.  When it
 * forks again after a few, it parks the cache: its next blocks come from
 * the free lists.  TC_FIRST allocations without a fork give it back.
 */
static int fork_park_check(void)
{
	size_t first, kept, parked, back, busy;
	struct mymem_heap_stats held, trimmed;

	for (int i = 0; i < 2 * TC_FIRST + 100; i++)
		first = usable_700();
	fork_and_wait();
	for (int i = 0; i < TC_FIRST; i++)
		kept = usable_700();
	fork_and_wait();
	for (int i = 0; i < 10; i++)
		busy = usable_700();	/* served by the cache still */
	fork_and_wait();
	parked = usable_700();
	/* the parked cache keeps its blocks; a trim gives them back */
	mymem_heap_stats(&held);
	mymem_trim();
	mymem_heap_stats(&trimmed);
	for (int i = 0; i < TC_FIRST; i++)
		back = usable_700();
	fprintf(stderr, "first %zu kept %zu busy %zu parked %zu back %zu check %d\n",
		first, kept, busy, parked, back, mymem_check());
	fprintf(stderr, "parked cache held %s, trim left %llu\n",
		held.cached_blocks ? "some" : "none",
		(unsigned long long)trimmed.cached_blocks);
	return 0;
}

TEST(a_process_that_forks_often_allocates_without_a_cache)
{
	char msg[2048];

	/* MYMEM_NURSERY unset: the default nursery */
	ASSERT_EQ(0, run_self("--fork-park-child", "MYMEM_PURGE_DELAY=250", NULL, msg,
			      sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "first 712 kept 712 busy 712 parked 704 back 712 check 0"))
		TH_LOG("child said: %s", msg);
	EXPECT_NE(NULL, strstr(msg, "parked cache held some, trim left 0"))
		TH_LOG("child said: %s", msg);
}

TEST(a_threads_first_allocations_come_from_the_free_lists_without_a_cache)
{
	char msg[2048];

	const char *at;
	int lists = -1, run = -1, check = -1;

	/* MYMEM_NURSERY unset: the default nursery */
	ASSERT_EQ(0, run_self("--first-allocations-child", "MYMEM_PURGE_DELAY=250", NULL, msg,
			      sizeof(msg)));
	at = strstr(msg, "lists ");
	ASSERT_NE(NULL, at) TH_LOG("child said: %s", msg);
	ASSERT_EQ(3, sscanf(at, "lists %d run %d check %d", &lists, &run, &check));
	/* TC_FIRST without a cache, then the size's nursery of 8, less what
	 * the runtime allocated before main (a static or sanitizer build's). */
	EXPECT_EQ(TC_FIRST + 40, lists + run) TH_LOG("child said: %s", msg);
	EXPECT_LE(lists, TC_FIRST + 8) TH_LOG("child said: %s", msg);
	EXPECT_LE(TC_FIRST / 2 + 8, lists) TH_LOG("child said: %s", msg);
	EXPECT_EQ(0, check);
}

/*
 * Run in the child, with the default nursery: a thread that only frees
 * (a consumer of another thread's blocks) gets its cache too, after
 * TC_FIRST frees, as one that allocates does after TC_FIRST mallocs.
 * Without it every such free took the arena's lock or its remote list.
 */
static void *consumer_frees(void *arg)
{
	void **blocks = arg;
	struct mymem_heap_stats before, after;

	mymem_heap_stats(&before);
	for (int i = 0; i < 2 * TC_FIRST; i++)
		free(blocks[i]);
	mymem_heap_stats(&after);
	fprintf(stderr, "consumer cached %lld\n",
		(long long)(after.cached_blocks - before.cached_blocks));
	return NULL;
}

static int consumer_cache_check(void)
{
	static void *blocks[2 * TC_FIRST];
	pthread_t t;

	for (int i = 0; i < 2 * TC_FIRST; i++)
		blocks[i] = malloc(64);
	if (pthread_create(&t, NULL, consumer_frees, blocks) != 0)
		return 1;
	pthread_join(t, NULL);
	fprintf(stderr, "check %d\n", mymem_check());
	return 0;
}

TEST(a_thread_that_only_frees_gets_a_cache_too)
{
	char msg[2048];
	long long cached = -1;
	const char *at;

	/* MYMEM_NURSERY unset: the default nursery */
	ASSERT_EQ(0, run_self("--consumer-cache-child", "MYMEM_PURGE_DELAY=250", NULL, msg,
			      sizeof(msg)));
	at = strstr(msg, "consumer cached ");
	ASSERT_NE(NULL, at) TH_LOG("child said: %s", msg);
	ASSERT_EQ(1, sscanf(at, "consumer cached %lld", &cached));
	/* another arena's blocks: the cache keeps a few before it sends them back */
	EXPECT_LT(0, cached) TH_LOG("child said: %s", msg);
	EXPECT_NE(NULL, strstr(msg, "check 0")) TH_LOG("child said: %s", msg);
}

/*
 * Run in the child, with the default nursery: a crash reporter forks in
 * its SIGABRT handler after the library found a corrupted block and
 * aborted, with the arena's lock held.  The fork of a one-thread process
 * must take no lock of the library's (glibc takes none of its own there),
 * or the reporter hangs.
 */
static void reporter_on_abort(int sig)
{
	pid_t pid;

	(void)write(2, "reporter: fork\n", 15);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	(void)write(2, "reporter: done\n", 15);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void reporter_hung(int sig)
{
	(void)sig;
	(void)write(2, "reporter: hung\n", 15);
	_exit(3);
}

static int abort_fork_check(void)
{
	static void *keep[TC_FIRST + 100];
	char *volatile b;

	signal(SIGABRT, reporter_on_abort);
	signal(SIGALRM, reporter_hung);
	alarm(20);
	for (int i = 0; i < TC_FIRST + 100; i++)	/* past TC_FIRST: a cache */
		keep[i] = malloc(48);
	for (int i = TC_FIRST; i < TC_FIRST + 100; i++)	/* blocks in its bin */
		free(keep[i]);
	b = malloc(20000);			/* from the free lists */
	memset(b - 16, 0, 8);			/* an underflow: its prev_size is 0 */
	free(b);				/* caught under the arena's lock */
	return 0;
}

TEST(a_crash_reporter_can_fork_in_the_sigabrt_handler)
{
	char msg[2048];

	/* MYMEM_NURSERY unset: the default nursery */
	ASSERT_EQ(SIGABRT, run_self("--abort-fork-child", "MYMEM_PURGE_DELAY=250", NULL, msg,
				    sizeof(msg))) TH_LOG("child said: %s", msg);
	EXPECT_NE(NULL, strstr(msg, "corrupted boundary tag")) TH_LOG("child said: %s", msg);
	EXPECT_NE(NULL, strstr(msg, "reporter: done")) TH_LOG("child said: %s", msg);
}

/* Whether this process holds CAP_SYS_ADMIN (bit 21 of CapEff). */
static bool has_cap_sys_admin(void)
{
	char line[128];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ULL << 21);
}

/* The physical address /proc/self/pagemap shows (to CAP_SYS_ADMIN), or 0. */
static uint64_t pagemap_phys(const void *p)
{
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (off_t)((uintptr_t)p / ps) * 8) != 8)
		ent = 0;
	close(fd);
	if (!(ent >> 63) || !(ent & ((1ULL << 55) - 1)))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * (uint64_t)ps + (uintptr_t)p % ps;
}

/* In a child that dropped to nobody: EPERM, as pagemap hides the frame. */
static int virt_to_phys_as_nobody(const void *p)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		errno = 0;
		_exit(mymem_virt_to_phys(p) == 0 && errno == EPERM ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

TEST(virt_to_phys)
{
	char *p = malloc(100);
	uint64_t pa;
	int local;

	ASSERT_NE(NULL, p);
	p[0] = 1;	/* present, and this process's own page */
	errno = 0;
	pa = mymem_virt_to_phys(p);
	if (get_stats().page_source != MYMEM_SOURCE_DEVICE) {
		ASSERT_EQ(0, pa);
		ASSERT_EQ(ENODEV, errno);
	} else if (has_cap_sys_admin()) {
		/* The same frame the kernel shows in pagemap, at p's offset. */
		ASSERT_NE(0, pa) TH_LOG("virt_to_phys: %s", strerror(errno));
		ASSERT_EQ(pagemap_phys(p), pa);
		ASSERT_EQ(0, virt_to_phys_as_nobody(p));
	} else {
		ASSERT_EQ(0, pa);
		ASSERT_EQ(EPERM, errno);
	}
	errno = 0;
	ASSERT_EQ(0, mymem_virt_to_phys(&local));
	ASSERT_EQ(EINVAL, errno);
	free(p);
}

TEST(check_is_clean_after_mixed_use)
{
	void *v[300];

	for (int i = 0; i < 300; i++)
		v[i] = malloc((size_t)(i * 97) % 20000);
	for (int i = 0; i < 300; i += 2)
		free(v[i]);
	ASSERT_EQ(0, mymem_check());
	for (int i = 1; i < 300; i += 2)
		v[i] = realloc(v[i], (size_t)(i * 31) % 30000 + 1);
	ASSERT_EQ(0, mymem_check());
	for (int i = 1; i < 300; i += 2)
		free(v[i]);
	ASSERT_EQ(0, mymem_check());
}

int main(int argc, char **argv)
{
	g_argv = argv;
	if (argc > 1 && !strcmp(argv[1], "--require-device-child")) {
		errno = 0;
		void *p = malloc(10);
		void *q = malloc(20);
		int e = errno;

		if (p == NULL && q == NULL && e == ENOMEM)
			fprintf(stderr, "child-ok\n");	/* stdio buffer is static: unbuffered stderr */
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--no-alloc-child"))
		return 0;
	if (argc > 1 && !strcmp(argv[1], "--one-thread-child")) {
		struct mymem_heap_stats st;
		void *p = malloc(24), *q = malloc(200);

		mymem_heap_stats(&st);
		fprintf(stderr, "mapped-kib %llu cached %p %p\n",
			(unsigned long long)(st.pages_mapped * st.page_size / 1024), p, q);
		free(p);
		free(q);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--fallback-child")) {
		struct mymem_heap_stats st;
		void *p = malloc(10);

		mymem_heap_stats(&st);
		if (p && st.page_source == MYMEM_SOURCE_ANON)
			fprintf(stderr, "fallback-ok\n");
		free(p);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--purge-now-child"))
		return purge_now_check();
	if (argc > 1 && !strcmp(argv[1], "--nursery-child"))
		return nursery_check();
	if (argc > 1 && !strcmp(argv[1], "--first-allocations-child"))
		return first_allocations_check();
	if (argc > 1 && !strcmp(argv[1], "--fork-park-child"))
		return fork_park_check();
	if (argc > 1 && !strcmp(argv[1], "--consumer-cache-child"))
		return consumer_cache_check();
	if (argc > 1 && !strcmp(argv[1], "--abort-fork-child"))
		return abort_fork_check();
	return test_harness_run(argc, argv);
}
