"""The child side: run one workload against one peer, verify every result, print one JSON line.

A peer module defines a ``Peer`` subclass and calls ``main(PeerClass)`` under
``if __name__ == "__main__"``. Standard library and numpy only (the zarr 2 child uses it too).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import workloads
from benchmarks.workloads import SELECTION_OPS, WRITE_OPS, Workload


class NotSupported(Exception):
    """The peer cannot do this workload (reported as n/a, not as an error)."""


class WrongData(Exception):
    """A read returned something other than the source data: the benchmark is invalid."""


class Peer:
    """Adapter for libraries whose arrays support ``a[sel]``, ``a[...] = x`` and ``a.vindex``."""

    def __init__(self, variant: str = "") -> None:
        self.variant = variant

    def version(self) -> str:
        raise NotImplementedError

    def create(self, path: Path, wl: Workload) -> Any:
        raise NotImplementedError

    def open(self, path: Path, wl: Workload) -> Any:
        raise NotImplementedError

    def write(self, arr: Any, data: np.ndarray) -> None:
        arr[...] = data

    def read(self, arr: Any, selection: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(arr[selection])

    def vindex(self, arr: Any, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.asarray(arr.vindex[coords])

    def rows(self, arr: Any, rows: np.ndarray) -> np.ndarray:
        """Whole rows ``rows`` (in that order) along the first axis."""
        return np.asarray(arr.oindex[rows])

    def iter_chunks(self, arr: Any, wl: Workload) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
        for block in workloads.blocks(wl):
            yield block, self.read(arr, block)


def verify(out: np.ndarray, expected: np.ndarray, what: str) -> None:
    if out.shape != expected.shape or out.dtype != expected.dtype:
        raise WrongData(
            f"{what}: got {out.dtype}{out.shape}, expected {expected.dtype}{expected.shape}"
        )
    if not np.array_equal(out, expected):
        wrong = int(np.count_nonzero(out != expected))
        raise WrongData(f"{what}: {wrong} of {out.size} values differ from the source")


class Bench:
    """Times every op of one workload for one peer; reads use data the peer wrote itself."""

    def __init__(self, peer: Peer, wl: Workload, directory: Path, repeat: int) -> None:
        self.peer, self.wl, self.repeat = peer, wl, repeat
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "array"
        self.data = workloads.make_data(wl)
        self.written = False

    def run(self, op: str) -> dict[str, Any]:
        try:
            clocks = self._write(op) if op in WRITE_OPS else self._read(op)
        except NotSupported as e:
            return {"status": "n/a", "message": str(e)}
        except WrongData as e:
            return {"status": "wrong", "message": str(e)}
        except Exception as e:
            return {"status": "error", "message": f"{type(e).__name__}: {e}"[:300]}
        times, cpu_times = (list(c) for c in zip(*clocks, strict=True))
        return {"status": "ok", "verified": True, "times": times, "cpu_times": cpu_times}

    def _write(self, op: str) -> list[tuple[float, float]]:
        """(wall, CPU) seconds of each run; CPU is all threads', steadier under load."""
        clocks = []
        if op == "overwrite":
            arr = self.peer.create(self.path, self.wl)
            self.peer.write(arr, self.data)
        for _ in range(self.wl.repeat(op, self.repeat)):
            if op == "write":
                shutil.rmtree(self.path, ignore_errors=True)
            start, cpu = time.perf_counter(), time.process_time()
            if op == "write":
                arr = self.peer.create(self.path, self.wl)
            self.peer.write(arr, self.data)
            clocks.append((time.perf_counter() - start, time.process_time() - cpu))
        out = self.peer.read(self.peer.open(self.path, self.wl), (Ellipsis,))
        verify(out, self.data, f"{op} then full read")
        self.written = True
        return clocks

    def _read(self, op: str) -> list[tuple[float, float]]:
        if not self.written:
            self.peer.write(self.peer.create(self.path, self.wl), self.data)
            self.written = True
        fetch, check = self._reader(op, self.peer.open(self.path, self.wl))
        check(fetch())  # warm-up: page cache, imports, thread pools
        clocks = []
        for _ in range(self.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            result = fetch()
            clocks.append((time.perf_counter() - start, time.process_time() - cpu))
            check(result)
        return clocks

    def _reader(self, op: str, arr: Any) -> tuple[Callable[[], Any], Callable[[Any], None]]:
        peer, data = self.peer, self.data
        if op == "read":
            return lambda: peer.read(arr, (Ellipsis,)), lambda out: verify(out, data, op)
        if op in SELECTION_OPS:
            sels = workloads.selections(self.wl, op)

            def check_all(outs: list[np.ndarray]) -> None:
                for out, sel in zip(outs, sels, strict=True):
                    verify(out, data[sel], f"{op} {sel}")

            return lambda: [peer.read(arr, sel) for sel in sels], check_all
        if op == "vindex":
            coords = workloads.points(self.wl)
            return lambda: peer.vindex(arr, coords), lambda out: verify(out, data[coords], op)
        if op == "batches":
            batches = workloads.batches(self.wl)

            def check_batches(outs: list[np.ndarray]) -> None:
                for out, rows in zip(outs, batches, strict=True):
                    verify(out, data[rows], f"{op}: rows {rows[:3]}...")

            return lambda: [peer.rows(arr, rows) for rows in batches], check_batches
        if op == "chunks":
            return lambda: list(peer.iter_chunks(arr, self.wl)), self._check_chunks
        raise ValueError(f"unknown op {op!r}; expected one of {list(workloads.OPS)}")

    def _check_chunks(self, items: list[tuple[tuple[slice, ...], np.ndarray]]) -> None:
        expected = len(workloads.blocks(self.wl))
        if len(items) != expected:
            raise WrongData(f"iter_chunks yielded {len(items)} chunks, expected {expected}")
        for sel, block in items:
            verify(block, self.data[sel], f"chunk {sel}")


def main(peer_class: type[Peer]) -> None:
    parser = argparse.ArgumentParser(description="Run one workload for one peer.")
    parser.add_argument("--workload", required=True, choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant", default="")
    args = parser.parse_args()
    peer = peer_class(args.variant)
    wl = workloads.get(args.workload, quick=args.quick)
    bench = Bench(peer, wl, args.dir, args.repeat)
    ops = {op: bench.run(op) for op in wl.ops}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"version": peer.version(), "ops": ops, "peak_rss_mb": round(peak_mb, 1)}))
