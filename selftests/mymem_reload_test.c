// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_reload_test.c - unloading and reloading the mymem module.
 *
 * The module must stay loaded while anything can still reach it: an open
 * file, or a mapping that outlives its file (in this process or in a forked
 * child).  Once the last user is gone it unloads, and the same .ko loads
 * again - with its parameters, which then show in sysfs and are enforced.
 *
 * Unloading uses delete_module(2) with O_NONBLOCK, as rmmod does (a busy
 * module answers EWOULDBLOCK, which rmmod prints as "in use"); loading
 * uses init_module(2) on the .ko, or the insmod tool.  The .ko is
 * $MYMEM_KO, else build/kmod/$MYMEM_KVER/mymem.ko under the current
 * directory (run_vm_tests.sh sets both; vm-run sets MYMEM_KVER).
 *
 * Every test leaves the module loaded with the parameters it found: the
 * teardown reloads it if needed.  Needs root; run it last.
 */
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "mymem_selftest.h"

#define WAIT_MS		20000
#define MODULE_DIR	"/sys/module/mymem"

FIXTURE(reload)
{
	long ps;
	char ko[512];
	uint64_t max_pages, max_ppp;	/* as found, restored at the end */
	bool ready;
};

static bool module_loaded(void)
{
	return access(MODULE_DIR, F_OK) == 0;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "mymem", O_NONBLOCK) ? -errno : 0;
}

/* Wait until /dev/mymem exists (@present) or is gone. */
static bool wait_node(bool present)
{
	int i;

	for (i = 0; i < 500; i++) {
		if ((access(MYMEM_DEVICE_PATH, F_OK) == 0) == present)
			return true;
		usleep(10000);
	}
	return false;
}

static int load(const char *ko, const char *params)
{
	struct stat st;
	void *image;
	int f, ret = 0;

	f = open(ko, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	if (fstat(f, &st)) {
		ret = -errno;
		close(f);
		return ret;
	}
	image = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, f, 0);
	close(f);
	if (image == MAP_FAILED)
		return -errno;
	if (syscall(SYS_init_module, image, (unsigned long)st.st_size, params))
		ret = -errno;
	munmap(image, st.st_size);
	if (!ret && !wait_node(true))
		ret = -ETIMEDOUT;
	return ret;
}

static void params_string(char *buf, size_t size, uint64_t max_pages,
			  uint64_t max_ppp)
{
	snprintf(buf, size, "max_pages=%llu max_pages_per_process=%llu",
		 (unsigned long long)max_pages, (unsigned long long)max_ppp);
}

FIXTURE_SETUP(reload)
{
	const char *ko = getenv("MYMEM_KO"), *kver = getenv("MYMEM_KVER");
	struct utsname u;
	struct stat st;

	self->ps = page_size();
	ASSERT_EQ(0U, geteuid()) TH_LOG("loading modules needs root");
	if (ko && *ko) {
		snprintf(self->ko, sizeof(self->ko), "%s", ko);
	} else {
		ASSERT_EQ(0, uname(&u));
		snprintf(self->ko, sizeof(self->ko),
			 "build/kmod/%s/mymem.ko", kver && *kver ? kver : u.release);
	}
	ASSERT_EQ(0, stat(self->ko, &st)) {
		TH_LOG("%s: %s (set MYMEM_KO or MYMEM_KVER)", self->ko,
		       strerror(errno));
	}
	ASSERT_TRUE(module_loaded()) TH_LOG("mymem is not loaded to begin with");
	ASSERT_EQ(0, mymem_param_get("max_pages", &self->max_pages));
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &self->max_ppp));
	self->ready = true;
}

FIXTURE_TEARDOWN(reload)
{
	uint64_t mp = 0, ppp = 0;
	char params[128];

	if (!self->ready)
		return;
	if (module_loaded() &&
	    (mymem_param_get("max_pages", &mp) ||
	     mymem_param_get("max_pages_per_process", &ppp) ||
	     mp != self->max_pages || ppp != self->max_ppp))
		EXPECT_EQ(0, unload());
	if (!module_loaded()) {
		params_string(params, sizeof(params), self->max_pages,
			      self->max_ppp);
		EXPECT_EQ(0, load(self->ko, params));
	}
}

/* Unload and load back with the parameters found (the device then works). */
static void cycle(struct __test_metadata *_metadata,
		  FIXTURE_DATA(reload) *self)
{
	char params[128];

	ASSERT_EQ(0, unload());
	EXPECT_FALSE(module_loaded());
	EXPECT_TRUE(wait_node(false));
	params_string(params, sizeof(params), self->max_pages, self->max_ppp);
	ASSERT_EQ(0, load(self->ko, params));
	EXPECT_TRUE(module_loaded());
}

