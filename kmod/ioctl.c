// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - the ioctls of mymem_dev.h, one small function per command.
 *
 * Every argument struct starts with { __u32 size; __u32 flags; }.  Commands
 * are matched by type, number and direction, not by the size encoded in
 * the command, so a program built against a newer, larger struct still
 * works: the struct's own size field says how much the caller has, and the
 * module reads and writes only what both sides know.
 */
#include <linux/capability.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mymem.h"
#include "mymem_dev.h"

/*
 * Read the caller's struct (at most ksize bytes of it) into kbuf and check
 * its header.  Returns the number of bytes both sides know, or -errno.
 */
static long copy_struct_in(void __user *uarg, void *kbuf, size_t ksize,
			   size_t size_ver0)
{
	u32 usize, flags;
	size_t known;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < size_ver0 || usize > MYMEM_STRUCT_SIZE_MAX || usize % 8)
		return -EINVAL;
	known = min_t(size_t, usize, ksize);
	if (copy_from_user(kbuf, uarg, known))
		return -EFAULT;
	flags = ((u32 *)kbuf)[1];
	if (flags)
		return -EINVAL;
	((u32 *)kbuf)[0] = known;
	return known;
}

static long copy_struct_out(void __user *uarg, const void *kbuf, size_t known)
{
	return copy_to_user(uarg, kbuf, known) ? -EFAULT : 0;
}

static long ioctl_stats(void __user *uarg, bool global)
{
	struct mymem_stats st = { 0 };
	struct mymem_proc *proc;
	long known;

	known = copy_struct_in(uarg, &st, sizeof(st), MYMEM_STATS_SIZE_VER0);
	if (known < 0)
		return known;
	/* Only the header is input: never hand the caller's bytes back. */
	st = (struct mymem_stats){ .size = st.size };
	if (global) {
		mymem_fill_stats(&mymem_global, &st);
	} else {
		proc = mymem_proc_find(current->mm);
		if (proc) {
			mymem_fill_stats(&proc->stats, &st);
			mymem_proc_put(proc);
		}
	}
	return copy_struct_out(uarg, &st, known);
}

/* Physical address of the page mapped at addr now, if it is ours. */
static long translate(unsigned long addr, u64 *paddr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct page *page;
	long ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, addr);
	if (!vma || !mymem_vma_is_ours(vma)) {
		ret = -EINVAL;
		goto unlock;
	}
	/* After copy-on-write this is the anonymous copy: what is mapped. */
	if (mymem_get_user_page(addr & PAGE_MASK, &page) != 1) {
		ret = -EFAULT;
		goto unlock;
	}
	*paddr = page_to_phys(page) + offset_in_page(addr);
	put_page(page);
	ret = 0;
unlock:
	mmap_read_unlock(mm);
	return ret;
}

static long ioctl_virt_to_phys(void __user *uarg)
{
	struct mymem_translate tr = { 0 };
	long known, ret;

	/* Physical addresses are as sensitive as in /proc/PID/pagemap. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	known = copy_struct_in(uarg, &tr, sizeof(tr), MYMEM_TRANSLATE_SIZE_VER0);
	if (known < 0)
		return known;
	ret = translate(tr.vaddr, &tr.paddr);
	if (ret)
		return ret;
	return copy_struct_out(uarg, &tr, known);
}

static long ioctl_get_info(void __user *uarg)
{
	struct mymem_info info = { 0 };
	long known;

	known = copy_struct_in(uarg, &info, sizeof(info), MYMEM_INFO_SIZE_VER0);
	if (known < 0)
		return known;
	info.abi_version = MYMEM_ABI_VERSION;
	info.page_size = PAGE_SIZE;
	info.max_pages = READ_ONCE(max_pages);
	info.max_pages_per_process = READ_ONCE(max_pages_per_process);
	return copy_struct_out(uarg, &info, known);
}

long mymem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	/* The first published sizes are ABI: they never change. */
	BUILD_BUG_ON(sizeof(struct mymem_stats) < MYMEM_STATS_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct mymem_stats, failed_mmaps) + 8 !=
		     MYMEM_STATS_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mymem_translate) < MYMEM_TRANSLATE_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct mymem_translate, paddr) + 8 !=
		     MYMEM_TRANSLATE_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mymem_info) < MYMEM_INFO_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct mymem_info, max_pages_per_process) + 8 !=
		     MYMEM_INFO_SIZE_VER0);

	if (_IOC_TYPE(cmd) != MYMEM_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(MYMEM_IOC_PROC_STATS):
		return ioctl_stats(uarg, false);
	case _IOC_NR(MYMEM_IOC_GLOBAL_STATS):
		return ioctl_stats(uarg, true);
	case _IOC_NR(MYMEM_IOC_VIRT_TO_PHYS):
		return ioctl_virt_to_phys(uarg);
	case _IOC_NR(MYMEM_IOC_GET_INFO):
		return ioctl_get_info(uarg);
	default:
		return -ENOTTY;
	}
}
