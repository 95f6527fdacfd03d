// SPDX-License-Identifier: MIT
/*
 * test_fork.c - fork() while other threads allocate: the child's heap is
 * consistent (no lock left held, mymem_check() clean) and follows POSIX
 * fork semantics (a snapshot: neither side sees the other's later writes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "testutil.h"

static atomic_int stop;

/* Random small and medium blocks: thread caches and the arenas. */
static void *churn(void *arg)
{
	uint64_t r = (uintptr_t)arg + 1;
	void *slot[64] = { 0 };

	while (!atomic_load(&stop)) {
		uint64_t x = rng_next(&r);
		unsigned k = (unsigned)(x % 64);

		free(slot[k]);
		slot[k] = malloc((x >> 8) % ((x & 1) ? 300 : 20000));
	}
	for (int k = 0; k < 64; k++)
		free(slot[k]);
	return NULL;
}

/* Blocks above the caches' range only: these threads never own a cache. */
static void *churn_uncached(void *arg)
{
	uint64_t r = (uintptr_t)arg + 1;
	void *slot[16] = { 0 };

	while (!atomic_load(&stop)) {
		uint64_t x = rng_next(&r);
		unsigned k = (unsigned)(x % 16);

		free(slot[k]);
		slot[k] = malloc(2048 + (x >> 8) % 30000);
	}
	for (int k = 0; k < 16; k++)
		free(slot[k]);
	return NULL;
}

/*
 * Fork 100 times while four threads run fn; each child allocates, frees
 * and must find its heap consistent, statistics included (a thread caught
 * mid-operation leaves its block in use: the child recounts).
 */
static void fork_during(struct __test_metadata *_metadata, void *(*fn)(void *))
{
	pthread_t t[4];

	atomic_store(&stop, 0);
	for (long i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fn, (void *)i));
	for (int round = 0; round < 100; round++) {
		int status;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			void *p[200];
			int r;

			alarm(20);	/* a deadlock ends in SIGALRM */
			for (int i = 0; i < 200; i++)
				p[i] = malloc((size_t)i * 41);
			for (int i = 0; i < 200; i++)
				free(p[i]);
			r = mymem_check();
			if (r)
				fprintf(stderr, "child check: %s\n", mymem_strerror(r));
			_exit(r == 0 ? 0 : 3);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_EQ(0, mymem_check());
}

FIXTURE(forking) { int unused; };
FIXTURE_SETUP(forking) { self->unused = 0; }
FIXTURE_TEARDOWN(forking) { (void)self; }

TEST_F_TIMEOUT(forking, fork_while_threads_allocate, 120)
{
	fork_during(_metadata, churn);
}

TEST_F_TIMEOUT(forking, fork_while_threads_allocate_without_caches, 120)
{
	fork_during(_metadata, churn_uncached);
}

TEST_F(forking, child_sees_snapshot)
{
	char *small = malloc(100), *big = malloc(3 << 20);
	int pfd[2], status;
	char c;

	strcpy(small, "before");
	strcpy(big, "before");
	ASSERT_EQ(0, pipe(pfd));
	pid_t pid = fork();
	if (pid == 0) {
		/* wait until the parent has written, then look */
		if (read(pfd[0], &c, 1) != 1)
			_exit(2);
		if (strcmp(small, "before") || strcmp(big, "before"))
			_exit(1);
		strcpy(small, "child");
		free(big);		/* the child's own copy */
		char *n = malloc(100);
		_exit(n && mymem_check() == 0 ? 0 : 4);
	}
	strcpy(small, "parent");
	strcpy(big, "parent");
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_STREQ("parent", small);
	ASSERT_STREQ("parent", big);
	free(small);
	free(big);
	ASSERT_EQ(0, mymem_check());
}

/*
 * exit() runs the thread-local destructors before the atexit handlers.  In
 * a process that never had a second thread the thread cache survives them
 * (a forked child must not write to every run its cache came from just
 * before it ends) and keeps serving the handlers; once a second thread has
 * existed, the exiting thread's cache is flushed as at any thread exit.
 * Either way the heap stays consistent for whatever runs last.
 */
static void *exit_last_freed;
static bool exit_expect_cached;

static void check_after_tls_destructors(void)
{
	struct mymem_heap_stats st;
	void *p;

	if (mymem_heap_stats(&st) != 0)
		_exit(10);
	if (exit_expect_cached != (st.cached_blocks > 0))
		_exit(11);
	p = malloc(48);
	if (!p)
		_exit(12);
	/* The cache is LIFO: it hands back the block freed last. */
	if (exit_expect_cached && p != exit_last_freed)
		_exit(13);
	free(p);
	_exit(mymem_check() == 0 ? 0 : 14);
}

static void *do_nothing(void *arg)
{
	return arg;
}

/* In a child: cache blocks, register the check, exit(); its status. */
static int exit_with_cached_blocks(bool second_thread)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		void *b[32];

		if (second_thread) {
			pthread_t t;

			if (pthread_create(&t, NULL, do_nothing, NULL) || pthread_join(t, NULL))
				_exit(20);
		}
		for (int i = 0; i < 32; i++)
			b[i] = malloc(48);
		for (int i = 0; i < 32; i++)
			free(b[i]);
		exit_last_freed = b[31];
		exit_expect_cached = !second_thread;
		if (atexit(check_after_tls_destructors))
			_exit(21);
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(exit_keeps_the_cache_of_a_single_threaded_process)
{
	ASSERT_EQ(0, exit_with_cached_blocks(false));
}

TEST(exit_flushes_the_cache_once_a_second_thread_existed)
{
	ASSERT_EQ(0, exit_with_cached_blocks(true));
}

TEST_HARNESS_MAIN
