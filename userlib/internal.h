/* SPDX-License-Identifier: MIT */
/*
 * internal.h - data structures and invariants shared by the files of
 * libmymem.  Nothing here is exported.
 *
 * The one idea: memory comes from the page source in *segments*; a heap
 * segment is a row of *blocks*, each with a 16-byte header in front of
 * its payload and each of whose sizes is repeated at its end (in the
 * prev_size field of the following header): the boundary tags.  (A run,
 * run.c, is one such block cut into blocks of one size with 8-byte
 * headers.)  A heap
 * segment ends with a size-0 sentinel header.  Free blocks sit on the free
 * lists of the segment's *arena*; no two free blocks are ever neighbours.
 *
 *   segment:  [segment header 64][blk hdr|payload][blk hdr|payload]...[sentinel]
 *   block:    prev_size  size of the block before (0 for the first block)
 *             head       tag(8 bits) | size (multiple of 16) | flags(4 bits)
 *             payload    (free blocks: next_free, prev_free links)
 *
 * Each segment is reserved as address space once (PROT_NONE) and pages
 * are committed from the page source as the heap grows and decommitted
 * when its top stays free (trim).  Requests above the mmap threshold get
 * a segment of their own (a "huge" block).  A byte map indexed by 4 MiB
 * chunk finds the segment of any pointer, so free() can reject pointers
 * the heap never gave out without touching them first.
 */
#ifndef MYMEM_INTERNAL_H
#define MYMEM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include "mymem.h"

#define MM_HIDDEN	__attribute__((visibility("hidden")))
#define MM_LIKELY(x)	__builtin_expect(!!(x), 1)
#define MM_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define MM_NOINLINE	__attribute__((noinline))

/* ---- geometry ---------------------------------------------------------- */

#define MM_ALIGN	16u	/* == alignof(max_align_t) on x86-64 / aarch64 */
#define MM_HDR		16u	/* block header: prev_size + head */
#define MM_MIN_BLOCK	32u	/* header + two free-list links */
#define MM_SEG_HDR	64u	/* segment header, keeps payloads 16-aligned */
#define MM_CHUNK_SHIFT	22	/* segments start on 4 MiB boundaries */
#define MM_CHUNK	((size_t)1 << MM_CHUNK_SHIFT)
#define MM_ADDR_BITS	47	/* user address space covered by the map */

/* Largest request we even try: keeps every size computation far from
 * overflow and every size inside the 52 size bits of the head word. */
#define MM_MAX_REQUEST	(((size_t)1 << 46))

_Static_assert(MM_ALIGN == _Alignof(max_align_t), "blocks must honour max_align_t");
_Static_assert(MM_HDR % MM_ALIGN == 0, "header keeps payload aligned");
_Static_assert(MM_SEG_HDR % MM_ALIGN == 0 && MM_SEG_HDR >= 48, "segment header");

/* ---- size classes of the thread caches and runs ------------------------- */

/*
 * Small classes: every block size from 32 to 992 bytes in 16-byte steps
 * (bins 0 .. 60).  Medium classes: sixteen per doubling from 1024 to
 * 16384 bytes (bins 61 .. 125), each 1/16 of a power of two above the one
 * below, so a block wastes less than 6.25 % (8 per doubling made frag's
 * peak RSS 6.5 % higher).  Runs serve every class: a block of one has
 * an 8-byte header, so a request of n bytes takes the class that holds
 * n + RUN_OVER.
 */
#define TC_SMALL_BINS	61
#define MED_LOG		4	/* 16 medium classes per doubling */
#define MED_STEPS	(1u << MED_LOG)
#define TC_MED_BINS	(4 * MED_STEPS + 1)	/* 1024, then 4 doublings to 16384 */
#define TC_BINS		(TC_SMALL_BINS + TC_MED_BINS)
#define TC_MAX_BS	(MM_MIN_BLOCK + (TC_SMALL_BINS - 1) * MM_ALIGN)	/* 992 */
#define MED_MAX_BS	((size_t)16384)
#define RUN_OVER	((size_t)8)	/* header bytes of a run's block (see blocks) */
#define TC_MAX_REQ	(TC_MAX_BS - RUN_OVER)	/* the small sizes: up to 984 */
#define MED_MAX_REQ	(MED_MAX_BS - RUN_OVER)

