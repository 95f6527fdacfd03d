// SPDX-License-Identifier: MIT
/*
 * mymem_fuzz.c - libFuzzer harness for libmymem.
 *
 * Each input is a program: a sequence of allocation calls (malloc, calloc,
 * realloc, reallocarray, free, memalign, posix_memalign, aligned_alloc,
 * valloc, pvalloc, malloc_usable_size, mymem_trim, mymem_set_policy) on a
 * table of MAX_SLOTS live blocks.  A shadow model keeps, per slot, the
 * pointer, the requested size, the alignment asked for and a pattern seed;
 * every block is filled with its pattern when it is allocated and the
 * pattern is verified before the block is freed or reallocated (and
 * realloc must keep the common prefix).  After every step:
 *
 *   - results are checked: alignment, malloc_usable_size() >= requested,
 *     calloc'd memory zero, NULL only where allowed and then with the
 *     documented errno (ENOMEM for impossible sizes, EINVAL for a bad
 *     alignment);
 *   - mymem_check() must return 0 (the library walks its whole heap).
 *
 * At the end of an input every block is freed and the program's
 * bytes_in_use (mymem_heap_stats) must be back to its value at the start:
 * the harness leaks nothing, so the library must not either.
 *
 * libmymem exports only the standard names.  The Makefile links the
 * library's objects (built with clang, coverage-instrumented) with those
 * names renamed fz_malloc, fz_free, ... (objcopy --redefine-sym), and this
 * file calls them so (the macros below): the fuzzer engine and libc keep
 * glibc's malloc, the mymem heap holds only the harness's blocks, so a run
 * is reproducible from its input and a corrupted heap cannot take
 * libFuzzer's own crash reporting down with it.  No ASan (it would replace
 * malloc); UBSan is on.  On the host the library uses its fallback page
 * source (anonymous mmap) unless /dev/mymem exists.
 *
 * Any failed check prints what failed and abort()s: libFuzzer then saves
 * the input as crash-<sha1> and the run fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mymem.h"

/* The library's entry points, renamed by the Makefile. */
void *fz_malloc(size_t n);
void fz_free(void *p);
void *fz_calloc(size_t n, size_t m);
void *fz_realloc(void *p, size_t n);
void *fz_reallocarray(void *p, size_t n, size_t m);
int fz_posix_memalign(void **out, size_t align, size_t n);
void *fz_aligned_alloc(size_t align, size_t n);
void *fz_memalign(size_t align, size_t n);
void *fz_valloc(size_t n);
void *fz_pvalloc(size_t n);
size_t fz_malloc_usable_size(void *p);
#define malloc			fz_malloc
#define free			fz_free
#define calloc			fz_calloc
#define realloc			fz_realloc
#define reallocarray		fz_reallocarray
#define posix_memalign		fz_posix_memalign
#define aligned_alloc		fz_aligned_alloc
#define memalign		fz_memalign
#define valloc			fz_valloc
#define pvalloc			fz_pvalloc
#define malloc_usable_size	fz_malloc_usable_size

#define MAX_SLOTS	64
#define FILL_ALL	(64u << 10)	/* blocks up to this are patterned whole */
#define FILL_EDGE	4096u		/* larger ones: head and tail only */
#define LIVE_CAP	(96ull << 20)	/* bytes the harness keeps live at most */
#define MAX_STEPS	4096

struct slot {
	unsigned char *p;
	size_t size;		/* requested */
	size_t align;		/* asked for (16 for plain malloc) */
	unsigned char seed;
};

static struct slot slots[MAX_SLOTS];
static unsigned long long live_bytes;
static int cur_op;
static size_t page;

#define FAIL(...) do { \
	fprintf(stderr, "mymem_fuzz: step %d: ", cur_op); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	abort(); \
} while (0)

/* ---- input reader: running out of bytes yields zeros -------------------- */

struct in {
	const uint8_t *d;
	size_t n, i;
};

static unsigned u8(struct in *in)
{
	return in->i < in->n ? in->d[in->i++] : 0;
}

static unsigned u16(struct in *in)
{
	unsigned v = u8(in);

	return v | u8(in) << 8;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = u16(in);

	return v | (uint32_t)u16(in) << 16;
}

/* sizes around the end of the thread-cache bins (blocks 32..528 bytes) */
static size_t TC_EDGE(unsigned v)
{
	return 500 + (v % 40);
}

/*
 * A request size: mostly small (thread-cache sizes), then medium, large
 * (around the 1 MiB mmap threshold) and absurd ones (must fail ENOMEM).
 */
