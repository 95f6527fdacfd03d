// SPDX-License-Identifier: MIT
/*
 * demo.c - what `make run` shows: a program allocating through libmymem,
 * then the heap's own view and the module's view of the same pages.
 *
 * Build: cc demo.c -I userlib -I kmod/uapi build/userlib/libmymem.a -lpthread
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mymem.h"
#include "mymem_dev.h"

struct word {
	struct word *next;
	char text[];
};

/* A few thousand small blocks, a growing array, a large block. */
static struct word *make_words(int n)
{
	struct word *head = NULL;

	for (int i = 0; i < n; i++) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "word-%d", i);
		struct word *w = malloc(sizeof(*w) + len + 1);

		if (!w)
			return head;
		memcpy(w->text, buf, len + 1);
		w->next = head;
		head = w;
	}
	return head;
}

static void print_kernel_view(void)
{
	struct mymem_stats st = { .size = sizeof(st) };
	char line[64];
	FILE *f;
	int fd;

	fd = open(MYMEM_DEVICE_PATH, O_RDWR);
	if (fd < 0 || ioctl(fd, MYMEM_IOC_PROC_STATS, &st) != 0) {
		perror("MYMEM_IOC_PROC_STATS");
	} else {
		printf("\nthe module's view of this process (ioctl MYMEM_IOC_PROC_STATS):\n");
		printf("  resident_pages %llu, peak %llu, allocated %llu, freed %llu, mmap calls %llu, munmap calls %llu\n",
		       (unsigned long long)st.resident_pages,
		       (unsigned long long)st.peak_resident_pages,
		       (unsigned long long)st.pages_allocated,
		       (unsigned long long)st.pages_freed,
		       (unsigned long long)st.mmap_calls,
		       (unsigned long long)st.munmap_calls);
	}
	if (fd >= 0)
		close(fd);
	f = fopen("/sys/class/misc/mymem/resident_pages", "r");
	if (f && fgets(line, sizeof(line), f))
		printf("  all users (sysfs resident_pages): %s", line);
	if (f)
		fclose(f);
}

int main(void)
{
	struct mymem_heap_stats hs;
	struct word *words = make_words(5000);
	size_t cap = 16, len = 0;
	int *array = malloc(cap * sizeof(*array));
	char *big = calloc(4, 1 << 20);

	for (int i = 0; array && i < 100000; i++) {
		if (len == cap) {
			int *grown = realloc(array, 2 * cap * sizeof(*array));

			if (!grown)
				break;
			array = grown;
			cap *= 2;
		}
		array[len++] = i;
	}
	if (big)
		snprintf(big, 64, "a 4 MiB block, zeroed: byte 4000000 is %d",
			 big[4000000]);
	printf("allocated 5000 words (first: %s), an array of %zu ints, %s\n",
	       words ? words->text : "-", len, big ? big : "no 4 MiB block");

	/* Free every other word: the heap now has holes to coalesce. */
	for (struct word *w = words; w && w->next; w = w->next) {
		struct word *gone = w->next;

		w->next = gone->next;
		free(gone);
	}

	printf("\nthe heap's view (mymem_print_stats):\n");
	mymem_print_stats(stdout);
	if (mymem_heap_stats(&hs) == 0)
		printf("\nmymem_check(): %s\n", mymem_strerror(mymem_check()));
	print_kernel_view();

	free(big);
	free(array);
	while (words) {
		struct word *next = words->next;

		free(words);
		words = next;
	}
	mymem_trim();
	printf("\nafter freeing everything and mymem_trim():\n");
	print_kernel_view();
	return 0;
}
