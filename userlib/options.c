// SPDX-License-Identifier: MIT
/*
 * options.c - the environment variables of libmymem, read in one place.
 *
 * Read at the first allocation, which under LD_PRELOAD may come from the
 * dynamic loader before libc has set up `environ`: then the variables are
 * read from /proc/self/environ with raw open/read into a stack buffer.
 * Nothing here allocates, uses stdio or getenv.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

struct mm_options mm_opt = {
	.policy = MYMEM_POLICY_FAST,
	.mmap_threshold = (size_t)1 << 20,
	.trim_threshold = (size_t)2 << 20,
	.top_pad = (size_t)128 << 10,
	.purge_delay_ms = 250,
	.dyn_threshold = true,
	.arenas = 0,
	.require_device = false,
	.tcache = true,
	.nursery = 8,
	.device = "/dev/mymem",
};

static bool parse_size(const char *s, size_t *out)
{
	size_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	switch (*s) {
	case 'k': case 'K': v <<= 10; s++; break;
	case 'm': case 'M': v <<= 20; s++; break;
	case 'g': case 'G': v <<= 30; s++; break;
	default: break;
	}
	if (*s != '\0')
		return false;
	*out = v;
	return true;
}

static int parse_policy(const char *s)
{
	static const char *const names[][2] = {
		[MYMEM_POLICY_FAST] = { "fast", "tlsf" },
		[MYMEM_POLICY_FIRST_FIT] = { "first", "first-fit" },
		[MYMEM_POLICY_NEXT_FIT] = { "next", "next-fit" },
		[MYMEM_POLICY_BEST_FIT] = { "best", "best-fit" },
		[MYMEM_POLICY_WORST_FIT] = { "worst", "worst-fit" },
	};
	for (int i = 0; i < MYMEM_POLICY_COUNT; i++)
		if (!strcmp(s, names[i][0]) || !strcmp(s, names[i][1]))
			return i;
	return -1;
}

static void apply(const char *name, const char *val)
{
	size_t v;

	if (!strcmp(name, "MYMEM_POLICY")) {
		int p = parse_policy(val);

		if (p >= 0)
			mm_opt.policy = p;
		else
			mm_write_str(2, "mymem: unknown MYMEM_POLICY, using fast\n");
	} else if (!strcmp(name, "MYMEM_MMAP_THRESHOLD")) {
		if (parse_size(val, &v)) {
			if (v < 4096)
				v = 4096;
			if (v > ((size_t)1 << 30))
				v = (size_t)1 << 30;
			mm_opt.mmap_threshold = v;
			mm_opt.dyn_threshold = false;
		}
	} else if (!strcmp(name, "MYMEM_TRIM_THRESHOLD")) {
		if (parse_size(val, &v))
		{
			mm_opt.trim_threshold = v < 65536 ? 65536 : v;
			mm_opt.dyn_threshold = false;
		}
	} else if (!strcmp(name, "MYMEM_PURGE_DELAY")) {
		/* milliseconds, no suffix; at most a minute */
		if (parse_size(val, &v) && val[strlen(val) - 1] >= '0' && val[strlen(val) - 1] <= '9')
			mm_opt.purge_delay_ms = v > 60000 ? 60000 : (unsigned)v;
	} else if (!strcmp(name, "MYMEM_REQUIRE_DEVICE")) {
		mm_opt.require_device = val[0] != '\0' && strcmp(val, "0") != 0;
	} else if (!strcmp(name, "MYMEM_DEVICE")) {
		size_t n = strlen(val);

		if (n > 0 && n < sizeof(mm_opt.device))
			memcpy(mm_opt.device, val, n + 1);
	} else if (!strcmp(name, "MYMEM_ARENAS")) {
		if (parse_size(val, &v))
			mm_opt.arenas = v < 1 ? 1 : v > MM_MAX_ARENAS ? MM_MAX_ARENAS : (unsigned)v;
	} else if (!strcmp(name, "MYMEM_TCACHE")) {
		mm_opt.tcache = strcmp(val, "0") != 0;
	} else if (!strcmp(name, "MYMEM_NURSERY")) {
		if (parse_size(val, &v) && val[strlen(val) - 1] >= '0' && val[strlen(val) - 1] <= '9')
			mm_opt.nursery = v > 255 ? 255 : (unsigned)v;
	}
}

/* "NAME=value": apply if NAME starts with MYMEM_. */
static void consider(const char *entry)
{
	char name[32];
	const char *eq;
	size_t n;

	/* by hand: strncmp would fault in a page of libc text (sys.h) */
	for (n = 0; n < 6; n++)
		if (entry[n] != "MYMEM_"[n])
			return;
	eq = strchr(entry, '=');
	if (!eq)
		return;
	n = (size_t)(eq - entry);
	if (n >= sizeof(name))
		return;
	memcpy(name, entry, n);
	name[n] = '\0';
	apply(name, eq + 1);
}

static void load_from_proc(void)
{
	char buf[4096], entry[256];
	size_t elen = 0;
	bool skip = false;
	ssize_t r;
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\0') {
				if (!skip) {
					entry[elen] = '\0';
					consider(entry);
				}
				elen = 0;
				skip = false;
			} else if (elen + 1 < sizeof(entry)) {
				entry[elen++] = buf[i];
			} else {
				skip = true;	/* too long to be one of ours */
			}
		}
	}
	close(fd);
}

void options_load(void)
{
	char **env = environ;

	if (!env) {
		load_from_proc();
		return;
	}
	for (; *env; env++)
		consider(*env);
}
