"""Run the workloads for zarrkit and its peers, each peer of a workload in its own subprocess.

Everything, median of 5 (about 20 minutes on 2 cores): ``python -m benchmarks.run``.
A smoke run: ``python -m benchmarks.run --workloads W1,W3 --peers zarrkit,limit --quick``.
Peers: zarrkit, zp3 (zarr-python 3), zarrs (zp3 + zarrs pipeline), zp2 (zarr-python 2.18, in
.cache/zarr2-venv), ts (tensorstore, default fsync), tsns (tensorstore no fsync), limit.

The peers of one workload are measured interleaved, round by round: their children run side
by side (all alive at once, idle ones waiting for a command; each holds its source data and
results, up to about 1.3 GiB for W5 and W9, and its own copy of the array on disk). Every op
is prepared in every child, then timed once per peer per round, in an order rotated by one
each round, then finished (see ``benchmarks/child.py`` for the commands). This machine's
speed drifts by 20-60% from one minute to the next (the same W3 read took 0.027 s one minute
and 0.065 s the next), so peers timed minutes apart gave ratios that followed the drift;
interleaved, the drift hits every peer alike. Every timed write is followed by an untimed
``os.sync()``, so its dirty pages are not written back during another peer's timed run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import placement, report, workloads
from benchmarks.child import Outcome
from benchmarks.peer_process import PeerProcess
from benchmarks.peers import PEERS
from benchmarks.workloads import Workload

REPO = Path(__file__).resolve().parents[1]


def _names(text: str, known: list[str], aliases: dict[str, tuple[str, ...]]) -> list[str]:
    names = [n for part in text.split(",") for n in aliases.get(part.strip(), (part.strip(),))]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown name(s) {unknown}; expected some of {known}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--workloads", default=",".join(workloads.WORKLOADS))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--repeat", type=int, default=5, help="runs per op (median reported)")
    parser.add_argument("--quick", action="store_true", help="1/4 of every dimension and count")
    parser.add_argument("--json", type=Path, help="write all timings to this file")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per command to a child"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    args.workloads = _names(args.workloads, list(workloads.WORKLOADS), workloads.ALIASES)
    args.peers = _names(args.peers, list(PEERS), {})
    return args


def python_for(peer: str) -> str:
    if peer != "zp2":
        return sys.executable
    from tests.interop.zarr2env import ensure_venv  # builds .cache/zarr2-venv on first use

    return str(ensure_venv())


def start_child(peer: str, wl: Workload, args: argparse.Namespace, tmp: Path) -> PeerProcess:
    spec = PEERS[peer]
    command = [
        *(python_for(peer), "-m", f"benchmarks.peers.{spec.module}"),
        *("--workload", wl.name, "--dir", str(tmp / peer)),
        *(["--quick"] if args.quick else []),
        *(["--variant", spec.variant] if spec.variant else []),
    ]
    return PeerProcess(
        f"{wl.name} {peer}", command, cwd=REPO, log=tmp / f"{peer}.log", timeout=args.timeout
    )


def round_order(peers: list[str], k: int) -> list[str]:
    """The peers in the order they run in round ``k``: rotated by one each round, so each
    takes another place in the round and none is always first."""
    shift = k % len(peers)
    return peers[shift:] + peers[:shift]


def measure_op(op: str, children: dict[str, PeerProcess], rounds: int) -> dict[str, dict[str, Any]]:
    """Every peer's entry for ``op``: all prepared, then timed once per round, then finished.
    A peer drops out of the op at its first failure."""
    outcomes = {peer: Outcome() for peer in children}

    def step(peer: str, command: str) -> None:
        if outcomes[peer].ok:
            outcomes[peer].add(children[peer].ask({"cmd": command, "op": op}))

    for peer in children:
        step(peer, "prepare")
    for k in range(rounds):
        for peer in round_order(list(children), k):
            step(peer, "time")
    for peer in children:
        step(peer, "finish")
    return {peer: outcome.entry for peer, outcome in outcomes.items()}


def measure_workload(
    wl: Workload, children: dict[str, PeerProcess], repeat: int
) -> list[dict[str, Any]]:
    """One result per peer (as the report reads them), its ops measured side by side."""
    results = {peer: {"peer": peer, "workload": wl.name, "ops": {}} for peer in children}
    for op in wl.ops:
        start = time.perf_counter()
        entries = measure_op(op, children, wl.repeat(op, repeat))
        for peer, entry in entries.items():
            results[peer]["ops"][op] = entry
        took = time.perf_counter() - start
        print(f"{wl.name} {op}: {progress(entries)} ({took:.1f} s)", file=sys.stderr, flush=True)
    for peer, child in children.items():
        answer = child.ask({"cmd": "quit"})
        results[peer].update({} if "status" in answer else answer)  # "status": it failed
        report.medians(results[peer])
    return list(results.values())


def progress(entries: dict[str, dict[str, Any]]) -> str:
    """Each peer's median wall seconds (or its status), for the progress line of one op."""
    cells = (
        f"{statistics.median(e['times']):.3f}" if e["status"] == "ok" else e["status"]
        for e in entries.values()
    )
    return ", ".join(f"{peer} {cell}" for peer, cell in zip(entries, cells, strict=True))


