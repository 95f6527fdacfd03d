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
 *
 * The threaded model (mt_random) shares one table of slots between
 * MT_THREADS threads, each slot under its own mutex, so any thread frees or
 * reallocs any other's block.  Sizes reach past the mmap threshold (pinned
 * at 1 MiB with mallopt), alignments 16 .. 1 MiB.  At regular points all
 * threads meet at a barrier and one runs mymem_check() while the others
 * wait (its final sums are exact only while nobody allocates): with
 * MYMEM_DEBUG_CHECKS after every round of one operation per thread.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

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

#define MT_THREADS	3
#ifdef MYMEM_DEBUG_CHECKS
#define MT_OPS_FAST	4000		/* per thread */
#define MT_OPS_CLASSIC	1500
#define MT_SLOTS	128
#define MT_CHECK_EVERY	1
#else
#define MT_OPS_FAST	25000
#define MT_OPS_CLASSIC	8000
#define MT_SLOTS	512
#define MT_CHECK_EVERY	500
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

/* ---- the threaded model ---------------------------------------------------- */

struct mt_slot {
	pthread_mutex_t lock;
	struct slot s;
	int owner;		/* thread that allocated s.p */
};

static struct mt_slot mt_slots[MT_SLOTS];
static pthread_barrier_t mt_barrier;
static long mt_ops;
static atomic_long mt_errors, mt_cross, mt_checks, mt_huge, mt_aligned, mt_reallocs;
static atomic_int mt_check_result;

/* Up to a few lines on stderr for the first errors (TH_LOG is the main
 * thread's; ASSERT cannot leave a thread). */
static void mt_fail(const char *what, const struct slot *s)
{
	if (atomic_fetch_add(&mt_errors, 1) < 5)
		fprintf(stderr, "mt_random: %s: block %p size %zu align %zu\n", what,
			(void *)s->p, s->n, s->align);
}

static size_t mt_pick_size(uint64_t *r)
{
	uint64_t x = rng_next(r), c = x % 1000;

	x >>= 10;
	if (c < 500)
		return x % 257;			/* thread-cache sizes, incl. 0 */
	if (c < 780)
		return 257 + x % 4000;
	if (c < 965)
		return 4257 + x % 60000;
	if (c < 985)
		return 64 * 1024 + x % (900 * 1024);
	if (c < 990)
		return (size_t)1 << 20;		/* exactly the mmap threshold */
	return ((size_t)1 << 20) + x % (1024 * 1024);
}

static bool mt_fresh(struct slot *s, uint64_t x, uint64_t *r)
{
	size_t n = mt_pick_size(r), a = 16;
	unsigned kind = (unsigned)(x % 100);
	bool zero = false;

	if (kind < 45) {
		s->p = malloc(n);
	} else if (kind < 60) {
		size_t m = 1 + (x >> 40) % 8;

		n /= m;
		s->p = calloc(m, n);
		n *= m;
		zero = true;
	} else if (kind < 72) {
		a = (size_t)16 << (rng_next(r) % 17);	/* 16 .. 1 MiB */
		if (posix_memalign((void **)&s->p, a, n) != 0)
			s->p = NULL;
	} else if (kind < 84) {
		a = (size_t)16 << (rng_next(r) % 17);
		s->p = aligned_alloc(a, n);
	} else if (kind < 90) {
		a = (size_t)16 << (rng_next(r) % 17);
		s->p = memalign(a, n);
	} else {
		s->p = realloc(NULL, n);
	}
	s->n = n;
	s->align = a;
	if (!s->p) {
		mt_fail("allocation failed", s);
		return false;
	}
	if ((uintptr_t)s->p % a || malloc_usable_size(s->p) < n) {
		mt_fail("misaligned or short", s);
		return false;
	}
	if (zero) {
		for (size_t i = 0; i < n; i++) {
			if (s->p[i]) {
				mt_fail("calloc memory not zero", s);
				return false;
			}
		}
	}
	if (a > 16)
		atomic_fetch_add(&mt_aligned, 1);
	if (n >= (size_t)1 << 20)
		atomic_fetch_add(&mt_huge, 1);
	s->seed = rng_next(r);
	fill_pattern(s->p, n, s->seed);
	return true;
}

