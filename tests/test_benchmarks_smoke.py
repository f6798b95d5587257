"""Smoke test of the benchmark harness: it runs, times every op and verifies what it read.

Speed is never asserted here; only that each timing exists and each result was checked.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from optional import needs

from benchmarks import workloads
from benchmarks.child import Bench, Peer, WrongData, verify
from benchmarks.peer_process import PeerProcess
from benchmarks.run import measure_op, measure_workload, round_order

pytestmark = pytest.mark.slow  # runs every benchmark once

REPO = Path(__file__).resolve().parents[1]


def test_quick_run_times_and_verifies_every_op(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--repeat", "1"]
    command += ["--workloads", "W1,W3", "--peers", "zarrkit,limit", "--json", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())["results"]
    assert {(r["peer"], r["workload"]) for r in results} == {
        (p, w) for p in ("zarrkit", "limit") for w in ("W1", "W3")
    }
    for r in results:
        expected_ops = {"W1": {"write", "read"}, "W3": {"overwrite", "read"}}[r["workload"]]
        assert set(r["ops"]) == expected_ops
        for op, entry in r["ops"].items():
            where = f"{r['peer']} {r['workload']} {op}"
            assert entry["status"] == "ok", f"{where}: {entry.get('message')}"
            assert entry["verified"] is True, where
            assert len(entry["times"]) == len(entry["cpu_times"]) == 1, where
            assert isinstance(entry["median"], float) and entry["median"] > 0, where
            assert entry["cpu_median"] > 0, where
        assert r["peak_rss_mb"] > 0
    assert "zarrkit" in done.stdout and "limit (codec lib)" in done.stdout


@pytest.mark.parametrize("reader", ["zarrkit", "zp3", "ts", "numpy"])
def test_memory_reports_each_readers_peak_of_a_full_read(tmp_path: Path, reader: str) -> None:
    needs(*{"zp3": ["zarr"], "ts": ["tensorstore"]}.get(reader, []))
    command = [sys.executable, "-m", "benchmarks.memory", "--quick", "--dir", str(tmp_path / "a")]
    setup = subprocess.run([*command, "--setup"], cwd=REPO, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    done = subprocess.run([*command, "--peer", reader], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # W1 quick: 1024 x 1024 float64, 8 MiB; every reader holds it at its peak, plus a few
    # MiB of chunks in flight (not the peak of pytest's process, which forked the reader)
    assert done.stdout.startswith(f"{reader}: output 8 MiB;"), done.stdout
    after_open = float(done.stdout.split("RSS after open ")[1].split()[0])
    peak = float(done.stdout.split("peak after the read ")[1].split()[0])
    assert 7 <= peak - after_open <= 20, done.stdout


def test_verify_rejects_wrong_values_and_shapes() -> None:
    source = np.arange(12.0).reshape(3, 4)
    verify(source.copy(), source, "same")
    wrong = source.copy()
    wrong[1, 2] = -1
    with pytest.raises(WrongData, match="1 of 12 values differ"):
        verify(wrong, source, "one value")
    with pytest.raises(WrongData, match="expected float64"):
        verify(source.T, source, "transposed")


def test_remote_quick_run_times_counts_and_verifies_every_op(tmp_path: Path) -> None:
    """The object-store suite end to end for zarrkit: object server, moto, proxy, 4 writers."""
    needs("zarr", "obstore", "moto")  # the suite imports zarr-python; its stores need obstore
    out = tmp_path / "remote.json"
    command = [sys.executable, "-m", "benchmarks.remote", "--quick", "--repeat", "1"]
    command += ["--write-repeat", "1", "--peers", "zarrkit", "--layouts", "sharded"]
    command += ["--latency", "0.001", "--json", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = {r["op"]: r for r in json.loads(out.read_text())["results"]}
    assert set(results) == {"cold", "warm", "window", "read", "faults", "write", "concurrent"}
    for op, r in results.items():
        assert r["status"] == "ok", f"{op}: {r.get('message')}"
        assert len(r["times"]) == len(r["requests"]) >= 1, op
        assert all(t > 0 for t in r["times"]) and all(n > 0 for n in r["requests"]), op
    assert len(results["faults"]["outcomes"]) == len(results["faults"]["clean"]) == 1
    assert sum(results["faults"]["faults"]) > 0  # the server did inject faults
    assert 0 <= results["concurrent"]["lost"][0] <= results["concurrent"]["tiles"] == 49
    assert "| open + one inner chunk (cold) (sharded) |" in done.stdout


@pytest.mark.parametrize("sharded", [False, True], ids=["chunked", "sharded"])
@pytest.mark.parametrize("peer", ["zarrkit_peer", "limit", "zp3", "ts"])
def test_row_batches_are_read_and_verified_by_every_peer(
    peer: str, sharded: bool, tmp_path: Path
) -> None:
    module = importlib.import_module(f"benchmarks.peers.{peer}")
    peer_class = next(
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Peer) and v is not Peer
    )
    wl = dataclasses.replace(
        workloads.get("W9s" if sharded else "W9"),
        shape=(5000, 16),
        chunks=(500, 16),
        shards=(2500, 16) if sharded else None,
        count=3,
    )
    result = Bench(peer_class(), wl, tmp_path).run("batches", repeat=1)
    assert result["status"] == "ok", result.get("message")
    assert result["verified"] is True and len(result["times"]) == 1


def test_batches_are_distinct_rows_in_random_order() -> None:
    wl = workloads.get("W9")
    batches = workloads.batches(wl)
    assert len(batches) == wl.count
    for rows in batches:
        assert len(set(rows.tolist())) == workloads.BATCH_ROWS
        assert rows.min() >= 0 and rows.max() < wl.shape[0]
    assert not all((np.diff(rows) > 0).all() for rows in batches)


class MemoryPeer(Peer):
    """Arrays as NumPy arrays in memory, one per path: the child protocol without a library."""

    arrays: dict[Path, np.ndarray]

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.arrays = {}

    def version(self) -> str:
        return "memory 1"

    def create(self, path: Path, wl: workloads.Workload) -> np.ndarray:
        self.arrays[path] = np.zeros(wl.shape, wl.dtype)
        return self.arrays[path]

    def open(self, path: Path, wl: workloads.Workload) -> np.ndarray:
        return self.arrays[path]

    def vindex(self, arr: Any, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.asarray(arr[coords])


class InProcessChild:
    """A child answered by a :class:`Bench` in this process; notes every command it gets."""

    def __init__(self, name: str, wl: workloads.Workload, directory: Path, log: list[Any]) -> None:
        self.name, self.log = name, log
        self.bench = Bench(MemoryPeer(), wl, directory / name)

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        self.log.append((self.name, command["cmd"]))
        if command["cmd"] == "quit":
            return {"version": "memory 1", "peak_rss_mb": 1.0}
        return self.bench.answer(command["cmd"], command["op"])


SMALL = dataclasses.replace(workloads.get("W1"), shape=(64, 64), chunks=(32, 32))


def test_round_order_rotates_by_one_peer_each_round() -> None:
    peers = ["a", "b", "c"]
    orders = [round_order(peers, k) for k in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert peers == ["a", "b", "c"]  # not rotated in place


def test_peers_are_timed_round_by_round(tmp_path: Path) -> None:
    log: list[Any] = []
    children = {name: InProcessChild(name, SMALL, tmp_path, log) for name in ("a", "b", "c")}
    entries = measure_op("write", children, rounds=3)
    assert log == [
        *[(p, "prepare") for p in "abc"],
        *[(p, "time") for p in "abcbcacab"],
        *[(p, "finish") for p in "abc"],
    ]
    for entry in entries.values():
        assert entry["status"] == "ok" and entry["verified"] is True
        assert len(entry["times"]) == len(entry["cpu_times"]) == 3
        assert all(t > 0 for t in entry["times"])


def test_workload_results_hold_every_op_version_and_medians(tmp_path: Path) -> None:
    log: list[Any] = []
    children = {name: InProcessChild(name, SMALL, tmp_path, log) for name in ("a", "b")}
    results = measure_workload(SMALL, children, repeat=2)
    assert [(r["peer"], r["workload"], r["version"]) for r in results] == [
        ("a", "W1", "memory 1"),
        ("b", "W1", "memory 1"),
    ]
    for r in results:
        assert list(r["ops"]) == ["write", "read"]
        for entry in r["ops"].values():
            assert entry["status"] == "ok" and len(entry["times"]) == 2
            assert entry["median"] == statistics.median(entry["times"])
    assert log[-2:] == [("a", "quit"), ("b", "quit")]


def test_a_failing_op_drops_the_peer_from_its_remaining_rounds(tmp_path: Path) -> None:
    log: list[Any] = []
    children = {name: InProcessChild(name, SMALL, tmp_path, log) for name in ("a", "b")}
    writes: list[Any] = []

    def write(arr: Any, data: Any) -> None:  # the warm-up write of prepare passes, then fails
        writes.append(arr)
        if len(writes) > 1:
            raise ZeroDivisionError("division by zero")

    children["b"].bench.peer.write = write
    entries = measure_op("write", children, rounds=3)
    assert entries["b"] == {"status": "error", "message": "ZeroDivisionError: division by zero"}
    assert log.count(("b", "time")) == 1 and ("b", "finish") not in log
    assert len(writes) == 2  # prepare's warm-up write, then the failed timed one
    assert entries["a"]["status"] == "ok" and len(entries["a"]["times"]) == 3


def _child(tmp_path: Path, code: str, timeout: float = 30) -> PeerProcess:
    command = [sys.executable, "-c", code]
    return PeerProcess("fake", command, cwd=tmp_path, log=tmp_path / "fake.log", timeout=timeout)


CRASH = "import sys; sys.stdin.readline(); print('boom in the child', file=sys.stderr); sys.exit(3)"


def test_a_crashing_child_is_an_error_in_every_op_left_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    log: list[Any] = []
    with closing(_child(tmp_path, CRASH)) as crashing:
        children = {"good": InProcessChild("good", SMALL, tmp_path, log), "bad": crashing}
        results = measure_workload(SMALL, children, repeat=2)
        assert crashing.process.poll() == 3
    good, bad = results
    assert good["version"] == "memory 1" and "version" not in bad
    for op in ("write", "read"):
        assert good["ops"][op]["status"] == "ok" and len(good["ops"][op]["times"]) == 2
        message = bad["ops"][op]["message"]
        assert bad["ops"][op]["status"] == "error"
        assert "exited with code 3" in message and "boom in the child" in message


def test_a_child_past_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    with closing(_child(tmp_path, "import time; time.sleep(60)", timeout=0.5)) as sleeping:
        start = time.monotonic()
        answer = sleeping.ask({"cmd": "prepare", "op": "read"})
        assert time.monotonic() - start < 10
        assert sleeping.process.poll() is not None  # killed
    assert answer["status"] == "error"
    assert "no answer to {'cmd': 'prepare', 'op': 'read'} within 0.5 s" in answer["message"]


def test_a_child_printing_garbage_is_reported(tmp_path: Path) -> None:
    garbage = "import sys; sys.stdin.readline(); print('hello'); input()"
    with closing(_child(tmp_path, garbage)) as chatty:
        answer = chatty.ask({"cmd": "prepare", "op": "read"})
    assert answer["status"] == "error" and "JSONDecodeError" in answer["message"]


NOISY = """
import os
import numpy as np
from benchmarks.child import Peer, main

