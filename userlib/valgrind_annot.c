// SPDX-License-Identifier: MIT
/*
 * valgrind_annot.c - the client requests behind valgrind_annot.h.
 *
 * Without valgrind's headers the library builds as before: mm_vg stays
 * false and nothing here is ever called.
 */
#include "valgrind_annot.h"

#if defined(__has_include) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define RUNNING_ON_VALGRIND				0
#define VALGRIND_MAKE_MEM_DEFINED(a, n)			0
#define VALGRIND_MAKE_MEM_NOACCESS(a, n)		((void)0)
#define VALGRIND_CHECK_MEM_IS_ADDRESSABLE(a, n)		0
#define VALGRIND_MALLOCLIKE_BLOCK(a, n, rz, z)		((void)0)
#define VALGRIND_FREELIKE_BLOCK(a, rz)			((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(a, o, n, rz)	((void)0)
#define VALGRIND_DISABLE_ERROR_REPORTING		((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING			((void)0)
#endif

bool mm_vg;

void vg_init(void)
{
	int probe = 0;

	/*
	 * Only memcheck answers a MAKE_MEM request (with -1): under other
	 * tools (callgrind timing the fast paths) nothing changes.  The
	 * thread caches go off: blocks parked there would be neither live
	 * nor free for memcheck, and every call now reaches the annotations.
	 */
	if (RUNNING_ON_VALGRIND && (long)VALGRIND_MAKE_MEM_DEFINED(&probe, sizeof(probe)) == -1) {
		mm_opt.tcache = false;
		__atomic_store_n(&mm_vg, true, __ATOMIC_RELAXED);
	}
}

void vg_mute_slow(void)
{
	VALGRIND_DISABLE_ERROR_REPORTING;
}

void vg_unmute_slow(void)
{
	VALGRIND_ENABLE_ERROR_REPORTING;
}

/* Usable bytes of live block p; *tail gets the bytes of the next block's
 * header right after them (0 for a huge block: its mapping ends there). */
static size_t usable_of(void *p, size_t *tail)
{
	struct segment *s;
	size_t u;

	VALGRIND_DISABLE_ERROR_REPORTING;	/* the header is noaccess */
	s = seg_lookup(p);
	if (s->magic == SEG_MAGIC_HUGE) {
		u = s->huge_usable;
		*tail = 0;
	} else {
		/* the header in front of p: 16 bytes, 8 for a run's block */
		u = blk_usable(blk_of(p));
		*tail = head_size(blk_head(blk_of(p))) - u;
	}
	VALGRIND_ENABLE_ERROR_REPORTING;
	return u;
}

/* Redzones: p's header, and everything from byte n to the next header's end. */
static void redzones(void *p, size_t n)
{
	size_t tail, u = usable_of(p, &tail);

	VALGRIND_MAKE_MEM_NOACCESS((char *)p - (tail ? tail : MM_HDR), tail ? tail : MM_HDR);
	VALGRIND_MAKE_MEM_NOACCESS((char *)p + n, u - n + tail);
}

void vg_alloc_slow(void *p, size_t n, bool zeroed)
{
	VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, zeroed);
	redzones(p, n);
}

void vg_free_slow(void *p)
{
	VALGRIND_FREELIKE_BLOCK(p, 0);
}

size_t vg_size_slow(void *p, size_t usable)
{
	uintptr_t bad;

	VALGRIND_DISABLE_ERROR_REPORTING;	/* a probe, not an error */
	bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, usable);
	VALGRIND_ENABLE_ERROR_REPORTING;
	return bad ? bad - (uintptr_t)p : usable;
}

void vg_resize_slow(void *p, size_t old, size_t n)
{
	VALGRIND_RESIZEINPLACE_BLOCK(p, old, n, 0);
	redzones(p, n);
}
