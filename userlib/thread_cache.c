// SPDX-License-Identifier: MIT
/*
 * thread_cache.c - per-thread caches of small and medium free blocks.
 *
 * With the fast policy, a thread keeps up to tc_limit[i] freed blocks of
 * each size class (internal.h: 32 .. 992 bytes in 16-byte steps, then 65
 * medium classes to 16 KiB) in a LIFO list and reuses them without taking
 * any lock (malloc_api.c inlines tc_pop and tc_push).  A miss takes up to
 * half a bin's worth of blocks under a single lock acquisition, from the
 * runs of that class (run.c); a full list sends its older half back to the blocks'
 * own arenas (all of it, and every few blocks from then on, when it holds
 * another arena's blocks that this thread never takes: a consumer's).  A
 * cached block stays "in use" for the heap, marked B_CACHED, so freeing
 * it again is caught as a double free.
 *
 * The first two caches live in the library's bss, later ones in memory
 * from the page source; all are linked on a global list (statistics add
 * up the caches' counters).  It is set up at a thread's first small
 * allocation after its first TC_FIRST (with the nursery on) and after the
 * library's constructor ran, parked by a process that forks often
 * (tc_before_fork), and flushed at thread exit through
 * __cxa_thread_atexit_impl (no pthread_key:
 * that may allocate).  Registering may itself call calloc: the cache is
 * then in state "initializing" and such calls bypass it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/single_threaded.h>

#include "internal.h"
#include "pagesource.h"

/* Blocks a bin may hold: fewer of the larger sizes.  Small: 15 * 64 +
 * 16 * 32 + 30 * 8 = 1712 blocks, some 520 KiB at most; halving bins
 * 0 .. 30 made mixed-1t 15% slower, frag-1t 10%, and peak RSS no lower, while
 * 8 instead of 16 for 528 .. 992 bytes (then carved from the free
 * lists) took 1.6% off mixed-1t's.  Medium: 8 up to 2 KiB, 4 up to 8 KiB, 2 above, some
 * 1.2 MiB at most; half that flushed and refilled every other free or
 * malloc: 3% more instructions in mixed and frag, no lower peak RSS. */
const uint8_t tc_limit[TC_BINS] = {
	[0 ... 14] = 64, [15 ... 30] = 32, [31 ... TC_SMALL_BINS - 1] = 8,
	[TC_SMALL_BINS ... TC_SMALL_BINS + 16] = 8,		/* 1 .. 2 KiB */
	[TC_SMALL_BINS + 17 ... TC_SMALL_BINS + 48] = 4,	/* .. 8 KiB */
	[TC_SMALL_BINS + 49 ... TC_BINS - 1] = 2,
};
_Static_assert(TC_BINS == TC_SMALL_BINS + 65, "tc_limit initialiser");

__thread struct tcache *mm_t_tc __attribute__((tls_model("initial-exec")));
static __thread int t_state __attribute__((tls_model("initial-exec")));
enum { TC_NONE, TC_INIT, TC_ACTIVE, TC_OFF };
/* Small allocations this thread made before it had a cache (TC_FIRST). */
static __thread unsigned t_uncached __attribute__((tls_model("initial-exec")));
/*
 * A thread's first TC_FIRST small allocations come from the free lists,
 * before it sets up a cache: a short command (tr, sort) then never runs
 * the cache's and the runs' code at all.  Under emulation (the bench's
 * VM) each exec'd process translates the code it runs afresh, and that
 * code was most of what the library cost such a process (tr: 2,440
 * distinct instructions of the library, 1,900 without the cache's; in
 * the guest 7.5 ms over an empty preload, 3.6 ms without).  A program
 * that allocates more gets its cache after TC_FIRST allocations that took
 * the arena's lock each.  Off with the nursery (MYMEM_NURSERY=0).
 *
 * After fork() every page a process writes is a fault (35-50 us under the
 * bench VM's emulation, 1-2 natively), and a cache spreads a few
 * allocations of different sizes over a run, a page, each: bash running
 * a loop of two command substitutions and a pipe into tr took 442 faults
 * per loop with caches, 404 without, 390 under glibc's malloc.  So a
 * one-thread process that forks again before its cache counted TC_FIRST
 * allocations parks the cache (kept with its blocks for later) and starts
 * over without one; every fork starts the count over.  With 1,024 bash's
 * start-up allocations never get a cache either (256 left it at 439).
 */
