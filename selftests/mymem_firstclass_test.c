// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_firstclass_test.c - /dev/mymem pages are first-class memory.
 *
 * Whatever works on ordinary anonymous memory must work on a mapping of the
 * device: system calls copying to and from it, direct I/O into and out of
 * it, other processes reading and writing it (process_vm_readv/writev,
 * /proc/PID/mem, ptrace), vmsplice, the process's RSS, the memory cgroup's
 * accounting and limit, and core dumps.  Most of these go through
 * get_user_pages() or the VMA's ->access, which is exactly what a
 * device mapping can get wrong (VM_IO/VM_PFNMAP mappings refuse them).
 * The library built on the device will get the same tests.
 *
 * Needs root (loop devices, cgroups, core_pattern), as in the test VM.
 */
#include <linux/loop.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/vfs.h>

#include "kselftest_harness.h"
#include "mymem_pagemap.h"
#include "mymem_selftest.h"

#define WAIT_MS	30000

static char *map_dev(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

static char *map_anon(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Run a command (PATH with the sbin directories), output to stderr. */
static int run_cmd(char *const argv[], int timeout_ms)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(2, 1);
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	return child_exit_code(pid, timeout_ms);
}

FIXTURE(fc)
{
	int fd;
	long ps;
	int to_child[2];
	int to_parent[2];
};

FIXTURE_VARIANT(fc)
{
	int flags;
};

FIXTURE_VARIANT_ADD(fc, private) { .flags = MAP_PRIVATE };
FIXTURE_VARIANT_ADD(fc, shared) { .flags = MAP_SHARED };

FIXTURE_SETUP(fc)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0, sync_pipe(self->to_child));
	ASSERT_EQ(0, sync_pipe(self->to_parent));
}

FIXTURE_TEARDOWN(fc)
{
	close(self->fd);
	close(self->to_child[0]);
	close(self->to_child[1]);
	close(self->to_parent[0]);
	close(self->to_parent[1]);
}

TEST_F(fc, write_and_read_syscalls_through_a_pipe)
{
	size_t len = 4 * self->ps;
	char *src = map_dev(self->fd, len, variant->flags);
	char *dst = map_dev(self->fd, len, variant->flags);
	int p[2];

	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(0, pipe(p));
	fill_pattern(src, len, 11);
	ASSERT_EQ((ssize_t)len, write(p[1], src, len));
	ASSERT_EQ(0, read_full(p[0], dst, len, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(dst, len, 11));
	close(p[0]);
	close(p[1]);
}

TEST_F(fc, pwrite_and_pread_of_a_file_through_the_mapping)
{
	size_t len = 8 * self->ps;
	char *src = map_dev(self->fd, len, variant->flags);
	char *dst = map_dev(self->fd, len, variant->flags);
	int f;

	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, dst);
	f = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	ASSERT_LE(0, f) TH_LOG("O_TMPFILE in /tmp: %s", strerror(errno));
	fill_pattern(src, len, 12);
	ASSERT_EQ((ssize_t)len, pwrite(f, src, len, 0));
	ASSERT_EQ((ssize_t)len, pread(f, dst, len, 0));
	EXPECT_EQ(-1, check_pattern(dst, len, 12));
	close(f);
}

TEST_F(fc, vmsplice_of_the_mapping_into_a_pipe)
{
	size_t len = 4 * self->ps;
	char *src = map_dev(self->fd, len, variant->flags);
	char *dst = map_anon(len);
	struct iovec iov;
	int p[2];

	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(0, pipe(p));
	fill_pattern(src, len, 13);
	iov.iov_base = src;
	iov.iov_len = len;
	EXPECT_EQ((ssize_t)len, vmsplice(p[1], &iov, 1, 0)) {
		TH_LOG("vmsplice: %s", strerror(errno));
	}
	ASSERT_EQ(0, read_full(p[0], dst, len, WAIT_MS));
	EXPECT_EQ(-1, check_pattern(dst, len, 13));
	close(p[0]);
	close(p[1]);
}

