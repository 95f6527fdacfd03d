/* SPDX-License-Identifier: MIT */
/*
 * freecost - what one malloc and one free cost, in isolation: a probe for
 * reading where an allocator's time goes, not a workload of `make bench`.
 *
 *   freecost [-l LO] [-h HI] [-n N] [-c CYCLES]
 *
 * Each cycle mallocs N blocks of LO..HI bytes (uniform), writing their
 * first and last byte, then frees every other one (the even ones), then
 * the rest (the odd ones).  Prints the nanoseconds per call of each phase,
 * averaged over the cycles:
 *   FREECOST lo=LO hi=HI n=N cycles=C malloc_ns=X free_even_ns=Y free_odd_ns=Z
 * With N large enough that the blocks outgrow the caches (the default,
 * 65,536 blocks of 160..512 bytes, is about 22 MiB), a free that reads
 * the block it frees pays a cache miss that one that only writes it
 * does not.  Run it under LD_PRELOAD to compare allocators.
 */
#include "common.h"

static double ns_per(double s, size_t calls, uint64_t cycles)
{
	return s / (double)cycles / (double)calls * 1e9;
}

int main(int argc, char **argv)
{
	size_t lo = 160, hi = 512, n = 1 << 16, i;
	uint64_t cycles = 20, c, rng = 0x9e3779b97f4a7c15ull;
	double t_malloc = 0, t_even = 0, t_odd = 0, t;
	unsigned char **blk;
	int opt;

	while ((opt = getopt(argc, argv, "l:h:n:c:")) != -1) {
		switch (opt) {
		case 'l': lo = strtoul(optarg, NULL, 0); break;
		case 'h': hi = strtoul(optarg, NULL, 0); break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 'c': cycles = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: freecost [-l LO] [-h HI] [-n N] [-c CYCLES]\n");
			return 2;
		}
	}
	if (lo < 1 || hi < lo || n < 2 || cycles < 1) {
		fprintf(stderr, "freecost: need 1 <= LO <= HI, N >= 2, CYCLES >= 1\n");
		return 2;
	}
	blk = xmalloc(n * sizeof(*blk));
	for (c = 0; c < cycles; c++) {
		t = now_s();
		for (i = 0; i < n; i++) {
			size_t sz = rng_range(&rng, lo, hi);

			blk[i] = xmalloc(sz);
			blk[i][0] = 1;
			blk[i][sz - 1] = 1;
		}
		t_malloc += now_s() - t;
		t = now_s();
		for (i = 0; i < n; i += 2)
			free(blk[i]);
		t_even += now_s() - t;
		t = now_s();
		for (i = 1; i < n; i += 2)
			free(blk[i]);
		t_odd += now_s() - t;
	}
	free(blk);
	printf("FREECOST lo=%zu hi=%zu n=%zu cycles=%llu malloc_ns=%.1f free_even_ns=%.1f free_odd_ns=%.1f\n",
	       lo, hi, n, (unsigned long long)cycles, ns_per(t_malloc, n, cycles),
	       ns_per(t_even, (n + 1) / 2, cycles), ns_per(t_odd, n / 2, cycles));
	return 0;
}