static inline size_t tc_bin_size(unsigned i)
{
	unsigned m, e;

	if (i < TC_SMALL_BINS)
		return MM_MIN_BLOCK + (size_t)i * MM_ALIGN;
	m = i - TC_SMALL_BINS;
	if (m == 0)
		return 1024;
	e = 10 + (m - 1) / MED_STEPS;
	return ((size_t)1 << e) + (size_t)((m - 1) % MED_STEPS + 1) * ((size_t)1 << (e - MED_LOG));
}

/* The medium class that holds block size bs (TC_MAX_BS < bs <= MED_MAX_BS). */
static inline unsigned tc_med_bin_of(size_t bs)
{
	unsigned e;

	if (bs <= 1024)
		return TC_SMALL_BINS;
	e = 63 - (unsigned)__builtin_clzll(bs - 1);
	return TC_SMALL_BINS + (e - 10) * MED_STEPS +
	       (unsigned)((bs - 1) >> (e - MED_LOG) & (MED_STEPS - 1)) + 1;
}

/* The bin of block size bs: exact for small sizes, the class that holds
 * it for medium ones (bs <= MED_MAX_BS). */
static inline unsigned tc_bin_of(size_t bs)
{
	if (bs <= TC_MAX_BS)
		return (unsigned)(bs >> 4) - 2;
	return tc_med_bin_of(bs);
}

/*
 * The bin for a request of n bytes (n <= MED_MAX_REQ): the class that
 * holds n + RUN_OVER.  malloc() inlines the small case for 9 .. 984 bytes.
 */
static inline unsigned tc_bin_of_req(size_t n)
{
	if (n <= TC_MAX_REQ)
		return n <= MM_MIN_BLOCK - RUN_OVER ? 0 :
		       (unsigned)((n + RUN_OVER + MM_ALIGN - 1) >> 4) - 2;
	return tc_med_bin_of(n + RUN_OVER);
}

/* The bytes a block of bin i gives its caller. */
static inline size_t tc_bin_usable(unsigned i)
{
	return tc_bin_size(i) - RUN_OVER;
}

/* ---- blocks ------------------------------------------------------------ */

#define B_FREE		((size_t)1)	/* on a free list of its arena */
#define B_CACHED	((size_t)2)	/* parked in a thread cache (in use for the heap) */
#define B_HUGE		((size_t)4)	/* the only block of a huge segment */
#define B_RUN		((size_t)8)	/* a block of a run (run.c) */
#define B_RUN_HEAP	(B_RUN | B_HUGE)	/* the heap block that holds a run */
#define B_FLAGS		((size_t)15)
#define B_SIZE_MASK	((((size_t)1 << 56) - 1) & ~B_FLAGS)
#define B_TAG_MASK	(~(((size_t)1 << 56) - 1))

/*
 * A block of a run has an 8-byte header: only its head word is its own;
 * the prev_size word in front of it is the last 8 bytes of the block
 * before (runs need no boundary tags).  Its head holds the distance back
 * to the run where other blocks keep the high size bits:
 *   tag(8 bits) | offset to the run (bits 16..55) | size (bits 4..15) | flags
 */
#define RUN_BS_MASK	((size_t)0xfff0)
#define RUN_OFF_SHIFT	16

static inline bool head_is_run_block(size_t h)
{
	return (h & B_RUN_HEAP) == B_RUN;
}
/* The block size a head word gives, for any block. */
static inline size_t head_size(size_t h)
{
	return h & (head_is_run_block(h) ? RUN_BS_MASK : B_SIZE_MASK);
}
/* ... and the bytes its caller may use. */
static inline size_t head_usable(size_t h)
{
	return head_size(h) - (head_is_run_block(h) ? RUN_OVER : MM_HDR);
}
static inline size_t head_run_off(size_t h)
{
	return (h & B_SIZE_MASK) >> RUN_OFF_SHIFT;
}

struct block {
	size_t prev_size;	/* boundary tag of the previous block; 0 = first */
	size_t head;		/* tag | size | flags; accessed with relaxed atomics */
	/* only while B_FREE (or B_CACHED: next_free links the cache) */
	struct block *next_free;
	struct block *prev_free;
};