/*
 * Another process's mapping: the child maps and fills its own mapping,
 * sends its address, and waits; the parent reaches into it.
 */
static pid_t start_target(FIXTURE_DATA(fc) *self, int flags, size_t len,
			  unsigned int seed, unsigned int expect_seed,
			  bool stop_for_ptrace)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0)
		return pid;
	{
		char *m = map_dev(self->fd, len, flags);
		uintptr_t addr = (uintptr_t)m;

		CHILD_CHECK(m != MAP_FAILED);
		fill_pattern(m, len, seed);
		/* What the parent reaches into are device pages. */
		CHILD_CHECK(pagemap_count_not_device(0, m, len) == 0);
		if (stop_for_ptrace)
			CHILD_CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
		CHILD_CHECK(write_full(self->to_parent[1], &addr,
				       sizeof(addr)) == 0);
		if (stop_for_ptrace)
			raise(SIGSTOP);
		CHILD_CHECK(pipe_get(self->to_child[0], WAIT_MS) == 'e');
		CHILD_CHECK(check_pattern(m, len, expect_seed) == -1);
		_exit(0);
	}
}

static char *target_addr(FIXTURE_DATA(fc) *self)
{
	uintptr_t addr = 0;

	if (read_full(self->to_parent[0], &addr, sizeof(addr), WAIT_MS))
		return NULL;
	return (char *)addr;
}

TEST_F(fc, process_vm_readv_from_another_process)
{
	size_t len = 8 * self->ps;
	char *dst = map_dev(self->fd, len, variant->flags);
	struct iovec local, remote;
	char *addr;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, dst);
	pid = start_target(self, variant->flags, len, 14, 14, false);
	ASSERT_LE(0, pid);
	addr = target_addr(self);
	ASSERT_NE(NULL, addr);
	local.iov_base = dst;		/* into a mymem mapping of ours, too */
	local.iov_len = len;
	remote.iov_base = addr;
	remote.iov_len = len;
	EXPECT_EQ((ssize_t)len, process_vm_readv(pid, &local, 1, &remote, 1, 0)) {
		TH_LOG("process_vm_readv: %s", strerror(errno));
	}
	EXPECT_EQ(-1, check_pattern(dst, len, 14));
	ASSERT_EQ(0, pipe_put(self->to_child[1], 'e'));
	EXPECT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(fc, process_vm_writev_into_another_process)
{
	size_t len = 8 * self->ps;
	char *src = map_anon(len);
	struct iovec local, remote;
	char *addr;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, src);
	fill_pattern(src, len, 16);
	pid = start_target(self, variant->flags, len, 15, 16, false);
	ASSERT_LE(0, pid);
	addr = target_addr(self);
	ASSERT_NE(NULL, addr);
	local.iov_base = src;
	local.iov_len = len;
	remote.iov_base = addr;
	remote.iov_len = len;
	EXPECT_EQ((ssize_t)len, process_vm_writev(pid, &local, 1, &remote, 1, 0)) {
		TH_LOG("process_vm_writev: %s", strerror(errno));
	}
	ASSERT_EQ(0, pipe_put(self->to_child[1], 'e'));
	/* The child checks that it now holds our pattern. */
	EXPECT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(fc, proc_pid_mem_reads_another_process)
{
	size_t len = 8 * self->ps;
	char *dst = map_anon(len);
	char path[64];
	char *addr;
	pid_t pid;
	int mem;

	ASSERT_NE(MAP_FAILED, dst);
	pid = start_target(self, variant->flags, len, 17, 17, false);
	ASSERT_LE(0, pid);
	addr = target_addr(self);
	ASSERT_NE(NULL, addr);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY);
	ASSERT_LE(0, mem);
	EXPECT_EQ((ssize_t)len, pread(mem, dst, len, (off_t)(uintptr_t)addr)) {
		TH_LOG("pread %s: %s", path, strerror(errno));
	}
	EXPECT_EQ(-1, check_pattern(dst, len, 17));
	/* A piece from the middle, crossing a page boundary. */
	memset(dst, 0, len);
	EXPECT_EQ(1000, pread(mem, dst, 1000,
			      (off_t)(uintptr_t)addr + 2 * self->ps - 300));
	for (int i = 0; i < 1000; i++)
		if (dst[i] != (char)pattern_byte(2 * self->ps - 300 + i, 17)) {
			EXPECT_EQ(-1, i) TH_LOG("byte %d differs", i);
			break;
		}
	close(mem);
	ASSERT_EQ(0, pipe_put(self->to_child[1], 'e'));
	EXPECT_EQ(0, child_exit_code(pid, WAIT_MS));
}

