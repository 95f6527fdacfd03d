/* SPDX-License-Identifier: MIT */
/*
 * larson - a server simulation after Larson & Krishnan (1998).
 *
 * THREADS workers each own a table of SLOTS live blocks.  A step frees a
 * random slot and puts a new block of random size (16..512 B) in it.  The
 * work goes in rounds; between rounds the tables rotate among the threads
 * (thread i takes table (i + round) % THREADS), so most frees of a round
 * hit blocks another thread allocated: the pattern of a server whose
 * connections migrate between worker threads.
 */
#include "common.h"

#define SLOTS		4000
#define MIN_SIZE	16
#define MAX_SIZE	512

struct table {
	void *slot[SLOTS];
};

struct worker {
	int idx;
	uint64_t rng;
	uint64_t steps;
	uint64_t check;
	char pad[64];
};

static struct table *tables;
static int nthreads;
static uint64_t rounds;
static pthread_barrier_t barrier;

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t r, k;

	for (r = 0; r < rounds; r++) {
		struct table *t = &tables[(w->idx + r) % nthreads];

		for (k = 0; k < w->steps; k++) {
			size_t i = rng_next(&w->rng) % SLOTS;
			size_t n = rng_range(&w->rng, MIN_SIZE, MAX_SIZE);
			unsigned char *p;

			if (t->slot[i])
				w->check += *(unsigned char *)t->slot[i];
			free(t->slot[i]);
			p = xmalloc(n);
			p[0] = (unsigned char)n;
			p[n - 1] = 1;
			t->slot[i] = p;
		}
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct worker *w;
	uint64_t check = 0;
	double t0, t1;
	int i, j;

	bench_parse(argc, argv, &a, 2);
	nthreads = a.threads;
	rounds = scaled(&a, 150);
	tables = calloc(nthreads, sizeof(*tables));
	w = calloc(nthreads, sizeof(*w));
	pthread_barrier_init(&barrier, NULL, nthreads);
	t0 = now_s();
	/* Fill: each thread's table starts full (allocated by main). */
	for (i = 0; i < nthreads; i++) {
		uint64_t s = rng_seed(a.seed, 1000 + i);

		for (j = 0; j < SLOTS; j++) {
			size_t n = rng_range(&s, MIN_SIZE, MAX_SIZE);
			unsigned char *p = xmalloc(n);

			p[0] = (unsigned char)n;
			tables[i].slot[j] = p;
		}
		w[i].idx = i;
		w[i].rng = rng_seed(a.seed, i);
		w[i].steps = 20000;
	}
	run_threads(nthreads, work, w, sizeof(*w));
	for (i = 0; i < nthreads; i++) {
		for (j = 0; j < SLOTS; j++)
			free(tables[i].slot[j]);
		check += w[i].check;
	}
	t1 = now_s();
	bench_report("larson", &a, rounds * 20000ULL * nthreads, t1 - t0, check);
	return 0;
}
