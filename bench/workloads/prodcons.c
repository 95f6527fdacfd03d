/* SPDX-License-Identifier: MIT */
/*
 * prodcons - a producer/consumer pipeline: every block is freed by a
 * different thread from the one that allocated it.
 *
 * THREADS/2 pairs (at least one); in each pair the producer allocates
 * messages of random size (16..1024 B, a few up to 16 KiB), writes them and
 * passes them through a single-producer/single-consumer ring of RING
 * pointers; the consumer reads and frees them.  The ring lets up to RING
 * messages be in flight, so the allocator sees batches of remote frees.
 *
 * Each side reads the other's index only when its last reading says the
 * ring is full (producer) or empty (consumer), as SPSC queues do: read at
 * every message, the two index lines crossed between the CPUs twice per
 * message, a cost that is the machine's, not the allocator's.  It does
 * not end the two speeds this workload runs at on the 2-vCPU bench host,
 * for every allocator (about 0.25 s, or 1.0-1.2 s per run, before and
 * after this change): which one a run gets decides prodcons-2t's median.
 */
#include "common.h"
#include <sched.h>
#include <stdatomic.h>

#define RING	4096

struct pair {
	_Atomic uint64_t head;	/* written by the producer */
	char pad1[56];
	_Atomic uint64_t tail;	/* written by the consumer */
	char pad2[56];
	void *ring[RING];
	uint64_t msgs;
	uint64_t rng;
	uint64_t check;
};

struct role {
	struct pair *p;
	int consumer;
	char pad[48];
};

static void *producer(struct pair *p)
{
	uint64_t i, head = 0, tail = 0;

	for (i = 0; i < p->msgs; i++) {
		size_t n = (rng_next(&p->rng) % 64) ? rng_range(&p->rng, 16, 1024)
						    : rng_range(&p->rng, 1025, 16384);
		unsigned char *m = xmalloc(n);

		memset(m, (int)(i & 0xff), n < 64 ? n : 64);
		m[n - 1] = (unsigned char)i;
		*(uint32_t *)m = (uint32_t)n;
		while (head - tail >= RING) {
			tail = atomic_load_explicit(&p->tail, memory_order_acquire);
			if (head - tail >= RING)
				sched_yield();
		}
		p->ring[head % RING] = m;
		atomic_store_explicit(&p->head, ++head, memory_order_release);
	}
	return NULL;
}

static void *consumer(struct pair *p)
{
	uint64_t i, tail = 0, head = 0;

	for (i = 0; i < p->msgs; i++) {
		unsigned char *m;

		while (head == tail) {
			head = atomic_load_explicit(&p->head, memory_order_acquire);
			if (head == tail)
				sched_yield();
		}
		m = p->ring[tail % RING];
		atomic_store_explicit(&p->tail, ++tail, memory_order_release);
		p->check += m[*(uint32_t *)m - 1];
		free(m);
	}
	return NULL;
}

static void *run(void *arg)
{
	struct role *r = arg;

	return r->consumer ? consumer(r->p) : producer(r->p);
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct pair *pairs;
	struct role *roles;
	uint64_t check = 0, msgs;
	double t0, t1;
	int i, npairs;

	bench_parse(argc, argv, &a, 2);
	npairs = a.threads / 2 ? a.threads / 2 : 1;
	msgs = scaled(&a, 3000000);
	pairs = aligned_alloc(64, npairs * sizeof(*pairs));
	memset(pairs, 0, npairs * sizeof(*pairs));
	roles = calloc(2 * npairs, sizeof(*roles));
	for (i = 0; i < npairs; i++) {
		pairs[i].msgs = msgs;
		pairs[i].rng = rng_seed(a.seed, i);
		roles[2 * i].p = &pairs[i];
		roles[2 * i + 1].p = &pairs[i];
		roles[2 * i + 1].consumer = 1;
	}
	t0 = now_s();
	run_threads(2 * npairs, run, roles, sizeof(*roles));
	t1 = now_s();
	for (i = 0; i < npairs; i++)
		check += pairs[i].check;
	a.threads = 2 * npairs;
	bench_report("prodcons", &a, msgs * npairs, t1 - t0, check);
	return 0;
}
