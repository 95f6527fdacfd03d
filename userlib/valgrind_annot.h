/* SPDX-License-Identifier: MIT */
/*
 * valgrind_annot.h - tell valgrind's memcheck about the heap's blocks.
 *
 * Decided once, at initialisation: only when the process runs under
 * memcheck (mm_vg) are the calls below anything but a load and a branch,
 * and the fast paths of malloc_api.c make none of them.  Under memcheck the
 * thread caches are off, so every malloc and free takes a slow path, where
 * the annotations are:
 *
 *  - every block handed out is a memcheck heap block of the requested
 *    size (VALGRIND_MALLOCLIKE_BLOCK), every free ends it (FREELIKE),
 *    realloc in place resizes it (RESIZEINPLACE);
 *  - its header, the bytes past the requested size and the next block's
 *    header are marked NOACCESS: those are the redzones that make one
 *    byte past the end (or before the start) an invalid access;
 *  - the allocator's own work runs with error reporting off for the
 *    thread (vg_mute), because it reads and writes headers and free-list
 *    links in memory memcheck rightly calls noaccess.  Loads of noaccess
 *    bytes give defined values, so nothing it computes is "undefined".
 *
 * Leak checking: memcheck scans the heap's mappings as roots, but only
 * words that are addressable and defined; freed payloads (where the free
 * lists live) are noaccess, and no other metadata points into a payload.
 */
#ifndef MYMEM_VALGRIND_ANNOT_H
#define MYMEM_VALGRIND_ANNOT_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

extern MM_HIDDEN bool mm_vg;	/* running under memcheck: set once at init */

/* At init, after options_load(): sets mm_vg, turns the thread caches off. */
MM_HIDDEN void vg_init(void);

static inline bool vg_on(void)
{
	return MM_UNLIKELY(__atomic_load_n(&mm_vg, __ATOMIC_RELAXED));
}

MM_HIDDEN void vg_mute_slow(void);
MM_HIDDEN void vg_unmute_slow(void);
MM_HIDDEN void vg_alloc_slow(void *p, size_t n, bool zeroed);
MM_HIDDEN void vg_free_slow(void *p);
MM_HIDDEN size_t vg_size_slow(void *p, size_t usable);
MM_HIDDEN void vg_resize_slow(void *p, size_t old, size_t n);

/* Errors off for this thread around the allocator's own work; pass what
 * vg_mute returned to vg_unmute (init may happen in between). */
static inline bool vg_mute(void)
{
	if (!vg_on())
		return false;
	vg_mute_slow();
	return true;
}

static inline void vg_unmute(bool muted)
{
	if (MM_UNLIKELY(muted))
		vg_unmute_slow();
}

/* p (NULL allowed) was just handed out for a request of n bytes. */
static inline void *vg_alloc(void *p, size_t n, bool zeroed)
{
	if (vg_on() && p)
		vg_alloc_slow(p, n, zeroed);
	return p;
}

/* p is about to be freed: memcheck reports a bad p here, by its stack. */
static inline void vg_free(void *p)
{
	if (vg_on() && p)
		vg_free_slow(p);
}

/* Bytes the caller asked for when p (usable bytes) was allocated: under
 * memcheck the first noaccess byte is the end of the request. */
static inline size_t vg_size(void *p, size_t usable)
{
	return vg_on() ? vg_size_slow(p, usable) : usable;
}

/* Live block p, asked for with old bytes, now holds n in place. */
static inline void vg_resize(void *p, size_t old, size_t n)
{
	if (vg_on())
		vg_resize_slow(p, old, n);
}

#endif /* MYMEM_VALGRIND_ANNOT_H */