static int wait_stopped(pid_t pid, int timeout_ms)
{
	int status, waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);

		if (r == pid)
			return WIFSTOPPED(status) ? 0 : -1;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

TEST_F(fc, ptrace_peekdata_and_pokedata)
{
	size_t len = 4 * self->ps;
	unsigned char want[sizeof(long)];
	long word, poke;
	char *addr;
	size_t off, i;
	pid_t pid;

	/* The child ends up expecting seed 18 everywhere: we poke seed-18 bytes. */
	pid = start_target(self, variant->flags, len, 18, 18, true);
	ASSERT_LE(0, pid);
	addr = target_addr(self);
	ASSERT_NE(NULL, addr);
	ASSERT_EQ(0, wait_stopped(pid, WAIT_MS));

	for (off = 0; off < len; off += self->ps / 2 + 8) {
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, pid, addr + off, NULL);
		EXPECT_EQ(0, errno) TH_LOG("PEEKDATA: %s", strerror(errno));
		for (i = 0; i < sizeof(long); i++)
			want[i] = pattern_byte(off + i, 18);
		EXPECT_EQ(0, memcmp(&word, want, sizeof(long))) {
			TH_LOG("PEEKDATA at offset %zu: %#lx", off, word);
		}
	}
	/*
	 * Poke a word, read it back, and poke the original back so the
	 * child's own check (seed 18) proves POKEDATA reached its memory
	 * and nothing else changed.
	 */
	off = 2 * self->ps + 16;
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, addr + off, NULL);
	ASSERT_EQ(0, errno);
	poke = ~word;
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, addr + off, (void *)poke)) {
		TH_LOG("POKEDATA: %s", strerror(errno));
	}
	errno = 0;
	EXPECT_EQ(poke, ptrace(PTRACE_PEEKDATA, pid, addr + off, NULL));
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, addr + off, (void *)word));
	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	ASSERT_EQ(0, pipe_put(self->to_child[1], 'e'));
	EXPECT_EQ(0, child_exit_code(pid, WAIT_MS));
}

/*
 * VmRSS and RssFile of /proc/self/status, in kB.
 *
 * Kernels before 6.2 cache a task's own RSS changes in the task and fold
 * them into the mm's counters (which /proc shows) only every 64 or so page
 * faults (SPLIT_RSS_COUNTING).  So fault in a few hundred fresh anonymous
 * pages first: that flushes whatever is cached, including what mmap() of
 * the device added.  It moves RssAnon, never RssFile.
 */
