// SPDX-License-Identifier: MIT
/*
 * run.c - runs: heap blocks cut into blocks of one size, the source the
 * thread caches refill from for every size class (32 bytes to 16 KiB, see
 * internal.h).
 *
 * Programs allocate and free small blocks most, and in bulk.  Through the
 * free lists each such free costs a boundary-tag check, a coalesce with
 * both neighbours and a free-list insert; in a run it is a push on the
 * run's own list.  A run is an ordinary in-use block of the heap (flagged
 * B_RUN_HEAP), so the heap around it keeps all its invariants.  Its
 * blocks need no boundary tags, so each has an 8-byte header: one head
 * word (tag, size, flags and the distance back to the run), which free(),
 * realloc() and malloc_usable_size() check as they check any block.  The
 * 8 bytes in front of it, where other blocks keep their prev_size, are
 * the last 8 bytes of the block before.
 *
 *   run's heap block: [hdr|struct run 64][-|head|payload][-|head|payload]...[tail]
 *        the first block's unused prev_size ^        bump ^
 *
 * The last block's payload takes the first 8 bytes after r->end, so the
 * heap block ends at least that much after it.
 *
 * Blocks are carved at the bump pointer as they are asked for, so a fresh
 * run touches only the pages it hands out.  A run with no block out goes
 * back to the heap, unless it is its size's only run with blocks to give
 * (a size that is freed and asked for again would otherwise make and
 * unmake a run each time); mymem_trim() returns those too.
 *
 * Everything here runs with the arena's lock held, except run_validate,
 * which reads only what cannot change while the caller holds the block.
 */
#include "internal.h"

#define RUN_MAGIC	0x6d796d656d52554eull	/* "mymemRUN" */

struct run {
	size_t magic;		/* RUN_MAGIC ^ the tag of this address */
	struct run *next, *prev;	/* the arena's runs of this size with blocks to give */
	struct block *free;	/* blocks given back, linked through next_free */
	char *bump;		/* first block never handed out (atomic: run_bump) */
	char *end;		/* end of the last whole block */
	uint32_t bs;		/* block size */
	uint32_t used;		/* blocks out: in use or in a thread cache */
	uint32_t recip;		/* 2^32 / bs, rounded up: offset / bs without a division */
	uint16_t cls;
	uint8_t listed;		/* on a->runs[cls] */
};
_Static_assert(sizeof(struct run) <= 64 && 64 % MM_ALIGN == 0, "run header");
_Static_assert(offsetof(struct run, bs) == 48, "tests/test_check.c: RUN_BS_OFFSET");
#define RUN_HDR	((size_t)64)

static inline size_t run_magic(const struct run *r)
{
	return RUN_MAGIC ^ mm_tag_raw(r, 0);
}

static inline char *run_first(struct run *r) { return (char *)r + RUN_HDR; }

/*
 * The head a carved block of r at offset off must have, but for B_FREE and
 * B_CACHED: what the block before it may not overwrite.
 */
static inline size_t run_head(struct run *r, struct block *b, size_t off)
{
	return mm_tag(b, r->bs) | off << RUN_OFF_SHIFT | r->bs | B_RUN;
}

/*
 * The word after the last block's tail: blocks end 8 bytes into a 16-byte
 * step, so the heap block holding the run always has 8 bytes to spare
 * there.  It holds a value only the run knows, so an overflow past the
 * last block by as little as a byte is caught (run_check_end).
 */
static inline size_t *run_canary(struct run *r)
{
	return (size_t *)(r->end + RUN_OVER);
}

static inline size_t run_canary_value(const struct run *r)
{
	return ~run_magic(r);
}

static inline size_t run_capacity(struct run *r)
{
	return (size_t)(r->end - run_first(r)) / r->bs;
}

/* Acquire: the headers of the blocks below it were written before it moved
 * (run_validate reads them without the lock). */
static inline char *run_bump(struct run *r)
{
	return __atomic_load_n(&r->bump, __ATOMIC_ACQUIRE);
}

/* A block of r starts off bytes after it: (off - RUN_HDR) a multiple of
 * bs, without a division (off >= RUN_HDR, at most RUN_MAX_OFF). */
static inline bool run_block_start(const struct run *r, size_t off)
{
	return (((uint64_t)(off - RUN_HDR) * r->recip) >> 32) * r->bs == off - RUN_HDR;
}

/*
 * Blocks a run holds: a page's worth up to 256 bytes, two pages' up to 992
 * (at least 8), 16 KiB's worth of medium blocks but at least 4.  The run's
 * heap block is that many blocks, its header and the last block's tail.
 */
