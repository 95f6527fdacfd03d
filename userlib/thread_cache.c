// SPDX-License-Identifier: MIT
/*
 * thread_cache.c - per-thread caches of small free blocks.
 *
 * With the fast policy, a thread keeps up to TC_MAX_COUNT freed blocks of
 * each small size (32 .. 528 bytes) in a LIFO list and reuses them without
 * taking any lock; misses refill a few blocks at once under the arena lock,
 * and a full list sends half of itself back to the blocks' own arenas.
 * A cached block stays "in use" for the heap, marked B_CACHED, so freeing
 * it again is caught as a double free.
 *
 * Each cache lives in memory from the page source and is linked on a global
 * list (statistics add up the caches' counters).  It is set up at a
 * thread's first small allocation after the library's constructor ran, and
 * flushed at thread exit through __cxa_thread_atexit_impl (no pthread_key:
 * that may allocate).  Registering may itself call calloc: the cache is
 * then in state "initializing" and such calls bypass it.
 */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"
#include "pagesource.h"

#define TC_MAX_COUNT	16
#define TC_REFILL	6
#define TLS_IE		__attribute__((tls_model("initial-exec")))

enum { TC_NONE, TC_INIT, TC_ACTIVE, TC_OFF };

static __thread struct tcache *t_tc TLS_IE;
static __thread int t_state TLS_IE;

static mm_lock_t tc_lock = MM_LOCK_INIT;	/* list, pool, retired counters */
static struct tcache *tc_list, *tc_pool;
static char *tc_meta_cur, *tc_meta_end;
static struct counters retired;

struct counters mm_shared_ctr;

extern void *__dso_handle;
/* glibc >= 2.18; a strong reference so static links pull it in too. */
extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);

static void tc_flush_bins(struct tcache *tc, unsigned keep);

