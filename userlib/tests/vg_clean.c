// SPDX-License-Identifier: MIT
/*
 * vg_clean.c - a correct program for valgrind_test.sh: four threads
 * allocate, fill, check and free blocks of every kind (small, large and
 * huge; calloc, realloc up and down, every aligned entry point), then the
 * main thread runs the heap checker, statistics, dump, trim and a policy
 * change.  Under memcheck it must report no error at all.  Exit status 0
 * when every check of the data passed.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mymem.h"

#define THREADS	4
#define SLOTS	64
#define ROUNDS	3000

static _Atomic int failures;

static void fail(const char *what)
{
	fprintf(stderr, "vg_clean: %s\n", what);
	failures++;
}

struct slot {
	unsigned char *p;
	size_t n;
	unsigned char v;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t pick_size(uint32_t *s)
{
	uint32_t r = rnd(s) % 100;

	if (r < 70)
		return 1 + rnd(s) % 1100;	/* thread-cache sizes */
	if (r < 97)
		return 1100 + rnd(s) % 60000;	/* heap */
	return (1 << 20) + rnd(s) % (3 << 20);	/* own mapping */
}

static void check(struct slot *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		if (sl->p[i] != sl->v) {
			fail("block contents changed");
			return;
		}
}

static void *aligned(uint32_t *s, size_t n)
{
	size_t al = (size_t)16 << (rnd(s) % 9);	/* 16 .. 4096 */
	void *p = NULL;

	switch (rnd(s) % 5) {
	case 0:
		if (posix_memalign(&p, al, n))
			p = NULL;
		break;
	case 1:
		p = aligned_alloc(al, (n + al - 1) & ~(al - 1));
		break;
	case 2:
		p = memalign(al, n);
		break;
	case 3:
		p = valloc(n);
		al = 4096;
		break;
	default:
		p = pvalloc(n);
		al = 4096;
		break;
	}
	if (p && (uintptr_t)p % al)
		fail("misaligned block");
	return p;
}

/* Replace slot sl by a new block made one of five ways. */
static void renew(struct slot *sl, uint32_t *s)
{
	size_t n = pick_size(s), k;
	unsigned char *p;

	switch (rnd(s) % 5) {
	case 0:
		p = calloc(1, n);
		for (k = 0; p && k < n; k++)
			if (p[k])
				fail("calloc not zero");
		break;
	case 1:				/* realloc keeps the common prefix */
		p = realloc(sl->p, n);
		if (!p)
			break;
		k = sl->n < n ? sl->n : n;
		for (size_t i = 0; i < k; i++)
			if (p[i] != sl->v)
				fail("realloc lost data");
		sl->p = NULL;
		break;
	case 2:
		p = aligned(s, n);
		break;
	default:
		p = malloc(n);
		break;
	}
	if (!p) {
		fail("out of memory");
		return;
	}
	free(sl->p);
	sl->p = p;
	sl->n = n;
	if (malloc_usable_size(p) < n)
		fail("usable size below the request");
	sl->v = (unsigned char)rnd(s);
	memset(p, sl->v, sl->n);
}

static void *worker(void *arg)
{
	uint32_t s = (uint32_t)(uintptr_t)arg * 2654435761u | 1;
	struct slot *slots = calloc(SLOTS, sizeof(*slots));

	if (!slots) {
		fail("out of memory");
		return NULL;
	}
	for (int r = 0; r < ROUNDS; r++) {
		struct slot *sl = &slots[rnd(&s) % SLOTS];

		if (sl->p)
			check(sl);
		renew(sl, &s);
	}
	for (int i = 0; i < SLOTS; i++) {
		if (slots[i].p)
			check(&slots[i]);
		free(slots[i].p);
	}
	free(slots);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	struct mymem_heap_stats st;
	FILE *null = fopen("/dev/null", "w");

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)))
			fail("pthread_create");
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	if (mymem_check() != 0)
		fail("mymem_check");
	if (mymem_heap_stats(&st) != 0 || (null && mymem_dump(null) != 0))
		fail("stats or dump");
	mymem_trim();
	if (mymem_set_policy(MYMEM_POLICY_BEST_FIT) != 0)
		fail("set_policy");
	worker((void *)99);
	if (mymem_set_policy(MYMEM_POLICY_FAST) != 0 || mymem_check() != 0)
		fail("policy back, check");
	if (null)
		fclose(null);
	printf("vg_clean: %d failures\n", failures);
	return failures != 0;
}
