// SPDX-License-Identifier: MIT
/*
 * pagesource.c - where pages come from: /dev/mymem, or anonymous mmap
 * where the device is missing (unless MYMEM_REQUIRE_DEVICE=1).
 *
 * The only file calling open/mmap/munmap/ioctl.  A reservation is an
 * anonymous PROT_NONE mapping (address space, no memory); committing maps
 * the device (or anonymous memory) MAP_FIXED over a piece of it, so the
 * device allocates exactly the pages the heap uses; decommitting maps
 * PROT_NONE back over the piece, which unmaps the device pages and so
 * returns them at once.  (MADV_DONTNEED would not free device pages.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kmod/uapi/mymem_dev.h"
#include "pagesource.h"

static int ps_fd = -1;
static int ps_kind = MYMEM_SOURCE_NONE;
static size_t ps_pagesz = 4096;
static _Atomic size_t ps_committed;	/* bytes */

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "no such file (module not loaded?)";
	case EACCES: return "permission denied";
	case EPERM:  return "operation not permitted";
	case ENODEV: return "no such device";
	case ENXIO:  return "no such device or address";
	case EBUSY:  return "device busy";
	case EMFILE: case ENFILE: return "too many open files";
	default:     return "open failed";
	}
}

bool ps_init(void)
{
	unsigned long pg = getauxval(AT_PAGESZ);

	if (pg >= 4096 && (pg & (pg - 1)) == 0)
		ps_pagesz = pg;

	if (strcmp(mm_opt.device, "none") != 0) {
		int fd = open(mm_opt.device, O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			ps_fd = fd;
			ps_kind = MYMEM_SOURCE_DEVICE;
			return true;
		}
		if (mm_opt.require_device) {
			int e = errno;

			mm_write_str(2, "mymem: MYMEM_REQUIRE_DEVICE=1 but ");
			mm_write_str(2, mm_opt.device);
			mm_write_str(2, " cannot be opened (");
			mm_write_str(2, errno_name(e));
			mm_write_str(2, "): every allocation will fail with ENOMEM\n");
			ps_kind = MYMEM_SOURCE_NONE;
			return false;
		}
	} else if (mm_opt.require_device) {
		mm_write_str(2, "mymem: MYMEM_REQUIRE_DEVICE=1 but MYMEM_DEVICE=none: "
			     "every allocation will fail with ENOMEM\n");
		ps_kind = MYMEM_SOURCE_NONE;
		return false;
	}
	ps_kind = MYMEM_SOURCE_ANON;
	return true;
}

int ps_source(void) { return ps_kind; }
size_t ps_page_size(void) { return ps_pagesz; }
size_t ps_pages_mapped(void)
{
	return atomic_load_explicit(&ps_committed, memory_order_relaxed) / ps_pagesz;
}

void *ps_reserve(size_t len, size_t align)
{
	size_t span;
	char *p, *a;

	if (align < ps_pagesz)
		align = ps_pagesz;
	if (len > SIZE_MAX / 2 || align > SIZE_MAX / 4)
		return NULL;
	span = len + align - ps_pagesz;
	p = mmap(NULL, span, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + span)
		munmap(a + len, (size_t)(p + span - (a + len)));
	return a;
}

static void re_reserve(void *addr, size_t len)
{
	/* A failed MAP_FIXED may leave a hole: put the reservation back. */
	mmap(addr, len, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

bool ps_commit(void *addr, size_t len)
{
	void *p;

	if (ps_kind == MYMEM_SOURCE_DEVICE)
		p = mmap(addr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, ps_fd, 0);
	else if (ps_kind == MYMEM_SOURCE_ANON)
		p = mmap(addr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else
		p = MAP_FAILED;
	if (p == MAP_FAILED) {
		re_reserve(addr, len);
		errno = ENOMEM;
		return false;
	}
	atomic_fetch_add_explicit(&ps_committed, len, memory_order_relaxed);
	return true;
}

void ps_decommit(void *addr, size_t len)
{
	if (len == 0)
		return;
	re_reserve(addr, len);
	atomic_fetch_sub_explicit(&ps_committed, len, memory_order_relaxed);
}

void ps_release(void *addr, size_t len, size_t committed_len)
{
	munmap(addr, len);
	atomic_fetch_sub_explicit(&ps_committed, committed_len, memory_order_relaxed);
}

uint64_t ps_virt_to_phys(const void *p)
{
	struct mymem_translate t;

	if (ps_kind != MYMEM_SOURCE_DEVICE) {
		errno = ENODEV;
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.vaddr = (uint64_t)(uintptr_t)p;
	if (ioctl(ps_fd, MYMEM_IOC_VIRT_TO_PHYS, &t) != 0)
		return 0;
	return t.paddr;
}
