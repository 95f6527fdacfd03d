/* SPDX-License-Identifier: MIT */
/*
 * pagesupply - the kernel's page supply alone, no allocator.
 *
 * For each size N MiB (1, 2, 4, ... up to -m MAX, default 256): map N MiB,
 * write one byte in every page, unmap it; REPS = max(1, BUDGET / N) times
 * (-b BUDGET MiB, default 256), for each source in turn (interleaved rep
 * by rep so that drift hits all of them alike):
 *   dev       mmap(MAP_PRIVATE) of /dev/mymem (pages allocated at mmap)
 *   anon      mmap(MAP_PRIVATE|MAP_ANONYMOUS) (pages faulted in by the touch)
 *   populate  mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE)
 * Prints per (source, size):
 *   PAGES source=S mib=N reps=R time_s=X pages_per_s=Y best_pages_per_s=Z
 * (Y from the total time, Z from the fastest rep: noise only adds time).
 * Without the device the dev lines are left out.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mymem_dev.h"

enum { DEV, ANON, POPULATE, NSRC };
static const char *const names[NSRC] = { "dev", "anon", "populate" };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double one(int src, int fd, size_t len, long pg)
{
	double t0 = now_s();
	volatile unsigned char *p;
	size_t i;
	void *m;

	if (src == DEV)
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	else
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | (src == POPULATE ? MAP_POPULATE : 0),
			 -1, 0);
	if (m == MAP_FAILED) {
		perror(names[src]);
		exit(3);
	}
	p = m;
	for (i = 0; i < len; i += pg)
		p[i] = 1;
	munmap(m, len);
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	long maxmb = 256, budget = 256, pg = sysconf(_SC_PAGESIZE);
	int c, fd, s;
	long mb;

	while ((c = getopt(argc, argv, "m:b:")) != -1) {
		switch (c) {
		case 'm': maxmb = atol(optarg); break;
		case 'b': budget = atol(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-m MAX_MIB] [-b BUDGET_MIB]\n", argv[0]);
			return 2;
		}
	}
	fd = open(MYMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	/* one untimed warm-up of each source (4 MiB) */
	for (s = 0; s < NSRC; s++)
		if (s != DEV || fd >= 0)
			one(s, fd, 4 << 20, pg);
	for (mb = 1; mb <= maxmb; mb *= 2) {
		size_t len = (size_t)mb << 20;
		long reps = budget / mb > 0 ? budget / mb : 1, r;
		double t[NSRC] = { 0 }, best[NSRC] = { 1e9, 1e9, 1e9 }, d;

		for (r = 0; r < reps; r++)
			for (s = 0; s < NSRC; s++)
				if (s != DEV || fd >= 0) {
					d = one(s, fd, len, pg);
					t[s] += d;
					if (d < best[s])
						best[s] = d;
				}
		for (s = 0; s < NSRC; s++) {
			if (s == DEV && fd < 0)
				continue;
			printf("PAGES source=%s mib=%ld reps=%ld time_s=%.6f pages_per_s=%.0f "
			       "best_pages_per_s=%.0f\n",
			       names[s], mb, reps, t[s],
			       (double)reps * (len / pg) / t[s], (len / pg) / best[s]);
		}
		fflush(stdout);
	}
	return 0;
}
