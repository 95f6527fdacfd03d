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
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "pagesource.h"

_Atomic size_t mm_huge_bytes, mm_huge_count;
mm_lock_t mm_huge_lock = MM_LOCK_INIT;
struct segment *mm_huge_list;

static void huge_release(struct segment *s)
{
	seg_map_set(s, s->reserved, false);
	s->magic = 0;
	ps_release(s, s->reserved, s->committed);
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
	end = mm_align_up(off + (n ? n : 1), pg);
	room = room < MM_MAX_REQUEST - end ? mm_align_up(room, pg) : 0;
	s = huge_map(off, end, room, align);
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
	char *end, *want;

	huge_validate("realloc", s, p);
	if (n > (size_t)((char *)s + s->reserved - (char *)p))
		return false;
	end = (char *)p + s->huge_usable;
	want = (char *)mm_align_up((uintptr_t)p + n, ps_page_size());
	if (want > end && !ps_commit(end, (size_t)(want - end)))
		return false;
	mm_lock(&mm_huge_lock);
	*old_usable = s->huge_usable;
	if (want > end) {
		s->committed += (size_t)(want - end);
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
