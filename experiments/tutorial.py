"""The tutorial's steps, run for real with NumPy, measured like mmap-lab's Rust steps.

mmap-lab starts this script once per step, in a fresh Python process, right after
preparing the page cache the same way as for the Rust step it runs beside. The step
comes as one JSON object on stdin (or as the first argument):

    {"method": "memmap", "path": "data/X_train.npy", "dtype": "float64",
     "offset": null, "shape": null, "order": null, "access": "full_pass",
     "first_values": 24}

`method` is "load_mmap" (np.load(path, mmap_mode='r')), "memmap" (np.memmap(path,
mode='r', ...) with only the keywords that are not null, exactly as the tutorial
writes them) or "load" (np.load(path)). `access` is "none", "first" or "full_pass"
(the tutorial's X.sum()), or one of the patterns beyond the tutorial, each with the
very positions the Rust step reads: "first_n" (`count` elements from the start, i.e.
X[:samples]), "channel" (every `channels`-th element from `channel`, i.e. X[..., c]),
"random_elements" (the flat `indices`) and "random_batches" (X[batch].sum() for each
list of sample indices in `batches`, each batch timed). `advice` names an mmap.MADV_*
constant given to X._mmap.madvise right after opening; `populate` maps with
MAP_POPULATE under an ndarray (NumPy has no keyword for it).

The answer is one JSON object on stdout, with the fields of a Rust step's
measurements (status, error, shape, dtype, first_values, object_bytes, sum,
elements_read, bytes_touched, snapshots) plus python_version, numpy_version,
getsizeof_bytes, the call as NumPy ran it, and how long `import numpy` took.

Probes, as in mmap-lab's src/probe.rs:
  rss_bytes, rss_anon_bytes, rss_file_bytes  /proc/self/status (VmRSS, RssAnon, RssFile)
  minor_faults, major_faults                 /proc/self/stat (counts since the process started)
  resident_bytes, residency                  cachestat() on the file, one call per slice
                                             (Linux 6.5+), else mincore() on a PROT_READ
                                             mapping of it made through ctypes, never read
  elapsed_ns                                 a clock that stops while a snapshot is taken

Only the standard library and NumPy are used.
"""

import ctypes
import json
import math
import os
import sys
import time

_IMPORT_STARTED = time.perf_counter_ns()
import numpy as np  # noqa: E402  (timed: part of what a student's script pays)

IMPORT_NS = time.perf_counter_ns() - _IMPORT_STARTED

RESIDENCY_BINS = 128
PAGE = os.sysconf("SC_PAGESIZE")
PROT_READ = 0x1
MAP_SHARED = 0x01
MAP_FAILED = ctypes.c_void_p(-1).value


SYS_CACHESTAT = 451  # the same number on every architecture Linux numbers alike


