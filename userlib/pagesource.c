// SPDX-License-Identifier: MIT
/*
 * pagesource.c - where pages come from: /dev/mymem, or anonymous mmap
 * where the device is missing (unless MYMEM_REQUIRE_DEVICE=1).
 *
 * The only file calling open/mmap/munmap/ioctl (and madvise).  A reservation is an
 * anonymous PROT_NONE mapping (address space, no memory); committing maps
 * the device (or anonymous memory) MAP_FIXED over a piece of it, so the
 * device allocates exactly the pages the heap uses; decommitting maps
 * PROT_NONE back over the piece, which unmaps the device pages and so
 * returns them at once.  (MADV_DONTNEED would not free device pages.)
 *
 * Committing never leaves a hole: mmap(MAP_FIXED) of the device over the
 * reservation would unmap the reservation first and, when the device then
 * refuses (ENOMEM at its limit), leave a hole that any other thread's
 * mmap(NULL) may be given before the reservation is put back; restoring
 * it with MAP_FIXED would then map PROT_NONE over that thread's pages
 * (seen as SIGSEGVs on the large-block list under memory pressure).  So a
 * commit maps the pages wherever the kernel likes (a refusal touches
 * nothing) and moves them onto the reservation with one
 * mremap(MREMAP_FIXED), which replaces the range in a single step.  A
 * process that has only ever had one thread has nobody to race with and
 * maps in place (ps_commit).
 *
 * ps_as_lock: only the rare failure of that mremap, after the kernel
 * unmapped the target, leaves a hole.  Every mmap(NULL) of this library
 * (ps_reserve) and every change of a reservation (commit, decommit) run
 * under this one lock, so none of ours can land in it; mmap(NULL)s made
 * outside the library (the program's own, glibc's thread stacks) still
 * can: so the hole is put back with MAP_FIXED_NOREPLACE, piece by piece,
 * and the pages someone else got are recorded as lost (ps_lost): never
 * committed, never unmapped by us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include "../kmod/uapi/mymem_dev.h"
#include "pagesource.h"

static int ps_fd = -1;
static int ps_kind = MYMEM_SOURCE_NONE;
static size_t ps_pagesz = 4096;
static _Atomic size_t ps_committed;	/* bytes */
static mm_lock_t ps_as_lock = MM_LOCK_INIT;	/* see the top of the file */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
/* Pieces of our reservations that a foreign mapping took while a failed
 * commit had left them unmapped; under ps_as_lock (count read without). */
#define PS_LOST_MAX	64
static struct { char *a; size_t len; } ps_lost[PS_LOST_MAX];
static _Atomic unsigned ps_nlost;
/*
 * An aligned reservation is cut from a larger mapping.  Trimming the
 * slack off both ends took two munmaps, 100-250 us each in the bench's
 * emulated guest, in every process that allocates; so the first
 * reservations keep it (address space only: PROT_NONE, no memory, no
 * page tables) and ps_release unmaps it with them.  Under ps_as_lock
 * (count read without).
 */
#define PS_SLACK_MAX	16
static struct { char *a; size_t lead, tail; } ps_slack[PS_SLACK_MAX];
static _Atomic unsigned ps_nslack;

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

/*
 * The library's bss is 34 MiB, nearly all of it the segment map, of which
 * a process touches a few bytes.  With transparent huge pages set to
 * "always" the first write anywhere in it (the arenas, the init state)
 * could take a zeroed 2 MiB page, and kept it resident (in the 6.1 VM, 2
 * of 10 processes when the advice covered the map only and came after the
 * arenas' initialisation).  So the advice covers all of the bss and comes
 * before the first write to it.  The linker defines both
 * bounds in every shared object; hidden references bind to ours (linked
 * statically, they bound the program's bss, which then gets the advice
 * too).  Kernels without THP refuse the advice; nothing changes then.
 */
extern char __bss_start[] MM_HIDDEN, _end[] MM_HIDDEN;

