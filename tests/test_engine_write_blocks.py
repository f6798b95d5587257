"""Whole shards written from a block of the source: encoded in bulk (``Merge.block``), with
the same bytes as chunk by chunk, and the cases that take the chunk-by-chunk path."""

import tracemalloc

import numpy as np
import pytest

import zarrkit
from zarrkit import config, indexing
from zarrkit.codecs.sharding.layout import EMPTY
from zarrkit.engine import reading, write_plan, writing
from zarrkit.storage import MemoryStore

SHAPE, CHUNKS, SHARDS = (32, 48), (4, 8), (16, 16)  # 2 x 3 shards of 4 x 2 inner chunks


@pytest.fixture
def blocks(monkeypatch):
    """Counts the shards :meth:`writing.Merge.block` encodes in bulk."""
    found = {"bulk": 0, "declined": 0}
    block = writing.Merge.block

    def counted(self, coords, grid):
        result = block(self, coords, grid)
        found["bulk" if result is not None else "declined"] += 1
        return result

    monkeypatch.setattr(writing.Merge, "block", counted)
    return found


def _array(shape=SHAPE, **kwargs):
    options = {"chunks": CHUNKS, "shards": SHARDS, "dtype": "f4", "fill_value": 0, **kwargs}
    return zarrkit.create_array(MemoryStore(), shape=shape, **options)


def _stored(array):
    store = array.store
    return {key: bytes(store.get(key)) for key in store.list() if key.startswith("c/")}


def _data(shape=SHAPE, dtype="f4"):
    return (np.arange(np.prod(shape)) % 97 + 1).astype(dtype).reshape(shape)


@pytest.mark.parametrize(
    "codecs",
    [
        {"compressors": {"name": "zstd", "configuration": {"level": 3}}},
        {"compressors": None},
        {"compressors": {"name": "gzip", "configuration": {"level": 1}}},
        {"compressors": None, "serializer": {"name": "bytes", "configuration": {"endian": "big"}}},
        {  # float64: NumPy's dtype("f8") == None is True, a trap for "is it plain" checks
            "dtype": "f8",
            "compressors": "zstd",
            "serializer": {"name": "bytes", "configuration": {"endian": "big"}},
        },
        {"filters": [{"name": "transpose", "configuration": {"order": [1, 0]}}]},
    ],
    ids=["zstd", "none", "gzip", "big-endian", "big-endian-zstd", "transpose"],
)
def test_whole_shards_are_encoded_in_bulk_into_the_bytes_chunk_by_chunk_gives(blocks, codecs):
    data = _data()
    bulk = _array(**codecs)
    bulk[...] = data
    assert blocks == {"bulk": 6, "declined": 0}
    by_chunk = _array(**codecs)
    by_chunk.oindex[np.arange(SHAPE[0]), :] = data  # index arrays: chunk by chunk
    assert blocks["declined"] == 6
    assert _stored(bulk) == _stored(by_chunk)
    np.testing.assert_array_equal(bulk[...], data)


def test_inner_chunks_of_fill_values_are_left_out_and_an_empty_shard_is_removed(blocks):
    array = _array()
    array[...] = 1  # a scalar: a block of the source too
    data = _data()
    data[:16, :16] = 0  # shard c/0/0 all fill value: removed
    data[16:20, 40:48] = 0  # one inner chunk of shard c/1/2: left out of it
    data[20, 0] = 0  # an inner chunk starting with the fill value, but not all of it
    array[...] = data
    assert blocks["bulk"] == 12
    assert "c/0/0" not in _stored(array)
    index = array.store.get("c/1/2")[-(8 * 2 * 8 + 4) : -4]
    offsets = np.frombuffer(index, "<u8").reshape(4, 2, 2)[..., 0]
    assert (offsets == EMPTY).sum() == 1 and offsets[0, 1] == EMPTY
    np.testing.assert_array_equal(array[...], data)


