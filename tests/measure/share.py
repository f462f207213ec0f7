"""A test program for `mmap-lab measure`: maps a file and reads it through, allocates
memory of its own, then starts workers that read the same data, shared or copied.

    share.py FILE N_MIB M_MIB K MODE       MODE: map (workers read the parent's mapping)
                                                 load (each worker np.load's its own copy)
                                                 none (no workers)
                                                 create (only write FILE, if missing)

It marks phases: started, mapped, allocated, workers_read.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from mmap_lab_mark import mark  # noqa: E402

path, n_mib, m_mib, k, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if not os.path.exists(path) or os.path.getsize(path) < n_mib << 20:
    np.save(path, np.ones((n_mib << 20) // 8, dtype=np.float64))
    with open(path, "rb+") as f:
        os.fsync(f.fileno())  # written back: its pages are clean page cache now
if mode == "create":
    sys.exit(0)
mark("started")
X = np.load(path, mmap_mode="r")
total = float(X.sum())
mark("mapped")
own = np.ones((m_mib << 20) // 8, dtype=np.float64) if m_mib else None
mark("allocated")
children = []
ready_r, ready_w = os.pipe()
hold_r, hold_w = os.pipe()
for _ in range(k if mode != "none" else 0):
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(hold_w)
        if mode == "load":
            Y = np.load(path)
        else:
            Y = X
        assert float(Y.sum()) == total
        os.write(ready_w, b".")
        os.read(hold_r, 1)  # hold the data until the parent has marked
        os._exit(0)
    children.append(pid)
for _ in children:
    os.read(ready_r, 1)
mark("workers_read")
os.close(hold_w)
for pid in children:
    os.waitpid(pid, 0)
print("sum", total, "own", 0 if own is None else own.nbytes)