extern MM_HIDDEN uint64_t mm_cookie;

/*
 * The tag of a head word h at address b sits in the top 8 bits of this;
 * the rest is noise.  Its lowest bit is always set, so a zeroed header (a
 * merged block, calloc'ed bytes) never carries a valid tag.  It covers the
 * low size bits of h too: a run's block has no prev_size in front of its
 * head, so an overflow of the block before by a byte or two lands in
 * exactly those bits, and free() must not then file the block by a
 * changed size.
 */
#define B_TAG_MIX	((size_t)0xfff0)
static inline size_t mm_tag_raw(const void *b, size_t h)
{
	return (size_t)(((uint64_t)(uintptr_t)b ^ mm_cookie ^ (h & B_TAG_MIX)) *
			0x9E3779B97F4A7C15ull) | ((size_t)1 << 56);
}
static inline size_t mm_tag(const void *b, size_t h)
{
	return mm_tag_raw(b, h) & B_TAG_MASK;
}
_Static_assert(B_TAG_MASK == ~(size_t)0 << 56, "tag: the top 8 bits");

static inline size_t blk_head(const struct block *b)
{
	return __atomic_load_n(&b->head, __ATOMIC_RELAXED);
}

static inline void blk_set_head_raw(struct block *b, size_t h)
{
	__atomic_store_n(&b->head, h, __ATOMIC_RELAXED);
}

static inline void blk_set(struct block *b, size_t size, size_t flags)
{
	blk_set_head_raw(b, mm_tag(b, size) | size | flags);
}

/* The size of a block of the heap (head_size() for any block). */
static inline size_t blk_size(const struct block *b) { return blk_head(b) & B_SIZE_MASK; }
static inline size_t blk_usable(const struct block *b) { return head_usable(blk_head(b)); }
static inline bool blk_is_free(const struct block *b) { return blk_head(b) & B_FREE; }
static inline bool blk_tag_ok(const struct block *b)
{
	size_t h = blk_head(b);

	return (h & B_TAG_MASK) == mm_tag(b, h);
}
static inline struct block *blk_next(const struct block *b)
{
	return (struct block *)((char *)b + blk_size(b));
}
static inline struct block *blk_prev(const struct block *b)
{
	return b->prev_size ? (struct block *)((char *)b - b->prev_size) : NULL;
}
static inline void *blk_payload(const struct block *b) { return (char *)b + MM_HDR; }
static inline struct block *blk_of(const void *p) { return (struct block *)((char *)p - MM_HDR); }

/* Block size for a request of n bytes (n <= MM_MAX_REQUEST). */
static inline size_t mm_block_size(size_t n)
{
	size_t s = (n + MM_HDR + MM_ALIGN - 1) & ~(size_t)(MM_ALIGN - 1);
	return s < MM_MIN_BLOCK ? MM_MIN_BLOCK : s;
}

static inline size_t mm_align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

/* ---- locks ------------------------------------------------------------- */

/* A three-state futex lock (0 free, 1 held, 2 held with waiters). */
typedef struct { _Atomic int v; } mm_lock_t;
#define MM_LOCK_INIT { 0 }

MM_HIDDEN void mm_lock_slow(mm_lock_t *l);
MM_HIDDEN void mm_lock_wake(mm_lock_t *l);

static inline bool mm_trylock(mm_lock_t *l)
{
	int c = 0;
	return atomic_compare_exchange_strong_explicit(&l->v, &c, 1,
			memory_order_acquire, memory_order_relaxed);
}
static inline void mm_lock(mm_lock_t *l)
{
	if (!mm_trylock(l))
		mm_lock_slow(l);
}
static inline void mm_unlock(mm_lock_t *l)
{
	if (atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2)
		mm_lock_wake(l);
}
static inline void mm_lock_reinit(mm_lock_t *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}

/* ---- segments ---------------------------------------------------------- */

