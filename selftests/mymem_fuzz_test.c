// SPDX-License-Identifier: GPL-2.0
/*
 * mymem_fuzz_test.c - random system calls at /dev/mymem from many processes
 * and threads at once, every result checked against the documented ones.
 *
 * For MYMEM_FUZZ_SECONDS (default 60) seconds, MYMEM_FUZZ_PROCS processes
 * (default 3; the first one runs as nobody) with MYMEM_FUZZ_THREADS threads
 * each (default 3) throw at the device:
 *
 *  - ioctl()s: the four commands, the right type byte with random number,
 *    direction and size, other type bytes, random 32-bit numbers; struct
 *    sizes in and around the accepted range, random flags; argument
 *    pointers that are good, NULL, unmapped, kernel (0xffff888000000000),
 *    non-canonical, misaligned, straddling the end of a mapping into a
 *    PROT_NONE page, read-only, or inside a mymem mapping;
 *  - mmap()s: MAP_FIXED into the thread's own reserved area, or anywhere,
 *    with lengths 0, 1, odd, huge, over max_pages and
 *    max_pages_per_process, offsets, flags (PRIVATE, SHARED,
 *    SHARED_VALIDATE, POPULATE, NORESERVE, LOCKED, GROWSDOWN, HUGETLB,
 *    32BIT, SYNC, FIXED_NOREPLACE...) and protections; through an O_RDWR
 *    and an O_RDONLY descriptor;
 *  - munmap/mprotect/mremap/madvise (DONTNEED, FREE, DONTFORK, WIPEONFORK,
 *    REMOVE, COLD, PAGEOUT, ... and random advice values) of random pieces;
 *  - fork() in the middle: the child checks its snapshot, writes, unmaps,
 *    calls a few ioctls and exits, or kills itself with SIGKILL.
 *
 * Each result must be one of those listed (see the expect_*() functions):
 * an ioctl of an unknown command fails with ENOTTY, of a known one returns
 * 0 or EFAULT/EINVAL/EPERM, exactly which one being predicted where the
 * arguments decide it; a successful ioctl writes back
 * size = min(size, sizeof(struct)) and touches nothing after it; a new
 * mapping reads zero; a page's contents are what this thread last wrote
 * (or, after MADV_DONTNEED and the like, unchecked).  A thread touches
 * only pages it maps itself, so no fault is expected: any signal that
 * kills a worker fails the test.  Commands of the VFS's own (types 'T',
 * 'X', 'f', 0x94, 0x15 and 0) are never sent: they never reach the driver.
 *
 * Afterwards, with every process gone, the global counters must balance:
 * resident_pages back to its starting value, pages_allocated - pages_freed
 * unchanged.  The number of operations is printed as a "# " line.
 * MYMEM_FUZZ_SEED fixes the random seed (printed too).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "mymem_selftest.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif

#define ARENA_PAGES	96	/* each thread's own reserved area */
#define MAX_PROCS	16
#define MAX_THREADS	16
#define MAX_REPORTS	30	/* failure lines printed, over all workers */

/* Shared by every worker process (MAP_SHARED anonymous). */
struct shared {
	atomic_ulong ops;
	atomic_ulong ioctls, mmaps, mmaps_ok, unmaps, mprotects, mremaps;
	atomic_ulong madvises, forks, checks;
	atomic_ulong failures;
	atomic_ulong proc_stats_echo;	/* the known finding, see below */
	atomic_ulong reports;
	uint64_t max_pages, max_ppp;
	uint64_t deadline_ns;
};

enum { PG_HOLE = 0, PG_ANON, PG_DEV, PG_LOST };

struct page_state {
	unsigned char kind;	/* PG_* */
	unsigned char prot;	/* PROT_* of a PG_DEV page */
	unsigned char shared;
	unsigned char known;	/* first byte == seed */
	unsigned char seed;
	unsigned char dontfork;	/* MADV_DONTFORK (maybe) applied: absent in a child */
	uint32_t hist;		/* last four operations on the page (op codes) */
};

struct worker {
	struct shared *sh;
	int fd, rofd;
	int proc, thread;
	bool unpriv;
	long ps;
	uint64_t rng;
	char *arena;
	struct page_state pg[ARENA_PAGES];
	char *buf;		/* 2 pages RW, then a PROT_NONE page */
	char *ro;		/* a read-only page */
	unsigned long ops;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rnd(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

static unsigned int rn(struct worker *w, unsigned int n)
{
	return (unsigned int)(rnd(w) % n);
}

/* A failed check: count it, print the first few (no stdio locks: write). */
static void report(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct worker *w, const char *fmt, ...)
{
	char line[400];
	va_list ap;
	int n;

	atomic_fetch_add(&w->sh->failures, 1);
	if (atomic_fetch_add(&w->sh->reports, 1) >= MAX_REPORTS)
		return;
	n = snprintf(line, sizeof(line), "# FUZZ FAIL pid %d proc %d thread %d: ",
		     (int)getpid(), w->proc, w->thread);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, line, n) < 0)
		return;
}

/* Operation codes kept in page_state.hist, for the report of a crash. */
enum { H_MAP = 1, H_UNMAP, H_PROT, H_ADV, H_SHRINK, H_GROW, H_WRITE, H_IOARG,
       H_FAILMAP, H_FORK };
static const char hist_names[] = "?MUPASGWIFK";

static void hist(struct worker *w, int p, int n, unsigned int op, unsigned int arg)
{
	int i;

	for (i = p; i < p + n && i < ARENA_PAGES; i++)
		w->pg[i].hist = w->pg[i].hist << 8 | (op & 0xf) | (arg & 0xf) << 4;
}

/*
 * A MAP_FIXED mmap() that fails may leave a hole where its range was (the
 * kernel unmaps first): another thread's mmap(NULL) could land there and
 * lose its mapping to our clean-up.  So MAP_FIXED (with its clean-up) and
 * mmap()s anywhere exclude each other; a forked child, single-threaded,
 * takes no lock (another thread may have held it at the fork).
 */
static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_INITIALIZER;
static bool in_child;
/* Threads start fuzzing together, after every thread's stack and setup
 * mmap()s: none of those may land in a hole of another thread's area. */
