// SPDX-License-Identifier: MIT
/*
 * check.c - mymem_check(): walk every segment of every arena and verify
 * the heap's invariants (see heap.c), the free lists (freelist.c) and that
 * the statistics add up.  Each arena is checked under its lock; the final
 * comparison of the program's counters with the heap is exact only while
 * no other thread allocates or frees.
 */
#include "internal.h"
#include "valgrind_annot.h"
#include "pagesource.h"

#define API __attribute__((visibility("default")))

struct tally {
	size_t free_blocks, free_bytes, used_blocks, used_bytes;
	size_t user_bytes;	/* usable bytes of used blocks not in a cache */
	size_t committed;
	size_t listed_runs;	/* runs on their arena's lists */
	size_t run_free[2];	/* blocks of runs not out, and their bytes */
};

static int check_segment(struct arena *a, struct segment *s, struct tally *t)
{
	size_t pg = ps_page_size();
	struct block *b, *end, *prev = NULL;

	if (s->magic != SEG_MAGIC_HEAP || s->arena != a ||
	    seg_lookup(seg_first(s)) != s || ((uintptr_t)s & (MM_CHUNK - 1)))
		return MYMEM_E_SEGMENT;
	if (s->committed > s->reserved || s->committed % pg ||
	    s->committed < MM_SEG_HDR + MM_MIN_BLOCK + MM_HDR)
		return MYMEM_E_SEGMENT;
	if (s->next && (s->next <= s || s->next->prev != s))
		return MYMEM_E_SEGMENT;
	end = seg_sentinel(s);
	if (s->dirty_end < (char *)blk_payload(seg_first(s)) || s->dirty_end > (char *)end + MM_HDR)
		return MYMEM_E_SEGMENT;
	if (seg_first(s)->prev_size != 0)
		return MYMEM_E_CORRUPT;
	for (b = seg_first(s); b != end; prev = b, b = blk_next(b)) {
		size_t h, size;

		if (b > end || !blk_tag_ok(b))
			return MYMEM_E_CORRUPT;
		h = blk_head(b);
		size = h & B_SIZE_MASK;
		if (size < MM_MIN_BLOCK || size % MM_ALIGN ||
		    size > (size_t)((char *)end - (char *)b) ||
		    ((h & B_RUN_HEAP) && (h & B_FLAGS) != B_RUN_HEAP) ||
		    (h & B_FREE && h & B_CACHED))
			return MYMEM_E_CORRUPT;
		if (blk_next(b)->prev_size != size)
			return MYMEM_E_CORRUPT;	/* boundary tags disagree */
		if (prev && b->prev_size != blk_size(prev))
			return MYMEM_E_CORRUPT;
		if (h & B_FREE) {
			if (prev && blk_is_free(prev))
				return MYMEM_E_FREE_NEIGHBOURS;
			t->free_blocks++;
			t->free_bytes += size;
		} else {
			t->used_blocks++;
			t->used_bytes += size;
			if (h & B_RUN_HEAP) {
				int r = run_check(b, &t->user_bytes, &t->listed_runs,
						  t->run_free);

				if (r != MYMEM_OK)
					return r;
			} else if (!(h & B_CACHED)) {
				t->user_bytes += size - MM_HDR;
			}
		}
	}
	if (!blk_tag_ok(end) || blk_head(end) & ~B_TAG_MASK)
		return MYMEM_E_CORRUPT;		/* sentinel: size 0, in use */
	t->committed += s->committed;
	return MYMEM_OK;
}

_Atomic bool mm_stats_rebase;

/* Usable bytes of the blocks the program holds, as the heap sees them. */
static size_t heap_user_bytes(void)
{
	size_t user = 0;

	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];

		arena_lock(a);
		for (struct segment *s = a->segs; s; s = s->next) {
			struct block *end = seg_sentinel(s);

			for (struct block *b = seg_first(s); b != end; b = blk_next(b)) {
				size_t h = blk_head(b);

				if (h & B_RUN_HEAP)
					user += run_user_bytes(b);
				else if (!(h & (B_FREE | B_CACHED)))
					user += blk_size(b) - MM_HDR;
			}
		}
		mm_unlock(&a->lock);
	}
	return user + atomic_load(&mm_huge_bytes);
}