#define TC_FIRST	1024
/* The cache a fork parked (tc_before_fork), and its count at the last fork. */
static __thread struct tcache *t_parked __attribute__((tls_model("initial-exec")));
static __thread uint64_t t_served_mark __attribute__((tls_model("initial-exec")));

static inline bool tc_uncached_phase(void)
{
	return mm_opt.nursery && t_uncached < TC_FIRST;
}
/* A block set aside for glibc's calloc while a cache registers (tc_setup). */
#define TC_RESERVE	64
static __thread void *t_reserve __attribute__((tls_model("initial-exec")));

static mm_lock_t tc_lock = MM_LOCK_INIT;	/* list, pool, retired counters */
static struct tcache *tc_list, *tc_pool;
static char *tc_meta_cur, *tc_meta_end;
/*
 * The first caches live in the library's bss, the rest in 64 KiB pieces
 * from the page source.  Most processes have one thread: they then map
 * nothing for it, which saves a short-lived one a reservation and a
 * commit (three system calls) and, on the device, 16 pages zeroed at
 * mmap of which it writes two.
 */
#define TC_STATIC	2
/* Each on cache lines of its own, as the page source's ones (tc_new): a
 * thread's bins next to another's counters would be false sharing. */
static struct {
	_Alignas(64) struct tcache tc;
} tc_static[TC_STATIC];
static unsigned tc_static_used;
static struct counters retired;

extern void *__dso_handle;
/* glibc >= 2.18; a strong reference so static links pull it in too. */
extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);

static void tc_flush_bins(struct tcache *tc, unsigned keep);
static uint64_t tc_served(struct tcache *tc, unsigned i);

/* A cache's counters, its per-bin ones multiplied out (tc_lock held). */
static void tc_counters(struct tcache *tc, struct counters *out)
{
	uint64_t ac, fc, ab, fb;

	ac = atomic_load_explicit(&tc->ctr.alloc_count, memory_order_relaxed);
	fc = atomic_load_explicit(&tc->ctr.free_count, memory_order_relaxed);
	ab = atomic_load_explicit(&tc->ctr.alloc_bytes, memory_order_relaxed);
	fb = atomic_load_explicit(&tc->ctr.free_bytes, memory_order_relaxed);
	for (unsigned i = 0; i < TC_BINS; i++) {
		uint64_t nf = __atomic_load_n(&tc->nfree[i], __ATOMIC_RELAXED);
		uint64_t na = __atomic_load_n(&tc->refilled[i], __ATOMIC_RELAXED) + nf -
			      __atomic_load_n(&tc->flushed[i], __ATOMIC_RELAXED) -
			      __atomic_load_n(&tc->count[i], __ATOMIC_RELAXED);

		ac += na;
		fc += nf;
		ab += na * tc_bin_usable(i);
		fb += nf * tc_bin_usable(i);
	}
	atomic_store_explicit(&out->alloc_count, ac, memory_order_relaxed);
	atomic_store_explicit(&out->free_count, fc, memory_order_relaxed);
	atomic_store_explicit(&out->alloc_bytes, ab, memory_order_relaxed);
	atomic_store_explicit(&out->free_bytes, fb, memory_order_relaxed);
}

/*
 * A thread's exit handler.  In a process that never had a second thread
 * (__libc_single_threaded) this is exit() itself, before the atexit
 * handlers, and the thread's TLS lives until the process ends: the cache
 * stays as it is and keeps serving whatever runs after it.  Flushing it
 * would write to every run its blocks came from: for a forked child, a
 * copy-on-write fault each (about 4 for each command substitution of a
 * bash script) just before the process ends.
 */
static void tc_exit(void *arg)
{
	struct tcache *tc = arg;

	struct counters c;

	if (__libc_single_threaded)
		return;
	t_state = TC_OFF;
	mm_t_tc = NULL;
	tc_flush_bins(tc, 0);
	mm_lock(&tc_lock);
	tc_counters(tc, &c);
	ctr_add(&retired.alloc_count, atomic_load(&c.alloc_count));
	ctr_add(&retired.free_count, atomic_load(&c.free_count));
	ctr_add(&retired.alloc_bytes, atomic_load(&c.alloc_bytes));
	ctr_add(&retired.free_bytes, atomic_load(&c.free_bytes));
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		tc_list = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	tc->next = tc_pool;
	tc_pool = tc;
	mm_unlock(&tc_lock);
}