#define ASSERT_UNLOAD_REFUSED() do { \
	int __r = unload(); \
	ASSERT_TRUE(__r == -EWOULDBLOCK || __r == -EBUSY) { \
		TH_LOG("delete_module: %s, expected EWOULDBLOCK (in use)", \
		       strerror(-__r)); \
	} \
	ASSERT_TRUE(module_loaded()); \
} while (0)

TEST_F(reload, rmmod_refused_while_a_file_is_open)
{
	struct mymem_info info;
	uint64_t refcnt;
	char *p;
	int fd = mymem_open();

	ASSERT_DEVICE_OPEN(fd);
	ASSERT_UNLOAD_REFUSED();
	ASSERT_EQ(0, read_u64_file(MODULE_DIR "/refcnt", &refcnt));
	EXPECT_LE(1ULL, refcnt);
	/* The refusal changed nothing: the device still works. */
	EXPECT_EQ(0, mymem_get_info(fd, &info));
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p, self->ps));
	ASSERT_EQ(0, close(fd));
	cycle(_metadata, self);
}

TEST_F(reload, rmmod_refused_while_a_mapping_outlives_its_file)
{
	size_t len = 4 * self->ps;
	char *p;
	int fd = mymem_open();

	ASSERT_DEVICE_OPEN(fd);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 51);
	ASSERT_EQ(0, close(fd));
	ASSERT_UNLOAD_REFUSED();
	EXPECT_EQ(-1, check_pattern(p, len, 51));
	fill_pattern(p, len, 52);
	EXPECT_EQ(-1, check_pattern(p, len, 52));
	/* A piece going is not enough. */
	ASSERT_EQ(0, munmap(p, len / 2));
	ASSERT_UNLOAD_REFUSED();
	ASSERT_EQ(0, munmap(p + len / 2, len / 2));
	cycle(_metadata, self);
}

TEST_F(reload, rmmod_refused_while_a_forked_child_holds_a_mapping)
{
	size_t len = 4 * self->ps;
	int to_child[2];
	pid_t pid;
	char *p;
	int fd = mymem_open();

	ASSERT_DEVICE_OPEN(fd);
	ASSERT_EQ(0, sync_pipe(to_child));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 53);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fd);
		CHILD_CHECK(pipe_get(to_child[0], WAIT_MS) == 'e');
		CHILD_CHECK(check_pattern(p, len, 53) == -1);
		_exit(0);
	}
	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, close(fd));
	ASSERT_UNLOAD_REFUSED();
	ASSERT_EQ(0, pipe_put(to_child[1], 'e'));
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
	cycle(_metadata, self);
	close(to_child[0]);
	close(to_child[1]);
}

