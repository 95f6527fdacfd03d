// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_stress_test.c - libmymem and /dev/mymem under load, at the limits.
 *
 * Linked statically with libmymem (like mymem_heap_test): every malloc()
 * here, the harness's included, is served from device pages.
 *
 *  - many processes x threads allocate, free, fork and exit at once, with
 *    max_pages and max_pages_per_process lowered so that both are hit:
 *    malloc() then returns NULL with errno ENOMEM, nothing crashes, and once
 *    everything has exited every page is back;
 *  - a process killed with SIGKILL in the middle of heavy allocation loses
 *    nothing: its pages return;
 *  - in a cgroup v2 child with a small memory.max, mmap() past it fails with
 *    ENOMEM and malloc() returns NULL/ENOMEM, nobody is OOM-killed, and
 *    memory.current shows the charge;
 *  - an unprivileged user (nobody) allocates within the limits, cannot read
 *    a root process's pages (process_vm_readv: EPERM; /proc/PID/mem:
 *    EACCES/EPERM) and cannot translate addresses (EPERM).
 *
 * "Pages leaked" is the change of the global resident_pages minus the
 * change of this test process's own (its heap may grow meanwhile); it must
 * be 0, and pages_allocated - pages_freed must move by the same amount.
 *
 * Knobs: MYMEM_STRESS_SECONDS (default 25), MYMEM_STRESS_PROCS (6),
 * MYMEM_STRESS_THREADS (4), MYMEM_STRESS_KILLS (4).
 */
#include <mymem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <ucontext.h>

#include "kselftest_harness.h"
/* mymem.h's mymem_virt_to_phys() is the library's; the helper is renamed */
#define mymem_virt_to_phys selftest_virt_to_phys
#include "mymem_selftest.h"
#undef mymem_virt_to_phys

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif
#define CGROOT		"/sys/fs/cgroup"
#define WAIT_MS		60000

static int env_int(const char *name, int def, int min, int max)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : def;

	return v < min ? min : v > max ? max : v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* Figures shared by every process of a test (MAP_SHARED anonymous). */
struct figures {
	atomic_ulong ops, mallocs, frees, enomem, bad_errno, corrupt;
	atomic_ulong forks, procs, threads, fork_children_killed;
	atomic_ulong peak_blocks;
	uint64_t deadline_ms;
};

static struct figures *new_figures(void)
{
	struct figures *f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (f != MAP_FAILED)
		memset(f, 0, sizeof(*f));
	return f == MAP_FAILED ? NULL : f;
}

/* ------------------------------------------------------------- snapshots */

struct snap {
	struct mymem_stats global, self;
};

static int take_snap(int fd, struct snap *s)
{
	int ret = mymem_global_stats(fd, &s->global);

	return ret ? ret : mymem_proc_stats(fd, &s->self);
}

/* Pages the run left behind: global change minus this process's own. */
static long long leaked(const struct snap *a, const struct snap *b)
{
	return (long long)(b->global.resident_pages - a->global.resident_pages) -
	       (long long)(b->self.resident_pages - a->self.resident_pages);
}

static long long leaked_by_counts(const struct snap *a, const struct snap *b)
{
	long long g = (long long)((b->global.pages_allocated - b->global.pages_freed) -
				  (a->global.pages_allocated - a->global.pages_freed));
	long long s = (long long)((b->self.pages_allocated - b->self.pages_freed) -
				  (a->self.pages_allocated - a->self.pages_freed));

	return g - s;
}

/* ----------------------------------------------------------- allocators */

#define SLOTS	96

struct blk {
	unsigned char *p;
	size_t n;
	unsigned char seed;
};

/*
 * What this thread was doing, for crash_report(): a worker that dies of a
 * signal says where and in which call, not just its exit status.
 */
static __thread const char *t_doing = "-";
static __thread size_t t_size;
static __thread void *t_ptr;

/* Print the lines of /proc/self/maps within 4 MiB of @a (signal-safe). */
static void crash_maps(const char *what, uintptr_t a)
{
	char buf[4096], line[200];
	int fd = open("/proc/self/maps", O_RDONLY), n, len = 0, i;

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			unsigned long lo, hi;

			if (buf[i] != '\n') {
				if (len < (int)sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 ||
			    hi + (4 << 20) < a || lo > a + (4 << 20))
				continue;
			dprintf(1, "#   %s%s %s\n", lo <= a && a < hi ? "=> " : "   ",
				what, line);
		}
	}
	close(fd);
}

