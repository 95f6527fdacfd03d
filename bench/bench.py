#!/usr/bin/env python3
"""bench.py - the driver of mymem's allocator benchmarks (stdlib only).

    bench.py native  [--runs N] [--scale S] [--only W,...]
        every workload x allocator on the host, N runs each, in a shuffled
        (interleaved) order per run; raw data -> results/native.jsonl
    bench.py vm      [--kver V] [--runs N] [--scale S] [--parts P,...]
        boots the VM once (qemu/vm-run) and runs `bench.py guest` in it;
        the guest prints BENCHJSON lines on stdout, which land in
        results/vm.jsonl (the whole console output in results/vm-raw.txt)
    bench.py guest   (inside the VM only) page supply, fork cost,
        workloads with libmymem on /dev/mymem vs glibc, real programs
    bench.py report
        results/RESULTS.md, results/*.png, and the table on stdout
    bench.py counts  [--scale S] [--only W,...]
        instructions and simulated cache misses of every workload x
        allocator under cachegrind: figures that do not move with the
        host's load; -> results/COUNTS.md

Every figure that is compared is a ratio against a baseline measured in the
same run (same host or same VM boot): medians over the runs, with the
spread (min-max) next to them.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# Baselines by LD_PRELOAD (Debian packages), libmymem from userlib/.
SYSTEM_ALLOCS = [
    ("glibc", None),
    ("jemalloc", LIBDIR + "/libjemalloc.so.2"),
    ("mimalloc", LIBDIR + "/libmimalloc.so.2"),
    ("tcmalloc", LIBDIR + "/libtcmalloc_minimal.so.4"),
]
NATIVE_ORDER = ["glibc", "jemalloc", "mimalloc", "tcmalloc", "libmymem"]

# (name, program, threads)
WORKLOADS = [
    ("larson-2t", "larson", 2),
    ("prodcons-2t", "prodcons", 2),
    ("small-1t", "small", 1),
    ("small-2t", "small", 2),
    ("mixed-1t", "mixed", 1),
    ("mixed-2t", "mixed", 2),
    ("realloc-1t", "realloc", 1),
    ("realloc-2t", "realloc", 2),
    ("frag-1t", "frag", 1),
    ("frag-2t", "frag", 2),
]

# Targets of the issues.
T_GLIBC_GEO = 0.8       # native geomean time(libmymem)/time(glibc)
T_MIMALLOC_GEO = 1.2    # native geomean time(libmymem)/time(mimalloc)
T_WORST = 1.10          # native: no workload slower than glibc by > 10%
T_RSS_GEO = 1.0         # native geomean peak RSS(libmymem)/peak RSS(glibc)
T_VM_GEO = 1.0          # VM geomean time(libmymem on device)/time(glibc)
T_PAGES = 1.0           # /dev/mymem pages/s over MAP_ANONYMOUS
T_REAL = 1.1            # real programs, libmymem over glibc
T_FORK = 2.0            # fork cost, libmymem over glibc, every size

FORK_SIZES = [1, 16, 256]
FORK_ITERS = {1: 100, 16: 40, 256: 8}
REAL_BASH_N = 8
REAL_PY_N = 12
# Control rows of the real programs in the VM ({build}: the bench's build dir).
REAL_CONTROLS = [("mimalloc", LIBDIR + "/libmimalloc.so.2"),
                 ("empty-preload", "{build}/libempty_preload.so")]
REAL_ORDER = ["glibc", "libmymem"] + [n for n, _ in REAL_CONTROLS]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def median(xs):
    return statistics.median(xs) if xs else None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def git(*args):
    try:
        return subprocess.run(["git", "-C", TOP] + list(args), capture_output=True,
                              text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_prog(cmd, env_add=None, timeout=120, env_del=()):
    """Run cmd; returns dict(rc, out, err, wall_s, maxrss_kb)."""
    env = dict(os.environ)
    for k in env_del:
        env.pop(k, None)
    if env_add:
        env.update(env_add)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, text=True)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        # Read both pipes without deadlock: stderr in a thread.
        errbuf = []
        th = threading.Thread(target=lambda: errbuf.append(p.stderr.read()))
        th.start()
        out = p.stdout.read()
        th.join()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
    rc = p.returncode
    timed_out = rc == -9 and wall >= timeout
    return {"rc": rc, "out": out, "err": "".join(errbuf)[-2000:], "wall_s": wall,
            "maxrss_kb": ru.ru_maxrss, "timed_out": timed_out}


def parse_kv(line, tag):
    """'TAG a=1 b=x' -> {'a': 1, 'b': 'x'} (numbers converted)."""
    parts = line.split()
    if not parts or parts[0] != tag:
        return None
    d = {}
    for kv in parts[1:]:
        k, _, v = kv.partition("=")
        try:
            d[k] = int(v)
        except ValueError:
            try:
                d[k] = float(v)
            except ValueError:
                d[k] = v
    return d


def find_tagged(out, tag):
    res = []
    for line in out.splitlines():
        d = parse_kv(line, tag)
        if d is not None:
            res.append(d)
    return res


def snapshot_libmymem(build, userlib, reuse=False, name="libmymem.so"):
    """Copy libmymem.so so that a rebuild during the run cannot mix two
    versions; returns (path or None, info dict).  reuse: take the copy an
    earlier step of the same `make bench` made (native and VM then measure
    the same build).  name: the copy's file name in build (counts makes
    its own, so that it never replaces one a running bench has mapped)."""
    info = {"source": userlib}
    snap = os.path.join(build, name)
    if reuse and os.path.exists(snap + ".json"):
        with open(snap + ".json") as f:
            info = json.load(f)
        return (None if info.get("missing") else snap), info
    if not os.path.exists(userlib):
        info["missing"] = "not built (%s does not exist)" % userlib
        with open(snap + ".json", "w") as f:
            json.dump(info, f)
        return None, info
    dst = snap
    shutil.copy2(userlib, dst)
    info["sha256"] = sha256(dst)[:16]
    info["mtime"] = datetime.datetime.fromtimestamp(
        os.path.getmtime(userlib)).isoformat(timespec="seconds")
    info["userlib_git"] = git("log", "-1", "--format=%h %s", "--", "userlib")
    info["userlib_dirty"] = bool(git("status", "--porcelain", "--", "userlib"))
    # Sanity check: a tiny run must work and give the same checksum.
    ref = run_prog([os.path.join(build, "small"), "-s", "0.01"], timeout=60)
    chk = run_prog([os.path.join(build, "small"), "-s", "0.01"],
                   {"LD_PRELOAD": dst}, timeout=60)
    a, b = find_tagged(ref["out"], "RESULT"), find_tagged(chk["out"], "RESULT")
    if chk["rc"] != 0 or not b or (a and a[0]["check"] != b[0]["check"]):
        info["missing"] = "sanity run failed (rc %s): %s" % (chk["rc"], chk["err"][-300:])
    with open(dst + ".json", "w") as f:
        json.dump(info, f)
    return (None if info.get("missing") else dst), info


def host_meta():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host_kernel": platform.release(),
        "os": osname,
        "cpu": cpu,
        "ncpu": os.cpu_count(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "git_head": git("rev-parse", "--short", "HEAD"),
        "dev_mymem_on_host": os.path.exists("/dev/mymem"),
    }


def select_workloads(only):
    if not only:
        return WORKLOADS
    want = set(only.split(","))
    return [w for w in WORKLOADS if w[0] in want or w[1] in want]


# ---------------------------------------------------------------- native

def cmd_native(args):
    os.makedirs(args.results, exist_ok=True)
    lib, libinfo = snapshot_libmymem(args.build, args.userlib)
    allocs = []
    for name, path in SYSTEM_ALLOCS:
        if path is None or os.path.exists(path):
            allocs.append((name, path))
        else:
            log("bench: %s missing (%s); run make deps" % (name, path))
    if lib:
        allocs.append(("libmymem", lib))
    else:
        log("bench: libmymem rows will be missing: " + libinfo["missing"])
    wls = select_workloads(args.only)
    meta = host_meta()
    meta.update({"kind": "meta", "runs": args.runs, "scale": args.scale,
                 "allocators": [a for a, _ in allocs], "libmymem": libinfo,
                 "libmymem_source": "device" if meta["dev_mymem_on_host"] else "fallback (anonymous mmap)",
                 "workloads": [w[0] for w in wls]})
    out = os.path.join(args.results, "native.jsonl")
    t_start = time.monotonic()
    with open(out + ".tmp", "w") as f:
        f.write(json.dumps(meta) + "\n")
        total = args.runs * len(wls) * len(allocs)
        k = 0
        for r in range(args.runs):
            jobs = [(w, a) for w in wls for a in allocs]
            random.Random(1000 + r).shuffle(jobs)
            for (wname, prog, thr), (aname, apath) in jobs:
                k += 1
                cmd = [os.path.join(args.build, prog), "-t", str(thr), "-s", str(args.scale)]
                env = {"LD_PRELOAD": apath} if apath else None
                res = run_prog(cmd, env, timeout=args.timeout, env_del=("LD_PRELOAD",))
                rec = {"kind": "run", "workload": wname, "alloc": aname, "run": r,
                       "rc": res["rc"], "wall_s": round(res["wall_s"], 4)}
                rr = find_tagged(res["out"], "RESULT")
                if res["rc"] == 0 and rr:
                    rec.update({"time_s": rr[0]["time_s"], "maxrss_kb": rr[0]["maxrss_kb"],
                                "check": rr[0]["check"], "cpu_s": rr[0].get("cpu_s")})
                    msg = "%.3f s  %6.1f MiB" % (rec["time_s"], rec["maxrss_kb"] / 1024)
                else:
                    rec["error"] = ("timeout" if res["timed_out"] else
                                    "rc=%s %s" % (res["rc"], res["err"].strip()[-200:]))
                    msg = "FAILED " + rec["error"]
                f.write(json.dumps(rec) + "\n")
                f.flush()
                log("[%3d/%d] run %d  %-12s %-9s %s" % (k, total, r + 1, wname, aname, msg))
        f.write(json.dumps({"kind": "end", "elapsed_s": round(time.monotonic() - t_start, 1)}) + "\n")
    os.replace(out + ".tmp", out)
    log("bench: native results in %s (%.0f s)" % (out, time.monotonic() - t_start))


# ---------------------------------------------------------------- VM, host side

def cmd_vm(args):
    os.makedirs(args.results, exist_ok=True)
    lib, libinfo = snapshot_libmymem(args.build, args.userlib, args.reuse_lib)
    if not lib:
        log("bench: libmymem rows will be missing in the VM: " + libinfo["missing"])
    vmrun = os.path.join(TOP, "qemu", "vm-run")
    guest = ["python3", os.path.join(HERE, "bench.py"), "--build", args.build,
             "guest", "--runs", str(args.runs), "--real-runs", str(args.real_runs),
             "--scale", str(args.scale),
             "--parts", args.parts]
    if lib:
        guest += ["--lib", lib]
    if args.only:
        guest += ["--only", args.only]
    if args.fallback:
        guest.append("--fallback")
    cmd = [vmrun, "--kernel", args.kver, "--mem", str(args.mem), "--timeout",
           str(args.vm_timeout)] + [x for p in args.param for x in ("--param", p)] + \
        ["--"] + guest
    log("bench: " + " ".join(cmd))
    meta = host_meta()
    meta.update({"kind": "meta", "side": "host", "runs": args.runs, "scale": args.scale,
                 "kver": args.kver, "vm_mem_mb": args.mem, "libmymem": libinfo,
                 "cmd": " ".join(cmd)})
    t0 = time.monotonic()
    raw = os.path.join(args.results, "vm-raw.txt")
    recs = [meta]
    with open(raw + ".tmp", "w") as rf:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace")
        for line in p.stdout:
            line = line.rstrip("\r\n")
            rf.write(line + "\n")
            rf.flush()
            if line.startswith("BENCHJSON "):
                try:
                    recs.append(json.loads(line[len("BENCHJSON "):]))
                except ValueError:
                    log("bench: bad line: " + line)
                    continue
                if recs[-1].get("kind") == "progress":
                    log("vm: " + recs[-1]["msg"])
            else:
                log("vm| " + line)
        rc = p.wait()
    os.replace(raw + ".tmp", raw)
    recs.append({"kind": "end", "vm_run_rc": rc, "elapsed_s": round(time.monotonic() - t0, 1)})
    with open(os.path.join(args.results, "vm.jsonl"), "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    log("bench: vm-run exit status %d, %.0f s; results in %s/vm.jsonl" %
        (rc, time.monotonic() - t0, args.results))
    if rc != 0:
        log("bench: note: vm-run reported a failure (status %d); see %s" % (rc, raw))


# ---------------------------------------------------------------- VM, guest side

def emit(rec):
    print("BENCHJSON " + json.dumps(rec), flush=True)


def progress(msg):
    emit({"kind": "progress", "msg": msg})


def read_sys(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def fs_type(path):
    """The file system type of the mount holding path (/proc/mounts)."""
    best, kind = "", None
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def local_copy(path, into):
    """A copy of a preloaded library in the guest's tmpfs.  Over the 9p
    share that holds the project every exec'd process opened it afresh
    (a walk, an open and a getattr to the host each); an installed library
    sits on a local file system.  All preloads are copied alike; libc and
    the programs stay where they are for every row."""
    if not path or not os.path.exists(path):
        return path
    dst = os.path.join(into, os.path.basename(path))
    shutil.copy2(path, dst)
    return dst


def cmd_guest(args):
    if not os.environ.get("MYMEM_VM"):
        log("bench: guest mode is meant to run in the VM (qemu/vm-run)")
    parts = args.parts.split(",")
    params = {}
    pdir = "/sys/module/mymem/parameters"
    if os.path.isdir(pdir):
        for n in sorted(os.listdir(pdir)):
            params[n] = read_sys(os.path.join(pdir, n))
    emit({"kind": "meta", "side": "guest", "kernel": platform.release(),
          "thp": read_sys("/sys/kernel/mm/transparent_hugepage/enabled"),
          "real_bash_n": REAL_BASH_N, "real_py_n": REAL_PY_N, "real_runs": args.real_runs,
          "fork_iters": [FORK_ITERS[m] for m in FORK_SIZES],
          "pages_budget": args.pages_budget,
          "ncpu": os.cpu_count(), "dev": os.path.exists("/dev/mymem"),
          "module_params": params, "lib": args.lib,
          "preloads_from": "copies in the guest's " + (fs_type("/tmp") or "/tmp")})
    b = args.build
    local = tempfile.mkdtemp(prefix="mymem-bench-")
    lib = local_copy(args.lib, local)
    t_all = time.monotonic()

    if "pages" in parts:
        for r in range(args.runs):
            t0 = time.monotonic()
            res = run_prog([os.path.join(b, "pagesupply"), "-m", "256", "-b", str(args.pages_budget)],
                           timeout=600)
            for d in find_tagged(res["out"], "PAGES"):
                d.update({"kind": "pages", "run": r})
                emit(d)
            if res["rc"] != 0:
                emit({"kind": "error", "part": "pages", "run": r, "rc": res["rc"], "err": res["err"]})
            progress("pages run %d/%d: %.1f s" % (r + 1, args.runs, time.monotonic() - t0))

    if "fork" in parts:
        kinds = [("glibc", "malloc", None), ("device-raw", "device", None),
                 ("anon-raw", "anon", None)]
        if lib:
            kinds.insert(1, ("libmymem", "malloc", lib))
        for r in range(args.runs):
            t0 = time.monotonic()
            jobs = [(m, k) for m in FORK_SIZES for k in kinds]
            random.Random(2000 + r).shuffle(jobs)
            for mib, (name, kind, pre) in jobs:
                res = run_prog([os.path.join(b, "forkcost"), "-m", str(mib), "-n",
                                str(FORK_ITERS[mib]), "-k", kind],
                               {"LD_PRELOAD": pre} if pre else None, timeout=300,
                               env_del=("LD_PRELOAD",))
                got = find_tagged(res["out"], "FORK")
                if res["rc"] == 0 and got:
                    d = got[0]
                    d.update({"kind": "fork", "alloc": name, "mode": kind, "run": r})
                    emit(d)
                else:
                    emit({"kind": "error", "part": "fork", "alloc": name, "mib": mib,
                          "run": r, "rc": res["rc"], "err": res["err"][-300:]})
            progress("fork run %d/%d: %.1f s" % (r + 1, args.runs, time.monotonic() - t0))

    if "workloads" in parts:
        allocs = [("glibc", None)]
        if lib:
            allocs.append(("libmymem", {"LD_PRELOAD": lib}))
            if args.fallback:
                allocs.append(("libmymem-fallback", {"LD_PRELOAD": lib, "MYMEM_DEVICE": "none"}))
        wls = select_workloads(args.only)
        for r in range(args.runs):
            t0 = time.monotonic()
            jobs = [(w, a) for w in wls for a in allocs]
            random.Random(3000 + r).shuffle(jobs)
            for (wname, prog, thr), (aname, env) in jobs:
                res = run_prog([os.path.join(b, prog), "-t", str(thr), "-s", str(args.scale)],
                               env, timeout=300, env_del=("LD_PRELOAD", "MYMEM_DEVICE"))
                rec = {"kind": "run", "workload": wname, "alloc": aname, "run": r,
                       "rc": res["rc"]}
                got = find_tagged(res["out"], "RESULT")
                if res["rc"] == 0 and got:
                    d = got[0]
                    rec.update({"time_s": d["time_s"], "maxrss_kb": d["maxrss_kb"],
                                "dev_peak_pages": d["dev_peak_pages"],
                                "dev_mmaps": d["dev_mmaps"], "check": d["check"],
                                "cpu_s": d.get("cpu_s")})
                else:
                    rec["error"] = ("timeout" if res["timed_out"] else
                                    "rc=%s %s" % (res["rc"], res["err"].strip()[-200:]))
                emit(rec)
            progress("workloads run %d/%d: %.1f s" % (r + 1, args.runs, time.monotonic() - t0))

    if "real" in parts:
        progs = [("bash-forky", ["bash", os.path.join(HERE, "real", "forky.sh"), str(REAL_BASH_N)]),
                 ("python3-dicts", ["python3", os.path.join(HERE, "real", "pywork.py"), str(REAL_PY_N)])]
        allocs = [("glibc", None)] + ([("libmymem", {"LD_PRELOAD": lib})] if lib else [])
        # Controls: another allocator, and a preloaded library with no code
        # (what preloading alone costs each exec'd process).
        for name, path in REAL_CONTROLS:
            path = path.replace("{build}", b)
            if os.path.exists(path):
                allocs.append((name, {"LD_PRELOAD": local_copy(path, local)}))
        for r in range(args.real_runs):
            t0 = time.monotonic()
            jobs = [(p, a) for p in progs for a in allocs]
            random.Random(4000 + r).shuffle(jobs)
            for (pname, cmd), (aname, env) in jobs:
                res = run_prog([os.path.join(b, "runmax")] + cmd, env, timeout=300,
                               env_del=("LD_PRELOAD",))
                rm = find_tagged(res["err"], "RUNMAX")
                rec = {"kind": "real", "prog": pname, "alloc": aname, "run": r,
                       "rc": res["rc"], "out": res["out"].strip()[-80:]}
                if rm:
                    rec.update({"wall_s": rm[-1]["wall_s"], "maxrss_kb": rm[-1]["maxrss_kb"]})
                if res["rc"] != 0 or not rm:
                    rec["rc"] = res["rc"] or -1
                    rec["error"] = "rc=%s %s" % (res["rc"], res["err"].strip()[-200:])
                emit(rec)
            progress("real programs run %d/%d: %.1f s" % (r + 1, args.real_runs, time.monotonic() - t0))

    progress("guest total %.1f s" % (time.monotonic() - t_all))


# ---------------------------------------------------------------- report

def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(x, spec="%.3f", none="–"):
    return none if x is None else spec % x


def verdict(ok):
    return "**met**" if ok else "**MISSED**"


class Cells:
    """Per (workload, alloc): lists of times, rss, per run."""

    def __init__(self, recs, key="workload"):
        self.t = {}
        self.rss = {}
        self.devpk = {}
        self.cpu = {}
        self.fail = {}
        self.byrun = {}
        for r in recs:
            if r.get("kind") != "run":
                continue
            k = (r[key], r["alloc"])
            if "time_s" in r:
                self.t.setdefault(k, []).append(r["time_s"])
                self.rss.setdefault(k, []).append(r["maxrss_kb"] / 1024)
                self.byrun[(k, r["run"])] = r["time_s"]
                if r.get("cpu_s") is not None:
                    self.cpu.setdefault(k, []).append(r["cpu_s"])
                if r.get("dev_peak_pages", -1) >= 0:
                    self.devpk.setdefault(k, []).append(r["dev_peak_pages"] * 4096 / 2**20)
            else:
                self.fail.setdefault(k, []).append(r.get("error", "?"))

    def med(self, w, a):
        return median(self.t.get((w, a), []))

    def rssmed(self, w, a):
        return median(self.rss.get((w, a), []))

    def paired(self, w, a, base):
        """min/max over runs of time(a)/time(base) in the same run."""
        xs = []
        for (k, r), v in self.byrun.items():
            if k == (w, a) and ((w, base), r) in self.byrun:
                xs.append(v / self.byrun[((w, base), r)])
        return (min(xs), max(xs)) if xs else (None, None)


def workload_table(cells, wls, allocs, base="glibc", dev=False, worst=None):
    hdr = ["workload", "allocator", "median time (s)", "spread min–max (s)", "±%",
           "peak RSS (MiB)", "RSS min–max (MiB)"]
    if dev:
        hdr.append("device peak (MiB)")
    hdr += ["time / %s" % base, "paired ratio min–max", "RSS / %s" % base, "note"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for w in wls:
        bt, brss = cells.med(w, base), cells.rssmed(w, base)
        for a in allocs:
            ts = cells.t.get((w, a), [])
            note = ""
            if not ts:
                errs = cells.fail.get((w, a))
                note = ("FAILED: " + errs[0][:60]) if errs else "missing"
                row = [w, a, "–", "–", "–", "–", "–"] + (["–"] if dev else []) + ["–", "–", "–", note]
                lines.append("| " + " | ".join(row) + " |")
                continue
            if cells.fail.get((w, a)):
                note = "%d run(s) failed; " % len(cells.fail[(w, a)])
            m, lo, hi = median(ts), min(ts), max(ts)
            rss = cells.rssmed(w, a)
            tr = m / bt if bt and a != base else None
            rr = rss / brss if brss and a != base else None
            plo, phi = cells.paired(w, a, base) if a != base else (None, None)
            if worst and a == "libmymem" and tr is not None and tr > worst:
                note += "MISSED: > %.2fx %s" % (worst, base)
            rs = cells.rss.get((w, a), [])
            row = [w, a, "%.3f" % m, "%.3f–%.3f" % (lo, hi), "%.0f" % (100 * (hi - lo) / 2 / m),
                   "%.1f" % rss, "%.1f–%.1f" % (min(rs), max(rs))]
            if dev:
                dp = median(cells.devpk.get((w, a), []))
                row.append(fmt(dp, "%.1f") if dp else "–")
            row += [fmt(tr, "%.2f"), ("%.2f–%.2f" % (plo, phi)) if plo else "–",
                    fmt(rr, "%.2f"), note]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def rss_spread_note(cells, wls, a="libmymem"):
    """Where a's peak RSS moved most between runs: a median of runs that
    far apart says as much about scheduling as about the allocator."""
    widest = None
    for w in wls:
        rs = cells.rss.get((w, a), [])
        if len(rs) > 1 and median(rs):
            half = (max(rs) - min(rs)) / 2 / median(rs)
            if widest is None or half > widest[0]:
                widest = (half, w, min(rs), max(rs))
    if widest is None:
        return ""
    return "; widest spread of its runs: %s %.1f–%.1f MiB (±%.0f%%)" % (
        widest[1], widest[2], widest[3], 100 * widest[0])


def geo_ratio(cells, wls, a, base, what="t"):
    xs, missing = [], []
    for w in wls:
        if what == "t":
            x, y = cells.med(w, a), cells.med(w, base)
        elif what == "cpu":
            x, y = median(cells.cpu.get((w, a), [])), median(cells.cpu.get((w, base), []))
        else:
            x, y = cells.rssmed(w, a), cells.rssmed(w, base)
        if x and y:
            xs.append(x / y)
        else:
            missing.append(w)
    return geomean(xs), missing


def gnuplot(script):
    try:
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
        if r.returncode != 0:
            log("bench: gnuplot failed: " + r.stderr[-500:])
            return False
        return True
    except OSError as e:
        log("bench: gnuplot not available (%s); make deps" % e)
        return False


def bar_chart(path, title, ylabel, rows, cols, data, hline=None, logscale=False):
    """rows: x labels, cols: series; data[(row, col)] -> value or None."""
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        f.write("label " + " ".join('"%s"' % c for c in cols) + "\n")
        for r in rows:
            f.write('"%s" ' % r + " ".join(
                ("%.4f" % data[(r, c)]) if data.get((r, c)) else "NaN" for c in cols) + "\n")
        dat = f.name
    plots = ", ".join("'%s' using %d:xtic(1) title columnhead" % (dat, i + 2)
                      for i in range(len(cols)))
    if hline:
        plots += ", %g with lines lw 2 dt 2 lc rgb 'black' title '%s'" % hline
    script = """
