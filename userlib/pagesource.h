/* SPDX-License-Identifier: MIT */
/*
 * pagesource.h - the narrow interface between the heap and the pages it
 * lives on (like mimalloc's prim layer).  pagesource.c is the only file
 * that calls mmap, munmap, open or ioctl.
 *
 * Address space is reserved first (ps_reserve, no memory behind it), then
 * pieces of it are committed (backed by device or anonymous pages, zeroed)
 * and decommitted (pages given back, the reservation kept) as the heap
 * grows and shrinks; ps_release gives the whole range back.
 */
#ifndef MYMEM_PAGESOURCE_H
#define MYMEM_PAGESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Before the first write to the library's bss: no huge pages for it. */
MM_HIDDEN void ps_bss_no_huge_pages(void);
/* Choose the source (device or fallback); false if none may be used. */
MM_HIDDEN bool ps_init(void);
MM_HIDDEN int ps_source(void);			/* enum mymem_page_source */
MM_HIDDEN size_t ps_page_size(void);
MM_HIDDEN size_t ps_pages_mapped(void);		/* pages committed now */

/* Reserve len bytes of address space aligned to align (a power of two
 * multiple of the page size); NULL on failure. */
MM_HIDDEN void *ps_reserve(size_t len, size_t align);
/* Back [addr, addr+len) (page aligned, inside a reservation) with zeroed
 * pages; false (errno ENOMEM) if the source has none. */
MM_HIDDEN bool ps_commit(void *addr, size_t len);
/* Give the pages of [addr, addr+len) back; the range stays reserved. */
MM_HIDDEN void ps_decommit(void *addr, size_t len);
/* Give a reservation back; committed_len is the bytes committed in it. */
MM_HIDDEN void ps_release(void *addr, size_t len, size_t committed_len);

/* Physical address through the device; 0 and errno on failure. */
MM_HIDDEN uint64_t ps_virt_to_phys(const void *p);

/* After fork in the child: nothing to redo, but kept for symmetry. */

/* fork(): hold the address-space lock (taken last, after every heap lock:
 * it is a leaf) so no child starts with a commit's hole unrestored. */
MM_HIDDEN void ps_atfork_prepare(void);
MM_HIDDEN void ps_atfork_parent(void);
MM_HIDDEN void ps_atfork_child(void);
#endif /* MYMEM_PAGESOURCE_H */
