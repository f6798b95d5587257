"""The object-store suite: zarrkit and its peers where latency and request counts decide.

Reads go to zarrkit's HTTP object server (``zarrkit.testing.object_server``) run in a child
process with a fixed latency per request (20 ms by default); writes go to moto's S3 served on
one thread (so conditional writes are atomic, as on S3) behind the fault proxy
(``zarrkit.testing.fault_proxy``) with the same latency, which also counts the requests. The
arrays are written once by zarr-python; every (peer, op, layout) runs in its own process.

Everything (about 40 minutes on 2 shared cores): ``python -m benchmarks.remote``.
A smoke run: ``python -m benchmarks.remote --quick --repeat 1 --peers zarrkit --latency 0.001``.
Peers: zarrkit, zp3 (zarr-python 3 with its ObjectStore over obstore), ts (tensorstore).
Ops: cold warm window read (HTTP), faults (HTTP, the fault table: each faulty window read
after the same read without faults), write concurrent (S3).
The fault figure of docs/performance.md (10% faults):
``python -m benchmarks.remote --peers zarrkit --ops faults --fault-rate 0.1``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zarr

from benchmarks.remote_workloads import (
    OPS,
    READ_OPS,
    WRITE_OPS,
    creation_options,
    layout,
    make_data,
    title,
)
from benchmarks.report import render
from benchmarks.run import REPO, machine
from tests.storage.servers import moto_endpoint, s3_bucket, start_moto
from zarrkit.testing.fault_proxy import FaultProxy
from zarrkit.testing.faults import Fault, FaultKind
from zarrkit.testing.object_server import ObjectServer

PEERS = {
    "zarrkit": ("zarrkit_remote", "zarrkit"),
    "zp3": ("zp3_remote", "zarr-python 3 (obstore)"),
    "ts": ("ts_remote", "tensorstore"),
}
ALL_OPS = [*OPS, "faults"]
#: The fault table's chunk faults: half 503 SlowDown, half bodies cut short.
FAULT_KINDS: tuple[FaultKind, ...] = ("503", "truncate")
CHUNK_KEYS = "*/c/*"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.remote", description=__doc__)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--ops", default=",".join(ALL_OPS))
    parser.add_argument("--layouts", default="sharded,unsharded")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per read op (and fault reads)"
    )
    parser.add_argument("--write-repeat", type=int, default=3, help="timed runs per write op")
    parser.add_argument("--fault-rate", type=float, default=0.3, help="of chunk requests")
    parser.add_argument("--seed", type=int, default=0, help="of the fault draws")
    parser.add_argument(
        "--no-etags", action="store_true", help="the object server sends no ETags (reads)"
    )
    parser.add_argument("--quick", action="store_true", help="1/4 of every edge, a smoke run")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    args = parser.parse_args(argv)
    for name, known in (("peers", PEERS), ("ops", ALL_OPS), ("layouts", ("sharded", "unsharded"))):
        values = [v.strip() for v in getattr(args, name).split(",") if v.strip()]
        unknown = sorted(set(values) - set(known))
        if unknown:
            parser.error(f"unknown {name} {unknown}; expected some of {list(known)}")
        setattr(args, name, values)
    return args


def write_arrays(root: Path, args: argparse.Namespace) -> None:
    """The arrays every peer reads, written once by zarr-python (the reference)."""
    for name in args.layouts:
        lay = layout(name, quick=args.quick)
        arr = zarr.create_array(store=str(root / name), **creation_options(lay))
        arr[...] = make_data(lay)


def child_result(command: list[str], timeout: float) -> dict[str, Any]:
    """The JSON line a benchmark child prints last; raises when it fails or prints none."""
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_child(
    peer: str, op: str, name: str, args: argparse.Namespace, **where: str
) -> dict[str, Any]:
    """Run one op in the peer's own process; a crash becomes an error result."""
    repeat = args.write_repeat if op in WRITE_OPS else args.repeat
    command = [sys.executable, "-m", f"benchmarks.peers.{PEERS[peer][0]}", f"--op={op}"]
    command += [f"--layout={name}", f"--repeat={repeat}", *(["--quick"] if args.quick else [])]
    command += [f"--{key}={value}" for key, value in where.items()]
    result: dict[str, Any] = {"peer": peer, "op": op, "layout": name}
    start = time.perf_counter()
    try:
        result.update(child_result(command, args.timeout))
    except Exception as e:
        result.update(status="error", message=f"{type(e).__name__}: {e}")
    took = time.perf_counter() - start
    print(f"{op} {name} {peer}: {summary(result)} ({took:.0f} s)", file=sys.stderr, flush=True)
    return result


OUTCOMES = ("right", "error", "wrong")


