// SPDX-License-Identifier: MIT
/*
 * test_policy.c - each fit policy behaves as named, shown on one
 * fragmentation pattern.
 *
 * Pattern (U = 64 KiB, g = small in-use guards, the segment's free top
 * taken by a filler so only the holes are free):
 *
 *     [H1 1U][g][H2 3U][g][H3 2U][g][H4 5U][g][H5 1.5U][g][filler]
 *
 * Then a = 1.8U and b = 0.9U are requested:
 *     first fit  a -> H2 (lowest that fits)   b -> H1
 *     next fit   a -> H2                      b -> right after a (the rover)
 *     best fit   a -> H3 (smallest that fits) b -> H1
 *     worst fit  a -> H4 (largest)            b -> right after a (H4's rest)
 * The fast policy (TLSF) must serve both from some hole that fits.
 */
#define _GNU_SOURCE
#include <malloc.h>

#include "kselftest_harness.h"
#include "testutil.h"

#define U		(64 * 1024)
#define HDR		16
#define NHOLES		5

enum where { IN_H1, IN_H2, IN_H3, IN_H4, IN_H5, AFTER_A, ANY };

FIXTURE(frag) {
	char *hole[NHOLES];
	size_t hole_size[NHOLES];
	char *guard[NHOLES];
	void *filler;
};

FIXTURE_VARIANT(frag) {
	int policy;
	enum where a, b;
};

FIXTURE_VARIANT_ADD(frag, first_fit) { MYMEM_POLICY_FIRST_FIT, IN_H2, IN_H1 };
FIXTURE_VARIANT_ADD(frag, next_fit) { MYMEM_POLICY_NEXT_FIT, IN_H2, AFTER_A };
FIXTURE_VARIANT_ADD(frag, best_fit) { MYMEM_POLICY_BEST_FIT, IN_H3, IN_H1 };
FIXTURE_VARIANT_ADD(frag, worst_fit) { MYMEM_POLICY_WORST_FIT, IN_H4, AFTER_A };
FIXTURE_VARIANT_ADD(frag, fast) { MYMEM_POLICY_FAST, ANY, ANY };

/* Consume the free top of the segment that holds p. */
static void *take_top(void *p)
{
	struct dump_block blk[8192];
	int n = read_dump(blk, 8192);
	uintptr_t seg = 0;
	size_t top = 0;

	for (int i = 0; i < n && i < 8192; i++)
		if (blk[i].addr < (uintptr_t)p && (!seg || blk[i].seg == seg))
			seg = blk[i].seg;
	for (int i = 0; i < n && i < 8192; i++)
		if (blk[i].seg == seg && !strcmp(blk[i].state, "free") && blk[i].addr > (uintptr_t)p)
			top = blk[i].size;
	return top ? malloc(top - HDR) : NULL;
}

FIXTURE_SETUP(frag)
{
	const size_t sizes[NHOLES] = { U, 3 * U, 2 * U, 5 * U, 3 * U / 2 };

	/* All holes in the heap: none at or above the mmap threshold. */
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 1 << 20));
	ASSERT_EQ(0, mymem_set_policy(variant->policy));
	for (int i = 0; i < NHOLES; i++) {
		self->hole_size[i] = sizes[i] - HDR;
		self->hole[i] = malloc(self->hole_size[i]);
		self->guard[i] = malloc(1000);
		ASSERT_NE(NULL, self->hole[i]);
	}
	self->filler = take_top(self->guard[NHOLES - 1]);
	for (int i = 0; i < NHOLES; i++)
		free(self->hole[i]);
	ASSERT_EQ(0, mymem_check());
}

FIXTURE_TEARDOWN(frag)
{
	for (int i = 0; i < NHOLES; i++)
		free(self->guard[i]);
	free(self->filler);
	mymem_set_policy(MYMEM_POLICY_FAST);
}

static int hole_of(FIXTURE_DATA(frag) *self, const char *p)
{
	for (int i = 0; i < NHOLES; i++)
		if (p >= self->hole[i] && p < self->hole[i] + self->hole_size[i])
			return i;
	return -1;
}

static const char *const names[] = { "H1", "H2", "H3", "H4", "H5", "after a", "any" };

TEST_F(frag, placement)
{
	size_t a_size = 18 * U / 10, b_size = 9 * U / 10;
	char *a = malloc(a_size), *b = malloc(b_size);
	int ha = hole_of(self, a), hb = hole_of(self, b);
	struct mymem_heap_stats st = get_stats();

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	TH_LOG("%-9s a(%zu) -> %s, b(%zu) -> %s%s; free %llu bytes in %llu blocks, "
	       "fragmentation %.0f%%", mymem_policy_name(variant->policy),
	       a_size, ha >= 0 ? names[ha] : "elsewhere", b_size,
	       hb >= 0 ? names[hb] : "elsewhere",
	       b == a + malloc_usable_size(a) + HDR ? " (right after a)" : "",
	       (unsigned long long)st.free_bytes, (unsigned long long)st.free_blocks,
	       st.fragmentation * 100);
	if (variant->a == ANY) {
		ASSERT_TRUE(ha == IN_H2 || ha == IN_H3 || ha == IN_H4);
		ASSERT_NE(-1, hb);
	} else {
		ASSERT_EQ(variant->a, ha);
		/* a starts exactly at its hole: the hole was split, not skipped */
		ASSERT_EQ(self->hole[ha], a);
		if (variant->b == AFTER_A) {
			ASSERT_EQ(a + malloc_usable_size(a) + HDR, b);
		} else {
			ASSERT_EQ(variant->b, hb);
			ASSERT_EQ(self->hole[hb], b);
		}
	}
	ASSERT_EQ(0, mymem_check());
	free(a);
	free(b);
	ASSERT_EQ(0, mymem_check());
}

TEST_HARNESS_MAIN