def test_write_empty_chunks_stores_inner_chunks_of_fill_values(blocks):
    array = _array(config={"write_empty_chunks": True})
    array[...] = 0
    assert blocks["bulk"] == 6 and len(_stored(array)) == 6
    index = array.store.get("c/0/0")[-(8 * 2 * 8 + 4) : -4]
    assert (np.frombuffer(index, "<u8")[::2] != EMPTY).all()


def test_nan_fill_leaves_out_inner_chunks_of_nan_only(blocks):
    array = _array(fill_value=np.nan)
    data = _data()
    data[:4, :8] = np.nan  # one inner chunk all NaN: left out
    data[4, 0] = np.nan  # NaN first, numbers after: stored
    array[...] = data
    assert blocks["bulk"] == 6
    index = array.store.get("c/0/0")[-(8 * 2 * 8 + 4) : -4]
    offsets = np.frombuffer(index, "<u8").reshape(4, 2, 2)[..., 0]
    assert offsets[0, 0] == EMPTY and (offsets != EMPTY).sum() == 7
    np.testing.assert_array_equal(array[...], data)


def test_edge_shards_and_partial_writes_go_chunk_by_chunk(blocks):
    shape = (30, 40)  # the last row and column of shards reach past the array's end
    array = _array(shape=shape)
    data = _data(shape)
    array[...] = data
    # c/0/0 and c/0/1 in bulk; c/1/0 and c/1/1 end in inner chunks cut by the array's end;
    # the shards of the last column, some of whose inner chunks lie past it, are not asked
    assert blocks == {"bulk": 2, "declined": 2}
    array[1:, :] = data[1:]  # no shard of the first row is covered whole
    np.testing.assert_array_equal(array[...], data)
    array[::1, ::2] = 5  # a step of 2 covers no chunk whole
    data[:, ::2] = 5
    np.testing.assert_array_equal(array[...], data)


@pytest.mark.parametrize(
    ("chunks", "compressors", "chunks_per_object", "workers"),
    [
        ((64, 64), None, 16, 3),  # shards
        ((256, 256), {"name": "zstd"}, 1, 3),  # 512 KiB compressed by an entropy coder
        ((256, 256), {"name": "gzip"}, 1, 3),
        ((256, 256), {"name": "blosc", "configuration": {"cname": "zstd"}}, 1, 3),
        ((256, 256), {"name": "blosc", "configuration": {"cname": "lz4"}}, 1, 6),
        ((256, 256), None, 1, 6),  # uncompressed: the file system's waits
        ((32, 32), {"name": "zstd"}, 1, 6),  # 8 KiB: a file per chunk outweighs its encoding
    ],
)
def test_write_threads_sizes_writes_that_encoding_bounds_threads_the_others(
    chunks, compressors, chunks_per_object, workers
):
    array = zarrkit.create_array(
        "memory://", shape=(512, 512), chunks=chunks, dtype="f8", compressors=compressors
    )
    with config.set(threads=6, write_threads=3):
        assert writing.write_workers(array._layout, chunks_per_object) == workers


def test_write_threads_none_restores_its_default():
    with config.set(write_threads=None):
        assert config.get("write_threads") == config.DEFAULTS["write_threads"]


def test_sharded_writes_and_reads_are_planned_by_shard_without_listing_inner_chunks(monkeypatch):
    array = _array()
    array[...] = _data()
    layout = array._layout
    plan = indexing.projection(indexing.normalize(np.s_[:, 5:], SHAPE), layout.dims)
    listed = []
    monkeypatch.setattr(indexing, "ChunkRead", lambda *fields: listed.append(fields))
    units = write_plan.units(layout, plan)
    fetched = reading._fetch_units(layout, plan)
    assert listed == []  # no object per inner chunk before the workers start
    # columns 5: are inner chunk columns 0-5, in shard columns 0-2; all 4 rows of each
    assert [keys for keys, _ in units] == [[f"c/{r}/{c}"] for r in (0, 1) for c in (0, 1, 2)]
    assert [len(block) for _, block in units] == [8] * 6
    assert [len(block) for block in fetched] == [8] * 6
    assert units[1][1].coords(0, 8) == [(r, c) for r in range(4) for c in (2, 3)]