/* One operation on a slot whose lock the caller holds. */
static void mt_step(struct mt_slot *m, int self, uint64_t *r)
{
	uint64_t x = rng_next(r);
	struct slot *s = &m->s;
	unsigned kind = (unsigned)(x % 100);

	if (!s->p) {
		if (mt_fresh(s, x >> 8, r))
			m->owner = self;
		else
			s->p = NULL;	/* nothing to free: the block is lost to the test */
		return;
	}
	if (check_pattern(s->p, s->n, s->seed) != s->n) {
		mt_fail("pattern changed", s);
		s->p = NULL;
		return;
	}
	if (m->owner != self)
		atomic_fetch_add(&mt_cross, 1);
	if (kind < 60) {
		free(s->p);
		s->p = NULL;
	} else {
		size_t n = kind < 85 ? mt_pick_size(r) : s->n + (x >> 32) % 200;
		size_t keep = n < s->n ? n : s->n;
		unsigned char *q = realloc(s->p, n);

		if (n == 0) {
			if (q)
				mt_fail("realloc to 0 did not free", s);
			s->p = NULL;
			return;
		}
		if (!q || (uintptr_t)q % 16) {
			mt_fail("realloc failed or misaligned", s);
			s->p = NULL;	/* on failure the old block stays: leaked here */
			return;
		}
		s->p = q;
		if (check_pattern(q, keep, s->seed) != keep) {
			mt_fail("realloc lost data", s);
			s->p = NULL;
			return;
		}
		s->n = n;
		s->align = 16;
		s->seed = rng_next(r);
		fill_pattern(q, n, s->seed);
		m->owner = self;
		atomic_fetch_add(&mt_reallocs, 1);
	}
}

static void *mt_worker(void *arg)
{
	int self = (int)(intptr_t)arg;
	uint64_t r = 0xabcdef12345ull * (uint64_t)(self + 1);

	for (long op = 0; op < mt_ops; op++) {
		struct mt_slot *m = &mt_slots[rng_next(&r) % MT_SLOTS];

		pthread_mutex_lock(&m->lock);
		mt_step(m, self, &r);
		pthread_mutex_unlock(&m->lock);
		if ((op + 1) % MT_CHECK_EVERY == 0) {
			/* everyone stops; one checks; everyone goes on */
			if (pthread_barrier_wait(&mt_barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
				int c = mymem_check();

				atomic_fetch_add(&mt_checks, 1);
				if (c && atomic_exchange(&mt_check_result, c) == 0)
					fprintf(stderr, "mt_random: op %ld: %s\n", op, mymem_strerror(c));
			}
			pthread_barrier_wait(&mt_barrier);
		}
	}
	return NULL;
}

FIXTURE(mt_random) { int unused; };

FIXTURE_VARIANT(mt_random) {
	int policy;
	long ops;
};

FIXTURE_VARIANT_ADD(mt_random, fast) { .policy = MYMEM_POLICY_FAST, .ops = MT_OPS_FAST };
FIXTURE_VARIANT_ADD(mt_random, next_fit) { .policy = MYMEM_POLICY_NEXT_FIT, .ops = MT_OPS_CLASSIC };

FIXTURE_SETUP(mt_random)
{
	self->unused = 0;
	for (int i = 0; i < MT_SLOTS; i++) {
		memset(&mt_slots[i].s, 0, sizeof(mt_slots[i].s));
		mt_slots[i].owner = -1;
		ASSERT_EQ(0, pthread_mutex_init(&mt_slots[i].lock, NULL));
	}
	ASSERT_EQ(0, pthread_barrier_init(&mt_barrier, NULL, MT_THREADS));
	/* pinned: sizes from 1 MiB on always get a mapping of their own */
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 1 << 20));
	ASSERT_EQ(0, mymem_set_policy(variant->policy));
	mt_ops = variant->ops;
}

FIXTURE_TEARDOWN(mt_random)
{
	for (int i = 0; i < MT_SLOTS; i++)
		free(mt_slots[i].s.p);
	pthread_barrier_destroy(&mt_barrier);
	mymem_set_policy(MYMEM_POLICY_FAST);
}

TEST_F_TIMEOUT(mt_random, shared_slots, 120)
{
	pthread_t t[MT_THREADS];

	for (int i = 0; i < MT_THREADS; i++) {
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mt_worker, (void *)(intptr_t)i));
	}
	for (int i = 0; i < MT_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	}
	TH_LOG("%s: %ld ops x %d threads: %ld checks, %ld blocks used by another thread than "
	       "their allocator, %ld reallocs, %ld aligned, %ld at or above the mmap threshold",
	       mymem_policy_name(variant->policy), mt_ops, MT_THREADS, atomic_load(&mt_checks),
	       atomic_load(&mt_cross), atomic_load(&mt_reallocs), atomic_load(&mt_aligned),
	       atomic_load(&mt_huge));
	ASSERT_EQ(0, atomic_load(&mt_errors));
	ASSERT_EQ(0, atomic_load(&mt_check_result));
	ASSERT_EQ(mt_ops / MT_CHECK_EVERY, atomic_load(&mt_checks));
	/* the mix really happened */
	ASSERT_GT(atomic_load(&mt_cross), mt_ops / 10);
	ASSERT_GT(atomic_load(&mt_huge), 0);
	ASSERT_GT(atomic_load(&mt_aligned), 0);
	ASSERT_GT(atomic_load(&mt_reallocs), 0);
	/* every block intact, then the heap consistent with nobody running */
	for (int i = 0; i < MT_SLOTS; i++) {
		struct slot *s = &mt_slots[i].s;

		if (s->p) {
			ASSERT_TRUE(verify(_metadata, s, s->n));
		}
	}
	ASSERT_EQ(0, mymem_check());
}

TEST_HARNESS_MAIN
