/* SPDX-License-Identifier: MIT */
/*
 * sys.h - raw system calls for the few libc functions only the library's
 * start-up and its rare paths would call.
 *
 * Why: the first call into a part of libc's text that the program itself
 * never runs faults that part in, and the kernel's fault-around maps a
 * whole 64 KiB window of it: 16 pages of resident memory in every process
 * for a sched_getaffinity() or a clock_gettime() called once.  A system
 * call made inline costs no page.  Other architectures use syscall(2).
 */
#ifndef MYMEM_SYS_H
#define MYMEM_SYS_H

#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
static inline long mm_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile ("syscall"
			  : "=a" (ret)
			  : "a" (nr), "D" (a), "S" (b), "d" (c)
			  : "rcx", "r11", "memory");
	return ret;	/* -errno on failure */
}
#elif defined(__aarch64__)
static inline long mm_syscall3(long nr, long a, long b, long c)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;

	__asm__ volatile ("svc 0" : "+r" (x0) : "r" (x8), "r" (x1), "r" (x2) : "memory");
	return x0;
}
#else
#include <errno.h>
static inline long mm_syscall3(long nr, long a, long b, long c)
{
	long r = syscall(nr, a, b, c);

	return r == -1 ? -errno : r;
}
#endif

#endif /* MYMEM_SYS_H */
