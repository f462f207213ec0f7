"""Lab 8's program. Read it and predict what it costs in memory before you measure it.

    python explain_memory.py X_train.npy [--workers 4]

It maps the training array and reads it through, computes one array of its own, then starts
worker processes twice: first each worker maps the file and reads it, then each loads its
own copy. After each step it marks a phase (start, read, allocated, workers_mapped,
workers_copied): under `mmap-lab measure` the whole process tree is measured at that moment.
Only this process marks; the workers tell it they are done and hold still until it has.
"""

import os
import select
import signal
import sys
import time

import numpy as np

try:
    from mmap_lab_mark import mark  # beside this script, or on PYTHONPATH (python/ in mmap-lab)
except ImportError:

    def mark(name):
        return False  # not under `mmap-lab measure`: nothing to mark


WAIT = 120  # seconds: the longest any wait here may take; nothing may hang


def fail(why):
    sys.stderr.write(f"explain_memory.py: {why}\n")
    sys.exit(1)


def start_workers(count, work):
    """Forks `count` workers that each run work() and hold what it returns until released."""
    ready_r, ready_w = os.pipe()
    release_r, release_w = os.pipe()
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # a worker: never returns into the parent's code
            code = 1
            try:
                os.close(ready_r)
                os.close(release_w)
                signal.alarm(WAIT)
                held = work()  # kept alive while the parent measures
                os.write(ready_w, b"r")
                os.read(release_r, 1)  # returns when released, or when the parent is gone
                del held
                code = 0
            except BaseException as e:
                sys.stderr.write(f"explain_memory.py: worker {os.getpid()}: {e!r}\n")
            finally:
                os._exit(code)
        pids.append(pid)
    os.close(ready_w)
    os.close(release_r)
    ready, deadline = 0, time.monotonic() + WAIT
    while ready < count:
        if time.monotonic() > deadline:
            stop(pids)
            fail(f"the workers were not ready after {WAIT} s")
        for pid in pids:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                stop(pids)
                fail(f"worker {pid} ended before it was ready (wait status {status})")
        readable, _, _ = select.select([ready_r], [], [], 0.5)
        if readable:
            ready += len(os.read(ready_r, count))
    os.close(ready_r)
    return pids, release_w


def release(pids, release_w):
    """Lets the workers end, and waits for them."""
    os.close(release_w)
    for pid in pids:
        os.waitpid(pid, 0)


def stop(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        fail("usage: explain_memory.py X_train.npy [--workers 4]")
    path = args[0]
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 4
    signal.alarm(4 * WAIT)  # the whole program, at the very most
    mark("start")

    x = np.load(path, mmap_mode="r")
    total = float(x.sum())
    mark("read")

    half = x[: len(x) // 2] * 2.0
    mark("allocated")

    def read_mapped():
        mine = np.load(path, mmap_mode="r")
        assert float(mine.sum()) == total
        return mine

    pids, release_w = start_workers(workers, read_mapped)
    mark("workers_mapped")
    release(pids, release_w)

    def read_copy():
        mine = np.load(path)
        assert float(mine.sum()) == total
        return mine

    pids, release_w = start_workers(workers, read_copy)
    mark("workers_copied")
    release(pids, release_w)

    print(f"sum {total}, half {half.shape}, {workers} workers twice")


if __name__ == "__main__":
    main()
