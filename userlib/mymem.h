/* SPDX-License-Identifier: MIT */
/*
 * mymem.h - the public API of libmymem, a malloc whose pages come from
 * /dev/mymem (or, where the device is missing, from anonymous mmap).
 *
 * Linking libmymem (or LD_PRELOAD=libmymem.so) replaces the standard
 * allocator: malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size, cfree (and
 * the __libc_malloc family of aliases).  They are declared by <stdlib.h>
 * and <malloc.h>; this header declares only what libmymem adds.
 *
 * Naming: the module's uapi header <mymem_dev.h> defines struct mymem_stats
 * for the kernel's page counts, so the heap statistics here are
 * struct mymem_heap_stats, filled by mymem_heap_stats().  A program may
 * include both headers.
 *
 * Environment (read once, at the first allocation):
 *   MYMEM_POLICY=fast|first|next|best|worst   fit policy (default fast)
 *   MYMEM_MMAP_THRESHOLD=bytes[k|m|g]  requests at least this large get a
 *                                      mapping of their own (default 1m)
 *   MYMEM_TRIM_THRESHOLD=bytes[k|m|g]  a free top of a segment larger than
 *                                      this is returned (default 2m)
 *   MYMEM_PURGE_DELAY=ms               after this long (default 250; 0: at
 *                                      the free, no growth cache)
 *   MYMEM_REQUIRE_DEVICE=1             no fallback: without the device every
 *                                      allocation fails with ENOMEM
 *   MYMEM_DEVICE=path                  device to open (default /dev/mymem;
 *                                      "none" forces the fallback)
 *   MYMEM_ARENAS=n                     number of arenas, 1..64 (default 1 per CPU)
 *   MYMEM_TCACHE=0                     disable the per-thread caches
 *   MYMEM_NURSERY=n                    a thread's first n blocks of each size
 *                                      from the free lists (default 8, <= 255)
 */
#ifndef MYMEM_H
#define MYMEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is exported, also from a -fvisibility=hidden build. */
#if defined(__GNUC__)
#define MYMEM_API __attribute__((visibility("default")))
#else
#define MYMEM_API
#endif

/* Error codes of mymem_check() and friends; mymem_strerror() names them. */
enum mymem_error {
	MYMEM_OK = 0,
	MYMEM_E_CORRUPT = 1,	/* a block header or boundary tag is damaged */
	MYMEM_E_FREE_NEIGHBOURS = 2, /* two free blocks side by side (missed coalesce) */
	MYMEM_E_FREELIST = 3,	/* free lists disagree with the blocks */
	MYMEM_E_STATS = 4,	/* statistics do not add up */
	MYMEM_E_SEGMENT = 5,	/* a segment header or the segment map is damaged */
	MYMEM_E_NO_SPACE = 6,	/* the page source has no more memory */
	MYMEM_E_INVALID = 7,	/* invalid argument */
	MYMEM_E_NO_DEVICE = 8,	/* the device is not there (or not in use) */
	MYMEM_E_PERM = 9,	/* the device refused: not permitted */
	MYMEM_E_NOT_HEAP = 10,	/* pointer is not inside the heap */
};

/* Fit policies. */
enum mymem_policy {
	MYMEM_POLICY_FAST = 0,	/* segregated two-level lists (TLSF) + thread caches */
	MYMEM_POLICY_FIRST_FIT,	/* lowest-addressed free block that fits */
	MYMEM_POLICY_NEXT_FIT,	/* first fit, resuming where the last search ended */
	MYMEM_POLICY_BEST_FIT,	/* smallest free block that fits */
	MYMEM_POLICY_WORST_FIT,	/* largest free block */
	MYMEM_POLICY_COUNT
};

/* Where pages come from. */
enum mymem_page_source {
	MYMEM_SOURCE_NONE = 0,	/* none: MYMEM_REQUIRE_DEVICE=1 and no device */
	MYMEM_SOURCE_DEVICE,	/* /dev/mymem */
	MYMEM_SOURCE_ANON,	/* fallback: anonymous mmap */
};

/*
 * Heap statistics.  Byte counts of allocations are usable sizes (what
 * malloc_usable_size() reports).  A realloc counts as one free and one
 * allocation.  Blocks parked in per-thread caches count as free for the
 * program (bytes_in_use) but are not on the heap's free lists.  Read
 * while other threads allocate, the counts are each a moment apart (the
 * library takes no lock of theirs to read them): exact only when the
 * other threads are still.
 */
struct mymem_heap_stats {
	uint64_t bytes_allocated;	/* cumulative */
	uint64_t bytes_freed;		/* cumulative */
	uint64_t bytes_in_use;		/* bytes_allocated - bytes_freed (>= 0) */
	uint64_t alloc_count;		/* cumulative successful allocations */
	uint64_t free_count;		/* cumulative frees of non-NULL pointers */
	uint64_t pages_mapped;		/* pages committed from the page source now */
	uint64_t page_size;
	uint64_t segments;		/* heap segments */
	uint64_t huge_blocks;		/* blocks with a mapping of their own */
	uint64_t huge_bytes;
	uint64_t free_bytes;		/* bytes in free blocks of the heap (and of runs) */
	uint64_t free_blocks;
	uint64_t largest_free_block;	/* bytes, header included */
	uint64_t cached_bytes;		/* in per-thread caches */
	uint64_t cached_blocks;
	double fragmentation;		/* 1 - largest_free_block / free_bytes (0 = none) */
	int page_source;		/* enum mymem_page_source */
	int policy;			/* enum mymem_policy */
};

/* Fill *st; 0 or MYMEM_E_INVALID. */
MYMEM_API int mymem_heap_stats(struct mymem_heap_stats *st);
/* The same, under the name of the classic API (a function name does not
 * clash with the uapi's struct tag mymem_stats). */
MYMEM_API int mymem_stats(struct mymem_heap_stats *st);
/* Print the statistics in a readable form; 0, or -1 on a write error. */
MYMEM_API int mymem_print_stats(FILE *f);
/* Every segment and block of the heap in address order. */
MYMEM_API int mymem_dump(FILE *f);
/* Walk the heap and check every invariant: 0 or an enum mymem_error. */
MYMEM_API int mymem_check(void);
MYMEM_API const char *mymem_strerror(int err);

MYMEM_API int mymem_set_policy(int policy);	/* 0 or MYMEM_E_INVALID */
MYMEM_API int mymem_get_policy(void);
MYMEM_API const char *mymem_policy_name(int policy);
MYMEM_API const char *mymem_page_source_name(int source);

/* Return free pages to the page source; returns the bytes given back. */
MYMEM_API size_t mymem_trim(void);

/*
 * Physical address behind p (a pointer into the heap), through the
 * device's MYMEM_IOC_VIRT_TO_PHYS.  Returns 0 with errno set on failure:
 * ENODEV (fallback page source), EPERM (no CAP_SYS_ADMIN), EINVAL (not a
 * heap address).
 */
MYMEM_API uint64_t mymem_virt_to_phys(const void *p);

#ifdef __cplusplus
}
#endif

#endif /* MYMEM_H */
