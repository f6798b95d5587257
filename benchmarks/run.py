"""Run the workloads for zarrkit and its peers, each (peer, workload) in its own subprocess.

Everything, median of 5 (about 20 minutes on 2 cores): ``python -m benchmarks.run``.
A smoke run: ``python -m benchmarks.run --workloads W1,W3 --peers zarrkit,limit --quick``.
Peers: zarrkit, zp3 (zarr-python 3), zarrs (zp3 + zarrs pipeline), zp2 (zarr-python 2.18, in
.cache/zarr2-venv), ts (tensorstore, default fsync), tsns (tensorstore no fsync), limit.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report, workloads

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSpec:
    module: str
    label: str
    variant: str = ""


PEERS = {
    "zarrkit": PeerSpec(module="zarrkit_peer", label="zarrkit"),
    "zp3": PeerSpec(module="zp3", label="zarr-python 3"),
    "zarrs": PeerSpec(module="zp3", label="zp3 + zarrs", variant="zarrs"),
    "zp2": PeerSpec(module="zp2", label="zarr-python 2.18"),
    "ts": PeerSpec(module="ts", label="tensorstore (fsync)"),
    "tsns": PeerSpec(module="ts", label="tensorstore no-fsync", variant="nosync"),
    "limit": PeerSpec(module="limit", label="limit (codec lib)"),
}


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
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    args = parser.parse_args(argv)
    args.workloads = _names(args.workloads, list(workloads.WORKLOADS), workloads.ALIASES)
    args.peers = _names(args.peers, list(PEERS), {})
    return args


def python_for(peer: str) -> str:
    if peer != "zp2":
        return sys.executable
    from tests.interop.zarr2env import ensure_venv  # builds .cache/zarr2-venv on first use

    return str(ensure_venv())


def child_result(command: list[str], timeout: float) -> dict[str, Any]:
    """The JSON line a benchmark child prints last; raises when it fails or prints none."""
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_child(peer: str, wl: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    spec = PEERS[peer]
    command = [
        *(python_for(peer), "-m", f"benchmarks.peers.{spec.module}"),
        *("--workload", wl, "--dir", str(directory), "--repeat", str(args.repeat)),
        *(["--quick"] if args.quick else []),
        *(["--variant", spec.variant] if spec.variant else []),
    ]
    result: dict[str, Any] = {"peer": peer, "workload": wl}
    try:
        result.update(child_result(command, args.timeout))
    except Exception as e:  # a crashed child becomes an error in every op of its row
        message = f"{type(e).__name__}: {e}"
        ops = workloads.get(wl).ops
        result["ops"] = {op: {"status": "error", "message": message} for op in ops}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report.medians(result)
    return result


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # On SIGTERM unwind normally: subprocess.run kills the child, the temp dir is removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    load_before = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="zarrkit-bench-") as tmp:
        for wl in args.workloads:
            for peer in args.peers:
                start = time.perf_counter()
                result = run_child(peer, wl, args, Path(tmp) / f"{wl}-{peer}")
                results.append(result)
                summary = {op: e.get("median", e["status"]) for op, e in result["ops"].items()}
                took = time.perf_counter() - start
                print(f"{wl} {peer}: {summary} ({took:.1f} s)", file=sys.stderr, flush=True)
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
