/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the differences between the kernels mymem supports.
 *
 * Supported: Debian's 6.1 (linux-image-amd64) and 6.12
 * (linux-image-6.12-amd64).  Kbuild probes the headers for each feature
 * (MYMEM_HAVE_*), so a stable kernel that backports one is handled too;
 * every difference lives here, nowhere else.
 */
#ifndef MYMEM_COMPAT_H
#define MYMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>

/* 6.3 made vma->vm_flags read-only behind vm_flags_set(). */
#ifndef MYMEM_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/* 6.5 dropped the vmas argument of get_user_pages(). */
static inline long mymem_get_user_page(unsigned long addr, struct page **page)
{
#ifdef MYMEM_HAVE_GUP_VMAS
	return get_user_pages(addr, 1, 0, page, NULL);
#else
	return get_user_pages(addr, 1, 0, page);
#endif
}

/*
 * Up to 6.1 a task's own RSS changes collect in a per-task cache
 * (SPLIT_RSS_COUNTING) that is folded into the mm only every 64 page
 * faults.  vm_insert_pages() adds to that cache and causes no fault, so a
 * fresh mapping would be missing from /proc/PID/status and ps for a while.
 * Fold the cache now, as the kernel's sync_mm_rss() (not exported) does.
 * 6.2 replaced the cache with per-cpu counters: nothing to do there.
 */
static inline void mymem_sync_rss(struct mm_struct *mm)
{
#ifdef SPLIT_RSS_COUNTING
	int i;

	if (current->mm != mm)
		return;
	for (i = 0; i < NR_MM_COUNTERS; i++) {
		int cached = current->rss_stat.count[i];

		if (cached) {
			atomic_long_add(cached, &mm->rss_stat.count[i]);
			current->rss_stat.count[i] = 0;
		}
	}
#endif
}

#endif /* MYMEM_COMPAT_H */
