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
#include <linux/seqlock.h>
#include <linux/types.h>

struct attribute_group;
struct mymem_stats;

/* Module parameters (device.c); read with READ_ONCE, root may change them. */
extern unsigned long max_pages;
extern unsigned long max_pages_per_process;

/*
 * struct mymem_counters - the figures of struct mymem_stats.
 *
 * Writers serialise on a seqlock and readers copy all figures in one
 * consistent snapshot, so resident_pages == pages_allocated - pages_freed
 * and peak_resident_pages >= resident_pages hold in every snapshot, even
 * while other CPUs map and unmap.  committed_pages is separate and not
 * reported: resident_pages plus the pages an mmap() in flight has
 * reserved; the limits are checked against it.
 */
struct mymem_counters {
	seqlock_t lock;
	u64 resident_pages;
	u64 peak_resident_pages;
	u64 pages_allocated;
	u64 pages_freed;
	u64 mmap_calls;
	u64 munmap_calls;
	u64 open_files;
	u64 failed_mmaps;
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
void mymem_commit_unchecked(struct mymem_proc *proc, unsigned long nr_pages);
void mymem_fill_stats(const struct mymem_counters *c, struct mymem_stats *s);
u64 mymem_read_counter(const struct mymem_counters *c, size_t counter_offset);
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
