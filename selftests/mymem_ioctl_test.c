// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_ioctl_test.c - the ioctl ABI of /dev/mymem, and who may use it.
 *
 * Every ioctl struct starts with __u32 size and __u32 flags and may grow.
 * The `abi` fixture runs the same contract checks against each of the four
 * commands (a FIXTURE_VARIANT per command): sizes from the first published
 * one up to MYMEM_STRUCT_SIZE_MAX, multiples of 8, accepted; anything else
 * EINVAL; unknown flags EINVAL; unreadable or unwritable memory EFAULT; a
 * newer, larger struct accepted with its extra bytes left alone; the size
 * encoded in the command number ignored; anything unknown ENOTTY.
 * The rest checks what GET_INFO and VIRT_TO_PHYS answer, and permissions.
 */
#include <sys/syscall.h>
#include <linux/capability.h>
#include <termios.h>

#include "kselftest_harness.h"
#include "mymem_selftest.h"

#define WAIT_MS	20000

/* The first published sizes are the sizes of the structs in the header. */
_Static_assert(sizeof(struct mymem_stats) == MYMEM_STATS_SIZE_VER0,
	       "MYMEM_STATS_SIZE_VER0 is not sizeof(struct mymem_stats)");
_Static_assert(sizeof(struct mymem_translate) == MYMEM_TRANSLATE_SIZE_VER0,
	       "MYMEM_TRANSLATE_SIZE_VER0 is not sizeof(struct mymem_translate)");
_Static_assert(sizeof(struct mymem_info) == MYMEM_INFO_SIZE_VER0,
	       "MYMEM_INFO_SIZE_VER0 is not sizeof(struct mymem_info)");

struct hdr {
	__u32 size;
	__u32 flags;
};

#define GARBAGE	0xa5

FIXTURE(abi)
{
	int fd;
	long ps;
	char *page;		/* a mymem page: the address VIRT_TO_PHYS asks about */
	char *area;		/* anonymous: two read-write pages, one PROT_NONE */
	char *big;		/* room for structs of any size we try */
};

FIXTURE_VARIANT(abi)
{
	unsigned long cmd;
	__u32 ver0;
	bool translate;		/* input: vaddr at offset 8 */
};

FIXTURE_VARIANT_ADD(abi, proc_stats) {
	.cmd = MYMEM_IOC_PROC_STATS, .ver0 = MYMEM_STATS_SIZE_VER0,
};
FIXTURE_VARIANT_ADD(abi, global_stats) {
	.cmd = MYMEM_IOC_GLOBAL_STATS, .ver0 = MYMEM_STATS_SIZE_VER0,
};
FIXTURE_VARIANT_ADD(abi, virt_to_phys) {
	.cmd = MYMEM_IOC_VIRT_TO_PHYS, .ver0 = MYMEM_TRANSLATE_SIZE_VER0,
	.translate = true,
};
FIXTURE_VARIANT_ADD(abi, get_info) {
	.cmd = MYMEM_IOC_GET_INFO, .ver0 = MYMEM_INFO_SIZE_VER0,
};

#define BIG_SIZE	(3 * MYMEM_STRUCT_SIZE_MAX)

FIXTURE_SETUP(abi)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	self->page = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			  self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	memset(self->page, 0x42, self->ps);
	self->area = mmap(NULL, 3 * self->ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	ASSERT_EQ(0, mprotect(self->area + 2 * self->ps, self->ps, PROT_NONE));
	self->big = aligned_alloc(8, BIG_SIZE);
	ASSERT_NE(NULL, self->big);
}

FIXTURE_TEARDOWN(abi)
{
	free(self->big);
	munmap(self->area, 3 * self->ps);
	munmap(self->page, self->ps);
	close(self->fd);
}

/* Build a request of @size bytes at @buf: zeros, then garbage from @ver0. */
static void prep(FIXTURE_DATA(abi) *self, const FIXTURE_VARIANT(abi) *v,
		 void *buf, size_t fill, __u32 size)
{
	struct hdr *h = buf;

	memset(buf, GARBAGE, fill);
	memset(buf, 0, fill < v->ver0 ? fill : v->ver0);
	h->size = size;
	h->flags = 0;
	if (v->translate) {
		__u64 vaddr = (uintptr_t)self->page + 123;

		memcpy((char *)buf + 8, &vaddr, sizeof(vaddr));
	}
}

