// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - counters and limits, for all users and for each process.
 *
 * The figures change under a seqlock (writers serialise, readers retry),
 * so sysfs and the ioctls always read a consistent snapshot.  Limits are
 * enforced on committed_pages, an atomic an mmap() raises before it
 * allocates: two racing mmap() calls can never both pass a limit that
 * only one of them fits under.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "mymem.h"
#include "mymem_dev.h"

struct mymem_counters mymem_global = {
	.lock = __SEQLOCK_UNLOCKED(mymem_global.lock),
};

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
	seqlock_init(&fresh->stats.lock);
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

static void counters_alloc(struct mymem_counters *c, unsigned long nr_pages)
{
	write_seqlock(&c->lock);
	c->pages_allocated += nr_pages;
	c->resident_pages += nr_pages;
	c->peak_resident_pages = max(c->peak_resident_pages, c->resident_pages);
	write_sequnlock(&c->lock);
}

static void counters_free(struct mymem_counters *c, unsigned long nr_pages)
{
	write_seqlock(&c->lock);
	c->pages_freed += nr_pages;
	c->resident_pages -= nr_pages;
	write_sequnlock(&c->lock);
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

/* Charge pages the fault path must allocate, whatever the limits. */
void mymem_commit_unchecked(struct mymem_proc *proc, unsigned long nr_pages)
{
	atomic64_add(nr_pages, &mymem_global.committed_pages);
	atomic64_add(nr_pages, &proc->stats.committed_pages);
}

static u64 *counter_at(struct mymem_counters *c, size_t counter_offset)
{
	return (u64 *)((char *)c + counter_offset);
}

static void counter_add(struct mymem_counters *c, size_t counter_offset,
			long delta)
{
	write_seqlock(&c->lock);
	*counter_at(c, counter_offset) += delta;
	write_sequnlock(&c->lock);
}

/* Add delta to one counter, globally and (if proc) for the process. */
void mymem_count_event(struct mymem_proc *proc, size_t counter_offset,
		       long delta)
{
	counter_add(&mymem_global, counter_offset, delta);
	if (proc)
		counter_add(&proc->stats, counter_offset, delta);
}

/* All figures of c, from one consistent snapshot. */
void mymem_fill_stats(const struct mymem_counters *c, struct mymem_stats *s)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&c->lock);
		s->resident_pages = c->resident_pages;
		s->peak_resident_pages = c->peak_resident_pages;
		s->pages_allocated = c->pages_allocated;
		s->pages_freed = c->pages_freed;
		s->mmap_calls = c->mmap_calls;
		s->munmap_calls = c->munmap_calls;
		s->open_files = c->open_files;
		s->failed_mmaps = c->failed_mmaps;
	} while (read_seqretry(&c->lock, seq));
}

u64 mymem_read_counter(const struct mymem_counters *c, size_t counter_offset)
{
	unsigned int seq;
	u64 value;

	do {
		seq = read_seqbegin(&c->lock);
		value = *(const u64 *)((const char *)c + counter_offset);
	} while (read_seqretry(&c->lock, seq));
	return value;
}

/* True when every page allocated has been freed and no process is known. */
bool mymem_stats_balanced(void)
{
	struct mymem_stats st;
	bool balanced;

	spin_lock(&mymem_procs_lock);
	balanced = hash_empty(mymem_procs);
	spin_unlock(&mymem_procs_lock);
	mymem_fill_stats(&mymem_global, &st);
	return balanced && st.resident_pages == 0 &&
	       atomic64_read(&mymem_global.committed_pages) == 0 &&
	       st.pages_allocated == st.pages_freed;
}