static struct tcache *tc_new(void)
{
	struct tcache *tc = NULL;

	mm_lock(&tc_lock);
	if (tc_pool) {
		tc = tc_pool;
		tc_pool = tc->next;
	} else if (tc_static_used < TC_STATIC) {
		tc = &tc_static[tc_static_used++].tc;
	} else {
		size_t sz = mm_align_up(sizeof(*tc), 64);

		if (!tc_meta_cur || sz > (size_t)(tc_meta_end - tc_meta_cur)) {
			size_t len = 64 * 1024;
			char *m = ps_reserve(len, ps_page_size());

			if (m && ps_commit(m, len)) {
				tc_meta_cur = m;
				tc_meta_end = m + len;
			} else {
				if (m)
					ps_release(m, len, 0);
				mm_unlock(&tc_lock);
				return NULL;
			}
		}
		tc = (struct tcache *)tc_meta_cur;
		tc_meta_cur += sz;
	}
	memset(tc, 0, sizeof(*tc));
	memcpy(tc->limit, tc_limit, sizeof(tc->limit));
	tc->prev = NULL;
	tc->next = tc_list;
	if (tc_list)
		tc_list->prev = tc;
	tc_list = tc;
	mm_unlock(&tc_lock);
	return tc;
}

/* Allocations this cache counted so far: from its bins (tc_served: a
 * flush leaves it as it is) and the rest (refills' first blocks, sizes
 * in the nursery, large blocks). */
static uint64_t tc_served_all(struct tcache *tc)
{
	uint64_t n = atomic_load_explicit(&tc->ctr.alloc_count, memory_order_relaxed);

	for (unsigned i = 0; i < TC_BINS; i++)
		n += tc_served(tc, i);
	return n;
}

static MM_NOINLINE struct tcache *tc_setup(void)
{
	struct tcache *tc;

	if (!__atomic_load_n(&mm_ctor_done, __ATOMIC_ACQUIRE) || !mm_opt.tcache ||
	    mm_policy() != MYMEM_POLICY_FAST)
		return NULL;
	if (t_parked) {		/* registered already (tc_before_fork) */
		tc = t_parked;
		t_parked = NULL;
		/* in this order: a fork from a signal handler in between
		 * (tc_before_fork) then finds no cache to park, rather than a
		 * parked one this thread then forgets */
		atomic_signal_fence(memory_order_seq_cst);
		t_served_mark = tc_served_all(tc);
		t_state = TC_ACTIVE;
		atomic_signal_fence(memory_order_seq_cst);
		mm_t_tc = tc;
		return tc;
	}
	/*
	 * glibc's registration callocs a small record and aborts the program
	 * ("failed to register TLS destructor") if that fails, as it can with
	 * the device at its limit.  So take that block first, while failing
	 * is still harmless (no cache for now), and hand it over then.
	 */
	t_state = TC_INIT;	/* calloc from here on bypasses the cache */
	t_reserve = malloc(TC_RESERVE);
	if (!t_reserve) {
		t_state = TC_NONE;
		return NULL;
	}
	tc = tc_new();
	if (!tc) {
		free(t_reserve);
		t_reserve = NULL;
		t_state = TC_OFF;
		return NULL;
	}
	__cxa_thread_atexit_impl(tc_exit, tc, &__dso_handle);
	if (t_reserve) {	/* not asked for after all */
		free(t_reserve);
		t_reserve = NULL;
	}
	t_served_mark = 0;
	t_state = TC_ACTIVE;
	mm_t_tc = tc;
	return tc;
}

struct tcache *tc_current(void)
{
	if (MM_LIKELY(t_state == TC_ACTIVE))
		return mm_policy() == MYMEM_POLICY_FAST ? mm_t_tc : NULL;
	if (t_state == TC_NONE && !tc_uncached_phase())
		return tc_setup();
	return NULL;
}

