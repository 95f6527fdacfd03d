/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mymem.h - what the parts of mymem.ko share.
 *
 * device.c	the misc device /dev/mymem, module parameters, init/exit
 * region.c	one mmap() call's pages: the mmap hook and the vm_operations
 * page_supply.c	zeroed pages from the buddy allocator, high orders first
 * stats.c	counters and limits, global and per process
 * ioctl.c	the ioctls of the uapi header
 * sysfs.c	one read-only file per global counter
 */
#ifndef MYMEM_H
#define MYMEM_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/refcount.h>
#include <linux/types.h>

struct attribute_group;
struct mymem_stats;

/* Module parameters (device.c); read with READ_ONCE, root may change them. */
extern unsigned long max_pages;
extern unsigned long max_pages_per_process;

/*
 * struct mymem_counters - the figures of struct mymem_stats, kept with
 * atomics so that readers never race writers.  committed_pages is not
 * reported: it is resident_pages plus the pages an mmap() in flight has
 * reserved, and the limits are checked against it.
 */
struct mymem_counters {
	atomic64_t resident_pages;
	atomic64_t peak_resident_pages;
	atomic64_t pages_allocated;
	atomic64_t pages_freed;
	atomic64_t mmap_calls;
	atomic64_t munmap_calls;
	atomic64_t open_files;
	atomic64_t failed_mmaps;
	atomic64_t committed_pages;
};

/*
 * struct mymem_proc - one process's share, keyed by its mm.
 *
 * A process is its address space: threads share one record, a forked
 * child gets its own when it first opens or maps.  The record pins the
 * mm_struct (mmgrab, not the address space) so the key cannot be reused
 * while the record lives.  Held by every file the process opened and
 * every region it mapped; a region keeps its owner after the owner exits
 * if a forked child still maps it.
 */
struct mymem_proc {
	struct hlist_node node;
	struct mm_struct *mm;
	refcount_t ref;
	struct mymem_counters stats;
};

extern struct mymem_counters mymem_global;

/* stats.c */
struct mymem_proc *mymem_proc_get(struct mm_struct *mm);
struct mymem_proc *mymem_proc_find(struct mm_struct *mm);
void mymem_proc_put(struct mymem_proc *proc);
int mymem_charge(struct mymem_proc *proc, unsigned long nr_pages);
void mymem_uncharge(struct mymem_proc *proc, unsigned long nr_pages);
void mymem_account_alloc(struct mymem_proc *proc, unsigned long nr_pages);
void mymem_account_free(struct mymem_proc *proc, unsigned long nr_pages);
void mymem_count_event(struct mymem_proc *proc, size_t counter_offset, long delta);
void mymem_fill_stats(const struct mymem_counters *c, struct mymem_stats *s);
bool mymem_stats_balanced(void);

/* Count one event in the global and the process's counters. */
#define mymem_count(proc, field, delta) \
	mymem_count_event(proc, offsetof(struct mymem_counters, field), delta)

/* page_supply.c */
int mymem_alloc_pages(struct page **pages, unsigned long nr_pages);
struct page *mymem_alloc_page(void);

/* region.c */
int mymem_mmap(struct file *file, struct vm_area_struct *vma);
bool mymem_vma_is_ours(const struct vm_area_struct *vma);

/* ioctl.c */
long mymem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* sysfs.c */
extern const struct attribute_group *mymem_attr_groups[];

#endif /* MYMEM_H */