static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* A command with another direction, type or encoded size. */
static unsigned long with_dir(unsigned long cmd, unsigned int dir)
{
	return _IOC(dir, _IOC_TYPE(cmd), _IOC_NR(cmd), _IOC_SIZE(cmd));
}

static unsigned long with_type(unsigned long cmd, unsigned int type)
{
	return _IOC(_IOC_DIR(cmd), type, _IOC_NR(cmd), _IOC_SIZE(cmd));
}

static unsigned long with_size(unsigned long cmd, unsigned int size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

TEST_F(abi, first_published_size_is_accepted_and_reported)
{
	struct hdr *h = (struct hdr *)self->big;

	prep(self, variant, self->big, variant->ver0, variant->ver0);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, self->big));
	EXPECT_EQ(variant->ver0, h->size);
	EXPECT_EQ(0U, h->flags);
}

TEST_F(abi, sizes_below_the_first_published_fail_einval)
{
	__u32 sizes[] = { 0, 8, variant->ver0 - 8 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		prep(self, variant, self->big, BIG_SIZE, sizes[i]);
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, variant->cmd, self->big)) {
			TH_LOG("size %u", sizes[i]);
		}
	}
}

TEST_F(abi, sizes_not_a_multiple_of_8_fail_einval)
{
	__u32 sizes[] = { variant->ver0 + 1, variant->ver0 + 4,
			  variant->ver0 + 15, MYMEM_STRUCT_SIZE_MAX - 4 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		prep(self, variant, self->big, BIG_SIZE, sizes[i]);
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, variant->cmd, self->big)) {
			TH_LOG("size %u", sizes[i]);
		}
	}
}

TEST_F(abi, sizes_above_the_maximum_fail_einval)
{
	__u32 sizes[] = { MYMEM_STRUCT_SIZE_MAX + 8, 2 * MYMEM_STRUCT_SIZE_MAX,
			  0x7ffffff8, 0xfffffff8 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		prep(self, variant, self->big, BIG_SIZE, sizes[i]);
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, variant->cmd, self->big)) {
			TH_LOG("size %u", sizes[i]);
		}
	}
}

TEST_F(abi, maximum_size_is_accepted_and_tail_left_alone)
{
	struct hdr *h = (struct hdr *)self->big;

	prep(self, variant, self->big, BIG_SIZE, MYMEM_STRUCT_SIZE_MAX);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, self->big));
	EXPECT_EQ(variant->ver0, h->size);
	EXPECT_EQ(-1, check_fill(self->big + variant->ver0,
				 BIG_SIZE - variant->ver0, GARBAGE));
}

TEST_F(abi, larger_struct_with_garbage_is_accepted_and_extra_untouched)
{
	struct hdr *h = (struct hdr *)self->big;
	__u32 size = variant->ver0 + 16;

	prep(self, variant, self->big, size + 64, size);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, self->big));
	/* The module filled what it knows, and says so. */
	EXPECT_EQ(variant->ver0, h->size);
	EXPECT_EQ(-1, check_fill(self->big + variant->ver0, 16 + 64, GARBAGE));
}

TEST_F(abi, larger_struct_gets_the_same_answer)
{
	char small[MYMEM_STRUCT_SIZE_MAX];

	prep(self, variant, small, variant->ver0, variant->ver0);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, small));
	prep(self, variant, self->big, variant->ver0 + 16, variant->ver0 + 16);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, self->big));
	EXPECT_EQ(0, memcmp(small, self->big, variant->ver0));
}

TEST_F(abi, output_fields_are_overwritten_not_read)
{
	char clean[MYMEM_STRUCT_SIZE_MAX], dirty[MYMEM_STRUCT_SIZE_MAX];
	size_t in = variant->translate ? 16 : 8;	/* input bytes */

	prep(self, variant, clean, variant->ver0, variant->ver0);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, clean));
	prep(self, variant, dirty, variant->ver0, variant->ver0);
	memset(dirty + in, 0x5c, variant->ver0 - in);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, dirty));
	EXPECT_EQ(0, memcmp(clean, dirty, variant->ver0));
}

TEST_F(abi, unknown_flags_fail_einval)
{
	__u32 flags[] = { 1, 2, 0x80000000u, 0xffffffffu };
	struct hdr *h = (struct hdr *)self->big;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		prep(self, variant, self->big, variant->ver0, variant->ver0);
		h->flags = flags[i];
		EXPECT_EQ(-EINVAL, do_ioctl(self->fd, variant->cmd, self->big)) {
			TH_LOG("flags %#x", flags[i]);
		}
	}
}

