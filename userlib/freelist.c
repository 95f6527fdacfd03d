// SPDX-License-Identifier: MIT
/*
 * freelist.c - the free lists of an arena and the fit policies.
 *
 * MYMEM_POLICY_FAST is a two-level segregated fit (TLSF, Masmano et al.):
 * the first level splits sizes by power of two, the second splits each
 * power of two into 16 ranges; below 256 bytes every 16-byte size has its
 * own list.  Two bitmaps say which lists are non-empty, so finding a list
 * whose every block fits is a couple of find-first-set instructions: O(1).
 *
 * The four classic policies share one doubly-linked list kept in address
 * order (insertion is O(n), as in the textbooks):
 *   first fit  the lowest-addressed block that fits
 *   next fit   first fit, starting where the previous search ended (rover)
 *   best fit   the smallest block that fits (ties: lowest address)
 *   worst fit  the largest block (ties: lowest address)
 */
#include "internal.h"

static inline int fls_sz(size_t x) { return 63 - __builtin_clzll((unsigned long long)x); }

static void mapping(size_t size, unsigned *fl, unsigned *sl)
{
	if (size < TLSF_SMALL) {
		*fl = 0;
		*sl = (unsigned)(size >> 4);
	} else {
		int l = fls_sz(size);

		*sl = (unsigned)(size >> (l - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT;
		*fl = (unsigned)(l - (TLSF_SL_LOG2 + 4) + 1);
		if (*fl >= TLSF_FL_COUNT) {
			*fl = TLSF_FL_COUNT - 1;
			*sl = TLSF_SL_COUNT - 1;
		}
	}
}

void fl_init(struct freelists *f, int policy)
{
	f->policy = policy;
	f->fl_bitmap = 0;
	for (unsigned i = 0; i < TLSF_FL_COUNT; i++) {
		f->sl_bitmap[i] = 0;
		for (unsigned j = 0; j < TLSF_SL_COUNT; j++)
			f->heads[i][j] = NULL;
	}
	f->addr_head = NULL;
	f->rover = NULL;
	f->count = 0;
	f->bytes = 0;
}

static void tlsf_insert(struct freelists *f, struct block *b)
{
	unsigned fl, sl;
	struct block *h;

	mapping(blk_size(b), &fl, &sl);
	h = f->heads[fl][sl];
	b->next_free = h;
	b->prev_free = NULL;
	if (h)
		h->prev_free = b;
	f->heads[fl][sl] = b;
	f->fl_bitmap |= (uint64_t)1 << fl;
	f->sl_bitmap[fl] |= 1u << sl;
}

static void tlsf_remove(struct freelists *f, struct block *b)
{
	unsigned fl, sl;

	mapping(blk_size(b), &fl, &sl);
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		f->heads[fl][sl] = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (!f->heads[fl][sl]) {
		f->sl_bitmap[fl] &= ~(1u << sl);
		if (!f->sl_bitmap[fl])
			f->fl_bitmap &= ~((uint64_t)1 << fl);
	}
}

#define TLSF_OWN_CLASS_TRIES	8

static struct block *tlsf_find(struct freelists *f, size_t size)
{
	unsigned fl, sl;
	uint32_t sl_map;
	uint64_t fl_map;
	struct block *b;

	/* Good fit first: a block of the request's own class may fit (a few
	 * are looked at: taking the next class up splits a larger block). */
	mapping(size, &fl, &sl);
	b = f->heads[fl][sl];
	for (unsigned k = 0; b && k < TLSF_OWN_CLASS_TRIES; k++, b = b->next_free)
		if (blk_size(b) >= size)
			return b;
	/* Then the next class up, where every block fits. */
	if (size >= TLSF_SMALL) {
		int l = fls_sz(size);
		size_t round = ((size_t)1 << (l - TLSF_SL_LOG2)) - 1;

		mapping(size + round, &fl, &sl);
	} else {
		sl++;
		if (sl == TLSF_SL_COUNT) {
			fl = 1;
			sl = 0;
		}
	}
	sl_map = sl < TLSF_SL_COUNT ? f->sl_bitmap[fl] & (~0u << sl) : 0;
	if (!sl_map) {
		fl_map = fl + 1 < TLSF_FL_COUNT ? f->fl_bitmap & (~(uint64_t)0 << (fl + 1)) : 0;
		if (!fl_map)
			return NULL;
		fl = (unsigned)__builtin_ctzll(fl_map);
		sl_map = f->sl_bitmap[fl];
	}
	sl = (unsigned)__builtin_ctz(sl_map);
	b = f->heads[fl][sl];
	/* The last class holds everything above it: search it. */
	while (b && blk_size(b) < size)
		b = b->next_free;
	return b;
}

static void addr_insert(struct freelists *f, struct block *b)
{
	struct block *prev = NULL, *cur = f->addr_head;

	/* Start from the rover when it is below b: a shortcut, same order. */
	if (f->rover && f->rover < b) {
		prev = f->rover;
		cur = prev->next_free;
	}
	while (cur && cur < b) {
		prev = cur;
		cur = cur->next_free;
	}
	b->prev_free = prev;
	b->next_free = cur;
	if (prev)
		prev->next_free = b;
	else
		f->addr_head = b;
	if (cur)
		cur->prev_free = b;
}

static void addr_remove(struct freelists *f, struct block *b)
{
	if (f->rover == b)
		f->rover = b->next_free;
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		f->addr_head = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
}

static struct block *addr_find(struct freelists *f, size_t size)
{
	struct block *b, *pick = NULL;

	switch (f->policy) {
	case MYMEM_POLICY_FIRST_FIT:
		for (b = f->addr_head; b; b = b->next_free)
			if (blk_size(b) >= size)
				return b;
		return NULL;
	case MYMEM_POLICY_NEXT_FIT:
		for (b = f->rover ? f->rover : f->addr_head; b; b = b->next_free)
			if (blk_size(b) >= size)
				return f->rover = b;
		for (b = f->addr_head; b && b != f->rover; b = b->next_free)
			if (blk_size(b) >= size)
				return f->rover = b;
		return NULL;
	case MYMEM_POLICY_BEST_FIT:
		for (b = f->addr_head; b; b = b->next_free) {
			size_t s = blk_size(b);

			if (s >= size && (!pick || s < blk_size(pick))) {
				pick = b;
				if (s == size)
					break;
			}
		}
		return pick;
	case MYMEM_POLICY_WORST_FIT:
		for (b = f->addr_head; b; b = b->next_free)
			if (!pick || blk_size(b) > blk_size(pick))
				pick = b;
		return pick && blk_size(pick) >= size ? pick : NULL;
	default:
		return NULL;
	}
}

void fl_insert(struct freelists *f, struct block *b)
{
	if (f->policy == MYMEM_POLICY_FAST)
		tlsf_insert(f, b);
	else
		addr_insert(f, b);
	f->count++;
	f->bytes += blk_size(b);
}

void fl_remove(struct freelists *f, struct block *b)
{
	if (f->policy == MYMEM_POLICY_FAST)
		tlsf_remove(f, b);
	else
		addr_remove(f, b);
	f->count--;
	f->bytes -= blk_size(b);
}

/* Blocks fl_find_such looks at, at most: it runs when a heap block is
 * needed (a run, a medium or large block), not per small malloc, and
 * each look is a cold header.  32 found no more than 8 in frag and mixed
 * (the same peaks), and cost 1.6 % of frag-1t's time in perf. */
#define TLSF_SUCH_TRIES	8

struct block *fl_find_such(struct freelists *f, size_t size,
			   bool (*ok)(const struct block *))
{
	unsigned first, sl, tries = TLSF_SUCH_TRIES;
	uint64_t fl_map;

	if (f->policy != MYMEM_POLICY_FAST)
		return NULL;
	mapping(size, &first, &sl);
	/* The request's own level from its class up, then only the levels
	 * that hold blocks (a walk over all 42 took half the instructions). */
	for (fl_map = f->fl_bitmap & (~(uint64_t)0 << first); fl_map; fl_map &= fl_map - 1) {
		unsigned fl = (unsigned)__builtin_ctzll(fl_map);
		uint32_t sl_map = f->sl_bitmap[fl] & (fl == first ? ~0u << sl : ~0u);

		while (sl_map) {
			unsigned i = (unsigned)__builtin_ctz(sl_map);

			sl_map &= sl_map - 1;
			for (struct block *b = f->heads[fl][i]; b; b = b->next_free) {
				if (blk_size(b) >= size && ok(b))
					return b;
				if (!--tries)
					return NULL;
			}
		}
	}
	return NULL;
}

struct block *fl_find(struct freelists *f, size_t size)
{
	if (f->policy == MYMEM_POLICY_FAST)
		return tlsf_find(f, size);
	return addr_find(f, size);
}

size_t fl_largest(struct freelists *f)
{
	size_t best = 0;

	if (f->policy == MYMEM_POLICY_FAST) {
		if (!f->fl_bitmap)
			return 0;
		unsigned fl = (unsigned)fls_sz((size_t)f->fl_bitmap);
		unsigned sl = (unsigned)fls_sz((size_t)f->sl_bitmap[fl]);

		for (struct block *b = f->heads[fl][sl]; b; b = b->next_free)
			if (blk_size(b) > best)
				best = blk_size(b);
		return best;
	}
	for (struct block *b = f->addr_head; b; b = b->next_free)
		if (blk_size(b) > best)
			best = blk_size(b);
	return best;
}

/*
 * Check the lists themselves: links agree both ways, every block is
 * marked free, sits in the right class (TLSF) or in address order, the
 * bitmaps match, and count/bytes match what the lists hold.
 */
static bool owned(const struct block *b, const struct arena *owner)
{
	struct segment *s = seg_lookup(b);

	return s && s->magic == SEG_MAGIC_HEAP && s->arena == owner;
}

int fl_check(struct freelists *f, const struct arena *owner,
	     size_t *count, size_t *bytes, size_t *largest)
{
	size_t n = 0, sum = 0, big = 0;

	if (f->policy == MYMEM_POLICY_FAST) {
		for (unsigned fl = 0; fl < TLSF_FL_COUNT; fl++) {
			bool fl_set = f->fl_bitmap & ((uint64_t)1 << fl);

			if (!fl_set && f->sl_bitmap[fl])
				return MYMEM_E_FREELIST;
			for (unsigned sl = 0; sl < TLSF_SL_COUNT; sl++) {
				struct block *b = f->heads[fl][sl], *prev = NULL;
				bool sl_set = f->sl_bitmap[fl] & (1u << sl);

				if (sl_set != (b != NULL))
					return MYMEM_E_FREELIST;
				for (; b; prev = b, b = b->next_free) {
					unsigned bfl, bsl;

					if (!owned(b, owner) || !blk_tag_ok(b) || !blk_is_free(b))
						return MYMEM_E_FREELIST;
					if (b->prev_free != prev)
						return MYMEM_E_FREELIST;
					mapping(blk_size(b), &bfl, &bsl);
					if (bfl != fl || bsl != sl)
						return MYMEM_E_FREELIST;
					if (++n > f->count)
						return MYMEM_E_FREELIST;
					sum += blk_size(b);
					if (blk_size(b) > big)
						big = blk_size(b);
				}
			}
		}
	} else {
		struct block *prev = NULL;
		bool rover_seen = f->rover == NULL;

		for (struct block *b = f->addr_head; b; prev = b, b = b->next_free) {
			if (!owned(b, owner) || !blk_tag_ok(b) || !blk_is_free(b) || b->prev_free != prev)
				return MYMEM_E_FREELIST;
			if (prev && prev >= b)
				return MYMEM_E_FREELIST;
			if (b == f->rover)
				rover_seen = true;
			if (++n > f->count)
				return MYMEM_E_FREELIST;
			sum += blk_size(b);
			if (blk_size(b) > big)
				big = blk_size(b);
		}
		if (!rover_seen)
			return MYMEM_E_FREELIST;
	}
	if (n != f->count || sum != f->bytes)
		return MYMEM_E_FREELIST;
	*count = n;
	*bytes = sum;
	*largest = big;
	return MYMEM_OK;
}
