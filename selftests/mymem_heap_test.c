// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_heap_test.c - heap blocks from libmymem are first-class memory.
 *
 * Linked statically with libmymem and run with MYMEM_REQUIRE_DEVICE=1, so
 * every malloc() here (the harness's own included) is served from
 * /dev/mymem.  Each test takes a block the library returned and uses it
 * the way programs and developers use heap memory every day: system
 * calls, O_DIRECT on ext4, another process's reads and writes, ptrace, gdb
 * on the live process and on a core dump, vmsplice, fork, and the kernel's
 * accounting (RSS, memory cgroup).  Without the module's struct-page
 * mappings most of these fail with EFAULT or see zeroes.
 *
 * The blocks must be on device pages, not merely inside a /dev/mymem
 * mapping: the harness forks every test, so the heap a test inherits is
 * copy-on-write, and its first write there puts an anonymous page in the
 * device page's place.  Tests therefore use blocks over the mmap threshold
 * (a mapping made after the fork) or a freshly exec'd mymem_heap_target,
 * and check every page through pagemap (mymem_pagemap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mymem.h"
#include "mymem_pagemap.h"

#define MiB		(1024UL * 1024)
#define SECRET		"mymem-heap-string-original"
/* Over the mmap threshold (1 MiB, sliding to 4): a mapping of its own. */
#define OWN_MAPPING	(8 * MiB)

/* True if p lies in a mapping of /dev/mymem, per /proc/self/maps. */
static bool in_device_mapping(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi)
			found = strstr(line, "/dev/mymem") != NULL;
	}
	fclose(f);
	return found;
}

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
	char line[256];
	long kb = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return kb;
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

static bool check_fill(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 31 + seed))
			return false;
	return true;
}

/* Run a shell command quietly; its exit status, or -1. */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Run a command and capture up to n-1 bytes of its output. */
static int capture(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t got;

	if (!p)
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return pclose(p);
}

static const char *target_path(void)
{
	static char path[512];
	const char *dir = getenv("MYMEM_SELFTESTS_DIR");

	snprintf(path, sizeof(path), "%s/mymem_heap_target",
		 dir ? dir : "build/selftests");
	return path;
}

/*
 * mymem_heap_target, exec'd fresh: SECRET on its heap, on a device page no
 * fork has shared (it checks that itself and exits 3 if not).
 */
struct target {
	pid_t pid;
	char *addr;	/* SECRET, in the target */
	FILE *out;	/* its standard output */
	int in;		/* its standard input; closing it ends "hold" */
};

static int start_target(struct target *t, const char *mode)
{
	int to_t[2], from_t[2];
	unsigned long addr;
	int pid;

	if (pipe2(to_t, O_CLOEXEC) || pipe2(from_t, O_CLOEXEC))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		if (dup2(to_t[0], 0) < 0 || dup2(from_t[1], 1) < 0 ||
		    setenv("MYMEM_REQUIRE_DEVICE", "1", 1))
			_exit(126);
		execl(target_path(), "mymem_heap_target", mode, (char *)NULL);
		_exit(127);
	}
	close(to_t[0]);
	close(from_t[1]);
	t->in = to_t[1];
	t->out = fdopen(from_t[0], "r");
	if (!t->out || fscanf(t->out, "%lx %d", &addr, &pid) != 2 ||
	    pid != t->pid)
		return -1;
	t->addr = (char *)addr;
	return 0;
}

/*
 * Let the target go on (a "hold" target checks its string now) and wait
 * for it; the last word it printed goes to last.  Its wait status, or -1.
 */
static int finish_target(struct target *t, char *last, size_t n)
{
	char fmt[16];
	int st;

	close(t->in);
	snprintf(fmt, sizeof(fmt), "%%%zus", n - 1);
	if (fscanf(t->out, fmt, last) != 1)
		last[0] = '\0';
	fclose(t->out);
	if (waitpid(t->pid, &st, 0) != t->pid)
		return -1;
	return st;
}

