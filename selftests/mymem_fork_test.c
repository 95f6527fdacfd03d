// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_fork_test.c - /dev/mymem mappings across fork().
 *
 * MAP_PRIVATE behaves like private anonymous memory: the child starts with
 * the parent's contents and from then on neither sees the other's writes.
 * MAP_SHARED behaves like MAP_SHARED of /dev/zero: shared with children
 * forked after the mmap(), never with anyone else.  A device page stays
 * resident while any process still maps it, and goes the moment the last
 * one unmaps it.
 *
 * Parent and child order their steps with one-byte messages on pipes;
 * every wait is bounded.  Children never use ASSERT_*(): they report a
 * failed check on stderr and through their exit status (CHILD_CHECK).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "mymem_selftest.h"

#define WAIT_MS	20000	/* any single wait; TCG is slow, but not this slow */

FIXTURE(fork)
{
	int fd;
	long ps;
	int to_child[2];
	int to_parent[2];
};

FIXTURE_SETUP(fork)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0, sync_pipe(self->to_child));
	ASSERT_EQ(0, sync_pipe(self->to_parent));
}

FIXTURE_TEARDOWN(fork)
{
	close(self->fd);
	close(self->to_child[0]);
	close(self->to_child[1]);
	close(self->to_parent[0]);
	close(self->to_parent[1]);
}

static pid_t fork_flushed(void)
{
	fflush(stdout);
	fflush(stderr);
	return fork();
}

static char *map_dev(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

/* Child side of a message exchange: wait for @c from the parent. */
#define CHILD_WAIT(self, c) \
	CHILD_CHECK(pipe_get((self)->to_child[0], WAIT_MS) == (c))
#define CHILD_SEND(self, c) \
	CHILD_CHECK(pipe_put((self)->to_parent[1], (c)) == 0)
#define PARENT_WAIT(self, c) \
	ASSERT_EQ(c, pipe_get((self)->to_parent[0], WAIT_MS))
#define PARENT_SEND(self, c) \
	ASSERT_EQ(0, pipe_put((self)->to_child[1], (c)))

TEST_F(fork, private_child_sees_contents_at_fork)
{
	size_t len = 32 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(check_pattern(p, len, 1) == -1);
		/* The child's copy is writable. */
		fill_pattern(p, len, 2);
		CHILD_CHECK(check_pattern(p, len, 2) == -1);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(p, len, 1));
}

TEST_F(fork, private_child_write_is_invisible_to_parent)
{
	size_t len = 32 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill_pattern(p, len, 2);
		CHILD_SEND(self, 'w');
		CHILD_WAIT(self, 'c');
		CHILD_CHECK(check_pattern(p, len, 2) == -1);
		_exit(0);
	}
	PARENT_WAIT(self, 'w');
	EXPECT_EQ(-1, check_pattern(p, len, 1));
	PARENT_SEND(self, 'c');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(p, len, 1));
}

TEST_F(fork, private_parent_write_is_invisible_to_child)
{
	size_t len = 32 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_WAIT(self, 'w');
		CHILD_CHECK(check_pattern(p, len, 1) == -1);
		_exit(0);
	}
	fill_pattern(p, len, 3);
	PARENT_SEND(self, 'w');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(p, len, 3));
}

TEST_F(fork, private_both_sides_write_at_once_and_stay_isolated)
{
	size_t len = 64 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_WAIT(self, 'g');
		fill_pattern(p, len, 5);
		CHILD_SEND(self, 'd');
		CHILD_WAIT(self, 'd');
		CHILD_CHECK(check_pattern(p, len, 5) == -1);
		_exit(0);
	}
	PARENT_SEND(self, 'g');
	fill_pattern(p, len, 6);
	PARENT_WAIT(self, 'd');
	EXPECT_EQ(-1, check_pattern(p, len, 6));
	PARENT_SEND(self, 'd');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

/*
 * Generation @gen finds seed @gen, writes seed gen + 1, forks the next
 * generation and, once that one has written its own, still finds gen + 1.
 */
static int nested_generation(char *p, size_t len, int gen, int last)
{
	pid_t pid;
	int code;

	if (check_pattern(p, len, gen) != -1)
		return 10 + gen;
	fill_pattern(p, len, gen + 1);
	if (gen == last)
		return 0;
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return 20 + gen;
	if (pid == 0)
		_exit(nested_generation(p, len, gen + 1, last));
	code = child_exit_code(pid, WAIT_MS);
	if (code)
		return code > 0 ? code : 30 + gen;
	if (check_pattern(p, len, gen + 1) != -1)
		return 40 + gen;
	return 0;
}

