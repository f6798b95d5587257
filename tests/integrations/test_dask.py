"""Dask: lazy reads, and writes that never lose data, on threads and on a process cluster."""

from __future__ import annotations

import pickle
from pathlib import Path

from optional import module_needs

module_needs("dask", "distributed")

import dask
import dask.array as da
import distributed
import numpy as np
import pytest

import zarrkit
from zarrkit.errors import ChunkAlignmentError, ShapeMismatchError
from zarrkit.integrations.dask import (
    _on_distributed_worker,
    aligned_chunks,
    misaligned,
    store_dask,
)
from zarrkit.storage import LatencyStore, LocalStore

DATA = np.arange(40 * 30, dtype="f8").reshape(40, 30)


@pytest.fixture
def stored(tmp_path: Path) -> zarrkit.Array:
    array = zarrkit.create_array(tmp_path / "a.zarr", shape=DATA.shape, chunks=(8, 7), dtype="f8")
    array[...] = DATA
    return array


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


# --- reading -----------------------------------------------------------------------------------


def test_to_dask_blocks_are_the_chunks(stored: zarrkit.Array) -> None:
    d = stored.to_dask()
    assert d.chunks == ((8,) * 5, (7, 7, 7, 7, 2))
    assert d.dtype == stored.dtype
    with dask.config.set(scheduler="threads"):
        assert np.array_equal(d.compute(), DATA)
        assert float(d.mean().compute()) == DATA.mean()


def test_sharded_arrays_align_to_shards(tmp_path: Path) -> None:
    array = zarrkit.create_array(
        tmp_path / "s.zarr", shape=(24, 24), chunks=(4, 4), shards=(8, 12), dtype="i4"
    )
    assert array.to_dask().chunks == ((8, 8, 8), (12, 12))
    by_chunks = da.ones((24, 24), chunks=(4, 4), dtype="i4")  # several blocks per shard
    with pytest.raises(ChunkAlignmentError, match=r"axis 0: .* \(chunk length 8\)"):
        store_dask(by_chunks, array, align="error")
    with dask.config.set(scheduler="threads"):
        store_dask(by_chunks, array)
    assert array[...].sum() == 24 * 24


def test_to_dask_names_are_deterministic(stored: zarrkit.Array) -> None:
    assert stored.to_dask().name == stored.to_dask().name
    assert stored.to_dask().name != stored.to_dask(chunks=(4, 4)).name


def test_dask_from_array_reads_directly(stored: zarrkit.Array) -> None:
    d = da.from_array(stored, chunks=(9, 11))
    rows = np.array([5, 0, 39, 12])
    with dask.config.set(scheduler="threads"):
        assert np.array_equal(d[rows].compute(), DATA[rows])
        assert np.array_equal(d[rows][:, [1, 29]].compute(), DATA[rows][:, [1, 29]])
        assert np.array_equal(d[d[:, 0] > 600].compute(), DATA[DATA[:, 0] > 600])
        assert np.array_equal(d[::-3, 2:20:4].compute(), DATA[::-3, 2:20:4])
        assert d[3, 4].compute() == DATA[3, 4]


def test_arrays_pickle_for_workers(stored: zarrkit.Array) -> None:
    clone = pickle.loads(pickle.dumps(stored.to_dask()))
    with dask.config.set(scheduler="sync"):
        assert np.array_equal(clone.compute(), DATA)


# --- alignment helpers --------------------------------------------------------------------------


def test_aligned_chunks_moves_each_boundary_to_the_nearest_chunk_boundary() -> None:
    assert aligned_chunks(((7, 7, 7, 7), (30,)), (5, 10)) == ((5, 10, 5, 8), (30,))
    # blocks smaller than a chunk merge; the partial last chunk is fine as is
    assert aligned_chunks(((2,) * 6,), (5,)) == ((5, 5, 2),)
    assert aligned_chunks(((0,),), (5,)) == ((0,),)


def test_alignment_of_blocks_starting_inside_the_array() -> None:
    # blocks written from element 4 on: their boundaries count from there
    assert aligned_chunks(((3, 3),), (5,), offset=(4,)) == ((1, 5),)
    assert aligned_chunks(((6, 6),), (5,), offset=(4,)) == ((6, 6),)
    assert misaligned(((6, 6),), (5,), (20,), offset=(4,)) == []
    (problem,) = misaligned(((5, 5),), (5,), (20,), offset=(4,))
    assert "block boundaries [9] fall inside stored chunks [1]" in problem


def test_misaligned_names_the_boundaries_and_chunks() -> None:
    assert misaligned(((10, 10, 3), (7, 7)), (5, 7), (23, 14)) == []
    (problem,) = misaligned(((6, 6, 6), (14,)), (5, 7), (18, 14))
    assert problem == (
        "axis 0: block boundaries [6, 12] fall inside stored chunks [1, 2] (chunk length 5)"
    )


# --- writing on threads -------------------------------------------------------------------------


@pytest.fixture
def slow_target(tmp_path: Path) -> zarrkit.Array:
    """A target whose read-modify-writes are slow, so unsynchronized writers to one chunk
    overlap (and lose data) nearly every time."""
    store = LatencyStore(LocalStore(tmp_path / "slow.zarr"), latency=0.002)
    return zarrkit.create_array(store, shape=(300,), chunks=(10,), dtype="i8")