#define RUN_MIN_MED	4u
#define RUN_TAIL	((size_t)MM_ALIGN)	/* RUN_OVER and the canary (run_canary) */
static inline size_t run_blocks(size_t bs)
{
	size_t over = MM_HDR + RUN_HDR + RUN_TAIL;

	if (bs <= 256)
		return (4096 - over) / bs;
	if (bs <= TC_MAX_BS)
		return (8192 - over) / bs;
	return 16384 / bs > RUN_MIN_MED ? 16384 / bs : RUN_MIN_MED;
}

/* The largest distance from a run to one of its blocks. */
#define RUN_MAX_OFF	(RUN_HDR + (RUN_MIN_MED - 1) * MED_MAX_BS)
_Static_assert(RUN_MAX_OFF * MED_MAX_BS < ((uint64_t)1 << 32), "run_of's reciprocal is exact");

static void run_link(struct arena *a, struct run *r)
{
	r->prev = NULL;
	r->next = a->runs[r->cls];
	if (r->next)
		r->next->prev = r;
	a->runs[r->cls] = r;
	r->listed = 1;
}

static void run_unlink(struct arena *a, struct run *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		a->runs[r->cls] = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	r->listed = 0;
}

static struct run *run_new(struct arena *a, unsigned cls)
{
	size_t bs = tc_bin_size(cls);
	struct block *c = heap_alloc(a, MM_HDR + RUN_HDR + run_blocks(bs) * bs + RUN_TAIL,
				     MM_ALIGN, NULL);
	struct run *r;

	if (!c)
		return NULL;
	blk_set(c, blk_size(c), B_RUN_HEAP);
	r = blk_payload(c);
	r->magic = run_magic(r);
	r->free = NULL;
	r->bs = (uint32_t)bs;
	r->recip = (uint32_t)(UINT32_MAX / bs + 1);
	r->used = 0;
	r->cls = (uint16_t)cls;
	r->end = run_first(r) + (blk_size(c) - MM_HDR - RUN_HDR - RUN_OVER) / bs * bs;
	*run_canary(r) = run_canary_value(r);
	__atomic_store_n(&r->bump, run_first(r), __ATOMIC_RELAXED);
	run_link(a, r);
	a->run_free_blocks += run_capacity(r);
	a->run_free_bytes += run_capacity(r) * bs;
	return r;
}

/*
 * An overflow past the run's last block hits its canary first, then the
 * next heap block's boundary tag, which must still hold the run block's
 * size (lock held).
 */
static void run_check_end(const char *fn, struct run *r, struct block *b)
{
	struct block *c = blk_of(r), *n = blk_next(c);

	if (*run_canary(r) != run_canary_value(r) || n->prev_size != blk_size(c) ||
	    !blk_tag_ok(n))
		mm_fatal(fn, blk_payload(b),
			 "corrupted boundary tag: the bytes after its run's last block were overwritten (overflow past the block?)");
}

static void run_release(struct arena *a, struct segment *s, struct run *r)
{
	run_check_end("free", r, blk_of(run_first(r)));
	if (r->listed)
		run_unlink(a, r);
	a->run_free_blocks -= run_capacity(r);
	a->run_free_bytes -= run_capacity(r) * r->bs;
	r->magic = 0;		/* stale pointers into it no longer validate */
	heap_free(a, s, blk_of(r));
}

/*
 * A block about to leave the run's free list: a write after free (or past
 * a neighbour) may have changed its link; never follow it anywhere else.
 */
static void run_check_free(struct run *r, struct block *b)
{
	char *p = (char *)b;

	if (p < run_first(r) || p >= run_bump(r) || !run_block_start(r, (size_t)(p - (char *)r)) ||
	    !blk_tag_ok(b) || (blk_head(b) & B_FLAGS) != (B_RUN | B_FREE) ||
	    head_size(blk_head(b)) != r->bs)
		mm_fatal("malloc", blk_payload(b),
			 "corrupted free block in a run (written after free?)");
}

struct block *run_alloc(struct arena *a, unsigned cls, unsigned k, unsigned *n,
			struct block **tail)
{
	struct block *head = NULL, **link = &head, *b = NULL;
	unsigned got = 0;

