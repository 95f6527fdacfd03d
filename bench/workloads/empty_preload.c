/* SPDX-License-Identifier: MIT */
/*
 * empty_preload.c - a shared library that does nothing, preloaded into the
 * real programs in the VM as a control: what LD_PRELOAD of one more
 * library costs every exec'd process by itself, apart from replacing
 * malloc.
 */
int mymem_bench_empty_preload;
