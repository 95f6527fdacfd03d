// SPDX-License-Identifier: MIT
/*
 * huge.c - blocks at or above the mmap threshold, each in a segment of
 * its own that free() gives back to the page source.
 *
 * Layout: the segment header sits at the (4 MiB aligned) start of the
 * reservation and the block header right before the payload.  For an
 * alignment above a page the payload is far from the header; only the
 * header page and the pages from the one before the payload on are
 * committed, the hole between them stays reserved address space, so a
 * 2 MiB-aligned request costs one extra page, not 2 MiB.
 *
 * A block that realloc() moved here gets address space reserved after it
 * (room) and grows into it in place: more pages committed at its end, no
 * copy.  Address space costs nothing until committed.
 *
 * The growth cache.  A program that grows such arrays again and again (a
 * loop over requests, over rounds) would map and fault their pages each
 * time: freed, a segment with room stays, with the pages its block used
 * (up to twice that), for the next growing block, as long as the heap
 * keeps a free top (the purge delay), up to GROW_CACHE_MAX segments of at
 * most GROW_CACHE_SEG_MAX.  Its magic says it holds no block, so a stale
 * pointer into it is refused like any other.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "pagesource.h"

_Atomic size_t mm_huge_bytes, mm_huge_count;
mm_lock_t mm_huge_lock = MM_LOCK_INIT;
struct segment *mm_huge_list;

#define GROW_CACHE_MAX	16u
#define GROW_CACHE_SEG_MAX	((size_t)32 << 20)	/* larger ones go at once */

static struct segment *grow_cache;	/* most recently freed first; huge lock */
static unsigned grow_cached;

static void huge_release(struct segment *s)
{
	seg_map_set(s, s->reserved, false);
	s->magic = 0;
	ps_release(s, s->reserved, s->committed);
}

/* Release a chain of segments taken off the cache (linked through next),
 * outside the huge lock; returns the bytes given back. */
static size_t release_chain(struct segment *s)
{
	size_t bytes = 0;

	while (s) {
		struct segment *next = s->next;

		bytes += s->committed;
		huge_release(s);
		s = next;
	}
	return bytes;
}

/* Detach the cached segments from *link on (huge lock held). */
static struct segment *cache_cut(struct segment **link)
{
	struct segment *rest = *link;

	*link = NULL;
	for (struct segment *s = rest; s; s = s->next)
		grow_cached--;
	return rest;
}

/* The cached segments older than the purge delay, detached (huge lock
 * held; the list is in freeing order, so they are its tail). */
static struct segment *cache_expired(int64_t now)
{
	int64_t delay = mm_purge_delay_ms();
	struct segment **link = &grow_cache;

	while (*link && now && now - (*link)->cached_at < delay)
		link = &(*link)->next;
	return cache_cut(link);
}

/* Keep s (just freed, its block gone) for the next growing block: true if
 * kept.  Segments past the delay or over the count go back. */
static bool cache_put(struct segment *s)
{
	int64_t now = mm_coarse_ms();
	struct segment *old, *over = NULL, **link;
	size_t keep;

	if (!mm_purge_delay_ms() || !now || s->committed > GROW_CACHE_SEG_MAX)
		return false;
	/*
	 * A segment from the cache may have more pages than its block used:
	 * it keeps up to twice that.  Keeping all, every cached segment would
	 * soon hold its largest block's pages (realloc-2t's peak 10 % higher);
	 * keeping only the block's, the next larger block faults the rest in
	 * again (realloc 30 % slower).
	 */
	keep = 2 * ((size_t)(s->huge_payload - (char *)s) + s->huge_usable);
	if (s->committed > keep) {
		ps_decommit((char *)s + keep, s->committed - keep);
		s->committed = keep;
	}
	mm_lock(&mm_huge_lock);
	s->magic = SEG_MAGIC_CACHED;
	s->cached_at = now;
	s->prev = NULL;
	s->next = grow_cache;
	grow_cache = s;
	grow_cached++;
	old = cache_expired(now);
	if (grow_cached > GROW_CACHE_MAX) {	/* the oldest goes */
		for (link = &grow_cache; (*link)->next; link = &(*link)->next)
			;
		over = cache_cut(link);
	}
	mm_unlock(&mm_huge_lock);
	release_chain(old);
	release_chain(over);
	return true;
}

/*
 * A cached segment for a block ending end bytes into it with room after
 * it: of those whose reservation holds both, the one with the fewest pages
 * committed past end, else the one with the most (the fewest to commit).
 * Its missing pages are committed; NULL if none fits (or committing
 * fails).
 */
