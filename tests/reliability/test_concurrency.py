"""G3, G4: concurrent writers never lose an update, whether they share a chunk or a shard,
as threads of one process, as processes (LocalStore), or as Dask tasks.

Oracles are in :mod:`reliability.writers`: element ownership (exact) and linearizability
(overlapping writes with their time intervals).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from optional import optional

import zarrkit
from reliability.conftest import SOAK, record, scaled
from reliability.writers import (
    check_linearizable,
    check_ownership,
    create,
    overlapping,
    own_elements,
    process_overlapping,
    process_own_elements,
    process_own_elements_at,
)

dask = optional("dask")
da = optional("dask.array")
from zarrkit.storage import LocalStore, MemoryStore, Store

THREADS = 8


def make_store(kind: str, tmp_path: Any) -> Store:
    return MemoryStore() if kind == "memory" else LocalStore(tmp_path / "store")


@pytest.mark.parametrize("kind", ["memory", "local"])
@pytest.mark.parametrize("layout", ["chunk", "shard", "grid"])
def test_threads_sharing_a_chunk_or_shard_lose_no_update(kind: str, layout: str, tmp_path) -> None:
    array = create(make_store(kind, tmp_path), layout)
    writes = scaled(25, 200)
    with ThreadPoolExecutor(THREADS) as pool:
        models = dict(
            enumerate(
                pool.map(lambda w: own_elements(array, w, THREADS, writes, seed=w), range(THREADS))
            )
        )
    lost = check_ownership(zarrkit.open_array(array.store, path="a"), models, THREADS)
    record(f"threads own elements {kind} {layout}", {"writes": THREADS * writes, "lost": lost})
    assert lost == 0


@pytest.mark.parametrize("kind", ["memory", "local"])
@pytest.mark.parametrize("layout", ["chunk", "shard", "grid"])
def test_threads_overlapping_writes_are_linearizable(kind: str, layout: str, tmp_path) -> None:
    array = create(make_store(kind, tmp_path), layout)
    writes = scaled(20, 150)
    with ThreadPoolExecutor(THREADS) as pool:
        logs = pool.map(lambda w: overlapping(array, w, writes, seed=w), range(THREADS))
        log = [write for writer_log in logs for write in writer_log]
    bad = check_linearizable(zarrkit.open_array(array.store, path="a"), log)
    record(f"threads overlapping {kind} {layout}", {"writes": len(log), "unexplained": bad})
    assert bad == 0


def test_without_locks_threads_do_lose_updates(tmp_path, monkeypatch) -> None:
    # The oracle can fail: with the per-key locks disabled, the same run loses updates.
    from contextlib import nullcontext

    from zarrkit import locking

    monkeypatch.setattr(locking, "holding", lambda targets: nullcontext())
    array = create(MemoryStore(), "chunk")
    slow_decode = array._layout.pipeline.decode

    def decode(*args: Any, **kwargs: Any) -> Any:
        threading.Event().wait(0.001)  # widen the read-modify-write window
        return slow_decode(*args, **kwargs)

    monkeypatch.setattr(array._layout.pipeline, "decode", decode)
    with ThreadPoolExecutor(THREADS) as pool:
        models = dict(
            enumerate(
                pool.map(lambda w: own_elements(array, w, THREADS, 10, seed=w), range(THREADS))
            )
        )
    assert check_ownership(array, models, THREADS) > 0


SPAWN = multiprocessing.get_context("spawn")


@pytest.mark.parametrize("layout", ["chunk", "shard", "grid"])
def test_processes_sharing_a_chunk_or_shard_lose_no_update(layout: str, tmp_path) -> None:
    root = tmp_path / "store"
    create(LocalStore(root), layout, path=layout)
    writers, writes = scaled(3, 4), scaled(25, 150)
    with SPAWN.Pool(writers) as pool:
        jobs = [(str(root), layout, w, writers, writes) for w in range(writers)]
        models = dict(enumerate(pool.starmap(process_own_elements, jobs)))
    lost = check_ownership(zarrkit.open_array(LocalStore(root), path=layout), models, writers)
    record(f"processes own elements {layout}", {"writes": writers * writes, "lost": lost})
    assert lost == 0


@pytest.mark.parametrize("scheme", ["sqlite", "lmdb"])
def test_processes_on_databases_lose_no_update(scheme: str, tmp_path) -> None:
    # No lock reaches them here: every read-modify-write is conditional on the value's hash.
    url = f"sqlite:///{tmp_path}/data.db" if scheme == "sqlite" else f"lmdb://{tmp_path}/data"
    create(zarrkit.storage.make_store(url), "grid", path="grid")
    writers, writes = 3, scaled(15, 100)
    with SPAWN.Pool(writers) as pool, SPAWN.Manager() as manager:
        start = manager.Barrier(writers)
        jobs = [(start, url, "grid", w, writers, writes) for w in range(writers)]
        models = dict(enumerate(pool.starmap(process_own_elements_at, jobs)))
    lost = check_ownership(zarrkit.open_array(url, path="grid"), models, writers)
    record(f"processes own elements {scheme}", {"writes": writers * writes, "lost": lost})
    assert lost == 0


@pytest.mark.parametrize("layout", ["chunk", "shard"])
def test_processes_overlapping_writes_are_linearizable(layout: str, tmp_path) -> None:
    root = tmp_path / "store"
    create(LocalStore(root), layout, path=layout)
    writers, writes = scaled(3, 4), scaled(20, 100)
    with SPAWN.Pool(writers) as pool:
        logs = pool.starmap(
            process_overlapping, [(str(root), layout, w, writes) for w in range(writers)]
        )
    log = [write for writer_log in logs for write in writer_log]
    bad = check_linearizable(zarrkit.open_array(LocalStore(root), path=layout), log)
    record(f"processes overlapping {layout}", {"writes": len(log), "unexplained": bad})
    assert bad == 0


# --- Dask: blocks that do not line up with chunks or shards ---------------------------------
SOURCE = np.arange(60 * 50, dtype="i8").reshape(60, 50)


@pytest.mark.slow  # Dask schedulers, processes among them
@pytest.mark.parametrize(
    ("scheduler", "layout"),
    [
        ("threads", "chunks"),
        ("threads", "shards"),
        ("processes", "shards"),
        pytest.param(
            "processes",
            "chunks",
            marks=pytest.mark.skipif(
                not SOAK,
                reason="heavy run only (ZARRKIT_SOAK=1): the process scheduler is covered in CI "
                "by the shards case",
            ),
        ),
    ],
)
def test_dask_misaligned_blocks_lose_nothing(scheduler: str, layout: str, tmp_path) -> None:
    options = {"chunks": (8, 8)} if layout == "chunks" else {"chunks": (4, 5), "shards": (12, 10)}
    target = zarrkit.create_array(
        LocalStore(tmp_path / "store"), shape=SOURCE.shape, dtype="i8", fill_value=-1, **options
    )
    blocks = da.from_array(SOURCE, chunks=(7, 9))  # shares every chunk and shard
    with dask.config.set(scheduler=scheduler, num_workers=4):
        da.store(blocks, target, lock=False)
    np.testing.assert_array_equal(zarrkit.open_array(LocalStore(tmp_path / "store"))[...], SOURCE)
