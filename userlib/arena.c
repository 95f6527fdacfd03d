// SPDX-License-Identifier: MIT
/*
 * arena.c - arenas (independent heaps, each with its own lock), which
 * thread uses which, the futex lock, policy switches and fork.
 *
 * A thread is given an arena round-robin at its first allocation and keeps
 * it in an initial-exec TLS pointer.  When that arena's lock is busy the
 * thread waits for it, unless its lock has been busy often lately: then
 * the thread tries the others and moves to the first free one, so threads
 * spread over the arenas instead of queueing on one lock, but a passing
 * collision does not scatter a thread's blocks over several heaps.
 *
 * Blocks go back to the arena of their segment, whichever thread frees
 * them, but a thread never waits for another arena's lock to do so: it
 * pushes them on that arena's remote list (one compare-and-swap per
 * batch), and whoever takes the arena's lock next puts them back in the
 * heap.  So a consumer freeing a producer's blocks never holds the lock
 * the producer allocates under, and the producer has no reason to move.
 * A list that grows past REMOTE_MAX blocks is drained by the giver itself
 * when the lock is free, so an arena nobody allocates from any more does
 * not keep more than that out of its heap.  An owner that finds its lock
 * held by such a giver waits without counting it as contention: a drain
 * is no sign of another thread allocating there (prodcons-2t's producer
 * moved to its consumer's arena in about half the runs, and the peak RSS
 * of those runs was twice as high).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "pagesource.h"

/* Page-aligned: arena 0's hot fields on one page (struct arena). */
struct arena mm_arenas[MM_MAX_ARENAS] __attribute__((aligned(4096)));
unsigned mm_narenas = 1;

static __thread struct arena *t_arena __attribute__((tls_model("initial-exec")));
/* Rises by CONTENDED_STEP per busy lock, falls by 1 per free one. */
static __thread unsigned t_contended __attribute__((tls_model("initial-exec")));
#define CONTENDED_STEP	8
#define CONTENDED_MOVE	64
static _Atomic unsigned next_arena;

void mm_lock_slow(mm_lock_t *l)
{
	int e = errno, c;

	for (int i = 0; i < 64; i++) {
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 && mm_trylock(l))
			return;
		__builtin_ia32_pause();
	}
	c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	while (c != 0) {
		syscall(SYS_futex, (int *)&l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	}
	errno = e;
}

