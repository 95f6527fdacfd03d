// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_limits_test.c - the max_pages and max_pages_per_process limits.
 *
 * Both are module parameters (mode 0644) that root may change at run time.
 * An mmap() that would take resident pages over either limit fails at once
 * with ENOMEM and allocates nothing: there is never a later SIGBUS.  The
 * fixture saves both parameters and its teardown puts them back; to keep
 * the machine usable the limits are set just above what is resident now.
 */
#include "kselftest_harness.h"
#include "mymem_selftest.h"

#define WAIT_MS	20000

FIXTURE(limits)
{
	int fd;
	long ps;
	uint64_t max_pages, max_ppp;
	bool saved;
};

FIXTURE_SETUP(limits)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0U, geteuid()) TH_LOG("changing the limits needs root");
	ASSERT_EQ(0, mymem_param_get("max_pages", &self->max_pages));
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &self->max_ppp));
	self->saved = true;
}

FIXTURE_TEARDOWN(limits)
{
	if (self->saved) {
		EXPECT_EQ(0, mymem_param_set("max_pages", self->max_pages));
		EXPECT_EQ(0, mymem_param_set("max_pages_per_process",
					     self->max_ppp));
	}
	close(self->fd);
}

static char *map_dev(int fd, size_t pages, long ps)
{
	return mmap(NULL, pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    fd, 0);
}

/*
 * mmap() of @pages must fail with ENOMEM and allocate nothing; @counted:
 * the module saw the call (the kernel may refuse absurd sizes first).
 */
#define EXPECT_MMAP_REFUSED(self, pages) __EXPECT_REFUSED(self, pages, 1)
#define __EXPECT_REFUSED(self, pages, counted) do { \
	struct mymem_stats __b, __a; \
	char *__p; \
	get_proc_stats((self)->fd, &__b); \
	__p = map_dev((self)->fd, (pages), (self)->ps); \
	EXPECT_EQ(MAP_FAILED, __p) { \
		TH_LOG("mmap of %lu pages was not refused", \
		       (unsigned long)(pages)); \
		munmap(__p, (size_t)(pages) * (self)->ps); \
	} \
	EXPECT_EQ(ENOMEM, errno); \
	get_proc_stats((self)->fd, &__a); \
	if (counted) { \
		EXPECT_DELTA(__b, __a, failed_mmaps, 1); \
	} \
	EXPECT_DELTA(__b, __a, pages_allocated, 0); \
	EXPECT_DELTA(__b, __a, mmap_calls, 0); \
} while (0)

TEST(parameters_are_mode_0644)
{
	static const char *const names[] = {
		MYMEM_PARAM_DIR "/max_pages",
		MYMEM_PARAM_DIR "/max_pages_per_process",
	};
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ASSERT_EQ(0, stat(names[i], &st)) {
			TH_LOG("%s: %s", names[i], strerror(errno));
		}
		EXPECT_TRUE(S_ISREG(st.st_mode));
		EXPECT_EQ(0644U, st.st_mode & 07777) {
			TH_LOG("%s has mode %o", names[i], st.st_mode & 07777);
		}
	}
}