void ps_bss_no_huge_pages(void)
{
	uintptr_t pg = getauxval(AT_PAGESZ), a, e;
	int err = errno;

	if (pg < 4096 || (pg & (pg - 1)))
		pg = 4096;

	a = ((uintptr_t)__bss_start + pg - 1) & ~(pg - 1);
	e = ((uintptr_t)_end + pg - 1) & ~(pg - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_NOHUGEPAGE);
	errno = err;
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

/* Keep an aligned reservation's slack if it is at most a quarter of it
 * and there is room to record it (ps_as_lock held). */
static bool slack_keep(char *a, char *p, size_t len, size_t span)
{
	unsigned n = atomic_load_explicit(&ps_nslack, memory_order_relaxed);

	if (span - len > len / 4 || n == PS_SLACK_MAX)
		return false;
	ps_slack[n].a = a;
	ps_slack[n].lead = (size_t)(a - p);
	ps_slack[n].tail = (size_t)(p + span - (a + len));
	atomic_store_explicit(&ps_nslack, n + 1, memory_order_release);
	return true;
}

void *ps_reserve(size_t len, size_t align)
{
	size_t span;
	char *p, *a;
	bool kept;

	if (align < ps_pagesz)
		align = ps_pagesz;
	if (len > SIZE_MAX / 2 || align > SIZE_MAX / 4)
		return NULL;
	span = len + align - ps_pagesz;
	mm_lock(&ps_as_lock);	/* never hand out another commit's hole */
	p = mmap(NULL, span, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		mm_unlock(&ps_as_lock);
		return NULL;
	}
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	kept = span == len || slack_keep(a, p, len, span);
	mm_unlock(&ps_as_lock);
	if (kept)
		return a;
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + span)
		munmap(a + len, (size_t)(p + span - (a + len)));
	return a;
}

/* The whole mapping of the reservation at addr: with its slack, if kept
 * (which it then forgets). */
static void slack_widen(char **a, char **end)
{
	unsigned n;

	if (!atomic_load_explicit(&ps_nslack, memory_order_acquire))
		return;
	mm_lock(&ps_as_lock);
	n = atomic_load_explicit(&ps_nslack, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		if (ps_slack[i].a != *a)
			continue;
		*a -= ps_slack[i].lead;
		*end += ps_slack[i].tail;
		ps_slack[i] = ps_slack[n - 1];
		atomic_store_explicit(&ps_nslack, n - 1, memory_order_release);
		break;
	}
	mm_unlock(&ps_as_lock);
}

