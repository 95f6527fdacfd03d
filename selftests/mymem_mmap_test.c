// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_mmap_test.c - mapping /dev/mymem: sizes, contents, munmap, mprotect,
 * mremap.
 *
 * Every mmap() of the device allocates all its pages at once, zeroed, and
 * every page-aligned munmap() gives exactly those pages back at once.  The
 * tests check both through the caller's own statistics (MYMEM_IOC_PROC_STATS),
 * which are exact to the page: each harness test runs in a fresh process,
 * so nobody else is charged to it.
 */
#include "kselftest_harness.h"
#include "mymem_pagemap.h"
#include "mymem_selftest.h"

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
	if (self->fd >= 0)
		close(self->fd);
}

static void *map_dev(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

TEST(device_node_is_char_device_mode_0666)
{
	char buf[64];
	unsigned int maj, min;
	struct stat st;

	ASSERT_EQ(0, stat(MYMEM_DEVICE_PATH, &st)) {
		TH_LOG("stat %s: %s", MYMEM_DEVICE_PATH, strerror(errno));
	}
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666U, st.st_mode & 07777) {
		TH_LOG("mode is %o", st.st_mode & 07777);
	}
	/* The node is the misc device sysfs describes. */
	ASSERT_LT(0, read_text_file(MYMEM_SYSFS_DIR "/dev", buf, sizeof(buf)));
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &maj, &min));
	EXPECT_EQ(10U, maj);	/* MISC_MAJOR */
	EXPECT_EQ(makedev(maj, min), st.st_rdev);
}

TEST_F(mymem, private_mapping_is_zero_filled)
{
	size_t len = 64 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, check_fill(p, len, 0));
	ASSERT_EQ(0, munmap(p, len));
}

TEST_F(mymem, shared_mapping_is_zero_filled)
{
	size_t len = 64 * self->ps;
	char *p = map_dev(self->fd, len, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, check_fill(p, len, 0));
	fill_pattern(p, len, 3);
	EXPECT_EQ(-1, check_pattern(p, len, 3));
	ASSERT_EQ(0, munmap(p, len));
}

TEST_F(mymem, writes_read_back_in_every_pattern)
{
	static const unsigned char fills[] = { 0xff, 0xaa, 0x55, 0x00, 0x01 };
	size_t len = 32 * self->ps;
	unsigned int i;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < ARRAY_SIZE(fills); i++) {
		memset(p, fills[i], len);
		ASSERT_EQ(-1, check_fill(p, len, fills[i]));
	}
	for (i = 1; i <= 3; i++) {
		fill_pattern(p, len, i);
		ASSERT_EQ(-1, check_pattern(p, len, i));
	}
	/* Each page keeps its own contents: write page numbers, reread. */
	for (i = 0; i < 32; i++)
		memset(p + i * self->ps, i + 1, self->ps);
	for (i = 0; i < 32; i++)
		ASSERT_EQ(-1, check_fill(p + i * self->ps, self->ps, i + 1));
	ASSERT_EQ(0, munmap(p, len));
}

TEST_F(mymem, length_is_rounded_up_to_whole_pages)
{
	struct mymem_stats s0, s1, s2;
	char *one, *two;

	get_proc_stats(self->fd, &s0);
	one = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, one);
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 1);
	/* The whole page is there, not just the byte asked for. */
	EXPECT_EQ(0, probe_access(one + self->ps - 1, true));
	EXPECT_EQ(0, one[self->ps - 1]);

	two = mmap(NULL, self->ps + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, two);
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s1, s2, resident_pages, 2);
	EXPECT_EQ(0, probe_access(two + 2 * self->ps - 1, true));
	EXPECT_EQ(-1, check_fill(two, 2 * self->ps, 0));

	/* munmap with the unrounded lengths frees whole pages too. */
	ASSERT_EQ(0, munmap(one, 1));
	ASSERT_EQ(0, munmap(two, self->ps + 1));
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s0, s2, resident_pages, 0);
}