TEST_F(abi, null_pointer_fails_efault)
{
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, variant->cmd, NULL));
}

TEST_F(abi, unmapped_pointer_fails_efault)
{
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, variant->cmd,
				    self->area + 2 * self->ps));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, variant->cmd, (void *)-4096L));
}

TEST_F(abi, read_only_struct_fails_efault)
{
	char *ro = self->area + self->ps;
	struct hdr *h = (struct hdr *)ro;

	prep(self, variant, ro, variant->ver0, variant->ver0);
	ASSERT_EQ(0, mprotect(ro, self->ps, PROT_READ));
	/* It can be read, but the answer cannot be written back. */
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, variant->cmd, ro));
	EXPECT_EQ(variant->ver0, h->size);
}

TEST_F(abi, struct_running_into_unmapped_page_fails_efault)
{
	/* The header is readable; the rest lies in the PROT_NONE page. */
	char *edge = self->area + 2 * self->ps - 8;

	prep(self, variant, self->big, variant->ver0, variant->ver0);
	memcpy(edge, self->big, 8);
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, variant->cmd, edge));
}

TEST_F(abi, size_encoded_in_command_is_ignored)
{
	unsigned int sizes[] = { 0, 8, variant->ver0 + 8, 1000,
				 (1U << _IOC_SIZEBITS) - 1 };
	char want[MYMEM_STRUCT_SIZE_MAX];
	unsigned int i;

	prep(self, variant, want, variant->ver0, variant->ver0);
	ASSERT_EQ(0, do_ioctl(self->fd, variant->cmd, want));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		prep(self, variant, self->big, variant->ver0, variant->ver0);
		EXPECT_EQ(0, do_ioctl(self->fd, with_size(variant->cmd, sizes[i]),
				      self->big)) {
			TH_LOG("encoded size %u", sizes[i]);
		}
		EXPECT_EQ(0, memcmp(want, self->big, variant->ver0));
	}
}

TEST_F(abi, other_direction_fails_enotty)
{
	unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		prep(self, variant, self->big, variant->ver0, variant->ver0);
		EXPECT_EQ(-ENOTTY, do_ioctl(self->fd,
					    with_dir(variant->cmd, dirs[i]),
					    self->big)) {
			TH_LOG("direction %u", dirs[i]);
		}
	}
}

TEST_F(abi, other_type_byte_fails_enotty)
{
	unsigned int types[] = { MYMEM_IOC_MAGIC - 1, MYMEM_IOC_MAGIC + 1, 0,
				 'T', 0xff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		prep(self, variant, self->big, variant->ver0, variant->ver0);
		EXPECT_EQ(-ENOTTY, do_ioctl(self->fd,
					    with_type(variant->cmd, types[i]),
					    self->big)) {
			TH_LOG("type %#x", types[i]);
		}
	}
}

/* ---- the rest: one device fd ---- */

FIXTURE(mymem)
{
	int fd;
	long ps;
};

FIXTURE_SETUP(mymem)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(mymem)
{
	close(self->fd);
}

TEST_F(mymem, unknown_command_numbers_fail_enotty)
{
	unsigned int nrs[] = { 0x00, 0x05, 0x06, 0x10, 0x80, 0xff };
	struct mymem_stats st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		EXPECT_EQ(-ENOTTY, do_ioctl(self->fd,
			_IOWR(MYMEM_IOC_MAGIC, nrs[i], struct mymem_stats),
			&st)) {
			TH_LOG("nr %#x", nrs[i]);
		}
	}
}

TEST_F(mymem, terminal_ioctl_fails_enotty)
{
	struct termios t;

	EXPECT_EQ(-ENOTTY, do_ioctl(self->fd, TCGETS, &t));
	errno = 0;
	EXPECT_EQ(0, isatty(self->fd));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(mymem, get_info_reports_abi_version_and_page_size)
{
	struct mymem_info info;

	ASSERT_EQ(0, mymem_get_info(self->fd, &info));
	EXPECT_EQ((__u32)MYMEM_INFO_SIZE_VER0, info.size);
	EXPECT_EQ(0U, info.flags);
	EXPECT_EQ((__u32)MYMEM_ABI_VERSION, info.abi_version);
	EXPECT_EQ((__u32)self->ps, info.page_size);
}

TEST_F(mymem, get_info_limits_equal_module_parameters)
{
	struct mymem_info info;
	uint64_t max_pages, ppp;

	ASSERT_EQ(0, mymem_param_get("max_pages", &max_pages));
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &ppp));
	ASSERT_EQ(0, mymem_get_info(self->fd, &info));
	EXPECT_EQ(max_pages, info.max_pages);
	EXPECT_EQ(ppp, info.max_pages_per_process);
	EXPECT_LE(info.max_pages_per_process, info.max_pages);
}