TEST_F(fork, private_nested_forks_isolate_every_generation)
{
	size_t len = 16 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	/* 1 -> child 2 -> grandchild 3 -> great-grandchild 4. */
	EXPECT_EQ(0, nested_generation(p, len, 1, 4)) {
		TH_LOG("code 1x: generation x saw the wrong contents, 4x: "
		       "its contents changed under a descendant's writes");
	}
	EXPECT_EQ(-1, check_pattern(p, len, 2));
}

/* Threads that own a stable region each, and keep writing a scratch page. */
struct mt_ctx {
	char *p;
	long ps;
	int nthreads;
	atomic_int ready;
	atomic_int stop;
};

struct mt_arg {
	struct mt_ctx *ctx;
	int id;
};

#define MT_REGION_PAGES	4

static void *mt_thread(void *a)
{
	struct mt_arg *arg = a;
	struct mt_ctx *ctx = arg->ctx;
	char *region = ctx->p + (size_t)arg->id * MT_REGION_PAGES * ctx->ps;
	char *scratch = ctx->p + (size_t)ctx->nthreads * MT_REGION_PAGES *
			ctx->ps + (size_t)arg->id * 64;
	time_t end = time(NULL) + 60;
	unsigned int n = 0;

	fill_pattern(region, MT_REGION_PAGES * ctx->ps, 10 + arg->id);
	atomic_fetch_add(&ctx->ready, 1);
	while (!atomic_load(&ctx->stop) && time(NULL) < end)
		memset(scratch, (int)(n++ & 0xff), 64);
	return NULL;
}

TEST_F(fork, private_fork_from_multithreaded_process_is_a_snapshot)
{
	enum { T = 4 };
	struct mt_ctx ctx = { .ps = self->ps, .nthreads = T };
	size_t len = (T * MT_REGION_PAGES + 1) * self->ps;
	struct mt_arg args[T];
	pthread_t th[T];
	pid_t pid;
	int i, waited;

	ctx.p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, ctx.p);
	for (i = 0; i < T; i++) {
		args[i].ctx = &ctx;
		args[i].id = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, mt_thread, &args[i]));
	}
	for (waited = 0; atomic_load(&ctx.ready) < T && waited < WAIT_MS;
	     waited += 10)
		usleep(10000);
	ASSERT_EQ(T, atomic_load(&ctx.ready));

	/* Fork while every thread is running and writing. */
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < T; i++)
			CHILD_CHECK(check_pattern(ctx.p + (size_t)i *
				MT_REGION_PAGES * ctx.ps,
				MT_REGION_PAGES * ctx.ps, 10 + i) == -1);
		CHILD_WAIT(self, 'w');
		for (i = 0; i < T; i++)
			CHILD_CHECK(check_pattern(ctx.p + (size_t)i *
				MT_REGION_PAGES * ctx.ps,
				MT_REGION_PAGES * ctx.ps, 10 + i) == -1);
		/* The child's own writes stay in the child. */
		fill_pattern(ctx.p, len, 99);
		_exit(0);
	}
	for (i = 0; i < T; i++)
		fill_pattern(ctx.p + (size_t)i * MT_REGION_PAGES * self->ps,
			     MT_REGION_PAGES * self->ps, 20 + i);
	PARENT_SEND(self, 'w');
	EXPECT_EQ(0, child_exit_code(pid, WAIT_MS));
	atomic_store(&ctx.stop, 1);
	for (i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < T; i++)
		EXPECT_EQ(-1, check_pattern(ctx.p + (size_t)i *
				MT_REGION_PAGES * self->ps,
				MT_REGION_PAGES * self->ps, 20 + i));
}

TEST_F(fork, private_child_munmap_of_a_piece_leaves_parent_intact)
{
	size_t len = 12 * self->ps;
	struct mymem_stats s0, s1;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 8);
	get_proc_stats(self->fd, &s0);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(munmap(p + 4 * self->ps, 4 * self->ps) == 0);
		CHILD_CHECK(range_is_unmapped(p + 4 * self->ps, 4 * self->ps));
		CHILD_CHECK(check_pattern(p, 4 * self->ps, 8) == -1);
		fill_pattern(p + 8 * self->ps, 4 * self->ps, 9);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(p, len, 8));
	EXPECT_EQ(0, probe_access(p + 5 * self->ps, true));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
}

TEST_F(fork, shared_child_write_is_visible_to_parent)
{
	size_t len = 32 * self->ps;
	char *p = map_dev(self->fd, len, MAP_SHARED);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(check_pattern(p, len, 1) == -1);
		fill_pattern(p, len, 2);
		CHILD_SEND(self, 'w');
		CHILD_WAIT(self, 'c');
		_exit(0);
	}
	PARENT_WAIT(self, 'w');
	EXPECT_EQ(-1, check_pattern(p, len, 2));
	PARENT_SEND(self, 'c');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(p, len, 2));
}