TEST_F(mymem, zero_length_fails_einval)
{
	struct mymem_stats s0, s1;
	void *p;

	get_proc_stats(self->fd, &s0);
	p = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
	EXPECT_DELTA(s0, s1, mmap_calls, 0);
}

TEST_F(mymem, nonzero_offset_fails_einval)
{
	static const unsigned long pages[] = { 1, 2, 1024, 1UL << 30 };
	struct mymem_stats s0, s1;
	unsigned int i;
	void *p;

	get_proc_stats(self->fd, &s0);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			 self->fd, (off_t)(pages[i] * self->ps));
		EXPECT_EQ(MAP_FAILED, p) {
			TH_LOG("offset of %lu pages accepted", pages[i]);
			munmap(p, self->ps);
		}
		EXPECT_EQ(EINVAL, errno);
		p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, (off_t)(pages[i] * self->ps));
		EXPECT_EQ(MAP_FAILED, p);
		EXPECT_EQ(EINVAL, errno);
	}
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
	EXPECT_DELTA(s0, s1, mmap_calls, 0);
}

TEST_F(mymem, new_mapping_never_shows_old_contents)
{
	size_t len = 16 * self->ps;
	int round;
	char *p;

	for (round = 0; round < 8; round++) {
		p = map_dev(self->fd, len, MAP_PRIVATE);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(-1, check_fill(p, len, 0)) {
			TH_LOG("round %d: recycled page not zeroed", round);
		}
		memset(p, 0xe5, len);
		ASSERT_EQ(0, munmap(p, len));
	}
}

TEST_F(mymem, mappings_do_not_alias_each_other)
{
	enum { N = 16 };
	size_t len = 4 * self->ps;
	char *p[N];
	int i;

	for (i = 0; i < N; i++) {
		p[i] = map_dev(self->fd, len, i & 1 ? MAP_SHARED : MAP_PRIVATE);
		ASSERT_NE(MAP_FAILED, p[i]);
		fill_pattern(p[i], len, 100 + i);
	}
	for (i = 0; i < N; i++)
		EXPECT_EQ(-1, check_pattern(p[i], len, 100 + i));
	/* Unmapping every other one leaves the rest alone. */
	for (i = 0; i < N; i += 2)
		ASSERT_EQ(0, munmap(p[i], len));
	for (i = 1; i < N; i += 2) {
		EXPECT_EQ(-1, check_pattern(p[i], len, 100 + i));
		ASSERT_EQ(0, munmap(p[i], len));
	}
}

TEST_F(mymem, mapping_outlives_close_of_fd)
{
	size_t len = 8 * self->ps;
	struct mymem_stats s0, s1;
	char *p;
	int fd2;

	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 7);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(-1, check_pattern(p, len, 7));
	fill_pattern(p, len, 8);
	EXPECT_EQ(-1, check_pattern(p, len, 8));

	fd2 = mymem_open();
	ASSERT_LE(0, fd2);
	get_proc_stats(fd2, &s0);
	EXPECT_EQ(8ULL, s0.resident_pages);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(fd2, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, -8);
	close(fd2);
}

/*
 * munmap of a page-aligned piece: exactly the piece's pages are freed at
 * once, the rest stays mapped with its contents, and the piece is gone.
 */
FIXTURE(piece)
{
	int fd;
	long ps;
};

FIXTURE_VARIANT(piece)
{
	int pages;		/* size of the mapping */
	int first, count;	/* the piece unmapped first */
};

FIXTURE_VARIANT_ADD(piece, whole) { .pages = 16, .first = 0, .count = 16 };
FIXTURE_VARIANT_ADD(piece, head) { .pages = 16, .first = 0, .count = 5 };
FIXTURE_VARIANT_ADD(piece, tail) { .pages = 16, .first = 11, .count = 5 };
FIXTURE_VARIANT_ADD(piece, middle) { .pages = 16, .first = 6, .count = 4 };
FIXTURE_VARIANT_ADD(piece, one_middle_page) { .pages = 3, .first = 1, .count = 1 };
FIXTURE_VARIANT_ADD(piece, big_middle) { .pages = 1100, .first = 100, .count = 900 };

