/* SPDX-License-Identifier: MIT */
/*
 * small - many short-lived small objects (8..256 B), as in the
 * object-churn programs of the classic suites (cfrac, espresso, xmalloc).
 *
 * Each thread repeats: build a linked list of 8..64 nodes of random size,
 * walk it, free it (short-lived), and replace one entry of a ring of
 * LIVE medium-lived objects.  Threads work independently.
 */
#include "common.h"

#define LIVE	(1 << 16)

struct node {
	struct node *next;
	uint32_t size;
	uint32_t val;
};

struct worker {
	uint64_t rng;
	uint64_t iters;
	uint64_t check;
	char pad[40];
};

static size_t small_size(uint64_t *rng)
{
	/* Skewed towards the small end like real programs: 8..64 B half of
	 * the time, else 8..256 B. */
	return (rng_next(rng) & 1) ? rng_range(rng, 8, 64) : rng_range(rng, 8, 256);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	void **ring = xmalloc(LIVE * sizeof(void *));
	uint64_t it;
	size_t i;

	memset(ring, 0, LIVE * sizeof(void *));
	for (it = 0; it < w->iters; it++) {
		struct node *head = NULL, *n;
		int len = (int)rng_range(&w->rng, 8, 64), k;
		unsigned char *p;
		size_t sz;

		for (k = 0; k < len; k++) {
			sz = small_size(&w->rng);
			if (sz < sizeof(*n))
				sz = sizeof(*n);
			n = xmalloc(sz);
			n->next = head;
			n->size = (uint32_t)sz;
			n->val = k;
			head = n;
		}
		while (head) {
			n = head->next;
			w->check += head->val + head->size;
			free(head);
			head = n;
		}
		i = rng_next(&w->rng) % LIVE;
		if (ring[i])
			w->check += *(unsigned char *)ring[i];
		free(ring[i]);
		sz = small_size(&w->rng);
		p = xmalloc(sz);
		p[0] = (unsigned char)sz;
		p[sz - 1] = 0;
		ring[i] = p;
	}
	for (i = 0; i < LIVE; i++)
		free(ring[i]);
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct worker w[64];
	uint64_t check = 0, iters;
	double t0, t1;
	int i;

	bench_parse(argc, argv, &a, 1);
	iters = scaled(&a, 300000);
	memset(w, 0, sizeof(w));
	for (i = 0; i < a.threads; i++) {
		w[i].rng = rng_seed(a.seed, i);
		w[i].iters = iters;
	}
	t0 = now_s();
	run_threads(a.threads, work, w, sizeof(w[0]));
	t1 = now_s();
	for (i = 0; i < a.threads; i++)
		check += w[i].check;
	/* ops: ~37 allocations per iteration on average. */
	bench_report("small", &a, iters * a.threads * 37, t1 - t0, check);
	return 0;
}
