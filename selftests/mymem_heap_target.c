// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_heap_target.c - a program for debuggers to look at, linked with
 * libmymem: it puts a string on the heap (device pages) and prints where.
 *
 *   mymem_heap_target wait	print "ADDR PID", then wait until the string
 *				changes (a debugger wrote it) or 20 s pass;
 *				print the string; exit 0 if it changed
 *   mymem_heap_target crash	print "ADDR PID", then abort() (core dump)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORIGINAL "mymem-heap-string-original"

int main(int argc, char **argv)
{
	volatile char *s = malloc(4096);
	int i;

	if (!s || argc != 2)
		return 2;
	strcpy((char *)s, ORIGINAL);
	printf("%p %d\n", (void *)s, (int)getpid());
	fflush(stdout);

	if (!strcmp(argv[1], "crash"))
		abort();
	for (i = 0; i < 2000; i++) {
		if (strcmp((const char *)s, ORIGINAL))
			break;
		usleep(10000);
	}
	printf("%s\n", (const char *)s);
	return strcmp((const char *)s, ORIGINAL) ? 0 : 1;
}
