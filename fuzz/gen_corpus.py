#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen_corpus.py DIR - write the seed corpus of mymem_fuzz into DIR.

Each seed is a small program in the harness's encoding (see mymem_fuzz.c):
one step is   op, slot, seed, then the op's arguments;
a size is     class byte + 2 or 4 bytes;  an alignment is one byte.
The seeds cover every operation, the size classes (thread-cache, small,
medium, around the 1 MiB mmap threshold, impossible), bad alignments,
realloc chains that grow and shrink, policy switches and trims.
Deterministic: the same files every time (random.seed).
"""
import os
import random
import struct
import sys

(MALLOC, CALLOC, REALLOC, FREE, MEMALIGN, POSIX_MEMALIGN, ALIGNED_ALLOC,
 USABLE, REALLOCARRAY, VALLOC, PVALLOC, TRIM, POLICY, SCRIBBLE) = range(14)


def size_small(n):      # 0..599
    return bytes([0x00]) + struct.pack('<H', n % 600)


def size_mid(n):        # 0..16383
    return bytes([0x60]) + struct.pack('<H', n % 16384)


def size_big(n):        # 0..256 KiB
    return bytes([0xa0]) + struct.pack('<I', n)


def size_huge(n):       # 512 KiB + n (mmap threshold is 1 MiB)
    return bytes([0xc0]) + struct.pack('<I', n)


def size_edge(sub, extra=b'\x00\x00'):
    return bytes([0xe0 | sub]) + extra


def align(log2=None, raw=None):
    return bytes([raw if raw is not None else log2])


def step(op, slot, seed, *args):
    return bytes([op, slot, seed]) + b''.join(args)


def rnd_size(r):
    c = r.random()
    if c < 0.5:
        return size_small(r.randrange(600))
    if c < 0.8:
        return size_mid(r.randrange(16384))
    if c < 0.95:
        return size_big(r.randrange(256 << 10))
    return size_huge(r.randrange(2 << 20))


def rnd_program(r, nsteps, ops):
    out = b''
    for _ in range(nsteps):
        op = r.choice(ops)
        slot = r.randrange(16)
        seed = r.randrange(256)
        if op in (MALLOC, VALLOC, PVALLOC):
            out += step(op, slot, seed, rnd_size(r))
        elif op == CALLOC:
            out += step(op, slot, seed, rnd_size(r), bytes([r.randrange(8), 0]))
        elif op in (MEMALIGN, POSIX_MEMALIGN, ALIGNED_ALLOC):
            out += step(op, slot, seed, align(r.randrange(14)), rnd_size(r))
        elif op == REALLOC:
            out += step(op, slot, seed, rnd_size(r))
        elif op == REALLOCARRAY:
            out += step(op, slot, seed, rnd_size(r), bytes([r.randrange(4)]))
        elif op == POLICY:
            out += step(op, slot, seed, bytes([r.randrange(6)]))
        else:
            out += step(op, slot, seed)
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
    os.makedirs(d, exist_ok=True)
    seeds = {}
    # one file per operation, on its own
    seeds['malloc-small'] = step(MALLOC, 0, 1, size_small(24)) + step(FREE, 0, 0)
    seeds['malloc-zero'] = step(MALLOC, 0, 1, size_small(0)) + step(USABLE, 0, 9)
    seeds['calloc'] = step(CALLOC, 1, 2, size_mid(1000), b'\x03\x00')
    seeds['calloc-overflow'] = step(CALLOC, 1, 2, size_mid(1000), b'\x03\xff')
    seeds['calloc-huge'] = step(CALLOC, 1, 2, size_huge(600 << 10), b'\x01\x00')
    seeds['realloc-null'] = step(REALLOC, 2, 3, size_small(100))
    seeds['realloc-zero'] = step(MALLOC, 2, 3, size_small(100)) + step(REALLOC, 2, 4, size_small(0))
    seeds['realloc-grow-shrink'] = (step(MALLOC, 3, 5, size_small(40)) +
                                    step(REALLOC, 3, 6, size_mid(5000)) +
                                    step(REALLOC, 3, 7, size_big(200000)) +
                                    step(REALLOC, 3, 8, size_huge(700 << 10)) +
                                    step(REALLOC, 3, 9, size_small(17)))
    seeds['reallocarray'] = step(MALLOC, 4, 1, size_small(10)) + step(REALLOCARRAY, 4, 2, size_mid(3000), b'\x02')
    seeds['memalign'] = b''.join(step(MEMALIGN, i, i, align(i + 4), size_small(100 + i)) for i in range(12))
    seeds['posix-memalign'] = b''.join(step(POSIX_MEMALIGN, i, i, align(i), size_mid(1000 * i)) for i in range(16))
    seeds['aligned-alloc'] = b''.join(step(ALIGNED_ALLOC, i, i, align(i + 8), size_big(70000 * i)) for i in range(12))
    seeds['bad-aligns'] = b''.join(step(op, 0, 0, align(raw=224 + k), size_small(64))
                                   for op in (MEMALIGN, POSIX_MEMALIGN, ALIGNED_ALLOC) for k in range(8))
    seeds['valloc-pvalloc'] = (step(VALLOC, 0, 1, size_small(1)) + step(PVALLOC, 1, 2, size_mid(4097)) +
                               step(PVALLOC, 2, 3, size_small(0)) + step(VALLOC, 3, 4, size_huge(1 << 20)))
    seeds['impossible-sizes'] = b''.join(step(op, 0, 0, size_edge(sub, b'\x07\x07'))
                                         for op in (MALLOC, REALLOC) for sub in range(8))
    seeds['threshold'] = b''.join(step(MALLOC, i, i, size_edge(5, bytes([i * 2]))) for i in range(16))
    seeds['tcache-edge'] = b''.join(step(MALLOC, i, i, size_edge(6, bytes([i * 3]))) for i in range(14)) + \
        b''.join(step(FREE, i, 0) for i in range(14))
    seeds['page-edge'] = b''.join(step(MALLOC, i, i, size_edge(7, bytes([i, i * 5]))) for i in range(16))
    seeds['trim'] = (b''.join(step(MALLOC, i, i, size_big(250000)) for i in range(16)) +
                     b''.join(step(FREE, i, 0) for i in range(16)) + step(TRIM, 0, 0))
    seeds['policies'] = b''.join(step(POLICY, 0, 0, bytes([p])) + step(MALLOC, p, p, size_mid(300 * p + 5)) +
                                 step(FREE, (p + 3) % 6, 0) for p in range(6))
    seeds['scribble-usable'] = (step(MALLOC, 5, 1, size_small(33)) + step(USABLE, 5, 0xaa) +
                                step(SCRIBBLE, 5, 2) + step(REALLOC, 5, 3, size_small(500)))
    r = random.Random(20240601)
    all_ops = list(range(14))
    for i in range(10):
        seeds['random-%02d' % i] = rnd_program(r, 30 + 20 * i, all_ops)
    for i in range(6):
        seeds['churn-%02d' % i] = rnd_program(r, 200, [MALLOC, FREE, REALLOC, CALLOC, FREE])
    for i in range(4):
        seeds['policy-churn-%02d' % i] = (step(POLICY, 0, 0, bytes([1 + i])) +
                                          rnd_program(r, 150, [MALLOC, FREE, REALLOC, MEMALIGN, FREE]))
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(seeds), d))


if __name__ == '__main__':
    main()