/*
 * A free of another arena's block by a thread in its cache-free start
 * counts towards TC_FIRST like a malloc: a thread that only frees (a
 * consumer of another's blocks) would otherwise never get a cache, and
 * take a compare-and-swap for every block.  Its own blocks do not count:
 * a shell that counted them got its cache sooner, and a bash loop of
 * command substitutions took 409 page faults a loop instead of 392.
 */
void tc_note_free(void)
{
	if (t_state == TC_NONE && tc_uncached_phase())
		t_uncached++;
}

/*
 * fork() is coming, in a process that never had a second thread (arena.c):
 * park a cache that counted fewer than TC_FIRST allocations since the
 * last fork (see TC_FIRST), and start the count of allocations without a
 * cache over.
 */
void tc_before_fork(void)
{
	struct tcache *tc = mm_t_tc;
	uint64_t served;

	if (!mm_opt.nursery)
		return;
	if (t_state == TC_NONE) {
		t_uncached = 0;
		return;
	}
	if (t_state != TC_ACTIVE || !tc)
		return;
	served = tc_served_all(tc);
	if (served - t_served_mark >= TC_FIRST) {
		t_served_mark = served;
		return;
	}
	/* Only thread-local state changes here: no lock, no flush.  fork()
	 * may come from a signal handler that interrupted this thread inside
	 * the allocator (a crash reporter on the SIGABRT of mm_fatal, with the
	 * arena's lock held, or in the middle of a push to a bin); glibc takes
	 * no locks around the fork of a one-thread process for that reason.
	 * The parked cache keeps its blocks until it comes back. */
	mm_t_tc = NULL;
	t_state = TC_NONE;
	t_parked = tc;
	t_uncached = 0;
}

/*
 * How many blocks a refill of bin i carves: 2 the first time, doubling
 * with each refill up to half the bin.  A short-lived program that asks
 * for a few blocks of many sizes so does not carve (and touch) a run of
 * each; a busy bin reaches full runs after five refills.
 */
static unsigned tc_refill_count(struct tcache *tc, unsigned i)
{
	unsigned max = tc_limit[i] / 2 + 1, k = tc->fill[i] ? tc->fill[i] : 2;

	tc->fill[i] = (uint8_t)(2 * k < max ? 2 * k : max);
	return k;
}

/* Hand the caller the first of k blocks chained first .. last, park the rest. */
static void *tc_take_chain(struct tcache *tc, unsigned i, struct block *first,
			   struct block *last, unsigned k)
{
	if (k > 1) {
		last->next_free = tc->bin[i];
		tc->bin[i] = first->next_free;
	}
	blk_set_head_raw(first, blk_head(first) & ~B_CACHED);
	OWNER_ADD(tc->refilled[i], k - 1);
	__atomic_store_n(&tc->count[i], tc->count[i] + k - 1, __ATOMIC_RELAXED);
	ctr_add(&tc->ctr.alloc_count, 1);
	ctr_add(&tc->ctr.alloc_bytes, blk_usable(first));
	return blk_payload(first);
}

/*
 * A miss in bin i: the caller's block and up to half a bin's worth more
 * (tc_refill_count) from the runs of that size (run.c), under one lock.
 */
static void *tc_refill(struct tcache *tc, unsigned i)
{
	unsigned k = tc_refill_count(tc, i);
	struct arena *a = arena_get_locked();
	struct block *first, *last;

	tc->limit[i] = tc_limit[i];	/* this thread allocates the size (tc_flush_bin) */
	first = run_alloc(a, i, k, &k, &last);
	heap_purge_tick(a);	/* a program living on runs still purges */
	mm_unlock(&a->lock);
	return k ? tc_take_chain(tc, i, first, last, k) : NULL;
}

/*
 * The nursery: the first blocks of each size a thread asks for come from
 * the free lists, carved exactly and packed side by side, before the size
 * gets a run.  A shell or a short command asks for a few blocks of many
 * sizes, and a run per size spread them over a page each (a fork-heavy
 * bash script took 45 % more page faults than under glibc, with a nursery
 * of 8 blocks 22 %; after each fork every page written is a fault).  A
 * busy size reaches its run after mm_opt.nursery (MYMEM_NURSERY) mallocs,
 * which take the arena's lock each.
 */