void mm_lock_wake(mm_lock_t *l)
{
	int e = errno;

	syscall(SYS_futex, (int *)&l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = e;
}

void arena_init_all(unsigned n, int policy)
{
	mm_narenas = n;
	/* Only the arenas in use, and of them only what is not zero: each
	 * has some 6 KiB of free-list heads, static and so zero already;
	 * writing them would make their pages resident in every process. */
	for (unsigned i = 0; i < n; i++) {
		mm_arenas[i].index = i;
		mm_arenas[i].fl.policy = policy;
	}
}

#define REMOTE_MAX	64

/* Lock held: put back in the heap what other threads gave back. */
void arena_drain_remote(struct arena *a)
{
	struct block *b;
	int n = 0;

	if (MM_LIKELY(!atomic_load_explicit(&a->remote.head, memory_order_relaxed)))
		return;
	b = atomic_exchange_explicit(&a->remote.head, NULL, memory_order_acquire);
	while (b) {
		unsigned k;

		b = heap_take_back(a, seg_lookup(b), b, &k);
		n += (int)k;
	}
	atomic_fetch_sub_explicit(&a->remote.count, n, memory_order_relaxed);
}

void arena_lock(struct arena *a)
{
	mm_lock(&a->lock);
	arena_drain_remote(a);
}

/*
 * Give back n blocks of arena a (B_CACHED, chained first .. last through
 * next_free) without waiting for its lock.
 */
void arena_give_back(struct arena *a, struct block *first, struct block *last, unsigned n)
{
	struct block *h = atomic_load_explicit(&a->remote.head, memory_order_relaxed);

	do
		last->next_free = h;
	while (!atomic_compare_exchange_weak_explicit(&a->remote.head, &h, first,
						      memory_order_release,
						      memory_order_relaxed));
	if (atomic_fetch_add_explicit(&a->remote.count, (int)n, memory_order_relaxed) + (int)n >=
	    REMOTE_MAX && mm_trylock(&a->lock)) {
		atomic_store_explicit(&a->remote.giver_drains, true, memory_order_relaxed);
		arena_drain_remote(a);
		atomic_store_explicit(&a->remote.giver_drains, false, memory_order_relaxed);
		mm_unlock(&a->lock);
	}
}

/* The calling thread's arena, NULL before its first heap allocation. */
struct arena *arena_current(void)
{
	return t_arena;
}

static struct arena *arena_get_locked_slow(struct arena *a)
{
	t_contended += CONTENDED_STEP;
	if (t_contended < CONTENDED_MOVE) {
		mm_lock(&a->lock);
		return a;
	}
	t_contended = 0;
	for (unsigned i = 1; i < mm_narenas; i++) {
		struct arena *o = &mm_arenas[(a->index + i) % mm_narenas];

		if (mm_trylock(&o->lock)) {
			t_arena = o;
			return o;
		}
	}
	mm_lock(&a->lock);
	return a;
}

struct arena *arena_get_locked(void)
{
	struct arena *a = t_arena;

	if (MM_UNLIKELY(!a)) {
		a = &mm_arenas[atomic_fetch_add_explicit(&next_arena, 1, memory_order_relaxed)
			       % mm_narenas];
		t_arena = a;
	}
	if (MM_LIKELY(mm_trylock(&a->lock))) {
		if (t_contended)
			t_contended--;
	} else if (atomic_load_explicit(&a->remote.giver_drains, memory_order_relaxed)) {
		mm_lock(&a->lock);
	} else {
		a = arena_get_locked_slow(a);
	}
	arena_drain_remote(a);
	return a;
}

void arena_lock_all(void)
{
	for (unsigned i = 0; i < mm_narenas; i++)
		mm_lock(&mm_arenas[i].lock);
}

void arena_unlock_all(void)
{
	for (unsigned i = mm_narenas; i-- > 0;)
		mm_unlock(&mm_arenas[i].lock);
}

/* Rebuild every arena's free lists for another policy. */
void arena_set_policy(int policy)
{
	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];

		arena_lock(a);
		fl_init(&a->fl, policy);
		for (struct segment *s = a->segs; s; s = s->next) {
			struct block *end = seg_sentinel(s);

			for (struct block *b = seg_first(s); b != end; b = blk_next(b))
				if (blk_is_free(b))
					fl_insert(&a->fl, b);
		}
		mm_unlock(&a->lock);
	}
}

/*
 * fork(): take every lock so the child sees a consistent heap.  Not in a
 * process that has never had a second thread (glibc's
 * __libc_single_threaded): no lock can be held by anybody else then, and
 * taking them wrote to pages that fork has just made copy-on-write, a
 * fault in the parent and more in the child each time (a shell forks for
 * every command).
 */
static bool fork_locked;

static void atfork_prepare(void)
{
	bool lock = atomic_load(&mm_init_state) == 2 && !__libc_single_threaded;

	/* Written only when it changes: its page is copy-on-write too. */
	if (fork_locked != lock)
		fork_locked = lock;
	if (!lock) {
		if (atomic_load(&mm_init_state) == 2)
			tc_before_fork();
		return;
	}
	tc_atfork_prepare();
	mm_lock(&mm_huge_lock);
	arena_lock_all();
	ps_atfork_prepare();
}

static void atfork_parent(void)
{
	if (!fork_locked)
		return;
	ps_atfork_parent();
	arena_unlock_all();
	mm_unlock(&mm_huge_lock);
	tc_atfork_parent();
}

static void atfork_child(void)
{
	if (!fork_locked)
		return;
	/* Only this thread exists now: the locks are ours to reset. */
	for (unsigned i = 0; i < mm_narenas; i++)
		mm_lock_reinit(&mm_arenas[i].lock);
	mm_lock_reinit(&mm_huge_lock);
	ps_atfork_child();
	tc_atfork_child();
}

int mm_register_atfork(void)
{
	extern int pthread_atfork(void (*)(void), void (*)(void), void (*)(void));

	return pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