enum { SEG_HEAP = 1, SEG_HUGE = 2 };
#define SEG_MAGIC_HEAP	0x6d796d656d534547ull	/* "mymemSEG" */
#define SEG_MAGIC_HUGE	0x6d796d656d485547ull	/* "mymemHUG" */
#define SEG_MAGIC_CACHED 0x6d796d656d474357ull	/* "mymemGCW": in the growth cache, no block */

struct arena;

struct segment {
	uint64_t magic;
	size_t reserved;	/* address space held, from the segment start */
	size_t committed;	/* bytes backed by pages, from the segment start */
	struct arena *arena;	/* NULL for huge segments */
	struct segment *next;	/* arena's segments in address order */
	struct segment *prev;
	union {
		char *dirty_end;	/* heap: payload bytes at or above this were never handed out */
		char *huge_payload;	/* huge: the block's payload */
		int64_t cached_at;	/* in the growth cache: when it was freed (huge.c) */
	};
	union {
		size_t huge_usable;	/* huge: bytes the caller may use (committed) */
		char *top_reused;	/* heap: highest block end handed out (heap.c: purge) */
	};
};
_Static_assert(sizeof(struct segment) <= MM_SEG_HDR, "segment header fits");

static inline struct block *seg_first(const struct segment *s)
{
	return (struct block *)((char *)s + MM_SEG_HDR);
}
/* committed changes under the arena lock but is read without it (free's
 * quick checks): relaxed atomics keep that well-defined. */
static inline size_t seg_committed(const struct segment *s)
{
	return __atomic_load_n(&s->committed, __ATOMIC_RELAXED);
}
static inline void seg_set_committed(struct segment *s, size_t v)
{
	__atomic_store_n(&s->committed, v, __ATOMIC_RELAXED);
}
static inline struct block *seg_sentinel(const struct segment *s)
{
	return (struct block *)((char *)s + seg_committed(s) - MM_HDR);
}

/* segment.c */
#define MM_SEGMAP_FAR	255	/* segmap value: at least 254 chunks from the start */
extern MM_HIDDEN _Atomic uint8_t mm_segmap[(size_t)1 << (MM_ADDR_BITS - MM_CHUNK_SHIFT)];
MM_HIDDEN struct segment *seg_lookup_far(uintptr_t a);

static inline struct segment *seg_check(struct segment *s, uintptr_t a)
{
	if (s->magic != SEG_MAGIC_HEAP && s->magic != SEG_MAGIC_HUGE)
		return NULL;
	if (a < (uintptr_t)s + MM_SEG_HDR || a >= (uintptr_t)s + s->reserved)
		return NULL;
	return s;
}

/* The segment holding p, or NULL if p is not inside the heap. */
static inline struct segment *seg_lookup(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	uint8_t v;

	if (MM_UNLIKELY(a >> MM_ADDR_BITS))
		return NULL;
	v = atomic_load_explicit(&mm_segmap[a >> MM_CHUNK_SHIFT], memory_order_acquire);
	if (MM_LIKELY(v != 0 && v != MM_SEGMAP_FAR))
		return seg_check((struct segment *)(((a >> MM_CHUNK_SHIFT) - (v - 1)) << MM_CHUNK_SHIFT), a);
	return v ? seg_lookup_far(a) : NULL;
}
MM_HIDDEN void seg_map_set(void *base, size_t len, bool on);
MM_HIDDEN struct segment *seg_create(struct arena *a, size_t min_block);
MM_HIDDEN struct block *seg_grow(struct arena *a, struct segment *s, size_t add);
MM_HIDDEN size_t seg_trim_top(struct arena *a, struct segment *s, size_t keep);
MM_HIDDEN void seg_destroy(struct arena *a, struct segment *s);
MM_HIDDEN struct block *seg_top_free(const struct segment *s);
/* Bytes to commit when a segment must grow by at least want (0: full). */
MM_HIDDEN size_t seg_grow_step(const struct segment *s, size_t want);

/* ---- free lists and policies (freelist.c) ------------------------------- */

#define TLSF_SL_LOG2	4
#define TLSF_SL_COUNT	(1u << TLSF_SL_LOG2)
#define TLSF_SMALL	(1u << (TLSF_SL_LOG2 + 4))	/* exact 16-byte classes below */
#define TLSF_FL_COUNT	42

