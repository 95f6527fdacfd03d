// SPDX-License-Identifier: GPL-2.0
/*
 * region.c - the pages of one mmap() call and how they are mapped.
 *
 * The design (README, "Mapping design"): mmap() allocates every page of
 * the region at once, so limits and allocation failures surface as ENOMEM
 * from mmap() and never as a later SIGBUS, and inserts them all with
 * vm_insert_pages(): ordinary struct-page mappings (VM_MIXEDMAP), not
 * PFN mappings.  Because of that the pages are first-class memory:
 * get_user_pages() reaches them (O_DIRECT, process_vm_readv, vmsplice,
 * ptrace, /proc/PID/mem), they count in RSS (RssFile), they are charged to
 * the memory cgroup, and core dumps include them (vm_ops->name).
 *
 * fork() is the kernel's own copy-on-write: a private mapping is a COW
 * mapping, so copy_page_range() write-protects the pages in parent and
 * child, and the first write on either side copies the page into an
 * anonymous one.  Copying page tables at fork costs what it costs for any
 * anonymous heap.
 *
 * A region holds one reference per page.  When a mapping (or a piece of
 * one) is closed, each page of its range that nobody else holds any more
 * (page_count() == 1: no PTE in any process, no pin, no pipe) is freed at
 * once.  That makes munmap() of any piece give pages back exactly, and
 * frees a device page as soon as copy-on-write has left nobody mapping it.
 * The same check runs when a VMA is opened (fork, split, mremap), which
 * gives back the pages copy-on-write has left to the region alone since
 * the previous fork.  Pages still held elsewhere are freed when the last
 * mapping of the region closes (the page itself lives on until its last
 * holder lets go).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "compat.h"
#include "mymem.h"

/**
 * struct mymem_region - the pages of one mmap() call
 * @ref:	one reference per VMA mapping the region (split and fork add
 *		VMAs through vm_ops->open)
 * @lock:	serialises pages[] between the fault path and close
 * @owner:	process that called mmap(); charged for every page
 * @shared:	MAP_SHARED: contents must outlive a zapped PTE
 * @foreign_vmas: VMAs of the region in other processes (forked children)
 * @nr_pages:	length of the mapping as created
 * @pages:	the pages by offset; NULL once a page has been given back
 */
struct mymem_region {
	struct kref ref;
	struct mutex lock; /* pages[], foreign_vmas: fault path vs open/close */
	struct mymem_proc *owner;
	bool shared;
	unsigned long foreign_vmas;
	unsigned long nr_pages;
	struct page **pages;
};

static void region_free(struct kref *ref)
{
	struct mymem_region *region = container_of(ref, struct mymem_region, ref);
	unsigned long i, freed = 0;

	for (i = 0; i < region->nr_pages; i++) {
		if (region->pages[i]) {
			put_page(region->pages[i]);
			freed++;
		}
	}
	mymem_account_free(region->owner, freed);
	mymem_proc_put(region->owner);
	kvfree(region->pages);
	kfree(region);
}

/* A region of nr_pages zeroed pages, charged and counted for owner. */
static struct mymem_region *region_create(struct mymem_proc *owner,
					  unsigned long nr_pages)
{
	struct mymem_region *region;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return NULL;
	region->pages = kvcalloc(nr_pages, sizeof(*region->pages),
				 GFP_KERNEL_ACCOUNT);
	if (!region->pages)
		goto free_region;
	if (mymem_alloc_pages(region->pages, nr_pages))
		goto free_array;

	kref_init(&region->ref);
	mutex_init(&region->lock);
	refcount_inc(&owner->ref);
	region->owner = owner;
	region->nr_pages = nr_pages;
	mymem_account_alloc(owner, nr_pages);
	return region;

free_array:
	kvfree(region->pages);
free_region:
	kfree(region);
	return NULL;
}

/*
 * Free the pages in [first, last) that nobody but the region holds.
 * Called with region->lock held.
 */
static void region_release_unheld(struct mymem_region *region,
				  unsigned long first, unsigned long last)
{
	unsigned long i, freed = 0;

	lockdep_assert_held(&region->lock);
	last = min(last, region->nr_pages);
	for (i = first; i < last; i++) {
		struct page *page = region->pages[i];

		if (page && page_count(page) == 1) {
			region->pages[i] = NULL;
			put_page(page);
			freed++;
		}
	}
	if (freed)
		mymem_account_free(region->owner, freed);
}

/*
 * A private mapping is anonymous memory to its processes: once no PTE
 * and no pin holds a page, nobody can see its contents again (a later
 * fault after MADV_DONTNEED gets zeroes), so it can go at once.  A shared
 * mapping is shared memory: a page must stay while any VMA of the region
 * covers it, even with no PTE.  Within the owner's address space VMAs of
 * one region never overlap, so a closing owner VMA covers its range alone
 * as long as no forked child has a VMA of the region.
 */
static bool region_may_release(struct mymem_region *region,
			       struct vm_area_struct *vma)
{
	if (!region->shared)
		return true;
	return vma->vm_mm == region->owner->mm && !region->foreign_vmas;
}

/*
 * Called for the child's copy at fork() (before its page tables are
 * copied), on a split and on mremap().  In a private region, pages that
 * copy-on-write left behind since the last fork (the parent wrote its own
 * copy after the child exited) are held by the region alone: give them
 * back now, so a process that forks often does not keep a second copy of
 * its heap.
 */
