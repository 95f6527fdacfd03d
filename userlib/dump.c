// SPDX-License-Identifier: MIT
/*
 * dump.c - mymem_dump(): every segment of the heap in address order, and
 * every block in it with its address, size and state.
 *
 * Blocks are copied out in small batches under the arena lock and printed
 * with no lock held, so the FILE may be anything stdio supports (stdio may
 * call malloc, i.e. us).  Between batches the walk resumes at the address
 * it stopped at; other threads may change the heap meanwhile, then the dump
 * shows a mixture of before and after, as any snapshot of a live heap.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "valgrind_annot.h"
#include "pagesource.h"

#define API __attribute__((visibility("default")))
#define BATCH 64

struct seg_rec {
	uintptr_t addr;
	size_t reserved, committed, usable;
	int kind;
	int arena;
	uintptr_t block;	/* huge: the block header */
};

struct blk_rec {
	uintptr_t addr;
	size_t size;
	const char *state;
	size_t run_bs, run_used, run_capacity;	/* state "run" */
};

/* The lowest segment above `after`, from the arenas and the huge list. */
static bool next_segment(uintptr_t after, struct seg_rec *out)
{
	bool found = false;

	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];

		arena_lock(a);
		for (struct segment *s = a->segs; s; s = s->next) {
			if ((uintptr_t)s > after && (!found || (uintptr_t)s < out->addr)) {
				*out = (struct seg_rec){ (uintptr_t)s, s->reserved, s->committed,
							 0, SEG_HEAP, (int)i, 0 };
				found = true;
			}
		}
		mm_unlock(&a->lock);
	}
	mm_lock(&mm_huge_lock);
	for (struct segment *s = mm_huge_list; s; s = s->next) {
		if ((uintptr_t)s > after && (!found || (uintptr_t)s < out->addr)) {
			*out = (struct seg_rec){ (uintptr_t)s, s->reserved, s->committed,
						 s->huge_usable, SEG_HUGE, -1,
						 (uintptr_t)huge_block(s) };
			found = true;
		}
	}
	mm_unlock(&mm_huge_lock);
	return found;
}

/* Up to BATCH blocks of segment sr starting at address from. */
static int collect(const struct seg_rec *sr, uintptr_t from, struct blk_rec *out)
{
	struct arena *a = &mm_arenas[sr->arena];
	struct segment *s;
	int n = 0;

	arena_lock(a);
	for (s = a->segs; s && (uintptr_t)s != sr->addr; s = s->next)
		;
	if (s) {
		struct block *end = seg_sentinel(s);

		for (struct block *b = seg_first(s); b != end && n < BATCH; b = blk_next(b)) {
			size_t h = blk_head(b);

			if ((uintptr_t)b < from)
				continue;
			out[n].addr = (uintptr_t)b;
			out[n].size = h & B_SIZE_MASK;
			out[n].state = h & B_FREE ? "free" : h & B_CACHED ? "cached" :
				       h & B_RUN_HEAP ? "run" : "used";
			if ((h & B_RUN_HEAP) && !run_describe(b, &out[n].run_bs, &out[n].run_used,
							 &out[n].run_capacity))
				out[n].state = "run-damaged";
			n++;
		}
	}
	mm_unlock(&a->lock);
	return n;
}

static int print_block(FILE *f, const struct blk_rec *r)
{
	if (!strcmp(r->state, "run"))
		return fprintf(f, "  %#lx %zu run: %zu of %zu blocks of %zu out\n",
			       (unsigned long)r->addr, r->size, r->run_used, r->run_capacity,
			       r->run_bs);
	return fprintf(f, "  %#lx %zu %s\n", (unsigned long)r->addr, r->size, r->state);
}

static int dump_heap(FILE *f)
{
	struct seg_rec sr;
	struct blk_rec recs[BATCH];
	uintptr_t after = 0;
	int err = 0;

	if (!mm_ready())
		return fprintf(f, "mymem: no heap (no page source)\n") < 0 ? -1 : 0;
	if (fprintf(f, "mymem heap dump: policy %s, page source %s\n"
		    "  each block: header address (payload at +16), size with header, state: used,\n"
		    "  free, cached (in a thread cache), or run (cut into blocks of one size class)\n",
		    mymem_policy_name(mm_policy()), mymem_page_source_name(ps_source())) < 0)
		err = -1;
	while (next_segment(after, &sr)) {
		after = sr.addr;
		if (sr.kind == SEG_HUGE) {
			if (fprintf(f, "segment %#lx large block: reserved %zu committed %zu\n"
				    "  %#lx %zu used\n", (unsigned long)sr.addr, sr.reserved,
				    sr.committed, (unsigned long)sr.block, sr.usable + MM_HDR) < 0)
				err = -1;
			continue;
		}
		if (fprintf(f, "segment %#lx arena %d: reserved %zu committed %zu\n",
			    (unsigned long)sr.addr, sr.arena, sr.reserved, sr.committed) < 0)
			err = -1;
		for (uintptr_t from = 0;;) {
			int n = collect(&sr, from, recs);

			for (int i = 0; i < n; i++)
				if (print_block(f, &recs[i]) < 0)
					err = -1;
			if (n < BATCH)
				break;
			from = recs[n - 1].addr + 1;
		}
	}
	return err;
}

/* Muted under memcheck: the walk reads headers. */
API int mymem_dump(FILE *f)
{
	bool m = vg_mute();
	int r = dump_heap(f);

	vg_unmute(m);
	return r;
}
