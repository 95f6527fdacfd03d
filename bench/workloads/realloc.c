/* SPDX-License-Identifier: MIT */
/*
 * realloc - growth of strings and arrays by realloc().
 *
 * Each thread repeats a round: GROW buffers grow side by side (so the
 * neighbour of a buffer is usually taken and in-place growth is not a
 * given):
 *   - strings grow by appending 1..64 bytes at a time, realloc() to the
 *     exact new length + 1, up to 1..16 KiB;
 *   - arrays grow by doubling their capacity (8-byte elements) up to
 *     64..512 KiB and are filled as they grow.
 * Then everything is freed.
 */
#include "common.h"

#define GROW	8

struct worker {
	uint64_t rng;
	uint64_t rounds;
	uint64_t check;
	char pad[40];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t r;
	int b;

	for (r = 0; r < w->rounds; r++) {
		char *str[GROW];
		size_t len[GROW], target[GROW];
		uint64_t *arr[GROW];
		size_t cnt[GROW], cap[GROW], atarget[GROW];
		int active;

		for (b = 0; b < GROW; b++) {
			str[b] = xmalloc(1);
			str[b][0] = 0;
			len[b] = 0;
			target[b] = rng_range(&w->rng, 1024, 16384);
			cap[b] = 4;
			cnt[b] = 0;
			arr[b] = xmalloc(cap[b] * sizeof(uint64_t));
			atarget[b] = rng_range(&w->rng, 8192, 65536);
		}
		do {
			active = 0;
			for (b = 0; b < GROW; b++) {
				if (len[b] < target[b]) {
					size_t add = rng_range(&w->rng, 1, 64);

					str[b] = xrealloc(str[b], len[b] + add + 1);
					memset(str[b] + len[b], 'a' + b, add);
					len[b] += add;
					str[b][len[b]] = 0;
					active = 1;
				}
				if (cnt[b] < atarget[b]) {
					size_t k;

					if (cnt[b] == cap[b]) {
						cap[b] *= 2;
						arr[b] = xrealloc(arr[b], cap[b] * sizeof(uint64_t));
					}
					for (k = 0; k < 16 && cnt[b] < cap[b]; k++, cnt[b]++)
						arr[b][cnt[b]] = cnt[b];
					active = 1;
				}
			}
		} while (active);
		for (b = 0; b < GROW; b++) {
			w->check += (unsigned char)str[b][len[b] / 2] + arr[b][cnt[b] - 1];
			free(str[b]);
			free(arr[b]);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct worker w[64];
	uint64_t check = 0, rounds;
	double t0, t1;
	int i;

	bench_parse(argc, argv, &a, 1);
	rounds = scaled(&a, 200);
	memset(w, 0, sizeof(w));
	for (i = 0; i < a.threads; i++) {
		w[i].rng = rng_seed(a.seed, i);
		w[i].rounds = rounds;
	}
	t0 = now_s();
	run_threads(a.threads, work, w, sizeof(w[0]));
	t1 = now_s();
	for (i = 0; i < a.threads; i++)
		check += w[i].check;
	bench_report("realloc", &a, rounds * a.threads, t1 - t0, check);
	return 0;
}
