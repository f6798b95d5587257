"""G4 on object stores: writer processes sharing chunks, shards, attributes and consolidated
metadata lose nothing on S3 (moto served on one thread, where conditional writes are atomic
as on S3) and Azure (Azurite), because every read-modify-write there is conditional on the
version it read and retried on conflict; also through 30% of transient faults (issue 18),
PUTs applied but unanswered included. A control run without conditional writes loses
updates, so the oracle can fail.

Oracles are :mod:`reliability.writers`' (element ownership); attributes and consolidated
metadata are checked key by key. Trial counts are printed in the reliability figures.
"""

from __future__ import annotations

from optional import module_needs

module_needs("dask", "moto", "obstore")

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
from storage.conftest import (  # noqa: F401 - fixtures
    azure_options,
    azurite_server,
    moto_single_server,
    server_dir,
)
from storage.servers import s3_bucket

import zarrkit
from reliability.conftest import record, scaled
from reliability.writers import check_ownership, create, own_elements
from zarrkit.integrations.dask import store_dask
from zarrkit.storage.object import ObjectStore
from zarrkit.testing.fault_proxy import FaultProxy
from zarrkit.testing.faults import Fault

SPAWN = multiprocessing.get_context("spawn")
BACKENDS = ["s3", "azure"]
WRITERS = 3


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[ProcessPoolExecutor, Any]]:
    """Writer processes (spawned once for the module: starting them is the slow part) and a
    manager for the barriers that release them together."""
    with ProcessPoolExecutor(WRITERS, mp_context=SPAWN) as pool, SPAWN.Manager() as manager:
        yield pool, manager


def run_together(workers: Any, call: Callable[..., Any], jobs: list[tuple[Any, ...]]) -> list[Any]:
    """``call(barrier, *job)`` for each job, one per writer process, released together."""
    pool, manager = workers
    start = manager.Barrier(len(jobs))
    return list(pool.map(call, *zip(*[(start, *job) for job in jobs], strict=True)))


@pytest.fixture(scope="module")
def s3_single_options(request):
    return s3_bucket(request.getfixturevalue("moto_single_server"), f"w-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def target(request, s3_single_options) -> tuple[str, dict[str, Any]]:
    """``(url, storage_options)`` of a fresh prefix on the backend the test names."""
    if request.param == "s3":
        bucket, options = s3_single_options
        return f"s3://{bucket}/{uuid.uuid4().hex}", options
    container, options = request.getfixturevalue("azure_options")
    return f"az://{container}/{uuid.uuid4().hex}", options


def open_store(url: str, options: dict[str, Any], conditional: bool = True) -> ObjectStore:
    return ObjectStore(url, conditional_writes=conditional, **options)


# --- entry points of the spawned writers ------------------------------------------------------
def write_own_elements(
    start: Any,
    url: str,
    options: dict[str, Any],
    layout: str,
    writer: int,
    writers: int,
    writes: int,
    cas: bool,
) -> Any:
    array = zarrkit.open_array(open_store(url, options, cas), path=layout)
    start.wait()  # all writers open, then write together
    return own_elements(array, writer, writers, writes, seed=writer)


def write_attributes(
    start: Any, url: str, options: dict[str, Any], path: str, writer: int, writes: int
) -> None:
    node = zarrkit.open(open_store(url, options), path=path)
    start.wait()
    for i in range(writes):
        node.attrs[f"w{writer}-{i}"] = i  # each change a read-modify-write of the document


# --- chunks and shards ----------------------------------------------------------------------
@pytest.mark.parametrize("target", BACKENDS, indirect=True)
@pytest.mark.parametrize("layout", ["chunk", "shard", "grid"])
def test_processes_sharing_chunks_and_shards_lose_no_update(target, layout: str, workers) -> None:
    url, options = target
    writes, trials = scaled(6, 20), scaled(2, 5)
    lost = lost_in_trials(workers, url, options, layout, writes, trials)
    name = f"object store processes {url.split(':')[0]} {layout}"
    record(name, {"trials": trials, "writes": trials * WRITERS * writes, "lost": lost})
    assert lost == [0] * trials


def lost_in_trials(
    workers: Any, url: str, options: dict[str, Any], layout: str, writes: int, trials: int
) -> list[int]:
    """Elements lost in each trial of the writers writing their own elements together."""
    lost = []
    for trial in range(trials):
        path = f"{layout}{trial}"
        create(open_store(url, options), layout, path=path)
        jobs = [(url, options, path, w, WRITERS, writes, True) for w in range(WRITERS)]
        models = dict(enumerate(run_together(workers, write_own_elements, jobs)))
        array = zarrkit.open_array(open_store(url, options), path=path)
        lost.append(check_ownership(array, models, WRITERS))
    return lost


@pytest.mark.parametrize("target", ["s3"], indirect=True)
def test_without_conditional_writes_processes_do_lose_updates(target, workers) -> None:
    # The oracle can fail: the same writers with conditional writes off lose updates.
    url, options = target
    create(open_store(url, options), "chunk", path="chunk")
    jobs = [(url, options, "chunk", w, WRITERS, 12, False) for w in range(WRITERS)]
    models = dict(enumerate(run_together(workers, write_own_elements, jobs)))
    array = zarrkit.open_array(open_store(url, options), path="chunk")
    lost = check_ownership(array, models, WRITERS)
    record("object store processes without conditional writes", {"lost": lost})
    assert lost > 0


@pytest.fixture(scope="module")
def faulty_s3(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, Any], FaultProxy]]:
    """``(url, storage_options, proxy)``: S3 reached through the fault proxy, 30% of the
    requests failing (503, 429, resets, bodies cut short, PUTs applied but unanswered)."""
    with FaultProxy(request.getfixturevalue("moto_single_server")) as proxy:
        bucket, options = s3_bucket(proxy.url, f"f-{uuid.uuid4().hex[:8]}")
        proxy.configure(faults=FAULTS, seed=18)
        options = {**options, "retry_backoff": 0.005, "retry_max_backoff": 0.05}
        yield f"s3://{bucket}/{uuid.uuid4().hex}", options, proxy


