// SPDX-License-Identifier: MIT
/*
 * errors.c - error codes and fatal reports.
 *
 * A damaged heap stops the program at the first call that notices it:
 * the message names the function and the pointer and goes to stderr with
 * write(2) (stdio may allocate, and the heap is what is broken), then
 * abort().
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void mm_write_str(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void hex(char *out, uintptr_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[2 * sizeof(v)];
	int n = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	*out++ = '0';
	*out++ = 'x';
	while (n)
		*out++ = tmp[--n];
	*out = '\0';
}

void mm_fatal(const char *what, const void *ptr, const char *why)
{
	char buf[2 * sizeof(uintptr_t) + 4];

	hex(buf, (uintptr_t)ptr);
	mm_write_str(2, "mymem: ");
	mm_write_str(2, what);
	mm_write_str(2, "(");
	mm_write_str(2, buf);
	mm_write_str(2, "): ");
	mm_write_str(2, why);
	mm_write_str(2, "\n");
	abort();
}

const char *mymem_strerror(int err)
{
	switch (err) {
	case MYMEM_OK:			return "no error";
	case MYMEM_E_CORRUPT:		return "heap corrupted: block header or boundary tag damaged";
	case MYMEM_E_FREE_NEIGHBOURS:	return "heap corrupted: two free blocks are neighbours";
	case MYMEM_E_FREELIST:		return "heap corrupted: free lists disagree with the blocks";
	case MYMEM_E_STATS:		return "heap statistics do not add up";
	case MYMEM_E_SEGMENT:		return "heap corrupted: segment header or segment map damaged";
	case MYMEM_E_NO_SPACE:		return "out of memory: the page source has no more pages";
	case MYMEM_E_INVALID:		return "invalid argument";
	case MYMEM_E_NO_DEVICE:		return "the mymem device is not in use";
	case MYMEM_E_PERM:		return "operation not permitted";
	case MYMEM_E_NOT_HEAP:		return "pointer is not inside the heap";
	default:			return "unknown mymem error";
	}
}
