// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - the misc device /dev/mymem: parameters, file operations,
 * module init and exit.
 *
 * Any user may open the device (mode 0666, as /dev/zero) and map pages
 * within the limits below.  Each open file and each mapping holds the
 * module (file_operations.owner), so rmmod is refused while any is alive.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>

#include "mymem.h"
#include "mymem_dev.h"

/* 1 GiB of 4 KiB pages for all users, 512 MiB for one process. */
unsigned long max_pages = 262144;
module_param(max_pages, ulong, 0644);
MODULE_PARM_DESC(max_pages,
		 "Most pages all processes together may hold; mmap() over it fails with ENOMEM (default 262144 = 1 GiB)");

unsigned long max_pages_per_process = 131072;
module_param(max_pages_per_process, ulong, 0644);
MODULE_PARM_DESC(max_pages_per_process,
		 "Most pages one process may hold; mmap() over it fails with ENOMEM (default 131072 = 512 MiB)");

static int mymem_open(struct inode *inode, struct file *file)
{
	struct mymem_proc *proc;

	if (!current->mm)
		return -EINVAL;
	proc = mymem_proc_get(current->mm);
	if (!proc)
		return -ENOMEM;
	file->private_data = proc;
	mymem_count(proc, open_files, 1);
	return 0;
}

static int mymem_release(struct inode *inode, struct file *file)
{
	struct mymem_proc *proc = file->private_data;

	mymem_count(proc, open_files, -1);
	mymem_proc_put(proc);
	return 0;
}

static const struct file_operations mymem_fops = {
	.owner		= THIS_MODULE,
	.open		= mymem_open,
	.release	= mymem_release,
	.mmap		= mymem_mmap,
	.unlocked_ioctl	= mymem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice mymem_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mymem",
	.fops	= &mymem_fops,
	.groups	= mymem_attr_groups,
	.mode	= 0666,
};

static int __init mymem_init(void)
{
	int ret;

	ret = misc_register(&mymem_misc);
	if (ret) {
		pr_err("cannot register /dev/mymem: %d\n", ret);
		return ret;
	}
	pr_info("ready: max_pages=%lu max_pages_per_process=%lu\n",
		max_pages, max_pages_per_process);
	return 0;
}

static void __exit mymem_exit(void)
{
	misc_deregister(&mymem_misc);
	/*
	 * Unreachable while a file or mapping lives, so an imbalance here is
	 * a bug of this module: WARN, so that every test run's log scan fails.
	 */
	WARN(!mymem_stats_balanced(), "mymem: pages or processes not returned at exit\n");
}

module_init(mymem_init);
module_exit(mymem_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mymem developers");
MODULE_DESCRIPTION("Zeroed pages for user-space heaps through mmap of /dev/mymem, with statistics");