FAULTS = [
    Fault(kind="503", rate=0.08),
    Fault(kind="429", rate=0.04),
    Fault(kind="reset", rate=0.06),
    Fault(kind="truncate", rate=0.04),
    Fault(kind="lose-put", rate=0.08),
]


@pytest.mark.parametrize("layout", ["chunk", "shard"])
def test_processes_writing_through_30_percent_faults_lose_no_update(
    faulty_s3, layout: str, workers
) -> None:
    url, options, proxy = faulty_s3
    writes, trials = scaled(5, 20), scaled(1, 4)
    proxy.reset_stats()
    lost = lost_in_trials(workers, url, options, layout, writes, trials)
    stats = proxy.stats()
    faults = sum(stats.faults.values())
    name = f"object store processes through 30% faults {layout}"
    writes_made = trials * WRITERS * writes
    figures = {"trials": trials, "writes": writes_made, "requests": stats.total}
    record(name, {**figures, "faults": faults, "lost": lost})
    assert lost == [0] * trials
    # the writers met the faults: about a fifth of their requests drew one (a fixed count
    # of 10 failed now and then: 8 to 31 faults were seen in 75-90 requests)
    assert faults >= max(1, stats.total // 20)


# --- attributes and consolidated metadata -------------------------------------------------------
@pytest.mark.parametrize("target", BACKENDS, indirect=True)
def test_processes_changing_attributes_lose_none(target, workers) -> None:
    url, options = target
    writes, trials = scaled(5, 15), scaled(2, 4)
    missing = []
    for trial in range(trials):
        path = f"attrs{trial}"
        zarrkit.create_array(open_store(url, options), name=path, shape=(4,), dtype="i1")
        run_together(
            workers, write_attributes, [(url, options, path, w, writes) for w in range(WRITERS)]
        )
        attrs = zarrkit.open_array(open_store(url, options), path=path).attrs.asdict()
        expected = {f"w{w}-{i}": i for w in range(WRITERS) for i in range(writes)}
        missing.append(sum(attrs.get(k) != v for k, v in expected.items()))
    name = f"object store attributes {url.split(':')[0]}"
    record(name, {"trials": trials, "changes": trials * WRITERS * writes, "lost": missing})
    assert missing == [0] * trials


@pytest.mark.parametrize("target", BACKENDS, indirect=True)
def test_processes_updating_one_consolidation_lose_no_entry(target, workers) -> None:
    # Each writer changes the attributes of its own array; every change rewrites the entry
    # of that array in the group's consolidated metadata, a document all writers share.
    url, options = target
    writes, trials = scaled(4, 10), scaled(2, 4)
    missing = []
    for trial in range(trials):
        root = zarrkit.open_group(open_store(url, options), path=f"tree{trial}", mode="w")
        for w in range(WRITERS):
            root.create_array(f"a{w}", shape=(4,), dtype="i1")
        zarrkit.consolidate_metadata(open_store(url, options), path=f"tree{trial}")
        jobs = [(url, options, f"tree{trial}/a{w}", w, writes) for w in range(WRITERS)]
        run_together(workers, write_attributes, jobs)
        group = zarrkit.open_consolidated(open_store(url, options), path=f"tree{trial}")
        entries = [(w, i) for w in range(WRITERS) for i in range(writes)]
        missing.append(sum(group[f"a{w}"].attrs.get(f"w{w}-{i}") != i for w, i in entries))
    name = f"object store consolidated metadata {url.split(':')[0]}"
    record(name, {"trials": trials, "changes": trials * WRITERS * writes, "lost": missing})
    assert missing == [0] * trials


# --- Dask ----------------------------------------------------------------------------------------
SOURCE = np.arange(60 * 50, dtype="i8").reshape(60, 50)


@pytest.mark.parametrize("target", BACKENDS, indirect=True)
@pytest.mark.parametrize("layout", ["chunks", "shards"])
def test_dask_processes_writing_unaligned_blocks_lose_nothing(target, layout: str, workers) -> None:
    url, options = target
    shape = {"chunks": (8, 8)} if layout == "chunks" else {"chunks": (4, 5), "shards": (12, 10)}
    array = zarrkit.create_array(
        open_store(url, options), shape=SOURCE.shape, dtype="i8", fill_value=-1, **shape
    )
    blocks = da.from_array(SOURCE, chunks=(7, 9))  # shares every chunk and shard
    with dask.config.set(scheduler="processes", pool=workers[0]):
        store_dask(blocks, array, align="lock")  # process-local locks: conditional writes do it
    np.testing.assert_array_equal(zarrkit.open_array(open_store(url, options))[...], SOURCE)