FIXTURE_SETUP(piece)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(piece)
{
	close(self->fd);
}

static void piece_test(struct __test_metadata *_metadata,
		       FIXTURE_DATA(piece) *self,
		       const FIXTURE_VARIANT(piece) *v, int flags)
{
	size_t len = (size_t)v->pages * self->ps;
	struct mymem_stats s0, s1, s2, s3;
	char *p, *hole;
	int i, pieces;

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, len, flags);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < v->pages; i++)
		memset(p + (size_t)i * self->ps, i + 1, self->ps);
	get_proc_stats(self->fd, &s1);
	ASSERT_DELTA(s0, s1, resident_pages, v->pages);
	ASSERT_DELTA(s0, s1, mmap_calls, 1);

	hole = p + (size_t)v->first * self->ps;
	ASSERT_EQ(0, munmap(hole, (size_t)v->count * self->ps));
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s1, s2, resident_pages, -v->count);
	EXPECT_DELTA(s1, s2, pages_freed, v->count);
	EXPECT_DELTA(s1, s2, munmap_calls, 1);
	EXPECT_TRUE(range_is_unmapped(hole, (size_t)v->count * self->ps));

	/* What is left is intact and still writable. */
	pieces = 0;
	for (i = 0; i < v->pages; i++) {
		char *pg = p + (size_t)i * self->ps;

		if (i >= v->first && i < v->first + v->count)
			continue;
		ASSERT_EQ(-1, check_fill(pg, self->ps, i + 1)) {
			TH_LOG("page %d changed", i);
		}
		ASSERT_EQ(0, probe_access(pg, true));
	}
	if (v->first > 0)
		pieces++;
	if (v->first + v->count < v->pages)
		pieces++;

	/* Unmap the rest in one call: one close per remaining piece. */
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s3);
	EXPECT_DELTA(s0, s3, resident_pages, 0);
	EXPECT_DELTA(s2, s3, pages_freed, v->pages - v->count);
	EXPECT_DELTA(s2, s3, munmap_calls, pieces);
}

TEST_F(piece, private_munmap_frees_exactly_the_piece)
{
	piece_test(_metadata, self, variant, MAP_PRIVATE);
}

TEST_F(piece, shared_munmap_frees_exactly_the_piece)
{
	piece_test(_metadata, self, variant, MAP_SHARED);
}

TEST_F(mymem, munmap_page_by_page_frees_one_page_each)
{
	enum { N = 12 };
	struct mymem_stats s0, s;
	char *p;
	int i, order[N] = { 5, 0, 11, 6, 1, 10, 3, 8, 2, 9, 4, 7 };

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, N * self->ps, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x11, N * self->ps);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, munmap(p + order[i] * self->ps, self->ps));
		get_proc_stats(self->fd, &s);
		ASSERT_DELTA(s0, s, resident_pages, N - 1 - i);
		ASSERT_DELTA(s0, s, pages_freed, i + 1);
	}
	EXPECT_TRUE(range_is_unmapped(p, N * self->ps));
}

TEST_F(mymem, mprotect_readonly_piece_refuses_writes)
{
	size_t len = 8 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 21);
	ASSERT_EQ(0, mprotect(p + 2 * self->ps, 3 * self->ps, PROT_READ));
	/* Reads work everywhere; writes fault only in the read-only piece. */
	EXPECT_EQ(0, probe_access(p + 2 * self->ps, false));
	EXPECT_EQ(SIGSEGV, probe_access(p + 2 * self->ps, true));
	EXPECT_EQ(SIGSEGV, probe_access(p + 5 * self->ps - 1, true));
	EXPECT_EQ(0, probe_access(p + 2 * self->ps - 1, true));
	EXPECT_EQ(0, probe_access(p + 5 * self->ps, true));
	EXPECT_EQ(-1, check_pattern(p, len, 21));
	ASSERT_EQ(0, munmap(p, len));
}