struct freelists {
	int policy;			/* enum mymem_policy */
	/* MYMEM_POLICY_FAST: two-level segregated fit (TLSF) */
	uint64_t fl_bitmap;
	uint32_t sl_bitmap[TLSF_FL_COUNT];
	size_t count;			/* blocks on the lists */
	size_t bytes;			/* bytes on the lists */
	/* first/next/best/worst fit: one list in address order */
	struct block *addr_head;
	struct block *rover;		/* next fit: where the last search ended */
	/* last: the small sizes' rows share the page of everything above */
	struct block *heads[TLSF_FL_COUNT][TLSF_SL_COUNT];
};

MM_HIDDEN void fl_init(struct freelists *f, int policy);
MM_HIDDEN void fl_insert(struct freelists *f, struct block *b);
MM_HIDDEN void fl_remove(struct freelists *f, struct block *b);
MM_HIDDEN struct block *fl_find(struct freelists *f, size_t size);
/* Fast policy: a block of at least size bytes for which ok() holds, among
 * the first few that fit, smallest classes first; NULL if none. */
MM_HIDDEN struct block *fl_find_such(struct freelists *f, size_t size,
				     bool (*ok)(const struct block *));
MM_HIDDEN int fl_check(struct freelists *f, const struct arena *owner,
		       size_t *count, size_t *bytes, size_t *largest);
MM_HIDDEN size_t fl_largest(struct freelists *f);

/* ---- arenas (arena.c) --------------------------------------------------- */

#define MM_MAX_ARENAS	64

/* Operations and bytes allocated and freed (statistics). */
struct counters {
	_Atomic uint64_t alloc_count, free_count, alloc_bytes, free_bytes;
};

/*
 * What an allocation from the free lists writes comes first, the lists'
 * heads for large sizes last: in a page-aligned arena 0 (arena.c) a
 * process without a cache (one that forks often, thread_cache.c) writes
 * one page of it, which after each fork is one copy-on-write fault, not
 * three.
 */
struct arena {
	mm_lock_t lock;
	unsigned index;
	struct segment *segs;		/* address order */
	unsigned nsegs;
	/* the heap's own view, updated under the lock */
	size_t used_bytes;		/* block sizes of blocks not free */
	size_t used_blocks;
	size_t committed;		/* bytes committed in this arena's segments */
	/* Free top bytes a purge keeps: rises when the heap grows right back
	 * after a purge, falls at a purge more than a second after the last
	 * growth (heap.c). */
	size_t trim_pad;
	size_t released;		/* bytes trims released since the last growth */
	int64_t grown_at;		/* coarse monotonic ms of the last growth */
	int64_t purge_due;		/* coarse monotonic ms a purge is due at; 0: none */
	unsigned purge_ticks;		/* heap_alloc calls, to look at the clock rarely */
	/* Arena 0's only: the operations no thread cache counts (threads
	 * without one, huge blocks of threads without one); atomics, on a
	 * line of their own, on the page of the lock they are written with. */
	struct counters uncached __attribute__((aligned(64)));
	struct freelists fl __attribute__((aligned(64)));
	/* Runs with blocks to give, by thread-cache bin (run.c), and the
	 * blocks of all runs not out (given back or never carved yet). */
	struct run *runs[TC_BINS];
	size_t run_free_blocks, run_free_bytes;
	/* Blocks other threads freed, waiting for this arena's next lock
	 * holder (arena.c); a line of its own, as other threads write it. */
	struct {
		struct block *_Atomic head;	/* linked through next_free */
		_Atomic unsigned count;
		_Atomic bool giver_drains;	/* the lock holder is a giver (arena.c) */
	} remote __attribute__((aligned(64)));
} __attribute__((aligned(64)));

extern MM_HIDDEN struct arena mm_arenas[MM_MAX_ARENAS];
extern MM_HIDDEN unsigned mm_narenas;

MM_HIDDEN void arena_init_all(unsigned n, int policy);
MM_HIDDEN struct arena *arena_get_locked(void);
MM_HIDDEN void arena_lock(struct arena *a);
MM_HIDDEN void arena_give_back(struct arena *a, struct block *first, struct block *last,
			       unsigned n);
