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
 *
 * The environment (MYMEM_POLICY, MYMEM_MMAP_THRESHOLD) is read once, at
 * the first allocation: the env tests re-exec this program with it set and
 * read back what the fresh process reports.
 */
#define _GNU_SOURCE
#include <malloc.h>

#include "kselftest_harness.h"
#include "testutil.h"

static char **g_argv;

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

/* The free top of the segment that holds p: its size (0 if none), and
 * its header's address in *at. */
static size_t free_top(void *p, uintptr_t *at)
{
	struct dump_block blk[8192];
	int n = read_dump(blk, 8192);
	uintptr_t seg = 0;
	size_t top = 0;

	for (int i = 0; i < n && i < 8192; i++)
		if (blk[i].addr < (uintptr_t)p && (!seg || blk[i].seg == seg))
			seg = blk[i].seg;
	for (int i = 0; i < n && i < 8192; i++)
		if (blk[i].seg == seg && !strcmp(blk[i].state, "free") && blk[i].addr > (uintptr_t)p) {
			top = blk[i].size;
			*at = blk[i].addr;
		}
	return top;
}

/* Consume the free top of the segment that holds p. */
static void *take_top(void *p)
{
	uintptr_t at;
	size_t top = free_top(p, &at);

	return top ? malloc(top - HDR) : NULL;
}

/* Consume the free top of the segment that holds p but for keep bytes. */
static void *take_top_but(void *p, size_t keep)
{
	uintptr_t at;
	size_t top = free_top(p, &at);

	return top > keep + 2 * HDR ? malloc(top - keep - 2 * HDR) : NULL;
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

/* ---- the environment ----------------------------------------------------- */

#define ENV_CHILD	"--env-child"
#define POLICY_WARNING	"mymem: unknown MYMEM_POLICY, using fast"

/* Runs in the re-executed program: what the library made of its environment. */
static int env_child(void)
{
	struct mymem_heap_stats st0, st1, st2;
	void *a, *b;

	mymem_heap_stats(&st0);
	a = malloc(60 * 1024);
	mymem_heap_stats(&st1);
	b = malloc(100 * 1024);
	mymem_heap_stats(&st2);
	fprintf(stderr, "policy=%d stats_policy=%d huge60k=%d huge100k=%d\n",
		mymem_get_policy(), st2.policy,
		(int)(st1.huge_blocks - st0.huge_blocks),
		(int)(st2.huge_blocks - st1.huge_blocks));
	free(a);
	free(b);
	return 0;
}

struct env_result {
	int policy, stats_policy, huge60k, huge100k;
	bool warned;
	int warnings;
};

static const char *env_var;

static void exec_with_env(void *arg)
{
	char *const envp[] = { (char *)env_var, NULL };
	char *const argv[] = { g_argv[0], ENV_CHILD, NULL };

	(void)arg;
	execve("/proc/self/exe", argv, env_var ? envp : envp + 1);
	_exit(99);
}

/* Re-exec with env ("NAME=value", or NULL for none) and parse the report. */
static void run_with_env(struct __test_metadata *_metadata, const char *env,
			 struct env_result *r)
{
	char msg[4096], *line, *w;
	int sig;

	env_var = env;
	sig = run_in_child(exec_with_env, NULL, msg, sizeof(msg));
	line = strstr(msg, "policy=");
	if (sig != 0 || !line)
		TH_LOG("%s: child (signal %d) said: %s", env ? env : "(no env)", sig, msg);
	ASSERT_EQ(0, sig);
	ASSERT_NE(NULL, line);
	ASSERT_EQ(4, sscanf(line, "policy=%d stats_policy=%d huge60k=%d huge100k=%d",
			    &r->policy, &r->stats_policy, &r->huge60k, &r->huge100k));
	r->warnings = 0;
	for (w = strstr(msg, POLICY_WARNING); w; w = strstr(w + 1, POLICY_WARNING))
		r->warnings++;
}

/*
 * The fast policy takes a free block whose pages were used before over
 * one that reaches into the segment's never-used top, though TLSF alone
 * would pick the latter here (a smaller class): the used one costs no page
 * faults and no new resident pages.
 */
TEST(fast_policy_reuses_written_pages_before_the_fresh_top)
{
	uintptr_t top = 0;
	size_t top_size, want = 80 << 10;
	char *hole, *guard, *filler, *r;

	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 1 << 20));
	ASSERT_EQ(0, mymem_set_policy(MYMEM_POLICY_FAST));
	hole = malloc(600 << 10);
	guard = malloc(1000);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, guard);
	memset(hole, 1, 600 << 10);
	/* Leave 128 KiB of the segment's free top: more than want needs. */
	filler = take_top_but(guard, 128 << 10);
	ASSERT_NE(NULL, filler);
	top_size = free_top(filler, &top);
	ASSERT_NE(0, top);
	ASSERT_GE(top_size, want + HDR);
	free(hole);

	r = malloc(want);
	ASSERT_NE(NULL, r);
	TH_LOG("hole %p, fresh top %#lx (%zu bytes), got %p", (void *)hole,
	       (unsigned long)top, top_size, (void *)r);
	/* Not a byte of the fresh top (which the dump's own stdio buffers,
	 * freed since, may have grown downwards): the used hole. */
	ASSERT_FALSE((uintptr_t)r < top + top_size && (uintptr_t)r + want > top);
	ASSERT_EQ(hole, r);
	ASSERT_EQ(0, mymem_check());
	free(r);
	free(filler);
	free(guard);
}

