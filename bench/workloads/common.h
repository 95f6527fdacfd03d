/* SPDX-License-Identifier: MIT */
/*
 * common.h - shared helpers of the mymem allocator benchmarks.
 *
 * Every workload is a small program that
 *   - parses "-t THREADS -s SCALE [-r SEED]" (SCALE multiplies the op count;
 *     1.0 is sized for ~0.3-1 s with glibc malloc on the host),
 *   - times only the work with CLOCK_MONOTONIC (process start and the
 *     loader are outside the timed section),
 *   - prints one line:
 *       RESULT name=W threads=T ops=N time_s=X maxrss_kb=K dev_peak_pages=P
 *              dev_mmaps=M check=C cpu_s=U
 *     maxrss_kb is VmHWM of /proc/self/status at the end (the peak RSS
 *     of this address space; getrusage()'s ru_maxrss is not used because
 *     Linux carries it over exec() from the forking parent, e.g. the
 *     python driver);
 *     dev_peak_pages/dev_mmaps are the module's per-process statistics
 *     (MYMEM_IOC_PROC_STATS), or -1 when /dev/mymem is not there;
 *     cpu_s is the process's user+system CPU time (whole process, for a
 *     second opinion on a loaded machine).
 * The allocator is whatever malloc the process has: glibc, or another one
 * through LD_PRELOAD.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mymem_dev.h"

struct bench_args {
	int threads;
	double scale;
	uint64_t seed;
	int phases;	/* -p: workloads with phases time each (stderr) */
};

static inline void bench_parse(int argc, char **argv, struct bench_args *a,
			       int def_threads)
{
	int c;

	a->threads = def_threads;
	a->scale = 1.0;
	a->seed = 0x9e3779b97f4a7c15ULL;
	a->phases = 0;
	while ((c = getopt(argc, argv, "t:s:r:p")) != -1) {
		switch (c) {
		case 't': a->threads = atoi(optarg); break;
		case 's': a->scale = atof(optarg); break;
		case 'r': a->seed = strtoull(optarg, NULL, 0); break;
		case 'p': a->phases = 1; break;
		default:
			fprintf(stderr, "usage: %s [-t threads] [-s scale] [-r seed] [-p]\n",
				argv[0]);
			exit(2);
		}
	}
	if (a->threads < 1 || a->threads > 64 || a->scale <= 0) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		exit(2);
	}
}

static inline uint64_t scaled(const struct bench_args *a, uint64_t n)
{
	uint64_t v = (uint64_t)(n * a->scale);

	return v ? v : 1;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* xorshift64*: one generator per thread, no shared state. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t rng_seed(uint64_t seed, int idx)
{
	uint64_t s = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(idx + 1);

	return s ? s : 1;
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(s) % (hi - lo + 1));
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", n);
		exit(3);
	}
	return p;
}

static inline void *xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n);

	if (!p) {
		fprintf(stderr, "realloc(%zu) failed\n", n);
		exit(3);
	}
	return p;
}

/* Write one byte per page, as a program that uses the block would. */
static inline void touch(void *p, size_t n, unsigned char v)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i += 4096)
		c[i] = v;
	c[n - 1] = v;
}

/* Run fn(idx) on `threads` threads (the calling thread is not one). */
static inline void run_threads(int threads, void *(*fn)(void *), void *args,
			       size_t argsize)
{
	pthread_t tid[64];
	int i;

	for (i = 0; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, fn, (char *)args + i * argsize)) {
			fprintf(stderr, "pthread_create failed\n");
			exit(3);
		}
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
}

/* Peak resident set of this address space (kB), -1 if unknown. */
static inline long vm_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static inline void bench_report(const char *name, const struct bench_args *a,
				uint64_t ops, double secs, uint64_t check)
{
	struct mymem_stats st;
	struct rusage ru;
	long long peak = -1, mmaps = -1;
	int fd;

	fd = open(MYMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		if (ioctl(fd, MYMEM_IOC_PROC_STATS, &st) == 0) {
			peak = (long long)st.peak_resident_pages;
			mmaps = (long long)st.mmap_calls;
		}
		close(fd);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("RESULT name=%s threads=%d ops=%llu time_s=%.6f maxrss_kb=%ld "
	       "dev_peak_pages=%lld dev_mmaps=%lld check=%llu cpu_s=%.6f\n",
	       name, a->threads, (unsigned long long)ops, secs, vm_hwm_kb(),
	       peak, mmaps, (unsigned long long)check,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
	fflush(stdout);
}

#endif
