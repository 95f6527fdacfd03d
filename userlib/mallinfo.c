// SPDX-License-Identifier: MIT
/*
 * mallinfo.c - glibc's statistics calls, answered with this heap's figures:
 * without them a program that calls mallinfo2(), mallinfo() or
 * malloc_stats() under LD_PRELOAD reads glibc's own, unused arena.
 *
 * Fields as mallinfo(3) describes them, mapped onto mymem_heap_stats():
 *   arena     bytes committed for heap segments (not large blocks)
 *   ordblks   free blocks in the heap     smblks   blocks in thread caches
 *   hblks     large blocks (own mapping)  hblkhd   their bytes
 *   uordblks  bytes in use in the heap    fordblks free bytes, caches included
 *   fsmblks   bytes in thread caches      usmblks, keepcost  0
 */
#include <limits.h>
#include <malloc.h>

#include "internal.h"

#define API __attribute__((visibility("default")))

static size_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? (size_t)(a - b) : 0;
}

API struct mallinfo2 mallinfo2(void)
{
	struct mymem_heap_stats st;
	struct mallinfo2 mi = { 0 };

	if (mymem_heap_stats(&st))
		return mi;
	mi.arena = sat_sub(st.pages_mapped * st.page_size, st.huge_bytes);
	mi.ordblks = st.free_blocks;
	mi.smblks = st.cached_blocks;
	mi.hblks = st.huge_blocks;
	mi.hblkhd = st.huge_bytes;
	mi.uordblks = sat_sub(st.bytes_in_use, st.huge_bytes);
	mi.fordblks = st.free_bytes + st.cached_bytes;
	mi.fsmblks = st.cached_bytes;
	return mi;
}

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* The old interface, with int fields: clamped where glibc would wrap. */
API struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi = {
		.arena = clamp_int(m2.arena),
		.ordblks = clamp_int(m2.ordblks),
		.smblks = clamp_int(m2.smblks),
		.hblks = clamp_int(m2.hblks),
		.hblkhd = clamp_int(m2.hblkhd),
		.usmblks = clamp_int(m2.usmblks),
		.fsmblks = clamp_int(m2.fsmblks),
		.uordblks = clamp_int(m2.uordblks),
		.fordblks = clamp_int(m2.fordblks),
		.keepcost = clamp_int(m2.keepcost),
	};

	return mi;
}

/* glibc prints its statistics to stderr; so do we, ours. */
API void malloc_stats(void)
{
	mymem_print_stats(stderr);
}