class Noisy(Peer):
    arrays = {}

    def version(self):
        return "noisy 1"

    def create(self, path, wl):
        print("a library's print")
        os.write(1, b"a C library's line\\n")
        self.arrays[path] = np.zeros(wl.shape, wl.dtype)
        return self.arrays[path]

    def open(self, path, wl):
        return self.arrays[path]

main(Noisy)
"""


def test_a_child_answers_on_stdout_while_libraries_print_to_stderr(tmp_path: Path) -> None:
    command = [sys.executable, "-c", NOISY, "--workload", "W1", "--dir", str(tmp_path / "a")]
    child = PeerProcess("noisy", [*command, "--quick"], cwd=REPO, log=tmp_path / "log", timeout=60)
    with closing(child):
        answers = [child.ask({"cmd": c, "op": "write"}) for c in ("prepare", "time", "finish")]
        assert answers[0] == answers[2] == {"status": "ok"}
        assert set(answers[1]) == {"status", "wall", "cpu", "sys", "faults"}
        assert answers[1]["wall"] > 0 and answers[1]["faults"] > 0
        assert child.ask({"cmd": "bogus", "op": "write"})["message"].startswith(
            "ValueError: unknown command 'bogus'"
        )
        assert child.ask({"cmd": "quit"})["version"] == "noisy 1"
        assert child.process.wait(timeout=30) == 0
    log = (tmp_path / "log").read_text()
    assert "a library's print" in log and "a C library's line" in log


def _children_of(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigterm_kills_the_children_and_removes_the_temp_dirs(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.run", "--workloads", "W1"]
    command += ["--peers", "zarrkit,limit"]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    driver = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    try:
        # a child's log is opened just before the child starts: wait for both children
        deadline = time.monotonic() + 60
        while (
            len(children := _children_of(driver.pid)) < 2
            or len(list(tmp_path.glob("zarrkit-bench-W1-*/*.log"))) < 2
        ):
            assert time.monotonic() < deadline, "the children did not start"
            time.sleep(0.05)
        assert len(children) == 2
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        driver.kill()
    # killed children vanish once reaped (by init, the driver having exited): a moment
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in children if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive
    # the workloads' files are gone; the mark of their removal stays, for the next run
    assert [p.name for p in tmp_path.iterdir()] == ["zarrkit-bench-removed"]