void *tc_malloc_slow(size_t n)
{
	struct tcache *tc;
	unsigned i;
	void *p;

	/* Medium sizes only below the mmap threshold, which a program may
	 * have set lower (mallopt, MYMEM_MMAP_THRESHOLD). */
	if (n > MED_MAX_REQ || (n > TC_MAX_REQ && n >= mm_mmap_threshold()) ||
	    !mm_ready())	/* the process's first allocation initialises */
		return NULL;
	i = tc_bin_of_req(n);
	if (MM_UNLIKELY(t_state == TC_INIT) && t_reserve && n <= TC_RESERVE) {
		p = t_reserve;
		t_reserve = NULL;
		return p;
	}
	if (MM_UNLIKELY(t_state == TC_NONE) && tc_uncached_phase()) {
		t_uncached++;
		return NULL;	/* malloc_slow: from the free lists */
	}
	tc = tc_current();
	if (!tc)
		return NULL;
	p = tc_pop(tc, i);
	if (p)
		return p;
	if (tc->nursery[i] < mm_opt.nursery) {
		tc->nursery[i]++;
		return NULL;	/* malloc_slow: from the free lists */
	}
	return tc_refill(tc, i);
}

/*
 * Send a chain of cached blocks (linked through next_free) back to their
 * arenas: the calling thread's own under its lock, any other's through
 * its remote list, a run of one arena's blocks in one step (arena.c).
 */
static void tc_send_back(struct block *b)
{
	struct arena *own = arena_current();
	bool locked = false;

	while (b) {
		struct segment *s = seg_lookup(b);
		struct arena *a = s->arena;
		struct block *next = b->next_free, *last = b;
		unsigned n = 1;

		if (a == own) {
			if (!locked) {
				arena_lock(a);
				locked = true;
			}
			b = heap_take_back(a, s, b, &n);
			continue;
		}
		while (next && seg_lookup(next)->arena == a) {
			last = next;
			next = next->next_free;
			n++;
		}
		arena_give_back(a, b, last, n);
		b = next;
	}
	if (locked)
		mm_unlock(&own->lock);
}

/* Detach all but the first keep blocks of bin i: the chain to send back. */
static struct block *tc_detach(struct tcache *tc, unsigned i, unsigned keep)
{
	struct block **link = &tc->bin[i], *rest;
	unsigned n = tc->count[i];

	if (n <= keep)
		return NULL;
	for (unsigned k = 0; k < keep; k++)
		link = &(*link)->next_free;
	rest = *link;
	*link = NULL;
	OWNER_ADD(tc->flushed[i], n - keep);
	__atomic_store_n(&tc->count[i], keep, __ATOMIC_RELAXED);
	return rest;
}

/* Give all but keep blocks of each bin back to their arenas. */
static void tc_flush_bins(struct tcache *tc, unsigned keep)
{
	for (unsigned i = 0; i < TC_BINS; i++)
		tc_send_back(tc_detach(tc, i, keep));
}

/* Mallocs served from bin i so far (tcache: refilled + nfree - flushed - count). */
static uint64_t tc_served(struct tcache *tc, unsigned i)
{
	return tc->refilled[i] + tc->nfree[i] - tc->flushed[i] - tc->count[i];
}

/* A bin holding another arena's blocks, for a thread that does not reuse them. */
#define TC_CONSUMER_LIMIT(i)	(tc_limit[i] > 8 ? tc_limit[i] / 8u : 1u)

/*
 * Bin i overflowed: send the older half back, keep the hot head.  But a
 * bin of another arena's blocks that no malloc took from since its last
 * flush belongs to a thread that frees what another allocates (a consumer):
 * holding them only keeps them from their owner, which then carves new
 * ones.  Such a bin goes back whole, and flushes every few blocks from then
 * on, until this thread allocates the size itself (tc_refill).  Called
 * from free's fast path, which must leave errno alone: trimming may not.
 */
