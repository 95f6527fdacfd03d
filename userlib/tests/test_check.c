// SPDX-License-Identifier: MIT
/*
 * test_check.c - mymem_check() names what is wrong.  Each test damages one
 * invariant check.c verifies (through the layout in internal.h: a free bit,
 * a counter, a segment header field) and expects the code mymem.h documents
 * for it; then it undoes the damage and expects a clean heap again, so the
 * code is known to come from that damage alone.  The damage is done in a
 * child (run_in_child): a heap left broken dies with it.
 *
 * Blocks of BLK bytes are above the sizes thread caches and runs serve
 * (MED_MAX_BS), so a freed one really is on its arena's free lists.  Each
 * test runs under the fast policy (TLSF lists) and under first fit (one
 * address-ordered list): fl_check() walks them differently.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdarg.h>

#include "kselftest_harness.h"
#include "testutil.h"
#include "../internal.h"

#define ROW	4		/* blocks in a row: a b c d, then a guard */
#define BLK	20000

_Static_assert(BLK > MED_MAX_BS, "blocks must bypass the thread cache and runs");

struct scenario {
	int policy;
	/* Damage the heap around row[] (in use, adjacent, in one segment);
	 * undo() puts it back.  Both may free blocks of the row first. */
	void (*damage)(struct scenario *sc);
	void (*undo)(struct scenario *sc);
	char *row[ROW];
	size_t saved;		/* whatever damage() changed */
	void *saved_ptr;
};

/* The child's result, parsed by the parent: one line on stderr. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void child(void *arg)
{
	struct scenario *sc = arg;
	struct segment *s;
	char *guard;
	int before, damaged, after;

	if (mymem_set_policy(sc->policy) != 0) {
		report("setup: policy\n");
		return;
	}
	for (int i = 0; i < ROW; i++)
		sc->row[i] = malloc(BLK);
	guard = malloc(BLK);	/* keeps the row away from the segment's free top */
	s = seg_lookup(sc->row[0]);
	for (int i = 0; i < ROW; i++) {
		if (!sc->row[i] || seg_lookup(sc->row[i]) != s ||
		    blk_next(blk_of(sc->row[i])) != blk_of(i + 1 < ROW ? sc->row[i + 1] : guard)) {
			report("setup: blocks not adjacent\n");
			return;
		}
	}
	before = mymem_check();
	sc->damage(sc);
	damaged = mymem_check();
	sc->undo(sc);
	after = mymem_check();
	report("before=%d damaged=%d after=%d\n", before, damaged, after);
}

static void expect_code(struct __test_metadata *_metadata, int policy,
			void (*damage)(struct scenario *), void (*undo)(struct scenario *),
			int code)
{
	struct scenario sc = { .policy = policy, .damage = damage, .undo = undo };
	char msg[4096];
	int before = -1, damaged = -1, after = -1;
	int sig = run_in_child(child, &sc, msg, sizeof(msg));
	char *line = strstr(msg, "before=");

	if (sig != 0 || !line)
		TH_LOG("child (signal %d) said: %s", sig, msg);
	ASSERT_EQ(0, sig);
	ASSERT_NE(NULL, line);
	ASSERT_EQ(3, sscanf(line, "before=%d damaged=%d after=%d", &before, &damaged, &after));
	EXPECT_EQ(MYMEM_OK, before);
	EXPECT_EQ(code, damaged) {
		TH_LOG("expected %s, got %s", mymem_strerror(code), mymem_strerror(damaged));
	}
	EXPECT_EQ(MYMEM_OK, after);
}

static struct block *blk(struct scenario *sc, int i)
{
	return blk_of(sc->row[i]);
}

static void set_free_bit(struct block *b, bool on)
{
	size_t h = blk_head(b);

	blk_set_head_raw(b, on ? h | B_FREE : h & ~B_FREE);
}

/* ---- two free neighbours: a coalesce that did not happen ---------------- */