static size_t get_size(struct in *in)
{
	unsigned k = u8(in);

	switch (k >> 5) {
	case 0: case 1: case 2:
		return u16(in) % 600;		/* 0..599: tcache, small */
	case 3: case 4:
		return u16(in) % 16384;
	case 5:
		return u32(in) % (256u << 10);
	case 6:					/* 512 KiB .. 2.5 MiB */
		return (512u << 10) + u32(in) % (2u << 20);
	default:
		switch (k & 7) {
		case 0: return SIZE_MAX;
		case 1: return SIZE_MAX - u8(in);
		case 2: return ((size_t)1 << 46) + u8(in);	/* > MM_MAX_REQUEST */
		case 3: return ((size_t)1 << 46) - u8(in);	/* just under */
		case 4: return (size_t)1 << (40 + (u8(in) & 15));
		case 5: return (1u << 20) - 16 + (u8(in) & 31);	/* threshold */
		case 6: return TC_EDGE(u8(in));
		default: return page * (1 + (u8(in) & 7)) - 16 + (u8(in) & 31);
		}
	}
}

static size_t get_align(struct in *in)
{
	unsigned k = u8(in);

	if (k < 224)
		return (size_t)1 << (k % 21);		/* 1 .. 1 MiB, powers of two */
	switch (k & 7) {
	case 0: return 0;
	case 1: return 3 + (k & 0x18);
	case 2: return 24;
	case 3: return (size_t)1 << 30;
	case 4: return (size_t)1 << 47;
	case 5: return SIZE_MAX / 2 + 1;
	case 6: return 96;
	default: return 8;
	}
}

static int pow2(size_t a)
{
	return a && !(a & (a - 1));
}

/* Can the library be expected to satisfy this (given our live cap)? */
static int reasonable(size_t n, size_t align)
{
	return n <= (64u << 20) && align <= (1u << 20) &&
	       live_bytes + n + align <= LIVE_CAP;
}

/* ---- patterns ------------------------------------------------------------ */

static inline unsigned char pat(size_t off, unsigned char seed)
{
	size_t x = (off + 1) * 0x9E3779B1u + seed * 131u;

	return (unsigned char)(x ^ (x >> 11) ^ seed);
}

static void fill_range(unsigned char *p, size_t from, size_t to, unsigned char seed)
{
	for (size_t i = from; i < to; i++)
		p[i] = pat(i, seed);
}

static void check_range(const unsigned char *p, size_t from, size_t to,
			unsigned char seed, const char *what)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != pat(i, seed))
			FAIL("%s: block %p byte %zu is %#x, expected %#x",
			     what, (void *)p, i, p[i], pat(i, seed));
}

/* Apply fn to the patterned part of [0, n): all of it, or head and tail. */
static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	if (n <= FILL_ALL) {
		fill_range(p, 0, n, seed);
	} else {
		fill_range(p, 0, FILL_EDGE, seed);
		fill_range(p, n - FILL_EDGE, n, seed);
		fill_range(p, n / 2, n / 2 + 64, seed);
	}
}

static void verify(const unsigned char *p, size_t n, unsigned char seed,
		   const char *what)
{
	if (n <= FILL_ALL) {
		check_range(p, 0, n, seed, what);
	} else {
		check_range(p, 0, FILL_EDGE, seed, what);
		check_range(p, n - FILL_EDGE, n, seed, what);
		check_range(p, n / 2, n / 2 + 64, seed, what);
	}
}

/* The part of [0, keep) that the pattern of an @n-byte block covers. */
static void verify_prefix(const unsigned char *p, size_t n, size_t keep,
			  unsigned char seed, const char *what)
{
	size_t r[3][2] = {
		{ 0, FILL_EDGE }, { n - FILL_EDGE, n }, { n / 2, n / 2 + 64 },
	};

	if (n <= FILL_ALL) {
		check_range(p, 0, keep, seed, what);
		return;
	}
	for (int i = 0; i < 3; i++)
		if (r[i][0] < keep)
			check_range(p, r[i][0], r[i][1] < keep ? r[i][1] : keep,
				    seed, what);
}

/* ---- checks on a new block ---------------------------------------------- */

static void check_new(const char *fn, unsigned char *p, size_t n, size_t align)
{
	size_t us;

	if ((uintptr_t)p % 16)
		FAIL("%s(%zu) returned %p, not 16-byte aligned", fn, n, (void *)p);
	if (align > 16 && (uintptr_t)p % align)
		FAIL("%s(align %zu, %zu) returned %p, misaligned", fn, align, n,
		     (void *)p);
	us = malloc_usable_size(p);
	if (us < n)
		FAIL("%s(%zu): malloc_usable_size %zu < requested", fn, n, us);
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->p && p < s->p + (s->size ? s->size : 1) &&
		    s->p < p + (n ? n : 1))
			FAIL("%s(%zu) = %p overlaps live block %p (%zu bytes)",
			     fn, n, (void *)p, (void *)s->p, s->size);
	}
}

