/* SPDX-License-Identifier: MIT */
/*
 * runmax - run a command, report its wall time and peak RSS.
 *
 *   runmax COMMAND [ARGS...]
 *
 * Forks, execs COMMAND, waits with wait4() and prints on stderr
 *   RUNMAX rc=R wall_s=X maxrss_kb=K
 * maxrss_kb is the child's ru_maxrss, which covers the child and the
 * descendants it waited for.  A small launcher is needed because Linux
 * carries ru_maxrss over fork()+exec() from the parent: measured straight
 * from the python driver, every program would "peak" at the driver's RSS.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, rc;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: runmax COMMAND [ARGS...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 3;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 3;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "RUNMAX rc=%d wall_s=%.6f maxrss_kb=%ld\n", rc,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
		ru.ru_maxrss);
	return rc;
}
