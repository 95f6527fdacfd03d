// SPDX-License-Identifier: MIT
/*
 * malloc_api.c - the standard allocation entry points and initialisation.
 *
 * Small requests are served from the calling thread's cache when it has
 * one; everything else goes to an arena under its lock, or, at or above
 * the mmap threshold, to a mapping of its own.  Initialisation happens at
 * the first call, whoever makes it (under LD_PRELOAD it may be the dynamic
 * loader, before any constructor): it reads the options, seeds the header
 * tag and opens the device, and calls nothing that could allocate.  The
 * constructor registers the fork handlers and lets thread caches start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"
#include "pagesource.h"
#include "valgrind_annot.h"

#define API __attribute__((visibility("default")))

_Atomic int mm_init_state;
uint64_t mm_cookie;
bool mm_ctor_done;

/* CPUs this process may run on (raw call: see sys.h). */
static unsigned cpu_count(void)
{
	unsigned long mask[16];
	unsigned n = 0;
	long len = mm_syscall3(SYS_sched_getaffinity, 0, (long)sizeof(mask), (long)mask);

	/* The kernel returns the bytes it wrote. */
	for (long i = 0; i < len / (long)sizeof(mask[0]); i++)
		n += (unsigned)__builtin_popcountl(mask[i]);
	return n ? n : 1;
}

bool mm_init_slow(void)
{
	int s = 0;

	ps_bss_no_huge_pages();	/* mm_init_state is in it */
	if (atomic_compare_exchange_strong(&mm_init_state, &s, 1)) {
		const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
		unsigned n;
		uint64_t c = (uint64_t)(uintptr_t)&s;

		if (rnd) {
			uint64_t r;

			memcpy(&r, rnd + 8, sizeof(r));
			c ^= r;
		}
		mm_cookie = c | 1;
		options_load();
		vg_init();
		n = mm_opt.arenas ? mm_opt.arenas : cpu_count();
		arena_init_all(n > MM_MAX_ARENAS ? MM_MAX_ARENAS : n, mm_opt.policy);
		s = ps_init() ? 2 : 3;
		atomic_store_explicit(&mm_init_state, s, memory_order_release);
		return s == 2;
	}
	while ((s = atomic_load_explicit(&mm_init_state, memory_order_acquire)) == 1)
		sched_yield();
	return s == 2;
}

/*
 * No initialisation here: a program that never allocates (true, a shell's
 * exec'd helpers) then pays nothing for the library but loading it; no
 * device opened, no page of the library's bss written.
 */
__attribute__((constructor)) static void mm_ctor(void)
{
	mm_register_atfork();
	__atomic_store_n(&mm_ctor_done, true, __ATOMIC_RELEASE);
}