/* Caller holds ps_as_lock. */
static void re_reserve(void *addr, size_t len)
{
	/* A failed MAP_FIXED may leave a hole: put the reservation back. */
	mmap(addr, len, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

static void lost_add(char *a, size_t len)
{
	unsigned n = atomic_load_explicit(&ps_nlost, memory_order_relaxed);

	if (n && ps_lost[n - 1].a + ps_lost[n - 1].len == a) {
		ps_lost[n - 1].len += len;
		return;
	}
	if (n == PS_LOST_MAX) {
		mm_write_str(2, "mymem: too many reserved pieces lost to other "
			     "mappings; freeing may unmap some of them\n");
		return;
	}
	ps_lost[n].a = a;
	ps_lost[n].len = len;
	atomic_store_explicit(&ps_nlost, n + 1, memory_order_release);
}

static bool lost_overlaps(const char *a, size_t len)
{
	unsigned n = atomic_load_explicit(&ps_nlost, memory_order_acquire);

	for (unsigned i = 0; i < n; i++)
		if (ps_lost[i].a < a + len && a < ps_lost[i].a + ps_lost[i].len)
			return true;
	return false;
}

/*
 * Caller holds ps_as_lock.  Reserve [a, a+len) again after a failed
 * MAP_FIXED, but only where nobody mapped anything meanwhile; what is taken
 * (or cannot be told from our own reservation: a failure before the kernel
 * unmapped it) is recorded lost, which at worst leaks address space.
 */
static void restore_hole(char *a, size_t len)
{
	void *p = mmap(a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	bool taken = p != MAP_FAILED || errno == EEXIST;
	size_t half;

	if (p == a)
		return;
	if (p != MAP_FAILED)
		munmap(p, len);		/* a kernel that took it as a hint */
	if (len <= ps_pagesz || !taken) {	/* !taken: no piece does better */
		lost_add(a, len);
		return;
	}
	half = (len / 2) & ~(ps_pagesz - 1);
	if (half == 0)
		half = ps_pagesz;
	restore_hole(a, half);
	restore_hole(a + half, len - half);
}

/* Pages of the source at addr (MAP_FIXED) or wherever the kernel likes. */
static void *map_source(void *addr, size_t len, bool fixed)
{
	int flags = MAP_PRIVATE | (fixed ? MAP_FIXED : 0);

	if (ps_kind == MYMEM_SOURCE_DEVICE)
		return mmap(fixed ? addr : NULL, len, PROT_READ | PROT_WRITE, flags, ps_fd, 0);
	if (ps_kind == MYMEM_SOURCE_ANON)
		return mmap(fixed ? addr : NULL, len, PROT_READ | PROT_WRITE,
			    flags | MAP_ANONYMOUS, -1, 0);
	return MAP_FAILED;
}

/*
 * In a process that has only ever had one thread nothing can map between
 * the kernel's unmapping of the reservation and a refusal (mmap is not
 * async-signal-safe, so no handler may either): the pages are mapped in
 * place with one mmap(MAP_FIXED), and a refusal's hole is simply reserved
 * again.  That saves the mremap, one system call per commit (in the VM,
 * some 250 us: a short-lived program makes one or two commits).
 */
bool ps_commit(void *addr, size_t len)
{
	bool in_place = __libc_single_threaded;
	void *p;

	mm_lock(&ps_as_lock);	/* the hole a failure leaves stays ours */
	if (atomic_load_explicit(&ps_nlost, memory_order_relaxed) &&
	    lost_overlaps(addr, len))
		p = MAP_FAILED;		/* part of it is someone else's now */
	else
		p = map_source(addr, len, in_place);
	if (p == MAP_FAILED) {
		if (in_place)		/* the kernel may have unmapped it */
			re_reserve(addr, len);
		mm_unlock(&ps_as_lock);
		errno = ENOMEM;
		return false;
	}
	if (in_place) {
		mm_unlock(&ps_as_lock);
		atomic_fetch_add_explicit(&ps_committed, len, memory_order_relaxed);
		return true;
	}
	if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) != addr) {
		/* The target may be unmapped already: put back what we can. */
		munmap(p, len);
		restore_hole(addr, len);
		mm_unlock(&ps_as_lock);
		errno = ENOMEM;
		return false;
	}
	mm_unlock(&ps_as_lock);
	atomic_fetch_add_explicit(&ps_committed, len, memory_order_relaxed);
	return true;
}

void ps_decommit(void *addr, size_t len)
{
	if (len == 0)
		return;
	mm_lock(&ps_as_lock);
	re_reserve(addr, len);
	mm_unlock(&ps_as_lock);
	atomic_fetch_sub_explicit(&ps_committed, len, memory_order_relaxed);
}

void ps_atfork_prepare(void) { mm_lock(&ps_as_lock); }
void ps_atfork_parent(void) { mm_unlock(&ps_as_lock); }
void ps_atfork_child(void) { mm_lock_reinit(&ps_as_lock); }

void ps_release(void *addr, size_t len, size_t committed_len)
{
	char *a = addr, *end = a + len;

	slack_widen(&a, &end);
	addr = a;
	len = (size_t)(end - a);
	if (atomic_load_explicit(&ps_nlost, memory_order_acquire)) {
		/* Unmap around the lost pieces (in any order), forget them. */
		mm_lock(&ps_as_lock);
		while (a < end) {
			char *stop = end, *next = end;
			unsigned n = atomic_load_explicit(&ps_nlost, memory_order_relaxed);

			for (unsigned i = 0; i < n; i++)
				if (ps_lost[i].a < end && a < ps_lost[i].a + ps_lost[i].len &&
				    (ps_lost[i].a > a ? ps_lost[i].a : a) < stop) {
					stop = ps_lost[i].a > a ? ps_lost[i].a : a;
					next = ps_lost[i].a + ps_lost[i].len;
				}
			if (stop > a)
				munmap(a, (size_t)(stop - a));
			a = next;
		}
		for (unsigned i = 0; i < atomic_load_explicit(&ps_nlost, memory_order_relaxed);) {
			unsigned n = atomic_load_explicit(&ps_nlost, memory_order_relaxed);

			if (ps_lost[i].a >= (char *)addr && ps_lost[i].a < end) {
				ps_lost[i] = ps_lost[n - 1];
				atomic_store_explicit(&ps_nlost, n - 1, memory_order_release);
			} else {
				i++;
			}
		}
		mm_unlock(&ps_as_lock);
	} else {
		munmap(addr, len);
	}
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