static void region_vm_open(struct vm_area_struct *vma)
{
	struct mymem_region *region = vma->vm_private_data;

	kref_get(&region->ref);
	mutex_lock(&region->lock);
	if (vma->vm_mm != region->owner->mm)
		region->foreign_vmas++;
	if (!region->shared)
		region_release_unheld(region, vma->vm_pgoff,
				      vma->vm_pgoff + vma_pages(vma));
	mutex_unlock(&region->lock);
}

static void region_vm_close(struct vm_area_struct *vma)
{
	struct mymem_region *region = vma->vm_private_data;
	struct mymem_proc *owner = region->owner;

	mutex_lock(&region->lock);
	if (vma->vm_mm != owner->mm)
		region->foreign_vmas--;
	/* The kernel has already zapped this VMA's PTEs. */
	if (region_may_release(region, vma))
		region_release_unheld(region, vma->vm_pgoff,
				      vma->vm_pgoff + vma_pages(vma));
	mutex_unlock(&region->lock);
	/* A forked child's closes count globally, not for the owner. */
	mymem_count(vma->vm_mm == owner->mm ? owner : NULL, munmap_calls, 1);
	kref_put(&region->ref, region_free);
}

/* Put a fresh zeroed page at index, giving up the one there (if any). */
static struct page *region_replace_page(struct mymem_region *region,
					unsigned long index)
{
	struct page *old = region->pages[index], *page;

	page = mymem_alloc_page();
	if (!page)
		return NULL;
	mymem_commit_unchecked(region->owner, 1);
	mymem_account_alloc(region->owner, 1);
	if (old) {
		/* Still mapped or pinned elsewhere: those holders keep it. */
		put_page(old);
		mymem_account_free(region->owner, 1);
	}
	region->pages[index] = page;
	return page;
}

/*
 * Only reached when a PTE was zapped while the VMA lives on (madvise
 * MADV_DONTNEED).  A shared mapping maps its page again, contents kept, as
 * shared memory does.  A private mapping reads zeroes afterwards, as
 * anonymous memory does: the region's page is cleared if nobody else
 * holds it, or replaced by a fresh zeroed one if another process still
 * maps it.
 */
static vm_fault_t region_vm_fault(struct vm_fault *vmf)
{
	struct mymem_region *region = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= region->nr_pages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&region->lock);
	page = region->pages[vmf->pgoff];
	if (page && !region->shared) {
		if (page_count(page) == 1)
			clear_highpage(page);
		else
			page = NULL;
	}
	if (!page)
		page = region_replace_page(region, vmf->pgoff);
	if (!page) {
		mutex_unlock(&region->lock);
		return VM_FAULT_OOM;
	}
	get_page(page);
	mutex_unlock(&region->lock);
	vmf->page = page;
	return 0;
}

/* A name makes core dumps include the mapping (see always_dump_vma()). */
static const char *region_vm_name(struct vm_area_struct *vma)
{
	return "[mymem]";
}

static const struct vm_operations_struct mymem_vm_ops = {
	.open	= region_vm_open,
	.close	= region_vm_close,
	.fault	= region_vm_fault,
	.name	= region_vm_name,
};

bool mymem_vma_is_ours(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &mymem_vm_ops;
}

/*
 * Insert every page of the region into the VMA.  A private mapping's
 * vm_page_prot is read-only (copy-on-write), so pages inserted with it
 * would be copied into anonymous pages on the first write.  They are
 * inserted with the shared, writable protection instead: writes land in
 * the region's pages, and since the VMA stays a COW mapping, fork() still
 * write-protects them in both processes.
 */
static int region_map(struct mymem_region *region, struct vm_area_struct *vma)
{
	pgprot_t cow_prot = vma->vm_page_prot;
	unsigned long not_mapped = region->nr_pages;
	int ret;

	vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags | VM_SHARED);
	ret = vm_insert_pages(vma, vma->vm_start, region->pages, &not_mapped);
	vma->vm_page_prot = cow_prot;
	if (!ret && not_mapped)
		ret = -ENOMEM;
	return ret;
}

/*
 * mmap(): the region is created, mapped and charged here, all or nothing.
 * On error the kernel unmaps whatever was inserted; the pages' own
 * references then free them.
 */
int mymem_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long nr_pages = vma_pages(vma);
	struct mymem_region *region;
	struct mymem_proc *proc;
	int ret;

	proc = mymem_proc_get(vma->vm_mm);
	if (!proc) {
		mymem_count(NULL, failed_mmaps, 1);
		return -ENOMEM;
	}
	if (vma->vm_pgoff) {
		ret = -EINVAL;
		goto fail;
	}
	ret = mymem_charge(proc, nr_pages);
	if (ret)
		goto fail;
	region = region_create(proc, nr_pages);
	if (!region) {
		mymem_uncharge(proc, nr_pages);
		ret = -ENOMEM;
		goto fail;
	}
	ret = region_map(region, vma);
	if (ret) {
		kref_put(&region->ref, region_free);
		goto fail;
	}
	region->shared = vma->vm_flags & VM_MAYSHARE;
	vma->vm_ops = &mymem_vm_ops;
	vma->vm_private_data = region;
	mymem_sync_rss(vma->vm_mm);
	mymem_count(proc, mmap_calls, 1);
	mymem_proc_put(proc);
	return 0;

fail:
	mymem_count(proc, failed_mmaps, 1);
	mymem_proc_put(proc);
	return ret;
}