void tc_flush_bin(struct tcache *tc, unsigned i)
{
	int e = errno;
	uint64_t served = tc_served(tc, i);
	unsigned keep = tc_limit[i] > 1 ? tc_limit[i] / 2 : 1;

	if (served == tc->served_at_flush[i] &&
	    seg_lookup(tc->bin[i])->arena != arena_current()) {
		keep = 0;
		tc->limit[i] = (uint8_t)TC_CONSUMER_LIMIT(i);
	} else {
		tc->limit[i] = tc_limit[i];
	}
	tc->served_at_flush[i] = served;	/* the detach leaves it as it is */
	tc_send_back(tc_detach(tc, i, keep));
	errno = e;
}

/* The calling thread's cache back to the heap, or the one a fork parked
 * (trim, a policy switch, a page source that refused: not a fork handler). */
void tc_flush_current(void)
{
	if (t_state == TC_ACTIVE && mm_t_tc)
		tc_flush_bins(mm_t_tc, 0);
	else if (t_state == TC_NONE && t_parked)
		tc_flush_bins(t_parked, 0);
}

void mm_count_alloc(size_t usable)
{
	struct counters *c = t_state == TC_ACTIVE ? &mm_t_tc->ctr : NULL;

	if (c) {
		ctr_add(&c->alloc_count, 1);
		ctr_add(&c->alloc_bytes, usable);
	} else {
		atomic_fetch_add_explicit(&mm_arenas[0].uncached.alloc_count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mm_arenas[0].uncached.alloc_bytes, usable, memory_order_relaxed);
	}
}

void mm_count_free(size_t usable)
{
	struct counters *c = t_state == TC_ACTIVE ? &mm_t_tc->ctr : NULL;

	if (c) {
		ctr_add(&c->free_count, 1);
		ctr_add(&c->free_bytes, usable);
	} else {
		atomic_fetch_add_explicit(&mm_arenas[0].uncached.free_count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mm_arenas[0].uncached.free_bytes, usable, memory_order_relaxed);
	}
}

void tc_sum(struct counters *out, uint64_t *held_bytes, uint64_t *held_blocks)
{
	uint64_t ac, fc, ab, fb, hb = 0, hn = 0;

	mm_lock(&tc_lock);
	ac = atomic_load(&retired.alloc_count) + atomic_load(&mm_arenas[0].uncached.alloc_count);
	fc = atomic_load(&retired.free_count) + atomic_load(&mm_arenas[0].uncached.free_count);
	ab = atomic_load(&retired.alloc_bytes) + atomic_load(&mm_arenas[0].uncached.alloc_bytes);
	fb = atomic_load(&retired.free_bytes) + atomic_load(&mm_arenas[0].uncached.free_bytes);
	for (struct tcache *tc = tc_list; tc; tc = tc->next) {
		struct counters c;

		tc_counters(tc, &c);
		ac += atomic_load_explicit(&c.alloc_count, memory_order_relaxed);
		fc += atomic_load_explicit(&c.free_count, memory_order_relaxed);
		ab += atomic_load_explicit(&c.alloc_bytes, memory_order_relaxed);
		fb += atomic_load_explicit(&c.free_bytes, memory_order_relaxed);
		for (unsigned i = 0; i < TC_BINS; i++) {
			uint64_t n = __atomic_load_n(&tc->count[i], __ATOMIC_RELAXED);

			hn += n;
			hb += n * tc_bin_size(i);
		}
	}
	mm_unlock(&tc_lock);
	atomic_store(&out->alloc_count, ac);
	atomic_store(&out->free_count, fc);
	atomic_store(&out->alloc_bytes, ab);
	atomic_store(&out->free_bytes, fb);
	*held_bytes = hb;
	*held_blocks = hn;
}

void tc_atfork_prepare(void) { mm_lock(&tc_lock); }
void tc_atfork_parent(void) { mm_unlock(&tc_lock); }
void tc_atfork_child(void)
{
	/*
	 * The other threads' caches stay on the list (their counters still
	 * describe blocks this process holds) but nobody will use them.
	 */
	mm_lock_reinit(&tc_lock);
	/*
	 * A thread caught between counting an operation and doing it left
	 * the counters off by its block: recount from the heap when asked.
	 * That thread need not own a cache (large blocks and a cache being
	 * set up count in the shared counters), so always recount: with no
	 * other thread it finds nothing to correct.
	 */
	atomic_store(&mm_stats_rebase, true);
}