MM_HIDDEN void arena_drain_remote(struct arena *a);
MM_HIDDEN struct arena *arena_current(void);
MM_HIDDEN void arena_set_policy(int policy);
MM_HIDDEN int mm_register_atfork(void);
MM_HIDDEN void arena_lock_all(void);
MM_HIDDEN void arena_unlock_all(void);

/* ---- the heap proper (heap.c) ------------------------------------------- */

/* Allocate a block of block-size bs whose payload is aligned to align
 * (a power of two >= 16).  *dirty gets how many payload bytes may be
 * non-zero (calloc clears only those).  Arena locked. */
MM_HIDDEN struct block *heap_alloc(struct arena *a, size_t bs, size_t align, size_t *dirty);
/* Carry out the arena's pending purge if it is due (checks 1 call in 64;
 * arena locked; heap.c, "deferred purge"). */
MM_HIDDEN void heap_purge_tick(struct arena *a);
/* Free an in-use block of segment s (arena locked); coalesces at once. */
MM_HIDDEN void heap_free(struct arena *a, struct segment *s, struct block *b);
/* Blocks of a chain (B_CACHED, linked through next_free) back into the heap
 * from b on (arena locked): returns the first not taken, *n how many were. */
MM_HIDDEN struct block *heap_take_back(struct arena *a, struct segment *s, struct block *b,
				       unsigned *n);
/* Resize in place to block-size bs, growing up to want (>= bs) where the
 * room is there; false if even bs is impossible. */
MM_HIDDEN bool heap_resize(struct arena *a, struct segment *s, struct block *b, size_t bs,
			   size_t want);
/* Grow b to bs (up to want) into its free left neighbour, moving copy
 * bytes of payload down; the block, or NULL (nothing changed). */
MM_HIDDEN struct block *heap_resize_down(struct arena *a, struct segment *s, struct block *b,
					 size_t bs, size_t want, size_t copy);
MM_HIDDEN size_t heap_trim_arena(struct arena *a);
/* Coarse monotonic milliseconds, never 0; 0 when there is no clock (a
 * seccomp filter refusing the call): a purge then happens at once. */
MM_HIDDEN int64_t mm_coarse_ms(void);
/* Every arena's free pages back to the page source now (control.c). */
MM_HIDDEN size_t mm_trim_all(void);

/* ---- runs: blocks of one size class (run.c) ----------------------------- */

/*
 * Blocks of the thread caches' size classes come from runs: a
 * heap block (flagged B_RUN_HEAP) cut into blocks of one size, each with
 * an 8-byte header whose head word holds the distance back to the run (see
 * blocks).  They go back to their run, not into the free lists: no
 * coalescing, no free-list search, for the sizes programs allocate most.
 */

/* Up to k blocks of bin cls (B_CACHED, chained through next_free in
 * address order; *tail gets the last), *n how many: 0 when out of memory. */
MM_HIDDEN struct block *run_alloc(struct arena *a, unsigned cls, unsigned k, unsigned *n,
				  struct block **tail);
/* A block of a run back into its run, and the blocks of the same run that
 * follow it in its chain (arena locked; each checked first): returns the
 * first block not taken, *n how many were. */
MM_HIDDEN struct block *run_take_back(struct arena *a, struct segment *s, struct block *b,
				      unsigned *n);
/* Check that b is a block some run handed out (aborts otherwise). */
MM_HIDDEN void run_validate(const char *fn, struct segment *s, struct block *b);
/* Give the heap every run with no block out (arena locked). */
MM_HIDDEN void run_release_empty(struct arena *a);
/* For mymem_check(): verify run block c (0 or a MYMEM_E_* code), add the
 * usable bytes of the blocks the program holds (neither free nor cached)
 * to *user, 1 to *listed if it is on its arena's list, and its blocks not
 * out to free[0], their bytes to free[1]. */
MM_HIDDEN int run_check(struct block *c, size_t *user, size_t *listed, size_t free[2]);
/* ... and that the arena's lists hold exactly the listed runs run_check saw. */
MM_HIDDEN int run_check_lists(struct arena *a, size_t listed);
/* The usable bytes of the blocks of run block c the program holds. */
MM_HIDDEN size_t run_user_bytes(struct block *c);
/* Block size and blocks out of run block c, for the heap dump; false if
 * its record is damaged. */