/*
 * A NULL result: allowed only for an impossible request, and then with
 * errno ENOMEM, or EINVAL when @check_align and the alignment is not a
 * power of two.
 */
static void check_null(const char *fn, size_t n, size_t align, int err,
		       int check_align)
{
	if (check_align && !pow2(align)) {
		if (err != EINVAL)
			FAIL("%s(align %zu, size %zu) = NULL with errno %d, "
			     "expected EINVAL", fn, align, n, err);
		return;
	}
	if (reasonable(n, align))
		FAIL("%s(align %zu, size %zu) failed (errno %d) although it is "
		     "a reasonable request", fn, align, n, err);
	if (err != ENOMEM)
		FAIL("%s(align %zu, size %zu) = NULL with errno %d, expected "
		     "ENOMEM", fn, align, n, err);
}

static void check_zero(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			FAIL("calloc'd block %p byte %zu is %#x", (void *)p, i, p[i]);
}

static void put(struct slot *s, unsigned char *p, size_t n, size_t align,
		unsigned char seed, int zeroed)
{
	if (zeroed && n <= 2 * FILL_ALL) {
		check_zero(p, 0, n);
	} else if (zeroed) {
		check_zero(p, 0, FILL_ALL);
		check_zero(p, n - FILL_ALL, n);
	}
	s->p = p;
	s->size = n;
	s->align = align;
	s->seed = seed;
	live_bytes += n;
	fill(p, n, seed);
}

static void drop(struct slot *s, const char *why)
{
	verify(s->p, s->size, s->seed, why);
	free(s->p);
	live_bytes -= s->size;
	s->p = NULL;
}

/* ---- one input ------------------------------------------------------------ */

enum op {
	OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_POSIX_MEMALIGN,
	OP_ALIGNED_ALLOC, OP_USABLE, OP_REALLOCARRAY, OP_VALLOC, OP_PVALLOC,
	OP_TRIM, OP_POLICY, OP_SCRIBBLE, OP_COUNT
};