static void *mm_alloc_once(size_t n, size_t align, bool zero)
{
	struct arena *a;
	struct block *b;
	size_t bs, dirty;
	void *p;

	if (!mm_ready() || n > MM_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	bs = mm_block_size(n);
	if (n >= mm_mmap_threshold() ||
	    (align > MM_ALIGN && bs + align >= mm_mmap_threshold())) {
		p = huge_alloc(n, align, 0);
		if (p)
			mm_count_alloc(seg_lookup(p)->huge_usable);
		return p;	/* fresh pages: already zero */
	}
	a = arena_get_locked();
	b = heap_alloc(a, bs, align, &dirty);
	mm_unlock(&a->lock);
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	p = blk_payload(b);
	if (zero)
		memset(p, 0, dirty < n ? dirty : n);
	mm_count_alloc(blk_size(b) - MM_HDR);
	return p;
}

/*
 * The page source refused (ENOMEM: a memory limit, the module's max_pages).
 * The heap may hold free pages it has not given back yet (a pending purge,
 * pads, empty runs): give them back and say whether a retry may succeed.
 */
static bool trimmed_for_retry(void)
{
	int e = errno;
	bool r = mm_trim_all() > 0;

	errno = e;
	return r;
}

static void *mm_alloc(size_t n, size_t align, bool zero)
{
	int e = errno;
	void *p = mm_alloc_once(n, align, zero);

	if (!p && n <= MM_MAX_REQUEST && trimmed_for_retry()) {
		p = mm_alloc_once(n, align, zero);
		if (p)
			errno = e;	/* a success leaves errno as it was */
	}
	return p;
}

static MM_NOINLINE void *malloc_slow(size_t n)
{
	bool m = vg_mute();
	void *p = tc_malloc_slow(n);

	if (!p)
		p = mm_alloc(n, MM_ALIGN, false);
	vg_unmute(m);
	return vg_alloc(p, n, false);
}

/* The fast path: a pop from the thread cache's bin, nothing else. */
API void *malloc(size_t n)
{
	struct tcache *tc = mm_t_tc;
	/* tc_bin_of_req() for 9 .. 984 bytes; smaller n wrap to a huge i */
	size_t i = (n - 9) >> 4;

	if (MM_LIKELY(tc != NULL && mm_policy() == MYMEM_POLICY_FAST)) {
		void *p = NULL;

		if (MM_LIKELY(i < TC_SMALL_BINS))
			p = tc_pop(tc, (unsigned)i);
		else if (n <= TC_MAX_REQ || (n <= MED_MAX_REQ && n < mm_mmap_threshold()))
			p = tc_pop(tc, tc_bin_of_req(n));
		if (MM_LIKELY(p != NULL))
			return p;
	}
	return malloc_slow(n);
}

static MM_NOINLINE __attribute__((noreturn)) void not_ours(const char *fn, void *p)
{
	mm_fatal(fn, p, "invalid pointer: not allocated by mymem, or already freed");
}

static void free_block(void *p)
{
	struct segment *s;
	struct block *b;
	struct tcache *tc;
	size_t h;
	int e = errno;	/* setting up a cache, trimming: calls that may set it */

	s = seg_lookup(p);
	if (MM_UNLIKELY(!s))
		not_ours("free", p);
	if (MM_UNLIKELY(s->magic == SEG_MAGIC_HUGE)) {
		mm_count_free(huge_usable(s, p));
		huge_free(s, p);
		errno = e;
		return;
	}
	if (s->arena != arena_current())
		tc_note_free();		/* a consumer's: see tc_note_free */
	b = blk_of(p);
	mm_validate_inuse("free", s, b);
	h = blk_head(b);
	/* mm_validate_inuse checked a run's block against its run: its size
	 * is then a class size.  A thread caches medium blocks of its own
	 * arena only: one that frees what others allocate (a consumer) would
	 * hoard them.  Blocks of the free lists are never cached: a bin
	 * promises n + RUN_OVER bytes will do, and they have 16-byte headers. */
	if (head_is_run_block(h) &&
	    (head_size(h) <= TC_MAX_BS || s->arena == arena_current())) {
		tc = tc_current();
		if (tc) {
			tc_push(tc, b, h, tc_bin_of(head_size(h)));
			errno = e;
			return;
		}
	}
	mm_count_free(head_usable(h));
	if (s->arena == arena_current()) {
		struct arena *a = s->arena;

		arena_lock(a);
		if (head_is_run_block(h)) {
			unsigned n;

			b->next_free = NULL;	/* a chain of one */
			run_take_back(a, s, b, &n);
		} else {
			mm_validate_prev("free", s, b);
			heap_free(a, s, b);
		}
		mm_unlock(&a->lock);
	} else {
		/* another thread's arena: never wait for its lock */
		blk_set_head_raw(b, blk_head(b) | B_CACHED);
		arena_give_back(s->arena, b, b, 1);
	}
	errno = e;
}

/* Everything free() does not settle inline: blocks of the free lists
 * (above 16 KiB, over-aligned, calloc'ed medium sizes, grown by realloc),
 * huge blocks, another arena's medium blocks, the first free of a thread,
 * other policies, every kind of misuse, and all frees under memcheck (no
 * thread cache there). */
static MM_NOINLINE void free_slow(void *p)
{
	bool m;

	vg_free(p);
	m = vg_mute();
	free_block(p);
	vg_unmute(m);
}

/*
 * A medium block of a run, cached if it is of this thread's arena (a
 * thread that frees what others allocate would hoard them) and its size is
 * exactly its class's (the bin promises that).  Like a small block it is
 * checked against its run when the cache gives it back.
 */
static MM_NOINLINE bool free_medium(struct tcache *tc, struct segment *s, struct block *b,
				    size_t h)
{
	size_t bs = h & RUN_BS_MASK;
	unsigned i = tc_med_bin_of(bs);

	if (s->arena != arena_current() || tc_bin_size(i) != bs)
		return false;
	__builtin_prefetch(&((struct block *)((char *)b + bs))->head);	/* see free() */
	tc_push(tc, b, h, i);
	return true;
}

/*
 * The fast path: find the segment (one byte-map load), check the header
 * (tag, no flags, a cacheable size inside committed memory) and push the
 * block on the cache's bin.  Anything unusual goes to free_slow, which
 * checks everything again and names what is wrong.
 */
API void free(void *p)
{
	uintptr_t a = (uintptr_t)p, off;
	struct segment *s;
	struct tcache *tc = mm_t_tc;
	struct block *b;
	size_t h, bs, committed;
	unsigned v;

	if (MM_UNLIKELY(a >> MM_ADDR_BITS) || MM_UNLIKELY(tc == NULL))
		goto slow;
	v = atomic_load_explicit(&mm_segmap[a >> MM_CHUNK_SHIFT], memory_order_relaxed);
	if (MM_UNLIKELY((uint8_t)(v - 1) >= MM_SEGMAP_FAR - 1))
		goto slow;		/* 0: not ours; MM_SEGMAP_FAR: huge */
	s = (struct segment *)(((a >> MM_CHUNK_SHIFT) + 1 - v) << MM_CHUNK_SHIFT);
	if (MM_UNLIKELY(s->magic != SEG_MAGIC_HEAP))
		goto slow;
	/* The header must be aligned and lie in committed memory before we
	 * read it. */
	off = a - (uintptr_t)s;
	committed = seg_committed(s);
	if (MM_UNLIKELY(off - (MM_SEG_HDR + MM_HDR) >= committed - (MM_SEG_HDR + 2 * MM_HDR) ||
			(a & (MM_ALIGN - 1))))
		goto slow;
	b = blk_of(p);
	h = blk_head(b);
	/* Tag of this address, no flag but B_RUN (free, cached, huge) set. */
	if (MM_UNLIKELY(((h ^ mm_tag_raw(b, h)) >> 56) | (h & (B_FLAGS & ~B_RUN)) ||
			mm_policy() != MYMEM_POLICY_FAST))
		goto slow;
	/* The rest of a block's checks (its run, and the head after it) run
	 * when the cache gives it back (run_take_back): one miss less here. */
	if (MM_LIKELY(h & B_RUN)) {
		bs = h & RUN_BS_MASK;
		/* Not read here, but the next malloc of its class may hand the
		 * block out before the give-back checks it: a size that passed
		 * the tag by chance (1 in 128) must not reach past the pages. */
		if (MM_UNLIKELY(off + bs > committed))
			goto slow;
		if (MM_LIKELY(bs - MM_MIN_BLOCK <= TC_MAX_BS - MM_MIN_BLOCK)) {
			/* The give-back reads the next block's head: a miss
			 * here costs nothing, there it stalls (frag-1t: 6 %
			 * of its time; 14 % with the medium blocks'). */
			__builtin_prefetch(&((struct block *)((char *)b + bs))->head);
			tc_push(tc, b, h, tc_bin_of(bs));
			return;		/* touches no errno: tc_flush_bin keeps it */
		}
		if (bs > TC_MAX_BS && bs <= MED_MAX_BS && free_medium(tc, s, b, h))
			return;
	}
slow:
	if (p)
		free_slow(p);
}

API void cfree(void *p)
{
	free(p);
}

static MM_NOINLINE void *calloc_slow(size_t t)
{
	bool m = vg_mute();
	void *p = mm_alloc(t, MM_ALIGN, true);

	vg_unmute(m);
	return vg_alloc(p, t, true);
}

API void *calloc(size_t n, size_t m)
{
	size_t t;

	if (__builtin_mul_overflow(n, m, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	if (t <= TC_MAX_REQ) {
		struct tcache *tc = mm_t_tc;
		void *p = NULL;

		if (tc != NULL && mm_policy() == MYMEM_POLICY_FAST)
			p = tc_pop(tc, tc_bin_of_req(t));
		if (!p)
			p = tc_malloc_slow(t);
		if (p)
			return memset(p, 0, t);
	}
	return calloc_slow(t);
}

/*
 * Growth by realloc() in steps this small against the block's usable size
 * u (u / 8) is taken as a sign of more to come: a string appended to a few
 * bytes at a time.  Such a block grows by its step and by that much more,
 * so the next steps fit without a resize (and the arena's lock): the block
 * is resized once per eighth of its size, not once per append.  Doubling
 * arrays grow by exactly what they ask.  A block also keeps its size when
 * it shrinks by no more than that share.
 */
static inline size_t grow_slack(size_t u)
{
	return u / 8;
}

/*
 * Resize p's block to hold n bytes without a new block, if possible: in
 * place, or down into a free left neighbour (heap_resize_down; not under
 * memcheck, whose view of the block would have to move with it).  Returns
 * where the payload is now, or NULL.  *old gets the bytes p held before
 * (the request's size under memcheck, else the usable size): what a move
 * has to copy.
 */
static void *resize_here(void *p, size_t n, size_t *old)
{
	struct segment *s = seg_lookup(p);
	struct block *b;
	size_t usable;

	if (!s)
		not_ours("realloc", p);
	if (s->magic == SEG_MAGIC_HUGE) {
		size_t was, now;

		usable = huge_usable(s, p);
		*old = vg_size(p, usable);
		if (n <= usable)
			return n >= usable / 2 ? p : NULL;
		if (!huge_grow(s, p, n, &was, &now))
			return NULL;
		mm_count_free(was);
		mm_count_alloc(now);
		return p;
	}
	b = blk_of(p);
	mm_validate_inuse("realloc", s, b);
	usable = blk_usable(b);
	*old = vg_size(p, usable);
	if (head_is_run_block(blk_head(b)))	/* a run's blocks have one size */
		return n <= usable && n >= usable / 2 ? p : NULL;
	if (n <= usable && usable - n <= grow_slack(usable))
		return p;
	if (n < mm_mmap_threshold()) {
		struct arena *a = s->arena;
		size_t bs = mm_block_size(n), want = bs;
		struct block *nb = NULL;

		if (n > usable && n - usable <= grow_slack(usable) &&
		    n + grow_slack(usable) < mm_mmap_threshold())
			want = mm_block_size(n + grow_slack(usable));
		arena_lock(a);
		mm_validate_prev("realloc", s, b);
		if (heap_resize(a, s, b, bs, want))
			nb = b;
		else if (n > usable && !vg_on())
			nb = heap_resize_down(a, s, b, bs, want, usable);
		mm_unlock(&a->lock);
		if (nb) {
			mm_count_free(usable);
			mm_count_alloc(blk_size(nb) - MM_HDR);
			return blk_payload(nb);
		}
	}
	return NULL;
}

/* Up to here a growing block stays in a run, as malloc() would place it;
 * above, a string grown by appending would move to the next class (16
 * bytes up) at almost every step (at 984: realloc-2t's peak RSS 4 %
 * higher). */
#define GROW_IN_RUNS_MAX	((size_t)504)

/*
 * A block realloc() has to move that is too large for every run class
 * goes to a segment of its own (huge.c), with room to grow into: the next
 * growths commit pages in place instead of copying, as glibc's mremap()
 * of its mmapped chunks does, and its free gives the pages back (or to
 * the growth cache) instead of leaving a hole in the heap only smaller
 * blocks fit.  In the heap, a doubling array leaves holes of a half, a
 * quarter, ... of its size behind it.  From 128 KiB on, the arrays below
 * that left 1.3-2 MiB of free heap blocks at realloc-1t's peak, whose
 * RSS was 8 % over glibc's; from here it is 4 % under (realloc-2t: 14 %
 * over, now even), in the same time.
 */
#define GROW_OWN_SEGMENT	(MED_MAX_REQ + 1)

/* Address space reserved after a block moved to a segment of its own:
 * three times its size, two doublings. */
static size_t grow_room(size_t n)
{
	return n <= MM_MAX_REQUEST / 3 ? 3 * n : 0;
}

/*
 * Where realloc() moves a block that grows from old usable bytes to n: up
 * to GROW_IN_RUNS_MAX where malloc() puts it; above, in the free lists (not
 * a run), where it can grow in place next time, with grow_slack's room
 * when it grows in small steps; from GROW_OWN_SEGMENT (or the mmap
 * threshold, if lower) on, a segment of its own with grow_room after it.
 */
static void *malloc_to_grow(size_t n, size_t old)
{
	void *p;
	bool m;
	int e;

	if (n <= GROW_IN_RUNS_MAX)
		return malloc(n);
	m = vg_mute();
	if (n < mm_mmap_threshold() && n < GROW_OWN_SEGMENT) {
		size_t ask = n;

		if (n - old <= grow_slack(old) && n + grow_slack(old) < mm_mmap_threshold())
			ask = n + grow_slack(old);
		/* From the free lists, not a run: there it can grow in place
		 * next time, a run's block never can. */
		p = mm_alloc(ask, MM_ALIGN, false);
		vg_unmute(m);
		return vg_alloc(p, n, false);
	}
	e = errno;
	p = huge_alloc(n, MM_ALIGN, grow_room(n));
	if (!p && trimmed_for_retry()) {
		p = huge_alloc(n, MM_ALIGN, grow_room(n));
		if (p)
			errno = e;	/* a success leaves errno as it was */
	}
	if (p)
		mm_count_alloc(seg_lookup(p)->huge_usable);
	vg_unmute(m);
	return p ? vg_alloc(p, n, false) : NULL;
}

API void *realloc(void *p, size_t n)
{
	size_t old;
	void *np;
	bool m;

	if (!p)
		return malloc(n);
	if (n == 0) {		/* glibc's behaviour: free, return NULL */
		free(p);
		return NULL;
	}
	if (n > MM_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	m = vg_mute();
	np = resize_here(p, n, &old);
	vg_unmute(m);
	if (np) {
		if (np == p)
			vg_resize(p, old, n);
		return np;
	}
	np = n > old ? malloc_to_grow(n, old) : malloc(n);
	if (!np)
		return NULL;
	memcpy(np, p, n < old ? n : old);
	free(p);
	return np;
}

API void *reallocarray(void *p, size_t n, size_t m)
{
	size_t t;

	if (__builtin_mul_overflow(n, m, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, t);
}

static inline bool pow2(size_t a) { return a && !(a & (a - 1)); }

static void *mm_memalign(size_t align, size_t n)
{
	void *p;
	bool m;

	if (align <= MM_ALIGN)
		return malloc(n);
	if (align > MM_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	m = vg_mute();
	p = mm_alloc(n, align, false);
	vg_unmute(m);
	return vg_alloc(p, n, false);
}

API int posix_memalign(void **out, size_t align, size_t n)
{
	int e = errno;
	void *p;

	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	p = mm_memalign(align, n);
	if (!p) {
		errno = e;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

API void *aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return mm_memalign(align, n);
}

API void *memalign(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return mm_memalign(align, n);
}

API void *valloc(size_t n)
{
	if (!mm_ready()) {
		errno = ENOMEM;
		return NULL;
	}
	return mm_memalign(ps_page_size(), n);
}

API void *pvalloc(size_t n)
{
	size_t pg;

	if (!mm_ready()) {
		errno = ENOMEM;
		return NULL;
	}
	pg = ps_page_size();
	if (n > MM_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	/* Through the exported memalign: valgrind 3.19 replaces memalign and
	 * free in any library but not pvalloc, and its free must get its own
	 * blocks. */
	return memalign(pg, n ? mm_align_up(n, pg) : pg);
}

static size_t usable_size(void *p)
{
	struct segment *s = seg_lookup(p);

	if (!s)
		not_ours("malloc_usable_size", p);
	if (s->magic == SEG_MAGIC_HUGE)
		return huge_usable(s, p);
	mm_validate_inuse("malloc_usable_size", s, blk_of(p));
	return blk_usable(blk_of(p));
}

/* Under memcheck the size asked for, as valgrind's own malloc answers:
 * the bytes past it are redzones. */
API size_t malloc_usable_size(void *p)
{
	size_t u;
	bool m;

	if (!p)
		return 0;
	m = vg_mute();
	u = usable_size(p);
	u = vg_size(p, u);
	vg_unmute(m);
	return u;
}

/* glibc-internal names some programs call directly (as mimalloc does). */
#define ALIAS(name, target) \
	extern __typeof(target) name __attribute__((alias(#target), copy(target), visibility("default")))
ALIAS(__libc_malloc, malloc);
ALIAS(__libc_free, free);
ALIAS(__libc_calloc, calloc);
ALIAS(__libc_realloc, realloc);
ALIAS(__libc_memalign, memalign);
ALIAS(__libc_valloc, valloc);
ALIAS(__libc_pvalloc, pvalloc);
