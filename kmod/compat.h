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

#endif /* MYMEM_COMPAT_H */