static bool exited_zero(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Run the target in a mode that checks something itself; its status. */
static int run_target_check(const char *mode, char *out, size_t n)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "MYMEM_REQUIRE_DEVICE=1 %s %s",
		 target_path(), mode);
	return capture(cmd, out, n);
}

FIXTURE(heap) {
	int unused;
};

FIXTURE_SETUP(heap)
{
	struct mymem_heap_stats st;
	void *probe = malloc(1);

	ASSERT_NE(NULL, probe);
	ASSERT_EQ(0, mymem_heap_stats(&st));
	/* The whole point: these blocks come from the module. */
	ASSERT_EQ(MYMEM_SOURCE_DEVICE, st.page_source);
	ASSERT_TRUE(in_device_mapping(probe));
	free(probe);
}

FIXTURE_TEARDOWN(heap)
{
}

/* Every page of a small, a medium and a large block, in a fresh process. */
TEST_F(heap, small_medium_and_large_blocks_are_device_pages)
{
	char out[4096];
	int st = run_target_check("sizes", out, sizeof(out));

	EXPECT_TRUE(exited_zero(st)) TH_LOG("%s", out);
}

/* Blocks here are the test process's own: pages it mapped after the fork. */
TEST_F(heap, own_mapping_blocks_are_device_pages_until_written_after_fork)
{
	char *p = malloc(OWN_MAPPING);
	pid_t pid;
	int st;

	ASSERT_NE(NULL, p);
	memset(p, 1, OWN_MAPPING);
	ASSERT_EQ(0, pagemap_count_not_device(0, p, OWN_MAPPING));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p[0] = 2;	/* copy-on-write: an anonymous page now */
		_exit(pagemap_count_not_device(0, p, OWN_MAPPING) == 1 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(exited_zero(st));
	/* pagemap sees the difference: the check can fail. */
	EXPECT_EQ(0, pagemap_count_not_device(0, p, OWN_MAPPING));
	p[0] = 3;
	EXPECT_EQ(1, pagemap_count_not_device(0, p, OWN_MAPPING));
	free(p);
}

TEST_F(heap, read_and_write_syscalls_move_heap_bytes)
{
	size_t n = OWN_MAPPING;
	unsigned char *out = malloc(n), *in = malloc(n);
	char path[] = "/tmp/mymem-rw-XXXXXX";
	int fd = mkstemp(path);

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	ASSERT_LE(0, fd);
	unlink(path);
	fill(out, n, 7);
	memset(in, 0, n);
	ASSERT_EQ(0, pagemap_count_not_device(0, out, n));
	ASSERT_EQ(0, pagemap_count_not_device(0, in, n));
	ASSERT_EQ((ssize_t)n, write(fd, out, n));
	ASSERT_EQ((ssize_t)n, pread(fd, in, n, 0));
	EXPECT_TRUE(check_fill(in, n, 7));
	close(fd);
	free(out);
	free(in);
}

#define EXT4_IMG	"/tmp/mymem-ext4.img"
#define EXT4_MNT	"/tmp/mymem-ext4"

TEST_F_TIMEOUT(heap, o_direct_on_ext4_reads_and_writes_heap_buffers, 300)
{
	size_t n = 1 * MiB;
	void *wbuf = NULL, *rbuf = NULL;
	int fd;

	ASSERT_EQ(0, sh("modprobe -q loop; modprobe -q ext4; "
			"rm -f " EXT4_IMG " && truncate -s 64M " EXT4_IMG " && "
			"mkfs.ext4 -q -F " EXT4_IMG " && mkdir -p " EXT4_MNT " && "
			"mount -o loop " EXT4_IMG " " EXT4_MNT));
	ASSERT_EQ(0, posix_memalign(&wbuf, 4096, OWN_MAPPING));
	ASSERT_EQ(0, posix_memalign(&rbuf, 4096, OWN_MAPPING));
	fill(wbuf, n, 3);
	memset(rbuf, 0, n);
	ASSERT_EQ(0, pagemap_count_not_device(0, wbuf, n));
	ASSERT_EQ(0, pagemap_count_not_device(0, rbuf, n));

	fd = open(EXT4_MNT "/data", O_CREAT | O_RDWR | O_DIRECT, 0600);
	ASSERT_LE(0, fd) TH_LOG("O_DIRECT open: %s", strerror(errno));
	/* EFAULT here is what a PFN mapping would give. */
	EXPECT_EQ((ssize_t)n, pwrite(fd, wbuf, n, 0))
		TH_LOG("O_DIRECT write: %s", strerror(errno));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ((ssize_t)n, pread(fd, rbuf, n, 0))
		TH_LOG("O_DIRECT read: %s", strerror(errno));
	EXPECT_TRUE(check_fill(rbuf, n, 3));
	/* The device read landed in the device pages themselves. */
	EXPECT_EQ(0, pagemap_count_not_device(0, rbuf, n));
	close(fd);
	/* Read through the page cache too: the bytes really reached the disk. */
	fd = open(EXT4_MNT "/data", O_RDONLY);
	ASSERT_LE(0, fd);
	memset(rbuf, 0, n);
	EXPECT_EQ((ssize_t)n, pread(fd, rbuf, n, 0));
	EXPECT_TRUE(check_fill(rbuf, n, 3));
	close(fd);
	free(wbuf);
	free(rbuf);
	EXPECT_EQ(0, sh("umount " EXT4_MNT " && rm -f " EXT4_IMG));
}

TEST_F(heap, process_vm_readv_and_writev_reach_another_heap)
{
	static const char changed[] = "written-by-process_vm_writev";
	struct target t;
	char buf[sizeof(SECRET)] = { 0 }, last[64];
	struct iovec local = { buf, sizeof(SECRET) }, remote;

	ASSERT_EQ(0, start_target(&t, "hold"));
	ASSERT_EQ(0, pagemap_count_not_device(t.pid, t.addr, sizeof(SECRET)));
	remote.iov_base = t.addr;
	remote.iov_len = sizeof(SECRET);
	EXPECT_EQ((ssize_t)sizeof(SECRET),
		  process_vm_readv(t.pid, &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_readv: %s", strerror(errno));
	EXPECT_STREQ(SECRET, buf);

	local.iov_base = (void *)changed;
	local.iov_len = sizeof(changed);
	remote.iov_len = sizeof(changed);
	EXPECT_EQ((ssize_t)sizeof(changed),
		  process_vm_writev(t.pid, &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_writev: %s", strerror(errno));
	EXPECT_TRUE(exited_zero(finish_target(&t, last, sizeof(last))));
	EXPECT_STREQ(changed, last);
}

TEST_F(heap, proc_pid_mem_reads_and_writes_another_heap)
{
	static const char changed[] = "written-through-proc-pid-mem";
	struct target t;
	char path[64], buf[sizeof(SECRET)] = { 0 }, last[64];
	int fd;

	ASSERT_EQ(0, start_target(&t, "hold"));
	ASSERT_EQ(0, pagemap_count_not_device(t.pid, t.addr, sizeof(SECRET)));
	snprintf(path, sizeof(path), "/proc/%d/mem", t.pid);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(SECRET),
		  pread(fd, buf, sizeof(SECRET), (off_t)(uintptr_t)t.addr));
	EXPECT_STREQ(SECRET, buf);
	EXPECT_EQ((ssize_t)sizeof(changed),
		  pwrite(fd, changed, sizeof(changed), (off_t)(uintptr_t)t.addr));
	close(fd);
	EXPECT_TRUE(exited_zero(finish_target(&t, last, sizeof(last))));
	EXPECT_STREQ(changed, last);
}

TEST_F(heap, ptrace_peekdata_and_pokedata_on_a_heap_word)
{
	union { long word; char c[sizeof(long)]; } u;
	struct target t;
	char last[64];
	int st;

	ASSERT_EQ(0, start_target(&t, "hold"));
	ASSERT_EQ(0, pagemap_count_not_device(t.pid, t.addr, sizeof(SECRET)));
	ASSERT_EQ(0, ptrace(PTRACE_ATTACH, t.pid, NULL, NULL));
	ASSERT_EQ(t.pid, waitpid(t.pid, &st, 0));
	ASSERT_TRUE(WIFSTOPPED(st));

	errno = 0;
	u.word = ptrace(PTRACE_PEEKDATA, t.pid, t.addr, NULL);
	ASSERT_EQ(0, errno);
	EXPECT_EQ(0, memcmp(u.c, SECRET, sizeof(long)));
	/* Overwrite the first word and end the string right after it. */
	memcpy(u.c, "MYMEM-PO", sizeof(long));
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, t.pid, t.addr, (void *)u.word));
	u.word = 0;
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, t.pid, t.addr + sizeof(long),
			    (void *)u.word));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, t.pid, NULL, NULL));
	EXPECT_TRUE(exited_zero(finish_target(&t, last, sizeof(last))));
	EXPECT_STREQ("MYMEM-PO", last);
}