	while (got < k) {
		struct run *r = a->runs[cls];
		unsigned before = got;
		char *bump;

		if (!r && !(r = run_new(a, cls)))
			break;
		for (; got < k && r->free; got++) {
			b = r->free;
			run_check_free(r, b);
			r->free = b->next_free;
			blk_set_head_raw(b, (blk_head(b) & ~B_FREE) | B_CACHED);
			*link = b;
			link = &b->next_free;
		}
		for (bump = run_bump(r); got < k && bump < r->end; got++, bump += r->bs) {
			b = (struct block *)bump;
			blk_set_head_raw(b, run_head(r, b, (size_t)(bump - (char *)r)) | B_CACHED);
			*link = b;
			link = &b->next_free;
		}
		__atomic_store_n(&r->bump, bump, __ATOMIC_RELEASE);
		r->used += got - before;
		a->run_free_blocks -= got - before;
		a->run_free_bytes -= (size_t)(got - before) * r->bs;
		if (!r->free && bump == r->end)
			run_unlink(a, r);
	}
	*link = NULL;
	*n = got;
	*tail = b;
	return head;
}

/*
 * The head after b (head h) is b's with bs more offset, but for its tag
 * (checked when that block is freed; here it would cost a multiply) and
 * flags: an overflow past b reaches its low bytes first.  Past a run's
 * last block lies the heap's boundary tag (run_check_end).
 */
static inline void run_check_next(const char *fn, struct run *r, char *bump, struct block *b,
				  size_t h)
{
	struct block *next = (struct block *)((char *)b + r->bs);

	if ((char *)next < bump &&
	    ((blk_head(next) ^ (h + ((size_t)r->bs << RUN_OFF_SHIFT))) &
	     ~(B_TAG_MASK | B_FREE | B_CACHED)))
		mm_fatal(fn, blk_payload(b),
			 "corrupted boundary tag: the head of the block after it is damaged (overflow past the block?)");
}

/*
 * The run b belongs to, after checking that it is one of its blocks and
 * that the head after it is whole (run_check_next).  The caller has
 * checked b's tag and that its flags mark a block of a run
 * (head_is_run_block).
 */
static struct run *run_of(const char *fn, struct segment *s, struct block *b)
{
	size_t h = blk_head(b), off = head_run_off(h);
	struct run *r;
	char *bump;

	/* Range first: no pointer is formed outside the segment's blocks. */
	if ((char *)b < (char *)blk_payload(seg_first(s)) + RUN_HDR ||
	    off < RUN_HDR || off % MM_ALIGN || off > RUN_MAX_OFF ||
	    off > (size_t)((char *)b - (char *)blk_payload(seg_first(s))))
		goto bad;
	r = (struct run *)((char *)b - off);
	bump = run_bump(r);
	if (r->magic != run_magic(r) || (h & RUN_BS_MASK) != r->bs || (char *)b >= bump ||
	    !run_block_start(r, off))
		goto bad;
	run_check_next(fn, r, bump, b, h);
	return r;
bad:
	mm_fatal(fn, blk_payload(b),
		 "invalid pointer or corrupted block header: not a block of a run");
}

void run_validate(const char *fn, struct segment *s, struct block *b)
{
	(void)run_of(fn, s, b);
}

/*
 * Is b (head h) a block r handed out?  The checks of run_of that depend on
 * the block, for r already checked: a chain's next block of the same run
 * costs no segment lookup and no look at the run's record.
 */
static inline bool run_owns(struct run *r, char *bump, struct block *b, size_t h)
{
	size_t off = (size_t)((char *)b - (char *)r);

	return head_is_run_block(h) && head_run_off(h) == off && off >= RUN_HDR &&
	       (char *)b < bump && (h & RUN_BS_MASK) == r->bs && run_block_start(r, off);
}

/* b (head h, checked) back on r's free list. */
static inline void run_push_free(struct run *r, struct block *b, size_t h)
{
	if (MM_UNLIKELY(h & B_FREE))
		mm_fatal("free", blk_payload(b), "double free: block is already free");
	if ((char *)b + r->bs == r->end)	/* the last block: its end tag is the heap's */
		run_check_end("free", r, b);
	blk_set_head_raw(b, (h & ~B_CACHED) | B_FREE);
	b->next_free = r->free;
	r->free = b;
}

struct block *run_take_back(struct arena *a, struct segment *s, struct block *b, unsigned *n)
{
	struct run *r = run_of("free", s, b);
	char *bump = run_bump(r);
	size_t h = blk_head(b);
	unsigned k = 0;