static int rss_kb(long *vmrss, long *rssfile)
{
	enum { FLUSH_PAGES = 300 };
	long ps = page_size();
	char buf[4096], *s, *anon;
	int i;

	anon = mmap(NULL, FLUSH_PAGES * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return -1;
	for (i = 0; i < FLUSH_PAGES; i++)
		((volatile char *)anon)[i * ps] = 1;
	munmap(anon, FLUSH_PAGES * ps);
	if (read_text_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, "VmRSS:");
	if (!s || sscanf(s, "VmRSS: %ld", vmrss) != 1)
		return -1;
	s = strstr(buf, "RssFile:");
	if (!s || sscanf(s, "RssFile: %ld", rssfile) != 1)
		return -1;
	return 0;
}

TEST_F(fc, rss_rises_and_falls_by_the_mapping_size)
{
	enum { N = 2048 };
	long size_kb = N * self->ps / 1024;
	long rss0, file0, rss1, file1, rss2, file2;
	char *p;

	ASSERT_EQ(0, rss_kb(&rss0, &file0));
	p = map_dev(self->fd, N * self->ps, variant->flags);
	ASSERT_NE(MAP_FAILED, p);
	/* Pages are mapped at mmap(): no touching needed to count. */
	ASSERT_EQ(0, rss_kb(&rss1, &file1));
	ASSERT_EQ(0, munmap(p, N * self->ps));
	ASSERT_EQ(0, rss_kb(&rss2, &file2));
	TH_LOG("%ld kB mapping: VmRSS %ld -> %ld -> %ld kB, "
	       "RssFile %ld -> %ld -> %ld kB", size_kb, rss0, rss1, rss2,
	       file0, file1, file2);
	/* Within 10%: per-cpu counter batches and the flushing above. */
	EXPECT_GE(rss1 - rss0, size_kb * 9 / 10);
	EXPECT_LE(rss1 - rss0, size_kb * 11 / 10);
	EXPECT_GE(file1 - file0, size_kb * 9 / 10);
	EXPECT_LE(file1 - file0, size_kb * 11 / 10);
	EXPECT_GE(rss1 - rss2, size_kb * 9 / 10);
	EXPECT_GE(file1 - file2, size_kb * 9 / 10);
}

/* ---- direct I/O on ext4 on a loop device ---- */

FIXTURE(odirect)
{
	int fd;
	long ps;
	char dir[64], img[96], mnt[96], loopdev[32];
	int loopfd;
	bool mounted;
};

FIXTURE_VARIANT(odirect)
{
	int flags;
};

FIXTURE_VARIANT_ADD(odirect, private) { .flags = MAP_PRIVATE };
FIXTURE_VARIANT_ADD(odirect, shared) { .flags = MAP_SHARED };

FIXTURE_SETUP(odirect)
{
	char *modprobe_loop[] = { "modprobe", "loop", NULL };
	char *modprobe_ext4[] = { "modprobe", "ext4", NULL };
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", self->img, NULL };
	int ctl, img, n, tries;

	self->loopfd = -1;
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0U, geteuid()) TH_LOG("loop devices and mount need root");

	snprintf(self->dir, sizeof(self->dir), "/tmp/mymem-odirect.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->img, sizeof(self->img), "%s/ext4.img", self->dir);
	snprintf(self->mnt, sizeof(self->mnt), "%s/mnt", self->dir);
	ASSERT_EQ(0, mkdir(self->mnt, 0700));
	img = open(self->img, O_CREAT | O_RDWR, 0600);
	ASSERT_LE(0, img);
	ASSERT_EQ(0, ftruncate(img, 32 << 20));
	ASSERT_EQ(0, run_cmd(mkfs, 120000)) TH_LOG("mkfs.ext4 failed");

	run_cmd(modprobe_loop, 60000);
	run_cmd(modprobe_ext4, 60000);
	ctl = open("/dev/loop-control", O_RDWR);
	ASSERT_LE(0, ctl) TH_LOG("/dev/loop-control: %s", strerror(errno));
	for (tries = 0; tries < 10; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		ASSERT_LE(0, n);
		snprintf(self->loopdev, sizeof(self->loopdev), "/dev/loop%d", n);
		for (int w = 0; w < 200 && self->loopfd < 0; w++) {
			self->loopfd = open(self->loopdev, O_RDWR);
			if (self->loopfd < 0)
				usleep(10000);
		}
		ASSERT_LE(0, self->loopfd);
		if (ioctl(self->loopfd, LOOP_SET_FD, img) == 0)
			break;
		ASSERT_EQ(EBUSY, errno);	/* taken meanwhile: next one */
		close(self->loopfd);
		self->loopfd = -1;
	}
	close(ctl);
	close(img);
	ASSERT_LE(0, self->loopfd);
	ASSERT_EQ(0, mount(self->loopdev, self->mnt, "ext4", 0, NULL)) {
		TH_LOG("mount %s: %s", self->loopdev, strerror(errno));
	}
	self->mounted = true;
}

FIXTURE_TEARDOWN(odirect)
{
	if (self->mounted)
		umount2(self->mnt, 0);
	if (self->loopfd >= 0) {
		ioctl(self->loopfd, LOOP_CLR_FD, 0);
		close(self->loopfd);
	}
	unlink(self->img);
	rmdir(self->mnt);
	rmdir(self->dir);
	close(self->fd);
}

static int open_direct(FIXTURE_DATA(odirect) *self, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", self->mnt, name);
	return open(path, O_CREAT | O_RDWR | O_DIRECT, 0600);
}

TEST_F_TIMEOUT(odirect, write_from_the_mapping, 180)
{
	size_t len = 16 * self->ps;
	char *src = map_dev(self->fd, len, variant->flags);
	char *check = map_anon(len);
	int f;

	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, check);
	f = open_direct(self, "w");
	ASSERT_LE(0, f) TH_LOG("O_DIRECT open: %s", strerror(errno));
	fill_pattern(src, len, 21);
	EXPECT_EQ((ssize_t)len, pwrite(f, src, len, 0)) {
		TH_LOG("O_DIRECT pwrite from the mapping: %s", strerror(errno));
	}
	/* Part of a mapping, at a page offset inside it. */
	EXPECT_EQ((ssize_t)(4 * self->ps),
		  pwrite(f, src + 3 * self->ps, 4 * self->ps, len));
	ASSERT_EQ((ssize_t)len, pread(f, check, len, 0));
	EXPECT_EQ(-1, check_pattern(check, len, 21));
	ASSERT_EQ((ssize_t)(4 * self->ps), pread(f, check, 4 * self->ps, len));
	EXPECT_EQ(0, memcmp(check, src + 3 * self->ps, 4 * self->ps));
	close(f);
}