MISALIGNED = da.arange(300, chunks=7)


def test_plain_misaligned_dask_store_is_exact(slow_target: zarrkit.Array) -> None:
    # Without store_dask's alignment, blocks share chunks and their writers race on each
    # read-modify-write; the engine's per-chunk locks keep every update anyway.
    with dask.config.set(scheduler="threads", num_workers=8):
        da.store(MISALIGNED, slow_target, lock=False)
    assert np.array_equal(slow_target[...], np.arange(300))


@pytest.mark.parametrize("align", ["rechunk", "lock"])
def test_misaligned_writes_are_exact_on_threads(slow_target: zarrkit.Array, align: str) -> None:
    with dask.config.set(scheduler="threads", num_workers=8):
        store_dask(MISALIGNED, slow_target, align=align)  # type: ignore[arg-type]
    assert np.array_equal(slow_target[...], np.arange(300))


@pytest.mark.parametrize("align", ["rechunk", "lock", "error"])
def test_store_dask_into_a_region(slow_target: zarrkit.Array, align: str) -> None:
    slow_target[...] = -1
    source = da.arange(100, 187, chunks=20)  # block boundaries at 120, 140 ... (aligned)
    with dask.config.set(scheduler="threads", num_workers=8):
        store_dask(source, slow_target, region=(slice(100, 187),), align=align)  # type: ignore[arg-type]
        expected = np.full(300, -1)
        expected[100:187] = np.arange(100, 187)
        assert np.array_equal(slow_target[...], expected)
        shifted = da.arange(103, 190, chunks=20)  # boundaries at 123, 143 ...
        if align == "error":
            with pytest.raises(ChunkAlignmentError, match=r"boundaries \[123, 143"):
                store_dask(shifted, slow_target, region=(slice(103, 190),), align="error")
            return
        store_dask(shifted, slow_target, region=(slice(103, 190),), align=align)  # type: ignore[arg-type]
    expected[103:190] = np.arange(103, 190)
    assert np.array_equal(slow_target[...], expected)
    with pytest.raises(ShapeMismatchError, match=r"the region \(slice\(0, 5, None\),\)"):
        store_dask(shifted, slow_target, region=(slice(0, 5),))
    with pytest.raises(ValueError, match="step 1"):
        store_dask(da.zeros(3), slow_target, region=(slice(0, 6, 2),))


def test_error_mode_refuses_misaligned_writes(slow_target: zarrkit.Array) -> None:
    with pytest.raises(ChunkAlignmentError, match=r"boundaries \[7, 14, 21.*chunk length 10"):
        store_dask(MISALIGNED, slow_target, align="error")
    assert slow_target.nchunks_initialized == 0
    store_dask(da.arange(300, chunks=20), slow_target, align="error")  # aligned: fine
    assert slow_target[299] == 299


def test_store_dask_checks_shape_and_mode(stored: zarrkit.Array) -> None:
    with pytest.raises(ShapeMismatchError, match=r"shape \(3,\).*\(40, 30\)"):
        store_dask(da.zeros(3), stored)
    with pytest.raises(ValueError, match="align must be one of"):
        store_dask(da.zeros(DATA.shape), stored, align="maybe")  # type: ignore[arg-type]


def test_from_dask_creates_and_writes(tmp_path: Path) -> None:
    source = da.from_array(DATA, chunks=(10, 15))
    with dask.config.set(scheduler="threads"):
        array = zarrkit.from_dask(source, tmp_path / "b.zarr", zarr_format=2)
        assert (array.zarr_format, array.chunks) == (2, (10, 15))
        assert np.array_equal(array[...], DATA)
        other = zarrkit.from_dask(source, tmp_path / "c.zarr", chunks=(4, 4), align="lock")
        assert np.array_equal(other[...], DATA)


def test_store_dask_compute_false_returns_a_delayed(stored: zarrkit.Array) -> None:
    delayed = store_dask(da.zeros(DATA.shape, chunks=(16, 14)), stored, compute=False)
    assert stored[0, 1] == 1
    with dask.config.set(scheduler="threads"):
        delayed.compute()
    assert not stored[...].any()


# --- a process cluster --------------------------------------------------------------------------
# One test, so that under pytest-xdist a single worker starts the (slow) cluster.


@pytest.mark.slow  # starts a process cluster
def test_on_a_process_cluster(client, stored: zarrkit.Array, tmp_path: Path) -> None:
    d = stored.to_dask()
    assert client.compute(d.mean()).result() == DATA.mean()
    result = zarrkit.from_dask(d * 2 + 1, tmp_path / "out.zarr")
    assert np.array_equal(result[...], DATA * 2 + 1)
    # align="lock" takes distributed.Lock-s on workers, process-local locks elsewhere
    assert client.submit(_on_distributed_worker, pure=False).result()
    assert not _on_distributed_worker()
    for align in ("rechunk", "lock"):
        target = zarrkit.create_array(
            tmp_path / f"{align}.zarr", shape=(300,), chunks=(10,), dtype="i8"
        )
        store_dask(MISALIGNED, target, align=align)  # type: ignore[arg-type]
        assert np.array_equal(target[...], np.arange(300)), align
