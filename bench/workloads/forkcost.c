/* SPDX-License-Identifier: MIT */
/*
 * forkcost - fork()+_exit()+wait() of a process whose heap holds N MiB
 * resident.
 *
 *   forkcost -m MIB -n ITERS [-k malloc|device|anon]
 *
 * malloc (default): the heap is built with malloc() in 32 KiB blocks, so it
 * is whatever allocator the process has (glibc, or libmymem through
 * LD_PRELOAD); device/anon: one mmap() of /dev/mymem or anonymous memory,
 * no allocator (the kernel's side alone).  Every page is written before
 * the timing.  Prints
 *   FORK kind=K mib=N iters=I per_fork_us=MEDIAN mean_us=X min_us=Y
 *        maxrss_kb=R (VmHWM) dev_resident_pages=P
 *        dev_resident_pages=P
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mymem_dev.h"
#include "common.h"

#define BLOCK	(32 << 10)

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long mib = 16, iters = 20, i, pg = sysconf(_SC_PAGESIZE);
	const char *kind = "malloc";
	double total = 0, best = 1e9, *dt;
	long long devres = -1;
	struct mymem_stats st;
	size_t len, off;
	int c, fd;

	while ((c = getopt(argc, argv, "m:n:k:")) != -1) {
		switch (c) {
		case 'm': mib = atol(optarg); break;
		case 'n': iters = atol(optarg); break;
		case 'k': kind = optarg; break;
		default:
			fprintf(stderr, "usage: %s -m MIB -n ITERS [-k malloc|device|anon]\n",
				argv[0]);
			return 2;
		}
	}
	len = (size_t)mib << 20;
	dt = calloc(iters > 0 ? iters : 1, sizeof(*dt));
	if (!strcmp(kind, "malloc")) {
		size_t nblk = len / BLOCK, b;
		unsigned char **blk = malloc(nblk * sizeof(*blk));

		for (b = 0; b < nblk; b++) {
			blk[b] = malloc(BLOCK);
			if (!blk[b]) {
				perror("malloc");
				return 3;
			}
			for (off = 0; off < BLOCK; off += pg)
				blk[b][off] = 1;
		}
	} else {
		int dfd = -1;
		unsigned char *m;

		if (!strcmp(kind, "device")) {
			dfd = open(MYMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
			if (dfd < 0) {
				perror(MYMEM_DEVICE_PATH);
				return 3;
			}
			m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, dfd, 0);
		} else {
			m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		}
		if (m == MAP_FAILED) {
			perror("mmap");
			return 3;
		}
		for (off = 0; off < len; off += pg)
			m[off] = 1;
	}
	/* i == -1: an untimed warm-up fork */
	for (i = -1; i < iters; i++) {
		double t0 = now_s(), d;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 3;
		}
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		d = now_s() - t0;
		if (i < 0)
			continue;
		total += d;
		dt[i] = d;
		if (d < best)
			best = d;
	}
	fd = open(MYMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		if (ioctl(fd, MYMEM_IOC_PROC_STATS, &st) == 0)
			devres = (long long)st.resident_pages;
		close(fd);
	}
	qsort(dt, iters, sizeof(*dt), cmp_double);
	printf("FORK kind=%s mib=%ld iters=%ld per_fork_us=%.2f mean_us=%.2f min_us=%.2f "
	       "maxrss_kb=%ld dev_resident_pages=%lld\n",
	       kind, mib, iters, dt[iters / 2] * 1e6, total / iters * 1e6, best * 1e6,
	       vm_hwm_kb(), devres);
	return 0;
}