static void crash_report(int sig, siginfo_t *si, void *ucv)
{
	uintptr_t ip = 0;
#if defined(__x86_64__)
	ucontext_t *uc = ucv;

	ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
	(void)ucv;
#endif
	dprintf(1, "# CRASH pid %d tid %d: signal %d code %d at %p, ip %#lx, "
		"in %s(%zu) ptr %p\n", (int)getpid(), (int)gettid(), sig,
		si->si_code, si->si_addr, (unsigned long)ip, t_doing, t_size, t_ptr);
	crash_maps("addr", (uintptr_t)si->si_addr);
	if (ip)
		crash_maps("ip", ip);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_crashes(void)
{
	struct sigaction sa = { .sa_sigaction = crash_report, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

static size_t pick_size(uint64_t *rng)
{
	unsigned int r = xs(rng) % 100;

	if (r < 50)
		return 3 + xs(rng) % 512;	/* >= 3: three distinct marks */
	if (r < 80)
		return 512 + xs(rng) % 16384;
	if (r < 97)
		return 16384 + xs(rng) % (256 << 10);
	return (1 << 20) + xs(rng) % (2 << 20);	/* own mapping */
}

static void fill_blk(struct blk *b)
{
	b->p[0] = b->seed;
	b->p[b->n - 1] = b->seed ^ 0xff;
	b->p[b->n / 2] = b->seed + 1;
}

static bool blk_ok(const struct blk *b)
{
	return b->p[0] == b->seed && b->p[b->n - 1] == (unsigned char)(b->seed ^ 0xff) &&
	       b->p[b->n / 2] == (unsigned char)(b->seed + 1);
}

/*
 * Allocate and free at random until the deadline or @max_ops; NULL must
 * come with ENOMEM (then half the blocks are freed).  Returns the number of
 * operations.
 */
static unsigned long churn(struct figures *f, uint64_t *rng, uint64_t deadline,
			   unsigned long max_ops, bool touch_all)
{
	struct blk blk[SLOTS] = { 0 };
	unsigned long ops = 0, live = 0;
	int i;

	while (ops < max_ops && (ops % 64 || now_ms() < deadline)) {
		struct blk *b = &blk[xs(rng) % SLOTS];

		ops++;
		if (b->p) {
			if (!blk_ok(b))
				atomic_fetch_add(&f->corrupt, 1);
			t_doing = "free";
			t_size = b->n;
			t_ptr = b->p;
			free(b->p);
			t_doing = "churn";
			b->p = NULL;
			live--;
			atomic_fetch_add(&f->frees, 1);
			continue;
		}
		b->n = pick_size(rng);
		errno = 0;
		t_size = b->n;
		t_ptr = NULL;
		if (xs(rng) % 4) {
			t_doing = "malloc";
			b->p = malloc(b->n);
		} else {
			t_doing = "calloc";
			b->p = calloc(1, b->n);
		}
		t_doing = "churn";
		t_ptr = b->p;
		if (!b->p) {
			if (errno == ENOMEM)
				atomic_fetch_add(&f->enomem, 1);
			else
				atomic_fetch_add(&f->bad_errno, 1);
			for (i = 0; i < SLOTS; i += 2) {
				if (blk[i].p) {
					free(blk[i].p);
					blk[i].p = NULL;
					live--;
				}
			}
			continue;
		}
		atomic_fetch_add(&f->mallocs, 1);
		b->seed = (unsigned char)xs(rng);
		if (touch_all)
			memset(b->p, b->seed, b->n);
		fill_blk(b);
		live++;
		if (live > atomic_load(&f->peak_blocks))
			atomic_store(&f->peak_blocks, live);
	}
	for (i = 0; i < SLOTS; i++) {
		if (blk[i].p) {
			if (!blk_ok(&blk[i]))
				atomic_fetch_add(&f->corrupt, 1);
			free(blk[i].p);
		}
	}
	atomic_fetch_add(&f->ops, ops);
	return ops;
}

struct thr {
	struct figures *f;
	uint64_t rng;
	uint64_t deadline;
	bool forker;
};

static void *churn_thread(void *arg)
{
	struct thr *t = arg;

	atomic_fetch_add(&t->f->threads, 1);
	while (now_ms() < t->deadline) {
		churn(t->f, &t->rng, t->deadline, 2000, false);
		if (t->forker && xs(&t->rng) % 3 == 0) {
			/* fork in the middle of everybody's allocating */
			pid_t pid;

			t_doing = "fork";
			pid = fork();
			t_doing = "churn";
			if (pid == 0) {
				churn(t->f, &t->rng, now_ms() + 300, 300, false);
				if (xs(&t->rng) % 3 == 0)
					raise(SIGKILL);
				_exit(0);
			}
			if (pid > 0) {
				int code;

				atomic_fetch_add(&t->f->forks, 1);
				code = child_exit_code(pid, WAIT_MS);
				if (code == -SIGKILL)
					atomic_fetch_add(&t->f->fork_children_killed, 1);
				else if (code != 0)
					atomic_fetch_add(&t->f->corrupt, 1000000);
			}
		}
	}
	t_doing = "thread exit";	/* the thread cache goes back after this */
	return NULL;
}

/* One worker process: threads churning until its own end, then exit. */
static void worker(struct figures *f, int nthreads, uint64_t seed, uint64_t end)
{
	pthread_t tid[16];
	bool started[16] = { false };
	struct thr t[16];
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	catch_crashes();
	atomic_fetch_add(&f->procs, 1);
	for (i = 0; i < nthreads; i++) {
		t[i].f = f;
		t[i].rng = seed * 0x9e3779b97f4a7c15ull + i + 1;
		t[i].deadline = end;
		t[i].forker = i == 0;
		t_doing = "pthread_create";
		/* EAGAIN at the limits is fine: run with fewer threads (any of
		 * them may fail, not only the last ones) */
		started[i] = pthread_create(&tid[i], NULL, churn_thread, &t[i]) == 0;
	}
	t_doing = "pthread_join";
	for (i = 0; i < nthreads; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	t_doing = "exit";
	/* leave half the time with blocks still allocated: exit frees them */
	if (seed & 1)
		_exit(0);
	exit(0);
}

FIXTURE(stress)
{
	int fd;
	uint64_t max_pages, max_ppp;
	bool saved;
	struct snap before;
};

FIXTURE_SETUP(stress)
{
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0U, geteuid()) TH_LOG("the stress test needs root");
	ASSERT_EQ(0, mymem_param_get("max_pages", &self->max_pages));
	ASSERT_EQ(0, mymem_param_get("max_pages_per_process", &self->max_ppp));
	self->saved = true;
	/* warm the harness's own heap before the first snapshot */
	free(malloc(1 << 16));
	ASSERT_EQ(0, take_snap(self->fd, &self->before));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->saved) {
		EXPECT_EQ(0, mymem_param_set("max_pages", self->max_pages));
		EXPECT_EQ(0, mymem_param_set("max_pages_per_process", self->max_ppp));
	}
	close(self->fd);
}

/* Wait (bounded) for the module to have nothing more than at @before. */
static void settle(int fd, const struct snap *before, struct snap *after)
{
	int i;

	for (i = 0; i < 100; i++) {
		take_snap(fd, after);
		if (leaked(before, after) == 0)
			return;
		usleep(20000);
	}
}

TEST_F_TIMEOUT(stress, processes_and_threads_allocate_to_the_limits_and_give_every_page_back, 900)
{
	int seconds = env_int("MYMEM_STRESS_SECONDS", 25, 1, 36000);
	int nprocs = env_int("MYMEM_STRESS_PROCS", 6, 1, 64);
	int nthreads = env_int("MYMEM_STRESS_THREADS", 4, 1, 16);
	struct figures *f = new_figures();
	pid_t pids[64] = { 0 };
	uint64_t end, seed = now_ms(), spawned = 0, killed = 0, bad = 0;
	uint64_t limit = self->before.global.resident_pages + 6144;
	struct snap after;
	int i, code;

	ASSERT_NE(NULL, f);
	/* 24 MiB for everybody, 6 MiB for one process: both are reached */
	ASSERT_EQ(0, mymem_param_set("max_pages", limit));
	ASSERT_EQ(0, mymem_param_set("max_pages_per_process", 1536));
	printf("# %d s, %d processes x %d threads at a time, max_pages %llu, "
	       "max_pages_per_process 1536\n", seconds, nprocs, nthreads,
	       (unsigned long long)limit);
	fflush(stdout);
	end = now_ms() + seconds * 1000ull;
	/* keep nprocs workers alive; each lives 1-5 s, some are SIGKILLed */
	while (now_ms() < end) {
		for (i = 0; i < nprocs; i++) {
			if (pids[i] > 0) {
				int st;
				pid_t r = waitpid(pids[i], &st, WNOHANG);

				if (r == 0)
					continue;
				if (r == pids[i] && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
				    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
					TH_LOG("worker %d ended with status %#x", pids[i], st);
					bad++;
				}
				pids[i] = 0;
			}
			if (now_ms() + 500 >= end)
				continue;
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i] == 0)
				worker(f, nthreads, seed >> 1,
				       now_ms() + 1000 + (seed >> 33) % 4000);
			spawned++;
		}
		usleep(100000);
		if (xs(&seed) % 10 == 0) {	/* a SIGKILL in the middle */
			i = xs(&seed) % nprocs;
			if (pids[i] > 0 && kill(pids[i], SIGKILL) == 0)
				killed++;
		}
	}
	for (i = 0; i < nprocs; i++) {
		if (pids[i] <= 0)
			continue;
		code = child_exit_code(pids[i], WAIT_MS);
		if (code != 0 && code != -SIGKILL) {
			TH_LOG("worker %d ended with %d", pids[i], code);
			bad++;
		}
	}
	settle(self->fd, &self->before, &after);
	printf("# %lu operations (%lu mallocs, %lu frees), %lu ENOMEM, %llu "
	       "processes spawned (%llu SIGKILLed), %lu threads, %lu forks in "
	       "the middle (%lu children SIGKILLed themselves)\n",
	       atomic_load(&f->ops), atomic_load(&f->mallocs),
	       atomic_load(&f->frees), atomic_load(&f->enomem),
	       (unsigned long long)spawned, (unsigned long long)killed,
	       atomic_load(&f->threads), atomic_load(&f->forks),
	       atomic_load(&f->fork_children_killed));
	printf("# pages: %llu allocated, %llu freed, peak resident %llu; pages "
	       "leaked: %lld (by the counters: %lld)\n",
	       (unsigned long long)(after.global.pages_allocated -
				    self->before.global.pages_allocated),
	       (unsigned long long)(after.global.pages_freed -
				    self->before.global.pages_freed),
	       (unsigned long long)after.global.peak_resident_pages,
	       leaked(&self->before, &after),
	       leaked_by_counts(&self->before, &after));
	fflush(stdout);
	EXPECT_EQ(0ULL, bad);
	EXPECT_EQ(0UL, atomic_load(&f->corrupt)) TH_LOG("corrupted blocks or crashed fork children");
	EXPECT_EQ(0UL, atomic_load(&f->bad_errno)) TH_LOG("NULL with an errno other than ENOMEM");
	EXPECT_LT(0UL, atomic_load(&f->enomem)) TH_LOG("the limits were never reached");
	EXPECT_LT(0UL, atomic_load(&f->forks));
	EXPECT_EQ(0, leaked(&self->before, &after));
	EXPECT_EQ(0, leaked_by_counts(&self->before, &after));
	munmap(f, sizeof(*f));
}