class CachestatRange(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class Cachestat(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in
                ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted", "nr_recently_evicted")]


class Residency:
    """Which pages of a file are in the page cache, as src/probe.rs measures them: with
    cachestat (a walk over the file's folios, milliseconds) where the kernel has it, else
    with mincore on an untouched mapping (a lookup per page, tens of milliseconds)."""

    def __init__(self, path):
        self.file_len = os.path.getsize(path)
        self.pages = (self.file_len + PAGE - 1) // PAGE
        self.addr = None
        self.fd = None
        if self.file_len == 0:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        self.libc = libc
        fd = os.open(path, os.O_RDONLY)
        self.range = CachestatRange()
        self.stat = Cachestat()
        libc.syscall.restype = ctypes.c_long
        if libc.syscall(ctypes.c_long(SYS_CACHESTAT), ctypes.c_int(fd), ctypes.byref(self.range),
                        ctypes.byref(self.stat), ctypes.c_uint(0)) == 0:
            self.fd = fd  # kept open for the calls to come
            return
        # Allocated and written now, so that it belongs to the baseline, not to a phase.
        self.vec = (ctypes.c_ubyte * max(self.pages, 1))()
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                              ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.mincore.restype = ctypes.c_int
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        try:
            addr = libc.mmap(None, self.file_len, PROT_READ, MAP_SHARED, fd, 0)
        finally:
            os.close(fd)  # the mapping keeps the file
        if addr is None or addr == MAP_FAILED:
            raise OSError(ctypes.get_errno(), "cannot map the file for mincore")
        self.addr = addr
        self.bits = np.frombuffer(self.vec, dtype=np.uint8)

    def cached(self, lo, hi):
        """Pages lo..hi (page indices, hi excluded) in the page cache, by cachestat."""
        self.range.off, self.range.len = lo * PAGE, (hi - lo) * PAGE
        if self.libc.syscall(ctypes.c_long(SYS_CACHESTAT), ctypes.c_int(self.fd), ctypes.byref(self.range),
                             ctypes.byref(self.stat), ctypes.c_uint(0)) != 0:
            raise OSError(ctypes.get_errno(), "cachestat failed")
        return self.stat.nr_cache

    def measure(self):
        """(bytes of the file in the page cache, percent resident in each of 128 slices)."""
        n = self.pages
        if n == 0:
            return 0, []
        slices = []
        for b in range(RESIDENCY_BINS):
            lo = b * n // RESIDENCY_BINS
            slices.append((lo, min(max((b + 1) * n // RESIDENCY_BINS, lo + 1), n)))
        if self.fd is not None:
            counts = [self.cached(lo, hi) for lo, hi in slices]
            # With a page or more per slice the slices tile the file: one walk over it.
            count = sum(counts) if n >= RESIDENCY_BINS else self.cached(0, n)
            last = self.cached(n - 1, n) == 1
        else:
            if self.libc.mincore(self.addr, self.file_len, self.vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore failed")
            resident = (self.bits & 1).astype(bool)
            count = int(np.count_nonzero(resident))
            counts = [int(np.count_nonzero(resident[lo:hi])) for lo, hi in slices]
            last = bool(resident[-1])
        total = count * PAGE
        if last and self.file_len % PAGE:
            total -= PAGE - self.file_len % PAGE  # the last page is only partly file
        return total, [c * 100 // (hi - lo) for c, (lo, hi) in zip(counts, slices)]


def page_in_code():
    """Maps every page of this process's code (the interpreter's and the libraries',
    NumPy's included) without running it, as mmap-lab's step does with its own before its
    baseline (src/probe.rs, page_in_code): both sides then time the call itself, not the
    kernel paging in its code on first use."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.restype = ctypes.c_int
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madv_populate_read = 22
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 6 or not fields[1].startswith("r-x") or not fields[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if libc.madvise(start, end - start, madv_populate_read) != 0:
                # Kernels before 5.14: read one byte of each page instead.
                for at in range(start, end, PAGE):
                    ctypes.c_char.from_address(at).value


class Probe:
    """Snapshots of this process; the step's clock stops while one is taken."""

    def __init__(self, path):
        self.residency = Residency(path)
        self.started = time.perf_counter_ns()
        self.paused = 0
        self.snapshot("before_open")  # a throwaway one: whatever probing allocates, it allocates now

    def restart(self):
        self.started = time.perf_counter_ns()
        self.paused = 0

    def elapsed(self):
        """Working time since restart, probing excluded (ns)."""
        return time.perf_counter_ns() - self.started - self.paused

    def faults(self):
        """(minor, major) faults now, read alone; the time it takes is excluded."""
        taken = time.perf_counter_ns()
        with open("/proc/self/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        self.paused += time.perf_counter_ns() - taken
        return int(stat[7]), int(stat[9])

    def snapshot(self, phase):
        taken = time.perf_counter_ns()
        elapsed = taken - self.started - self.paused
        # The page-cache walk first, the process's counters last, as in src/probe.rs: the
        # phase that follows starts with the kernel's file paths just used.
        resident, bins = self.residency.measure()
        with open("/proc/self/status") as f:
            status = {k: v for k, _, v in (line.partition(":") for line in f)}
        with open("/proc/self/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        probe_ns = time.perf_counter_ns() - taken
        self.paused += probe_ns

        def kib(key):
            return int(status.get(key, "0 kB").split()[0]) * 1024

        return {
            "phase": phase,
            "elapsed_ns": elapsed,
            "rss_bytes": kib("VmRSS"),
            "rss_anon_bytes": kib("RssAnon"),
            "rss_file_bytes": kib("RssFile"),
            # Fields after the ")" that ends the command name: state is 0, minflt 7, majflt 9.
            "minor_faults": int(stat[7]),
            "major_faults": int(stat[9]),
            "resident_bytes": resident,
            "residency": bins,
            "probe_ns": probe_ns,
        }


def tutorial_call(step):
    """The call as the tutorial writes it: (function to run, its text)."""
    path = step["path"]
    name = repr(os.path.basename(path))
    if step["method"] == "load_mmap":
        return (lambda: np.load(path, mmap_mode="r")), f"np.load({name}, mmap_mode='r')"
    if step["method"] == "load":
        return (lambda: np.load(path)), f"np.load({name})"
    if step["method"] == "memmap":
        kwargs = {}
        if step.get("dtype") is not None:
            kwargs["dtype"] = step["dtype"]
        kwargs["mode"] = "r"
        if step.get("offset") is not None:
            kwargs["offset"] = step["offset"]
        if step.get("shape") is not None:
            kwargs["shape"] = tuple(step["shape"])
        if step.get("order") is not None:
            kwargs["order"] = step["order"]
        text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        return (lambda: np.memmap(path, **kwargs)), f"np.memmap({name}, {text})"
    raise ValueError(f"unknown method {step['method']!r}")


# Python's mmap module is imported where a step uses it, never at the top: `import numpy`
# does not import it, and np.load(mmap_mode='r') pays for importing it on its first call
# (about 250 µs here), as it does in the tutorial's own script.


def populated_load(path):
    """np.load's header, then the data mapped with MAP_POPULATE under an ndarray."""
    import mmap

    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(f)
        offset = f.tell()
        mm = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ)
    return np.ndarray(shape, dtype=dtype, buffer=mm, offset=offset, order="F" if fortran_order else "C")


def step_call(step):
    """The step's call with its mapping policy: (function to run, its text)."""
    if step.get("populate"):
        name = repr(os.path.basename(step["path"]))
        opener = lambda: populated_load(step["path"])  # noqa: E731
        call = f"np.ndarray(..., buffer=mmap.mmap(open({name}).fileno(), 0, flags=MAP_SHARED | MAP_POPULATE))"
    else:
        opener, call = tutorial_call(step)
    advice = step.get("advice")
    if advice:
        plain = opener

        def opener():
            X = plain()
            import mmap  # already imported by np.load's mapping: a lookup

            X._mmap.madvise(getattr(mmap, advice))
            return X

        call = f"X = {call}; X._mmap.madvise(mmap.{advice})"
    return opener, call


def read_access(step, X, probe, result):
    """The access pattern (after the first element): sums what it reads and records, as
    the Rust step does, the elements read and the bytes covered."""
    access = step["access"]
    # The three patterns that read by memory position take a flat view of the mapping
    # (memory order, no copy); the others, timed here too, do not pay for making one.
    flat = np.ravel(X, order="K") if access in ("first_n", "channel", "random_elements") else None
    item = X.dtype.itemsize
    if access == "full_pass":
        total, elements, covered, text = X.sum(), X.size, X.nbytes, None
    elif access == "first_n":
        count = step["count"]
        total, elements, covered = flat[:count].sum(), count, count * item
        text = f"X[:{step['samples']}].sum()"
    elif access == "channel":
        part = flat[step["channel"]::step["channels"]]
        total, elements, covered = part.sum(), part.size, X.nbytes
        text = f"X[..., {step['channel']}].sum()"
    elif access == "random_elements":
        idx = np.asarray(step["indices"], dtype=np.intp)
        total, elements = flat[idx].sum(), idx.size
        covered = len({int(i) * item // PAGE for i in idx}) * PAGE
        text = f"X.flat[idx].sum()  # {idx.size} random indices"
    elif access == "random_batches":
        batches = step["batches"]
        per = X.size // max(X.shape[0], 1) if X.ndim > 1 else X.size
        stats = {"batch_size": len(batches[0]) if batches else 0,
                 "batch_ns": [], "batch_minor_faults": [], "batch_major_faults": []}
        total, last = 0.0, probe.faults()
        for batch in batches:
            begin = probe.elapsed()
            total += X[np.asarray(batch, dtype=np.intp)].sum()
            stats["batch_ns"].append(probe.elapsed() - begin)
            now = probe.faults()
            stats["batch_minor_faults"].append(now[0] - last[0])
            stats["batch_major_faults"].append(now[1] - last[1])
            last = now
        result["batches"] = stats
        drawn = len(batches) * stats["batch_size"]
        elements, covered = drawn * per, min(drawn, X.shape[0] if X.ndim > 1 else 1) * per * item
        text = f"for batch in batches: X[batch].sum()  # {len(batches)} batches of {stats['batch_size']}"
    else:
        return None
    result["sum"] = finite_or_none(total)
    result["elements_read"] = int(elements)
    result["bytes_touched"] = int(covered)
    return text


# A sharing worker: a fresh Python process, as a data loader's, and as mmap-lab's own
# workers are fresh processes. It opens the array as the step says, makes a full pass,
# reports one JSON line, and holds the array until its stdin closes.
WORKER = """
import json, math, sys, time
import numpy as np
plan = json.loads(sys.stdin.readline())
try:
    started = time.perf_counter_ns()
    X = np.load(plan["path"], mmap_mode="r") if plan["method"] == "load_mmap" else np.load(plan["path"])
    opened = time.perf_counter_ns()
    total = float(X.sum())
    report = {"open_ns": opened - started, "pass_ns": time.perf_counter_ns() - opened,
              "sum": total if math.isfinite(total) else None, "error": None}
except Exception as e:
    report = {"open_ns": 0, "pass_ns": 0, "sum": None, "error": f"{type(e).__name__}: {e}"}
sys.stdout.write(json.dumps(report) + "\\n")
sys.stdout.flush()
sys.stdin.read()
"""


def worker_memory(pid):
    """One worker's memory, from /proc/PID/smaps_rollup and /proc/PID/status (bytes)."""
    def fields(name):
        with open(f"/proc/{pid}/{name}") as f:
            return {k.strip(): v.split() for k, _, v in (line.partition(":") for line in f) if v.strip()}
    rollup, status = fields("smaps_rollup"), fields("status")
    kib = lambda table, key: int(table.get(key, ["0"])[0]) * 1024  # noqa: E731
    return {"rss_bytes": kib(rollup, "Rss"), "rss_anon_bytes": kib(status, "RssAnon"),
            "rss_file_bytes": kib(status, "RssFile"), "pss_bytes": kib(rollup, "Pss"),
            "pss_anon_bytes": kib(rollup, "Pss_Anon"), "pss_file_bytes": kib(rollup, "Pss_File")}


def share(step, result):
    """K workers reading the whole array at once, measured while all are alive, as
    mmap-lab's sharing steps do (src/sharing.rs)."""
    import subprocess
    plan = json.dumps({"method": step["method"], "path": step["path"]}) + "\n"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(step["workers"])]
    try:
        for w in workers:
            w.stdin.write(plan)
            w.stdin.flush()
        reports = [json.loads(w.stdout.readline() or "null") for w in workers]
        if any(r is None for r in reports):
            raise RuntimeError("a NumPy worker ended without a report (killed? out of memory?)")
        per_worker = []
        for w, r in zip(workers, reports):
            sample = worker_memory(w.pid)
            sample.update(open_ns=r["open_ns"], pass_ns=r["pass_ns"], sum=r["sum"])
            per_worker.append(sample)
    finally:
        for w in workers:
            w.stdin.close()
        for w in workers:
            w.wait()
    errors = [r["error"] for r in reports if r["error"]]
    if errors:
        raise RuntimeError(errors[0])
    sums = [w["sum"] for w in per_worker]
    result["workers"] = {"count": len(per_worker), "per_worker": per_worker,
                         "total_rss_bytes": sum(w["rss_bytes"] for w in per_worker),
                         "total_pss_bytes": sum(w["pss_bytes"] for w in per_worker),
                         "sums_agree": all(x == sums[0] for x in sums)}
    call = "np.load({!r}, mmap_mode='r')".format(os.path.basename(step["path"])) \
        if step["method"] == "load_mmap" else "np.load({!r})".format(os.path.basename(step["path"]))
    result["call"] = f"{step['workers']} processes: X = {call}; X.sum()"


def finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def run(step):
    opener, call = step_call(step)
    result = {
        "python_version": sys.version.split()[0],
        "numpy_version": np.__version__,
        "call": call,
        "import_ns": IMPORT_NS,
        "status": "ok",
        "snapshots": [],
    }
    page_in_code()
    probe = Probe(step["path"])
    probe.restart()
    snapshots = result["snapshots"]
    snapshots.append(probe.snapshot("before_open"))
    if step.get("workers"):
        try:
            share(step, result)
        except Exception as e:
            result["status"] = "error"
            result["error"] = f"{type(e).__name__}: {e}"
            return result
        snapshots.append(probe.snapshot("after_access"))
        return result
    try:
        X = opener()
    except Exception as e:  # a refused mapping is the step's outcome, not a failure of the script
        result["status"] = "error"
        result["error"] = f"{type(e).__name__}: {e}"
        return result
    snapshots.append(probe.snapshot("after_open"))

    access = step["access"]
    if access != "none" and X.size > 0:
        X[(0,) * X.ndim]  # the first element, X[0, 0, 0, 0] for the tutorial's array
        snapshots.append(probe.snapshot("after_first"))
    if access not in ("none", "first"):
        text = read_access(step, X, probe, result)  # X.sum() for the tutorial's full pass
        snapshots.append(probe.snapshot("after_access"))
        if text:
            result["call"] = f"{call}; {text}" if call.startswith("X = ") else f"X = {call}; {text}"

    # Read after the last snapshot, as the Rust step does: not measured.
    result["getsizeof_bytes"] = sys.getsizeof(X)
    result["object_bytes"] = result["getsizeof_bytes"]
    result["shape"] = list(X.shape)
    result["dtype"] = X.dtype.str
    result["first_values"] = [finite_or_none(v) for v in X.flat[: step.get("first_values", 24)]]
    return result


def main():
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    result = run(json.loads(text))
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