TEST_F_TIMEOUT(odirect, read_into_the_mapping, 180)
{
	size_t len = 16 * self->ps;
	char *dst = map_dev(self->fd, len, variant->flags);
	char *src = map_anon(len);
	int f;

	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_NE(MAP_FAILED, src);
	f = open_direct(self, "r");
	ASSERT_LE(0, f) TH_LOG("O_DIRECT open: %s", strerror(errno));
	fill_pattern(src, len, 22);
	ASSERT_EQ((ssize_t)len, pwrite(f, src, len, 0));
	ASSERT_EQ(0, fsync(f));
	EXPECT_EQ((ssize_t)len, pread(f, dst, len, 0)) {
		TH_LOG("O_DIRECT pread into the mapping: %s", strerror(errno));
	}
	EXPECT_EQ(-1, check_pattern(dst, len, 22));
	memset(dst, 0, len);
	EXPECT_EQ((ssize_t)(2 * self->ps),
		  pread(f, dst + 5 * self->ps, 2 * self->ps, 0));
	EXPECT_EQ(0, memcmp(dst + 5 * self->ps, src, 2 * self->ps));
	close(f);
}

/* ---- memory cgroup (v2) ---- */

#define CGROOT	"/sys/fs/cgroup"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

FIXTURE(memcg)
{
	int fd;
	long ps;
	char cg[128];
	bool mounted, created;
	int to_parent[2];
};

