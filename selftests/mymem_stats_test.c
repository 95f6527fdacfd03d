// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_stats_test.c - the statistics: sysfs files, MYMEM_IOC_GLOBAL_STATS
 * and MYMEM_IOC_PROC_STATS, exact to the page after every step.
 *
 * Per-process figures belong to an address space, and each harness test
 * runs in a freshly forked process: its own figures start at zero (plus the
 * fixture's open file), so they are checked as absolute values.  Global
 * figures are shared with everything else on the machine; the tests run
 * one at a time in the VM, so their deltas within one test are exact too.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "mymem_selftest.h"

#define WAIT_MS	20000

FIXTURE(stats)
{
	int fd;
	long ps;
};

FIXTURE_SETUP(stats)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(stats)
{
	close(self->fd);
}

static char *map_dev(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

/* resident == allocated - freed, and peak >= resident, in one snapshot. */
#define EXPECT_CONSISTENT(st) do { \
	EXPECT_EQ((st).pages_allocated - (st).pages_freed, \
		  (st).resident_pages); \
	EXPECT_GE((st).peak_resident_pages, (st).resident_pages); \
} while (0)

/* Every counter moved the same way for the process and for everyone. */
#define EXPECT_SAME_DELTAS(p0, p1, g0, g1) do { \
	EXPECT_DELTA(g0, g1, resident_pages, STAT_DELTA(p0, p1, resident_pages)); \
	EXPECT_DELTA(g0, g1, pages_allocated, STAT_DELTA(p0, p1, pages_allocated)); \
	EXPECT_DELTA(g0, g1, pages_freed, STAT_DELTA(p0, p1, pages_freed)); \
	EXPECT_DELTA(g0, g1, mmap_calls, STAT_DELTA(p0, p1, mmap_calls)); \
	EXPECT_DELTA(g0, g1, munmap_calls, STAT_DELTA(p0, p1, munmap_calls)); \
	EXPECT_DELTA(g0, g1, open_files, STAT_DELTA(p0, p1, open_files)); \
	EXPECT_DELTA(g0, g1, failed_mmaps, STAT_DELTA(p0, p1, failed_mmaps)); \
} while (0)

TEST(sysfs_stat_files_are_read_only_0444_with_one_value)
{
	char path[256], buf[64];
	struct stat st;
	uint64_t v;
	int i, fd;

	for (i = 0; i < MYMEM_NR_STATS; i++) {
		snprintf(path, sizeof(path), MYMEM_SYSFS_DIR "/%s",
			 mymem_stat_names[i]);
		ASSERT_EQ(0, stat(path, &st)) {
			TH_LOG("%s: %s", path, strerror(errno));
		}
		EXPECT_TRUE(S_ISREG(st.st_mode));
		EXPECT_EQ(0444U, st.st_mode & 07777) {
			TH_LOG("%s has mode %o", path, st.st_mode & 07777);
		}
		/* A single decimal number and a newline. */
		ASSERT_LT(1, read_text_file(path, buf, sizeof(buf)));
		EXPECT_EQ('\n', buf[strlen(buf) - 1]);
		EXPECT_EQ(0, read_u64_file(path, &v)) {
			TH_LOG("%s holds \"%s\"", path, buf);
		}
		/* Not even root may open it for writing. */
		fd = open(path, O_WRONLY);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(EACCES, errno);
		if (fd >= 0)
			close(fd);
	}
}

