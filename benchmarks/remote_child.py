"""The child side of the object-store suite: one op on one array for one peer, one JSON line out.

A peer module defines a :class:`RemotePeer` subclass and calls ``main(PeerClass)``. Every timed
run is bracketed by the test server's counters (``--control``, the object server or the proxy
in front of moto), so each run reports its time and the requests it made; every value read is
compared with the source.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

import numpy as np

from benchmarks.child import WrongData, verify
from benchmarks.remote_workloads import (
    OPS,
    WRITERS,
    Layout,
    Selection,
    cold_chunks,
    layout,
    make_data,
    tile_value,
    tiles,
    warm_plan,
    window,
)
from zarrkit.testing.http_server import ControlClient

T = TypeVar("T")
EVERYTHING = (Ellipsis,)


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Target:
    """Where an array lives on the S3 server, with the test credentials moto accepts."""

    endpoint: str
    bucket: str
    path: str
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.path}"

    def options(self) -> dict[str, Any]:
        """obstore's S3 options for this target."""
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "virtual_hosted_style_request": False,
            "allow_http": True,
        }

    def under(self, path: str) -> S3Target:
        return replace(self, path=f"{self.path}/{path}")


class RemotePeer:
    """Adapter for one library: open an array over HTTP, create and open one on S3."""

    def version(self) -> str:
        raise NotImplementedError

    def open_http(self, url: str) -> Any:
        """The array at ``url``, read-only, sharing nothing cached with earlier opens."""
        raise NotImplementedError

    def create_s3(self, target: S3Target, lay: Layout) -> Any:
        raise NotImplementedError

    def open_s3(self, target: S3Target) -> Any:
        raise NotImplementedError

    def read(self, arr: Any, selection: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(arr[selection])

    def write(self, arr: Any, selection: tuple[Any, ...], value: np.ndarray) -> None:
        arr[selection] = value


class Meter:
    """Times a call and counts the requests the server saw during it."""

    def __init__(self, control_url: str) -> None:
        self.server = ControlClient(control_url)
        self.times: list[float] = []
        self.requests: list[int] = []
        self.faults: list[int] = []  # injected by the server

    def run(self, call: Callable[[], T], *, record: bool = True) -> T:
        self.server.reset_stats()
        start = time.perf_counter()
        result = call()
        if record:
            self.record(time.perf_counter() - start)
        return result

    def record(self, seconds: float) -> None:
        stats = self.server.stats()
        self.times.append(seconds)
        self.requests.append(stats.total)
        self.faults.append(sum(stats.faults.values()))

    def result(self, **extra: Any) -> dict[str, Any]:
        counts = {"times": self.times, "requests": self.requests, "faults": self.faults}
        return {"status": "ok", **counts, **extra}


class Bench:
    """Runs one op; reads and writes are checked against the source data."""

    def __init__(self, peer: RemotePeer, args: argparse.Namespace) -> None:
        self.peer, self.args = peer, args
        self.layout = layout(args.layout, quick=args.quick)
        self.meter = Meter(args.control)

    @property
    def url(self) -> str:
        return f"{self.args.http}/{self.layout.name}"

    @property
    def s3(self) -> S3Target:
        return S3Target(**json.loads(self.args.s3))

    def cold(self) -> dict[str, Any]:
        data = make_data(self.layout)
        for run, sel in enumerate(cold_chunks(self.layout, self.args.repeat + 1)):

            def open_and_read(s: Selection = sel) -> np.ndarray:
                return self.peer.read(self.peer.open_http(self.url), s)

            verify(self.meter.run(open_and_read, record=run > 0), data[sel], f"chunk {sel}")
        return self.meter.result()

    def warm(self) -> dict[str, Any]:
        data = make_data(self.layout)
        arr = self.peer.open_http(self.url)
        primer, runs = warm_plan(self.layout, self.args.repeat)
        for sel in primer:  # also the warm-up: imports, thread pools, connections
            verify(self.peer.read(arr, sel), data[sel], f"primer {sel}")
        for sels in runs:
            outs = self.meter.run(lambda s=sels: [self.peer.read(arr, sel) for sel in s])
            for out, sel in zip(outs, sels, strict=True):
                verify(out, data[sel], f"chunk {sel}")
        return self.meter.result()

    def window(self) -> dict[str, Any]:
        return self._fresh_reads(window(self.layout))

    def read(self) -> dict[str, Any]:
        return self._fresh_reads(EVERYTHING)

    def _fresh_reads(self, sel: tuple[Any, ...]) -> dict[str, Any]:
        """Open (untimed), then time one read; a fresh open each run, the first run untimed."""
        expected = make_data(self.layout)[sel]
        for run in range(self.args.repeat + 1):
            arr = self.peer.open_http(self.url)
            out = self.meter.run(lambda a=arr: self.peer.read(a, sel), record=run > 0)
            verify(out, expected, f"{self.args.op} {sel}")
        return self.meter.result()

    def faults(self) -> dict[str, Any]:
        """Window reads against a faulty server: how many gave right values, errors, wrong ones;
        each after the same read without faults (``clean``: their times), so that both sides
        of the comparison share the machine's load of the moment."""
        sel = window(self.layout)
        expected = make_data(self.layout)[sel]
        planned = self.meter.server.settings()
        outcomes, messages, clean = [], [], []
        for run in range(self.args.repeat):
            self.meter.server.configure(faults=[])
            arr = self.peer.open_http(self.url)
            start = time.perf_counter()
            verify(self.peer.read(arr, sel), expected, "window without faults")
            clean.append(time.perf_counter() - start)
            self.meter.server.configure(faults=planned.faults, seed=planned.seed + run)
            arr = self.peer.open_http(self.url)
            outcome, message = judge(self.meter.run(lambda a=arr: self._try_read(a, sel)), expected)
            outcomes.append(outcome)
            messages += [message] if message else []
        return self.meter.result(outcomes=outcomes, messages=messages[:3], clean=clean)

    def _try_read(self, arr: Any, sel: Selection) -> np.ndarray | Exception:
        try:
            return self.peer.read(arr, sel)
        except Exception as e:
            return e

    def write(self) -> dict[str, Any]:
        data = make_data(self.layout)
        for run in range(self.args.repeat):
            target = self.s3.under(f"w{run}")

            def create_and_write(t: S3Target = target) -> None:
                self.peer.write(self.peer.create_s3(t, self.layout), EVERYTHING, data)

            self.meter.run(create_and_write)
            verify(self.peer.read(self.peer.open_s3(target), EVERYTHING), data, "write")
        return self.meter.result()

    def concurrent(self) -> dict[str, Any]:
        """4 writer processes, disjoint unaligned tiles sharing chunks; counts the tiles lost."""
        lay = self.layout.tiles()
        lost, errors = [], []
        for run in range(self.args.repeat):
            target = self.s3.under(f"c{run}")
            self.peer.create_s3(target, lay)
            self.meter.server.reset_stats()
            reports = self._race(target)
            self.meter.record(max(r["seconds"] for r in reports))
            final = self.peer.read(self.peer.open_s3(target), EVERYTHING)
            # Every value belongs to exactly one tile; a tile is lost when any of it is not its own.
            lost.append(
                sum(not np.all(final[s] == tile_value(i)) for i, s in enumerate(tiles(lay)))
            )
            errors.append(sum(r["errors"] for r in reports))
        return self.meter.result(lost=lost, errors=errors, tiles=len(tiles(lay)))

    def _race(self, target: S3Target) -> list[dict[str, Any]]:
        """Start the writers, let them open the array, then release them at once."""
        module = sys.modules["__main__"].__spec__.name  # type: ignore[union-attr]
        command = [sys.executable, "-m", module, *self._argv(op="tiles")]
        command += ["--s3", json.dumps(asdict(target))]
        popen = subprocess.Popen
        writers = [
            popen(
                [*command, f"--writer={i}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(WRITERS)
        ]
        try:
            for w in writers:
                line = w.stdout.readline().strip()  # type: ignore[union-attr]
                if line != "ready":
                    raise RuntimeError(f"a writer failed before it was ready: {line[-300:]}")
            for w in writers:
                w.stdin.write("go\n")  # type: ignore[union-attr]
                w.stdin.flush()  # type: ignore[union-attr]
            return [json.loads(w.stdout.readline()) for w in writers]  # type: ignore[union-attr]
        except BaseException:
            for w in writers:  # none may start writing once the run has failed
                w.kill()
            raise
        finally:
            for w in writers:
                w.wait()

    def tiles(self) -> dict[str, Any]:
        """One writer of ``concurrent``: its tiles (i % 4 == writer) in a seeded random order."""
        lay = self.layout.tiles()
        arr = self.peer.open_s3(self.s3)
        print("ready", flush=True)
        sys.stdin.readline()
        mine = [i for i in range(len(tiles(lay))) if i % WRITERS == self.args.writer]
        order = np.random.default_rng(self.args.writer).permutation(mine)
        errors, start = 0, time.perf_counter()
        for i in order:
            sel = tiles(lay)[i]
            shape = tuple(s.stop - s.start for s in sel)
            try:
                self.peer.write(arr, sel, np.full(shape, tile_value(int(i)), "float32"))
            except Exception:
                errors += 1
        return {"seconds": time.perf_counter() - start, "errors": errors}

    def _argv(self, **changes: Any) -> list[str]:
        args = {**vars(self.args), **changes}
        argv = [f"--{k}={v}" for k, v in args.items() if k not in ("quick", "s3", "writer")]
        return argv + (["--quick"] if args["quick"] else [])


def judge(got: np.ndarray | Exception, expected: np.ndarray) -> tuple[str, str]:
    """``(outcome, message)`` of a read: right, wrong (values) or error (raised)."""
    if isinstance(got, Exception):
        return "error", f"{type(got).__name__}: {got}"[:300]
    try:
        verify(got, expected, "window")
    except WrongData as e:
        return "wrong", str(e)
    return "right", ""


def main(peer_class: type[RemotePeer]) -> None:
    parser = argparse.ArgumentParser(description="Run one op of the object-store suite.")
    parser.add_argument("--op", required=True, choices=[*OPS, "faults", "tiles"])
    parser.add_argument("--layout", required=True)
    parser.add_argument("--control", required=True, help="URL of the server that counts")
    parser.add_argument("--http", default="", help="object server URL (reads)")
    parser.add_argument("--s3", default="{}", help="S3Target as JSON (writes)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--writer", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    peer = peer_class()
    bench = Bench(peer, args)
    try:
        result = getattr(bench, args.op)()
    except WrongData as e:
        result = {"status": "wrong", "message": str(e)}
    except Exception as e:
        result = {"status": "error", "message": f"{type(e).__name__}: {e}"[:300]}
    print(json.dumps({"version": peer.version(), **result}), flush=True)