TEST_F_TIMEOUT(heap, gdb_prints_and_changes_a_heap_string_of_a_live_process, 400)
{
	char cmd[512], out[8192], last[256];
	unsigned long addr;
	struct target t;
	int st;

	ASSERT_EQ(0, start_target(&t, "wait"));
	ASSERT_EQ(0, pagemap_count_not_device(t.pid, t.addr, sizeof(SECRET)));
	addr = (unsigned long)t.addr;
	snprintf(cmd, sizeof(cmd),
		 "gdb -nx -batch -p %d -ex 'print (char *)0x%lx' "
		 "-ex 'set {char[15]}0x%lx = \"gdb-wrote-this\"' "
		 "-ex 'print (char *)0x%lx' 2>&1", t.pid, addr, addr, addr);
	st = capture(cmd, out, sizeof(out));
	EXPECT_EQ(0, st);
	EXPECT_NE(NULL, strstr(out, "\"" SECRET "\"")) TH_LOG("gdb said: %s", out);
	EXPECT_NE(NULL, strstr(out, "\"gdb-wrote-this\"")) TH_LOG("gdb said: %s", out);

	/* The target itself must now see the string gdb wrote. */
	st = finish_target(&t, last, sizeof(last));
	EXPECT_STREQ("gdb-wrote-this", last);
	EXPECT_TRUE(exited_zero(st));
}