/* ---- MYMEM_IOC_VIRT_TO_PHYS (the test runs as root) ---- */

static char *map_pages(int fd, long ps, int n)
{
	char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fd, 0);

	if (p != MAP_FAILED)
		memset(p, 0x33, n * ps);
	return p;
}

TEST_F(mymem, virt_to_phys_keeps_the_offset_within_the_page)
{
	long offsets[] = { 0, 1, 123, 2048, self->ps - 1 };
	uint64_t pa, frame = 0;
	unsigned int i;
	char *p = map_pages(self->fd, self->ps, 2);

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, p + self->ps +
						offsets[i], &pa));
		EXPECT_EQ((uint64_t)offsets[i], pa & (self->ps - 1));
		EXPECT_NE(0ULL, pa & ~(uint64_t)(self->ps - 1));
		if (i == 0)
			frame = pa;
		EXPECT_EQ(frame, pa & ~(uint64_t)(self->ps - 1));
	}
}

TEST_F(mymem, virt_to_phys_gives_each_page_its_own_frame)
{
	enum { N = 32 };
	uint64_t pa[2 * N];
	char *a = map_pages(self->fd, self->ps, N);
	char *b = map_pages(self->fd, self->ps, N);
	int i, j;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, a + i * self->ps,
						&pa[i]));
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, b + i * self->ps,
						&pa[N + i]));
	}
	for (i = 0; i < 2 * N; i++) {
		for (j = i + 1; j < 2 * N; j++)
			if (pa[i] == pa[j])
				break;
		EXPECT_EQ(2 * N, j) {
			TH_LOG("pages %d and %d share frame %#llx", i, j,
			       (unsigned long long)pa[i]);
		}
	}
}

TEST_F(mymem, virt_to_phys_agrees_with_proc_pagemap)
{
	enum { N = 8 };
	char *p = map_pages(self->fd, self->ps, N);
	uint64_t pa, ent;
	int pm, i;

	ASSERT_NE(MAP_FAILED, p);
	pm = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pm);
	for (i = 0; i < N; i++) {
		char *va = p + i * self->ps + 77;
		off_t off = (off_t)((uintptr_t)va / self->ps) * 8;

		ASSERT_EQ(8, pread(pm, &ent, 8, off));
		ASSERT_EQ(1ULL, ent >> 63) TH_LOG("page %d not present", i);
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, va, &pa));
		EXPECT_EQ(ent & ((1ULL << 55) - 1), pa / self->ps) {
			TH_LOG("page %d: pagemap pfn %#llx, ioctl %#llx", i,
			       (unsigned long long)(ent & ((1ULL << 55) - 1)),
			       (unsigned long long)pa);
		}
	}
	close(pm);
}

TEST_F(mymem, virt_to_phys_works_through_any_open_file)
{
	char *p = map_pages(self->fd, self->ps, 1);
	uint64_t a = 0, b = 1;
	int fd2;

	ASSERT_NE(MAP_FAILED, p);
	fd2 = mymem_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mymem_virt_to_phys(self->fd, p + 9, &a));
	ASSERT_EQ(0, mymem_virt_to_phys(fd2, p + 9, &b));
	EXPECT_EQ(a, b);
	close(fd2);
}

TEST_F(mymem, virt_to_phys_outside_any_mymem_mapping_fails_einval)
{
	char *anon = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = map_pages(self->fd, self->ps, 3);
	int zfd = open("/dev/zero", O_RDWR);
	char *zero;
	char *heap = malloc(64);
	uint64_t pa;
	int local = 1;

	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_LE(0, zfd);
	zero = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    zfd, 0);
	ASSERT_NE(MAP_FAILED, zero);
	anon[0] = 1;
	zero[0] = 1;
	ASSERT_NE(NULL, heap);
	ASSERT_EQ(0, munmap(p + 2 * self->ps, self->ps));

	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, &local, &pa));
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, anon, &pa));
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, zero, &pa));
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, heap, &pa));
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, NULL, &pa));
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, (void *)-1L, &pa));
	/* Just past the end, and a page given back with munmap. */
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, p + 2 * self->ps, &pa));
	EXPECT_EQ(0, mymem_virt_to_phys(self->fd, p + 2 * self->ps - 1, &pa));
	free(heap);
	close(zfd);
}

