// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - the global counters, one read-only value per file, in
 * /sys/class/misc/mymem/.  The same figures as MYMEM_IOC_GLOBAL_STATS.
 *
 * One show function serves every file: each attribute carries the offset
 * of its counter in struct mymem_counters.
 */
#include <linux/device.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#include "mymem.h"

struct counter_attr {
	struct device_attribute dev_attr;
	size_t offset;
};

static ssize_t counter_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	const struct counter_attr *ca =
		container_of(attr, struct counter_attr, dev_attr);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)
			  mymem_read_counter(&mymem_global, ca->offset));
}

#define COUNTER_OFFSET(field)	offsetof(struct mymem_counters, field)

static struct counter_attr counters[] = {
	{ __ATTR(resident_pages, 0444, counter_show, NULL),
	  COUNTER_OFFSET(resident_pages) },
	{ __ATTR(peak_resident_pages, 0444, counter_show, NULL),
	  COUNTER_OFFSET(peak_resident_pages) },
	{ __ATTR(pages_allocated, 0444, counter_show, NULL),
	  COUNTER_OFFSET(pages_allocated) },
	{ __ATTR(pages_freed, 0444, counter_show, NULL),
	  COUNTER_OFFSET(pages_freed) },
	{ __ATTR(mmap_calls, 0444, counter_show, NULL),
	  COUNTER_OFFSET(mmap_calls) },
	{ __ATTR(munmap_calls, 0444, counter_show, NULL),
	  COUNTER_OFFSET(munmap_calls) },
	{ __ATTR(open_files, 0444, counter_show, NULL),
	  COUNTER_OFFSET(open_files) },
	{ __ATTR(failed_mmaps, 0444, counter_show, NULL),
	  COUNTER_OFFSET(failed_mmaps) },
};

static struct attribute *mymem_attrs[] = {
	&counters[0].dev_attr.attr,
	&counters[1].dev_attr.attr,
	&counters[2].dev_attr.attr,
	&counters[3].dev_attr.attr,
	&counters[4].dev_attr.attr,
	&counters[5].dev_attr.attr,
	&counters[6].dev_attr.attr,
	&counters[7].dev_attr.attr,
	NULL,
};

static const struct attribute_group mymem_attr_group = {
	.attrs = mymem_attrs,
};

const struct attribute_group *mymem_attr_groups[] = {
	&mymem_attr_group,
	NULL,
};
