// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - the global counters, one read-only value per file, in
 * /sys/class/misc/mymem/.  The same figures as MYMEM_IOC_GLOBAL_STATS.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "mymem.h"

#define MYMEM_COUNTER_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  (long long)atomic64_read(&mymem_global.name));	\
}									\
static DEVICE_ATTR_RO(name)

MYMEM_COUNTER_ATTR(resident_pages);
MYMEM_COUNTER_ATTR(peak_resident_pages);
MYMEM_COUNTER_ATTR(pages_allocated);
MYMEM_COUNTER_ATTR(pages_freed);
MYMEM_COUNTER_ATTR(mmap_calls);
MYMEM_COUNTER_ATTR(munmap_calls);
MYMEM_COUNTER_ATTR(open_files);
MYMEM_COUNTER_ATTR(failed_mmaps);

static struct attribute *mymem_attrs[] = {
	&dev_attr_resident_pages.attr,
	&dev_attr_peak_resident_pages.attr,
	&dev_attr_pages_allocated.attr,
	&dev_attr_pages_freed.attr,
	&dev_attr_mmap_calls.attr,
	&dev_attr_munmap_calls.attr,
	&dev_attr_open_files.attr,
	&dev_attr_failed_mmaps.attr,
	NULL,
};

static const struct attribute_group mymem_attr_group = {
	.attrs = mymem_attrs,
};

const struct attribute_group *mymem_attr_groups[] = {
	&mymem_attr_group,
	NULL,
};
