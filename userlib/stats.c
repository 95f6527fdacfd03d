// SPDX-License-Identifier: MIT
/*
 * stats.c - heap statistics: gathered from the arenas (under their locks),
 * the thread caches' counters and the page source; printed without holding
 * any lock, so printing may allocate (stdio does) like any caller.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "valgrind_annot.h"
#include "pagesource.h"

#define API __attribute__((visibility("default")))

static int heap_stats(struct mymem_heap_stats *st)
{
	struct counters c;
	uint64_t held_bytes, held_blocks;

	if (!st)
		return MYMEM_E_INVALID;
	memset(st, 0, sizeof(*st));
	mm_ready();
	st->page_source = ps_source();
	st->policy = mm_policy();
	st->page_size = ps_page_size();
	if (atomic_load(&mm_init_state) != 2)
		return MYMEM_OK;
	mm_fork_rebase();
	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];
		size_t big;

		arena_lock(a);
		st->segments += a->nsegs;
		/* free blocks of the lists and of the runs */
		st->free_bytes += a->fl.bytes + a->run_free_bytes;
		st->free_blocks += a->fl.count + a->run_free_blocks;
		big = fl_largest(&a->fl);
		if (big > st->largest_free_block)
			st->largest_free_block = big;
		mm_unlock(&a->lock);
	}
	tc_sum(&c, &held_bytes, &held_blocks);
	st->alloc_count = atomic_load(&c.alloc_count);
	st->free_count = atomic_load(&c.free_count);
	st->bytes_allocated = atomic_load(&c.alloc_bytes);
	st->bytes_freed = atomic_load(&c.free_bytes);
	/* Other threads' counters move while they are summed: the frees can
	 * be read ahead of the allocations they undo (once in a million reads
	 * of a churning thread's), and in use is never below zero. */
	st->bytes_in_use = st->bytes_allocated > st->bytes_freed ?
			   st->bytes_allocated - st->bytes_freed : 0;
	st->cached_bytes = held_bytes;
	st->cached_blocks = held_blocks;
	st->huge_blocks = atomic_load(&mm_huge_count);
	st->huge_bytes = atomic_load(&mm_huge_bytes);
	st->pages_mapped = ps_pages_mapped();
	st->fragmentation = st->free_bytes ?
		1.0 - (double)st->largest_free_block / (double)st->free_bytes : 0.0;
	return MYMEM_OK;
}

/* Muted under memcheck: the free lists live in freed payloads. */
API int mymem_heap_stats(struct mymem_heap_stats *st)
{
	bool m = vg_mute();
	int r = heap_stats(st);

	vg_unmute(m);
	return r;
}

/* The name the seeds' API uses; the struct keeps its heap_ name (mymem.h). */
API int mymem_stats(struct mymem_heap_stats *st)
{
	return mymem_heap_stats(st);
}

API int mymem_print_stats(FILE *f)
{
	struct mymem_heap_stats st;
	int r;

	mymem_heap_stats(&st);
	r = fprintf(f,
		"mymem heap statistics\n"
		"  page source:        %s\n"
		"  policy:             %s\n"
		"  bytes allocated:    %llu (cumulative)\n"
		"  bytes freed:        %llu (cumulative)\n"
		"  bytes in use:       %llu\n"
		"  allocations:        %llu\n"
		"  frees:              %llu\n"
		"  pages mapped:       %llu (%llu bytes each)\n"
		"  heap segments:      %llu\n"
		"  large blocks:       %llu (%llu bytes)\n"
		"  free bytes in heap: %llu\n"
		"  free blocks:        %llu\n"
		"  largest free block: %llu\n"
		"  fragmentation:      %.1f%%\n"
		"  thread caches hold: %llu blocks, %llu bytes\n",
		mymem_page_source_name(st.page_source), mymem_policy_name(st.policy),
		(unsigned long long)st.bytes_allocated, (unsigned long long)st.bytes_freed,
		(unsigned long long)st.bytes_in_use, (unsigned long long)st.alloc_count,
		(unsigned long long)st.free_count, (unsigned long long)st.pages_mapped,
		(unsigned long long)st.page_size, (unsigned long long)st.segments,
		(unsigned long long)st.huge_blocks, (unsigned long long)st.huge_bytes,
		(unsigned long long)st.free_bytes, (unsigned long long)st.free_blocks,
		(unsigned long long)st.largest_free_block, st.fragmentation * 100.0,
		(unsigned long long)st.cached_blocks, (unsigned long long)st.cached_bytes);
	return r < 0 ? -1 : 0;
}
