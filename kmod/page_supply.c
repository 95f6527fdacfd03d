// SPDX-License-Identifier: GPL-2.0
/*
 * page_supply.c - zeroed order-0 pages from the buddy allocator.
 *
 * An mmap() wants many pages at once.  Asking the buddy allocator for
 * high-order blocks and splitting them costs one call per block instead
 * of one per page, and the zeroing runs over contiguous memory.  High
 * orders are only tried opportunistically: a fragmented machine falls back
 * to smaller orders instead of compacting or reclaiming for them, the way
 * drivers/dma-buf/heaps/system_heap.c does.
 *
 * Every page is charged to the caller's memory cgroup (__GFP_ACCOUNT).
 * Order-0 requests use __GFP_RETRY_MAYFAIL: over the cgroup's limit or out
 * of memory they fail (mmap() returns ENOMEM) rather than invoke the OOM
 * killer against some other process.
 */
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>

#include "mymem.h"

/*
 * 1 MiB blocks match the segments a heap maps; 64 KiB blocks still save
 * most of the per-call cost when 1 MiB ones are gone; order 0 always works
 * while memory lasts.
 */
static const unsigned int supply_orders[] = { 8, 4, 0 };

#define HIGH_ORDER_GFP	((GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | \
			  __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_RECLAIM)
#define ORDER0_GFP	(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | \
			 __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

/* One zeroed, charged page, or NULL. */
struct page *mymem_alloc_page(void)
{
	return alloc_page(ORDER0_GFP);
}

/* Largest block of at most nr_pages, split into order-0 pages at pages[]. */
static unsigned long alloc_block(struct page **pages, unsigned long nr_pages)
{
	unsigned int i;
	unsigned long n;

	for (i = 0; i < ARRAY_SIZE(supply_orders); i++) {
		unsigned int order = supply_orders[i];
		struct page *block;

		if ((1UL << order) > nr_pages)
			continue;
		block = alloc_pages(order ? HIGH_ORDER_GFP : ORDER0_GFP, order);
		if (!block)
			continue;
		if (order)
			split_page(block, order);
		for (n = 0; n < (1UL << order); n++)
			pages[n] = block + n;
		return 1UL << order;
	}
	return 0;
}

/*
 * Fill pages[0..nr_pages) with zeroed pages.  On failure nothing is left
 * allocated and -ENOMEM is returned.
 */
int mymem_alloc_pages(struct page **pages, unsigned long nr_pages)
{
	unsigned long done = 0, got;

	while (done < nr_pages) {
		got = alloc_block(pages + done, nr_pages - done);
		if (!got)
			goto fail;
		done += got;
		cond_resched();
	}
	return 0;

fail:
	while (done)
		__free_page(pages[--done]);
	return -ENOMEM;
}