def machine() -> str:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if "model name" in line), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def print_report(results: list[dict[str, Any]], args: argparse.Namespace, header: str) -> None:
    peers = {p: PEERS[p].label for p in args.peers}
    versions = {r["peer"]: r["version"] for r in results if "version" in r}
    print(f"\n{header}\nversions: {versions}\n")
    for name in args.workloads:
        wl = workloads.get(name, quick=args.quick)
        print(f"{name}: {wl.title}; this run: shape {wl.shape}, shards {wl.shards}")
    print("\ncell = median seconds, x ratio to zarrkit (zk) and to the limit (L)\n")
    for markdown in [False, True] if args.markdown else [False]:
        print(report.timing_table(results, peers, args.repeat, markdown=markdown), end="\n\n")
        print(report.rss_table(results, peers, markdown=markdown), end="\n\n")
    print(
        "zarrkit behind the best peer:", *report.behind(results, peers) or ["nowhere"], sep="\n  "
    )


class _Sigterm:
    """On SIGTERM unwind normally (the children are killed, the temp dirs removed), but
    not between starting a child and registering it to be killed: there the exit waits."""

    def __init__(self) -> None:
        self.deferring = False
        self.pending: int | None = None
        signal.signal(signal.SIGTERM, self.handle)

    def handle(self, signum: int, frame: object) -> None:
        if self.deferring:
            self.pending = signum
        else:
            sys.exit(128 + signum)

    def start(self, stack: ExitStack, start: Callable[[], PeerProcess]) -> PeerProcess:
        """``start()`` a child and register it on ``stack``, then exit if SIGTERM came."""
        self.deferring = True
        try:
            return stack.enter_context(closing(start()))
        finally:
            self.deferring = False
            if self.pending is not None:
                sys.exit(128 + self.pending)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm = _Sigterm()
    load_before = os.getloadavg()[0]
    results = []
    if not args.quick:  # a smoke run's timings need no fair placement
        placement.wait_for_removed_files()
    with ExitStack() as kept:  # workloads' files on disk, removed at the end (see placement)
        for name in args.workloads:
            wl = workloads.get(name, quick=args.quick)
            print(f"{name}: {', '.join(args.peers)} side by side", file=sys.stderr, flush=True)
            with ExitStack() as stack:
                tmp = placement.workload_dir(name, kept, stack, fair=not args.quick)
                children = {
                    peer: sigterm.start(stack, partial(start_child, peer, wl, args, tmp))
                    for peer in args.peers
                }
                results += measure_workload(wl, children, args.repeat)
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    # Other processes on the machine skew every number; say how busy it was.
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    print_report(results, args, f"{date}  {machine()}\n{load}")
    if args.json:
        document = {"date": date, "machine": machine(), "load": load, "argv": sys.argv[1:]}
        document["results"] = results
        args.json.write_text(json.dumps(document, indent=1))
    wrong = [
        f"{r['workload']} {r['peer']} {op}: {e['message']}"
        for r in results
        for op, e in r["ops"].items()
        if e["status"] == "wrong"
    ]
    if wrong:
        print(
            "\nWRONG DATA READ BACK, these timings are invalid:",
            *wrong,
            sep="\n  ",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