def summary(result: dict[str, Any]) -> str:
    """One line for a result: median time and requests, lost tiles, or fault outcomes."""
    if result["status"] != "ok":
        return f"{result['status']}: {result.get('message', '')}"
    if "outcomes" in result:
        return ", ".join(f"{result['outcomes'].count(o)} {o}" for o in OUTCOMES)
    parts = [f"{statistics.median(result['times']):.3f} s"]
    parts.append(f"{statistics.median(result['requests']):g} req")
    if "lost" in result:
        parts.append(f"lost {'/'.join(map(str, result['lost']))} of {result['tiles']} tiles")
    if any(result.get("errors", ())):
        parts.append(f"write errors {'/'.join(map(str, result['errors']))}")
    return ", ".join(parts)


def read_suite(root: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    ops = [op for op in args.ops if op in READ_OPS or op == "faults"]
    if not ops:
        return results
    with ObjectServer.spawn(root, etags=not args.no_etags, latency=args.latency) as server:
        where = {"http": server.url, "control": server.url}
        for op in [op for op in ops if op in READ_OPS]:
            for name in args.layouts:
                results += [run_child(p, op, name, args, **where) for p in args.peers]
        if "faults" in ops:
            rate = args.fault_rate / len(FAULT_KINDS)
            faults = [Fault(kind=k, rate=rate, keys=CHUNK_KEYS) for k in FAULT_KINDS]
            for name in args.layouts:
                for peer in args.peers:
                    server.configure(faults=faults, seed=args.seed)
                    results.append(run_child(peer, "faults", name, args, **where))
            server.configure(faults=[])
    return results


def write_suite(log_dir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    ops = [op for op in args.ops if op in WRITE_OPS]
    if not ops:
        return []
    moto = start_moto(log_dir, "moto-bench", threaded=False)
    results: list[dict[str, Any]] = []
    try:
        bucket, _ = s3_bucket(moto_endpoint(moto), "bench")
        with FaultProxy.spawn(moto_endpoint(moto), latency=args.latency) as proxy:
            for op in ops:
                for name in args.layouts:
                    for peer in args.peers:
                        target = {
                            "endpoint": proxy.url,
                            "bucket": bucket,
                            "path": f"{peer}/{op}/{name}",
                        }
                        s3 = json.dumps(target)
                        results.append(run_child(peer, op, name, args, s3=s3, control=proxy.url))
    finally:
        moto.stop()
    return results


def cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return ""
    return "WRONG DATA" if result["status"] == "wrong" else summary(result)


def tables(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    labels = [PEERS[p][1] for p in args.peers]
    found = {(r["op"], r["layout"], r["peer"]): r for r in results}
    rows = []
    for op in [op for op in args.ops if op in OPS]:
        for name in args.layouts:
            label = f"{title(op, layout(name, quick=args.quick))} ({name})"
            rows.append([label, *(cell(found.get((op, name, p))) for p in args.peers)])
    parts = [render([["op (array)", *labels], *rows], markdown=True)] if rows else []
    if "faults" in args.ops:
        head = ["peer (array)", "right values", "error raised", "wrong values"]
        head += ["median s (right)", "median s, no faults", "faults / requests"]
        body = []
        for name in args.layouts:
            for peer in args.peers:
                r = found.get(("faults", name, peer))
                body.append([f"{PEERS[peer][1]} ({name})", *fault_row(r)])
        parts.append(render([head, *body], markdown=True))
    return "\n\n".join(parts)


def fault_row(result: dict[str, Any] | None) -> list[str]:
    if result is None or result["status"] != "ok":
        message = "" if result is None else f"{result['status']}: {result.get('message', '')}"
        return [message, "", "", "", "", ""]
    outcomes = result["outcomes"]
    right = [t for t, o in zip(result["times"], outcomes, strict=True) if o == "right"]
    counts = [f"{outcomes.count(o)} / {len(outcomes)}" for o in OUTCOMES]
    injected = f"{sum(result['faults'])} of {sum(result['requests'])}"
    clean = statistics.median(result["clean"])
    cost = f" ({statistics.median(right) / clean - 1:+.0%})" if right else ""
    timed = f"{statistics.median(right):.3f}{cost}" if right else ""
    return [*counts, timed, f"{clean:.3f}", injected]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="zarrkit-remote-") as tmp:
        root = Path(tmp) / "objects"
        write_arrays(root, args)
        results = read_suite(root, args) + write_suite(Path(tmp), args)
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    versions = {r["peer"]: r["version"] for r in results if "version" in r}
    print(f"{date}  {machine()}\n{load}\nversions: {versions}")
    etags = "no ETags from the object server; " if args.no_etags else ""
    print(f"latency {args.latency * 1000:g} ms per request; {etags}cell = median time, requests")
    for name in args.layouts:
        print(f"{name}: {layout(name, quick=args.quick).title}")
    print()
    print(tables(results, args))
    if args.json:
        document = {"date": date, "machine": machine(), "load": load, "argv": sys.argv[1:]}
        args.json.write_text(json.dumps({**document, "results": results}, indent=1))
    wrong = [r for r in results if r["status"] == "wrong"]
    for r in wrong:
        print(f"WRONG DATA: {r['op']} {r['layout']} {r['peer']}: {r['message']}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