TEST_F(mymem, virt_to_phys_of_prot_none_page_fails_efault)
{
	char *p = map_pages(self->fd, self->ps, 2);
	uint64_t pa;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + self->ps, self->ps, PROT_NONE));
	EXPECT_EQ(-EFAULT, mymem_virt_to_phys(self->fd, p + self->ps, &pa));
	EXPECT_EQ(0, mymem_virt_to_phys(self->fd, p, &pa));
}

/* Root without CAP_SYS_ADMIN in its effective set. */
static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	d[CAP_SYS_ADMIN / 32].permitted &= ~(1U << (CAP_SYS_ADMIN % 32));
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static void v2p_eperm_child(int drop_all, long ps)
{
	uint64_t pa;
	char *p;
	int fd;

	if (drop_all)
		CHILD_CHECK(drop_to_nobody() == 0);
	else
		CHILD_CHECK(drop_cap_sys_admin() == 0 && geteuid() == 0);
	fd = mymem_open();
	CHILD_CHECK(fd >= 0);
	p = map_pages(fd, ps, 1);
	CHILD_CHECK(p != MAP_FAILED);
	CHILD_CHECK(mymem_virt_to_phys(fd, p, &pa) == -EPERM);
	/* Checked first: no hint whether the address is a mymem one. */
	CHILD_CHECK(mymem_virt_to_phys(fd, NULL, &pa) == -EPERM);
	CHILD_CHECK(mymem_virt_to_phys(fd, &pa, &pa) == -EPERM);
	_exit(0);
}

TEST_F(mymem, virt_to_phys_as_unprivileged_user_fails_eperm)
{
	pid_t pid;

	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		v2p_eperm_child(1, self->ps);
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_F(mymem, virt_to_phys_as_root_without_cap_sys_admin_fails_eperm)
{
	pid_t pid;

	ASSERT_EQ(0U, geteuid()) TH_LOG("this test needs root");
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		v2p_eperm_child(0, self->ps);
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

/* ---- who may use the device ---- */

TEST_F(mymem, unprivileged_user_can_open_map_and_query)
{
	pid_t pid;

	ASSERT_EQ(0U, geteuid()) TH_LOG("this test needs root to drop from");
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mymem_stats ps, gs, sys;
		struct mymem_info info;
		char *a, *b;
		int fd;

		CHILD_CHECK(drop_to_nobody() == 0);
		CHILD_CHECK(getuid() == NOBODY_ID && getgid() == NOBODY_ID);
		fd = open(MYMEM_DEVICE_PATH, O_RDWR);
		CHILD_CHECK(fd >= 0);
		a = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, fd, 0);
		CHILD_CHECK(a != MAP_FAILED);
		b = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		CHILD_CHECK(b != MAP_FAILED);
		CHILD_CHECK(check_fill(a, 4 * self->ps, 0) == -1);
		fill_pattern(a, 4 * self->ps, 1);
		fill_pattern(b, 2 * self->ps, 2);
		CHILD_CHECK(check_pattern(a, 4 * self->ps, 1) == -1);
		CHILD_CHECK(check_pattern(b, 2 * self->ps, 2) == -1);
		CHILD_CHECK(mymem_get_info(fd, &info) == 0);
		CHILD_CHECK(mymem_proc_stats(fd, &ps) == 0);
		CHILD_CHECK(ps.resident_pages == 6 && ps.open_files == 1);
		CHILD_CHECK(mymem_global_stats(fd, &gs) == 0);
		CHILD_CHECK(gs.resident_pages >= 6);
		CHILD_CHECK(mymem_sysfs_stats(&sys) == 0);
		CHILD_CHECK(munmap(a, 4 * self->ps) == 0);
		CHILD_CHECK(mymem_proc_stats(fd, &ps) == 0);
		CHILD_CHECK(ps.resident_pages == 2);
		_exit(0);
	}
	ASSERT_EQ(0, child_exit_code(pid, WAIT_MS));
}

TEST_HARNESS_MAIN