TEST_F_TIMEOUT(heap, core_dump_contains_the_heap_and_gdb_reads_it, 400)
{
	char saved[256] = "", path[64], cmd[1024], out[8192], last[16];
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct target t;
	struct stat sb;
	int fd, st;
	char *core;
	bool found;

	fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, saved, sizeof(saved) - 1));
	close(fd);
	ASSERT_EQ(0, setrlimit(RLIMIT_CORE, &unlimited));
	ASSERT_EQ(0, sh("echo /tmp/mymem-core.%p > /proc/sys/kernel/core_pattern"));

	/* The target checked that its string is on a device page. */
	ASSERT_EQ(0, start_target(&t, "crash"));
	st = finish_target(&t, last, sizeof(last));
	EXPECT_TRUE(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);

	snprintf(path, sizeof(path), "/tmp/mymem-core.%d", t.pid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("no core file %s", path);
	ASSERT_EQ(0, fstat(fd, &sb));
	core = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, core);
	found = memmem(core, sb.st_size, SECRET, sizeof(SECRET)) != NULL;
	munmap(core, sb.st_size);
	close(fd);
	EXPECT_TRUE(found) TH_LOG("the heap string is not in the core file");

	snprintf(cmd, sizeof(cmd),
		 "gdb -nx -batch -ex 'print (char *)%p' %s %s 2>&1",
		 (void *)t.addr, target_path(), path);
	EXPECT_EQ(0, capture(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"" SECRET "\"")) TH_LOG("gdb said: %s", out);

	unlink(path);
	fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, write(fd, saved, strlen(saved)));
	close(fd);
}