TEST_F(stats, global_ioctl_equals_sysfs)
{
	struct mymem_stats a, io, b;
	int tries;
	char *p;

	/* Something to count. */
	p = map_dev(self->fd, 5 * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	for (tries = 0; tries < 10; tries++) {
		get_sysfs_stats(&a);
		get_global_stats(self->fd, &io);
		get_sysfs_stats(&b);
		if (!memcmp(&a, &b, sizeof(a)))
			break;
	}
	ASSERT_LT(tries, 10) TH_LOG("sysfs never held still");
	io.size = a.size;
	EXPECT_EQ(a.resident_pages, io.resident_pages);
	EXPECT_EQ(a.peak_resident_pages, io.peak_resident_pages);
	EXPECT_EQ(a.pages_allocated, io.pages_allocated);
	EXPECT_EQ(a.pages_freed, io.pages_freed);
	EXPECT_EQ(a.mmap_calls, io.mmap_calls);
	EXPECT_EQ(a.munmap_calls, io.munmap_calls);
	EXPECT_EQ(a.open_files, io.open_files);
	EXPECT_EQ(a.failed_mmaps, io.failed_mmaps);
	EXPECT_CONSISTENT(a);
	ASSERT_EQ(0, munmap(p, 5 * self->ps));
}

TEST_F(stats, fresh_process_has_only_its_own_open_file)
{
	struct mymem_stats s;

	get_proc_stats(self->fd, &s);
	EXPECT_EQ(0ULL, s.resident_pages);
	EXPECT_EQ(0ULL, s.peak_resident_pages);
	EXPECT_EQ(0ULL, s.pages_allocated);
	EXPECT_EQ(0ULL, s.pages_freed);
	EXPECT_EQ(0ULL, s.mmap_calls);
	EXPECT_EQ(0ULL, s.munmap_calls);
	EXPECT_EQ(1ULL, s.open_files);
	EXPECT_EQ(0ULL, s.failed_mmaps);
}

TEST_F(stats, open_files_counts_opens_and_closes_not_dups)
{
	struct mymem_stats p0, p1, g0, g1;
	int fd2, fd3, dupfd;

	get_proc_stats(self->fd, &p0);
	get_global_stats(self->fd, &g0);
	fd2 = mymem_open();
	ASSERT_LE(0, fd2);
	fd3 = mymem_open();
	ASSERT_LE(0, fd3);
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, open_files, 2);
	EXPECT_DELTA(g0, g1, open_files, 2);

	/* A dup is the same open file. */
	dupfd = dup(fd2);
	ASSERT_LE(0, dupfd);
	get_proc_stats(self->fd, &p1);
	EXPECT_DELTA(p0, p1, open_files, 2);
	ASSERT_EQ(0, close(fd2));
	get_proc_stats(self->fd, &p1);
	EXPECT_DELTA(p0, p1, open_files, 2);
	ASSERT_EQ(0, close(dupfd));
	get_proc_stats(self->fd, &p1);
	EXPECT_DELTA(p0, p1, open_files, 1);
	ASSERT_EQ(0, close(fd3));
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, open_files, 0);
	EXPECT_DELTA(g0, g1, open_files, 0);
}

/*
 * One mapping through its whole life: mmap, munmap of the head, of a middle
 * piece, an mprotect split, then munmap of everything left (four VMAs).
 * After each step both the process's and the global figures moved by
 * exactly the expected amount.
 */
TEST_F(stats, every_step_is_counted_exactly)
{
	enum { N = 20 };
	struct mymem_stats p0, p1, p2, g0, g1, g2;
	char *p;

	get_proc_stats(self->fd, &p0);
	get_global_stats(self->fd, &g0);

	p = map_dev(self->fd, N * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, resident_pages, N);
	EXPECT_DELTA(p0, p1, pages_allocated, N);
	EXPECT_DELTA(p0, p1, pages_freed, 0);
	EXPECT_DELTA(p0, p1, mmap_calls, 1);
	EXPECT_DELTA(p0, p1, munmap_calls, 0);
	EXPECT_EQ((__u64)N, p1.peak_resident_pages);
	EXPECT_CONSISTENT(p1);
	EXPECT_CONSISTENT(g1);
	EXPECT_SAME_DELTAS(p0, p1, g0, g1);
	EXPECT_GE(g1.peak_resident_pages, g0.resident_pages + N);

	/* Head: pages 0..2. */
	ASSERT_EQ(0, munmap(p, 3 * self->ps));
	get_proc_stats(self->fd, &p2);
	get_global_stats(self->fd, &g2);
	EXPECT_DELTA(p1, p2, resident_pages, -3);
	EXPECT_DELTA(p1, p2, pages_freed, 3);
	EXPECT_DELTA(p1, p2, munmap_calls, 1);
	EXPECT_EQ((__u64)N, p2.peak_resident_pages);
	EXPECT_SAME_DELTAS(p1, p2, g1, g2);
	EXPECT_CONSISTENT(p2);

	/* Middle: pages 8..11. */
	ASSERT_EQ(0, munmap(p + 8 * self->ps, 4 * self->ps));
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p2, p1, resident_pages, -4);
	EXPECT_DELTA(p2, p1, pages_freed, 4);
	EXPECT_DELTA(p2, p1, munmap_calls, 1);
	EXPECT_SAME_DELTAS(p2, p1, g2, g1);

	/* Splitting by mprotect: nothing allocated, freed or closed. */
	ASSERT_EQ(0, mprotect(p + 14 * self->ps, 2 * self->ps, PROT_READ));
	get_proc_stats(self->fd, &p2);
	get_global_stats(self->fd, &g2);
	EXPECT_DELTA(p1, p2, resident_pages, 0);
	EXPECT_DELTA(p1, p2, pages_allocated, 0);
	EXPECT_DELTA(p1, p2, munmap_calls, 0);
	EXPECT_SAME_DELTAS(p1, p2, g1, g2);

	/* The rest: VMAs [3,8) [12,14) [14,16) [16,20) in one call. */
	ASSERT_EQ(0, munmap(p, N * self->ps));
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p2, p1, resident_pages, -(N - 7));
	EXPECT_DELTA(p2, p1, pages_freed, N - 7);
	EXPECT_DELTA(p2, p1, munmap_calls, 4);
	EXPECT_SAME_DELTAS(p2, p1, g2, g1);

	/* Over the whole life. */
	EXPECT_DELTA(p0, p1, resident_pages, 0);
	EXPECT_DELTA(p0, p1, pages_allocated, N);
	EXPECT_DELTA(p0, p1, pages_freed, N);
	EXPECT_DELTA(p0, p1, mmap_calls, 1);
	EXPECT_DELTA(p0, p1, munmap_calls, 6);
	EXPECT_EQ((__u64)N, p1.peak_resident_pages);
	EXPECT_CONSISTENT(p1);
	EXPECT_CONSISTENT(g1);
}