	/* b, then the blocks after it in the chain for as long as they are r's */
	for (;;) {
		struct block *next = b->next_free;

		run_push_free(r, b, h);
		k++;
		b = next;
		if (!b)
			break;
		h = blk_head(b);
		if (!run_owns(r, bump, b, h))
			break;
		run_check_next("free", r, bump, b, h);
	}
	r->used -= k;
	a->run_free_blocks += k;
	a->run_free_bytes += (size_t)k * r->bs;
	*n = k;
	if (!r->listed)
		run_link(a, r);
	/* Empty: back to the heap, unless it is the only run of its size. */
	if (r->used == 0 && (r->prev || r->next))
		run_release(a, s, r);
	return b;
}

void run_release_empty(struct arena *a)
{
	for (unsigned cls = 0; cls < TC_BINS; cls++) {
		struct run *r = a->runs[cls], *next;

		for (; r; r = next) {
			next = r->next;
			if (r->used == 0)
				run_release(a, seg_lookup(r), r);
		}
	}
}

/* Walk the blocks r carved; count the free and the out ones. */
static int run_walk(struct run *r, size_t *nfree, size_t *nout, size_t *user)
{
	char *bump = run_bump(r);

	*nfree = *nout = 0;
	for (char *p = run_first(r); p < bump; p += r->bs) {
		struct block *b = (struct block *)p;
		size_t h = blk_head(b);

		if ((h & ~(B_FREE | B_CACHED)) != run_head(r, b, (size_t)(p - (char *)r)) ||
		    ((h & B_FREE) && (h & B_CACHED)))
			return MYMEM_E_CORRUPT;
		if (h & B_FREE) {
			(*nfree)++;
		} else {
			(*nout)++;
			if (!(h & B_CACHED))
				*user += r->bs - RUN_OVER;
		}
	}
	return MYMEM_OK;
}

/* Run block c's record is whole: what walking its blocks relies on. */
static bool run_record_ok(struct block *c)
{
	struct run *r = blk_payload(c);
	char *bump = run_bump(r);

	return r->magic == run_magic(r) && r->cls < TC_BINS &&
	       r->bs == tc_bin_size(r->cls) &&
	       r->recip == (uint32_t)(UINT32_MAX / r->bs + 1) &&
	       r->end >= run_first(r) && r->end + RUN_TAIL <= (char *)c + blk_size(c) &&
	       (size_t)(r->end - run_first(r)) % r->bs == 0 &&
	       *run_canary(r) == run_canary_value(r) &&
	       bump >= run_first(r) && bump <= r->end && (size_t)(bump - run_first(r)) % r->bs == 0;
}

int run_check(struct block *c, size_t *user, size_t *listed, size_t free[2])
{
	struct run *r = blk_payload(c);
	char *bump = run_bump(r);
	size_t nfree, nout, onlist = 0;
	int err;

	if (!run_record_ok(c))
		return MYMEM_E_CORRUPT;
	err = run_walk(r, &nfree, &nout, user);
	if (err)
		return err;
	if (nout != r->used)
		return MYMEM_E_STATS;
	for (struct block *b = r->free; b; b = b->next_free) {
		char *p = (char *)b;

		if (++onlist > nfree || p < run_first(r) || p >= bump ||
		    (size_t)(p - run_first(r)) % r->bs || !(blk_head(b) & B_FREE))
			return MYMEM_E_FREELIST;
	}
	if (onlist != nfree)
		return MYMEM_E_FREELIST;
	if (r->listed != (r->free || bump < r->end))
		return MYMEM_E_FREELIST;
	*listed += r->listed;
	free[0] += run_capacity(r) - nout;
	free[1] += (run_capacity(r) - nout) * r->bs;
	return MYMEM_OK;
}

int run_check_lists(struct arena *a, size_t listed)
{
	size_t n = 0;

	for (unsigned cls = 0; cls < TC_BINS; cls++) {
		struct run *prev = NULL;

		for (struct run *r = a->runs[cls]; r; prev = r, r = r->next) {
			if (++n > listed || r->magic != run_magic(r) || r->cls != cls ||
			    !r->listed || r->prev != prev || seg_lookup(r) == NULL ||
			    seg_lookup(r)->arena != a)
				return MYMEM_E_FREELIST;
		}
	}
	return n == listed ? MYMEM_OK : MYMEM_E_FREELIST;
}

size_t run_user_bytes(struct block *c)
{
	struct run *r = blk_payload(c);
	size_t nfree, nout, user = 0;

	if (run_record_ok(c))
		run_walk(r, &nfree, &nout, &user);
	return user;
}

bool run_describe(struct block *c, size_t *bs, size_t *used, size_t *capacity)
{
	struct run *r = blk_payload(c);

	if (!run_record_ok(c))
		return false;
	*bs = r->bs;
	*used = r->used;
	*capacity = run_capacity(r);
	return true;
}