FIXTURE(env) { struct env_result r; };
FIXTURE_VARIANT(env) {
	const char *env;
	int policy;
	int warnings;		/* times the warning about MYMEM_POLICY appears */
};
FIXTURE_VARIANT_ADD(env, unset) { NULL, MYMEM_POLICY_FAST, 0 };
FIXTURE_VARIANT_ADD(env, fast) { "MYMEM_POLICY=fast", MYMEM_POLICY_FAST, 0 };
FIXTURE_VARIANT_ADD(env, first) { "MYMEM_POLICY=first", MYMEM_POLICY_FIRST_FIT, 0 };
FIXTURE_VARIANT_ADD(env, next) { "MYMEM_POLICY=next", MYMEM_POLICY_NEXT_FIT, 0 };
FIXTURE_VARIANT_ADD(env, best_fit) { "MYMEM_POLICY=best-fit", MYMEM_POLICY_BEST_FIT, 0 };
FIXTURE_VARIANT_ADD(env, worst) { "MYMEM_POLICY=worst", MYMEM_POLICY_WORST_FIT, 0 };
FIXTURE_VARIANT_ADD(env, invalid) { "MYMEM_POLICY=bogus", MYMEM_POLICY_FAST, 1 };
FIXTURE_VARIANT_ADD(env, empty) { "MYMEM_POLICY=", MYMEM_POLICY_FAST, 1 };

FIXTURE_SETUP(env) { memset(&self->r, 0, sizeof(self->r)); }
FIXTURE_TEARDOWN(env) { (void)self; }

TEST_F(env, policy_taken_from_environment)
{
	run_with_env(_metadata, variant->env, &self->r);
	EXPECT_EQ(variant->policy, self->r.policy);
	EXPECT_EQ(variant->policy, self->r.stats_policy);
	EXPECT_EQ(variant->warnings, self->r.warnings);
}

TEST(mmap_threshold_taken_from_environment)
{
	struct env_result r;

	/* default (1 MiB): neither block gets a mapping of its own */
	run_with_env(_metadata, NULL, &r);
	EXPECT_EQ(0, r.huge60k);
	EXPECT_EQ(0, r.huge100k);
	/* 64 KiB: the 100 KiB block does, the 60 KiB one does not */
	run_with_env(_metadata, "MYMEM_MMAP_THRESHOLD=64k", &r);
	EXPECT_EQ(0, r.huge60k);
	EXPECT_EQ(1, r.huge100k);
	/* not a size: ignored, the default stays */
	run_with_env(_metadata, "MYMEM_MMAP_THRESHOLD=lots", &r);
	EXPECT_EQ(0, r.huge100k);
}

int main(int argc, char **argv)
{
	g_argv = argv;
	if (argc > 1 && !strcmp(argv[1], ENV_CHILD))
		return env_child();
	return test_harness_run(argc, argv);
}