TEST_F(stats, peak_is_the_highest_resident_so_far)
{
	struct mymem_stats s, g0, g;
	char *a, *b, *c;

	get_global_stats(self->fd, &g0);
	a = map_dev(self->fd, 10 * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, a);
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(10ULL, s.peak_resident_pages);
	ASSERT_EQ(0, munmap(a, 10 * self->ps));
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(0ULL, s.resident_pages);
	EXPECT_EQ(10ULL, s.peak_resident_pages);

	b = map_dev(self->fd, 4 * self->ps, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, b);
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(10ULL, s.peak_resident_pages);
	c = map_dev(self->fd, 8 * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, c);
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(12ULL, s.resident_pages);
	EXPECT_EQ(12ULL, s.peak_resident_pages);

	/* The global peak never falls and covers what we hold. */
	get_global_stats(self->fd, &g);
	EXPECT_GE(g.peak_resident_pages, g0.peak_resident_pages);
	EXPECT_GE(g.peak_resident_pages, g0.resident_pages + 12);
	ASSERT_EQ(0, munmap(b, 4 * self->ps));
	ASSERT_EQ(0, munmap(c, 8 * self->ps));
	get_global_stats(self->fd, &g0);
	EXPECT_EQ(g.peak_resident_pages, g0.peak_resident_pages);
}

TEST_F(stats, failed_mmaps_counts_refused_mmaps_only)
{
	struct mymem_stats p0, p1, g0, g1;
	uint64_t ppp = 0;
	void *q;

	get_proc_stats(self->fd, &p0);
	get_global_stats(self->fd, &g0);

	/* Refused by the module: an offset, and a size over the limit. */
	q = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, self->ps);
	ASSERT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, failed_mmaps, 1);
	EXPECT_DELTA(g0, g1, failed_mmaps, 1);

	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &ppp));
	q = mmap(NULL, (ppp + 1) * self->ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE, self->fd, 0);
	ASSERT_EQ(MAP_FAILED, q);
	EXPECT_EQ(ENOMEM, errno);
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, failed_mmaps, 2);
	EXPECT_DELTA(g0, g1, failed_mmaps, 2);

	/* Refused by the kernel before the module sees it: not counted. */
	q = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_EQ(MAP_FAILED, q);
	get_proc_stats(self->fd, &p1);
	EXPECT_DELTA(p0, p1, failed_mmaps, 2);

	/* Successful ones are not failures. */
	q = map_dev(self->fd, self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, q);
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, failed_mmaps, 2);
	EXPECT_DELTA(p0, p1, mmap_calls, 1);
	EXPECT_DELTA(p0, p1, pages_allocated, 1);
	EXPECT_SAME_DELTAS(p0, p1, g0, g1);
	ASSERT_EQ(0, munmap(q, self->ps));
}

/*
 * A child opens the device, maps four mappings, cuts a hole in one and
 * exits without cleaning up: exit closes all five VMAs and the file.
 */
