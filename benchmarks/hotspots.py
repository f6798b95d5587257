"""Run one zarrkit operation of a workload in a loop, for profilers to watch.

``--setup`` writes the array into ``--dir`` (once); later runs only open it and repeat the
operation ``--loops`` times, so a profile holds little besides the hot loop. Subtract a run
with ``--loops 0`` (imports, opening) from instruction counts. Examples::

    python -m benchmarks.hotspots --workload W3 --op read --dir /tmp/w3 --setup
    py-spy record --native -r 400 -f raw -o w3.txt -- \\
        python -m benchmarks.hotspots --workload W3 --op read --dir /tmp/w3 --loops 50
    valgrind --tool=callgrind --callgrind-out-file=w3.cg \\
        python -m benchmarks.hotspots --workload W3 --op read --dir /tmp/w3 --loops 5

Ops: ``read`` (the whole array), ``write`` (the whole array, overwriting in place),
``create`` (the whole array into a fresh array each loop, as ``benchmarks.run`` writes), ``inner``
(the workload's single-inner-chunk reads), ``windows`` (W4's random 64x64 windows, one call
each), ``zslice`` and ``column`` (W6's), ``vindex`` (W7's scattered points, one call),
``batches`` (W9's random row batches). Prints the seconds per loop and per chunk (inner chunk
for sharded arrays; per read for the selection ops and ``batches``; per point for ``vindex``).
``--setup`` and ``--check`` compare the array's values with the data. ``--threads 1`` runs
every worker pool with one thread, for a per-chunk CPU split without thread interleaving.
``--subscriber every`` (or ``array``) subscribes a telemetry subscriber that does nothing to
every event (or to ``ArrayEvent`` only), for the cost of telemetry.
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from pathlib import Path

import numpy as np

import zarrkit
from benchmarks import workloads
from benchmarks.peers.zarrkit_peer import ZarrkitPeer
from benchmarks.workloads import Workload
from zarrkit import telemetry


def units(wl: Workload, op: str) -> int:
    """What one loop of ``op`` is divided by: chunks for whole-array ops, reads otherwise."""
    if op in workloads.SELECTION_OPS:
        return len(workloads.selections(wl, op))
    if op in PER_READ:
        return wl.count
    return math.prod(-(-n // c) for n, c in zip(wl.shape, wl.chunks, strict=True))


def run(wl: Workload, op: str, path: Path, loops: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) per loop of ``op`` on the array at ``path``.
    CPU time is the steadier one on a shared machine."""
    peer = ZarrkitPeer()
    data = workloads.make_data(wl) if op in ("write", "read", "create") else None
    arr = None if op == "create" else peer.open(path, wl)
    if op == "write":
        arr = zarrkit.open_array(str(path), mode="r+")
    if op == "read":
        once = lambda: arr[...]  # noqa: E731
    elif op == "write":
        once = lambda: arr.__setitem__(Ellipsis, data)  # noqa: E731
    elif op == "create":
        once = lambda: peer.write(peer.create(path, wl), data)  # noqa: E731
    elif op in workloads.SELECTION_OPS:
        sels = workloads.selections(wl, op)
        once = lambda: [arr[sel] for sel in sels]  # noqa: E731
    elif op == "vindex":
        points = workloads.points(wl)
        once = lambda: arr.vindex[points]  # noqa: E731
    else:
        rows = workloads.batches(wl)
        once = lambda: [arr.get_orthogonal_selection((r,)) for r in rows]  # noqa: E731
    wall = cpu = 0.0
    for _ in range(loops):
        if op == "create":  # as benchmarks.run: the old array removed outside the timing
            shutil.rmtree(path, ignore_errors=True)
        start, cpu_start = time.perf_counter(), time.process_time()
        once()
        wall, cpu = wall + time.perf_counter() - start, cpu + time.process_time() - cpu_start
    return wall / max(loops, 1), cpu / max(loops, 1)


def check(wl: Workload, path: Path) -> None:
    """Fail unless the array at ``path`` holds the workload's data."""
    np.testing.assert_array_equal(zarrkit.open_array(str(path))[...], workloads.make_data(wl))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", required=True, choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--op", required=True, choices=("read", "write", "create", *PER_READ))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--loops", type=int, default=10)
    parser.add_argument("--setup", action="store_true", help="write the array first")
    parser.add_argument("--threads", type=int, help="size of every worker pool")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--subscriber", choices=tuple(_SUBSCRIBED), help="a no-op telemetry subscriber"
    )
    parser.add_argument(
        "--check", action="store_true", help="compare the array with the data after the loops"
    )
    args = parser.parse_args()
    wl = workloads.get(args.workload, quick=args.quick)
    if args.setup:
        peer = ZarrkitPeer()
        peer.write(peer.create(args.dir, wl), workloads.make_data(wl))
        check(wl, args.dir)
    known = [name for name in _POOLS if name in zarrkit.config.DEFAULTS]
    pools = {} if args.threads is None else dict.fromkeys(known, args.threads)
    if args.subscriber:
        telemetry.subscribe(_ignore, *_SUBSCRIBED[args.subscriber])
    with zarrkit.config.set(**pools):
        wall, cpu = run(wl, args.op, args.dir, args.loops)
    if args.check:
        check(wl, args.dir)
    n = units(wl, args.op)
    print(
        f"{wl.name} {args.op}: per loop {wall:.4f} s wall, {cpu:.4f} s CPU; per unit ({n} a "
        f"loop) {wall / n * 1e6:.1f} us wall, {cpu / n * 1e6:.1f} us CPU"
    )


#: Ops measured per read (or point), not per chunk of the array.
PER_READ = (*workloads.SELECTION_OPS, "vindex", "batches")
_POOLS = ("threads", "read_threads", "write_threads", "io_threads")
_SUBSCRIBED: dict[str, tuple[type[telemetry.Event], ...]] = {
    "every": (),
    "array": (telemetry.ArrayEvent,),
}


def _ignore(event: telemetry.Event) -> None:
    """A subscriber that does nothing: what remains is the cost of emitting."""


if __name__ == "__main__":
    main()