/* A fresh process (the harness forks, so its parent's heap is inherited). */
TEST_F_TIMEOUT(heap, library_and_module_agree_on_pages_and_frees_return_them, 120)
{
	char out[4096];
	int st = run_target_check("stats", out, sizeof(out));

	EXPECT_TRUE(exited_zero(st)) TH_LOG("%s", out);
}

TEST_F_TIMEOUT(heap, a_commit_the_device_refuses_leaves_the_segment_usable, 120)
{
	char out[4096];
	int st = run_target_check("refused", out, sizeof(out));

	EXPECT_TRUE(exited_zero(st)) TH_LOG("%s", out);
}

TEST_F(heap, vmsplice_of_a_heap_buffer_into_a_pipe)
{
	size_t n = 16 * 1024;
	unsigned char *buf = malloc(OWN_MAPPING), *back = malloc(n);
	struct iovec iov;
	int p[2];
	ssize_t got = 0, r;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, pipe(p));
	fill(buf, n, 11);
	ASSERT_EQ(0, pagemap_count_not_device(0, buf, n));
	iov.iov_base = buf;
	iov.iov_len = n;
	EXPECT_EQ((ssize_t)n, vmsplice(p[1], &iov, 1, 0))
		TH_LOG("vmsplice: %s", strerror(errno));
	while (got < (ssize_t)n && (r = read(p[0], back + got, n - got)) > 0)
		got += r;
	EXPECT_EQ((ssize_t)n, got);
	EXPECT_TRUE(check_fill(back, n, 11));
	close(p[0]);
	close(p[1]);
	free(buf);
	free(back);
}

/*
 * Parent and child each write half of a heap block after fork(); each must
 * keep seeing the pre-fork bytes in the other half.  The child forks a
 * grandchild that checks the child's state at its own fork.
 */
TEST_F(heap, fork_gives_a_snapshot_and_no_sharing_nested_too)
{
	size_t n = OWN_MAPPING, half = n / 2, ps = (size_t)getpagesize();
	unsigned char *p = malloc(n);
	int c2p[2], p2c[2], st;
	char b;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));
	memset(p, 'A', n);
	ASSERT_EQ(0, pagemap_count_not_device(0, p, n));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pid_t g;
		int gst;

		memset(p, 'C', half);			/* child's half */
		if (write(c2p[1], "w", 1) != 1 || read(p2c[0], &b, 1) != 1)
			_exit(20);
		for (size_t i = half; i < n; i++)	/* parent wrote 'P' */
			if (p[i] != 'A')
				_exit(21);
		g = fork();
		if (g == 0) {
			memset(p + half, 'G', half);
			for (size_t i = 0; i < half; i++)
				if (p[i] != 'C')
					_exit(22);
			_exit(0);
		}
		if (g < 0 || waitpid(g, &gst, 0) != g || !WIFEXITED(gst) ||
		    WEXITSTATUS(gst))
			_exit(23);
		for (size_t i = half; i < n; i++)	/* grandchild wrote 'G' */
			if (p[i] != 'A')
				_exit(24);
		_exit(0);
	}
	ASSERT_EQ(1, read(c2p[0], &b, 1));
	memset(p + half, 'P', half);
	ASSERT_EQ(1, write(p2c[1], "go", 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	for (size_t i = 0; i < half; i++)
		if (p[i] != 'A') {
			EXPECT_EQ('A', p[i]) TH_LOG("byte %zu changed by the child", i);
			break;
		}
	/* Copy-on-write copied what each side wrote, and only that. */
	EXPECT_EQ(0, pagemap_count_not_device(0, p, half - ps));
	EXPECT_EQ((long)(((uintptr_t)p + n - 1) / ps - ((uintptr_t)p + half) / ps + 1),
		  pagemap_count_not_device(0, p + half, half));
	free(p);
}

static volatile int churn_stop;

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!churn_stop) {
		size_t sz = 16 + rand_r(&seed) % 4096;
		char *q = malloc(sz);

		if (q) {
			memset(q, 1, sz);
			free(q);
		}
	}
	return NULL;
}

