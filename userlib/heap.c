// SPDX-License-Identifier: MIT
/*
 * heap.c - blocks inside heap segments: allocate (split), free (coalesce
 * at once), resize in place, trim; and the checks every free makes.
 *
 * Invariants kept here (and verified by check.c):
 *  - blocks tile a segment from seg_first() to the sentinel;
 *  - every block's size equals the prev_size of the block after it;
 *  - no two free blocks are neighbours, and every free block is on the
 *    arena's free lists;
 *  - a block absorbed by a coalesce has its header and links zeroed, so a
 *    stale pointer to it no longer carries a valid tag, and so that the
 *    bytes above a segment's dirty_end stay zero except for live headers
 *    and free-list links (calloc relies on that).
 * The arena's lock is held by the caller of every function here.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sys.h"
#include "pagesource.h"

static void count_used(struct arena *a, struct segment *s, struct block *b, size_t *dirty)
{
	char *p = blk_payload(b);
	size_t usable = blk_size(b) - MM_HDR, d;

	a->used_bytes += blk_size(b);
	a->used_blocks++;
	/* Fresh payload holds nothing but, perhaps, free-list links. */
	if (p >= s->dirty_end)
		d = 2 * sizeof(void *);
	else if ((size_t)(s->dirty_end - p) < usable)
		d = (size_t)(s->dirty_end - p);
	else
		d = usable;
	if (d < 2 * sizeof(void *))
		d = 2 * sizeof(void *);
	if (dirty)
		*dirty = d > usable ? usable : d;
	if (p + usable > s->dirty_end)
		s->dirty_end = p + usable;
	if (p + usable > s->top_reused)
		s->top_reused = p + usable;
}

/*
 * Trim hysteresis.  A program that frees its working set and builds it
 * again (a loop over rounds) would have every page trimmed and faulted
 * back in each round.  So when the heap must grow after trims released
 * pages, the pad kept above the top grows to what those trims released
 * (at least double, up to MM_TRIM_PAD_MAX): the next round finds its pages
 * still there.  A trim more than a second (MM_TRIM_DECAY_MS) after the
 * last growth drops the pad back to the configured top pad.  The pages kept
 * were resident at the peak anyway, but a later round may place blocks on
 * pages the earlier ones did not touch, and the peak grows by those (the
 * realloc benchmark: about 1 MiB over 200 rounds, where glibc trims and
 * faults each round back in at four times the time).  mymem_trim()
 * returns everything.
 */
#define MM_TRIM_PAD_MAX	((size_t)1 << 30)
#define MM_TRIM_DECAY_MS	1000