static struct segment *cache_take(size_t end, size_t room)
{
	struct segment **link, **best = NULL, *s, *old;

	mm_lock(&mm_huge_lock);
	old = cache_expired(mm_coarse_ms());
	for (link = &grow_cache; (s = *link); link = &s->next) {
		size_t c;

		if (s->reserved < end + room)
			continue;
		c = s->committed;
		if (!best || (c >= end ? (*best)->committed < end || c < (*best)->committed
				       : (*best)->committed < end && c > (*best)->committed))
			best = link;
	}
	s = best ? *best : NULL;
	if (s) {
		*best = s->next;
		grow_cached--;
	}
	mm_unlock(&mm_huge_lock);
	release_chain(old);
	if (s && s->committed < end) {
		if (!ps_commit((char *)s + s->committed, end - s->committed)) {
			huge_release(s);
			return NULL;
		}
		s->committed = end;
	}
	return s;
}

size_t huge_cache_drain(void)
{
	struct segment *all;

	mm_lock(&mm_huge_lock);
	all = cache_cut(&grow_cache);
	mm_unlock(&mm_huge_lock);
	return release_chain(all);
}

int huge_cache_check(void)
{
	size_t pg = ps_page_size();
	unsigned n = 0;

	for (struct segment *s = grow_cache; s; s = s->next, n++) {
		if (s->magic != SEG_MAGIC_CACHED || seg_lookup(s + 1) ||
		    s->committed > s->reserved || s->committed % pg || n >= GROW_CACHE_MAX)
			return MYMEM_E_CORRUPT;
	}
	return n == grow_cached ? MYMEM_OK : MYMEM_E_STATS;
}

/* Make new segment s the segment of a block from off to end. */
static void *huge_setup(struct segment *s, size_t off, size_t end)
{
	char *base = (char *)s;
	struct block *b;

	s->magic = SEG_MAGIC_HUGE;
	s->arena = NULL;
	s->huge_payload = base + off;
	s->huge_usable = end - off;
	b = huge_block(s);
	b->prev_size = 0;
	blk_set(b, MM_HDR + s->huge_usable, B_HUGE);
	mm_lock(&mm_huge_lock);
	s->prev = NULL;
	s->next = mm_huge_list;
	if (mm_huge_list)
		mm_huge_list->prev = s;
	mm_huge_list = s;
	mm_unlock(&mm_huge_lock);
	atomic_fetch_add_explicit(&mm_huge_bytes, s->huge_usable, memory_order_relaxed);
	atomic_fetch_add_explicit(&mm_huge_count, 1, memory_order_relaxed);
	return base + off;
}

/* Reserve and commit a new segment; NULL (errno ENOMEM) on failure. */
static struct segment *huge_map(size_t off, size_t end, size_t room, size_t align)
{
	size_t pg = ps_page_size();
	size_t ralign = align > MM_CHUNK ? align : MM_CHUNK;
	struct segment *s;
	size_t committed;
	char *base;

	base = ps_reserve(end + room, ralign);
	if (!base)
		return NULL;
	if (off <= 2 * pg) {
		if (!ps_commit(base, end))
			goto fail;
		committed = end;
	} else {
		if (!ps_commit(base, pg))
			goto fail;
		if (!ps_commit(base + off - pg, end - (off - pg))) {
			ps_decommit(base, pg);
			goto fail;
		}
		committed = pg + end - (off - pg);
	}
	s = (struct segment *)base;
	s->reserved = end + room;
	s->committed = committed;
	seg_map_set(base, s->reserved, true);
	return s;
fail:
	ps_release(base, end + room, 0);
	return NULL;
}

/*
 * Segments start on 4 MiB boundaries, so the payloads of blocks with room,
 * which programs grow and fill side by side, would all map to the same
 * cache sets (realloc-2t ran at half speed).  Each starts at a different
 * multiple of 256 bytes into its first page instead.
 */
static size_t huge_color(void)
{
	static _Atomic unsigned next;
	unsigned c = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);

	return (size_t)(c * 7 % 15) * 256;
}