static pthread_barrier_t start_barrier;

static void map_lock_fixed(void)
{
	if (!in_child)
		pthread_rwlock_wrlock(&map_lock);
}

static void map_lock_wild(void)
{
	if (!in_child)
		pthread_rwlock_rdlock(&map_lock);
}

static void map_unlock(void)
{
	if (!in_child)
		pthread_rwlock_unlock(&map_lock);
}

/* The process's workers, for the SIGSEGV/SIGBUS report. */
static struct worker *g_workers;
static int g_nworkers;

static void crash_report(int sig, siginfo_t *si, void *uc)
{
	char line[300];
	char *a = si->si_addr;
	int i, n;

	(void)uc;
	for (i = 0; i < g_nworkers; i++) {
		struct worker *w = &g_workers[i];

		if (w->arena && a >= w->arena && a < w->arena + ARENA_PAGES * w->ps) {
			int p = (a - w->arena) / w->ps, k;
			struct page_state *s = &w->pg[p];
			char h[9];

			for (k = 0; k < 4; k++) {
				unsigned int e = s->hist >> (8 * (3 - k)) & 0xff;

				h[2 * k] = hist_names[(e & 0xf) < 11 ? e & 0xf : 0];
				h[2 * k + 1] = "0123456789abcdef"[e >> 4];
			}
			h[8] = 0;
			n = snprintf(line, sizeof(line), "# FUZZ CRASH pid %d: signal %d "
				     "code %d at %p: thread %d's page %d: kind %d prot %#x "
				     "%s known %d dontfork %d, last ops (oldest first) %s\n",
				     (int)getpid(), sig, si->si_code, a, i, p, s->kind,
				     s->prot, s->shared ? "shared" : "private", s->known,
				     s->dontfork, h);
			if (write(2, line, n) < 0)
				break;
		}
	}
	n = snprintf(line, sizeof(line), "# FUZZ CRASH pid %d: signal %d at %p\n",
		     (int)getpid(), sig, a);
	if (write(2, line, n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ------------------------------------------------------------------ ioctl */

#define NR_KNOWN 4
static const struct {
	unsigned long cmd;
	unsigned int ver0, full;
} known_cmds[NR_KNOWN] = {
	{ MYMEM_IOC_PROC_STATS, MYMEM_STATS_SIZE_VER0, sizeof(struct mymem_stats) },
	{ MYMEM_IOC_GLOBAL_STATS, MYMEM_STATS_SIZE_VER0, sizeof(struct mymem_stats) },
	{ MYMEM_IOC_VIRT_TO_PHYS, MYMEM_TRANSLATE_SIZE_VER0, sizeof(struct mymem_translate) },
	{ MYMEM_IOC_GET_INFO, MYMEM_INFO_SIZE_VER0, sizeof(struct mymem_info) },
};

/* Type bytes of commands the VFS handles itself, before the driver. */
static bool vfs_cmd(unsigned long cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	return type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15 || type == 0;
}

/* Index into known_cmds, or -1: type, number and direction decide. */
static int known_index(unsigned long cmd)
{
	if (_IOC_TYPE(cmd) != MYMEM_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -1;
	if (_IOC_NR(cmd) >= 1 && _IOC_NR(cmd) <= NR_KNOWN)
		return _IOC_NR(cmd) - 1;
	return -1;
}

static unsigned long pick_cmd(struct worker *w)
{
	unsigned long cmd;

	do {
		switch (rn(w, 6)) {
		case 0:
		case 1:
			cmd = known_cmds[rn(w, NR_KNOWN)].cmd;
			break;
		case 2:	/* right type and number, random size and direction */
			cmd = _IOC(rn(w, 4), MYMEM_IOC_MAGIC, 1 + rn(w, NR_KNOWN),
				   rn(w, 1 << _IOC_SIZEBITS));
			break;
		case 3:	/* right type, anything else random */
			cmd = _IOC(rn(w, 4), MYMEM_IOC_MAGIC, rn(w, 256),
				   rn(w, 1 << _IOC_SIZEBITS));
			break;
		case 4:	/* wrong type */
			cmd = _IOC(rn(w, 4), rn(w, 256), rn(w, 8),
				   rn(w, 1 << _IOC_SIZEBITS));
			break;
		default:
			cmd = (unsigned int)rnd(w);
			break;
		}
	} while (vfs_cmd(cmd));
	return cmd;
}

static unsigned int pick_size(struct worker *w, unsigned int ver0, unsigned int full)
{
	static const unsigned int sizes[] = {
		0, 4, 8, 16, 24, 32, 40, 64, 72, 80, 128, 4088, 4096, 4097,
		4104, 8192, 0xffffffffu,
	};

	switch (rn(w, 5)) {
	case 0:
		return ver0;
	case 1:
		return full;
	case 2:
		return sizes[rn(w, ARRAY_SIZE(sizes))];
	case 3:
		return rn(w, 4200);
	default:
		return ver0 + 8 * rn(w, 4);
	}
}

enum ptr_kind { P_GOOD, P_DEVPAGE, P_NULL, P_UNMAPPED, P_KERNEL, P_NONCANON,
		P_MISALIGNED, P_STRADDLE, P_READONLY, P_NR };

static const char *const ptr_names[P_NR] = {
	"good", "device page", "NULL", "unmapped", "kernel", "non-canonical",
	"misaligned", "straddling", "read-only",
};

static bool valid_size(unsigned int size, unsigned int ver0)
{
	return size >= ver0 && size <= MYMEM_STRUCT_SIZE_MAX && size % 8 == 0;
}

/* A readable+writable device page of this thread's arena, or NULL. */
static char *dev_rw_page(struct worker *w)
{
	int start = rn(w, ARENA_PAGES), i;

	for (i = 0; i < ARENA_PAGES; i++) {
		int p = (start + i) % ARENA_PAGES;

		/* a forked child's writes to shared pages would show in the parent */
		if (w->pg[p].kind == PG_DEV && !(in_child && w->pg[p].shared) &&
		    (w->pg[p].prot & (PROT_READ | PROT_WRITE)) ==
		    (PROT_READ | PROT_WRITE))
			return w->arena + (long)p * w->ps;
	}
	return NULL;
}

static uint64_t pick_vaddr(struct worker *w)
{
	switch (rn(w, 4)) {
	case 0:
	case 1:
		return (uint64_t)(uintptr_t)w->arena + rn(w, ARENA_PAGES * w->ps);
	case 2:
		return (uint64_t)(uintptr_t)w->buf + rn(w, 64);
	default:
		return rnd(w);
	}
}

static void fuzz_ioctl(struct worker *w)
{
	unsigned long cmd = pick_cmd(w);
	int k = known_index(cmd), kind = rn(w, P_NR), ret, err, i;
	unsigned int ver0 = k >= 0 ? known_cmds[k].ver0 : 8;
	unsigned int full = k >= 0 ? known_cmds[k].full : 64;
	unsigned int size = pick_size(w, ver0, full);
	unsigned int flags = rn(w, 4) ? 0 : (unsigned int)rnd(w);
	unsigned char canary = (unsigned char)rnd(w);
	char *arg = NULL, *page;
	size_t area = 2 * w->ps;	/* bytes writable at arg, for canaries */
	uint64_t vaddr = pick_vaddr(w);
	unsigned int needed = size < full ? size : full;
	bool good_ptr = false;

	switch (kind) {
	case P_GOOD:
		arg = w->buf + 8 * rn(w, 8);
		area -= arg - w->buf;
		good_ptr = true;
		break;
	case P_DEVPAGE:
		page = dev_rw_page(w);
		if (page) {
			/* its first byte is the ioctl's now */
			w->pg[(page - w->arena) / w->ps].known = 0;
			hist(w, (page - w->arena) / w->ps, 1, H_IOARG, 0);
			arg = page + 8 * rn(w, 4);
			area = w->ps - (arg - page);
			/* good if what the module reads fits in the page */
			good_ptr = needed <= area;
		} else {
			kind = P_NULL;
		}
		break;
	case P_UNMAPPED:
		arg = w->buf + 2 * w->ps + rn(w, w->ps);	/* the PROT_NONE page */
		break;
	case P_KERNEL:
		arg = (char *)(rn(w, 2) ? 0xffff888000000000ul : 0xffffffff81000000ul);
		break;
	case P_NONCANON:
		/*
		 * Above 2^56: non-canonical with 4- and with 5-level paging
		 * (the debug kernel boots with la57, where 2^47 is a valid
		 * user address).
		 */
		arg = (char *)(0x0100000000000000ul + 8 * rn(w, 1000));
		break;
	case P_MISALIGNED:
		arg = w->buf + 1 + rn(w, 7);
		area -= arg - w->buf;
		good_ptr = true;	/* misaligned but readable and writable */
		break;
	case P_STRADDLE:
		arg = w->buf + 2 * w->ps - 8 * (1 + rn(w, 4));
		area = w->buf + 2 * w->ps - arg;
		good_ptr = needed <= area;
		break;
	case P_READONLY:
		arg = w->ro;
		break;
	}
	if (kind == P_NULL)
		arg = NULL;
	if (arg && (kind == P_GOOD || kind == P_MISALIGNED || kind == P_DEVPAGE ||
		    kind == P_STRADDLE)) {
		struct mymem_translate *tr = (struct mymem_translate *)arg;

		memset(arg, canary, area);
		memcpy(arg, &size, 4);
		memcpy(arg + 4, &flags, 4);
		if (k == 2 && area >= 16)
			memcpy(&tr->vaddr, &vaddr, sizeof(vaddr));
	}

	errno = 0;
	ret = ioctl(w->fd, cmd, arg);
	err = ret ? errno : 0;
	atomic_fetch_add(&w->sh->ioctls, 1);

	if (ret && ret != -1) {
		report(w, "ioctl(%#lx) returned %d", cmd, ret);
		return;
	}
	if (k < 0) {
		if (err != ENOTTY)
			report(w, "unknown ioctl %#lx (%s arg %p): %s, expected ENOTTY",
			       cmd, ptr_names[kind], arg, strerror(err));
		return;
	}
	if (err != 0 && err != EFAULT && err != EINVAL && err != EPERM) {
		report(w, "ioctl %#lx size %u flags %#x %s arg: errno %d (%s) is "
		       "not documented", cmd, size, flags, ptr_names[kind], err,
		       strerror(err));
		return;
	}
	/* VIRT_TO_PHYS checks the capability first. */
	if (k == 2 && w->unpriv) {
		if (err != EPERM)
			report(w, "unprivileged VIRT_TO_PHYS: %s, expected EPERM",
			       strerror(err));
		return;
	}
	if (err == EPERM) {
		report(w, "ioctl %#lx: EPERM for root", cmd);
		return;
	}
	switch (kind) {
	case P_NULL:
	case P_UNMAPPED:
	case P_KERNEL:
	case P_NONCANON:
		if (err != EFAULT)
			report(w, "ioctl %#lx with a %s pointer %p: %s, expected EFAULT",
			       cmd, ptr_names[kind], arg, err ? strerror(err) : "success");
		return;
	case P_READONLY:
		/* the size is read, then the answer cannot be written */
		if (err != EFAULT && err != EINVAL)
			report(w, "ioctl %#lx on a read-only page: %s, expected "
			       "EFAULT or EINVAL", cmd, err ? strerror(err) : "success");
		return;
	default:
		break;
	}
	if (!good_ptr) {
		if (err == 0 && kind == P_STRADDLE)
			report(w, "ioctl %#lx size %u straddling a PROT_NONE page "
			       "(%zu bytes readable) succeeded", cmd, size, area);
		return;
	}
	if (!valid_size(size, ver0) || flags) {
		if (err != EINVAL)
			report(w, "ioctl %#lx size %u flags %#x: %s, expected EINVAL",
			       cmd, size, flags, err ? strerror(err) : "success");
		return;
	}
	if (k != 2 && err) {
		report(w, "ioctl %#lx size %u on a %s buffer: %s, expected success",
		       cmd, size, ptr_names[kind], strerror(err));
		return;
	}
	if (err)	/* VIRT_TO_PHYS of a random address: EINVAL or EFAULT */
		return;
	{
		unsigned int out, want = size < full ? size : full;
		unsigned char *b = (unsigned char *)arg;

		memcpy(&out, arg, 4);
		if (out != want)
			report(w, "ioctl %#lx size %u: wrote back size %u, expected %u",
			       cmd, size, out, want);
		for (i = want; i < (int)size && i < (int)area; i++) {
			if (b[i] != canary) {
				report(w, "ioctl %#lx size %u: byte %d beyond the "
				       "filled size changed", cmd, size, i);
				break;
			}
		}
		if (k == 0 || k == 1) {
			struct mymem_stats st;

			memcpy(&st, arg, sizeof(st) < area ? sizeof(st) : area);
			if (k == 0 && st.resident_pages == st.pages_allocated &&
			    st.pages_freed == st.mmap_calls &&
			    st.resident_pages == st.failed_mmaps &&
			    (st.resident_pages & 0xff) == canary &&
			    st.resident_pages == 0x0101010101010101ull * canary) {
				/*
				 * PROC_STATS in a process without a record of its
				 * own (a forked child that never mapped) hands the
				 * caller's bytes back instead of zeros: counted
				 * here, failed by proc_stats_of_a_process_that_
				 * never_mapped_are_zero below.
				 */
				atomic_fetch_add(&w->sh->proc_stats_echo, 1);
			} else if (st.resident_pages != st.pages_allocated - st.pages_freed ||
			    st.peak_resident_pages < st.resident_pages)
				report(w, "inconsistent stats snapshot: resident %llu "
				       "allocated %llu freed %llu peak %llu",
				       (unsigned long long)st.resident_pages,
				       (unsigned long long)st.pages_allocated,
				       (unsigned long long)st.pages_freed,
				       (unsigned long long)st.peak_resident_pages);
		}
		if (k == 2) {
			struct mymem_translate tr;

			memcpy(&tr, arg, sizeof(tr));
			if ((tr.paddr & (w->ps - 1)) != (vaddr & (w->ps - 1)))
				report(w, "VIRT_TO_PHYS(%#llx) = %#llx: page offset differs",
				       (unsigned long long)vaddr,
				       (unsigned long long)tr.paddr);
		}
		if (k == 3) {
			struct mymem_info info;

			memcpy(&info, arg, sizeof(info));
			if (info.abi_version != MYMEM_ABI_VERSION ||
			    info.page_size != (unsigned int)w->ps)
				report(w, "GET_INFO: abi %u page size %u",
				       info.abi_version, info.page_size);
		}
	}
}

/* --------------------------------------------------------- arena and pages */

static char *pg_addr(struct worker *w, int p)
{
	return w->arena + (long)p * w->ps;
}

/*
 * Pages [p, p+n) have been unmapped: reserve them again (PROT_NONE
 * anonymous) without taking anyone else's; a page another thread's mmap
 * took in between is lost to us and never touched again.
 */
static void rereserve(struct worker *w, int p, int n)
{
	int i;

	for (i = p; i < p + n; i++) {
		void *a = pg_addr(w, i), *r;

		r = mmap(a, w->ps, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
		if (r == a) {
			w->pg[i].kind = PG_ANON;
		} else {
			if (r != MAP_FAILED)
				munmap(r, w->ps);
			w->pg[i].kind = PG_LOST;
		}
		w->pg[i].known = 0;
		w->pg[i].dontfork = 0;
	}
}

/* A random run of pages of the arena, none of them lost. */
static bool pick_run(struct worker *w, int maxn, int *pp, int *pn)
{
	int p = rn(w, ARENA_PAGES), n = 1 + rn(w, maxn), i;

	if (p + n > ARENA_PAGES)
		n = ARENA_PAGES - p;
	for (i = p; i < p + n; i++)
		if (w->pg[i].kind == PG_LOST || w->pg[i].kind == PG_HOLE)
			break;
	n = i - p;
	*pp = p;
	*pn = n;
	return n > 0;
}

static const int prots[] = {
	PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
	PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
};

/* Check what the model knows of a page's first byte. */
static void check_page(struct worker *w, int p, const char *when)
{
	struct page_state *s = &w->pg[p];
	unsigned char v;

	if (s->kind != PG_DEV || !(s->prot & PROT_READ) || !s->known)
		return;
	v = *(volatile unsigned char *)pg_addr(w, p);
	atomic_fetch_add(&w->sh->checks, 1);
	if (v != s->seed)
		report(w, "%s: page %d (%p, %s) holds %#x, expected %#x", when, p,
		       pg_addr(w, p), s->shared ? "shared" : "private", v, s->seed);
}

static void write_page(struct worker *w, int p)
{
	struct page_state *s = &w->pg[p];

	if (s->kind != PG_DEV || (s->prot & (PROT_READ | PROT_WRITE)) !=
	    (PROT_READ | PROT_WRITE))
		return;
	s->seed = (unsigned char)rnd(w);
	hist(w, p, 1, H_WRITE, 0);
	*(volatile unsigned char *)pg_addr(w, p) = s->seed;
	s->known = 1;
}

static bool mmap_errno_ok(int err, int flags, int prot, bool rofd)
{
	switch (err) {
	case EINVAL:
	case ENOMEM:
	case EOVERFLOW:
		return true;
	case EEXIST:
		return flags & MAP_FIXED_NOREPLACE;
	case EOPNOTSUPP:
		return (flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
	case EAGAIN:
		return flags & MAP_LOCKED;
	case EPERM:
		return (flags & MAP_LOCKED) || (prot & PROT_EXEC);
	case EACCES:
		return rofd || (prot & PROT_EXEC);
	}
	return false;
}

static int pick_map_flags(struct worker *w)
{
	static const int extra[] = {
		MAP_POPULATE, MAP_NORESERVE, MAP_LOCKED, MAP_GROWSDOWN,
		MAP_HUGETLB, MAP_32BIT, MAP_SYNC, MAP_NONBLOCK, MAP_DENYWRITE,
		MAP_EXECUTABLE, MAP_STACK, 0x40000000,
	};
	int flags = rn(w, 3) ? MAP_PRIVATE : MAP_SHARED, i;

	if (!rn(w, 10))
		flags = MAP_SHARED_VALIDATE;
	for (i = rn(w, 3); i > 0; i--)
		flags |= rn(w, 3) ? extra[rn(w, 3)] : extra[rn(w, ARRAY_SIZE(extra))];
	return flags;
}

/* mmap(MAP_FIXED) into the arena: replaces whatever this thread had there. */
static void fuzz_mmap_fixed(struct worker *w)
{
	int p, n, i, flags, prot, err;
	bool rofd = !rn(w, 8), bad_off = !rn(w, 12);
	off_t off = bad_off ? (off_t)w->ps * (1 + rn(w, 4)) : 0;
	char *a, *r;

	if (!pick_run(w, 12, &p, &n))
		return;
	a = pg_addr(w, p);
	flags = pick_map_flags(w) & ~(MAP_GROWSDOWN | MAP_32BIT | MAP_HUGETLB);
	flags |= MAP_FIXED;
	prot = prots[rn(w, ARRAY_SIZE(prots))];
	map_lock_fixed();
	errno = 0;
	r = mmap(a, (size_t)n * w->ps, prot, flags, rofd ? w->rofd : w->fd, off);
	err = errno;
	atomic_fetch_add(&w->sh->mmaps, 1);
	if (r == MAP_FAILED) {
		if (!mmap_errno_ok(err, flags, prot, rofd))
			report(w, "mmap(FIXED %p, %d pages, prot %#x, flags %#x, off "
			       "%lld%s): errno %d (%s) not expected", a, n, prot,
			       flags, (long long)off, rofd ? ", O_RDONLY fd" : "",
			       err, strerror(err));
		/* plain flags: the offset is the only thing wrong */
		if (bad_off && err != EINVAL && !rofd &&
		    ((flags & ~MAP_FIXED) == MAP_PRIVATE ||
		     (flags & ~MAP_FIXED) == MAP_SHARED))
			report(w, "mmap with offset %lld: %s, expected EINVAL",
			       (long long)off, strerror(err));
		/*
		 * A failed MAP_FIXED may have unmapped the old pages (or not);
		 * make sure of the state: unmap and reserve again.
		 */
		munmap(a, (size_t)n * w->ps);
		rereserve(w, p, n);
		map_unlock();
		hist(w, p, n, H_FAILMAP, 0);
		return;
	}
	map_unlock();
	if (r != a) {
		report(w, "mmap(MAP_FIXED %p) returned %p", a, r);
		return;
	}
	if (bad_off)
		report(w, "mmap with offset %lld succeeded", (long long)off);
	atomic_fetch_add(&w->sh->mmaps_ok, 1);
	hist(w, p, n, H_MAP, ((flags & MAP_TYPE) != MAP_PRIVATE) | (prot & 3) << 1 |
	     (rofd ? 8 : 0));
	for (i = p; i < p + n; i++) {
		w->pg[i].kind = PG_DEV;
		w->pg[i].prot = prot;
		w->pg[i].shared = (flags & MAP_TYPE) != MAP_PRIVATE;
		w->pg[i].seed = 0;
		w->pg[i].known = 1;	/* fresh: zero */
		w->pg[i].dontfork = 0;
		check_page(w, i, "new mapping");
		if (rn(w, 2))
			write_page(w, i);
	}
}

/* mmap() anywhere, odd lengths and flags; unmapped again at once. */
static void fuzz_mmap_wild(struct worker *w)
{
	uint64_t ps = w->ps;
	size_t lens[] = {
		0, 1, ps - 1, ps, ps + 1, 3 * ps, 17 * ps + 5, 64 * ps,
		(w->sh->max_ppp + 1) * ps, (w->sh->max_pages + 1) * ps,
		(size_t)1 << 40, SIZE_MAX & ~(ps - 1), SIZE_MAX, (size_t)rnd(w),
	};
	size_t len = lens[rn(w, ARRAY_SIZE(lens))];
	int flags = pick_map_flags(w), prot = prots[rn(w, ARRAY_SIZE(prots))];
	bool rofd = !rn(w, 6);
	off_t offs[] = { 0, 0, 0, 1, (off_t)ps, -(off_t)ps, (off_t)1 << 40 };
	off_t off = offs[rn(w, ARRAY_SIZE(offs))];
	void *hint = NULL;
	char *r;
	int err;

	if (!rn(w, 4)) {
		void *hints[] = { (void *)0x10000, (void *)0x1000,
				  (void *)0xffff888000000000ul, w->arena,
				  (void *)(0x0000800000000000ul - ps),
				  (void *)((uintptr_t)rnd(w) & ~(ps - 1)) };

		hint = hints[rn(w, ARRAY_SIZE(hints))];
		flags |= MAP_FIXED_NOREPLACE;	/* never MAP_FIXED outside the arena */
	}
	map_lock_wild();
	errno = 0;
	r = mmap(hint, len, prot, flags, rofd ? w->rofd : w->fd, off);
	err = errno;
	atomic_fetch_add(&w->sh->mmaps, 1);
	if (r == MAP_FAILED) {
		map_unlock();
		if (!mmap_errno_ok(err, flags, prot, rofd) &&
		    !(err == EPERM && hint))	/* mmap_min_addr */
			report(w, "mmap(%p, %zu, prot %#x, flags %#x, off %lld%s): "
			       "errno %d (%s) not expected", hint, len, prot,
			       flags, (long long)off, rofd ? ", O_RDONLY fd" : "",
			       err, strerror(err));
		return;
	}
	atomic_fetch_add(&w->sh->mmaps_ok, 1);
	if (len == 0 || off != 0 || len > (w->sh->max_ppp * ps))
		report(w, "mmap(%p, %zu, prot %#x, flags %#x, off %lld) succeeded "
		       "at %p", hint, len, prot, flags, (long long)off, r);
	if ((uintptr_t)r & (ps - 1))
		report(w, "mmap returned unaligned %p", r);
	if ((prot & PROT_READ) && len <= 64 * ps && len > 0 && !(flags & MAP_GROWSDOWN)) {
		if (r[0] || r[len - 1])
			report(w, "new mapping %p (%zu bytes) is not zero", r, len);
		if (prot & PROT_WRITE)
			r[len / 2] = 1;
	}
	if (munmap(r, len))
		report(w, "munmap(%p, %zu) of a new mapping: %s", r, len,
		       strerror(errno));
	map_unlock();
}

static void fuzz_munmap(struct worker *w)
{
	int p, n, ret;

	atomic_fetch_add(&w->sh->unmaps, 1);
	if (!rn(w, 10)) {	/* misaligned: EINVAL, nothing unmapped */
		errno = 0;
		ret = munmap(w->arena + 1 + rn(w, w->ps - 1), w->ps);
		if (ret != -1 || errno != EINVAL)
			report(w, "misaligned munmap: %d/%s", ret, strerror(errno));
		return;
	}
	if (!pick_run(w, 16, &p, &n))
		return;
	if (munmap(pg_addr(w, p), (size_t)n * w->ps)) {
		report(w, "munmap of %d arena pages: %s", n, strerror(errno));
		return;
	}
	rereserve(w, p, n);
	hist(w, p, n, H_UNMAP, 0);
}

static void fuzz_mprotect(struct worker *w)
{
	int p, n, i, prot = prots[rn(w, ARRAY_SIZE(prots))], ret, err;

	if (!pick_run(w, 16, &p, &n))
		return;
	atomic_fetch_add(&w->sh->mprotects, 1);
	errno = 0;
	ret = mprotect(pg_addr(w, p), (size_t)n * w->ps, prot);
	err = errno;
	hist(w, p, n, H_PROT, (prot & 7) | (ret ? 8 : 0));
	if (ret) {
		/* EACCES: PROT_EXEC on a noexec mount, or write on O_RDONLY shared */
		if (err != EACCES && err != ENOMEM && err != EINVAL)
			report(w, "mprotect(%d pages, %#x): %s", n, prot, strerror(err));
		/* may have applied to a prefix: forget the protections */
		for (i = p; i < p + n; i++)
			if (w->pg[i].kind == PG_DEV)
				w->pg[i].prot = PROT_NONE;
		return;
	}
	for (i = p; i < p + n; i++) {
		if (w->pg[i].kind == PG_DEV) {
			w->pg[i].prot = prot;
			check_page(w, i, "after mprotect");
		}
	}
}

static void fuzz_madvise(struct worker *w)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_DOFORK,
		MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_REMOVE, MADV_NORMAL,
		MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_COLD,
		MADV_PAGEOUT, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
		22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */,
	};
	int p, n, i, adv, ret, err;

	if (!pick_run(w, 16, &p, &n))
		return;
	/* random values stay below 100: MADV_HWPOISON/SOFT_OFFLINE are not for us */
	adv = rn(w, 5) ? advice[rn(w, ARRAY_SIZE(advice))] : (int)rn(w, 40);
	atomic_fetch_add(&w->sh->madvises, 1);
	errno = 0;
	ret = madvise(pg_addr(w, p), (size_t)n * w->ps, adv);
	err = errno;
	hist(w, p, n, H_ADV, ret ? 15 : adv == MADV_DONTNEED ? 1 : adv == MADV_DONTFORK ?
	     2 : adv == MADV_DOFORK ? 3 : adv == MADV_PAGEOUT ? 4 : adv == MADV_COLD ? 5 :
	     adv == 22 ? 6 : adv == 23 ? 7 : adv == MADV_WILLNEED ? 8 : 0);
	if (ret && err != EINVAL && err != ENOMEM && err != EAGAIN &&
	    err != EPERM && err != EFAULT && err != EACCES && err != EOPNOTSUPP &&
	    err != EIO && err != EBUSY && !(adv == MADV_REMOVE && err == ENODEV))
		report(w, "madvise(%d pages, %d): %s", n, adv, strerror(err));
	/*
	 * Contents after these are not the model's business: DONTNEED maps a
	 * device page again (contents of before a copy-on-write), FREE/REMOVE
	 * may drop, WIPEONFORK zeroes in a child, POPULATE_WRITE breaks COW.
	 */
	if (adv == MADV_DONTFORK)	/* also when failed: maybe partly applied */
		for (i = p; i < p + n; i++)
			w->pg[i].dontfork = 1;
	if (adv == MADV_DOFORK && !ret)
		for (i = p; i < p + n; i++)
			w->pg[i].dontfork = 0;
	if (adv == MADV_DONTNEED || adv == MADV_FREE || adv == MADV_REMOVE ||
	    adv == MADV_WIPEONFORK || adv == MADV_DONTFORK || adv >= 22 || ret)
		for (i = p; i < p + n; i++)
			w->pg[i].known = 0;
}

static void fuzz_mremap(struct worker *w)
{
	int p, n, i, m, ret_err;
	char *a, *r;

	if (!pick_run(w, 12, &p, &n))
		return;
	a = pg_addr(w, p);
	atomic_fetch_add(&w->sh->mremaps, 1);
	if (n > 1 && rn(w, 2)) {	/* shrink in place */
		m = 1 + rn(w, n - 1);
		errno = 0;
		r = mremap(a, (size_t)n * w->ps, (size_t)m * w->ps, 0);
		ret_err = errno;
		if (r == MAP_FAILED) {
			if (ret_err != EFAULT && ret_err != EINVAL && ret_err != ENOMEM)
				report(w, "shrinking mremap: %s", strerror(ret_err));
			return;
		}
		if (r != a)
			report(w, "shrinking mremap moved %p to %p", a, r);
		/* anonymous and device pages shrink alike: the tail is gone */
		rereserve(w, p + m, n - m);
		hist(w, p, n, H_SHRINK, 0);
		return;
	}
	/* grow: device mappings cannot expand (EFAULT); anon reserve may */
	m = n + 1 + rn(w, 4);
	errno = 0;
	r = mremap(a, (size_t)n * w->ps, (size_t)m * w->ps, 0);
	ret_err = errno;
	if (r != MAP_FAILED) {
		bool dev = false;

		for (i = p; i < p + n; i++)
			dev |= w->pg[i].kind == PG_DEV;
		if (dev)
			report(w, "growing mremap of device pages succeeded");
		/* anon reserve grew over pages that were ours anyway? undo */
		if (p + m <= ARENA_PAGES) {
			/* it grew into our own arena pages: only possible if they
			 * were holes; treat them as unmapped and reserve again */
			munmap(a, (size_t)m * w->ps);
			rereserve(w, p, m);
		} else {
			munmap(a + (size_t)n * w->ps, (size_t)(m - n) * w->ps);
		}
		return;
	}
	if (ret_err != EFAULT && ret_err != ENOMEM && ret_err != EINVAL)
		report(w, "growing mremap: %s", strerror(ret_err));
}

static void fuzz_ioctl_burst(struct worker *w, int n)
{
	while (n-- > 0)
		fuzz_ioctl(w);
}

/* The child of a fork in the middle: check, write, unmap, exit. */
static void fork_child(struct worker *w)
{
	int i, steps = 5 + rn(w, 20);

	/* pages under MADV_DONTFORK are not in the child at all */
	for (i = 0; i < ARENA_PAGES; i++)
		if (w->pg[i].dontfork)
			w->pg[i].kind = PG_LOST;
	for (i = 0; i < ARENA_PAGES; i++)
		if (!w->pg[i].shared)
			check_page(w, i, "child after fork");
	for (i = 0; i < steps; i++) {
		int p = rn(w, ARENA_PAGES);

		switch (rn(w, 4)) {
		case 0:
			if (!w->pg[p].shared)
				write_page(w, p);
			break;
		case 1:
			fuzz_munmap(w);
			break;
		case 2:
			fuzz_ioctl(w);
			break;
		default:
			fuzz_mmap_fixed(w);
			break;
		}
	}
	if (rn(w, 4) == 0)
		raise(SIGKILL);
	_exit(0);
}

static void fuzz_fork(struct worker *w)
{
	int status, ret, i;
	pid_t pid;

	atomic_fetch_add(&w->sh->forks, 1);
	pid = fork();
	if (pid < 0) {
		if (errno != EAGAIN && errno != ENOMEM)
			report(w, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		in_child = true;
		w->rng ^= 0x9e3779b97f4a7c15ull;
		fork_child(w);
	}
	ret = wait_child(pid, 60000, &status);
	if (ret)
		report(w, "forked child %d did not finish: %s", pid, strerror(-ret));
	else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
		 !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		report(w, "forked child %d ended with status %#x", pid, status);
	/* the child's writes to private pages never show here */
	for (i = 0; i < ARENA_PAGES; i++) {
		hist(w, i, 1, H_FORK, 0);
		if (!w->pg[i].shared)
			check_page(w, i, "parent after fork");
	}
}

static void fuzz_touch(struct worker *w)
{
	int p = rn(w, ARENA_PAGES);

	check_page(w, p, "touch");
	if (rn(w, 2))
		write_page(w, p);
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	long ps = w->ps;
	int i;

	w->arena = mmap(NULL, ARENA_PAGES * ps, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	w->buf = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->ro = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->ro != MAP_FAILED) {	/* a valid header the answer cannot overwrite */
		struct mymem_stats hdr = { .size = MYMEM_STATS_SIZE_VER0 };

		if (!mprotect(w->ro, ps, PROT_READ | PROT_WRITE))
			memcpy(w->ro, &hdr, sizeof(hdr));
	}
	if (w->arena == MAP_FAILED || w->buf == MAP_FAILED || w->ro == MAP_FAILED ||
	    mprotect(w->ro, ps, PROT_READ) ||
	    mprotect(w->buf + 2 * ps, ps, PROT_NONE)) {
		report(w, "setting up the thread's memory: %s", strerror(errno));
		pthread_barrier_wait(&start_barrier);
		return NULL;
	}
	for (i = 0; i < ARENA_PAGES; i++)
		w->pg[i].kind = PG_ANON;
	pthread_barrier_wait(&start_barrier);

	while (now_ns() < w->sh->deadline_ns) {
		unsigned int r = rn(w, 100);

		if (r < 35)
			fuzz_ioctl_burst(w, 1 + rn(w, 4));
		else if (r < 55)
			fuzz_mmap_fixed(w);
		else if (r < 63)
			fuzz_mmap_wild(w);
		else if (r < 71)
			fuzz_munmap(w);
		else if (r < 78)
			fuzz_mprotect(w);
		else if (r < 85)
			fuzz_madvise(w);
		else if (r < 90)
			fuzz_mremap(w);
		else if (r < 91)
			fuzz_fork(w);
		else
			fuzz_touch(w);
		w->ops++;
	}
	for (i = 0; i < ARENA_PAGES; i++)
		check_page(w, i, "at the end");
	atomic_fetch_add(&w->sh->ops, w->ops);
	/* leave the mappings to exit (or unmap half of them) */
	if (w->thread % 2)
		munmap(w->arena, ARENA_PAGES * ps);
	return NULL;
}

static int env_int(const char *name, int def, int min, int max)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : def;

	return v < min ? min : v > max ? max : v;
}

/* One worker process: its threads, then exit with 0 (or 1 on setup failure). */
static void worker_process(struct shared *sh, int proc, int nthreads,
			   uint64_t seed, bool unpriv)
{
	struct worker *ws;
	pthread_t tids[MAX_THREADS];
	int i, fd, rofd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unpriv && drop_to_nobody())
		_exit(2);
	fd = mymem_open();
	rofd = open(mymem_device(), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || rofd < 0)
		_exit(3);
	ws = mmap(NULL, sizeof(*ws) * nthreads, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ws == MAP_FAILED)
		_exit(4);
	g_workers = ws;
	g_nworkers = nthreads;
	{
		struct sigaction sa = { .sa_sigaction = crash_report,
					.sa_flags = SA_SIGINFO };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
	if (pthread_barrier_init(&start_barrier, NULL, nthreads))
		_exit(6);
	for (i = 0; i < nthreads; i++) {
		ws[i].sh = sh;
		ws[i].fd = fd;
		ws[i].rofd = rofd;
		ws[i].proc = proc;
		ws[i].thread = i;
		ws[i].unpriv = unpriv;
		ws[i].ps = page_size();
		ws[i].rng = seed ^ ((uint64_t)(proc + 1) << 32) ^ (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
		if (!ws[i].rng)
			ws[i].rng = 1;
		if (pthread_create(&tids[i], NULL, worker_thread, &ws[i]))
			_exit(5);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	_exit(0);
}

FIXTURE(fuzz)
{
	int fd;
	struct mymem_stats before;
};

FIXTURE_SETUP(fuzz)
{
	self->fd = mymem_open();
	ASSERT_DEVICE_OPEN(self->fd);
}

FIXTURE_TEARDOWN(fuzz)
{
	close(self->fd);
}

TEST_F_TIMEOUT(fuzz, random_calls_from_processes_and_threads_get_documented_results, 900)
{
	int seconds = env_int("MYMEM_FUZZ_SECONDS", 60, 1, 36000);
	int nprocs = env_int("MYMEM_FUZZ_PROCS", 3, 1, MAX_PROCS);
	int nthreads = env_int("MYMEM_FUZZ_THREADS", 3, 1, MAX_THREADS);
	const char *seed_env = getenv("MYMEM_FUZZ_SEED");
	uint64_t seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) :
			now_ns() ^ ((uint64_t)getpid() << 20);
	struct mymem_stats before, after;
	pid_t pids[MAX_PROCS];
	struct shared *sh;
	struct mymem_info info;
	int i, code, bad = 0;
	uint64_t t0;

	ASSERT_EQ(0U, geteuid()) TH_LOG("the fuzzer needs root (one worker drops to nobody)");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	ASSERT_EQ(0, mymem_get_info(self->fd, &info));
	sh->max_pages = info.max_pages;
	sh->max_ppp = info.max_pages_per_process;
	get_sysfs_stats(&before);
	printf("# fuzzing for %d s: %d processes x %d threads (process 0 as "
	       "nobody), seed %#llx (MYMEM_FUZZ_SEED)\n", seconds, nprocs,
	       nthreads, (unsigned long long)seed);
	fflush(stdout);
	fflush(stderr);
	t0 = now_ns();
	sh->deadline_ns = t0 + (uint64_t)seconds * 1000000000ull;
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			worker_process(sh, i, nthreads, seed, i == 0);
	}
	for (i = 0; i < nprocs; i++) {
		code = child_exit_code(pids[i], (seconds + 240) * 1000);
		if (code != 0) {
			TH_LOG("worker process %d (pid %d) ended with %d%s", i,
			       pids[i], code, code < 0 && code > -100 ?
			       " (killed by that signal)" : "");
			bad++;
		}
	}
	get_sysfs_stats(&after);
	printf("# %lu operations in %.1f s: %lu ioctls, %lu mmaps (%lu "
	       "succeeded), %lu munmaps, %lu mprotects, %lu mremaps, %lu "
	       "madvises, %lu forks, %lu content checks\n",
	       atomic_load(&sh->ops), (now_ns() - t0) / 1e9,
	       atomic_load(&sh->ioctls), atomic_load(&sh->mmaps),
	       atomic_load(&sh->mmaps_ok), atomic_load(&sh->unmaps),
	       atomic_load(&sh->mprotects), atomic_load(&sh->mremaps),
	       atomic_load(&sh->madvises), atomic_load(&sh->forks),
	       atomic_load(&sh->checks));
	printf("# pages: %lld allocated and %lld freed during the run, "
	       "resident %llu -> %llu, pages leaked: %lld\n",
	       (long long)STAT_DELTA(before, after, pages_allocated),
	       (long long)STAT_DELTA(before, after, pages_freed),
	       (unsigned long long)before.resident_pages,
	       (unsigned long long)after.resident_pages,
	       (long long)(STAT_DELTA(before, after, pages_allocated) -
			   STAT_DELTA(before, after, pages_freed)));
	fflush(stdout);
	if (atomic_load(&sh->proc_stats_echo))
		printf("# known finding: %lu PROC_STATS answers in forked children "
		       "echoed the caller's bytes instead of zeros (see "
		       "proc_stats_of_a_process_that_never_mapped_are_zero)\n",
		       atomic_load(&sh->proc_stats_echo));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0UL, atomic_load(&sh->failures)) {
		TH_LOG("%lu results were not the documented ones (first %d above)",
		       atomic_load(&sh->failures), MAX_REPORTS);
	}
	EXPECT_LT(0UL, atomic_load(&sh->mmaps_ok));
	EXPECT_EQ(before.resident_pages, after.resident_pages);
	EXPECT_EQ(before.pages_allocated - before.pages_freed,
		  after.pages_allocated - after.pages_freed);
	EXPECT_EQ(after.resident_pages, after.pages_allocated - after.pages_freed);
	EXPECT_EQ(before.open_files, after.open_files);
	munmap(sh, sizeof(*sh));
}

/*
 * Found by the fuzzer: MYMEM_IOC_PROC_STATS in a process that never used
 * the device (here a forked child, whose inherited mapping belongs to the
 * parent) must read all zeros (uapi header: "zero if it never used the
 * device").  kmod/ioctl.c ioctl_stats() copies the caller's struct into
 * its buffer (copy_struct_in) and, finding no record of the process,
 * copies those same bytes back: the caller gets its own input.
 */
TEST_F(fuzz, proc_stats_of_a_process_that_never_mapped_are_zero)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mymem_stats st;

		memset(&st, 0x5a, sizeof(st));
		st.size = sizeof(st);
		st.flags = 0;
		CHILD_CHECK(ioctl(self->fd, MYMEM_IOC_PROC_STATS, &st) == 0);
		if (st.resident_pages || st.pages_allocated || st.mmap_calls ||
		    st.failed_mmaps || st.peak_resident_pages) {
			fprintf(stderr, "# child: PROC_STATS resident %#llx allocated "
				"%#llx mmap_calls %#llx: the bytes it was given "
				"(0x5a...), not zeros\n",
				(unsigned long long)st.resident_pages,
				(unsigned long long)st.pages_allocated,
				(unsigned long long)st.mmap_calls);
			_exit(1);
		}
		_exit(0);
	}
	EXPECT_EQ(0, child_exit_code(pid, 20000));
}

TEST_HARNESS_MAIN
