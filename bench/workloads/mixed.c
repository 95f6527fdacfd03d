/* SPDX-License-Identifier: MIT */
/*
 * mixed - a mixed size distribution with a long tail up to 1 MiB.
 *
 * Each thread keeps SLOTS live blocks and replaces a random one per step.
 * Sizes: 80% 16..256 B, 15% 257 B..4 KiB, 4.5% 4..64 KiB, 0.5% 64 KiB..
 * 1 MiB (log-uniform inside each band).  Every page of a new block is
 * written once, as a program using it would.
 */
#include "common.h"

#define SLOTS	8192

struct worker {
	uint64_t rng;
	uint64_t steps;
	uint64_t check;
	char pad[40];
};

static size_t log_uniform(uint64_t *rng, size_t lo, size_t hi)
{
	/* pick a power-of-two band, then uniform inside it */
	int blo = 63 - __builtin_clzll(lo), bhi = 63 - __builtin_clzll(hi);
	int b = blo + (int)(rng_next(rng) % (uint64_t)(bhi - blo + 1));
	size_t a = (size_t)1 << b, z = a * 2 - 1;

	if (a < lo)
		a = lo;
	if (z > hi)
		z = hi;
	return rng_range(rng, a, z);
}

static size_t mixed_size(uint64_t *rng)
{
	unsigned r = (unsigned)(rng_next(rng) % 1000);

	if (r < 800)
		return rng_range(rng, 16, 256);
	if (r < 950)
		return log_uniform(rng, 257, 4096);
	if (r < 995)
		return log_uniform(rng, 4097, 65536);
	return log_uniform(rng, 65537, 1 << 20);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	void **slot = xmalloc(SLOTS * sizeof(void *));
	uint64_t k;
	size_t i;

	for (i = 0; i < SLOTS; i++) {
		size_t n = mixed_size(&w->rng);

		slot[i] = xmalloc(n);
		touch(slot[i], n, (unsigned char)n);
	}
	for (k = 0; k < w->steps; k++) {
		size_t n = mixed_size(&w->rng);

		i = rng_next(&w->rng) % SLOTS;
		w->check += *(unsigned char *)slot[i];
		free(slot[i]);
		slot[i] = xmalloc(n);
		touch(slot[i], n, (unsigned char)n);
	}
	for (i = 0; i < SLOTS; i++)
		free(slot[i]);
	free(slot);
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct worker w[64];
	uint64_t check = 0, steps;
	double t0, t1;
	int i;

	bench_parse(argc, argv, &a, 1);
	steps = scaled(&a, 2000000);
	memset(w, 0, sizeof(w));
	for (i = 0; i < a.threads; i++) {
		w[i].rng = rng_seed(a.seed, i);
		w[i].steps = steps;
	}
	t0 = now_s();
	run_threads(a.threads, work, w, sizeof(w[0]));
	t1 = now_s();
	for (i = 0; i < a.threads; i++)
		check += w[i].check;
	bench_report("mixed", &a, steps * a.threads, t1 - t0, check);
	return 0;
}
