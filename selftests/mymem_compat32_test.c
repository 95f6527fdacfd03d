// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_compat32_test.c - the uapi from a 32-bit (i386) process.
 *
 * Built with -m32 -static and run on the 64-bit kernel, whose
 * .compat_ioctl (compat_ptr_ioctl) hands the calls to the same handlers.
 * The uapi's structs are laid out without implicit padding, so their sizes,
 * and with them the ioctl numbers, are the same for i386 (where a __u64
 * inside a struct is only 4-byte aligned) as for x86-64: a struct that
 * relied on the compiler's padding would get ENOTTY here.
 */
#include "kselftest_harness.h"
#include "mymem_pagemap.h"
#include "mymem_selftest.h"

_Static_assert(sizeof(void *) == 4, "build this test with -m32");
_Static_assert(sizeof(struct mymem_stats) == MYMEM_STATS_SIZE_VER0, "stats size");
_Static_assert(sizeof(struct mymem_translate) == MYMEM_TRANSLATE_SIZE_VER0,
	       "translate size");
_Static_assert(sizeof(struct mymem_info) == MYMEM_INFO_SIZE_VER0, "info size");

FIXTURE(compat)
{
	int fd;
	long ps;
};

FIXTURE_SETUP(compat)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(compat)
{
	close(self->fd);
}

TEST_F(compat, get_info_gives_the_abi_and_the_limits)
{
	struct mymem_info info;
	uint64_t max_pages, max_ppp;

	ASSERT_EQ(0, mymem_get_info(self->fd, &info));
	EXPECT_EQ((uint32_t)MYMEM_ABI_VERSION, info.abi_version);
	EXPECT_EQ((uint32_t)self->ps, info.page_size);
	ASSERT_EQ(0, mymem_param_get("max_pages", &max_pages));
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &max_ppp));
	EXPECT_EQ(max_pages, info.max_pages);
	EXPECT_EQ(max_ppp, info.max_pages_per_process);
}

TEST_F(compat, proc_stats_count_a_mapping_to_the_page)
{
	struct mymem_stats s0, s1;
	size_t len = 13 * self->ps;
	char *p;

	get_proc_stats(self->fd, &s0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_FALSE(p == MAP_FAILED);
	fill_pattern(p, len, 32);
	EXPECT_EQ(-1, check_pattern(p, len, 32));
	EXPECT_EQ(0, pagemap_count_not_device(0, p, len));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 13);
	EXPECT_DELTA(s0, s1, pages_allocated, 13);
	EXPECT_DELTA(s0, s1, mmap_calls, 1);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
	EXPECT_DELTA(s0, s1, pages_freed, 13);
}

TEST_F(compat, global_stats_agree_with_sysfs)
{
	struct mymem_stats io, fs;

	ASSERT_EQ(0, mymem_global_stats(self->fd, &io));
	ASSERT_EQ(0, mymem_sysfs_stats(&fs));
	/* Nothing else maps while this test runs: the counters agree. */
	EXPECT_EQ(fs.resident_pages, io.resident_pages);
	EXPECT_EQ(fs.pages_allocated, io.pages_allocated);
	EXPECT_EQ(fs.pages_freed, io.pages_freed);
}

TEST_F(compat, virt_to_phys_agrees_with_proc_pagemap)
{
	char *p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       self->fd, 0);
	uint64_t pa, ent;
	int i;

	ASSERT_FALSE(p == MAP_FAILED);
	for (i = 0; i < 4; i++) {
		char *va = p + i * self->ps + 123;

		ASSERT_EQ(0, pagemap_entry(0, va, &ent));
		ASSERT_EQ(0, mymem_virt_to_phys(self->fd, va, &pa));
		EXPECT_EQ(ent & PM_PFN_MASK, pa / self->ps);
		EXPECT_EQ(123U, pa % self->ps);
	}
	munmap(p, 4 * self->ps);
}

TEST_F(compat, bad_input_gets_the_documented_errno)
{
	struct mymem_stats st = { .size = 8 };
	int local;
	uint64_t pa;

	EXPECT_EQ(-1, ioctl(self->fd, _IOR(MYMEM_IOC_MAGIC, 0x7f, int), &local));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MYMEM_IOC_PROC_STATS, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MYMEM_IOC_PROC_STATS, &st));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, mymem_virt_to_phys(self->fd, &local, &pa));
}

TEST_HARNESS_MAIN
