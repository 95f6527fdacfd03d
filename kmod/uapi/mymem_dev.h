/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mymem_dev.h - the user-space ABI of /dev/mymem.
 *
 * One header, shared verbatim by the module (kmod/), the library
 * (userlib/) and the tests (selftests/).  It is the contract: every ioctl,
 * every struct field and every errno the device returns is listed here.
 *
 * Mapping pages:
 *	fd = open("/dev/mymem", O_RDWR);
 *	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
 *
 * Every mmap() allocates len bytes of zeroed pages up front and maps them
 * at once; munmap() (whole or partial) and process exit give them back.
 * MAP_PRIVATE behaves like private anonymous memory across fork(): the
 * child sees a snapshot and neither side sees the other's later writes.
 * MAP_SHARED behaves like MAP_SHARED of /dev/zero: the pages are shared
 * with the children forked after the mmap(), never with unrelated
 * processes.  MADV_DONTNEED zeroes a private range (as on anonymous
 * memory) and keeps a shared one (as on shared memory); munmap() is what
 * gives pages back.
 *
 * mmap() errors:
 *	EINVAL	length 0, or an offset other than 0
 *	ENOMEM	the request is over max_pages or max_pages_per_process, or the
 *		pages cannot be allocated (including the caller's memory
 *		cgroup limit).  Never deferred to a later SIGBUS.
 *
 * Extensible structs: every ioctl struct starts with __u32 size and
 * __u32 flags.  The caller sets size to sizeof() of the struct it was
 * built with; the module accepts any size from the first published one
 * (MYMEM_*_SIZE_VER0) up to MYMEM_STRUCT_SIZE_MAX, reads and writes only
 * the fields both sides know, and on return sets size to the number of
 * bytes it filled in.  Bytes beyond that are left untouched.  The ioctl
 * numbers below never change when a struct grows: the module matches the
 * command's type, number and direction, not the size encoded in it.
 *
 * Errors common to every ioctl:
 *	ENOTTY	unknown command
 *	EFAULT	the argument pointer is not readable/writable
 *	EINVAL	size below the first published size, above
 *		MYMEM_STRUCT_SIZE_MAX or not a multiple of 8, or a flag the
 *		module does not know
 */
#ifndef _UAPI_MYMEM_DEV_H
#define _UAPI_MYMEM_DEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MYMEM_DEVICE_PATH	"/dev/mymem"

/* ioctl type byte; Documentation/userspace-api/ioctl/ioctl-number.rst */
#define MYMEM_IOC_MAGIC		0xB7

/* Largest struct size the module accepts (a sanity bound, not a version). */
#define MYMEM_STRUCT_SIZE_MAX	4096

/*
 * struct mymem_stats - page statistics, for the caller or for all users.
 *
 * Pages are counted in units of the kernel page size (see
 * MYMEM_IOC_GET_INFO).  A process is identified by its address space: a
 * mapping belongs to the process that called mmap(), also when a forked
 * child still maps it; open files belong to the process that opened them.
 *
 * @size:		in: sizeof(struct mymem_stats) of the caller;
 *			out: bytes filled in
 * @flags:		must be 0
 * @resident_pages:	pages held now
 * @peak_resident_pages: highest value resident_pages has had
 * @pages_allocated:	pages ever allocated (cumulative)
 * @pages_freed:	pages ever freed (cumulative);
 *			resident_pages == pages_allocated - pages_freed
 * @mmap_calls:		successful mmap() calls
 * @munmap_calls:	mappings closed: a munmap() of a whole mapping or of
 *			a piece of one, or the process exiting, counts once
 *			per mapping (VMA) closed
 * @open_files:		files open on /dev/mymem now
 * @failed_mmaps:	mmap() calls refused (bad arguments, limits, no memory)
 */
struct mymem_stats {
	__u32 size;
	__u32 flags;
	__u64 resident_pages;
	__u64 peak_resident_pages;
	__u64 pages_allocated;
	__u64 pages_freed;
	__u64 mmap_calls;
	__u64 munmap_calls;
	__u64 open_files;
	__u64 failed_mmaps;
};

#define MYMEM_STATS_SIZE_VER0	72	/* sizeof first published */

/*
 * struct mymem_translate - physical address behind a user address.
 *
 * @size:	in: sizeof(struct mymem_translate); out: bytes filled in
 * @flags:	must be 0
 * @vaddr:	in: an address inside one of the caller's mymem mappings
 * @paddr:	out: physical address of the byte at @vaddr (page frame
 *		address plus the offset within the page)
 *
 * Errors: EPERM without CAP_SYS_ADMIN (checked first: physical addresses
 * are as sensitive as in /proc/PID/pagemap); EINVAL when @vaddr is not
 * inside a mymem mapping of the caller; EFAULT when the page cannot be
 * reached (for instance a mapping made PROT_NONE).
 */
struct mymem_translate {
	__u32 size;
	__u32 flags;
	__u64 vaddr;
	__u64 paddr;
};

#define MYMEM_TRANSLATE_SIZE_VER0	24

/*
 * struct mymem_info - what this module is and what it allows.
 *
 * @size:		in: sizeof(struct mymem_info); out: bytes filled in
 * @flags:		must be 0
 * @abi_version:	MYMEM_ABI_VERSION of the module
 * @page_size:		bytes in one page
 * @max_pages:		limit for all users together (module parameter)
 * @max_pages_per_process: limit for one process (module parameter)
 */
struct mymem_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 page_size;
	__u64 max_pages;
	__u64 max_pages_per_process;
};

#define MYMEM_INFO_SIZE_VER0	32
#define MYMEM_ABI_VERSION	1

/* Statistics of the calling process (zero if it never used the device). */
#define MYMEM_IOC_PROC_STATS	_IOWR(MYMEM_IOC_MAGIC, 0x01, struct mymem_stats)
/* Statistics of all users together: the figures sysfs shows. */
#define MYMEM_IOC_GLOBAL_STATS	_IOWR(MYMEM_IOC_MAGIC, 0x02, struct mymem_stats)
/* User address to physical address; needs CAP_SYS_ADMIN. */
#define MYMEM_IOC_VIRT_TO_PHYS	_IOWR(MYMEM_IOC_MAGIC, 0x03, struct mymem_translate)
/* ABI version, page size and limits. */
#define MYMEM_IOC_GET_INFO	_IOWR(MYMEM_IOC_MAGIC, 0x04, struct mymem_info)

#endif /* _UAPI_MYMEM_DEV_H */
