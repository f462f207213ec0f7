"""Phase marks for `mmap-lab measure`, in Python's standard library alone.

    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("mmap_lab_mark", "path/to/python/mmap_lab_mark.py")
    mark = importlib.util.module_from_spec(spec); spec.loader.exec_module(mark)
    ...
    mark.mark("loaded")      # measure snapshots the whole process tree now, then answers

(or put the folder on sys.path and `from mmap_lab_mark import mark`).

The protocol, which any language can follow: `measure` passes a descriptor whose number
is in the environment variable MMAP_LAB_MARK_FD. Write the phase's name and a newline to
it, then read one byte: `measure` takes its snapshot while you wait, then writes the byte.
Without the variable (the script not run under `measure`), mark() does nothing.

Mark from one process at a time: forked workers share the descriptor, and an answer
goes to whichever process reads first.
"""

import os

ENV = "MMAP_LAB_MARK_FD"


def _fd():
    value = os.environ.get(ENV)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def active():
    """Whether the program runs under `mmap-lab measure` with phase marks."""
    return _fd() is not None


def mark(name):
    """Marks the phase `name`: blocks until `measure` has snapshotted the tree.

    A no-op when not run under `measure`; returns whether a snapshot was taken."""
    fd = _fd()
    if fd is None:
        return False
    name = str(name).replace("\n", " ").strip() or "(unnamed)"
    try:
        os.write(fd, (name + "\n").encode("utf-8"))
        return len(os.read(fd, 1)) == 1
    except OSError:
        # measure has gone (or the descriptor was closed): carry on unmeasured.
        return False