static void step(struct in *in)
{
	unsigned op = u8(in) % OP_COUNT;
	struct slot *s = &slots[u8(in) % MAX_SLOTS];
	unsigned char seed = (unsigned char)u8(in);
	size_t n, m, align, t;
	unsigned char *p;
	void *vp;
	int r, e;

	switch (op) {
	case OP_MALLOC:
	case OP_CALLOC:
	case OP_VALLOC:
	case OP_PVALLOC:
		if (s->p)
			drop(s, "free before reuse");
		n = get_size(in);
		m = 1;
		if (op == OP_CALLOC) {
			m = 1 + u8(in) % 8;
			if (u8(in) == 0xff)
				m = SIZE_MAX / 2;	/* overflow */
		}
		errno = 0;
		align = 16;
		if (op == OP_MALLOC)
			p = malloc(n);
		else if (op == OP_CALLOC)
			p = calloc(n, m);
		else if (op == OP_VALLOC)
			p = valloc(n), align = page;
		else
			p = pvalloc(n), align = page;
		e = errno;
		if (__builtin_mul_overflow(n, m, &t))
			t = SIZE_MAX;
		if (op == OP_PVALLOC && t <= (64u << 20))
			t = t ? (t + page - 1) / page * page : page;
		if (!p) {
			check_null(op == OP_MALLOC ? "malloc" : op == OP_CALLOC ?
				   "calloc" : "valloc", t, align, e, 0);
			break;
		}
		check_new("alloc", p, t, align);
		put(s, p, t, align, seed, op == OP_CALLOC);
		break;
	case OP_MEMALIGN:
	case OP_POSIX_MEMALIGN:
	case OP_ALIGNED_ALLOC:
		if (s->p)
			drop(s, "free before reuse");
		align = get_align(in);
		n = get_size(in);
		errno = 0;
		if (op == OP_POSIX_MEMALIGN) {
			vp = (void *)0x1;
			r = posix_memalign(&vp, align, n);
			if (r) {
				if (vp != (void *)0x1)
					FAIL("posix_memalign failed (%d) but wrote *memptr", r);
				if (r == EINVAL && pow2(align) && align % sizeof(void *) == 0)
					FAIL("posix_memalign: EINVAL for alignment %zu", align);
				if (r != EINVAL && r != ENOMEM)
					FAIL("posix_memalign returned %d", r);
				if (r == ENOMEM)
					check_null("posix_memalign", n, align, ENOMEM, 0);
				break;
			}
			if (!pow2(align) || align % sizeof(void *))
				FAIL("posix_memalign accepted alignment %zu", align);
			p = vp;
		} else {
			p = op == OP_MEMALIGN ? memalign(align, n) : aligned_alloc(align, n);
			if (!p) {
				check_null(op == OP_MEMALIGN ? "memalign" : "aligned_alloc",
					   n, align, errno, 1);
				break;
			}
			if (!pow2(align))
				FAIL("aligned allocation accepted alignment %zu", align);
		}
		check_new("memalign", p, n, align);
		put(s, p, n, align, seed, 0);
		break;
	case OP_REALLOC:
	case OP_REALLOCARRAY:
		n = get_size(in);
		m = 1;
		if (op == OP_REALLOCARRAY)
			m = 1 + u8(in) % 4;
		if (__builtin_mul_overflow(n, m, &t))
			t = SIZE_MAX;
		if (s->p)
			verify(s->p, s->size, s->seed, "before realloc");
		errno = 0;
		p = op == OP_REALLOC ? realloc(s->p, n) : reallocarray(s->p, n, m);
		e = errno;
		if (t == 0 && s->p) {		/* glibc semantics: freed */
			if (p)
				FAIL("realloc(p, 0) returned %p, expected NULL", (void *)p);
			live_bytes -= s->size;
			s->p = NULL;
			break;
		}
		if (!p) {
			check_null("realloc", t, 16, e, 0);
			if (s->p)	/* old block must be intact */
				verify(s->p, s->size, s->seed, "after failed realloc");
			break;
		}
		if (s->p) {
			size_t keep = t < s->size ? t : s->size;
			unsigned char *old = s->p;

			s->p = NULL;	/* no overlap check against the old block */
			live_bytes -= s->size;
			/* the common prefix must have moved with the data */
			verify_prefix(p, s->size, keep, s->seed, "after realloc");
			if ((uintptr_t)p % 16)
				FAIL("realloc returned %p", (void *)p);
			(void)old;
		}
		check_new("realloc", p, t, 16);
		put(s, p, t, 16, seed, 0);
		break;
	case OP_FREE:
		if (s->p)
			drop(s, "before free");
		else
			free(NULL);
		break;
	case OP_USABLE:
		if (!s->p) {
			if (malloc_usable_size(NULL) != 0)
				FAIL("malloc_usable_size(NULL) != 0");
			break;
		}
		n = malloc_usable_size(s->p);
		if (n < s->size)
			FAIL("malloc_usable_size(%p) = %zu < %zu", (void *)s->p, n, s->size);
		/* the slack is ours to use too: write it, then put the pattern back */
		if (n - s->size <= FILL_ALL) {
			memset(s->p + s->size, seed, n - s->size);
			verify(s->p, s->size, s->seed, "after writing the slack");
		}
		break;
	case OP_TRIM:
		mymem_trim();
		break;
	case OP_POLICY:
		r = u8(in) % (MYMEM_POLICY_COUNT + 1);
		if (mymem_set_policy(r) != (r < MYMEM_POLICY_COUNT ? 0 : MYMEM_E_INVALID))
			FAIL("mymem_set_policy(%d) unexpected result", r);
		if (r < MYMEM_POLICY_COUNT && mymem_get_policy() != r)
			FAIL("mymem_get_policy() != %d", r);
		break;
	case OP_SCRIBBLE:
		/* rewrite a live block with a new pattern (payload only) */
		if (s->p) {
			verify(s->p, s->size, s->seed, "before rewrite");
			s->seed = seed;
			fill(s->p, s->size, seed);
		}
		break;
	}
}

static int initial_policy = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	page = (size_t)sysconf(_SC_PAGESIZE);
	free(malloc(1));
	initial_policy = mymem_get_policy();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mymem_heap_stats before, after;
	struct in in = { data, size, 0 };
	int steps = 0, r;

	if (mymem_heap_stats(&before))
		FAIL("mymem_heap_stats failed");
	live_bytes = 0;
	cur_op = 0;
	while (in.i < in.n && steps++ < MAX_STEPS) {
		cur_op = steps;
		step(&in);
		r = mymem_check();
		if (r)
			FAIL("mymem_check() = %d (%s)", r, mymem_strerror(r));
	}
	cur_op = -1;
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].p)
			drop(&slots[i], "at the end");
	if (mymem_get_policy() != initial_policy)
		mymem_set_policy(initial_policy);
	r = mymem_check();
	if (r)
		FAIL("mymem_check() = %d (%s) at the end", r, mymem_strerror(r));
	if (mymem_heap_stats(&after))
		FAIL("mymem_heap_stats failed");
	if (after.bytes_in_use != before.bytes_in_use)
		FAIL("bytes_in_use %llu before the input, %llu after freeing "
		     "everything", (unsigned long long)before.bytes_in_use,
		     (unsigned long long)after.bytes_in_use);
	return 0;
}