/* Run a tool; its exit code, with stdout+stderr in @out. */
static int run_tool(char *const argv[], char *out, size_t size)
{
	int p[2], code;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1000;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	code = child_exit_code(pid, 60000);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	n = read(p[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	return code;
}

TEST_F(reload, rmmod_tool_says_in_use)
{
	char *rmmod[] = { "rmmod", "mymem", NULL };
	char out[1024];
	int fd = mymem_open();

	ASSERT_DEVICE_OPEN(fd);
	EXPECT_NE(0, run_tool(rmmod, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "in use")) TH_LOG("rmmod said: %s", out);
	EXPECT_TRUE(module_loaded());
	close(fd);
}

/* Every parameter is described for modinfo(8), with its type. */
TEST_F(reload, modinfo_describes_every_parameter)
{
	static const char * const want[] = {
		"max_pages:Most pages all processes together may hold",
		"max_pages_per_process:Most pages one process may hold",
	};
	char *modinfo[] = { "modinfo", "-F", "parm", self->ko, NULL };
	char out[2048];
	unsigned int i;

	ASSERT_EQ(0, run_tool(modinfo, out, sizeof(out))) TH_LOG("modinfo said: %s", out);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		bool found = strstr(out, want[i]) != NULL;

		EXPECT_TRUE(found) TH_LOG("parameter %u missing in: %s", i, out);
	}
	EXPECT_TRUE(strstr(out, "(ulong)") != NULL) TH_LOG("no parameter type in: %s", out);
	/* ... and the same two parameters are the ones the module has */
	EXPECT_EQ(0, access(MODULE_DIR "/parameters/max_pages", R_OK));
	EXPECT_EQ(0, access(MODULE_DIR "/parameters/max_pages_per_process", R_OK));
}

TEST_F(reload, insmod_of_a_loaded_module_fails_eexist)
{
	EXPECT_EQ(-EEXIST, load(self->ko, ""));
	EXPECT_TRUE(module_loaded());
}

TEST_F(reload, reloaded_module_starts_from_zero)
{
	struct mymem_stats st;
	struct mymem_info info;
	struct stat sb;
	char *p;
	int fd;

	/* Leave some history behind first. */
	fd = mymem_open();
	ASSERT_DEVICE_OPEN(fd);
	p = mmap(NULL, 8 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p, 8 * self->ps));
	close(fd);

	cycle(_metadata, self);
	get_sysfs_stats(&st);
	EXPECT_EQ(0ULL, st.resident_pages);
	EXPECT_EQ(0ULL, st.peak_resident_pages);
	EXPECT_EQ(0ULL, st.pages_allocated);
	EXPECT_EQ(0ULL, st.pages_freed);
	EXPECT_EQ(0ULL, st.mmap_calls);
	EXPECT_EQ(0ULL, st.munmap_calls);
	EXPECT_EQ(0ULL, st.open_files);
	EXPECT_EQ(0ULL, st.failed_mmaps);
	ASSERT_EQ(0, stat(MYMEM_DEVICE_PATH, &sb));
	EXPECT_EQ(0666U, sb.st_mode & 07777);
	fd = mymem_open();
	ASSERT_DEVICE_OPEN(fd);
	ASSERT_EQ(0, mymem_get_info(fd, &info));
	EXPECT_EQ((__u32)MYMEM_ABI_VERSION, info.abi_version);
	p = mmap(NULL, 8 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, check_fill(p, 8 * self->ps, 0));
	ASSERT_EQ(0, munmap(p, 8 * self->ps));
	close(fd);
}

TEST_F_TIMEOUT(reload, load_use_unload_cycles_repeat_cleanly, 300)
{
	enum { CYCLES = 5 };
	struct mymem_stats st;
	int i, fd;
	char *p;

	for (i = 0; i < CYCLES; i++) {
		fd = mymem_open();
		ASSERT_DEVICE_OPEN(fd);
		p = mmap(NULL, 16 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		fill_pattern(p, 16 * self->ps, 60 + i);
		ASSERT_EQ(-1, check_pattern(p, 16 * self->ps, 60 + i));
		ASSERT_EQ(0, munmap(p, 16 * self->ps));
		ASSERT_EQ(0, close(fd));
		get_sysfs_stats(&st);
		ASSERT_EQ(0ULL, st.resident_pages) TH_LOG("cycle %d", i);
		ASSERT_EQ(st.pages_allocated, st.pages_freed);
		cycle(_metadata, self);
	}
}

TEST_F_TIMEOUT(reload, insmod_parameters_show_in_sysfs_and_are_enforced, 120)
{
	char *insmod[] = { "insmod", self->ko, "max_pages=1000",
			   "max_pages_per_process=500", NULL };
	struct mymem_info info;
	uint64_t v;
	char out[1024], *p;
	int fd;

	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, run_tool(insmod, out, sizeof(out))) {
		TH_LOG("insmod said: %s", out);
	}
	ASSERT_TRUE(wait_node(true));
	ASSERT_EQ(0, mymem_param_get("max_pages", &v));
	EXPECT_EQ(1000ULL, v);
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &v));
	EXPECT_EQ(500ULL, v);
	fd = mymem_open();
	ASSERT_DEVICE_OPEN(fd);
	ASSERT_EQ(0, mymem_get_info(fd, &info));
	EXPECT_EQ(1000ULL, info.max_pages);
	EXPECT_EQ(500ULL, info.max_pages_per_process);
	p = mmap(NULL, 501 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENOMEM, errno);
	p = mmap(NULL, 500 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 7, 500 * self->ps);
	ASSERT_EQ(0, munmap(p, 500 * self->ps));
	close(fd);

	/* Without parameters: the documented defaults. */
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(self->ko, ""));
	ASSERT_EQ(0, mymem_param_get("max_pages", &v));
	EXPECT_EQ(MYMEM_DEFAULT_MAX_PAGES, v);
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &v));
	EXPECT_EQ(MYMEM_DEFAULT_MAX_PAGES_PER_PROCESS, v);
	/* The teardown reloads with the parameters found at the start. */
}

TEST_HARNESS_MAIN