TEST_F(mymem, mprotect_none_piece_refuses_reads)
{
	size_t len = 8 * self->ps;
	char *p = map_dev(self->fd, len, MAP_PRIVATE);

	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 22);
	ASSERT_EQ(0, mprotect(p + 6 * self->ps, 2 * self->ps, PROT_NONE));
	EXPECT_EQ(SIGSEGV, probe_access(p + 6 * self->ps, false));
	EXPECT_EQ(SIGSEGV, probe_access(p + len - 1, false));
	EXPECT_EQ(0, probe_access(p + 6 * self->ps - 1, false));
	EXPECT_EQ(-1, check_pattern(p, 6 * self->ps, 22));
	ASSERT_EQ(0, munmap(p, len));
}

TEST_F(mymem, mprotect_back_to_read_write_keeps_contents)
{
	size_t len = 8 * self->ps;
	struct mymem_stats s0, s1;
	char *p;

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 23);
	ASSERT_EQ(0, mprotect(p + self->ps, 3 * self->ps, PROT_NONE));
	ASSERT_EQ(0, mprotect(p + 4 * self->ps, 3 * self->ps, PROT_READ));
	ASSERT_EQ(0, mprotect(p, len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-1, check_pattern(p, len, 23));
	fill_pattern(p, len, 24);
	EXPECT_EQ(-1, check_pattern(p, len, 24));
	/* The VMA splits and merges neither allocated nor freed pages. */
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 8);
	EXPECT_DELTA(s0, s1, pages_allocated, 8);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
}

/*
 * A documented limit (README, "Remaining limits"): mprotect() back to
 * writable leaves a private mapping's device pages write-protected, as for
 * any private file mapping, so the first write to each copies it into an
 * anonymous page.  Pages outside the round trip, and pages not written,
 * stay device pages; the module keeps the replaced page until the mapping
 * goes.
 */
TEST_F(mymem, private_mprotect_round_trip_copies_pages_written_after_it)
{
	size_t len = 8 * self->ps;
	struct mymem_stats s0, s1;
	uint64_t ent;
	char *p;
	int i;

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 25);
	ASSERT_EQ(0, pagemap_count_not_device(0, p, len));
	ASSERT_EQ(0, mprotect(p + self->ps, 3 * self->ps, PROT_READ));
	ASSERT_EQ(0, mprotect(p + self->ps, 3 * self->ps, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, pagemap_count_not_device(0, p, len));
	/* Write a byte of pages 0, 2, 4, 6 and 7 back as it is: only page 2
	 * went through the round trip. */
	for (i = 0; i < 8; i += 2)
		*(volatile char *)(p + i * self->ps + 5) = p[i * self->ps + 5];
	*(volatile char *)(p + 7 * self->ps) = p[7 * self->ps];
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, pagemap_entry(0, p + i * self->ps, &ent));
		EXPECT_EQ(i != 2, pagemap_is_device_page(ent))
			TH_LOG("page %d", i);
	}
	/* The copy took the page's contents along. */
	EXPECT_EQ(-1, check_pattern(p, len, 25));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 8);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
	EXPECT_DELTA(s0, s1, pages_freed, 8);
}

/* A shared mapping has no copy-on-write: writes after the round trip stay. */
TEST_F(mymem, shared_mprotect_round_trip_keeps_device_pages)
{
	size_t len = 8 * self->ps;
	struct mymem_stats s0, s1;
	char *p;

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, len, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 26);
	ASSERT_EQ(0, mprotect(p + self->ps, 3 * self->ps, PROT_READ));
	ASSERT_EQ(0, mprotect(p + self->ps, 3 * self->ps, PROT_READ | PROT_WRITE));
	fill_pattern(p, len, 27);
	EXPECT_EQ(0, pagemap_count_not_device(0, p, len));
	EXPECT_EQ(-1, check_pattern(p, len, 27));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 8);
	EXPECT_DELTA(s0, s1, pages_allocated, 8);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
}