TEST_F(stats, exit_closes_every_mapping_and_file)
{
	struct mymem_stats g0, g1;
	pid_t pid;

	get_global_stats(self->fd, &g0);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mymem_stats s;
		int fd = mymem_open(), i;
		char *m[4];

		CHILD_CHECK(fd >= 0);
		for (i = 0; i < 4; i++) {
			m[i] = map_dev(fd, (5 + i) * self->ps,
				       i & 1 ? MAP_SHARED : MAP_PRIVATE);
			CHILD_CHECK(m[i] != MAP_FAILED);
			memset(m[i], i, (5 + i) * self->ps);
		}
		CHILD_CHECK(munmap(m[3] + 3 * self->ps, 2 * self->ps) == 0);
		CHILD_CHECK(mymem_proc_stats(fd, &s) == 0);
		CHILD_CHECK(s.resident_pages == 5 + 6 + 7 + 8 - 2);
		CHILD_CHECK(s.mmap_calls == 4 && s.munmap_calls == 1);
		CHILD_CHECK(s.open_files == 1);	/* the inherited fd is not its own */
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(g0, g1, resident_pages, 0);
	EXPECT_DELTA(g0, g1, pages_allocated, 26);
	EXPECT_DELTA(g0, g1, pages_freed, 26);
	EXPECT_DELTA(g0, g1, mmap_calls, 4);
	EXPECT_DELTA(g0, g1, munmap_calls, 1 + 5);
	EXPECT_DELTA(g0, g1, open_files, 0);
	EXPECT_CONSISTENT(g1);
}