def test_unsharded_writes_are_planned_in_runs_without_an_object_per_chunk(monkeypatch):
    """Chunks stored one a key are planned in runs along the last axis, with their keys in
    C order; small plans in runs of one chunk, so that they still split among workers."""
    small = _array(shards=None)
    plan = indexing.projection(indexing.normalize(np.s_[:6, :], SHAPE), small._layout.dims)
    units = write_plan.units(small._layout, plan)
    assert [keys for keys, _ in units] == [[f"c/{r}/{c}"] for r in (0, 1) for c in range(6)]
    assert [len(chunks) for _, chunks in units] == [1] * 12

    array = _array(shape=(64, 8 * 200), shards=None)  # 16 x 200 chunks
    layout = array._layout
    plan = indexing.projection(indexing.normalize(np.s_[4:, 8:], array.shape), layout.dims)
    listed = []
    monkeypatch.setattr(indexing, "ChunkRead", lambda *fields: listed.append(fields))
    units = write_plan.units(layout, plan)
    assert listed == []  # no object per chunk before the workers start
    assert write_plan.RUN == 64
    assert [len(chunks) for _, chunks in units] == [64, 64, 64, 7] * 15
    assert [k for keys, _ in units for k in keys] == [
        f"c/{r}/{c}" for r in range(1, 16) for c in range(1, 200)
    ]
    assert all(len(keys) == len(chunks) for keys, chunks in units)
    assert units[1][1].coords(0, 2) == [(1, 65), (1, 66)]


@pytest.mark.parametrize("write_empty_chunks", [False, True])
def test_writes_planned_in_runs_store_what_writes_planned_by_chunk_store(
    monkeypatch, write_empty_chunks
):
    """Runs of chunks stored one a key (``write_plan.RUN``) store the same keys and bytes
    as runs of one chunk: all-fill chunks removed unless empty chunks are written, partial
    chunks at the array's edge merged with what was stored."""
    shape, region = (4 * 20 + 3, 8 * 90 + 5), np.s_[4:, 8:]  # edge chunks are partial
    data = np.arange(np.prod(shape), dtype="f4").reshape(shape) % 251
    data[8:16, :] = 0  # two rows of chunks all fill value
    expected = np.full(shape, 7, "f4")
    expected[region] = data[region]

    def written(run: int) -> tuple[dict[str, bytes], list[int]]:
        monkeypatch.setattr(write_plan, "RUN", run)
        array = _array(shape=shape, shards=None, write_empty_chunks=write_empty_chunks)
        array[...] = 7
        plan = indexing.projection(indexing.normalize(region, shape), array._layout.dims)
        lengths = [len(chunks) for _, chunks in write_plan.units(array._layout, plan)]
        array[region] = data[region]
        np.testing.assert_array_equal(array[...], expected)
        return _stored(array), lengths

    by_runs, runs = written(64)
    by_chunk, ones = written(1)
    assert max(runs) > 1 and set(ones) == {1}
    assert by_runs == by_chunk
    assert ("c/2/5" in by_runs) is write_empty_chunks  # all zero: removed unless kept


def test_a_shard_written_whole_is_copied_once(monkeypatch):
    """``Merge.block`` copies a shard's block of the source once, into C order, for the
    compressor's loop (a copy in the source's order was copied again by the reshape:
    W5's write took 0.90 s against 0.79 s)."""
    peaks = []
    block = writing.Merge.block

    def traced(self, coords, grid):
        tracemalloc.start()
        try:
            result = block(self, coords, grid)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        return result

    monkeypatch.setattr(writing.Merge, "block", traced)
    shape = (256, 256)
    array = _array(shape=shape, chunks=(16, 16), shards=(128, 128))
    data = np.arange(256 * 256, dtype="f4").reshape(shape)
    with config.set(threads=1, write_threads=1):  # one block at a time: its own peak
        array[...] = data
    shard_bytes = 128 * 128 * 4
    assert len(peaks) == 4
    # the stack, and the compressor's output (as large at first); a second copy: 2.85x
    assert max(peaks) < 2.3 * shard_bytes
    np.testing.assert_array_equal(array[...], data)