TEST_F(limits, unprivileged_user_cannot_change_them)
{
	pid_t pid;

	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t v;

		CHILD_CHECK(drop_to_nobody() == 0);
		CHILD_CHECK(mymem_param_get("max_pages", &v) == 0);
		CHILD_CHECK(mymem_param_set("max_pages", 1) == -EACCES);
		CHILD_CHECK(mymem_param_set("max_pages_per_process", 1) ==
			    -EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(limits, changes_show_in_get_info)
{
	struct mymem_info info;

	ASSERT_EQ(0, mymem_param_set("max_pages", self->max_pages + 1234));
	ASSERT_EQ(0, mymem_param_set("max_pages_per_process", 4321));
	ASSERT_EQ(0, mymem_get_info(self->fd, &info));
	EXPECT_EQ(self->max_pages + 1234, info.max_pages);
	EXPECT_EQ(4321ULL, info.max_pages_per_process);
}

TEST_F(limits, per_process_limit_refuses_mmap_over_it)
{
	struct mymem_stats s;
	char *a, *b;

	ASSERT_EQ(0, mymem_param_set("max_pages_per_process", 16));
	EXPECT_MMAP_REFUSED(self, 17);
	/* Exactly the limit is fine, and every page is there. */
	a = map_dev(self->fd, 16, self->ps);
	ASSERT_NE(MAP_FAILED, a);
	memset(a, 0x5a, 16 * self->ps);
	EXPECT_MMAP_REFUSED(self, 1);
	/* Giving pages back makes room for exactly as many. */
	ASSERT_EQ(0, munmap(a + 12 * self->ps, 4 * self->ps));
	EXPECT_MMAP_REFUSED(self, 5);
	b = map_dev(self->fd, 4, self->ps);
	ASSERT_NE(MAP_FAILED, b);
	memset(b, 0xa5, 4 * self->ps);
	EXPECT_MMAP_REFUSED(self, 1);
	get_proc_stats(self->fd, &s);
	EXPECT_EQ(16ULL, s.resident_pages);
	EXPECT_EQ(-1, check_fill(a, 12 * self->ps, 0x5a));
	ASSERT_EQ(0, munmap(a, 12 * self->ps));
	ASSERT_EQ(0, munmap(b, 4 * self->ps));
}

TEST_F(limits, per_process_limit_is_counted_per_process)
{
	char *a;
	pid_t pid;

	ASSERT_EQ(0, mymem_param_set("max_pages_per_process", 16));
	a = map_dev(self->fd, 16, self->ps);
	ASSERT_NE(MAP_FAILED, a);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The inherited mapping is the parent's: 16 more fit here. */
		char *b = map_dev(self->fd, 16, self->ps);

		CHILD_CHECK(b != MAP_FAILED);
		memset(b, 1, 16 * self->ps);
		CHILD_CHECK(map_dev(self->fd, 1, self->ps) == MAP_FAILED);
		CHILD_CHECK(errno == ENOMEM);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	EXPECT_MMAP_REFUSED(self, 1);
	ASSERT_EQ(0, munmap(a, 16 * self->ps));
}

TEST_F(limits, global_limit_refuses_mmap_over_it_for_everyone)
{
	struct mymem_stats g;
	char *a;
	pid_t pid;

	get_global_stats(self->fd, &g);
	ASSERT_EQ(0, mymem_param_set("max_pages", g.resident_pages + 16));
	EXPECT_MMAP_REFUSED(self, 17);
	a = map_dev(self->fd, 16, self->ps);
	ASSERT_NE(MAP_FAILED, a);
	memset(a, 3, 16 * self->ps);

	/* Another process, under its own per-process limit, is refused too. */
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = mymem_open();

		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(map_dev(fd, 1, self->ps) == MAP_FAILED);
		CHILD_CHECK(errno == ENOMEM);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));

	/* Once we give the pages back, it fits again. */
	ASSERT_EQ(0, munmap(a, 16 * self->ps));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = mymem_open();
		char *b;

		CHILD_CHECK(fd >= 0);
		b = map_dev(fd, 16, self->ps);
		CHILD_CHECK(b != MAP_FAILED);
		memset(b, 4, 16 * self->ps);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(limits, lowering_a_limit_keeps_existing_mappings)
{
	char *a, *b;

	a = map_dev(self->fd, 32, self->ps);
	ASSERT_NE(MAP_FAILED, a);
	fill_pattern(a, 32 * self->ps, 41);
	ASSERT_EQ(0, mymem_param_set("max_pages_per_process", 8));
	/* Over the new limit: what is mapped stays usable ... */
	EXPECT_EQ(-1, check_pattern(a, 32 * self->ps, 41));
	fill_pattern(a, 32 * self->ps, 42);
	EXPECT_EQ(-1, check_pattern(a, 32 * self->ps, 42));
	/* ... but nothing new until resident is back under it. */
	EXPECT_MMAP_REFUSED(self, 1);
	ASSERT_EQ(0, munmap(a, 16 * self->ps));
	EXPECT_MMAP_REFUSED(self, 1);
	ASSERT_EQ(0, munmap(a + 16 * self->ps, 16 * self->ps));
	b = map_dev(self->fd, 8, self->ps);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_MMAP_REFUSED(self, 1);
	ASSERT_EQ(0, munmap(b, 8 * self->ps));
}

TEST_F(limits, default_sized_requests_over_the_limit_fail_at_once)
{
	/* With the limits as loaded: one page over each, and an absurd size. */
	EXPECT_MMAP_REFUSED(self, self->max_ppp + 1);
	EXPECT_MMAP_REFUSED(self, self->max_pages + 1);
	__EXPECT_REFUSED(self, (1ULL << 40) / self->ps, 0);
}

TEST_HARNESS_MAIN
