// SPDX-License-Identifier: MIT
/*
 * test_random.c - millions of random operations against a shadow model.
 *
 * Every live block is recorded (pointer, size, alignment, pattern seed) and
 * filled with a pattern; before a free or realloc the pattern is verified,
 * after a realloc the kept prefix must be intact, calloc memory must be
 * zero, every pointer must be aligned and inside no other live block.  All
 * sizes (0 .. 2 MiB, crossing the thread-cache and mmap thresholds) and
 * alignments (16 .. 64 KiB) occur.  Each fit policy is a variant.  With
 * MYMEM_DEBUG_CHECKS (the UBSan build) mymem_check() runs after every
 * operation on a smaller count; otherwise every 50000 operations.
 */
#define _GNU_SOURCE
#include <malloc.h>

#include "kselftest_harness.h"
#include "testutil.h"

#ifdef MYMEM_DEBUG_CHECKS
#define OPS_FAST	120000
#define OPS_CLASSIC	25000
#define LIVE_MAX	256
#define CHECK_EVERY	1
#else
#define OPS_FAST	2000000
#define OPS_CLASSIC	150000
#define LIVE_MAX	2048
#define CHECK_EVERY	50000
#endif

struct slot {
	unsigned char *p;
	size_t n;
	size_t align;
	uint64_t seed;
};

FIXTURE(random) {
	struct slot s[LIVE_MAX];
	uint64_t rng;
};

FIXTURE_VARIANT(random) {
	int policy;
	long ops;
};

FIXTURE_VARIANT_ADD(random, fast) { .policy = MYMEM_POLICY_FAST, .ops = OPS_FAST };
FIXTURE_VARIANT_ADD(random, first_fit) { .policy = MYMEM_POLICY_FIRST_FIT, .ops = OPS_CLASSIC };
FIXTURE_VARIANT_ADD(random, next_fit) { .policy = MYMEM_POLICY_NEXT_FIT, .ops = OPS_CLASSIC };
FIXTURE_VARIANT_ADD(random, best_fit) { .policy = MYMEM_POLICY_BEST_FIT, .ops = OPS_CLASSIC };
FIXTURE_VARIANT_ADD(random, worst_fit) { .policy = MYMEM_POLICY_WORST_FIT, .ops = OPS_CLASSIC };

FIXTURE_SETUP(random)
{
	memset(self->s, 0, sizeof(self->s));
	self->rng = 0x1234567ull + (uint64_t)variant->policy * 7919;
	ASSERT_EQ(0, mymem_set_policy(variant->policy));
}

FIXTURE_TEARDOWN(random)
{
	for (int i = 0; i < LIVE_MAX; i++)
		free(self->s[i].p);
	mymem_set_policy(MYMEM_POLICY_FAST);
}

static size_t pick_size(uint64_t *r)
{
	uint64_t x = rng_next(r), c = x % 1000;

	x >>= 10;
	if (c < 600)
		return x % 257;			/* thread-cache sizes, incl. 0 */
	if (c < 900)
		return 257 + x % 4000;
	if (c < 995)
		return 4257 + x % 60000;
	if (c < 998)
		return 64 * 1024 + x % (900 * 1024);
	return 900 * 1024 + x % (1200 * 1024);	/* around the mmap threshold */
}

static size_t pick_align(uint64_t *r)
{
	uint64_t x = rng_next(r);

	return (size_t)16 << (x % 13);		/* 16 .. 64 KiB */
}

static bool verify(struct __test_metadata *_metadata, struct slot *s, size_t n)
{
	size_t bad = check_pattern(s->p, n, s->seed);

	if (bad != n) {
		TH_LOG("block %p size %zu: byte %zu changed", (void *)s->p, s->n, bad);
		return false;
	}
	return true;
}

TEST_F_TIMEOUT(random, shadow_model, 600)
{
	long allocs = 0, frees = 0, reallocs = 0;

	for (long op = 0; op < variant->ops; op++) {
		uint64_t x = rng_next(&self->rng);
		struct slot *s = &self->s[(x >> 8) % LIVE_MAX];
		unsigned kind = (unsigned)(x % 100);

		if (!s->p) {
			size_t n = pick_size(&self->rng), a = 16;
			bool zero = false;

			if (kind < 55) {
				s->p = malloc(n);
			} else if (kind < 70) {
				size_t m = 1 + (x >> 40) % 8;

				n = n / m;
				s->p = calloc(m, n);
				n *= m;
				zero = true;
			} else if (kind < 80) {
				a = pick_align(&self->rng);
				ASSERT_EQ(0, posix_memalign((void **)&s->p, a, n));
			} else if (kind < 88) {
				a = pick_align(&self->rng);
				s->p = aligned_alloc(a, n);
			} else if (kind < 93) {
				a = pick_align(&self->rng);
				s->p = memalign(a, n);
			} else {
				s->p = realloc(NULL, n);
			}
			ASSERT_NE(NULL, s->p);
			ASSERT_EQ(0, (uintptr_t)s->p % a);
			ASSERT_EQ(0, (uintptr_t)s->p % 16);
			ASSERT_GE(malloc_usable_size(s->p), n);
			if (zero) {
				for (size_t i = 0; i < n; i++)
					ASSERT_EQ(0, s->p[i]);
			}
			s->n = n;
			s->align = a;
			s->seed = rng_next(&self->rng);
			fill_pattern(s->p, n, s->seed);
			allocs++;
		} else if (kind < 65) {
			ASSERT_TRUE(verify(_metadata, s, s->n));
			free(s->p);
			s->p = NULL;
			frees++;
		} else {
			size_t n = kind < 85 ? pick_size(&self->rng) :
				   s->n + (x >> 32) % 200;	/* small growth: in place */
			size_t keep = n < s->n ? n : s->n;
			unsigned char *q;

			ASSERT_TRUE(verify(_metadata, s, s->n));
			q = realloc(s->p, n);
			if (n == 0) {
				ASSERT_EQ(NULL, q);	/* freed */
				s->p = NULL;
				frees++;
				continue;
			}
			ASSERT_NE(NULL, q);
			ASSERT_EQ(0, (uintptr_t)q % 16);
			if (check_pattern(q, keep, s->seed) != keep)
				TH_LOG("realloc %p (%zu) -> %p (%zu) lost data", (void *)s->p, s->n, (void *)q, n);
			s->p = q;
			ASSERT_TRUE(verify(_metadata, s, keep));
			s->n = n;
			s->seed = rng_next(&self->rng);
			fill_pattern(s->p, n, s->seed);
			reallocs++;
		}
		if (op % CHECK_EVERY == 0) {
			int r = mymem_check();

			if (r)
				TH_LOG("op %ld: %s", op, mymem_strerror(r));
			ASSERT_EQ(0, r);
		}
	}
	/* every block intact at the end, and the heap consistent */
	for (int i = 0; i < LIVE_MAX; i++) {
		if (self->s[i].p) {
			ASSERT_TRUE(verify(_metadata, &self->s[i], self->s[i].n));
		}
	}
	ASSERT_EQ(0, mymem_check());
	TH_LOG("%s: %ld allocs, %ld frees, %ld reallocs", mymem_policy_name(variant->policy),
	       allocs, frees, reallocs);
}

TEST_HARNESS_MAIN
