"""The tutorial's steps, run for real with NumPy, measured like mmap-lab's Rust steps.

mmap-lab runs this script once per step, in a process of its own, right after preparing
the page cache the same way as for the Rust step it runs beside: a process forked from
this script's fork server (`--serve`, at the end of this file: one interpreter that has
imported NumPy), or a fresh interpreter where no server can run. The step comes as one
JSON object on stdin (or as the first argument):

    {"method": "memmap", "path": "data/X_train.npy", "dtype": "float64",
     "offset": null, "shape": null, "order": null, "access": "full_pass",
     "first_values": 24}

`method` is "load_mmap" (np.load(path, mmap_mode='r')), "memmap" (np.memmap(path,
mode='r', ...) with only the keywords that are not null, exactly as the tutorial
writes them), "load" (np.load(path)) or "library" (a .npz, safetensors or Arrow IPC
file opened by its own library, as its users write it; see format_call). `access` is "none", "first" or "full_pass"
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

Memory, faults and page-cache residency are measured from outside, by the same probe as
the Rust steps' (src/probe/outside.rs): at each phase the script writes the phase's name
and a newline to the descriptor named by MMAP_LAB_MARK_FD and waits for one byte back,
while mmap-lab reads /proc/PID and the page cache; its clock stops while it waits. What
only this process can see it reports itself: its clock, sys.getsizeof, the values it read.

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

PAGE = os.sysconf("SC_PAGESIZE")


class _Phdr(ctypes.Structure):
    """Elf64_Phdr: one segment of a loaded object."""
    _fields_ = [("p_type", ctypes.c_uint32), ("p_flags", ctypes.c_uint32), ("p_offset", ctypes.c_uint64),
                ("p_vaddr", ctypes.c_uint64), ("p_paddr", ctypes.c_uint64), ("p_filesz", ctypes.c_uint64),
                ("p_memsz", ctypes.c_uint64), ("p_align", ctypes.c_uint64)]


class _PhdrInfo(ctypes.Structure):
    """The head of struct dl_phdr_info: where an object is loaded and its segments."""
    _fields_ = [("dlpi_addr", ctypes.c_uint64), ("dlpi_name", ctypes.c_char_p),
                ("dlpi_phdr", ctypes.POINTER(_Phdr)), ("dlpi_phnum", ctypes.c_uint16)]


def page_in_code():
    """Maps every page of this process's code (the interpreter's and the libraries',
    NumPy's included) without running it, as mmap-lab's step does with its own before its
    baseline (src/probe.rs, page_in_code): both sides then time the call itself, not the
    kernel paging in its code on first use. The code segments come from the dynamic
    loader (dl_iterate_phdr), not from /proc: this script measures nothing itself."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.restype = ctypes.c_int
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madv_populate_read, pt_load, pf_x = 22, 1, 1
    ranges = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_PhdrInfo), ctypes.c_size_t, ctypes.c_void_p)
    def segment(info, _size, _data):
        name = info.contents.dlpi_name or b""
        if name and not name.startswith(b"/"):
            return 0  # linux-vdso and the like are not files
        for i in range(info.contents.dlpi_phnum):
            ph = info.contents.dlpi_phdr[i]
            if ph.p_type == pt_load and ph.p_flags & pf_x:
                start = (info.contents.dlpi_addr + ph.p_vaddr) // PAGE * PAGE
                end = -(-(info.contents.dlpi_addr + ph.p_vaddr + ph.p_memsz) // PAGE) * PAGE
                ranges.append((start, end))
        return 0

    libc.dl_iterate_phdr(segment, None)
    for start, end in ranges:
        if libc.madvise(start, end - start, madv_populate_read) != 0:
            # Kernels before 5.14: read one byte of each page instead.
            for at in range(start, end, PAGE):
                ctypes.c_char.from_address(at).value


class Probe:
    """The step's clock and its phase marks: mmap-lab reads this process from outside while
    it waits at a mark, and the clock stops meanwhile. Run alone (no MMAP_LAB_MARK_FD), a
    mark does nothing."""

    def __init__(self):
        fd = os.environ.get("MMAP_LAB_MARK_FD")
        self.fd = int(fd) if fd else None
        self.started = time.perf_counter_ns()
        self.paused = 0

    def restart(self):
        self.started = time.perf_counter_ns()
        self.paused = 0

    def elapsed(self):
        """Working time since restart, waits for snapshots excluded (ns)."""
        return time.perf_counter_ns() - self.started - self.paused

    def mark(self, name):
        """Marks `name` and waits until mmap-lab has read this process; returns the wait."""
        if self.fd is None:
            return 0
        taken = time.perf_counter_ns()
        os.write(self.fd, (name + "\n").encode())
        os.read(self.fd, 1)
        waited = time.perf_counter_ns() - taken
        self.paused += waited
        return waited

    def snapshot(self, phase):
        """The phase's snapshot: this process's clock; mmap-lab fills in the memory."""
        elapsed = self.elapsed()
        return {"phase": phase, "elapsed_ns": elapsed, "probe_ns": self.mark(phase)}


def tutorial_call(step):
    """The call as the tutorial writes it: (function to run, its text)."""
    path = step["path"]
    name = repr(os.path.basename(path))
    if step["method"] == "load_mmap":
        return (lambda: np.load(path, mmap_mode="r")), f"np.load({name}, mmap_mode='r')"
    if step["method"] == "load":
        return (lambda: np.load(path)), f"np.load({name})"
    if step["method"] == "library":
        return format_call(step)
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


# Formats beside .npy and raw (method "library"): each file opened as its users write it,
# the format told by the file's name. The package a format needs is imported here, before
# the probe's baseline (as `import numpy` is); when it is missing, the step's opener raises
# an error that says which package and how to install it, and the other steps go on.

def missing_package(package, name):
    def opener():
        raise ModuleNotFoundError(
            f"No module named '{package}': the NumPy peer of {name} needs it; "
            f"install it with `.venv/bin/python -m pip install {package}` (or `just venv`)"
        )
    return opener


def format_call(step):
    """(function to run, its text) for a .npz, safetensors or Arrow IPC file."""
    path = step["path"]
    name = repr(os.path.basename(path))
    ext = os.path.splitext(path)[1]
    if ext == ".npz":
        # mmap_mode is ignored for a .npz: the member is read into memory when asked for.
        return (lambda: np.load(path, mmap_mode="r")["X_train"]), f"np.load({name}, mmap_mode='r')['X_train']"
    if ext == ".safetensors":
        call = f"with safe_open({name}, framework='np') as f: X = f.get_tensor('X_train')"
        try:
            from safetensors import safe_open
        except ImportError:
            return missing_package("safetensors", name), call

        def opener():
            with safe_open(path, framework="np") as f:
                return f.get_tensor("X_train")

        return opener, call
    if ext == ".arrow":
        call = f"pa.ipc.open_file(pa.memory_map({name})).read_all().column(0).chunk(0).to_numpy_ndarray()"
        try:
            import pyarrow as pa
        except ImportError:
            return missing_package("pyarrow", name), call

        def opener():
            # A memory map: uncompressed buffers are views of it, compressed ones are decoded.
            table = pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
            return table.column(0).chunk(0).to_numpy_ndarray()

        return opener, call
    raise ValueError(f"no reader for {path!r} (method 'library' opens .npz, .safetensors and .arrow files)")


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
        # A mark before the first batch and after each: mmap-lab reads the fault counts
        # at each from outside and fills in each batch's difference.
        total = 0.0
        probe.mark("batch")
        for batch in batches:
            begin = probe.elapsed()
            total += X[np.asarray(batch, dtype=np.intp)].sum()
            stats["batch_ns"].append(probe.elapsed() - begin)
            probe.mark("batch")
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


def share(step, result, probe):
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
        # Every worker holds its pass now: mmap-lab reads them all from outside at this mark.
        probe.mark("workers")
        per_worker = [{"pid": w.pid, "open_ns": r["open_ns"], "pass_ns": r["pass_ns"], "sum": r["sum"]}
                      for w, r in zip(workers, reports)]
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
                         "total_rss_bytes": 0, "total_pss_bytes": 0,  # filled in by mmap-lab
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
    probe = Probe()
    probe.restart()
    snapshots = result["snapshots"]
    snapshots.append(probe.snapshot("before_open"))
    if step.get("workers"):
        try:
            share(step, result, probe)
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


# The fork server (`--serve`): this interpreter, NumPy imported, forks one process per step
# instead of mmap-lab starting a fresh interpreter for each (src/peer/server.rs). mmap-lab
# sends each step's standard streams and phase-mark descriptor over the control socket named
# by MMAP_LAB_SERVE_FD, with the ranges of this process's pages the child must make its own
# before its baseline (read by mmap-lab from outside; a fresh interpreter's pages are all its
# own). The child then runs main() exactly as a fresh interpreter would. The server answers
# {"pid": ...} when it has forked, and {"pid": ..., "status": ...} (waitpid's) when the child
# has ended.

MADV_POPULATE_READ, MADV_POPULATE_WRITE = 22, 23

# The largest request: small enough for the buffer to come from the heap, not from a mapping
# of its own that would be gone again by the time the server forks.
REQUEST_BYTES = 1 << 16


def own_pages(ranges):
    """Makes the pages this child shares with the server its own, as a fresh interpreter's
    are: a write fault on each shared private page now (MADV_POPULATE_WRITE), a read fault
    on each file page (MADV_POPULATE_READ), so that no copy-on-write fault lands in a
    measured phase. A range the server unmapped after mmap-lab read it (ENOMEM) is skipped.
    Kernels before 5.14 (EINVAL): a read or a write of one byte per page."""
    import errno
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.restype = ctypes.c_int
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for start, length, write in ranges:
        if libc.madvise(start, length, MADV_POPULATE_WRITE if write else MADV_POPULATE_READ) == 0:
            continue
        if ctypes.get_errno() != errno.EINVAL:
            continue
        for at in range(start, start + length, PAGE):
            byte = ctypes.c_char.from_address(at)
            if write:
                byte.value = byte.value
            else:
                byte.value


def forked_child(control, fds, request):
    """The child of one step: its streams and mark descriptor in place, its pages its own,
    then main(); it never returns."""
    import traceback
    code = 1
    try:
        control.close()
        for fd, target in zip(fds[:3], (0, 1, 2)):
            os.dup2(fd, target)
            os.close(fd)
        if len(fds) > 3:
            os.environ["MMAP_LAB_MARK_FD"] = str(fds[3])
        own_pages(request.get("own", []))
        sys.argv[1:] = []  # as `python -c SCRIPT`: the step comes on stdin
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        # As a fresh interpreter ends on Ctrl-C: killed by SIGINT.
        import signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve():
    """Forks one process per step sent on the control socket, until mmap-lab closes it."""
    import array
    import errno  # noqa: F401  (imported here, a lookup in each child)
    import socket
    import traceback  # noqa: F401  (imported here, a lookup in each child)
    control = socket.socket(fileno=int(os.environ.pop("MMAP_LAB_SERVE_FD")))
    control.send(json.dumps({"pid": os.getpid(), "import_ns": IMPORT_NS}).encode())
    size = array.array("i").itemsize
    while True:
        try:
            message, ancillary, _flags, _addr = control.recvmsg(REQUEST_BYTES, socket.CMSG_SPACE(8 * size))
        except (OSError, KeyboardInterrupt):
            return
        if not message:
            return  # mmap-lab closed the socket: the run is over
        fds = array.array("i")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % size])
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            forked_child(control, list(fds), request)
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        control.send(json.dumps({"pid": pid, "status": status}).encode())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    else:
        main()
