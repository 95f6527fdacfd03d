// SPDX-License-Identifier: MIT
/*
 * control.c - the run-time controls of the API: fit policy, trim, the
 * physical address of a heap pointer, and glibc's mallopt/malloc_trim.
 */
#include <errno.h>
#include <malloc.h>

#include "internal.h"
#include "valgrind_annot.h"
#include "pagesource.h"

#define API __attribute__((visibility("default")))

static const char *const policy_names[MYMEM_POLICY_COUNT] = {
	[MYMEM_POLICY_FAST] = "fast",
	[MYMEM_POLICY_FIRST_FIT] = "first-fit",
	[MYMEM_POLICY_NEXT_FIT] = "next-fit",
	[MYMEM_POLICY_BEST_FIT] = "best-fit",
	[MYMEM_POLICY_WORST_FIT] = "worst-fit",
};

API const char *mymem_policy_name(int policy)
{
	if (policy < 0 || policy >= MYMEM_POLICY_COUNT)
		return "unknown";
	return policy_names[policy];
}

API const char *mymem_page_source_name(int source)
{
	switch (source) {
	case MYMEM_SOURCE_DEVICE: return "device";
	case MYMEM_SOURCE_ANON:   return "anonymous mmap (fallback)";
	case MYMEM_SOURCE_NONE:   return "none";
	default:                  return "unknown";
	}
}

API int mymem_get_policy(void)
{
	mm_ready();
	return mm_policy();
}

/*
 * Other threads' caches keep the blocks they hold (still valid, in use for
 * the heap) but stop caching when the policy is not the fast one.
 */
static int set_policy(int policy)
{
	if (policy < 0 || policy >= MYMEM_POLICY_COUNT)
		return MYMEM_E_INVALID;
	if (!mm_ready())
		return MYMEM_E_NO_DEVICE;
	tc_flush_current();
	__atomic_store_n(&mm_opt.policy, policy, __ATOMIC_RELAXED);
	arena_set_policy(policy);
	return MYMEM_OK;
}

/* Muted under memcheck: rebuilding the free lists reads freed payloads. */
API int mymem_set_policy(int policy)
{
	bool m = vg_mute();
	int r = set_policy(policy);

	vg_unmute(m);
	return r;
}

/* Everything free back to the page source (also when an allocation found
 * the page source refusing: malloc_api.c); no arena lock may be held. */
size_t mm_trim_all(void)
{
	size_t released = 0;

	if (atomic_load(&mm_init_state) != 2)
		return 0;
	tc_flush_current();
	for (unsigned i = 0; i < mm_narenas; i++) {
		struct arena *a = &mm_arenas[i];

		arena_lock(a);
		released += heap_trim_arena(a);
		mm_unlock(&a->lock);
	}
	return released + huge_cache_drain();
}

API size_t mymem_trim(void)
{
	bool m = vg_mute();
	size_t r = mm_trim_all();

	vg_unmute(m);
	return r;
}

API uint64_t mymem_virt_to_phys(const void *p)
{
	if (!mm_ready()) {
		errno = ENODEV;
		return 0;
	}
	if (!seg_lookup(p)) {
		errno = EINVAL;
		return 0;
	}
	return ps_virt_to_phys(p);
}

/*
 * glibc's tuning call, for the parameters this heap has: the thresholds
 * and the top pad (setting a threshold stops their sliding, as in glibc).
 * Returns 1 on success, 0 for a bad value or a parameter with no meaning
 * here (M_MXFAST, M_ARENA_MAX, ...).
 */
API int mallopt(int param, int value)
{
	if (value < 0)
		return 0;
	mm_ready();
	switch (param) {
	case M_MMAP_THRESHOLD:
		if ((size_t)value < 4096 || (size_t)value > ((size_t)32 << 20))
			return 0;
		__atomic_store_n(&mm_opt.mmap_threshold, (size_t)value, __ATOMIC_RELAXED);
		break;
	case M_TRIM_THRESHOLD:
		__atomic_store_n(&mm_opt.trim_threshold,
				 (size_t)value < 65536 ? (size_t)65536 : (size_t)value,
				 __ATOMIC_RELAXED);
		break;
	case M_TOP_PAD:
		__atomic_store_n(&mm_opt.top_pad, (size_t)value, __ATOMIC_RELAXED);
		return 1;
	default:
		return 0;
	}
	__atomic_store_n(&mm_opt.dyn_threshold, false, __ATOMIC_RELAXED);
	return 1;
}

/* glibc's: give free memory back; 1 if any was released. */
API int malloc_trim(size_t pad)
{
	(void)pad;	/* each arena keeps its configured top pad */
	return mymem_trim() > 0;
}