TEST_F(mymem, mremap_shrink_frees_the_tail)
{
	size_t len = 10 * self->ps;
	struct mymem_stats s0, s1, s2;
	char *p, *q;

	get_proc_stats(self->fd, &s0);
	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 31);
	q = mremap(p, len, 4 * self->ps, 0);
	ASSERT_EQ(p, q) {
		TH_LOG("mremap shrink: %s", strerror(errno));
	}
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 4);
	EXPECT_TRUE(range_is_unmapped(p + 4 * self->ps, 6 * self->ps));
	EXPECT_EQ(-1, check_pattern(p, 4 * self->ps, 31));
	ASSERT_EQ(0, munmap(p, 4 * self->ps));
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s0, s2, resident_pages, 0);
}

TEST_F(mymem, mremap_grow_fails_and_keeps_mapping)
{
	size_t len = 4 * self->ps;
	struct mymem_stats s0, s1;
	char *p, *q;

	p = map_dev(self->fd, len, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 32);
	get_proc_stats(self->fd, &s0);
	/* VM_DONTEXPAND: the kernel refuses with EFAULT, moving or not. */
	q = mremap(p, len, 8 * self->ps, 0);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EFAULT, errno);
	q = mremap(p, len, 8 * self->ps, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EFAULT, errno);
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, 0);
	EXPECT_DELTA(s0, s1, pages_allocated, 0);
	EXPECT_EQ(-1, check_pattern(p, len, 32));
	ASSERT_EQ(0, munmap(p, len));
}

/* Sizes around the allocator's interesting boundaries (4 KiB .. 4 MiB). */
FIXTURE(size)
{
	int fd;
	long ps;
};

FIXTURE_VARIANT(size)
{
	unsigned long pages;
};

FIXTURE_VARIANT_ADD(size, p1) { .pages = 1 };
FIXTURE_VARIANT_ADD(size, p2) { .pages = 2 };
FIXTURE_VARIANT_ADD(size, p3) { .pages = 3 };
FIXTURE_VARIANT_ADD(size, p17) { .pages = 17 };
FIXTURE_VARIANT_ADD(size, p256) { .pages = 256 };
FIXTURE_VARIANT_ADD(size, p1023) { .pages = 1023 };
FIXTURE_VARIANT_ADD(size, p1024) { .pages = 1024 };
FIXTURE_VARIANT_ADD(size, p1025) { .pages = 1025 };
FIXTURE_VARIANT_ADD(size, p4097) { .pages = 4097 };

FIXTURE_SETUP(size)
{
	self->ps = page_size();
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(size)
{
	close(self->fd);
}

TEST_F_TIMEOUT(size, zeroed_writable_and_counted_to_the_page, 120)
{
	size_t len = variant->pages * self->ps;
	struct mymem_stats s0, s1, s2;
	char *p;

	get_proc_stats(self->fd, &s0);
	/* One byte short of the size: rounds up to the same page count. */
	p = map_dev(self->fd, len - 1, MAP_PRIVATE);
	ASSERT_NE(MAP_FAILED, p);
	get_proc_stats(self->fd, &s1);
	EXPECT_DELTA(s0, s1, resident_pages, variant->pages);
	EXPECT_DELTA(s0, s1, pages_allocated, variant->pages);
	EXPECT_DELTA(s0, s1, mmap_calls, 1);
	EXPECT_GE(s1.peak_resident_pages, s1.resident_pages);
	EXPECT_EQ(-1, check_fill(p, len, 0));
	fill_pattern(p, len, (unsigned int)variant->pages);
	EXPECT_EQ(-1, check_pattern(p, len, (unsigned int)variant->pages));
	/* Writing did not allocate anything more: all was there at mmap. */
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s1, s2, pages_allocated, 0);
	ASSERT_EQ(0, munmap(p, len));
	get_proc_stats(self->fd, &s2);
	EXPECT_DELTA(s0, s2, resident_pages, 0);
	EXPECT_DELTA(s0, s2, pages_freed, variant->pages);
	EXPECT_DELTA(s0, s2, munmap_calls, 1);
}

TEST_HARNESS_MAIN
