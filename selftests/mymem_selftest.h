/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mymem_selftest.h - small helpers shared by the /dev/mymem selftests.
 *
 * The one idea: every helper returns 0 or -errno and never asserts, so the
 * tests keep all their ASSERT_*()s (and thus every verdict) in the test
 * body, and helpers stay usable in forked children, where the harness's
 * ASSERT_*() must not be used (a child reports through its exit status).
 *
 * What is here: reading the statistics (sysfs and both ioctls), reading and
 * writing the module parameters, a bounded waitpid(), dropping to an
 * unprivileged user, and probing whether an address can be read or
 * written without killing the caller.
 */
#ifndef MYMEM_SELFTEST_H
#define MYMEM_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "mymem_dev.h"

#define MYMEM_SYSFS_DIR		"/sys/class/misc/mymem"
#define MYMEM_PARAM_DIR		"/sys/module/mymem/parameters"
#define MYMEM_DEFAULT_MAX_PAGES			262144ULL
#define MYMEM_DEFAULT_MAX_PAGES_PER_PROCESS	131072ULL
#define NOBODY_ID		65534

/* The statistics, in struct mymem_stats order, as sysfs names them. */
static const char *const mymem_stat_names[] __attribute__((unused)) = {
	"resident_pages", "peak_resident_pages", "pages_allocated",
	"pages_freed", "mmap_calls", "munmap_calls", "open_files",
	"failed_mmaps",
};
#define MYMEM_NR_STATS	8

/*
 * The device the tests open.  MYMEM_TEST_DEVICE=/dev/zero lets a developer
 * dry-run the tests of pure mapping semantics on a machine without the
 * module; run_vm_tests.sh unsets it.
 */
static inline const char *mymem_device(void)
{
	const char *p = getenv("MYMEM_TEST_DEVICE");

	return p && *p ? p : MYMEM_DEVICE_PATH;
}

static inline int mymem_open(void)
{
	return open(mymem_device(), O_RDWR | O_CLOEXEC);
}

static inline long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Read one unsigned decimal value, as a sysfs or module parameter file holds. */
static inline int read_u64_file(const char *path, uint64_t *val)
{
	char buf[64], *end;
	ssize_t n;
	int fd;

	*val = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

static inline int write_u64_file(const char *path, uint64_t val)
{
	char buf[32];
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)val);
	if (write(fd, buf, len) != len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static inline int write_str_file(const char *path, const char *s)
{
	ssize_t len = strlen(s);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Read a whole small text file into buf (NUL-terminated); bytes or -errno. */
static inline ssize_t read_text_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - total);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

static inline int mymem_sysfs_stat(const char *name, uint64_t *val)
{
	char path[256];

	snprintf(path, sizeof(path), MYMEM_SYSFS_DIR "/%s", name);
	return read_u64_file(path, val);
}

/* All eight sysfs statistics, into a struct mymem_stats. */
static inline int mymem_sysfs_stats(struct mymem_stats *st)
{
	__u64 *field = &st->resident_pages;
	uint64_t val = 0;
	int i, ret;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < MYMEM_NR_STATS; i++) {
		ret = mymem_sysfs_stat(mymem_stat_names[i], &val);
		if (ret)
			return ret;
		field[i] = val;
	}
	return 0;
}

/* A stats ioctl with the first published struct size. */
static inline int mymem_stats_ioctl(int fd, unsigned long cmd,
				    struct mymem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->flags = 0;
	return ioctl(fd, cmd, st) ? -errno : 0;
}

static inline int mymem_proc_stats(int fd, struct mymem_stats *st)
{
	return mymem_stats_ioctl(fd, MYMEM_IOC_PROC_STATS, st);
}

static inline int mymem_global_stats(int fd, struct mymem_stats *st)
{
	return mymem_stats_ioctl(fd, MYMEM_IOC_GLOBAL_STATS, st);
}

static inline int mymem_get_info(int fd, struct mymem_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, MYMEM_IOC_GET_INFO, info) ? -errno : 0;
}

/* Physical address of @addr, or -errno. */
static inline int mymem_virt_to_phys(int fd, const void *addr, uint64_t *paddr)
{
	struct mymem_translate tr = {
		.size = sizeof(tr),
		.vaddr = (uintptr_t)addr,
	};

	if (ioctl(fd, MYMEM_IOC_VIRT_TO_PHYS, &tr))
		return -errno;
	*paddr = tr.paddr;
	return 0;
}

static inline int mymem_param_get(const char *name, uint64_t *val)
{
	char path[256];

	snprintf(path, sizeof(path), MYMEM_PARAM_DIR "/%s", name);
	return read_u64_file(path, val);
}

static inline int mymem_param_set(const char *name, uint64_t val)
{
	char path[256];

	snprintf(path, sizeof(path), MYMEM_PARAM_DIR "/%s", name);
	return write_u64_file(path, val);
}

/*
 * waitpid() with a deadline: after @timeout_ms the child (and its process
 * group if it leads one) gets SIGKILL.  Returns 0 with *status filled, or
 * -ETIMEDOUT (the child has then been killed and reaped) or -errno.
 */
static inline int wait_child(pid_t pid, int timeout_ms, int *status)
{
	int waited = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		usleep(10000);
		waited += 10;
	}
}

/*
 * The exit code of a child, or a negative value when it did not exit
 * normally: -(signal number) when killed, -1000 on timeout.
 */
static inline int child_exit_code(pid_t pid, int timeout_ms)
{
	int status, ret;

	ret = wait_child(pid, timeout_ms, &status);
	if (ret)
		return -1000;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return -1001;
}