FIXTURE_SETUP(memcg)
{
	struct statfs sfs;
	char buf[256];

	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0, sync_pipe(self->to_parent));
	ASSERT_EQ(0U, geteuid()) TH_LOG("cgroups need root");
	if (statfs(CGROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		ASSERT_EQ(0, mount("none", CGROOT, "cgroup2", 0, NULL)) {
			TH_LOG("mount cgroup2 on " CGROOT ": %s",
			       strerror(errno));
		}
		self->mounted = true;
	}
	ASSERT_LT(0, read_text_file(CGROOT "/cgroup.controllers", buf,
				    sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "memory")) TH_LOG("no memory controller");
	/* Already enabled is fine too. */
	write_str_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(self->cg, sizeof(self->cg), CGROOT "/mymem-selftest-%d",
		 (int)getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	self->created = true;
}

FIXTURE_TEARDOWN(memcg)
{
	int i;

	/* The child has been reaped; the cgroup empties at once or soon. */
	for (i = 0; self->created && i < 200; i++) {
		if (rmdir(self->cg) == 0 || errno != EBUSY)
			break;
		usleep(10000);
	}
	if (self->mounted)
		umount2(CGROOT, MNT_DETACH);
	close(self->fd);
	close(self->to_parent[0]);
	close(self->to_parent[1]);
}

static int cg_read(const char *cg, const char *file, long long *val)
{
	char path[192];
	uint64_t v;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	ret = read_u64_file(path, &v);
	*val = (long long)v;
	return ret;
}

static int cg_event(const char *cg, const char *name, long long *val)
{
	char path[192], buf[1024], *s;

	snprintf(path, sizeof(path), "%s/memory.events", cg);
	if (read_text_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, name);
	if (!s || sscanf(s + strlen(name), " %lld", val) != 1)
		return -1;
	return 0;
}

static int cg_enter(const char *cg)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	return write_str_file(path, "0");
}

TEST_F_TIMEOUT(memcg, memory_current_rises_and_falls_by_the_mapping, 120)
{
	enum { N = 2048 };	/* 8 MiB: well above the per-cpu charge batches */
	long long size = (long long)N * self->ps, deltas[2];
	pid_t pid;

	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long long c0, c1, c2;
		char *p;

		CHILD_CHECK(cg_enter(self->cg) == 0);
		CHILD_CHECK(cg_read(self->cg, "memory.current", &c0) == 0);
		p = map_dev(self->fd, N * self->ps, MAP_PRIVATE);
		CHILD_CHECK(p != MAP_FAILED);
		CHILD_CHECK(cg_read(self->cg, "memory.current", &c1) == 0);
		CHILD_CHECK(munmap(p, N * self->ps) == 0);
		CHILD_CHECK(cg_read(self->cg, "memory.current", &c2) == 0);
		deltas[0] = c1 - c0;
		deltas[1] = c1 - c2;
		CHILD_CHECK(write_full(self->to_parent[1], deltas,
				       sizeof(deltas)) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	ASSERT_EQ(0, read_full(self->to_parent[0], deltas, sizeof(deltas),
			       WAIT_MS));
	TH_LOG("memory.current +%lld at mmap, -%lld at munmap, mapping %lld",
	       deltas[0], deltas[1], size);
	EXPECT_GE(deltas[0], size * 9 / 10);
	EXPECT_LE(deltas[0], size * 3 / 2);
	EXPECT_GE(deltas[1], size * 9 / 10);
}

TEST_F_TIMEOUT(memcg, mmap_over_memory_max_fails_enomem_without_oom_kill, 120)
{
	long long ooms = -1, oom_kills = -1;
	pid_t pid;

	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char max[32], *p;
		long long c0;

		CHILD_CHECK(cg_enter(self->cg) == 0);
		CHILD_CHECK(cg_read(self->cg, "memory.current", &c0) == 0);
		/* Room for 4 MiB more than the child holds now. */
		snprintf(max, sizeof(max), "%lld", c0 + (4LL << 20));
		{
			char path[192];

			snprintf(path, sizeof(path), "%s/memory.max", self->cg);
			CHILD_CHECK(write_str_file(path, max) == 0);
		}
		p = map_dev(self->fd, 16 << 20, MAP_PRIVATE);
		CHILD_CHECK(p == MAP_FAILED);
		CHILD_CHECK(errno == ENOMEM);
		/* What fits still works. */
		p = map_dev(self->fd, 1 << 20, MAP_PRIVATE);
		CHILD_CHECK(p != MAP_FAILED);
		memset(p, 1, 1 << 20);
		CHILD_CHECK(munmap(p, 1 << 20) == 0);
		_exit(0);
	}
	/* Killed by SIGKILL would be the OOM killer: code -9. */
	EXPECT_EQ(0, child_exit_code(pid, 90000));
	ASSERT_EQ(0, cg_event(self->cg, "oom_kill", &oom_kills));
	EXPECT_EQ(0, oom_kills);
	if (cg_event(self->cg, "oom ", &ooms) == 0)
		TH_LOG("memory.events: oom %lld, oom_kill %lld", ooms, oom_kills);
}