/*
 * In a child forked while other threads were allocating, a thread may have
 * been between counting an operation and performing it; it never finishes
 * here.  Recount once from the heap (those blocks stay in use: leaked, as
 * POSIX fork leaves anything the vanished threads held).
 */
void mm_fork_rebase(void)
{
	struct counters c;
	uint64_t hb, hn, counted, actual;

	if (!atomic_exchange(&mm_stats_rebase, false))
		return;
	actual = heap_user_bytes();
	tc_sum(&c, &hb, &hn);
	counted = atomic_load(&c.alloc_bytes) - atomic_load(&c.free_bytes);
	atomic_fetch_add(&mm_arenas[0].uncached.free_bytes, counted - actual);
}

static int check_heap(void)
{
	size_t user_bytes = 0;
	struct counters c;
	uint64_t held_bytes, held_blocks;

	if (atomic_load(&mm_init_state) != 2)
		return MYMEM_OK;
	mm_fork_rebase();
	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];
		struct tally t = { 0 };
		size_t n, bytes, largest;
		unsigned nsegs = 0;
		int r = MYMEM_OK;

		arena_lock(a);
		for (struct segment *s = a->segs; s && r == MYMEM_OK; s = s->next) {
			if (s->prev != (nsegs ? s->prev : NULL))
				r = MYMEM_E_SEGMENT;
			else
				r = check_segment(a, s, &t);
			nsegs++;
		}
		if (r == MYMEM_OK && (nsegs != a->nsegs || t.committed != a->committed))
			r = MYMEM_E_STATS;
		if (r == MYMEM_OK)
			r = fl_check(&a->fl, a, &n, &bytes, &largest);
		if (r == MYMEM_OK && (n != t.free_blocks || bytes != t.free_bytes))
			r = MYMEM_E_FREELIST;	/* a free block is missing from the lists */
		if (r == MYMEM_OK)
			r = run_check_lists(a, t.listed_runs);
		if (r == MYMEM_OK && (t.run_free[0] != a->run_free_blocks ||
				      t.run_free[1] != a->run_free_bytes))
			r = MYMEM_E_STATS;
		if (r == MYMEM_OK && (t.used_bytes != a->used_bytes || t.used_blocks != a->used_blocks))
			r = MYMEM_E_STATS;
		mm_unlock(&a->lock);
		if (r != MYMEM_OK)
			return r;
		user_bytes += t.user_bytes;
	}
	mm_lock(&mm_huge_lock);
	{
		size_t hb = 0, hn = 0;
		int r;

		for (struct segment *s = mm_huge_list; s; s = s->next) {
			struct block *b = huge_block(s);

			if (s->magic != SEG_MAGIC_HUGE || seg_lookup(blk_payload(b)) != s ||
			    s->huge_payload + s->huge_usable > (char *)s + s->reserved ||
			    !blk_tag_ok(b) || blk_size(b) != s->huge_usable + MM_HDR) {
				mm_unlock(&mm_huge_lock);
				return MYMEM_E_CORRUPT;
			}
			hb += s->huge_usable;
			hn++;
		}
		r = huge_cache_check();
		mm_unlock(&mm_huge_lock);
		if (r != MYMEM_OK)
			return r;
		if (hb != atomic_load(&mm_huge_bytes) || hn != atomic_load(&mm_huge_count))
			return MYMEM_E_STATS;
		user_bytes += hb;
	}
	tc_sum(&c, &held_bytes, &held_blocks);
	if (atomic_load(&c.alloc_bytes) - atomic_load(&c.free_bytes) != user_bytes)
		return MYMEM_E_STATS;
	return MYMEM_OK;
}

/* Muted under memcheck: the walk reads headers and free-list links. */
API int mymem_check(void)
{
	bool m = vg_mute();
	int r = check_heap();

	vg_unmute(m);
	return r;
}