/* fork() while other threads allocate: no lock is left held in the child. */
TEST_F_TIMEOUT(heap, fork_from_a_multithreaded_process, 120)
{
	pthread_t t[3];
	char *block = malloc(4096);
	int i, failures = 0;

	ASSERT_NE(NULL, block);
	strcpy(block, SECRET);
	churn_stop = 0;
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn,
					    (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < 20; i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			/* Allocate in the child: a lock left held would hang. */
			char *q = malloc(1000), *r = malloc(100000);

			alarm(20);
			_exit(q && r && !strcmp(block, SECRET) &&
			      in_device_mapping(q) ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			failures++;
	}
	churn_stop = 1;
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, failures);
	free(block);
}

TEST_F(heap, rss_counts_device_pages)
{
	size_t n = 32 * MiB;
	long rss0 = status_kb("VmRSS"), file0 = status_kb("RssFile");
	char *volatile p = malloc(n);
	long rss1 = status_kb("VmRSS"), file1 = status_kb("RssFile");

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pagemap_count_not_device(0, p, n));
	ASSERT_LE(0, rss0);
	/* Device pages are mapped at mmap time: resident before any touch. */
	EXPECT_LE(rss0 + (long)(n / 1024) - 1024, rss1)
		TH_LOG("VmRSS %ld -> %ld kB for a %zu kB block", rss0, rss1, n / 1024);
	EXPECT_LE(file0 + (long)(n / 1024) - 1024, file1);
	free(p);
	EXPECT_GT(rss1 - (long)(n / 1024) + 1024, status_kb("VmRSS"));
}

#define CG_ROOT	"/sys/fs/cgroup"

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return r > 0 ? strtol(buf, NULL, 10) : -1;
}

TEST_F_TIMEOUT(heap, memory_cgroup_is_charged_for_heap_pages, 120)
{
	char dir[128], file[192], cmd[256];
	size_t n = 32 * MiB;
	long before, after;
	int c2p[2], p2c[2], st;
	pid_t pid;
	char b;

	ASSERT_EQ(0, sh("[ -e " CG_ROOT "/cgroup.controllers ] || "
			"mount -t cgroup2 none " CG_ROOT));
	ASSERT_EQ(0, sh("echo +memory > " CG_ROOT "/cgroup.subtree_control"));
	snprintf(dir, sizeof(dir), CG_ROOT "/mymem-heap-%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p;

		/* Wait until the parent moved us into the cgroup. */
		if (read(p2c[0], &b, 1) != 1)
			_exit(30);
		p = malloc(n);
		if (!p || pagemap_count_not_device(0, p, n))
			_exit(31);
		if (write(c2p[1], "a", 1) != 1 || read(p2c[0], &b, 1) != 1)
			_exit(32);
		free(p);
		_exit(0);
	}
	snprintf(cmd, sizeof(cmd), "echo %d > %s/cgroup.procs", pid, dir);
	EXPECT_EQ(0, sh(cmd));
	snprintf(file, sizeof(file), "%s/memory.current", dir);
	before = read_long(file);
	ASSERT_EQ(1, write(p2c[1], "m", 1));
	ASSERT_EQ(1, read(c2p[0], &b, 1));
	after = read_long(file);
	EXPECT_LE(before + (long)n - (long)MiB, after)
		TH_LOG("memory.current %ld -> %ld for a %zu byte block",
		       before, after, n);
	ASSERT_EQ(1, write(p2c[1], "f", 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ(0, rmdir(dir));
}

TEST_HARNESS_MAIN