/* ---- core dumps ---- */

FIXTURE(core)
{
	int fd;
	long ps;
	char saved_pattern[512];
	char prefix[64];
	bool saved;
};

FIXTURE_VARIANT(core)
{
	const char *filter;	/* /proc/self/coredump_filter for the child */
};

/* 0x33: the kernel's default.  0x3f adds file-backed private and shared. */
FIXTURE_VARIANT_ADD(core, default_filter) { .filter = "0x33" };
FIXTURE_VARIANT_ADD(core, file_mappings_filter) { .filter = "0x3f" };

FIXTURE_SETUP(core)
{
	char pattern[96];

	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0U, geteuid()) TH_LOG("core_pattern needs root");
	ASSERT_LT(0, read_text_file("/proc/sys/kernel/core_pattern",
				    self->saved_pattern,
				    sizeof(self->saved_pattern)));
	self->saved = true;
	snprintf(self->prefix, sizeof(self->prefix), "/tmp/mymem-core.%d",
		 (int)getpid());
	snprintf(pattern, sizeof(pattern), "%s.%%p", self->prefix);
	ASSERT_EQ(0, write_str_file("/proc/sys/kernel/core_pattern", pattern));
}

FIXTURE_TEARDOWN(core)
{
	if (self->saved)
		write_str_file("/proc/sys/kernel/core_pattern",
			       self->saved_pattern);
	close(self->fd);
}

/* Does the file hold @len bytes of pattern @seed from pattern offset @off? */
static bool file_has_pattern(const char *path, size_t off, size_t len,
			     unsigned int seed)
{
	unsigned char *needle = malloc(len), *buf;
	bool found = false;
	struct stat st;
	int f;

	if (!needle)
		return false;
	for (size_t i = 0; i < len; i++)
		needle[i] = pattern_byte(off + i, seed);
	f = open(path, O_RDONLY);
	if (f < 0 || fstat(f, &st) || st.st_size > (1LL << 30)) {
		free(needle);
		return false;
	}
	buf = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, f, 0);
	if (buf != MAP_FAILED) {
		found = memmem(buf, st.st_size, needle, len) != NULL;
		munmap(buf, st.st_size);
	}
	close(f);
	free(needle);
	return found;
}

TEST_F_TIMEOUT(core, core_dump_holds_the_mappings_contents, 120)
{
	size_t len = 8 * self->ps;
	unsigned int seed_priv = 0x1000 + (getpid() & 0xfff);
	unsigned int seed_shared = seed_priv + 1;
	char core[96];
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		char *a, *b;

		CHILD_CHECK(setrlimit(RLIMIT_CORE, &rl) == 0);
		CHILD_CHECK(write_str_file("/proc/self/coredump_filter",
					   variant->filter) == 0);
		a = map_dev(self->fd, len, MAP_PRIVATE);
		b = map_dev(self->fd, len, MAP_SHARED);
		CHILD_CHECK(a != MAP_FAILED && b != MAP_FAILED);
		/* Computed straight into the mappings: no other copy exists. */
		fill_pattern(a, len, seed_priv);
		fill_pattern(b, len, seed_shared);
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	ASSERT_EQ(0, wait_child(pid, 60000, &status));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_TRUE(WCOREDUMP(status)) TH_LOG("no core dump was written");
	snprintf(core, sizeof(core), "%s.%d", self->prefix, (int)pid);
	EXPECT_TRUE(file_has_pattern(core, 3 * self->ps + 100, 256, seed_priv)) {
		TH_LOG("%s lacks the MAP_PRIVATE mapping's contents (filter %s)",
		       core, variant->filter);
	}
	EXPECT_TRUE(file_has_pattern(core, 5 * self->ps + 200, 256,
				     seed_shared)) {
		TH_LOG("%s lacks the MAP_SHARED mapping's contents (filter %s)",
		       core, variant->filter);
	}
	unlink(core);
}

TEST_HARNESS_MAIN