TEST_F(stats, process_figures_are_per_process)
{
	struct mymem_stats s;
	char *p;
	pid_t pid;

	p = map_dev(self->fd, 3 * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mymem_stats c;
		int fd = mymem_open();
		char *q;

		CHILD_CHECK(fd >= 0);
		q = map_dev(fd, 7 * self->ps, MAP_PRIVATE);
		CHILD_CHECK(q != MAP_FAILED);
		/* Asked through either fd: the caller's figures. */
		CHILD_CHECK(mymem_proc_stats(self->fd, &c) == 0);
		CHILD_CHECK(c.resident_pages == 7 && c.mmap_calls == 1);
		CHILD_CHECK(c.open_files == 1 && c.peak_resident_pages == 7);
		CHILD_CHECK(mymem_proc_stats(fd, &c) == 0);
		CHILD_CHECK(c.resident_pages == 7 && c.pages_allocated == 7);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(3ULL, s.resident_pages);
	EXPECT_EQ(3ULL, s.pages_allocated);
	EXPECT_EQ(1ULL, s.mmap_calls);
	EXPECT_EQ(1ULL, s.open_files);
	ASSERT_EQ(0, munmap(p, 3 * self->ps));
}

/* ---- concurrency ---- */

struct conc {
	int fd;
	long ps;
	int iters;
	atomic_int stop;
	atomic_ullong pages;		/* pages mapped, all threads */
	atomic_int bad_snapshots;	/* inconsistent ioctl answers seen */
	atomic_int errors;
	atomic_int snapshots;
	struct mymem_stats first_bad;	/* written once, by the reader */
	unsigned long first_bad_cmd;
};

struct conc_arg {
	struct conc *c;
	unsigned int seed;
};

static void *conc_worker(void *a)
{
	struct conc_arg *arg = a;
	struct conc *c = arg->c;
	unsigned int seed = arg->seed;
	int i;

	for (i = 0; i < c->iters; i++) {
		size_t n = 1 + rand_r(&seed) % 8;
		char *p = mmap(NULL, n * c->ps, PROT_READ | PROT_WRITE,
			       (i & 1) ? MAP_SHARED : MAP_PRIVATE, c->fd, 0);

		if (p == MAP_FAILED) {
			atomic_fetch_add(&c->errors, 1);
			continue;
		}
		atomic_fetch_add(&c->pages, n);
		p[0] = 1;
		p[n * c->ps - 1] = 2;
		if (munmap(p, n * c->ps))
			atomic_fetch_add(&c->errors, 1);
	}
	return NULL;
}

static void *conc_reader(void *a)
{
	struct conc *c = a;
	struct mymem_stats s;

	while (!atomic_load(&c->stop)) {
		unsigned long cmd = atomic_load(&c->snapshots) & 1 ?
			MYMEM_IOC_PROC_STATS : MYMEM_IOC_GLOBAL_STATS;

		if (mymem_stats_ioctl(c->fd, cmd, &s)) {
			atomic_fetch_add(&c->errors, 1);
			break;
		}
		if (s.resident_pages != s.pages_allocated - s.pages_freed ||
		    s.peak_resident_pages < s.resident_pages) {
			if (atomic_fetch_add(&c->bad_snapshots, 1) == 0) {
				c->first_bad = s;
				c->first_bad_cmd = cmd;
			}
		}
		atomic_fetch_add(&c->snapshots, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(stats, threads_mapping_at_once_are_counted_exactly, 300)
{
	enum { T = 4, ITERS = 150 };
	struct conc c = { .fd = self->fd, .ps = self->ps, .iters = ITERS };
	struct mymem_stats p0, p1, g0, g1;
	struct conc_arg args[T];
	pthread_t th[T], reader;
	int i;

	get_proc_stats(self->fd, &p0);
	get_global_stats(self->fd, &g0);
	ASSERT_EQ(0, pthread_create(&reader, NULL, conc_reader, &c));
	for (i = 0; i < T; i++) {
		args[i].c = &c;
		args[i].seed = 1234 + i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, conc_worker,
					    &args[i]));
	}
	for (i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	atomic_store(&c.stop, 1);
	pthread_join(reader, NULL);

	EXPECT_EQ(0, atomic_load(&c.errors));
	EXPECT_EQ(0, atomic_load(&c.bad_snapshots)) {
		TH_LOG("%d of %d stats snapshots had resident != allocated - "
		       "freed or peak < resident", atomic_load(&c.bad_snapshots),
		       atomic_load(&c.snapshots));
		TH_LOG("first: %s resident %llu allocated %llu freed %llu "
		       "peak %llu",
		       c.first_bad_cmd == MYMEM_IOC_PROC_STATS ? "PROC" : "GLOBAL",
		       c.first_bad.resident_pages, c.first_bad.pages_allocated,
		       c.first_bad.pages_freed, c.first_bad.peak_resident_pages);
	}
	get_proc_stats(self->fd, &p1);
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(p0, p1, mmap_calls, T * ITERS);
	EXPECT_DELTA(p0, p1, munmap_calls, T * ITERS);
	EXPECT_DELTA(p0, p1, pages_allocated, atomic_load(&c.pages));
	EXPECT_DELTA(p0, p1, pages_freed, atomic_load(&c.pages));
	EXPECT_DELTA(p0, p1, resident_pages, 0);
	EXPECT_LE(p1.peak_resident_pages, (__u64)T * 8);
	EXPECT_SAME_DELTAS(p0, p1, g0, g1);
	EXPECT_CONSISTENT(p1);
	EXPECT_CONSISTENT(g1);
}

TEST_F_TIMEOUT(stats, processes_mapping_at_once_are_counted_exactly, 300)
{
	enum { P = 4, ITERS = 100 };
	struct mymem_stats g0, g1;
	unsigned long long total = 0;
	int to_parent[2], i, r;
	pid_t pid[P];

	ASSERT_EQ(0, sync_pipe(to_parent));
	get_global_stats(self->fd, &g0);
	fflush(stderr);
	for (i = 0; i < P; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			unsigned long long pages = 0;
			unsigned int seed = 99 + i;
			struct mymem_stats s;
			int fd = mymem_open();

			CHILD_CHECK(fd >= 0);
			for (r = 0; r < ITERS; r++) {
				size_t n = 1 + rand_r(&seed) % 16;
				char *p = map_dev(fd, n * self->ps,
						  MAP_PRIVATE);

				CHILD_CHECK(p != MAP_FAILED);
				memset(p, r, n * self->ps);
				CHILD_CHECK(munmap(p, n * self->ps) == 0);
				pages += n;
			}
			/* Each process's own figures are exact. */
			CHILD_CHECK(mymem_proc_stats(fd, &s) == 0);
			CHILD_CHECK(s.mmap_calls == ITERS);
			CHILD_CHECK(s.munmap_calls == ITERS);
			CHILD_CHECK(s.pages_allocated == pages);
			CHILD_CHECK(s.pages_freed == pages);
			CHILD_CHECK(s.resident_pages == 0);
			CHILD_CHECK(s.peak_resident_pages <= 16);
			CHILD_CHECK(write_full(to_parent[1], &pages,
					       sizeof(pages)) == 0);
			_exit(0);
		}
	}
	/* With our write end closed, a dead child cannot stall the reads. */
	close(to_parent[1]);
	for (i = 0; i < P; i++) {
		unsigned long long pages;

		EXPECT_EQ(0, read_full(to_parent[0], &pages, sizeof(pages),
				       200000));
		total += pages;
	}
	for (i = 0; i < P; i++)
		EXPECT_EQ(0, child_exit_code(pid[i], 200000));
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(g0, g1, mmap_calls, P * ITERS);
	EXPECT_DELTA(g0, g1, munmap_calls, P * ITERS);
	EXPECT_DELTA(g0, g1, pages_allocated, total);
	EXPECT_DELTA(g0, g1, pages_freed, total);
	EXPECT_DELTA(g0, g1, resident_pages, 0);
	EXPECT_DELTA(g0, g1, open_files, 0);
	EXPECT_CONSISTENT(g1);
	close(to_parent[0]);
}

TEST_HARNESS_MAIN