MM_HIDDEN bool run_describe(struct block *c, size_t *bs, size_t *used, size_t *capacity);

/* ---- huge blocks (huge.c) ----------------------------------------------- */

/* A block of n bytes in a segment of its own, with room bytes of address
 * space reserved after it to grow into (huge_grow).  A block with room
 * may be given a segment of the growth cache: its bytes are not zero. */
MM_HIDDEN void *huge_alloc(size_t n, size_t align, size_t room);
/* Give back the growth cache's segments; returns the bytes released. */
MM_HIDDEN size_t huge_cache_drain(void);
/* mymem_check() of the growth cache (huge lock held): 0 or an enum
 * mymem_error. */
MM_HIDDEN int huge_cache_check(void);
MM_HIDDEN void huge_free(struct segment *s, void *p);
MM_HIDDEN size_t huge_usable(struct segment *s, void *p);
/* Grow p's block in place to at least n bytes: false if out of room or
 * pages.  On success *old_usable and *new_usable tell the sizes. */
MM_HIDDEN bool huge_grow(struct segment *s, void *p, size_t n, size_t *old_usable,
			 size_t *new_usable);
static inline struct block *huge_block(const struct segment *s)
{
	return blk_of(s->huge_payload);
}
extern MM_HIDDEN _Atomic size_t mm_huge_bytes, mm_huge_count;
extern MM_HIDDEN mm_lock_t mm_huge_lock;		/* guards the list below */
extern MM_HIDDEN struct segment *mm_huge_list;

/* ---- thread caches (thread_cache.c) -------------------------------------- */

/*
 * Bin i holds free blocks of exactly tc_bin_size(i) bytes (see the size
 * classes above), parked LIFO and marked B_CACHED.  The operations the
 * cache serves are counted per bin: the bin gives the size, so the fast
 * paths update the bin's count (and free one more counter); the statistics
 * multiply out.
 */

static inline void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	/* Owner-only counters: a relaxed load + store, no locked RMW. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* The same for plain fields that other threads only read. */
#define OWNER_ADD(field, v) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

struct tcache {
	struct block *bin[TC_BINS];
	uint32_t count[TC_BINS];
	uint64_t nfree[TC_BINS];	/* frees parked in bin i */
	/* blocks put in bin i by refills, taken out by flushes: the mallocs
	 * served from it are refilled + nfree - flushed - count */
	uint64_t refilled[TC_BINS], flushed[TC_BINS];
	uint8_t fill[TC_BINS];		/* blocks the next refill carves (0: first) */
	uint8_t nursery[TC_BINS];	/* blocks of bin i's size taken from the free lists */
	/* blocks bin i holds before it flushes: tc_limit[i], or fewer while
	 * it holds another arena's blocks that this thread does not reuse
	 * (tc_flush_bin) */
	uint8_t limit[TC_BINS];
	uint64_t served_at_flush[TC_BINS];	/* mallocs served from bin i at its last flush */
	struct counters ctr;		/* this thread's other operations */
	struct tcache *next, *prev;	/* all live caches */
};


/* The calling thread's cache, NULL until it sets one up (thread_cache.c:
 * TC_FIRST), while it registers its exit handler and while a fork parked
 * it (initial-exec TLS: one load). */
extern MM_HIDDEN __thread struct tcache *mm_t_tc __attribute__((tls_model("initial-exec")));
extern MM_HIDDEN const uint8_t tc_limit[TC_BINS];

MM_HIDDEN void *tc_malloc_slow(size_t n);	/* NULL: use the arena path */
MM_HIDDEN void tc_flush_bin(struct tcache *tc, unsigned i);
MM_HIDDEN struct tcache *tc_current(void);	/* NULL when not active */
MM_HIDDEN void tc_note_free(void);	/* a free without a cache (TC_FIRST) */
MM_HIDDEN void tc_flush_current(void);
MM_HIDDEN void tc_before_fork(void);	/* one-thread process (arena.c) */
MM_HIDDEN void tc_sum(struct counters *out, uint64_t *held_bytes, uint64_t *held_blocks);
MM_HIDDEN void tc_atfork_prepare(void);
MM_HIDDEN void tc_atfork_parent(void);
MM_HIDDEN void tc_atfork_child(void);