void *huge_alloc(size_t n, size_t align, size_t room)
{
	size_t pg = ps_page_size();
	struct segment *s;
	size_t off, end;

	if (align < MM_ALIGN)
		align = MM_ALIGN;
	if (n > MM_MAX_REQUEST || align > MM_MAX_REQUEST) {
		errno = ENOMEM;
		return NULL;
	}
	off = mm_align_up(MM_SEG_HDR + MM_HDR, align);
	if (room && align == MM_ALIGN)
		off += huge_color();
	end = mm_align_up(off + (n ? n : 1), pg);
	room = room < MM_MAX_REQUEST - end ? mm_align_up(room, pg) : 0;
	/* The reservation takes a 4 MiB slot of address space anyway: room
	 * fills it (and every cached segment fits any block up to 1 MiB). */
	if (room && end + room < MM_CHUNK)
		room = MM_CHUNK - end;
	s = room && align == MM_ALIGN ? cache_take(end, room) : NULL;
	if (!s)
		s = huge_map(off, end, room, align);
	else
		s->magic = SEG_MAGIC_HUGE;	/* huge_setup makes it so again */
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	return huge_setup(s, off, end);
}

static void huge_validate(const char *fn, struct segment *s, void *p)
{
	struct block *b = blk_of(p);

	if ((char *)p != s->huge_payload)
		mm_fatal(fn, p, "invalid pointer: inside a large block, not its start");
	if (!blk_tag_ok(b) || !(blk_head(b) & B_HUGE) ||
	    blk_size(b) != s->huge_usable + MM_HDR)
		mm_fatal(fn, p, "corrupted block header of a large block");
}

/*
 * glibc's sliding threshold: a program that frees a large block will
 * likely ask for one of that size again, and a mapping of its own costs a
 * page fault per page every time.  So, unless the environment set either
 * threshold, the mmap threshold rises to just above a freed large block
 * (up to MM_DYN_MMAP_MAX) and the trim threshold to twice that.
 */
#define MM_DYN_MMAP_MAX	((size_t)4 << 20)

static void adapt_thresholds(size_t usable)
{
	if (!__atomic_load_n(&mm_opt.dyn_threshold, __ATOMIC_RELAXED) || usable >= MM_DYN_MMAP_MAX ||
	    usable < mm_mmap_threshold())
		return;
	__atomic_store_n(&mm_opt.mmap_threshold, usable + 1, __ATOMIC_RELAXED);
	if (2 * (usable + 1) > mm_trim_threshold())
		__atomic_store_n(&mm_opt.trim_threshold, 2 * (usable + 1), __ATOMIC_RELAXED);
}

/* s has address space reserved after its block: realloc() put it there. */
static bool room_left(const struct segment *s)
{
	return (size_t)(s->huge_payload - (char *)s) + s->huge_usable < s->reserved;
}

void huge_free(struct segment *s, void *p)
{
	huge_validate("free", s, p);
	adapt_thresholds(s->huge_usable);
	mm_lock(&mm_huge_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		mm_huge_list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	mm_unlock(&mm_huge_lock);
	atomic_fetch_sub_explicit(&mm_huge_bytes, s->huge_usable, memory_order_relaxed);
	atomic_fetch_sub_explicit(&mm_huge_count, 1, memory_order_relaxed);
	if (room_left(s) && cache_put(s))
		return;
	huge_release(s);
}

/*
 * Grow p's block in place by committing more of the room reserved after
 * it.  The fields change under the huge lock (mymem_check() and the
 * statistics read them); only the caller, who owns the block, ever
 * changes its size.
 */
bool huge_grow(struct segment *s, void *p, size_t n, size_t *old_usable, size_t *new_usable)
{
	char *end, *top, *want;

	huge_validate("realloc", s, p);
	if (n > (size_t)((char *)s + s->reserved - (char *)p))
		return false;
	/* Pages committed past the block's end (a segment from the growth
	 * cache may have more than its block) need no commit. */
	end = (char *)p + s->huge_usable;
	top = (char *)s + s->committed;
	if (top < end)		/* an aligned block: a hole before its pages */
		top = end;
	want = (char *)mm_align_up((uintptr_t)p + n, ps_page_size());
	if (want > top && !ps_commit(top, (size_t)(want - top)))
		return false;
	mm_lock(&mm_huge_lock);
	*old_usable = s->huge_usable;
	if (want > end) {
		if (want > top)
			s->committed += (size_t)(want - top);
		s->huge_usable = (size_t)(want - (char *)p);
		blk_set(huge_block(s), MM_HDR + s->huge_usable, B_HUGE);
	}
	*new_usable = s->huge_usable;
	mm_unlock(&mm_huge_lock);
	atomic_fetch_add_explicit(&mm_huge_bytes, *new_usable - *old_usable, memory_order_relaxed);
	return true;
}

size_t huge_usable(struct segment *s, void *p)
{
	huge_validate("malloc_usable_size", s, p);
	return s->huge_usable;
}