TEST_F_TIMEOUT(stress, sigkill_during_heavy_allocation_returns_every_page, 600)
{
	int kills = env_int("MYMEM_STRESS_KILLS", 4, 1, 1000);
	struct figures *f = new_figures();
	unsigned long long at_kill_total = 0;
	struct snap after, mid;
	int k, code, p[2];

	ASSERT_NE(NULL, f);
	f->deadline_ms = 0;
	for (k = 0; k < kills; k++) {
		pid_t pid;

		ASSERT_EQ(0, sync_pipe(p));
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			pthread_t tid[3];
			struct thr t[3];
			int i;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (i = 0; i < 3; i++) {
				t[i] = (struct thr){ f, 77 + 13 * i + k, now_ms() + 120000, false };
				if (pthread_create(&tid[i], NULL, churn_thread, &t[i]) != 0) {
					/* not the 4 threads the test reports */
					pipe_put(p[1], 'e');
					_exit(3);
				}
			}
			{	/* heavy: touch every byte, keep a lot live */
				uint64_t rng = 5 + k;

				pipe_put(p[1], 'g');
				churn(f, &rng, now_ms() + 120000, ~0ul, true);
			}
			_exit(0);
		}
		close(p[1]);
		ASSERT_EQ('g', pipe_get(p[0], WAIT_MS));
		close(p[0]);
		usleep(300000 + 200000 * (k % 4));
		ASSERT_EQ(0, take_snap(self->fd, &mid));
		at_kill_total += mid.global.resident_pages -
				 self->before.global.resident_pages;
		ASSERT_EQ(0, kill(pid, SIGKILL));
		code = child_exit_code(pid, WAIT_MS);
		EXPECT_EQ(-SIGKILL, code);
		settle(self->fd, &self->before, &after);
		EXPECT_EQ(0, leaked(&self->before, &after)) {
			TH_LOG("kill %d: %lld pages not returned", k,
			       leaked(&self->before, &after));
		}
	}
	printf("# %d processes (4 threads each) SIGKILLed in the middle of "
	       "allocating, holding %llu pages on average; %lu operations; "
	       "pages leaked: %lld\n", kills, at_kill_total / kills,
	       atomic_load(&f->ops), leaked(&self->before, &after));
	EXPECT_LT(0ULL, at_kill_total) TH_LOG("the children held no pages when killed");
	EXPECT_EQ(0, leaked_by_counts(&self->before, &after));
	EXPECT_EQ(0UL, atomic_load(&f->bad_errno));
	munmap(f, sizeof(*f));
}