set terminal pngcairo size 1400,620 font 'DejaVu Sans,11'
set output '%s'
set title '%s'
set ylabel '%s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set xtics rotate by -30
set yrange [0:*]
%s
plot %s
""" % (path, title, ylabel, "set logscale y\nset yrange [*:*]" if logscale else "", plots)
    ok = gnuplot(script)
    os.unlink(dat)
    return ok


def cmd_report(args):
    res = args.results
    nat = load_jsonl(os.path.join(res, "native.jsonl"))
    vm = load_jsonl(os.path.join(res, "vm.jsonl"))
    md = ["# mymem allocator benchmarks", ""]
    md.append("Generated by `make bench` (bench/bench.py report) from `native.jsonl` and "
              "`vm.jsonl` in this directory.  Times are medians over the runs; the spread "
              "is min–max (±% = half the range over the median); every ratio is "
              "median / median against the baseline measured in the same run (same host, "
              "or same VM boot); \"paired ratio\" is the range of the per-run ratios; "
              "peak RSS is the median, with the lowest and highest of the runs beside it.")
    md.append("")
    targets = []

    # ---- native
    nmeta = next((r for r in nat if r.get("kind") == "meta"), None)
    nend = next((r for r in nat if r.get("kind") == "end"), None)
    if nmeta:
        wls = nmeta["workloads"]
        allocs = [a for a in NATIVE_ORDER if a in nmeta["allocators"]]
        if "libmymem" not in allocs:
            allocs.append("libmymem")
        cells = Cells(nat)
        li = nmeta.get("libmymem", {})
        md += ["## Native (host)", "",
               "- machine: %s, %s CPUs, %s GiB, %s, kernel %s" % (
                   nmeta["cpu"], nmeta["ncpu"], nmeta["mem_gib"], nmeta["os"], nmeta["host_kernel"]),
               "- date %s, git %s, %d runs per cell, op-count scale %s, order shuffled per run%s" % (
                   nmeta["date"], nmeta["git_head"], nmeta["runs"], nmeta["scale"],
                   ", %.0f s" % nend["elapsed_s"] if nend else ""),
               "- libmymem: %s" % (("MISSING: " + li["missing"]) if li.get("missing") else
                                   "%s sha256 %s (userlib: %s%s), page source: %s" % (
                                       li.get("source"), li.get("sha256"), li.get("userlib_git") or "uncommitted",
                                       ", working tree modified" if li.get("userlib_dirty") else "",
                                       nmeta.get("libmymem_source"))),
               "- baselines by LD_PRELOAD: jemalloc (libjemalloc2), mimalloc (libmimalloc2.0), "
               "tcmalloc (libtcmalloc-minimal4); glibc is the plain binary",
               "- peak RSS: VmHWM (/proc/self/status) at the end of the workload process", ""]
        md += workload_table(cells, wls, allocs, worst=T_WORST)
        md += ["", "Geometric means over the workloads against glibc (CPU time = user+system "
               "of the whole process, a second opinion when the machine is loaded; the "
               "targets use the wall time):", "",
               "| allocator | time / glibc | CPU time / glibc | peak RSS / glibc | workloads |",
               "|---|---|---|---|---|"]
        for a in allocs:
            if a == "glibc":
                continue
            gt, miss = geo_ratio(cells, wls, a, "glibc")
            gc, _ = geo_ratio(cells, wls, a, "glibc", "cpu")
            gr, _ = geo_ratio(cells, wls, a, "glibc", "rss")
            md.append("| %s | %s | %s | %s | %d%s |" % (a, fmt(gt, "%.3f"), fmt(gc, "%.3f"), fmt(gr, "%.3f"),
                                                 len(wls) - len(miss),
                                                 (" (missing: %s)" % ", ".join(miss)) if miss else ""))
        md.append("")
        gt, miss = geo_ratio(cells, wls, "libmymem", "glibc")
        gm, missm = geo_ratio(cells, wls, "libmymem", "mimalloc")
        gr, missr = geo_ratio(cells, wls, "libmymem", "glibc", "rss")
        incomplete = lambda m: (" (incomplete: %d workloads without data)" % len(m)) if m else ""
        if gt is None:
            targets.append("- native time(libmymem)/time(glibc) geomean <= %.1f: **MISSED** (no libmymem data)" % T_GLIBC_GEO)
        else:
            targets.append("- native time(libmymem)/time(glibc) geomean <= %.1f: %s — %.3f%s" % (
                T_GLIBC_GEO, verdict(gt <= T_GLIBC_GEO and not miss), gt, incomplete(miss)))
        if gm is None:
            targets.append("- native time(libmymem)/time(mimalloc) geomean <= %.1f: **MISSED** (no data)" % T_MIMALLOC_GEO)
        else:
            targets.append("- native time(libmymem)/time(mimalloc) geomean <= %.1f: %s — %.3f%s" % (
                T_MIMALLOC_GEO, verdict(gm <= T_MIMALLOC_GEO and not missm), gm, incomplete(missm)))
        worst = []
        for w in wls:
            x, y = cells.med(w, "libmymem"), cells.med(w, "glibc")
            if x and y:
                worst.append((x / y, w))
        if worst:
            bad = sorted([(r, w) for r, w in worst if r > T_WORST], reverse=True)
            targets.append("- native: no workload slower than glibc by more than 10%%: %s — worst %s %.2fx%s" % (
                verdict(not bad and not miss), max(worst)[1], max(worst)[0],
                ("; over 1.10x: " + ", ".join("%s %.2fx" % (w, r) for r, w in bad)) if bad else ""))
        else:
            targets.append("- native: no workload slower than glibc by more than 10%: **MISSED** (no data)")
        if gr is None:
            targets.append("- native peak RSS(libmymem)/peak RSS(glibc) geomean <= 1.0: **MISSED** (no data)")
        else:
            targets.append("- native peak RSS(libmymem)/peak RSS(glibc) geomean <= %.1f: %s — %.3f%s%s" % (
                T_RSS_GEO, verdict(gr <= T_RSS_GEO and not missr), gr, incomplete(missr),
                rss_spread_note(cells, wls)))

        # charts
        data_t, data_r = {}, {}
        for w in wls:
            for a in allocs:
                if a == "glibc":
                    continue
                x, y = cells.med(w, a), cells.med(w, "glibc")
                data_t[(w, a)] = x / y if x and y else None
                x, y = cells.rssmed(w, a), cells.rssmed(w, "glibc")
                data_r[(w, a)] = x / y if x and y else None
        series = [a for a in allocs if a != "glibc"]
        geo_label = "geomean"
        for a in series:
            data_t[(geo_label, a)] = geo_ratio(cells, wls, a, "glibc")[0]
            data_r[(geo_label, a)] = geo_ratio(cells, wls, a, "glibc", "rss")[0]
        if bar_chart(os.path.join(res, "native-time.png"),
                     "Native: median time relative to glibc (lower is better; dashed: glibc)",
                     "time / time(glibc)", wls + [geo_label], series, data_t, hline=(1.0, "glibc")):
            md += ["![native time ratios](native-time.png)", ""]
        if bar_chart(os.path.join(res, "native-memory.png"),
                     "Native: peak RSS relative to glibc (lower is better; dashed: glibc)",
                     "peak RSS / peak RSS(glibc)", wls + [geo_label], series, data_r, hline=(1.0, "glibc")):
            md += ["![native peak RSS ratios](native-memory.png)", ""]
    else:
        md += ["## Native (host)", "", "No native results (run `make -C bench native`).", ""]
        targets.append("- native targets: **MISSED** (not measured)")

    # ---- VM
    hmeta = next((r for r in vm if r.get("kind") == "meta" and r.get("side") == "host"), None)
    gmeta = next((r for r in vm if r.get("kind") == "meta" and r.get("side") == "guest"), None)
    vend = next((r for r in vm if r.get("kind") == "end"), None)
    md += ["## In the VM (QEMU TCG, same boot for every baseline)", ""]
    if not (hmeta and gmeta):
        md += ["No VM results (run `make -C bench vm`).", ""]
        targets.append("- VM targets: **MISSED** (not measured)")
    else:
        li = hmeta.get("libmymem", {})
        md += ["- guest kernel %s, %s vCPUs, %s MiB, module parameters %s; host %s" % (
                   gmeta["kernel"], gmeta["ncpu"], hmeta["vm_mem_mb"],
                   ", ".join("%s=%s" % kv for kv in gmeta.get("module_params", {}).items()) or "?",
                   hmeta["cpu"]),
               "- date %s, git %s, %d runs, workload op-count scale %s, vm-run exit status %s%s" % (
                   hmeta["date"], hmeta["git_head"], hmeta["runs"], hmeta["scale"],
                   vend.get("vm_run_rc") if vend else "?",
                   ", %.0f s with boot" % vend["elapsed_s"] if vend else ""),
               "- libmymem: %s" % (("MISSING: " + li["missing"]) if li.get("missing") else
                                   "sha256 %s (userlib: %s%s)" % (
                                       li.get("sha256"), li.get("userlib_git") or "uncommitted",
                                       ", working tree modified" if li.get("userlib_dirty") else "")),
               "- preloaded libraries (libmymem and the controls): %s; libc and the programs "
               "come from the host over 9p for every row" % gmeta.get(
                   "preloads_from", "opened over the 9p share at every exec"),
               "- TCG emulates every instruction: absolute figures are 5–20x the host's; only "
               "the ratios mean something."]
        nsha = (nmeta or {}).get("libmymem", {}).get("sha256")
        if nsha and li.get("sha256") and nsha != li["sha256"]:
            md.append("- note: the native part measured another libmymem build (sha256 %s); "
                      "the library was rebuilt between the two parts" % nsha)
        md.append("")
        errs = [r for r in vm if r.get("kind") == "error"]
        if errs:
            md += ["Errors in the VM:", ""] + ["- %s" % json.dumps(e)[:300] for e in errs[:10]] + [""]

        # page supply
        pg = [r for r in vm if r.get("kind") == "pages"]
        md += ["### Kernel page supply: map + touch + unmap", ""]
        if pg:
            sizes = sorted({r["mib"] for r in pg})
            pps, best = {}, {}
            for r in pg:
                pps.setdefault((r["source"], r["mib"]), []).append(r["pages_per_s"])
                if "best_pages_per_s" in r:
                    best.setdefault((r["source"], r["mib"]), []).append(r["best_pages_per_s"])
            byrun = {(r["source"], r["mib"], r["run"]): r["pages_per_s"] for r in pg}
            md += ["Pages per second (median over %d runs; each run maps each size "
                   "max(1, %s/N) times per source, the sources interleaved).  "
                   "populate = `MAP_ANONYMOUS|MAP_POPULATE`.  \"best\" compares the fastest "
                   "single map+touch+unmap of each source over all runs (noise only adds time); "
                   "the target uses the medians." % (hmeta["runs"], gmeta.get("pages_budget", "BUDGET")), "",
                   "| N MiB | dev pages/s | anon pages/s | populate pages/s | dev/anon | paired min–max | dev/populate | best dev/anon | note |",
                   "|---|---|---|---|---|---|---|---|---|"]
            ratios = []
            chart = {}
            for n in sizes:
                d, a, p = (median(pps.get((s, n), [])) for s in ("dev", "anon", "populate"))
                pr = [byrun[("dev", n, r)] / byrun[("anon", n, r)] for r in range(hmeta["runs"])
                      if ("dev", n, r) in byrun and ("anon", n, r) in byrun]
                ra = d / a if d and a else None
                rp = d / p if d and p else None
                if ra:
                    ratios.append((ra, n))
                chart[("%d" % n, "dev/anon")] = ra
                chart[("%d" % n, "dev/populate")] = rp
                bd, ba = (max(best.get((s, n), [0])) for s in ("dev", "anon"))
                md.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    n, fmt(d, "%.0f"), fmt(a, "%.0f"), fmt(p, "%.0f"), fmt(ra, "%.2f"),
                    ("%.2f–%.2f" % (min(pr), max(pr))) if pr else "–", fmt(rp, "%.2f"),
                    fmt(bd / ba if bd and ba else None, "%.2f"),
                    "MISSED: < 1.0" if ra is not None and ra < T_PAGES else ""))
            md.append("")
            if ratios:
                g = geomean([r for r, _ in ratios])
                lo = min(ratios)
                targets.append("- page supply: /dev/mymem >= MAP_ANONYMOUS pages/s (ratio >= 1.0) at every size: %s — "
                               "geomean %.2f, lowest %.2f at %d MiB%s" % (
                                   verdict(lo[0] >= T_PAGES), g, lo[0], lo[1],
                                   ("; below 1.0 at " + ", ".join("%d MiB (%.2f)" % (n, r) for r, n in sorted(ratios, key=lambda x: x[1]) if r < T_PAGES)) if lo[0] < T_PAGES else ""))
                if bar_chart(os.path.join(res, "vm-pages.png"),
                             "VM: /dev/mymem map+touch+unmap pages/s relative to MAP_ANONYMOUS and MAP_POPULATE",
                             "ratio (higher is better)", ["%d" % n for n in sizes],
                             ["dev/anon", "dev/populate"], chart, hline=(1.0, "parity")):
                    md += ["![page supply](vm-pages.png)", ""]
            else:
                targets.append("- page supply: **MISSED** (no /dev/mymem figures)")
        else:
            md += ["Not measured.", ""]
            targets.append("- page supply: **MISSED** (not measured)")

        # fork cost
        fk = [r for r in vm if r.get("kind") == "fork"]
        md += ["### fork() + _exit() + wait() with N MiB of heap resident", ""]
        if fk:
            us = {}
            for r in fk:
                us.setdefault((r["alloc"], r["mib"]), []).append(r["per_fork_us"])
            names = ["glibc", "libmymem", "device-raw", "anon-raw"]
            md += ["Microseconds per fork (median over runs of the median over %s forks).  "
                   "glibc/libmymem: the heap is malloc()ed in 32 KiB blocks and every page "
                   "written; device-raw/anon-raw: one mmap of /dev/mymem or anonymous memory, "
                   "no allocator (the kernel's share; anonymous memory may get transparent "
                   "huge pages, THP %s, which makes its page tables 512x smaller)." % (
                       "/".join(str(i) for i in gmeta.get("fork_iters", ["?"])),
                       gmeta.get("thp") or "not recorded"), "",
                   "| N MiB | glibc µs | libmymem µs | device-raw µs | anon-raw µs | libmymem/glibc | device-raw/anon-raw | note |",
                   "|---|---|---|---|---|---|---|---|"]
            worst = []
            for n in sorted({r["mib"] for r in fk}):
                g, l, d, a = (median(us.get((x, n), [])) for x in names)
                rl = l / g if l and g else None
                rd = d / a if d and a else None
                worst.append((rl, n))
                md.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                    n, fmt(g, "%.0f"), fmt(l, "%.0f"), fmt(d, "%.0f"), fmt(a, "%.0f"),
                    fmt(rl, "%.2f"), fmt(rd, "%.2f"),
                    "MISSED: > 2x" if rl and rl > T_FORK else ("libmymem missing" if rl is None else "")))
            md.append("")
            have = [(r, n) for r, n in worst if r is not None]
            if len(have) == len(worst) and have:
                hi = max(have)
                targets.append("- fork cost: libmymem within %.0fx of glibc at 1, 16, 256 MiB: %s — %s" % (
                    T_FORK, verdict(hi[0] <= T_FORK),
                    ", ".join("%d MiB %.2fx" % (n, r) for r, n in sorted(have, key=lambda x: x[1]))))
            else:
                targets.append("- fork cost: **MISSED** (libmymem not measured at every size)")
        else:
            md += ["Not measured.", ""]
            targets.append("- fork cost: **MISSED** (not measured)")

        # VM workloads
        vcells = Cells(vm)
        vw = [w for w, _, _ in WORKLOADS if any(k[0] == w for k in list(vcells.t) + list(vcells.fail))]
        md += ["### Workloads: libmymem on /dev/mymem vs glibc", ""]
        if vw:
            md += ["Op-count scale %s.  libmymem-fallback (when run, VM_FALLBACK=1) is the same "
                   "library with `MYMEM_DEVICE=none` (anonymous mmap) in the same VM.  "
                   "Peak RSS includes the device pages (RssFile); \"device peak\" is the "
                   "module's per-process peak_resident_pages." % hmeta["scale"], ""]
            va = ["glibc", "libmymem"] + (["libmymem-fallback"] if any(
                k[1] == "libmymem-fallback" for k in vcells.t) else [])
            md += workload_table(vcells, vw, va, dev=True)
            md.append("")
            gt, miss = geo_ratio(vcells, vw, "libmymem", "glibc")
            gf, _ = geo_ratio(vcells, vw, "libmymem-fallback", "glibc")
            grs, _ = geo_ratio(vcells, vw, "libmymem", "glibc", "rss")
            md += ["Geometric means: time libmymem/glibc %s, libmymem-fallback/glibc %s; "
                   "peak RSS libmymem/glibc %s." % (fmt(gt, "%.3f"), fmt(gf, "%.3f"), fmt(grs, "%.3f")), ""]
            used = [r.get("dev_mmaps", -1) for r in vm if r.get("kind") == "run" and r["alloc"] == "libmymem" and "time_s" in r]
            if used and min(used) <= 0:
                md += ["Note: %d libmymem run(s) made no mmap of /dev/mymem." % sum(1 for u in used if u <= 0), ""]
            if gt is None:
                targets.append("- VM time(libmymem on device)/time(glibc) geomean <= 1.0: **MISSED** (no data)")
            else:
                targets.append("- VM time(libmymem on device)/time(glibc) geomean <= %.1f: %s — %.3f%s" % (
                    T_VM_GEO, verdict(gt <= T_VM_GEO and not miss), gt,
                    (" (incomplete: %s)" % ", ".join(miss)) if miss else ""))
            chart = {}
            for w in vw:
                for a in va[1:]:
                    x, y = vcells.med(w, a), vcells.med(w, "glibc")
                    chart[(w, a)] = x / y if x and y else None
            chart[("geomean", "libmymem")] = gt
            if "libmymem-fallback" in va:
                chart[("geomean", "libmymem-fallback")] = gf
            if bar_chart(os.path.join(res, "vm-workloads.png"),
                         "VM: median time relative to glibc in the same VM (lower is better)",
                         "time / time(glibc)", vw + ["geomean"], va[1:], chart, hline=(1.0, "glibc")):
                md += ["![VM workload ratios](vm-workloads.png)", ""]
        else:
            md += ["Not measured.", ""]
            targets.append("- VM workloads: **MISSED** (not measured)")

        # real programs
        rp = [r for r in vm if r.get("kind") == "real"]
        md += ["### Real programs under LD_PRELOAD=libmymem.so", ""]
        if rp:
            md += ["Wall time and peak RSS (ru_maxrss of the process tree, by bench/workloads/runmax.c) of the whole run (start-up included): `bash bench/real/forky.sh %s` "
                   "(command substitutions, pipes, external commands: every child inherits "
                   "LD_PRELOAD) and `python3 bench/real/pywork.py %s` (dicts, lists, strings, json), "
                   "%s rounds, each in a shuffled order." % (
                       gmeta.get("real_bash_n", "?"), gmeta.get("real_py_n", "?"),
                       gmeta.get("real_runs", hmeta.get("runs", "?"))), "",
                   "| program | allocator | median wall (s) | spread min–max (s) | peak RSS (MiB) | time / glibc | paired ratio min–max | note |",
                   "|---|---|---|---|---|---|---|---|"]
            seen = {r["alloc"] for r in rp}
            rallocs = [a for a in REAL_ORDER if a in seen or a in ("glibc", "libmymem")]
            for prog in sorted({r["prog"] for r in rp}):
                ok = {a: [r for r in rp if r["prog"] == prog and r["alloc"] == a and r["rc"] == 0]
                      for a in rallocs}
                g = median([r["wall_s"] for r in ok["glibc"]])
                controls, tline = [], None
                for a in rallocs:
                    xs = [r["wall_s"] for r in ok[a]]
                    fails = [r for r in rp if r["prog"] == prog and r["alloc"] == a and r["rc"] != 0]
                    if xs and g and a not in ("glibc", "libmymem"):
                        controls.append("%s %.2fx" % (a, median(xs) / g))
                    if not xs:
                        md.append("| %s | %s | – | – | – | – | – | %s |" % (
                            prog, a, ("FAILED: " + fails[0].get("error", "")[:60]) if fails else "missing"))
                        if a == "libmymem":
                            targets.append("- real program %s: libmymem <= %.1fx glibc: **MISSED** (%s)" % (
                                prog, T_REAL, "failed" if fails else "not measured"))
                        continue
                    m = median(xs)
                    rss = median([r["maxrss_kb"] / 1024 for r in ok[a]])
                    ratio = m / g if g and a != "glibc" else None
                    gb = {r["run"]: r["wall_s"] for r in ok["glibc"]}
                    pr = [r["wall_s"] / gb[r["run"]] for r in ok[a] if r["run"] in gb]
                    md.append("| %s | %s | %.3f | %.3f–%.3f | %.1f | %s | %s | %s |" % (
                        prog, a, m, min(xs), max(xs), rss, fmt(ratio, "%.2f"),
                        ("%.2f–%.2f" % (min(pr), max(pr))) if pr and a != "glibc" else "–",
                        ("%d run(s) failed" % len(fails)) if fails else ""))
                    if a == "libmymem" and ratio is not None:
                        targets.append("- real program %s: libmymem <= %.1fx glibc: %s — %.2fx" % (
                            prog, T_REAL, verdict(ratio <= T_REAL and not fails), ratio))
                        tline = len(targets) - 1
                if controls and tline is not None:
                    targets[tline] += " (controls in the same VM: %s)" % ", ".join(controls)
            md += ["", "Controls: `mimalloc` is Debian's libmimalloc2.0 preloaded the same way; "
                   "`empty-preload` preloads a library with no code (bench/workloads/empty_preload.c), "
                   "so its ratio is what LD_PRELOAD alone costs; the rest of a row's ratio is the "
                   "cost of replacing malloc in every process the program starts.", ""]
        else:
            md += ["Not measured.", ""]
            targets.append("- real programs: **MISSED** (not measured)")

    md = md[:2] + ["## Targets", ""] + targets + [""] + md[2:]
    text = "\n".join(md) + "\n"
    with open(os.path.join(res, "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)
    log("bench: wrote %s/RESULTS.md" % res)


# ---------------------------------------------------------------- counts

# Fixed caches for cachegrind's simulation, so that the counts do not
# depend on what it detects on the host: 32 KiB 8-way L1s, 16 MiB LL.
CG_CACHES = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=16777216,16,64"]
# Under cachegrind the threads of a process take turns, so prodcons's
# waits for the other side (spins and sched_yield) count as instructions
# that depend on the turns: its counts say nothing of the allocator.
COUNT_SKIP = {"prodcons-2t"}


def cachegrind_totals(path, own_dir):
    """Instructions and D1 misses in a cachegrind out file: in all, and in
    the code outside own_dir (the workload's sources): the allocator, libc
    and the loader."""
    events, cur_own = None, False
    tot = {"ir": 0, "d1": 0}
    own = {"ir": 0, "d1": 0}
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("fl="):
                cur_own = line[3:].strip().startswith(own_dir)
            elif line[:1].isdigit() and events:
                v = dict(zip(events, (int(x) for x in line.split()[1:])))
                ir, d1 = v.get("Ir", 0), v.get("D1mr", 0) + v.get("D1mw", 0)
                tot["ir"] += ir
                tot["d1"] += d1
                if cur_own:
                    own["ir"] += ir
                    own["d1"] += d1
    return {"ir": tot["ir"], "d1": tot["d1"],
            "ir_alloc": tot["ir"] - own["ir"], "d1_alloc": tot["d1"] - own["d1"]}


def cmd_counts(args):
    if not shutil.which("valgrind"):
        sys.exit("bench: counts needs valgrind (apt-get install valgrind)")
    os.makedirs(args.results, exist_ok=True)
    lib, libinfo = snapshot_libmymem(args.build, args.userlib, name="libmymem-counts.so")
    allocs = [(n, p) for n, p in SYSTEM_ALLOCS if p is None or os.path.exists(p)]
    if lib:
        allocs.append(("libmymem", lib))
    wls = [w for w in select_workloads(args.only) if w[0] not in COUNT_SKIP]
    own_dir = os.path.join(HERE, "workloads")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for wname, prog, thr in wls:
            for aname, apath in allocs:
                out = os.path.join(tmp, "cg.%s.%s.%%p" % (wname, aname))
                cmd = (["valgrind", "--tool=cachegrind", "--cache-sim=yes"] + CG_CACHES +
                       ["--trace-children=yes", "--cachegrind-out-file=" + out, "env"] +
                       (["LD_PRELOAD=" + apath] if apath else []) +
                       [os.path.join(args.build, prog), "-t", str(thr), "-s", str(args.scale)])
                res = run_prog(cmd, timeout=args.timeout, env_del=("LD_PRELOAD",))
                rr = find_tagged(res["out"], "RESULT")
                files = [os.path.join(tmp, x) for x in os.listdir(tmp)
                         if x.startswith("cg.%s.%s." % (wname, aname))]
                if res["rc"] != 0 or not rr or not files:
                    log("bench: counts %s %s failed (rc %s)" % (wname, aname, res["rc"]))
                    continue
                # env execs the workload: the largest file is the workload's
                t = cachegrind_totals(max(files, key=os.path.getsize), own_dir)
                t.update({"workload": wname, "alloc": aname, "ops": int(rr[0]["ops"])})
                rows.append(t)
                log("counts %-12s %-9s %6.1f M instructions, %6.0f per op outside the workload"
                    % (wname, aname, t["ir"] / 1e6, t["ir_alloc"] / t["ops"]))
    md = counts_markdown(rows, allocs, args, libinfo)
    with open(os.path.join(args.results, "COUNTS.md"), "w") as f:
        f.write(md)
    print(md)


def counts_markdown(rows, allocs, args, libinfo):
    by = {(r["workload"], r["alloc"]): r for r in rows}
    wnames = []
    for r in rows:
        if r["workload"] not in wnames:
            wnames.append(r["workload"])
    md = ["# Instruction and cache-miss counts", "",
          "Generated by `make -C bench counts` (bench/bench.py counts): each workload "
          "once per allocator under `valgrind --tool=cachegrind --cache-sim=yes` (%s), "
          "op-count scale %s, on %s, git %s. Unlike the times of RESULTS.md these do not "
          "move with the host's load; they are not times either (a miss to memory and an "
          "add count one each). \"outside\" is everything but the workload's own code "
          "(its sources in bench/workloads): the allocator, and the libc and loader "
          "code every allocator shares (the workload's own memset and memcpy calls "
          "too, so the ratios lean towards 1). \"per op\" divides by the ops the "
          "workload reports, which are rounds for realloc: compare allocators, not "
          "workloads. prodcons-2t is left out: under cachegrind its "
          "threads take turns and its waits for the other side count as instructions; "
          "larson-2t's figures move by a few %% between runs for the same reason."
          % (" ".join(CG_CACHES), args.scale, datetime.date.today().isoformat(),
             git("rev-parse", "--short", "HEAD")), "",
          "libmymem: %s sha256 %s (userlib: %s%s)" % (
              libinfo.get("source", "?"), libinfo.get("sha256", "?"),
              libinfo.get("userlib_git", "?"),
              ", uncommitted changes" if libinfo.get("userlib_dirty") else ""), "",
          "| workload | allocator | instructions (M) | outside, per op | D1 misses (K) | "
          "outside, per op | outside instr. / mimalloc | outside instr. / glibc |",
          "|---|---|---|---|---|---|---|---|"]
    for w in wnames:
        base_m, base_g = by.get((w, "mimalloc")), by.get((w, "glibc"))
        for a, _ in allocs:
            r = by.get((w, a))
            if not r:
                continue
            rm = "%.2f" % (r["ir_alloc"] / base_m["ir_alloc"]) if base_m else "-"
            rg = "%.2f" % (r["ir_alloc"] / base_g["ir_alloc"]) if base_g else "-"
            md.append("| %s | %s | %.1f | %.0f | %.0f | %.2f | %s | %s |" % (
                w, a, r["ir"] / 1e6, r["ir_alloc"] / r["ops"], r["d1"] / 1e3,
                r["d1_alloc"] / r["ops"], rm, rg))
    geo = []
    for a, _ in allocs:
        xs = [by[(w, a)]["ir_alloc"] / by[(w, "mimalloc")]["ir_alloc"]
              for w in wnames if (w, a) in by and (w, "mimalloc") in by]
        if xs:
            geo.append("%s %.2f" % (a, geomean(xs)))
    md += ["", "Geometric mean of the instructions outside the workload over mimalloc's: " +
           ", ".join(geo) + ".", ""]
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build", "bench"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--userlib", default=os.path.join(TOP, "build", "userlib", "libmymem.so"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("native")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--only", default="")
    p.add_argument("--timeout", type=int, default=120)
    p = sub.add_parser("vm")
    p.add_argument("--kver", default="6.1")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--scale", type=float, default=0.03)
    p.add_argument("--real-runs", type=int, default=15,
                   help="rounds of the real programs (short, noisy under TCG)")
    p.add_argument("--parts", default="pages,fork,workloads,real")
    p.add_argument("--only", default="")
    p.add_argument("--mem", type=int, default=3072)
    p.add_argument("--vm-timeout", type=int, default=1800)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--fallback", action="store_true",
                   help="also run libmymem with MYMEM_DEVICE=none in the VM")
    p.add_argument("--reuse-lib", action="store_true",
                   help="use the libmymem copy the native step made")
    p = sub.add_parser("guest")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--scale", type=float, default=0.03)
    p.add_argument("--real-runs", type=int, default=15)
    p.add_argument("--parts", default="pages,fork,workloads,real")
    p.add_argument("--only", default="")
    p.add_argument("--lib", default="")
    p.add_argument("--pages-budget", type=int, default=48)
    p.add_argument("--fallback", action="store_true")
    sub.add_parser("report")
    p = sub.add_parser("counts")
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--only", default="")
    p.add_argument("--timeout", type=int, default=900)
    args = ap.parse_args()
    {"native": cmd_native, "vm": cmd_vm, "guest": cmd_guest, "report": cmd_report,
     "counts": cmd_counts}[args.cmd](args)


if __name__ == "__main__":
    main()
