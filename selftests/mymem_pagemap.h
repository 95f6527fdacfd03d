/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mymem_pagemap.h - what /proc/PID/pagemap says about the pages behind an
 * address range.
 *
 * Why the tests need it: a MAP_PRIVATE mapping of /dev/mymem holds device
 * pages only until a write after fork() (or after an mprotect() round
 * trip) makes the kernel's copy-on-write put an anonymous page in their
 * place, in the same VMA.  /proc/PID/maps cannot tell the two apart, so a
 * test that means to exercise device pages checks pagemap: bit 61 ("file
 * page or shared anonymous") is set for a device page and clear for an
 * anonymous copy.  Inside a /dev/mymem mapping nothing else can appear.
 *
 * Every helper returns 0 or -errno; none asserts (see mymem_selftest.h).
 */
#ifndef MYMEM_PAGEMAP_H
#define MYMEM_PAGEMAP_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#define PM_PRESENT	(1ULL << 63)
#define PM_FILE		(1ULL << 61)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static inline bool pagemap_is_device_page(uint64_t ent)
{
	return (ent & PM_PRESENT) && (ent & PM_FILE);
}

/* The pagemap entry of the page holding addr in process pid (0: self). */
static inline int pagemap_entry(pid_t pid, const void *addr, uint64_t *ent)
{
	long ps = sysconf(_SC_PAGESIZE);
	char path[64];
	ssize_t got;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = pread(fd, ent, sizeof(*ent),
		    (off_t)((uintptr_t)addr / ps) * (off_t)sizeof(*ent));
	close(fd);
	if (got != sizeof(*ent))
		return got < 0 ? -errno : -EIO;
	return 0;
}

/*
 * How many pages of [addr, addr + len) in process pid (0: self) are not
 * present device pages: 0 means every byte of the range lives on a page
 * of /dev/mymem.  Negative: -errno.
 */
static inline long pagemap_count_not_device(pid_t pid, const void *addr,
					    size_t len)
{
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(ps - 1);
	uintptr_t end = (uintptr_t)addr + len;
	long bad = 0;
	uint64_t ent;
	int ret;

	for (; a < end; a += ps) {
		ret = pagemap_entry(pid, (const void *)a, &ent);
		if (ret)
			return ret;
		bad += !pagemap_is_device_page(ent);
	}
	return bad;
}

#endif /* MYMEM_PAGEMAP_H */