/* Park in-use block b (head word h, size bin i) in the cache; a full bin
 * sends its older half back to the heap. */
static inline void tc_push(struct tcache *tc, struct block *b, size_t h, unsigned i)
{
	uint32_t c = tc->count[i] + 1;

	blk_set_head_raw(b, h | B_CACHED);
	b->next_free = tc->bin[i];
	tc->bin[i] = b;
	OWNER_ADD(tc->nfree[i], 1);
	__atomic_store_n(&tc->count[i], c, __ATOMIC_RELAXED);
	if (MM_UNLIKELY(c > tc->limit[i]))
		tc_flush_bin(tc, i);
}

/* Take a block from bin i, or NULL. */
static inline void *tc_pop(struct tcache *tc, unsigned i)
{
	struct block *b = tc->bin[i];

	if (MM_UNLIKELY(!b))
		return NULL;
	tc->bin[i] = b->next_free;
	__atomic_store_n(&tc->count[i], tc->count[i] - 1, __ATOMIC_RELAXED);
	blk_set_head_raw(b, blk_head(b) & ~B_CACHED);
	return blk_payload(b);
}

/* Operations made without a thread cache count in mm_arenas[0].uncached. */
/* Set in a child forked from a threaded parent (see check.c). */
extern MM_HIDDEN _Atomic bool mm_stats_rebase;
MM_HIDDEN void mm_fork_rebase(void);
MM_HIDDEN void mm_count_alloc(size_t usable);
MM_HIDDEN void mm_count_free(size_t usable);

/* ---- options (options.c) ------------------------------------------------ */

struct mm_options {
	int policy;
	size_t mmap_threshold;
	size_t trim_threshold;
	size_t top_pad;
	unsigned purge_delay_ms;	/* free tops wait this long (heap.c); 0: at once */
	bool dyn_threshold;		/* neither threshold set: adapt them (huge.c) */
	unsigned arenas;		/* 0: from the CPU count */
	bool require_device;
	bool tcache;
	unsigned nursery;		/* blocks of a size from the free lists first (thread_cache.c) */
	char device[64];
};
extern MM_HIDDEN struct mm_options mm_opt;
MM_HIDDEN void options_load(void);
static inline size_t mm_mmap_threshold(void)
{
	return __atomic_load_n(&mm_opt.mmap_threshold, __ATOMIC_RELAXED);
}
static inline size_t mm_trim_threshold(void)
{
	return __atomic_load_n(&mm_opt.trim_threshold, __ATOMIC_RELAXED);
}
static inline size_t mm_top_pad(void)
{
	return __atomic_load_n(&mm_opt.top_pad, __ATOMIC_RELAXED);
}
static inline unsigned mm_purge_delay_ms(void)
{
	return __atomic_load_n(&mm_opt.purge_delay_ms, __ATOMIC_RELAXED);
}
static inline int mm_policy(void)
{
	return __atomic_load_n(&mm_opt.policy, __ATOMIC_RELAXED);
}

/* ---- init and errors (malloc_api.c, errors.c) --------------------------- */

extern MM_HIDDEN bool mm_ctor_done;
extern MM_HIDDEN _Atomic int mm_init_state;	/* 0 none, 1 running, 2 done, 3 failed */
MM_HIDDEN bool mm_init_slow(void);
static inline bool mm_ready(void)
{
	int s = atomic_load_explicit(&mm_init_state, memory_order_acquire);
	return MM_LIKELY(s == 2) || mm_init_slow();
}

MM_HIDDEN void mm_write_str(int fd, const char *s);
MM_HIDDEN __attribute__((noreturn)) void mm_fatal(const char *what, const void *ptr, const char *why);

/* Validate an in-use heap block before freeing or resizing it (aborts). */
MM_HIDDEN void mm_validate_inuse(const char *fn, struct segment *s, struct block *b);
/* ... and its left neighbour (arena lock held). */
MM_HIDDEN void mm_validate_prev(const char *fn, struct segment *s, struct block *b);

#endif /* MYMEM_INTERNAL_H */