static void free_a_mark_b(struct scenario *sc)
{
	free(sc->row[0]);		/* a: free, on the lists */
	set_free_bit(blk(sc, 1), true);	/* b claims to be free too */
}

static void unmark_b(struct scenario *sc)
{
	set_free_bit(blk(sc, 1), false);
}

/* The right-hand side: c free, b (its left neighbour) marked free. */
static void free_c_mark_b(struct scenario *sc)
{
	free(sc->row[2]);
	set_free_bit(blk(sc, 1), true);
}

/* ---- free lists and blocks disagree -------------------------------------- */

/* b says free (its neighbours are in use) but is on no list. */
static void mark_b(struct scenario *sc)
{
	set_free_bit(blk(sc, 1), true);
}

/* b is on a free list but its header says in use. */
static void free_b_unmark_b(struct scenario *sc)
{
	free(sc->row[1]);
	set_free_bit(blk(sc, 1), false);
}

static void remark_b(struct scenario *sc)
{
	set_free_bit(blk(sc, 1), true);
}

/* The list's own count says one block more than it links. */
static void skew_list_count(struct scenario *sc)
{
	free(sc->row[1]);
	seg_lookup(sc->row[0])->arena->fl.count++;
}

static void unskew_list_count(struct scenario *sc)
{
	seg_lookup(sc->row[0])->arena->fl.count--;
}

/* A free block's back link points elsewhere. */
static void break_prev_link(struct scenario *sc)
{
	free(sc->row[1]);
	sc->saved_ptr = blk(sc, 1)->prev_free;
	blk(sc, 1)->prev_free = blk(sc, 2);
}

static void mend_prev_link(struct scenario *sc)
{
	blk(sc, 1)->prev_free = sc->saved_ptr;
}

/* ---- statistics that do not add up --------------------------------------- */

static void skew_arena_used(struct scenario *sc)
{
	seg_lookup(sc->row[0])->arena->used_bytes += MM_ALIGN;
}

static void unskew_arena_used(struct scenario *sc)
{
	seg_lookup(sc->row[0])->arena->used_bytes -= MM_ALIGN;
}

static void skew_arena_committed(struct scenario *sc)
{
	seg_lookup(sc->row[0])->arena->committed += (size_t)getpagesize();
}

static void unskew_arena_committed(struct scenario *sc)
{
	seg_lookup(sc->row[0])->arena->committed -= (size_t)getpagesize();
}

/* The program's counters (what malloc and free counted) against the heap. */
static void skew_program_counters(struct scenario *sc)
{
	(void)sc;
	atomic_fetch_add(&mm_arenas[0].uncached.alloc_bytes, MM_ALIGN);
}

static void unskew_program_counters(struct scenario *sc)
{
	(void)sc;
	atomic_fetch_sub(&mm_arenas[0].uncached.alloc_bytes, MM_ALIGN);
}

static void skew_huge_count(struct scenario *sc)
{
	sc->saved_ptr = malloc(4 << 20);	/* one huge block, then count two */
	atomic_fetch_add(&mm_huge_count, 1);
}

static void unskew_huge_count(struct scenario *sc)
{
	atomic_fetch_sub(&mm_huge_count, 1);
	free(sc->saved_ptr);
}

/* ---- a damaged segment header -------------------------------------------- */

static void misalign_committed(struct scenario *sc)
{
	seg_lookup(sc->row[0])->committed += MM_ALIGN;	/* not a page multiple */
}

static void realign_committed(struct scenario *sc)
{
	seg_lookup(sc->row[0])->committed -= MM_ALIGN;
}

static void dirty_end_past_sentinel(struct scenario *sc)
{
	struct segment *s = seg_lookup(sc->row[0]);

	sc->saved_ptr = s->dirty_end;
	s->dirty_end = (char *)seg_sentinel(s) + 2 * MM_HDR;
}

static void restore_dirty_end(struct scenario *sc)
{
	seg_lookup(sc->row[0])->dirty_end = sc->saved_ptr;
}