TEST_F(fork, shared_parent_write_is_visible_to_child)
{
	size_t len = 32 * self->ps;
	char *p = map_dev(self->fd, len, MAP_SHARED);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_WAIT(self, 'w');
		CHILD_CHECK(check_pattern(p, len, 3) == -1);
		_exit(0);
	}
	fill_pattern(p, len, 3);
	PARENT_SEND(self, 'w');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(fork, shared_mapping_is_not_shared_with_earlier_process)
{
	size_t len = 8 * self->ps;
	char *p;
	pid_t pid;

	/* This child exists before the parent's mmap: nothing is shared. */
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q;

		CHILD_WAIT(self, 'm');
		q = map_dev(self->fd, len, MAP_SHARED);
		CHILD_CHECK(q != MAP_FAILED);
		CHILD_CHECK(check_fill(q, len, 0) == -1);
		fill_pattern(q, len, 5);
		CHILD_SEND(self, 'x');
		CHILD_WAIT(self, 'e');
		CHILD_CHECK(check_pattern(q, len, 5) == -1);
		_exit(0);
	}
	p = map_dev(self->fd, len, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 4);
	PARENT_SEND(self, 'm');
	PARENT_WAIT(self, 'x');
	EXPECT_EQ(-1, check_pattern(p, len, 4));
	PARENT_SEND(self, 'e');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(fork, shared_mmaps_of_one_fd_are_separate_memory)
{
	size_t len = 8 * self->ps;
	char *a = map_dev(self->fd, len, MAP_SHARED);
	char *b = map_dev(self->fd, len, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	fill_pattern(a, len, 6);
	EXPECT_EQ(-1, check_fill(b, len, 0));
	fill_pattern(b, len, 7);
	EXPECT_EQ(-1, check_pattern(a, len, 6));
}

/* ---- page lifetime across fork, seen in the global statistics ---- */

TEST_F(fork, shared_pages_stay_resident_until_the_last_unmap)
{
	enum { N = 16 };
	size_t len = N * self->ps;
	struct mymem_stats g0, g1, g2, g3;
	char *p;
	pid_t pid;

	get_global_stats(self->fd, &g0);
	p = map_dev(self->fd, len, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_WAIT(self, 'u');
		CHILD_CHECK(check_pattern(p, len, 1) == -1);
		fill_pattern(p, len, 2);
		CHILD_CHECK(check_pattern(p, len, 2) == -1);
		CHILD_SEND(self, 'k');
		CHILD_WAIT(self, 'e');
		_exit(0);
	}
	ASSERT_EQ(0, munmap(p, len));
	get_global_stats(self->fd, &g1);
	/* The child still maps every page: none may go. */
	EXPECT_DELTA(g0, g1, resident_pages, N);
	PARENT_SEND(self, 'u');
	PARENT_WAIT(self, 'k');
	get_global_stats(self->fd, &g2);
	EXPECT_DELTA(g0, g2, resident_pages, N);
	PARENT_SEND(self, 'e');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_global_stats(self->fd, &g3);
	EXPECT_DELTA(g0, g3, resident_pages, 0);
	EXPECT_EQ(g3.pages_allocated - g3.pages_freed, g3.resident_pages);
}

/*
 * Private mapping, child does not write: whatever frames parent and child
 * still share (found with MYMEM_IOC_VIRT_TO_PHYS; needs root) must stay
 * resident when the parent unmaps, and every frame only the parent had
 * must go at once.  The last page goes when the child exits.
 */
TEST_F(fork, private_shared_frames_stay_resident_until_both_unmap)
{
	enum { N = 16 };
	size_t len = N * self->ps;
	struct mymem_stats g0, gb, ga, g_end;
	uint64_t pf[N], cf[N];
	int i, shared = 0;
	char *p;
	pid_t pid;

	get_global_stats(self->fd, &g0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, p + i * self->ps,
						&pf[i]));
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < N; i++)
			CHILD_CHECK(mymem_virt_to_phys(self->fd,
				p + i * self->ps, &cf[i]) == 0);
		CHILD_CHECK(write_full(self->to_parent[1], cf, sizeof(cf)) == 0);
		CHILD_WAIT(self, 'e');
		CHILD_CHECK(check_pattern(p, len, 1) == -1);
		_exit(0);
	}
	ASSERT_EQ(0, read_full(self->to_parent[0], cf, sizeof(cf), WAIT_MS));
	for (i = 0; i < N; i++)
		shared += (pf[i] == cf[i]);
	TH_LOG("%d of %d frames shared by parent and child after fork",
	       shared, N);
	get_global_stats(self->fd, &gb);
	ASSERT_EQ(0, munmap(p, len));
	get_global_stats(self->fd, &ga);
	EXPECT_DELTA(gb, ga, resident_pages, -(N - shared));
	PARENT_SEND(self, 'e');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_global_stats(self->fd, &g_end);
	EXPECT_DELTA(g0, g_end, resident_pages, 0);
}

