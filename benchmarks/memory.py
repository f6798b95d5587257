"""Peak memory of one full read (or write), in a process that holds nothing but the result
(or the source).

The benchmark children keep the source data alive next to every result (to verify it),
so their peak RSS is not what a user's script pays. Here the array is written by a
separate process (``--setup``), and the reading process only imports, opens and reads:

    python -m benchmarks.memory --workload W1 --dir /tmp/w1 --setup
    python -m benchmarks.memory --workload W1 --dir /tmp/w1 [--peer zp3] [--trace]

Prints the resident set after opening, the peak after the read, and the output's size.
``--peer`` reads with a peer instead (``zp3``, ``zarrs``, ``ts``; each imports only its own
library), or ``numpy``: no library at all, only NumPy making an array of the output's size
and filling it, the least any NumPy library's process can peak at.
``--write`` instead writes the workload's data into a fresh array at ``--dir`` with zarrkit
and prints what the write added to the peak beyond the source data (the encoded chunks in
flight). ``--trace`` runs zarrkit's read under ``tracemalloc`` instead (NumPy reports its
buffers to it) and lists the allocation sites alive at the largest traced size seen.
"""

from __future__ import annotations

import argparse
import importlib
import resource
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

from benchmarks import workloads
from benchmarks.child import Peer, peak_rss
from benchmarks.peers import PEERS

#: The peers of ``benchmarks.run`` that ``--peer`` takes (zarr-python 2.18 lives in a
#: virtual environment of its own; the limit reads bare chunk files, not arrays).
READERS = ("zarrkit", "zp3", "zarrs", "ts")

MIB = 2**20


def reset_peak() -> None:
    """Start the peak RSS afresh from the current one (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def current_rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / MIB


def peer(name: str) -> Peer:
    """The benchmark's adapter for peer ``name`` (the class its module defines), its
    library imported only now."""
    spec = PEERS[name]
    module = importlib.import_module(f"benchmarks.peers.{spec.module}")
    (adapter,) = (
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, Peer) and c.__module__ == module.__name__
    )
    return adapter(spec.variant)


def read(path: Path, wl: workloads.Workload, name: str) -> None:
    if name == "numpy":
        opened, opened_peak = current_rss(), peak_rss()
        out = np.empty(wl.shape, wl.dtype)
        out.fill(1)  # every page touched, as a read's decoding touches them
    else:
        reader = peer(name)
        arr = reader.open(path, wl)
        opened, opened_peak = current_rss(), peak_rss()
        out = reader.read(arr, (Ellipsis,))
    size, peak = out.nbytes / MIB, peak_rss()
    print(
        f"{name}: output {size:.0f} MiB; RSS after open {opened:.0f} MiB (peak so far "
        f"{opened_peak:.0f}); peak after the read {peak:.0f} MiB = {peak / size:.2f}x the "
        f"output; the read added {peak - opened:.0f} MiB = {(peak - opened) / size:.2f}x"
    )


def write(path: Path, wl: workloads.Workload) -> None:
    data = workloads.make_data(wl)
    writer = peer("zarrkit")
    arr = writer.create(path, wl)
    reset_peak()  # making the data peaked above what it holds now
    before = current_rss()
    writer.write(arr, data)
    size, peak = data.nbytes / MIB, peak_rss()
    print(
        f"source {size:.0f} MiB; RSS before the write {before:.0f} MiB; peak during the "
        f"write {peak:.0f} MiB; the write added {peak - before:.0f} MiB = "
        f"{(peak - before) / size:.2f}x the source"
    )


def trace(path: Path, wl: workloads.Workload, top: int = 8) -> None:
    """The allocation sites alive at the largest traced size seen during zarrkit's read (a
    thread polls the traced size and snapshots each new high)."""
    arr = peer("zarrkit").open(path, wl)
    tracemalloc.start(6)
    best: list[tuple[int, tracemalloc.Snapshot | None]] = [(0, None)]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            size = tracemalloc.get_traced_memory()[0]
            if size > best[0][0] * 1.01:
                best[0] = (size, tracemalloc.take_snapshot())
            time.sleep(0.001)

    watcher = threading.Thread(target=poll)
    watcher.start()
    out = arr[...]
    done.set()
    watcher.join()
    peak = tracemalloc.get_traced_memory()[1]
    size, snapshot = best[0]
    print(
        f"tracemalloc: peak {peak / MIB:.0f} MiB traced (output {out.nbytes / MIB:.0f} MiB); "
        f"largest snapshot {size / MIB:.0f} MiB, made of:"
    )
    for stat in snapshot.statistics("traceback")[:top] if snapshot else []:
        where = " > ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in stat.traceback)
        print(f"  {stat.size / MIB:7.1f} MiB {stat.count:6d} blocks  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="W1", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--setup", action="store_true", help="write the array, then stop")
    parser.add_argument("--trace", action="store_true", help="trace allocations instead")
    parser.add_argument("--write", action="store_true", help="measure a fresh write instead")
    parser.add_argument(
        "--peer", default="zarrkit", choices=[*READERS, "numpy"], help="who reads (numpy: no one)"
    )
    parser.add_argument("--quick", action="store_true", help="1/4 of every dimension")
    args = parser.parse_args()
    wl = workloads.get(args.workload, quick=args.quick)
    if args.setup:
        writer = peer("zarrkit")
        writer.write(writer.create(args.dir, wl), workloads.make_data(wl))
    elif args.write:
        write(args.dir, wl)
    elif args.trace:
        trace(args.dir, wl)
    else:
        read(args.dir, wl, args.peer)


if __name__ == "__main__":
    main()
