// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_heap_target.c - a program for debuggers and other processes to
 * look at, linked with libmymem: it puts a string on the heap and prints
 * where.  Being freshly exec'd, its heap is on device pages that no fork
 * has made copy-on-write (a test process forked by the harness shares its
 * heap with the harness, and its first write there copies the page into
 * anonymous memory); it checks that through pagemap and exits 3 if not.
 *
 *   mymem_heap_target hold	print "ADDR PID", then wait for a line (or
 *				end of file) on standard input; print the
 *				string; exit 0 if it changed meanwhile
 *   mymem_heap_target wait	print "ADDR PID", then wait until the string
 *				changes (a debugger wrote it) or 120 s pass
 *				(gdb's first start under the debug kernel
 *				took 33 s);
 *				print the string; exit 0 if it changed
 *   mymem_heap_target crash	print "ADDR PID", then abort() (core dump)
 *   mymem_heap_target sizes	a small, a medium, a heap and a large block, each
 *				written whole; exit 0 if all their pages are
 *				device pages
 *   mymem_heap_target stats	compare the library's pages_mapped with the
 *				module's resident_pages for this process,
 *				with blocks live and after freeing them all;
 *				exit 0 if they agree and memory came back
 *   mymem_heap_target refused	with the module's per-process limit set just
 *				above what the process holds, a heap block
 *				that needs more pages fails with ENOMEM; with
 *				the limit back, the same request is served from
 *				the same segment; exit 0 if so and the heap
 *				checks clean (the limit is restored either way)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mymem.h"
#include "mymem_dev.h"
#include "mymem_pagemap.h"

#define ORIGINAL "mymem-heap-string-original"

/* The library's and the module's page counts; 0 if they agree. */
static int compare_views(const char *when, unsigned long long *resident)
{
	struct mymem_stats ks = { .size = sizeof(ks) };
	struct mymem_heap_stats hs;
	int fd = open(MYMEM_DEVICE_PATH, O_RDONLY);

	if (fd < 0 || ioctl(fd, MYMEM_IOC_PROC_STATS, &ks) || mymem_heap_stats(&hs))
		return 1;
	close(fd);
	printf("%s: library pages_mapped %llu, module resident_pages %llu\n",
	       when, (unsigned long long)hs.pages_mapped,
	       (unsigned long long)ks.resident_pages);
	*resident = ks.resident_pages;
	return hs.pages_mapped != ks.resident_pages;
}

static int stats_check(void)
{
	static void *blocks[1200];
	unsigned long long live, after;
	int i, bad;

	for (i = 0; i < 1000; i++)
		blocks[i] = malloc(16 + i % 700);
	for (; i < 1197; i++)
		blocks[i] = malloc(64 * 1024 + i);
	for (; i < 1200; i++)
		blocks[i] = calloc(1, 4 << 20);
	for (i = 0; i < 1200; i++)
		if (!blocks[i])
			return 3;
	bad = compare_views("blocks live", &live);
	for (i = 0; i < 1200; i++)
		free(blocks[i]);
	mymem_trim();
	bad |= compare_views("all freed, trimmed", &after);
	/* 12 MiB of large blocks and most of the rest must be back. */
	if (after + 3072 > live) {
		printf("only %llu of %llu pages came back\n", live - after, live);
		bad = 1;
	}
	return bad ? 1 : 0;
}

#define PER_PROCESS_LIMIT "/sys/module/mymem/parameters/max_pages_per_process"