/* ------------------------------------------------------------- cgroups */

static int cg_read(const char *cg, const char *file, long long *val)
{
	char path[192];
	uint64_t v;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	ret = read_u64_file(path, &v);
	*val = (long long)v;
	return ret;
}

static long long cg_event(const char *cg, const char *name)
{
	char path[192], buf[1024], *s;
	long long v = -1;

	snprintf(path, sizeof(path), "%s/memory.events", cg);
	if (read_text_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, name);
	if (!s || sscanf(s + strlen(name), " %lld", &v) != 1)
		return -1;
	return v;
}

static long long vmstat(const char *name)
{
	char buf[16384], *s;
	long long v = -1;

	if (read_text_file("/proc/vmstat", buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, name);
	if (s && sscanf(s + strlen(name), " %lld", &v) == 1)
		return v;
	return -1;
}

FIXTURE(memcg)
{
	int fd;
	char cg[128];
	bool mounted, created;
	struct snap before;
};

FIXTURE_SETUP(memcg)
{
	struct statfs sfs;
	char buf[256];

	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
	ASSERT_EQ(0U, geteuid()) TH_LOG("cgroups need root");
	if (statfs(CGROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		ASSERT_EQ(0, mount("none", CGROOT, "cgroup2", 0, NULL)) {
			TH_LOG("mount cgroup2 on " CGROOT ": %s", strerror(errno));
		}
		self->mounted = true;
	}
	ASSERT_LT(0, read_text_file(CGROOT "/cgroup.controllers", buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "memory")) TH_LOG("no memory controller");
	write_str_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(self->cg, sizeof(self->cg), CGROOT "/mymem-stress-%d", (int)getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	self->created = true;
	free(malloc(1 << 16));
	ASSERT_EQ(0, take_snap(self->fd, &self->before));
}

FIXTURE_TEARDOWN(memcg)
{
	int i;

	for (i = 0; self->created && i < 300; i++) {
		if (rmdir(self->cg) == 0 || errno != EBUSY)
			break;
		usleep(10000);
	}
	if (self->mounted)
		umount2(CGROOT, MNT_DETACH);
	close(self->fd);
}

#define CG_MAX_MB	16

TEST_F_TIMEOUT(memcg, over_memory_max_mmap_and_malloc_fail_enomem_nobody_oom_killed, 300)
{
	char path[192], pidbuf[32];
	long long current = 0, oom_before, oom_kill, vm_oom_before;
	struct snap after;
	int to_parent[2], to_child[2], code, bystander_code, msg;
	pid_t pid, bystander;
	long ps = page_size();

	snprintf(path, sizeof(path), "%s/memory.max", self->cg);
	ASSERT_EQ(0, write_str_file(path, "16M"));
	vm_oom_before = vmstat("oom_kill");
	oom_before = cg_event(self->cg, "oom_kill");
	ASSERT_EQ(0, sync_pipe(to_parent));
	ASSERT_EQ(0, sync_pipe(to_child));
	/* someone outside the cgroup, to see that nothing else is killed */
	bystander = fork();
	ASSERT_LE(0, bystander);
	if (bystander == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();		/* until the parent's SIGTERM */
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *maps[256];
		int n = 0, i, fd;
		void *blocks[4096];
		int nb = 0;
		uint64_t t0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(path, sizeof(path), "%s/cgroup.procs", self->cg);
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		CHILD_CHECK(write_str_file(path, pidbuf) == 0);
		fd = mymem_open();
		CHILD_CHECK(fd >= 0);
		/* 1 MiB at a time, up to 4 x memory.max */
		t0 = now_ms();
		for (n = 0; n < 4 * CG_MAX_MB; n++) {
			maps[n] = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE, fd, 0);
			if (maps[n] == MAP_FAILED)
				break;
			maps[n][0] = 1;
		}
		CHILD_CHECK(n < 4 * CG_MAX_MB);		/* the limit was hit */
		CHILD_CHECK(errno == ENOMEM);
		CHILD_CHECK(n >= CG_MAX_MB / 4);	/* and not at once */
		fprintf(stderr, "# child: %d MiB mapped, the next mmap failed "
			"ENOMEM; %llu ms\n", n, (unsigned long long)(now_ms() - t0));
		pipe_put(to_parent[1], (char)n);	/* parent reads memory.current */
		CHILD_CHECK(pipe_get(to_child[0], WAIT_MS) == 'c');
		for (i = 0; i < n; i++)
			munmap(maps[i], 1 << 20);
		/* the same through libmymem: NULL with ENOMEM, no OOM kill */
		for (nb = 0; nb < 4096; nb++) {
			errno = 0;
			blocks[nb] = malloc(64 << 10);
			if (!blocks[nb])
				break;
			memset(blocks[nb], 0x5a, 64 << 10);
		}
		CHILD_CHECK(nb < 4096);
		CHILD_CHECK(errno == ENOMEM);
		CHILD_CHECK(nb >= 16);
		pipe_put(to_parent[1], (char)(nb / 16));
		for (i = 0; i < nb; i++)
			free(blocks[i]);
		/* freed memory is usable again */
		blocks[0] = malloc(1 << 20);
		CHILD_CHECK(blocks[0] != NULL);
		free(blocks[0]);
		_exit(0);
	}
	msg = pipe_get(to_parent[0], 3 * WAIT_MS);
	ASSERT_LT(0, msg) TH_LOG("the child did not reach the limit");
	ASSERT_EQ(0, cg_read(self->cg, "memory.current", &current));
	printf("# cgroup memory.max %d MiB: mmap of 1 MiB pieces failed with "
	       "ENOMEM after %d MiB; memory.current then %lld KiB\n",
	       CG_MAX_MB, msg, current >> 10);
	EXPECT_LE((long long)msg << 20, current) TH_LOG("memory.current does not show the charge");
	EXPECT_GE((long long)CG_MAX_MB << 20, current);
	pipe_put(to_child[1], 'c');
	msg = pipe_get(to_parent[0], WAIT_MS);
	EXPECT_LT(0, msg);
	printf("# malloc(64 KiB) in the cgroup: NULL/ENOMEM after %d MiB\n", msg);
	code = child_exit_code(pid, WAIT_MS);
	EXPECT_EQ(0, code) TH_LOG("the child ended with %d (-9: OOM-killed?)", code);
	/* the bystander is still alive: SIGTERM is the first signal it gets */
	EXPECT_EQ(0, waitpid(bystander, NULL, WNOHANG));
	kill(bystander, SIGTERM);
	bystander_code = child_exit_code(bystander, WAIT_MS);
	EXPECT_EQ(-SIGTERM, bystander_code);
	oom_kill = cg_event(self->cg, "oom_kill");
	EXPECT_EQ(oom_before, oom_kill);
	EXPECT_EQ(vm_oom_before, vmstat("oom_kill")) TH_LOG("someone was OOM-killed");
	settle(self->fd, &self->before, &after);
	EXPECT_EQ(0, leaked(&self->before, &after));
	printf("# oom_kill events: cgroup %lld, system %lld -> %lld; pages "
	       "leaked: %lld\n", oom_kill, vm_oom_before, vmstat("oom_kill"),
	       leaked(&self->before, &after));
	(void)ps;
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

/* ------------------------------------------------------ unprivileged user */

TEST_F_TIMEOUT(stress, unprivileged_user_allocates_but_cannot_read_or_translate, 300)
{
	static char *secret;
	struct snap after;
	pid_t root_pid = getpid(), pid;
	int code;

	secret = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE,
		      self->fd, 0);
	ASSERT_NE(MAP_FAILED, secret);
	strcpy(secret, "root's secret");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[64] = "", path[64];
		struct iovec local = { buf, sizeof(buf) }, remote = { secret, 14 };
		void *blocks[256];
		uint64_t pa;
		ssize_t n;
		int i, fd, mfd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* our copy of the root's page is ours to drop before reading */
		munmap(secret, page_size());
		CHILD_CHECK(drop_to_nobody() == 0);
		CHILD_CHECK(getuid() == NOBODY_ID && geteuid() == NOBODY_ID);
		/* allocating within the limits works */
		for (i = 0; i < 256; i++) {
			blocks[i] = malloc(1 + (i * 997) % 40000);
			CHILD_CHECK(blocks[i] != NULL);
			memset(blocks[i], i, 1 + (i * 997) % 40000);
		}
		CHILD_CHECK(mymem_check() == 0);
		/* translating is refused, through the library and the ioctl */
		errno = 0;
		CHILD_CHECK(mymem_virt_to_phys(blocks[0]) == 0 && errno == EPERM);
		fd = mymem_open();
		CHILD_CHECK(fd >= 0);
		{
			struct mymem_translate tr = { .size = sizeof(tr),
				.vaddr = (uintptr_t)blocks[1] };

			CHILD_CHECK(ioctl(fd, MYMEM_IOC_VIRT_TO_PHYS, &tr) == -1 &&
				    errno == EPERM);
			tr.vaddr = (uintptr_t)secret;
			CHILD_CHECK(ioctl(fd, MYMEM_IOC_VIRT_TO_PHYS, &tr) == -1 &&
				    errno == EPERM);
		}
		(void)pa;
		/* the root process's pages cannot be read */
		errno = 0;
		n = process_vm_readv(root_pid, &local, 1, &remote, 1, 0);
		CHILD_CHECK(n == -1 && errno == EPERM);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)root_pid);
		errno = 0;
		mfd = open(path, O_RDONLY);
		if (mfd >= 0) {
			n = pread(mfd, buf, 14, (off_t)(uintptr_t)secret);
			CHILD_CHECK(n < 0 && (errno == EACCES || errno == EPERM ||
					      errno == EIO));
			close(mfd);
		} else {
			CHILD_CHECK(errno == EACCES || errno == EPERM);
		}
		CHILD_CHECK(strstr(buf, "secret") == NULL);
		for (i = 0; i < 256; i++)
			free(blocks[i]);
		CHILD_CHECK(mymem_check() == 0);
		_exit(0);
	}
	code = child_exit_code(pid, WAIT_MS);
	EXPECT_EQ(0, code);
	EXPECT_STREQ("root's secret", secret);
	munmap(secret, page_size());
	settle(self->fd, &self->before, &after);
	EXPECT_EQ(0, leaked(&self->before, &after));
	printf("# nobody: 256 mallocs, VIRT_TO_PHYS EPERM, process_vm_readv of "
	       "root EPERM, /proc/PID/mem refused; pages leaked: %lld\n",
	       leaked(&self->before, &after));
}

TEST_HARNESS_MAIN