static void break_segment_magic(struct scenario *sc)
{
	struct segment *s = seg_lookup(sc->row[0]);

	sc->saved_ptr = s;	/* seg_lookup() will not find it any more */
	s->magic ^= 1;
}

static void mend_segment_magic(struct scenario *sc)
{
	((struct segment *)sc->saved_ptr)->magic ^= 1;
}

/* ---- damaged block headers ----------------------------------------------- */

/* A huge block's header, found from its segment as check.c does. */
static struct block *huge_header(void *p)
{
	struct segment *s = seg_lookup(p);

	return (struct block *)((char *)s + s->reserved - s->huge_usable - MM_HDR);
}

static void huge_header_tag(struct scenario *sc)
{
	sc->saved_ptr = malloc(4 << 20);
	sc->saved = blk_head(huge_header(sc->saved_ptr));
	blk_set_head_raw(huge_header(sc->saved_ptr), sc->saved ^ ((size_t)1 << 60));
}

static void huge_header_restore(struct scenario *sc)
{
	blk_set_head_raw(huge_header(sc->saved_ptr), sc->saved);
	free(sc->saved_ptr);
}

static void block_size_odd(struct scenario *sc)
{
	sc->saved = blk_head(blk(sc, 1));
	blk_set_head_raw(blk(sc, 1), sc->saved + MM_ALIGN);	/* disagrees with c's tag */
}

static void block_size_restore(struct scenario *sc)
{
	blk_set_head_raw(blk(sc, 1), sc->saved);
}

/* ---- runs (fast policy only: other policies have no thread caches) ----- */

static char *run_blk[3];

/* Three blocks of one run; the middle one freed and back in the run. */
static struct block *run_setup(void)
{
	for (int i = 0; i < 3; i++)
		run_blk[i] = malloc(100);
	free(run_blk[1]);
	mymem_trim();		/* flushes the cache: run_blk[1] is free in its run */
	return blk_of(run_blk[0]);
}

static size_t *run_record(struct block *b)
{
	return (size_t *)((char *)b - head_run_off(blk_head(b)));	/* its magic word first */
}

static void run_magic_broken(struct scenario *sc)
{
	size_t *magic = run_record(run_setup());

	sc->saved_ptr = magic;
	sc->saved = *magic;
	*magic ^= 0x100;
}

static void run_magic_mended(struct scenario *sc)
{
	*(size_t *)sc->saved_ptr = sc->saved;
}

static void run_offset_skewed(struct scenario *sc)
{
	struct block *b = run_setup();

	sc->saved_ptr = b;
	blk_set_head_raw(b, blk_head(b) + ((size_t)16 << RUN_OFF_SHIFT));
}

static void run_offset_restored(struct scenario *sc)
{
	struct block *b = sc->saved_ptr;

	blk_set_head_raw(b, blk_head(b) - ((size_t)16 << RUN_OFF_SHIFT));
}

/* A free block of a run that no longer says so: counted as out. */
static void run_free_bit_cleared(struct scenario *sc)
{
	struct block *b;

	run_setup();
	b = blk_of(run_blk[1]);
	sc->saved_ptr = b;
	set_free_bit(b, false);
}

static void run_free_bit_set(struct scenario *sc)
{
	set_free_bit(sc->saved_ptr, true);
}

static void run_free_count_skewed(struct scenario *sc)
{
	struct segment *s = seg_lookup(run_setup());

	sc->saved_ptr = s->arena;
	s->arena->run_free_blocks++;
}

static void run_free_count_restored(struct scenario *sc)
{
	((struct arena *)sc->saved_ptr)->run_free_blocks--;
}

/* A run record's block size zeroed: the checker and the dump must not
 * divide by it or walk with it (the dump says "run-damaged"). */
#define RUN_BS_OFFSET	48	/* magic, next, prev, free, bump, end: run.c */

