#!/usr/bin/env python3
"""pywork.py N - a python3 workload of dicts, lists and strings, N rounds.

Builds and discards dicts of string keys, lists of tuples, joined and split
strings, a sort, and a json round trip: the kind of object churn that goes
to malloc for everything beyond pymalloc's 512-byte small objects (dict and
list storage, long strings).
"""
import json
import sys


def one_round(r):
    d = {}
    for i in range(2000):
        k = "key-%d-%d" % (r, i)
        d[k] = [i, k * (1 + i % 7), (i, str(i))]
    words = []
    for k, v in d.items():
        words.append(v[1][: (len(k) * 3) % 97 + 1])
    text = " ".join(words)
    parts = text.split(" ")
    parts.sort(key=len)
    big = [("x" * (i % 300)) + str(i) for i in range(3000)]
    blob = json.dumps({"d": list(d)[:500], "b": big[:500]})
    back = json.loads(blob)
    return len(text) + len(parts) + len(back["b"]) + sum(map(len, big))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    total = 0
    for r in range(n):
        total += one_round(r)
    print("pywork:", total)


if __name__ == "__main__":
    main()
