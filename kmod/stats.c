// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - counters and limits, for all users and for each process.
 *
 * Every figure is an atomic64_t, so sysfs and the ioctls read exact values
 * without a lock.  Limits are enforced on committed_pages, which an mmap()
 * raises before it allocates: two racing mmap() calls can never both pass
 * a limit that only one of them fits under.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "mymem.h"
#include "mymem_dev.h"

struct mymem_counters mymem_global;

/* Processes using the device, keyed by mm; 128 buckets is plenty. */
static DEFINE_HASHTABLE(mymem_procs, 7);
static DEFINE_SPINLOCK(mymem_procs_lock);

static struct mymem_proc *proc_lookup(struct mm_struct *mm)
{
	struct mymem_proc *proc;

	hash_for_each_possible(mymem_procs, proc, node, (unsigned long)mm)
		if (proc->mm == mm)
			return proc;
	return NULL;
}

/* The caller's record with a reference, or NULL if it has none. */
struct mymem_proc *mymem_proc_find(struct mm_struct *mm)
{
	struct mymem_proc *proc;

	spin_lock(&mymem_procs_lock);
	proc = proc_lookup(mm);
	if (proc)
		refcount_inc(&proc->ref);
	spin_unlock(&mymem_procs_lock);
	return proc;
}

/* The caller's record with a reference, created on first use. */
struct mymem_proc *mymem_proc_get(struct mm_struct *mm)
{
	struct mymem_proc *proc, *fresh;

	proc = mymem_proc_find(mm);
	if (proc)
		return proc;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	fresh->mm = mm;
	refcount_set(&fresh->ref, 1);

	spin_lock(&mymem_procs_lock);
	proc = proc_lookup(mm);
	if (proc) {
		/* Another thread of the process won the race. */
		refcount_inc(&proc->ref);
	} else {
		mmgrab(mm);
		hash_add(mymem_procs, &fresh->node, (unsigned long)mm);
		proc = fresh;
		fresh = NULL;
	}
	spin_unlock(&mymem_procs_lock);
	kfree(fresh);
	return proc;
}

void mymem_proc_put(struct mymem_proc *proc)
{
	bool last;

	/* refcount_dec_and_lock(), spelled out so sparse sees the lock pair. */
	if (refcount_dec_not_one(&proc->ref))
		return;
	spin_lock(&mymem_procs_lock);
	last = refcount_dec_and_test(&proc->ref);
	if (last)
		hash_del(&proc->node);
	spin_unlock(&mymem_procs_lock);
	if (!last)
		return;
	mmdrop(proc->mm);
	kfree(proc);
}

static bool commit_within(atomic64_t *committed, unsigned long nr_pages,
			  unsigned long limit)
{
	if (atomic64_add_return(nr_pages, committed) <= (s64)limit)
		return true;
	atomic64_sub(nr_pages, committed);
	return false;
}

/* Reserve nr_pages under both limits, or fail with -ENOMEM. */
int mymem_charge(struct mymem_proc *proc, unsigned long nr_pages)
{
	unsigned long global_limit = READ_ONCE(max_pages);
	unsigned long proc_limit = READ_ONCE(max_pages_per_process);

	if (nr_pages > global_limit || nr_pages > proc_limit)
		return -ENOMEM;
	if (!commit_within(&mymem_global.committed_pages, nr_pages,
			   global_limit))
		return -ENOMEM;
	if (!commit_within(&proc->stats.committed_pages, nr_pages,
			   proc_limit)) {
		atomic64_sub(nr_pages, &mymem_global.committed_pages);
		return -ENOMEM;
	}
	return 0;
}

void mymem_uncharge(struct mymem_proc *proc, unsigned long nr_pages)
{
	atomic64_sub(nr_pages, &mymem_global.committed_pages);
	atomic64_sub(nr_pages, &proc->stats.committed_pages);
}

static void raise_peak(atomic64_t *peak, s64 value)
{
	s64 old = atomic64_read(peak);

	while (value > old && !atomic64_try_cmpxchg(peak, &old, value))
		;
}

static void counters_alloc(struct mymem_counters *c, unsigned long nr_pages)
{
	atomic64_add(nr_pages, &c->pages_allocated);
	raise_peak(&c->peak_resident_pages,
		   atomic64_add_return(nr_pages, &c->resident_pages));
}

static void counters_free(struct mymem_counters *c, unsigned long nr_pages)
{
	atomic64_add(nr_pages, &c->pages_freed);
	atomic64_sub(nr_pages, &c->resident_pages);
	atomic64_sub(nr_pages, &c->committed_pages);
}

/* Pages now held (already charged with mymem_charge()). */
void mymem_account_alloc(struct mymem_proc *proc, unsigned long nr_pages)
{
	counters_alloc(&mymem_global, nr_pages);
	counters_alloc(&proc->stats, nr_pages);
}

/* Pages given back to the buddy allocator; releases their charge. */
void mymem_account_free(struct mymem_proc *proc, unsigned long nr_pages)
{
	counters_free(&mymem_global, nr_pages);
	counters_free(&proc->stats, nr_pages);
}

/* Add delta to one counter, globally and (if proc) for the process. */
void mymem_count_event(struct mymem_proc *proc, size_t counter_offset,
		       long delta)
{
	atomic64_add(delta, (atomic64_t *)((char *)&mymem_global +
					   counter_offset));
	if (proc)
		atomic64_add(delta, (atomic64_t *)((char *)&proc->stats +
						   counter_offset));
}

void mymem_fill_stats(const struct mymem_counters *c, struct mymem_stats *s)
{
	s->resident_pages = atomic64_read(&c->resident_pages);
	s->peak_resident_pages = atomic64_read(&c->peak_resident_pages);
	s->pages_allocated = atomic64_read(&c->pages_allocated);
	s->pages_freed = atomic64_read(&c->pages_freed);
	s->mmap_calls = atomic64_read(&c->mmap_calls);
	s->munmap_calls = atomic64_read(&c->munmap_calls);
	s->open_files = atomic64_read(&c->open_files);
	s->failed_mmaps = atomic64_read(&c->failed_mmaps);
}

/* True when every page allocated has been freed and no process is known. */
bool mymem_stats_balanced(void)
{
	bool balanced;

	spin_lock(&mymem_procs_lock);
	balanced = hash_empty(mymem_procs);
	spin_unlock(&mymem_procs_lock);
	return balanced &&
	       atomic64_read(&mymem_global.resident_pages) == 0 &&
	       atomic64_read(&mymem_global.committed_pages) == 0 &&
	       atomic64_read(&mymem_global.pages_allocated) ==
	       atomic64_read(&mymem_global.pages_freed);
}
