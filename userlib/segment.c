// SPDX-License-Identifier: MIT
/*
 * segment.c - heap segments: reserve, commit more, trim the top, release;
 * and the segment map that finds the segment of any pointer.
 *
 * A heap segment reserves MM_SEG_RESERVE bytes of address space at a
 * 4 MiB boundary and commits pages from its start as the arena needs
 * them.  The committed part always ends with a sentinel header, so growing
 * turns the old sentinel into a free block (coalesced with a free top) and
 * trimming moves the sentinel down.  The segment map has one byte per
 * 4 MiB of address space (32 MiB of .bss, touched sparsely): 0 where no
 * segment is, else 1 + the distance in chunks to the start of the segment
 * (capped at MM_SEGMAP_FAR), so one load finds the header of any pointer.
 */
#include <string.h>

#include "internal.h"
#include "pagesource.h"

#define MM_SEG_RESERVE		((size_t)32 << 20)	/* address space only */
#define MM_SEG_INIT_COMMIT	((size_t)128 << 10)	/* a small program stays small */
#define MM_SEG_GROW_MAX		((size_t)8 << 20)	/* device pages are eager: cap growth */

_Atomic uint8_t mm_segmap[(size_t)1 << (MM_ADDR_BITS - MM_CHUNK_SHIFT)];

void seg_map_set(void *base, size_t len, bool on)
{
	uintptr_t first = (uintptr_t)base >> MM_CHUNK_SHIFT;
	uintptr_t last = ((uintptr_t)base + len - 1) >> MM_CHUNK_SHIFT;

	for (uintptr_t i = first; i <= last; i++) {
		uintptr_t d = i - first + 1;

		atomic_store_explicit(&mm_segmap[i],
				      on ? (uint8_t)(d < MM_SEGMAP_FAR ? d : MM_SEGMAP_FAR) : 0,
				      memory_order_release);
	}
}

/* Slow part of seg_lookup(): p lies MM_SEGMAP_FAR - 1 chunks or more past
 * its segment's start (huge segments only); hop back in such strides. */
struct segment *seg_lookup_far(uintptr_t a)
{
	uintptr_t i = a >> MM_CHUNK_SHIFT;
	uint8_t v;

	while ((v = atomic_load_explicit(&mm_segmap[i], memory_order_acquire)) == MM_SEGMAP_FAR &&
	       i >= MM_SEGMAP_FAR - 1)
		i -= MM_SEGMAP_FAR - 1;
	if (v == 0 || v == MM_SEGMAP_FAR)
		return NULL;
	return seg_check((struct segment *)((i - (v - 1)) << MM_CHUNK_SHIFT), a);
}

static void list_insert(struct arena *a, struct segment *s)
{
	struct segment *prev = NULL, *cur = a->segs;

	while (cur && cur < s) {
		prev = cur;
		cur = cur->next;
	}
	s->prev = prev;
	s->next = cur;
	if (prev)
		prev->next = s;
	else
		a->segs = s;
	if (cur)
		cur->prev = s;
	a->nsegs++;
}

struct segment *seg_create(struct arena *a, size_t min_block)
{
	size_t pg = ps_page_size();
	size_t need = MM_SEG_HDR + min_block + MM_HDR;
	size_t reserve = MM_SEG_RESERVE, commit;
	struct segment *s;
	struct block *b, *sent;
	char *base;

	if (need > MM_SEG_RESERVE / 2)
		reserve = mm_align_up(2 * need, MM_CHUNK);
	commit = mm_align_up(need, pg);
	if (commit < MM_SEG_INIT_COMMIT)
		commit = MM_SEG_INIT_COMMIT;
	base = ps_reserve(reserve, MM_CHUNK);
	if (!base)
		return NULL;
	if (!ps_commit(base, commit)) {
		ps_release(base, reserve, 0);
		return NULL;
	}
	s = (struct segment *)base;
	s->magic = SEG_MAGIC_HEAP;
	s->reserved = reserve;
	s->committed = commit;
	s->arena = a;
	b = seg_first(s);
	s->top_reused = (char *)b;
	s->dirty_end = (char *)blk_payload(b);
	b->prev_size = 0;
	blk_set(b, commit - MM_SEG_HDR - MM_HDR, B_FREE);
	sent = seg_sentinel(s);
	sent->prev_size = blk_size(b);
	blk_set(sent, 0, 0);
	seg_map_set(base, reserve, true);
	list_insert(a, s);
	a->committed += commit;
	fl_insert(&a->fl, b);
	return s;
}

struct block *seg_top_free(const struct segment *s)
{
	struct block *sent = seg_sentinel(s), *p = blk_prev(sent);

	return p && blk_is_free(p) ? p : NULL;
}

/* Commit add more bytes; returns the (coalesced) free top block. */
struct block *seg_grow(struct arena *a, struct segment *s, size_t add)
{
	struct block *old = seg_sentinel(s), *top, *p, *sent;
	size_t size;

	if (add == 0 || s->committed + add > s->reserved)
		return NULL;
	if (!ps_commit((char *)s + s->committed, add))
		return NULL;
	seg_set_committed(s, s->committed + add);
	a->committed += add;
	sent = seg_sentinel(s);
	top = old;
	size = add;
	p = blk_prev(old);
	if (p && blk_is_free(p)) {
		fl_remove(&a->fl, p);
		size += blk_size(p);
		memset(old, 0, MM_MIN_BLOCK);	/* scrub: now inside a payload */
		top = p;
	}
	blk_set(top, size, B_FREE);
	sent->prev_size = size;
	blk_set(sent, 0, 0);
	fl_insert(&a->fl, top);
	return top;
}

size_t seg_trim_top(struct arena *a, struct segment *s, size_t keep)
{
	size_t pg = ps_page_size(), new_end, released, size;
	struct block *t = seg_top_free(s), *sent;

	if (!t)
		return 0;
	new_end = mm_align_up((size_t)((char *)t - (char *)s) + MM_MIN_BLOCK + MM_HDR + keep, pg);
	if (new_end < MM_SEG_INIT_COMMIT)
		new_end = MM_SEG_INIT_COMMIT;
	if (new_end >= s->committed)
		return 0;
	fl_remove(&a->fl, t);
	size = (size_t)((char *)s + new_end - MM_HDR - (char *)t);
	blk_set(t, size, B_FREE);
	released = s->committed - new_end;
	seg_set_committed(s, new_end);
	sent = seg_sentinel(s);
	sent->prev_size = size;
	blk_set(sent, 0, 0);
	ps_decommit((char *)s + new_end, released);
	a->committed -= released;
	if (s->dirty_end > (char *)s + new_end)
		s->dirty_end = (char *)s + new_end;
	fl_insert(&a->fl, t);
	return released;
}

/* Give a whole segment back; its only block must be off the lists. */
void seg_destroy(struct arena *a, struct segment *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		a->segs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	a->nsegs--;
	a->committed -= s->committed;
	seg_map_set(s, s->reserved, false);
	s->magic = 0;
	ps_release(s, s->reserved, s->committed);
}

size_t seg_grow_step(const struct segment *s, size_t want)
{
	size_t step = s->committed < MM_SEG_GROW_MAX ? s->committed : MM_SEG_GROW_MAX;

	if (step < want)
		step = want;
	step = mm_align_up(step, ps_page_size());
	if (s->committed + step > s->reserved)
		step = s->reserved - s->committed;
	return step;
}