static int limit_io(uint64_t *val, bool set)
{
	FILE *f = fopen(PER_PROCESS_LIMIT, set ? "w" : "r");
	int ok;

	if (!f)
		return -1;
	ok = set ? fprintf(f, "%" PRIu64 "\n", *val) > 0 : fscanf(f, "%" SCNu64, val) == 1;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Bytes of [lo, hi) that some mapping covers, per /proc/self/maps. */
static unsigned long mapped_bytes(uintptr_t lo, uintptr_t hi)
{
	unsigned long a, b, sum = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
			sum += (b < hi ? b : hi) - (a > lo ? a : lo);
	fclose(f);
	return sum;
}

/*
 * A commit the device refuses must leave the segment's reservation in
 * place (a single-threaded process commits with mmap(MAP_FIXED) over it,
 * which the kernel may have unmapped before the module said no).
 */
static int refused_check(void)
{
	const size_t big = 512 * 1024;	/* a heap block: under the mmap threshold */
	struct mymem_stats ks = { .size = sizeof(ks) };
	struct mymem_heap_stats hs;
	uint64_t old, low;
	uintptr_t seg;
	unsigned long covered;
	char *first = malloc(100), *p;
	int fd = open(MYMEM_DEVICE_PATH, O_RDONLY), e, bad = 0;

	if (!first || fd < 0 || ioctl(fd, MYMEM_IOC_PROC_STATS, &ks) || limit_io(&old, false))
		return 2;
	close(fd);
	low = ks.resident_pages + 4;
	if (limit_io(&low, true))
		return 2;
	errno = 0;
	p = malloc(big);
	e = errno;
	if (limit_io(&old, true))
		return 2;
	/* the first segment: 32 MiB reserved from a 4 MiB boundary */
	seg = (uintptr_t)first & ~(((uintptr_t)4 << 20) - 1);
	covered = mapped_bytes(seg, seg + (32 << 20));
	printf("limit %" PRIu64 " pages: malloc(%zu) = %p, errno %d; %lu KiB of the segment's 32 MiB mapped\n",
	       low, big, (void *)p, e, covered >> 10);
	if (p || e != ENOMEM || covered != 32 << 20)
		bad = 1;
	free(p);
	p = malloc(big);
	if (!p || mymem_heap_stats(&hs))
		return 3;
	memset(p, 0x5a, big);
	printf("limit back: malloc(%zu) = %p (first block %p), %" PRIu64 " segment(s), check %d\n",
	       big, (void *)p, (void *)first, hs.segments, mymem_check());
	if (hs.segments != 1 || (p > first ? p - first : first - p) >= 32 << 20 ||
	    mymem_check() != 0 || pagemap_count_not_device(0, p, big))
		bad = 1;
	free(p);
	free(first);
	return bad;
}

/* Blocks of each path through the heap live on device pages. */
static int sizes_check(void)
{
	/* a small run's block, a medium run's, the free lists', a mapping's */
	static const size_t sizes[] = { 48, 3000, 200 * 1024, 8 << 20 };
	int bad = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = malloc(sizes[i]);
		long not_dev;

		if (!p)
			return 2;
		memset(p, 0x5a, sizes[i]);
		not_dev = pagemap_count_not_device(0, p, sizes[i]);
		printf("%zu-byte block at %p: %ld pages not device pages\n",
		       sizes[i], (void *)p, not_dev);
		bad |= not_dev != 0;
		free(p);
	}
	return bad;
}

int main(int argc, char **argv)
{
	volatile char *s;
	char line[16];
	int i;

	if (argc == 2 && !strcmp(argv[1], "stats"))
		return stats_check();
	if (argc == 2 && !strcmp(argv[1], "sizes"))
		return sizes_check();
	if (argc == 2 && !strcmp(argv[1], "refused"))
		return refused_check();
	s = malloc(4096);
	if (!s || argc != 2)
		return 2;
	strcpy((char *)s, ORIGINAL);
	if (pagemap_count_not_device(0, (const void *)s, sizeof(ORIGINAL)))
		return 3;
	printf("%p %d\n", (void *)s, (int)getpid());
	fflush(stdout);

	if (!strcmp(argv[1], "crash"))
		abort();
	if (!strcmp(argv[1], "hold")) {
		if (!fgets(line, sizeof(line), stdin))
			line[0] = '\0';
		printf("%s\n", (const char *)s);
		return strcmp((const char *)s, ORIGINAL) ? 0 : 1;
	}
	for (i = 0; i < 12000; i++) {
		if (strcmp((const char *)s, ORIGINAL))
			break;
		usleep(10000);
	}
	printf("%s\n", (const char *)s);
	return strcmp((const char *)s, ORIGINAL) ? 0 : 1;
}
