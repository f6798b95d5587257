"""The child side: one workload for one peer, step by step as the driver asks; every result
is verified.

The child serves commands, one JSON line each on stdin, and answers each with one JSON line
on stdout (nothing else goes there):

- ``{"cmd": "prepare", "op": OP}``: what comes before the timed runs (the array they use,
  synced to disk if written here; for reads one warm-up read). Answers ``{"status": "ok"}`` or
  a failure: ``{"status": "n/a" | "wrong" | "error", "message": ...}``.
- ``{"cmd": "time", "op": OP}``: one timed run, then its checks (untimed; a write is followed by
  ``os.sync()``). Answers ``{"status": "ok", "wall": s, "cpu": s, "sys": s, "faults": n}``
  (``sys``: the part of ``cpu`` in the kernel; ``faults``: minor page faults) or a failure.
- ``{"cmd": "finish", "op": OP}``: after the runs; a write is read back and compared.
- ``{"cmd": "quit"}``: answers ``{"version": ..., "peak_rss_mb": ...}`` and exits.

A peer module defines a ``Peer`` subclass and calls ``main(PeerClass)`` under
``if __name__ == "__main__"``. Standard library and numpy only (the zarr 2 child uses it too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

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


def ignore(result: Any) -> None:
    """The check of a write: its result is read back once, after all its runs."""


def settle_memory(nbytes: int) -> None:
    """Touch and free twice ``nbytes`` of fresh memory (at most :data:`SETTLE_MAX`) just
    before a timed run, untimed.

    This VM's host takes back the memory its guest frees (the kernel's free page reporting,
    here for free blocks of 128 KiB and up), and a process that then allocates it waits in
    the kernel while the host hands it back. Throwaway loops of zarrkit's full reads, 2-3 s
    apart as a peer's runs are: W2n (a 128 MiB result) 0.16-0.26 s a read against 0.02 s
    back to back, with the same page faults; W5 (256 MiB) 0.40-0.43 s, 0.30-0.38 s of it in
    the kernel, every read. Touching and freeing as much as the data first: 11 of 12 W5
    reads 0.25-0.28 s; twice as much: 14 of 14 0.22-0.28 s, at most 0.044 s in the kernel.
    Between two runs of one peer the others run, so before this which peer paid was luck
    (W2n's full read: zarrkit 0.018-0.200 s in one run)."""
    buffer = np.ones(min(2 * nbytes, SETTLE_MAX), dtype=np.uint8)
    del buffer


#: The most :func:`settle_memory` touches (W9's data is 512 MiB; a child also holds its
#: data and its results).
SETTLE_MAX = 512 << 20


def verify(out: np.ndarray, expected: np.ndarray, what: str) -> None:
    if out.shape != expected.shape or out.dtype != expected.dtype:
        raise WrongData(
            f"{what}: got {out.dtype}{out.shape}, expected {expected.dtype}{expected.shape}"
        )
    if not np.array_equal(out, expected):
        wrong = int(np.count_nonzero(out != expected))
        raise WrongData(f"{what}: {wrong} of {out.size} values differ from the source")


class Outcome:
    """One op's entry for the report, built from one peer's answers; the first failure ends it."""

    def __init__(self) -> None:
        self.entry: dict[str, Any] = {
            "status": "ok",
            "verified": True,
            "times": [],
            "cpu_times": [],
            "sys_times": [],
            "faults": [],
        }

    @property
    def ok(self) -> bool:
        return bool(self.entry["status"] == "ok")

    def add(self, answer: dict[str, Any]) -> None:
        if answer["status"] != "ok":
            self.entry = answer
        elif "wall" in answer:
            self.entry["times"].append(answer["wall"])
            self.entry["cpu_times"].append(answer["cpu"])
            self.entry["sys_times"].append(answer["sys"])
            self.entry["faults"].append(answer["faults"])


class Bench:
    """The steps of every op of one workload for one peer; reads use data the peer wrote itself.

    Each op is prepared once, timed run by run (the driver interleaves the runs of all peers),
    then finished. Wall and CPU seconds are both kept; CPU is all threads', steadier under load.
    """

    def __init__(self, peer: Peer, wl: Workload, directory: Path) -> None:
        self.peer, self.wl = peer, wl
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "array"
        self.data = workloads.make_data(wl)
        self.written = False
        self.trials: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}

    def answer(self, command: str, op: str) -> dict[str, Any]:
        """Run one command of the driver (prepare, time, finish) and say how it went."""
        steps = {"prepare": self.prepare, "time": self.measure, "finish": self.finish}
        try:
            if command not in steps:
                raise ValueError(f"unknown command {command!r}; expected one of {[*steps, 'quit']}")
            clocks = steps[command](op)
        except NotSupported as e:
            return {"status": "n/a", "message": str(e)}
        except WrongData as e:
            return {"status": "wrong", "message": str(e)}
        except Exception as e:
            return {"status": "error", "message": f"{type(e).__name__}: {e}"[:300]}
        return {"status": "ok", **(clocks or {})}

    def run(self, op: str, repeat: int) -> dict[str, Any]:
        """All of ``op`` in this process: prepare, ``repeat`` timed runs, finish; its entry."""
        outcome = Outcome()
        for command in ["prepare", *["time"] * self.wl.repeat(op, repeat), "finish"]:
            if outcome.ok:
                outcome.add(self.answer(command, op))
        return outcome.entry

    def prepare(self, op: str) -> None:
        """Everything before the timed runs: the array they use, and one warm-up run of
        the op (page cache, imports, thread pools, the allocator's arenas: measured, the
        first write of a fresh child took 3-7x the later ones, for every peer)."""
        if op in WRITE_OPS:
            self.trials[op] = self._writer(op), ignore
            if op == "write":
                self._store()  # overwrite's writer already wrote its array once
            return
        if not self.written:
            self._store()
            self.written = True
        fetch, check = self._reader(op, self.peer.open(self.path, self.wl))
        check(fetch())  # warm-up: page cache, imports, thread pools
        self.trials[op] = fetch, check

    def measure(self, op: str) -> dict[str, float]:
        """One timed run of ``op`` (a fresh write removes the array first, untimed), checked."""
        if op not in self.trials:
            raise ValueError(f"op {op!r} was not prepared")
        fetch, check = self.trials[op]
        if op == "write":
            shutil.rmtree(self.path, ignore_errors=True)
        settle_memory(self.data.nbytes)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start, cpu = time.perf_counter(), time.process_time()
        result = fetch()
        clocks = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
        after = resource.getrusage(resource.RUSAGE_SELF)
        clocks["sys"] = after.ru_stime - before.ru_stime
        clocks["faults"] = after.ru_minflt - before.ru_minflt
        check(result)
        if op in WRITE_OPS:
            os.sync()  # write back now, not during another peer's timed run
        return clocks

    def finish(self, op: str) -> None:
        """After the timed runs: a written array is read back whole and compared."""
        self.trials.pop(op, None)
        if op in WRITE_OPS:
            out = self.peer.read(self.peer.open(self.path, self.wl), (Ellipsis,))
            verify(out, self.data, f"{op} then full read")
            self.written = True

    def _store(self) -> Any:
        """A new array holding the source data, on disk before any peer's timed run."""
        arr = self.peer.create(self.path, self.wl)
        self.peer.write(arr, self.data)
        os.sync()
        return arr

    def _writer(self, op: str) -> Callable[[], None]:
        if op == "overwrite":
            arr = self._store()
            return lambda: self.peer.write(arr, self.data)
        return lambda: self.peer.write(self.peer.create(self.path, self.wl), self.data)

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
    parser = argparse.ArgumentParser(description="Serve the benchmark commands of one peer.")
    parser.add_argument("--workload", required=True, choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant", default="")
    args = parser.parse_args()
    # Answers go to a copy of stdout; whatever a library prints, even from C, goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    peer = peer_class(args.variant)
    bench = Bench(peer, workloads.get(args.workload, quick=args.quick), args.dir)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        send(replies, bench.answer(command["cmd"], command.get("op", "")))
    else:
        return  # stdin closed without "quit": the driver is gone
    send(replies, {"version": peer.version(), "peak_rss_mb": round(peak_rss(), 1)})


def peak_rss() -> float:
    """This process's peak resident set in MiB (``VmHWM``; Linux). Not ``getrusage``'s
    ``ru_maxrss``, which keeps across ``exec`` the peak of the process that forked this one:
    run from pytest, ``benchmarks.memory`` reported pytest's 71 MiB as NumPy's peak."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def send(replies: TextIO, answer: dict[str, Any]) -> None:
    replies.write(json.dumps(answer) + "\n")
    replies.flush()
