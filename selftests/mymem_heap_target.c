// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_heap_target.c - a program for debuggers to look at, linked with
 * libmymem: it puts a string on the heap (device pages) and prints where.
 *
 *   mymem_heap_target wait	print "ADDR PID", then wait until the string
 *				changes (a debugger wrote it) or 120 s pass
 *				(gdb's first start under the debug kernel
 *				took 33 s);
 *				print the string; exit 0 if it changed
 *   mymem_heap_target crash	print "ADDR PID", then abort() (core dump)
 *   mymem_heap_target stats	compare the library's pages_mapped with the
 *				module's resident_pages for this process,
 *				with blocks live and after freeing them all;
 *				exit 0 if they agree and memory came back
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mymem.h"
#include "mymem_dev.h"

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

int main(int argc, char **argv)
{
	volatile char *s;
	int i;

	if (argc == 2 && !strcmp(argv[1], "stats"))
		return stats_check();
	s = malloc(4096);
	if (!s || argc != 2)
		return 2;
	strcpy((char *)s, ORIGINAL);
	printf("%p %d\n", (void *)s, (int)getpid());
	fflush(stdout);

	if (!strcmp(argv[1], "crash"))
		abort();
	for (i = 0; i < 12000; i++) {
		if (strcmp((const char *)s, ORIGINAL))
			break;
		usleep(10000);
	}
	printf("%s\n", (const char *)s);
	return strcmp((const char *)s, ORIGINAL) ? 0 : 1;
}