static void run_bs_zeroed(struct scenario *sc)
{
	uint32_t *bs = (uint32_t *)((char *)run_record(run_setup()) + RUN_BS_OFFSET);
	FILE *devnull = fopen("/dev/null", "w");

	sc->saved_ptr = bs;
	sc->saved = *bs;
	*bs = 0;
	if (devnull) {
		mymem_dump(devnull);
		fclose(devnull);
	}
}

static void run_bs_restored(struct scenario *sc)
{
	*(uint32_t *)sc->saved_ptr = (uint32_t)sc->saved;
}

#define RUN_CHECK_TEST(name, damage, undo, code) \
	TEST(name) { expect_code(_metadata, MYMEM_POLICY_FAST, damage, undo, code); }

RUN_CHECK_TEST(run_record_magic_broken, run_magic_broken, run_magic_mended, MYMEM_E_CORRUPT)
RUN_CHECK_TEST(run_block_offset_skewed, run_offset_skewed, run_offset_restored, MYMEM_E_CORRUPT)
RUN_CHECK_TEST(run_free_block_not_marked_free, run_free_bit_cleared, run_free_bit_set, MYMEM_E_STATS)
RUN_CHECK_TEST(run_record_block_size_zeroed, run_bs_zeroed, run_bs_restored, MYMEM_E_CORRUPT)
RUN_CHECK_TEST(arena_run_free_count_skewed, run_free_count_skewed, run_free_count_restored, MYMEM_E_STATS)

FIXTURE(check) { int unused; };
FIXTURE_SETUP(check) { self->unused = 0; }
FIXTURE_TEARDOWN(check) { (void)self; }

FIXTURE_VARIANT(check) { int policy; };
FIXTURE_VARIANT_ADD(check, fast) { .policy = MYMEM_POLICY_FAST };
FIXTURE_VARIANT_ADD(check, first_fit) { .policy = MYMEM_POLICY_FIRST_FIT };

#define CHECK_TEST(name, damage, undo, code) \
	TEST_F(check, name) { (void)self; expect_code(_metadata, variant->policy, damage, undo, code); }

CHECK_TEST(free_block_left_of_free_block, free_a_mark_b, unmark_b, MYMEM_E_FREE_NEIGHBOURS)
CHECK_TEST(free_block_right_of_free_block, free_c_mark_b, unmark_b, MYMEM_E_FREE_NEIGHBOURS)
CHECK_TEST(free_block_missing_from_lists, mark_b, unmark_b, MYMEM_E_FREELIST)
CHECK_TEST(listed_block_not_free, free_b_unmark_b, remark_b, MYMEM_E_FREELIST)
CHECK_TEST(list_count_skewed, skew_list_count, unskew_list_count, MYMEM_E_FREELIST)
CHECK_TEST(list_back_link_broken, break_prev_link, mend_prev_link, MYMEM_E_FREELIST)
CHECK_TEST(arena_used_bytes_skewed, skew_arena_used, unskew_arena_used, MYMEM_E_STATS)
CHECK_TEST(arena_committed_skewed, skew_arena_committed, unskew_arena_committed, MYMEM_E_STATS)
CHECK_TEST(program_counters_skewed, skew_program_counters, unskew_program_counters, MYMEM_E_STATS)
CHECK_TEST(huge_count_skewed, skew_huge_count, unskew_huge_count, MYMEM_E_STATS)
CHECK_TEST(segment_committed_misaligned, misalign_committed, realign_committed, MYMEM_E_SEGMENT)
CHECK_TEST(segment_dirty_end_out_of_range, dirty_end_past_sentinel, restore_dirty_end, MYMEM_E_SEGMENT)
CHECK_TEST(segment_magic_broken, break_segment_magic, mend_segment_magic, MYMEM_E_SEGMENT)
CHECK_TEST(block_size_disagrees_with_tag, block_size_odd, block_size_restore, MYMEM_E_CORRUPT)
CHECK_TEST(huge_header_broken, huge_header_tag, huge_header_restore, MYMEM_E_CORRUPT)

TEST_HARNESS_MAIN