/* Become uid/gid 65534 (nobody) with no supplementary groups. */
static inline int drop_to_nobody(void)
{
	if (setgroups(0, NULL))
		return -errno;
	if (setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID))
		return -errno;
	if (setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID))
		return -errno;
	return 0;
}

/*
 * For forked children, which must not use ASSERT_*(): report the failed
 * condition on stderr (unbuffered, so it lands in the TAP log) and exit 1.
 */
#define CHILD_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "# child %d: %s:%d: check failed: %s (errno %d)\n", \
			(int)getpid(), __FILE__, __LINE__, #cond, errno); \
		_exit(1); \
	} \
} while (0)

/* Read and write a byte through a pipe: a simple way to order two processes. */
static inline int pipe_put(int fd, char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* Wait at most @timeout_ms for a byte; returns the byte or -1. */
static inline int pipe_get(int fd, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n == 1)
			return (unsigned char)c;
		if (n == 0)
			return -1;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (waited >= timeout_ms)
			return -1;
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

/* Read exactly @len bytes from a non-blocking fd within @timeout_ms. */
static inline int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	size_t done = 0;
	int waited = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
		waited += 10;
	}
	return 0;
}

static inline int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		done += n;
	}
	return 0;
}

/* A pipe whose read end does not block (so pipe_get() can time out). */
static inline int sync_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK))
		return -errno;
	return 0;
}

/*
 * probe_access() - touch one byte and report what happened, without dying.
 * Returns 0 if the access worked, else the signal it raised (SIGSEGV or
 * SIGBUS).  The handler is installed only for the duration of the probe.
 */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_env, 1);
}

static inline int probe_access(volatile char *addr, bool write)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_segv, old_bus;
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	probe_sig = 0;
	if (sigsetjmp(probe_env, 1) == 0) {
		if (write)
			*addr = *addr;
		else
			(void)*addr;
	} else {
		ret = probe_sig;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return ret;
}

/* Is [addr, addr + len) mapped at all?  mincore() says ENOMEM when not. */
static inline bool range_is_unmapped(void *addr, size_t len)
{
	unsigned char vec[256];
	size_t pages = len / page_size();
	long ps = page_size();
	size_t i;

	for (i = 0; i < pages; i++) {
		if (mincore((char *)addr + i * ps, ps, vec) == 0 ||
		    errno != ENOMEM)
			return false;
	}
	return true;
}

/* A byte pattern that differs per page, per offset and per @seed. */
static inline unsigned char pattern_byte(size_t off, unsigned int seed)
{
	size_t x = off * 2654435761u + seed * 40503u + (off >> 12);

	return (unsigned char)(x ^ (x >> 13) ^ (x >> 7));
}

static inline void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long check_pattern(const void *buf, size_t len, unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return (long)i;
	return -1;
}

/* Offset of the first byte that is not @c, or -1. */
static inline long check_fill(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}


#ifdef __KSELFTEST_HARNESS_H
/*
 * Asserting wrappers for test bodies (never for forked children): they use
 * the harness's _metadata, so a failed ioctl fails the test right there.
 */
static inline void __get_stats(struct __test_metadata *_metadata, int fd,
			       unsigned long cmd, struct mymem_stats *st)
{
	int ret = mymem_stats_ioctl(fd, cmd, st);

	if (ret)
		TH_LOG("%s stats ioctl failed: %s",
		       cmd == MYMEM_IOC_PROC_STATS ? "PROC" : "GLOBAL",
		       strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ((__u32)MYMEM_STATS_SIZE_VER0, st->size);
}
#define get_proc_stats(fd, st) \
	__get_stats(_metadata, fd, MYMEM_IOC_PROC_STATS, st)
#define get_global_stats(fd, st) \
	__get_stats(_metadata, fd, MYMEM_IOC_GLOBAL_STATS, st)

static inline void __get_sysfs_stats(struct __test_metadata *_metadata,
				     struct mymem_stats *st)
{
	int ret = mymem_sysfs_stats(st);

	if (ret)
		TH_LOG("reading " MYMEM_SYSFS_DIR ": %s", strerror(-ret));
	ASSERT_EQ(0, ret);
}
#define get_sysfs_stats(st) __get_sysfs_stats(_metadata, st)

/* The change of one counter between two snapshots, signed. */
#define STAT_DELTA(before, after, field) \
	((int64_t)((after).field - (before).field))
#define EXPECT_DELTA(before, after, field, delta) \
	EXPECT_EQ((int64_t)(delta), STAT_DELTA(before, after, field)) \
		TH_LOG("%s changed by %lld, expected %lld", #field, \
		       (long long)STAT_DELTA(before, after, field), \
		       (long long)(delta))
#define ASSERT_DELTA(before, after, field, delta) \
	ASSERT_EQ((int64_t)(delta), STAT_DELTA(before, after, field)) \
		TH_LOG("%s changed by %lld, expected %lld", #field, \
		       (long long)STAT_DELTA(before, after, field), \
		       (long long)(delta))

/* The fixture opening: fail (never skip) with a clear reason. */
#define ASSERT_DEVICE_OPEN(fd) do { \
	if ((fd) < 0) \
		TH_LOG("cannot open %s: %s (is the mymem module loaded?)", \
		       mymem_device(), strerror(errno)); \
	ASSERT_LE(0, fd); \
} while (0)
#endif /* __KSELFTEST_HARNESS_H */

#endif /* MYMEM_SELFTEST_H */