static void tc_exit(void *arg)
{
	struct tcache *tc = arg;

	t_state = TC_OFF;
	t_tc = NULL;
	tc_flush_bins(tc, 0);
	mm_lock(&tc_lock);
	ctr_add(&retired.alloc_count, atomic_load(&tc->ctr.alloc_count));
	ctr_add(&retired.free_count, atomic_load(&tc->ctr.free_count));
	ctr_add(&retired.alloc_bytes, atomic_load(&tc->ctr.alloc_bytes));
	ctr_add(&retired.free_bytes, atomic_load(&tc->ctr.free_bytes));
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
	} else {
		size_t sz = mm_align_up(sizeof(*tc), 64);

		if (tc_meta_cur + sz > tc_meta_end || !tc_meta_cur) {
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
	tc->prev = NULL;
	tc->next = tc_list;
	if (tc_list)
		tc_list->prev = tc;
	tc_list = tc;
	mm_unlock(&tc_lock);
	return tc;
}

static MM_NOINLINE struct tcache *tc_setup(void)
{
	struct tcache *tc;

	if (!__atomic_load_n(&mm_ctor_done, __ATOMIC_ACQUIRE) || !mm_opt.tcache ||
	    mm_policy() != MYMEM_POLICY_FAST)
		return NULL;
	tc = tc_new();
	if (!tc) {
		t_state = TC_OFF;
		return NULL;
	}
	t_tc = tc;
	t_state = TC_INIT;	/* calloc from the registration bypasses us */
	__cxa_thread_atexit_impl(tc_exit, tc, &__dso_handle);
	t_state = TC_ACTIVE;
	return tc;
}

struct tcache *tc_current(void)
{
	if (MM_LIKELY(t_state == TC_ACTIVE))
		return mm_policy() == MYMEM_POLICY_FAST ? t_tc : NULL;
	if (t_state == TC_NONE)
		return tc_setup();
	return NULL;
}

static inline unsigned bin_of(size_t bs) { return (unsigned)(bs >> 4) - 2; }

void *tc_malloc(size_t bs)
{
	struct tcache *tc = tc_current();
	unsigned i = bin_of(bs);
	struct block *b, *first;
	struct arena *a;

	if (MM_UNLIKELY(!tc))
		return NULL;
	b = tc->bin[i];
	if (MM_LIKELY(b)) {
		tc->bin[i] = b->next_free;
		__atomic_store_n(&tc->count[i], (uint16_t)(tc->count[i] - 1), __ATOMIC_RELAXED);
		blk_set_head_raw(b, blk_head(b) & ~B_CACHED);
		ctr_add(&tc->ctr.alloc_count, 1);
		ctr_add(&tc->ctr.alloc_bytes, bs - MM_HDR);
		return blk_payload(b);
	}
	/* Refill: one block for the caller, a few more for later. */
	a = arena_get_locked();
	first = heap_alloc(a, bs, MM_ALIGN, NULL);
	if (first && blk_size(first) == bs) {
		for (int n = 1; n < TC_REFILL; n++) {
			b = heap_alloc(a, bs, MM_ALIGN, NULL);
			if (!b)
				break;
			if (blk_size(b) != bs) {
				heap_free(a, seg_lookup(b), b);
				break;
			}
			blk_set(b, bs, B_CACHED);
			b->next_free = tc->bin[i];
			tc->bin[i] = b;
			__atomic_store_n(&tc->count[i], (uint16_t)(tc->count[i] + 1), __ATOMIC_RELAXED);
		}
	}
	mm_unlock(&a->lock);
	if (!first)
		return NULL;
	ctr_add(&tc->ctr.alloc_count, 1);
	ctr_add(&tc->ctr.alloc_bytes, blk_size(first) - MM_HDR);
	return blk_payload(first);
}

/* Give all but keep blocks of each bin back to their arenas. */
static void tc_flush_bins(struct tcache *tc, unsigned keep)
{
	struct arena *locked = NULL;

	for (unsigned i = 0; i < TC_BINS; i++) {
		while (tc->count[i] > keep) {
			struct block *b = tc->bin[i];
			struct segment *s = seg_lookup(b);
			struct arena *a = s->arena;

			tc->bin[i] = b->next_free;
			__atomic_store_n(&tc->count[i], (uint16_t)(tc->count[i] - 1), __ATOMIC_RELAXED);
			if (a != locked) {
				if (locked)
					mm_unlock(&locked->lock);
				mm_lock(&a->lock);
				locked = a;
			}
			blk_set_head_raw(b, blk_head(b) & ~B_CACHED);
			heap_free(a, s, b);
		}
	}
	if (locked)
		mm_unlock(&locked->lock);
}

bool tc_free(struct block *b, size_t bs)
{
	struct tcache *tc = tc_current();
	unsigned i = bin_of(bs);

	if (MM_UNLIKELY(!tc))
		return false;
	blk_set_head_raw(b, blk_head(b) | B_CACHED);
	b->next_free = tc->bin[i];
	tc->bin[i] = b;
	ctr_add(&tc->ctr.free_count, 1);
	ctr_add(&tc->ctr.free_bytes, bs - MM_HDR);
	__atomic_store_n(&tc->count[i], (uint16_t)(tc->count[i] + 1), __ATOMIC_RELAXED);
	if (MM_UNLIKELY(tc->count[i] > TC_MAX_COUNT)) {
		/* Send the older half back, keep the hot head. */
		struct block *keep = b, *rest;
		unsigned k = TC_MAX_COUNT / 2;
		struct arena *locked = NULL;

		for (unsigned n = 1; n < k; n++)
			keep = keep->next_free;
		rest = keep->next_free;
		keep->next_free = NULL;
		__atomic_store_n(&tc->count[i], (uint16_t)k, __ATOMIC_RELAXED);
		while (rest) {
			struct block *nb = rest->next_free;
			struct segment *s = seg_lookup(rest);

			if (s->arena != locked) {
				if (locked)
					mm_unlock(&locked->lock);
				locked = s->arena;
				mm_lock(&locked->lock);
			}
			blk_set_head_raw(rest, blk_head(rest) & ~B_CACHED);
			heap_free(locked, s, rest);
			rest = nb;
		}
		if (locked)
			mm_unlock(&locked->lock);
	}
	return true;
}

void tc_flush_current(void)
{
	if (t_state == TC_ACTIVE && t_tc)
		tc_flush_bins(t_tc, 0);
}

void mm_count_alloc(size_t usable)
{
	struct counters *c = t_state == TC_ACTIVE ? &t_tc->ctr : NULL;

	if (c) {
		ctr_add(&c->alloc_count, 1);
		ctr_add(&c->alloc_bytes, usable);
	} else {
		atomic_fetch_add_explicit(&mm_shared_ctr.alloc_count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mm_shared_ctr.alloc_bytes, usable, memory_order_relaxed);
	}
}

void mm_count_free(size_t usable)
{
	struct counters *c = t_state == TC_ACTIVE ? &t_tc->ctr : NULL;

	if (c) {
		ctr_add(&c->free_count, 1);
		ctr_add(&c->free_bytes, usable);
	} else {
		atomic_fetch_add_explicit(&mm_shared_ctr.free_count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mm_shared_ctr.free_bytes, usable, memory_order_relaxed);
	}
}

void tc_sum(struct counters *out, uint64_t *held_bytes, uint64_t *held_blocks)
{
	uint64_t ac, fc, ab, fb, hb = 0, hn = 0;

	mm_lock(&tc_lock);
	ac = atomic_load(&retired.alloc_count) + atomic_load(&mm_shared_ctr.alloc_count);
	fc = atomic_load(&retired.free_count) + atomic_load(&mm_shared_ctr.free_count);
	ab = atomic_load(&retired.alloc_bytes) + atomic_load(&mm_shared_ctr.alloc_bytes);
	fb = atomic_load(&retired.free_bytes) + atomic_load(&mm_shared_ctr.free_bytes);
	for (struct tcache *tc = tc_list; tc; tc = tc->next) {
		ac += atomic_load_explicit(&tc->ctr.alloc_count, memory_order_relaxed);
		fc += atomic_load_explicit(&tc->ctr.free_count, memory_order_relaxed);
		ab += atomic_load_explicit(&tc->ctr.alloc_bytes, memory_order_relaxed);
		fb += atomic_load_explicit(&tc->ctr.free_bytes, memory_order_relaxed);
		for (unsigned i = 0; i < TC_BINS; i++) {
			uint64_t n = __atomic_load_n(&tc->count[i], __ATOMIC_RELAXED);

			hn += n;
			hb += n * (MM_MIN_BLOCK + i * MM_ALIGN);
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
	 */
	if (tc_list && (tc_list->next || tc_list != t_tc))
		atomic_store(&mm_stats_rebase, true);
}
