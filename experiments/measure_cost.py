"""The probe's cost, on the tree the project quotes it for: K processes mapping one large
file and reading it through, held while `mmap-lab measure` samples them.

    mmap-lab measure --interval 20ms --out /tmp/cost -- python3 experiments/measure_cost.py FILE [K] [SECONDS] [MARKS]

The parent maps FILE (a .npy, e.g. data/X_train.npy) and reads it through, forks K - 1
workers that read it through too, then all hold it for SECONDS while the parent marks
MARKS phases, evenly spaced. measure's report ("How it was measured") then gives the
median snapshot time of the K-process tree (so the samples per second it can take), the
share of one core at the interval, and the median pause of a phase mark.
Standard library and NumPy only.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from mmap_lab_mark import mark  # noqa: E402

path = sys.argv[1]
k = int(sys.argv[2]) if len(sys.argv) > 2 else 5
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
marks = int(sys.argv[4]) if len(sys.argv) > 4 else 20

X = np.load(path, mmap_mode="r")
X.sum()
children = []
for _ in range(k - 1):
    pid = os.fork()
    if pid == 0:
        X.sum()
        time.sleep(seconds + 0.5)
        os._exit(0)
    children.append(pid)
time.sleep(0.5)  # the workers' passes
for i in range(marks):
    mark(f"hold_{i}")
    time.sleep(seconds / marks)
for pid in children:
    os.waitpid(pid, 0)
