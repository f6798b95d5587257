"""Smoke test of the benchmark harness: it runs, times every op and verifies what it read.

Speed is never asserted here; only that each timing exists and each result was checked.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from optional import needs

from benchmarks import workloads
from benchmarks.child import Bench, Peer, WrongData, verify

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
            assert isinstance(entry["median"], float) and entry["median"] > 0, where
            assert entry["cpu_median"] > 0, where
        assert r["peak_rss_mb"] > 0
    assert "zarrkit" in done.stdout and "limit (codec lib)" in done.stdout


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