/*
 * The child writes every page (copy-on-write gives it its own copies) and
 * stays alive: the parent's munmap must free its N device pages at once.
 */
TEST_F(fork, private_parent_munmap_frees_at_once_after_child_wrote_all)
{
	enum { N = 16 };
	size_t len = N * self->ps;
	struct mymem_stats g0, gb, ga, g_end;
	char *p;
	pid_t pid;

	get_global_stats(self->fd, &g0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill_pattern(p, len, 2);
		CHILD_SEND(self, 'w');
		CHILD_WAIT(self, 'e');
		CHILD_CHECK(check_pattern(p, len, 2) == -1);
		_exit(0);
	}
	PARENT_WAIT(self, 'w');
	get_global_stats(self->fd, &gb);
	ASSERT_EQ(0, munmap(p, len));
	get_global_stats(self->fd, &ga);
	EXPECT_DELTA(gb, ga, resident_pages, -N);
	PARENT_SEND(self, 'e');
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_global_stats(self->fd, &g_end);
	EXPECT_DELTA(g0, g_end, resident_pages, 0);
}

TEST_F(fork, private_parent_munmap_frees_all_after_child_wrote_and_exited)
{
	enum { N = 16 };
	size_t len = N * self->ps;
	struct mymem_stats g0, g1, g2;
	char *p;
	pid_t pid;

	get_global_stats(self->fd, &g0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill_pattern(p, len, 2);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(g0, g1, resident_pages, N);
	EXPECT_EQ(-1, check_pattern(p, len, 1));
	ASSERT_EQ(0, munmap(p, len));
	get_global_stats(self->fd, &g2);
	EXPECT_DELTA(g0, g2, resident_pages, 0);
}

/* A mapping is charged to the process that called mmap(), not the child. */
TEST_F(fork, child_is_not_charged_for_inherited_mapping)
{
	enum { N = 8 };
	size_t len = N * self->ps;
	struct mymem_stats s;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	pid = fork_flushed();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mymem_stats c;
		struct mymem_stats zero = { .size = MYMEM_STATS_SIZE_VER0 };

		/* Never opened, never mapped: all zeros (the fd is inherited). */
		CHILD_CHECK(mymem_proc_stats(self->fd, &c) == 0);
		CHILD_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	get_proc_stats(self->fd, &s);
	EXPECT_EQ((__u64)N, s.resident_pages);
	EXPECT_EQ(1ULL, s.mmap_calls);
	EXPECT_EQ(1ULL, s.open_files);
	EXPECT_EQ(0ULL, s.pages_freed);
}

TEST_F_TIMEOUT(fork, repeated_forks_leak_no_pages, 120)
{
	enum { N = 8, ROUNDS = 16 };
	size_t len = N * self->ps;
	struct mymem_stats g0, g1, g2;
	char *p;
	int r;

	get_global_stats(self->fd, &g0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 1);
	for (r = 0; r < ROUNDS; r++) {
		pid_t pid = fork_flushed();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* Write some pages, unmap a piece, map more, exit. */
			char *q = map_dev(self->fd, 3 * self->ps,
					  r & 1 ? MAP_SHARED : MAP_PRIVATE);

			CHILD_CHECK(q != MAP_FAILED);
			memset(p + (r % N) * self->ps, r, self->ps);
			if (r & 2)
				CHILD_CHECK(munmap(p + 2 * self->ps,
						   3 * self->ps) == 0);
			_exit(0);
		}
		ASSERT_EQ(0, child_exit_code(pid, WAIT_MS)) {
			TH_LOG("round %d", r);
		}
	}
	get_global_stats(self->fd, &g1);
	EXPECT_DELTA(g0, g1, resident_pages, N);
	EXPECT_EQ(-1, check_pattern(p, len, 1));
	ASSERT_EQ(0, munmap(p, len));
	get_global_stats(self->fd, &g2);
	EXPECT_DELTA(g0, g2, resident_pages, 0);
	EXPECT_EQ(g2.pages_allocated - g2.pages_freed, g2.resident_pages);
}

TEST_HARNESS_MAIN