/* raw, not the vDSO: this runs rarely (sys.h) */
int64_t mm_coarse_ms(void)
{
	struct timespec ts;

	if (mm_syscall3(SYS_clock_gettime, CLOCK_MONOTONIC_COARSE, (long)&ts, 0) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

static size_t trim_pad(struct arena *a)
{
	size_t pad = mm_top_pad();

	return a->trim_pad > pad ? a->trim_pad : pad;
}

static void note_growth(struct arena *a)
{
	if (a->released) {
		size_t pad = 2 * trim_pad(a);

		if (pad < a->released)
			pad = a->released;
		a->trim_pad = pad < MM_TRIM_PAD_MAX ? pad : MM_TRIM_PAD_MAX;
		a->released = 0;
	}
	a->grown_at = mm_coarse_ms();
}

/* Before a trim: forget a pad that has not been needed for a while. */
static void decay_pad(struct arena *a, int64_t now)
{
	if (a->trim_pad > mm_top_pad() && now - a->grown_at > MM_TRIM_DECAY_MS)
		a->trim_pad = mm_top_pad();
}

static void note_trim(struct arena *a, size_t released)
{
	a->released += released;
}

/*
 * Deferred purge.  A program that frees its working set and builds it
 * again at once (frag's cycles, a server between two requests) would
 * have the pages unmapped and faulted back in: frag spent 10-13 % of its
 * time so.  So the first free that leaves a free top worth trimming arms
 * the arena's purge: each segment notes where its top starts
 * (top_reused, which every block handed out above raises: count_used,
 * heap_resize), and once mm_purge_delay_ms have passed the arena's next
 * heap operation (a free reaching a top, or one in 64 heap allocations
 * and thread-cache refills) gives back what stayed free above that mark
 * and the pad the whole time.  What the program took again in the meantime stays.
 * An idle program keeps its free top until it next frees a large block
 * or allocates (mimalloc's and jemalloc's delayed purges do the same);
 * mymem_trim() and malloc_trim() give everything back at once, and
 * MYMEM_PURGE_DELAY=0 trims at each free, as before.
 */
static void purge_arm(struct arena *a, int64_t now)
{
	struct segment *s;

	for (s = a->segs; s; s = s->next) {
		struct block *t = seg_top_free(s);

		s->top_reused = t ? (char *)t : (char *)seg_sentinel(s);
	}
	a->purge_due = now + mm_purge_delay_ms();
}

/* Give back s's free top above pad and above what was reused since the
 * purge was armed; a segment that stayed wholly free goes (not the last).
 * True if a free top worth a later purge is left. */
static bool purge_segment(struct arena *a, struct segment *s, size_t pad)
{
	struct block *t = seg_top_free(s);
	size_t threshold = mm_trim_threshold();
	char *from;

	if (!t || blk_size(t) < threshold || blk_size(t) <= pad)
		return false;
	from = s->top_reused > (char *)t ? s->top_reused : (char *)t;
	if (from > (char *)seg_sentinel(s))	/* a block since trimmed away */
		from = (char *)seg_sentinel(s);
	if ((size_t)((char *)seg_sentinel(s) - from) < threshold)
		return true;	/* reused: its own wait starts now */
	if (t == seg_first(s) && from == (char *)t && a->nsegs > 1) {
		note_trim(a, s->committed);
		fl_remove(&a->fl, t);
		seg_destroy(a, s);
		return false;
	}
	if ((size_t)(from - (char *)t) > pad) {
		note_trim(a, seg_trim_top(a, s, (size_t)(from - (char *)t)));
		return true;
	}
	note_trim(a, seg_trim_top(a, s, pad));
	return false;
}

/* Purge every segment; arm again for the free tops that were reused. */
static void purge_now(struct arena *a, int64_t now)
{
	struct segment *s, *next;
	bool left = false;
	size_t pad;

	a->purge_due = 0;
	decay_pad(a, now);
	pad = trim_pad(a);
	for (s = a->segs; s; s = next) {
		next = s->next;
		left |= purge_segment(a, s, pad);
	}
	if (left)
		purge_arm(a, now);
}

/* A look at a pending purge from heap_alloc and the thread caches'
 * refills (heap_purge_tick): the clock once every 64 calls. */
static inline void purge_if_due(struct arena *a)
{
	if (MM_UNLIKELY(a->purge_due) && !(++a->purge_ticks & 63)) {
		int64_t now = mm_coarse_ms();

		if (now >= a->purge_due || now == 0)
			purge_now(a, now);
	}
}

void heap_purge_tick(struct arena *a)
{
	purge_if_due(a);
}

/* b reaches no page the heap never handed out a byte of: its pages were
 * written.  (The last block a segment hands out seldom ends exactly at
 * its top.) */
static bool blk_was_used(const struct block *b)
{
	return (const char *)b + blk_size(b) <= seg_lookup(b)->dirty_end + ps_page_size();
}

/*
 * Find a free block of at least need bytes, growing the heap if needed.
 * A block that reaches into a segment's never-used top costs page faults
 * and resident pages the first time, one that was used before costs
 * neither, so the fast policy's choice gives way to one of those if it
 * can (frag-1t: from its second cycle on the heap reached 3.1 MiB into
 * the first segment's unused top while the last segment's free top, used
 * by the first cycle, stayed free: peak RSS 2.6 % higher).
 */
static struct block *find_or_grow(struct arena *a, size_t need)
{
	struct block *b = fl_find(&a->fl, need);
	struct segment *s;

	if (b && !blk_was_used(b)) {
		struct block *used = fl_find_such(&a->fl, need, blk_was_used);

		if (used)
			b = used;
	}
	if (b)
		return b;
	note_growth(a);
	for (s = a->segs; s; s = s->next) {
		struct block *top = seg_top_free(s);
		size_t have = top ? blk_size(top) : 0;
		size_t want = need - (have < need ? have : 0);
		size_t step = seg_grow_step(s, want);

		if (step >= want && step > 0) {
			b = seg_grow(a, s, step);
			if (b && blk_size(b) >= need)
				return b;
		}
	}
	s = seg_create(a, need);
	return s ? seg_first(s) : NULL;
}

/* Split block b (in use, size total) so that it keeps bs bytes; the rest
 * becomes a free block (merged with a free right neighbour). */
static void split_tail(struct arena *a, struct block *b, size_t total, size_t bs)
{
	struct block *r, *n;
	size_t rsize;

	if (total - bs < MM_MIN_BLOCK) {
		blk_set(b, total, 0);
		return;
	}
	blk_set(b, bs, 0);
	r = (struct block *)((char *)b + bs);
	r->prev_size = bs;
	rsize = total - bs;
	n = (struct block *)((char *)r + rsize);
	if (blk_is_free(n)) {
		fl_remove(&a->fl, n);
		rsize += blk_size(n);
		memset(n, 0, MM_MIN_BLOCK);
	}
	blk_set(r, rsize, B_FREE);
	blk_next(r)->prev_size = rsize;
	fl_insert(&a->fl, r);
	if (a->fl.policy == MYMEM_POLICY_NEXT_FIT)
		a->fl.rover = r;
}

struct block *heap_alloc(struct arena *a, size_t bs, size_t align, size_t *dirty)
{
	size_t need = align > MM_ALIGN ? bs + align + MM_MIN_BLOCK : bs;
	struct block *b = find_or_grow(a, need);
	struct segment *s;
	size_t total;

	if (!b)
		return NULL;
	/* The split-off tail's header is a line (often a page) nobody has
	 * touched lately: start fetching it before the unlinking (mixed-1t
	 * 1.5 % and frag-1t 1 % faster, 11 interleaved runs). */
	__builtin_prefetch((char *)b + bs, 1);
	s = seg_lookup(b);
	fl_remove(&a->fl, b);
	total = blk_size(b);
	if (align > MM_ALIGN) {
		uintptr_t p = (uintptr_t)blk_payload(b);
		uintptr_t q = (p + align - 1) & ~(uintptr_t)(align - 1);

		if (q != p) {
			struct block *nb;
			size_t gap;

			while (q - p < MM_MIN_BLOCK)
				q += align;
			gap = q - p;
			nb = blk_of((void *)q);
			/* b's left neighbour is in use (b was free): the gap
			 * stays a free block of its own. */
			blk_set(b, gap, B_FREE);
			nb->prev_size = gap;
			total -= gap;
			blk_set(nb, total, 0);
			blk_next(nb)->prev_size = total;
			fl_insert(&a->fl, b);
			b = nb;
		}
	}
	split_tail(a, b, total, bs);
	count_used(a, s, b, dirty);
	purge_if_due(a);
	return b;
}

/* b, just freed, is at s's top and large: give it back now, or arm the
 * purge, or carry out one that is due. */
static void maybe_trim(struct arena *a, struct segment *s, struct block *b)
{
	int64_t now;

	if (blk_next(b) != seg_sentinel(s) || blk_size(b) < mm_trim_threshold())
		return;
	now = mm_coarse_ms();
	decay_pad(a, now);
	if (blk_size(b) <= trim_pad(a))
		return;
	if (mm_purge_delay_ms() == 0 || now == 0) {
		s->top_reused = (char *)b;
		(void)purge_segment(a, s, trim_pad(a));
	} else if (!a->purge_due) {
		purge_arm(a, now);
	} else if (now >= a->purge_due) {
		purge_now(a, now);
	}
}

void heap_free(struct arena *a, struct segment *s, struct block *b)
{
	size_t size = blk_size(b);
	struct block *n = blk_next(b), *p = blk_prev(b);

	a->used_bytes -= size;
	a->used_blocks--;
	if (blk_is_free(n)) {
		fl_remove(&a->fl, n);
		size += blk_size(n);
		memset(n, 0, MM_MIN_BLOCK);
	}
	if (p && blk_is_free(p)) {
		fl_remove(&a->fl, p);
		size += blk_size(p);
		memset(b, 0, MM_MIN_BLOCK);
		b = p;
	}
	blk_set(b, size, B_FREE);
	blk_next(b)->prev_size = size;
	fl_insert(&a->fl, b);
	maybe_trim(a, s, b);
}

/*
 * A block freed earlier but kept out of the heap (B_CACHED: a run's in a
 * thread cache or on an arena's remote list, a free-list block on a
 * remote list) goes back (lock held).  A run's block is checked here
 * against its run; a free-list block, which free() checked in full, is
 * checked again at its end (an overflow since), and its left neighbour's
 * tags, which free() could not read without the lock.  b heads a chain
 * linked through next_free: a block of a run takes the blocks of the same
 * run after it along (run_take_back).  Returns the first block not taken;
 * *n gets how many were.
 */
struct block *heap_take_back(struct arena *a, struct segment *s, struct block *b, unsigned *n)
{
	struct block *next = b->next_free;

	if (head_is_run_block(blk_head(b)))
		return run_take_back(a, s, b, n);
	if (MM_UNLIKELY(blk_next(b)->prev_size != blk_size(b)))
		mm_fatal("free", blk_payload(b),
			 "corrupted boundary tag: the size at the block's end disagrees (overflow past the block?)");
	mm_validate_prev("free", s, b);
	blk_set_head_raw(b, blk_head(b) & ~B_CACHED);
	heap_free(a, s, b);
	*n = 1;
	return next;
}

/* Commit at least more bytes at the top of s; false if the reservation or
 * the page source cannot. */
static bool heap_grow_top(struct arena *a, struct segment *s, size_t more)
{
	size_t step = seg_grow_step(s, more);

	return step >= more && seg_grow(a, s, step);
}

bool heap_resize(struct arena *a, struct segment *s, struct block *b, size_t bs, size_t want)
{
	size_t size = blk_size(b), total;
	struct block *n;

	if (bs <= size) {
		split_tail(a, b, size, bs);
		a->used_bytes -= size - blk_size(b);
		return true;
	}
	n = blk_next(b);
	total = size + (blk_is_free(n) ? blk_size(n) : 0);
	if (total < bs) {
		/* At the top of the segment: commit more and look again. */
		struct block *after = blk_is_free(n) ? blk_next(n) : n;

		if (after != seg_sentinel(s))
			return false;
		note_growth(a);
		if (!heap_grow_top(a, s, want - total + (blk_is_free(n) ? 0 : MM_MIN_BLOCK)) &&
		    !heap_grow_top(a, s, bs - total + (blk_is_free(n) ? 0 : MM_MIN_BLOCK)))
			return false;	/* not even bs: the room for want is a wish */
		n = blk_next(b);
		total = size + (blk_is_free(n) ? blk_size(n) : 0);
		if (total < bs)
			return false;
	}
	if (blk_is_free(n)) {
		fl_remove(&a->fl, n);
		memset(n, 0, MM_MIN_BLOCK);
	}
	blk_set(b, total, 0);
	blk_next(b)->prev_size = total;
	split_tail(a, b, total, total < want ? total : want);
	a->used_bytes += blk_size(b) - size;
	{
		char *end = (char *)b + blk_size(b);

		if (end > s->dirty_end)
			s->dirty_end = end;
		if (end > s->top_reused)
			s->top_reused = end;
	}
	return true;
}

/*
 * Grow b into its free left neighbour (and its free right one, if any)
 * when together they hold bs: the payload moves down.  A doubling array
 * that cannot grow at its end would otherwise take a block twice its size
 * elsewhere and leave its old one as a hole only smaller requests fit;
 * here it takes the hole the block before it left when that moved.
 * copy bytes of payload are kept.  Returns the block, or NULL when the
 * neighbours are too small (nothing changed).
 */
struct block *heap_resize_down(struct arena *a, struct segment *s, struct block *b, size_t bs,
			       size_t want, size_t copy)
{
	struct block *p = blk_prev(b), *n = blk_next(b);
	size_t size = blk_size(b), total;
	char *end, *kept;

	if (!p || !blk_is_free(p))
		return NULL;
	total = blk_size(p) + size + (blk_is_free(n) ? blk_size(n) : 0);
	if (total < bs)
		return NULL;
	fl_remove(&a->fl, p);
	if (blk_is_free(n)) {
		fl_remove(&a->fl, n);
		memset(n, 0, MM_MIN_BLOCK);
	}
	blk_set(p, total, 0);
	blk_next(p)->prev_size = total;
	memmove(blk_payload(p), blk_payload(b), copy);
	/* What the move left of the old header must not pass for one (a
	 * stale pointer to the block is caught). */
	kept = (char *)blk_payload(p) + copy;
	if (kept < (char *)b)
		kept = (char *)b;
	if (kept < (char *)b + MM_HDR)
		memset(kept, 0, (size_t)((char *)b + MM_HDR - kept));
	split_tail(a, p, total, total < want ? total : want);
	a->used_bytes += blk_size(p) - size;
	end = (char *)p + blk_size(p);
	if (end > s->dirty_end)
		s->dirty_end = end;
	if (end > s->top_reused)
		s->top_reused = end;
	return p;
}

size_t heap_trim_arena(struct arena *a)
{
	size_t released = 0;
	struct segment *s, *next;

	run_release_empty(a);
	a->purge_due = 0;
	for (s = a->segs; s; s = next) {
		struct block *first = seg_first(s);

		next = s->next;
		if (blk_is_free(first) && blk_next(first) == seg_sentinel(s) && a->nsegs > 1) {
			released += s->committed;
			fl_remove(&a->fl, first);
			seg_destroy(a, s);
		} else {
			released += seg_trim_top(a, s, 0);
		}
	}
	return released;
}

/*
 * Check a block the caller wants to free or resize.  With the arena lock
 * held (full) the neighbours are checked too; without it, only what no
 * other thread can change while the block is in the caller's hands.
 */
void mm_validate_inuse(const char *fn, struct segment *s, struct block *b)
{
	char *lo = (char *)seg_first(s), *hi = (char *)seg_sentinel(s);
	size_t h, size;

	if ((char *)b < lo || (char *)b >= hi || ((uintptr_t)b & (MM_ALIGN - 1)))
		mm_fatal(fn, blk_payload(b), "invalid pointer: not a block the heap gave out");
	h = blk_head(b);
	if (!blk_tag_ok(b))
		mm_fatal(fn, blk_payload(b), h == 0 ?
			 "invalid pointer or double free: no block starts here (merged after an earlier free?)" :
			 "invalid pointer or corrupted block header: tag mismatch");
	if (h & B_FREE)
		mm_fatal(fn, blk_payload(b), "double free: block is already free");
	if (h & B_CACHED)
		mm_fatal(fn, blk_payload(b), "double free: block is already freed (in a thread cache)");
	if (head_is_run_block(h)) {
		run_validate(fn, s, b);
		return;
	}
	if ((h & B_RUN_HEAP) == B_RUN_HEAP)
		mm_fatal(fn, blk_payload(b), "invalid pointer: the record of a run, not a block of it");
	size = h & B_SIZE_MASK;
	if ((h & B_HUGE) || size < MM_MIN_BLOCK || (size_t)(hi - (char *)b) < size)
		mm_fatal(fn, blk_payload(b), "corrupted block header: impossible size");
	if (blk_next(b)->prev_size != size)
		mm_fatal(fn, blk_payload(b),
			 "corrupted boundary tag: the size at the block's end disagrees (overflow past the block?)");
}

/* The checks that need the lock: the left neighbour. */
void mm_validate_prev(const char *fn, struct segment *s, struct block *b)
{
	struct block *p;

	if (b->prev_size == 0) {
		if (b != seg_first(s))
			mm_fatal(fn, blk_payload(b), "corrupted boundary tag: previous size is 0");
		return;
	}
	/* Range first: no pointer is formed outside the segment. */
	if (b->prev_size & (MM_ALIGN - 1) ||
	    b->prev_size > (size_t)((char *)b - (char *)seg_first(s)))
		mm_fatal(fn, blk_payload(b),
			 "corrupted boundary tag: previous block's size disagrees (underflow into the header?)");
	p = blk_prev(b);
	if (!blk_tag_ok(p) || blk_size(p) != b->prev_size)
		mm_fatal(fn, blk_payload(b),
			 "corrupted boundary tag: previous block's size disagrees (underflow into the header?)");
}
