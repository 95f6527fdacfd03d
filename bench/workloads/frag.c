/* SPDX-License-Identifier: MIT */
/*
 * frag - a fragmentation pattern.
 *
 * Each thread repeats a cycle: allocate N = 2^17 small blocks (16..128 B), free
 * every other one, allocate N/2 larger blocks (160..512 B, too big for the
 * holes), free every other one of those, allocate N/4 blocks of
 * 1..4 KiB, then free everything.  The peak memory shows how much of the
 * freed space the allocator can reuse.  With -p it also prints how long
 * each of the eight phases took, summed over the cycles (stderr).
 */
#include "common.h"

#define NMAX	(1 << 17)

static size_t N = NMAX;
static int phases;	/* -p */

enum { SMALL, SMALL_FREE_EVEN, LARGE, LARGE_FREE_EVEN, HUGE, SMALL_FREE_ODD,
       LARGE_FREE_ODD, HUGE_FREE, NPHASES };
static const char *const phase_name[NPHASES] = {
	"small", "small-free-even", "large", "large-free-even", "huge",
	"small-free-odd", "large-free-odd", "huge-free",
};

struct worker {
	uint64_t rng;
	uint64_t cycles;
	uint64_t check;
	double phase_s[NPHASES];
	char pad[40];
};

/* The phase k that ended now, if timed; *t is when it began. */
static void lap(struct worker *w, int k, double *t)
{
	double n;

	if (!phases)
		return;
	n = now_s();
	w->phase_s[k] += n - *t;
	*t = n;
}

static void *alloc_fill(uint64_t *rng, size_t lo, size_t hi)
{
	size_t n = rng_range(rng, lo, hi);
	unsigned char *p = xmalloc(n);

	p[0] = (unsigned char)n;
	p[n - 1] = 1;
	return p;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	void **small = xmalloc(N * sizeof(void *));
	void **large = xmalloc(N / 2 * sizeof(void *));
	void **huge = xmalloc(N / 4 * sizeof(void *));
	double t = phases ? now_s() : 0;
	uint64_t c;
	size_t i;

	for (c = 0; c < w->cycles; c++) {
		for (i = 0; i < N; i++)
			small[i] = alloc_fill(&w->rng, 16, 128);
		lap(w, SMALL, &t);
		for (i = 0; i < N; i += 2) {
			w->check += *(unsigned char *)small[i];
			free(small[i]);
		}
		lap(w, SMALL_FREE_EVEN, &t);
		for (i = 0; i < N / 2; i++)
			large[i] = alloc_fill(&w->rng, 160, 512);
		lap(w, LARGE, &t);
		for (i = 0; i < N / 2; i += 2)
			free(large[i]);
		lap(w, LARGE_FREE_EVEN, &t);
		for (i = 0; i < N / 4; i++)
			huge[i] = alloc_fill(&w->rng, 1024, 4096);
		lap(w, HUGE, &t);
		for (i = 1; i < N; i += 2)
			free(small[i]);
		lap(w, SMALL_FREE_ODD, &t);
		for (i = 1; i < N / 2; i += 2)
			free(large[i]);
		lap(w, LARGE_FREE_ODD, &t);
		for (i = 0; i < N / 4; i++) {
			w->check += *(unsigned char *)huge[i];
			free(huge[i]);
		}
		lap(w, HUGE_FREE, &t);
	}
	free(small);
	free(large);
	free(huge);
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct worker w[64];
	uint64_t check = 0, cycles;
	double t0, t1;
	int i;

	bench_parse(argc, argv, &a, 1);
	phases = a.phases;
	/* SCALE below 0.1 (the VM) shrinks the blocks of one cycle instead */
	if (a.scale * 10 >= 1) {
		cycles = scaled(&a, 10);
	} else {
		cycles = 1;
		N = (size_t)(NMAX * a.scale * 10) & ~(size_t)3;
		if (N < 1024)
			N = 1024;
	}
	memset(w, 0, sizeof(w));
	for (i = 0; i < a.threads; i++) {
		w[i].rng = rng_seed(a.seed, i);
		w[i].cycles = cycles;
	}
	t0 = now_s();
	run_threads(a.threads, work, w, sizeof(w[0]));
	t1 = now_s();
	for (i = 0; i < a.threads; i++)
		check += w[i].check;
	if (phases) {
		fprintf(stderr, "frag phases (ms, summed over %d thread(s)):", a.threads);
		for (int k = 0; k < NPHASES; k++) {
			double s = 0;

			for (i = 0; i < a.threads; i++)
				s += w[i].phase_s[k];
			fprintf(stderr, " %s %.0f", phase_name[k], s * 1e3);
		}
		fprintf(stderr, "\n");
	}
	bench_report("frag", &a, cycles * a.threads * (N + N / 2 + N / 4), t1 - t0, check);
	return 0;
}
