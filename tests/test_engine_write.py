"""Writes: each worker stores its chunks (or shards) a window at a time, as soon as they are
encoded, so a write holds a few windows in memory; a failure names what was not written."""

import threading
from typing import Any

import numpy as np
import pytest

import zarrkit
from zarrkit import config, indexing, telemetry
from zarrkit.codecs import codecs, register_codec
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.engine import write_plan, writing
from zarrkit.errors import PartialWriteError
from zarrkit.storage import FaultInjectionStore, MemoryStore
from zarrkit.storage.wrappers import WrapperStore

SHAPE, CHUNKS, SHARDS = (64, 64), (4, 4), (16, 16)  # 16 shards of 16 inner chunks
PER_SHARD = 16


@pytest.fixture
def one_shard_windows(monkeypatch):
    """Windows of one shard each (16 inner chunks of 4x4 int32)."""
    monkeypatch.setattr(write_plan, "WINDOW", PER_SHARD * 4 * 4 * 4)


class Recording(WrapperStore):
    """Records, at each write of shards, how many inner chunks had been encoded by then.
    The first write waits until more than ``bound`` are encoded (at most 0.3 s), so
    workers that go on encoding meanwhile are caught."""

    def __init__(self, inner, bound):
        super().__init__(inner)
        self.bound = bound
        self.encoded = 0
        self.changed = threading.Condition()
        self.seen = []

    def count(self, event):
        if event.op == "encode" and event.nbytes_in == 4 * 4 * 4:  # an inner chunk, no index
            with self.changed:
                self.encoded += 1
                self.changed.notify_all()

    def _call(self, operation, keys, sent, call):
        if operation.startswith("set") and any(key.startswith("c/") for key in keys):
            with self.changed:
                if not self.seen:
                    self.changed.wait_for(lambda: self.encoded > self.bound, timeout=0.3)
                self.seen.extend(self.encoded for key in keys)
        return call()


@pytest.mark.parametrize(
    ("threads", "window"),
    [(2, PER_SHARD * 64), (8, 64)],  # 2 workers; shards 16x a window: 2 workers of 8 threads
)
def test_shards_are_stored_as_they_are_encoded_a_few_at_a_time(threads, window, monkeypatch):
    monkeypatch.setattr(write_plan, "WINDOW", window)
    store = Recording(MemoryStore(), bound=2 * PER_SHARD)
    array = zarrkit.create_array(store, shape=SHAPE, chunks=CHUNKS, shards=SHARDS, dtype="i4")
    data = np.arange(64 * 64, dtype="i4").reshape(SHAPE)
    pools = config.set(threads=threads, write_threads=threads)
    with pools, telemetry.subscribed(store.count, telemetry.CodecEvent):
        array[...] = data
    assert len(store.seen) == 16 and store.encoded == 16 * PER_SHARD
    # when the k-th shard is stored, each of the 2 workers has encoded at most the shards
    # it stored and the one it is on: never the whole array first
    for k, count_then in enumerate(store.seen):
        assert count_then <= (k + 2) * PER_SHARD, (k, count_then)
    np.testing.assert_array_equal(zarrkit.open_array(store.inner)[...], data)


def test_a_sharded_write_failing_part_way_names_the_shards_not_written(one_shard_windows):
    inner = MemoryStore()
    zarrkit.create_array(inner, shape=SHAPE, chunks=CHUNKS, shards=SHARDS, dtype="i4")[...] = 1
    faulty = FaultInjectionStore(inner, operations={"set_many"}, keys={"c/1/1"})
    with config.set(threads=2, write_threads=2), pytest.raises(PartialWriteError) as caught:
        zarrkit.open_array(faulty)[...] = 2
    # which of the others were written depends on the workers' timing: the error says
    unwritten = set(caught.value.unwritten)
    assert "c/1/1" in unwritten
    stored = zarrkit.open_array(inner)[...]
    for row in range(4):
        for col in range(4):
            block = stored[row * 16 : (row + 1) * 16, col * 16 : (col + 1) * 16]
            expected = 1 if f"c/{row}/{col}" in unwritten else 2
            assert (block == expected).all(), (row, col)


@pytest.mark.parametrize("rows", [[3, 2, 1, 0, 7, 6, 5, 4], [0, 1, 2, 3, 4, 5, 6, 7]])
def test_whole_chunks_written_through_index_arrays_keep_their_order(rows):
    array = zarrkit.create_array(MemoryStore(), shape=(8, 4), chunks=(4, 4), dtype="i4")
    value = np.arange(32, dtype="i4").reshape(8, 4)
    array.oindex[rows, :] = value
    expected = np.empty_like(value)
    expected[rows] = value
    np.testing.assert_array_equal(array[...], expected)


@pytest.mark.parametrize("large_chunk", [64 << 10, 1], ids=["encoded-in-one-loop", "one-each"])
def test_whole_chunks_of_one_window_are_copied_into_one_array_each_stored_apart(
    large_chunk, monkeypatch
):
    """Uncompressed chunks written whole are rows of one array (a window's allocation, not
    one per chunk), encoded in one loop or (large ones) each by Merge.one; each is stored
    as its own value, so later writes to the source, to the array or to a sibling chunk
    leave the others as written."""
    monkeypatch.setattr(writing, "LARGE_CHUNK", large_chunk)
    store = MemoryStore()
    array = zarrkit.create_array(
        store, shape=(8, 10), chunks=(4, 4), dtype="i4", compressors=None, fill_value=0
    )
    value = np.arange(1, 81, dtype="i4").reshape(8, 10)
    value[4:8, 4:8] = 0  # a whole chunk of fill value: not stored
    layout = array._layout
    plan = indexing.projection(indexing.normalize(..., (8, 10)), layout.dims)
    merge = writing.Merge(layout, plan.reads(), value, workers=1, selection_sliced=True)
    items = [(r.coords, None) for r in plan.reads()]
    rows = merge._whole_rows(items)
    assert rows == [0, 1, 3, 4]  # the last column is partial
    assert merge._stack(len(rows)).shape == (4, 4, 4)  # one allocation

    array[...] = value
    source = value.copy()
    value[...] = -1  # the source changes after the write
    array[0:4, 0:4] = 7  # a sibling of the same window is rewritten
    source[0:4, 0:4] = 7
    np.testing.assert_array_equal(array[...], source)
    assert "c/1/1" not in store._data
    assert bytes(store._data["c/0/1"]) == source[0:4, 4:8].tobytes()


class _Identity(BytesBytesCodec):
    """A bytes->bytes codec whose encoding is its input: the blob is the chunk's memory."""

    name = "test.identity"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name}

    def encode(self, blob: Any, spec: ChunkSpec) -> Any:
        return blob

    def decode(self, blob: Any, spec: ChunkSpec) -> Any:
        return blob


BLOSC_LZ4 = {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "typesize": 4}}
ZSTD = {"name": "zstd", "configuration": {"level": 1}}


@pytest.mark.parametrize(
    ("compressor", "chunks_copied_into"),
    [(BLOSC_LZ4, 1), ("test.identity", 6), (ZSTD, 6)],
    ids=["fast-coder", "blob-is-the-chunk", "entropy-coder"],
)
def test_large_chunks_written_whole_go_through_one_kept_chunk_for_fast_coders(
    compressor, chunks_copied_into, monkeypatch
):
    """Large chunks written whole are copied into one chunk their thread keeps where a fast
    coder makes new bytes of them; where a blob is that chunk's memory, each chunk gets
    its own, as entropy-coded ones get their rows; every chunk is stored with its own
    values."""
    monkeypatch.setattr(writing, "LARGE_CHUNK", 1)
    addresses: set[int] = set()
    one = writing.Merge.one

    def spy(self, coords, old, slot=None):  # type: ignore[no-untyped-def]
        addresses.add(slot.ctypes.data)
        return one(self, coords, old, slot)

    monkeypatch.setattr(writing.Merge, "one", spy)
    register_codec("test.identity", _Identity)
    try:
        array = zarrkit.create_array(
            MemoryStore(), shape=(8, 12), chunks=(4, 4), dtype="i4", compressors=[compressor]
        )
        value = np.arange(1, 97, dtype="i4").reshape(8, 12)
        with config.set(write_threads=1, threads=1):
            array[...] = value
        np.testing.assert_array_equal(array[...], value)
    finally:
        codecs.unregister("test.identity")
    assert len(addresses) == chunks_copied_into  # 6 chunks, one window, one worker


def test_a_write_locks_its_keys_in_groups_of_at_most_so_many_lock_files(tmp_path, monkeypatch):
    """Keys sharing a lock file (one per directory) go in one group however many they are;
    a new group starts when a unit's keys would bring a group one lock file too many."""
    monkeypatch.setattr(write_plan, "LOCK_FILES", 2)
    array = zarrkit.create_array(tmp_path / "a", shape=(6, 40), chunks=(1, 1), dtype="i1")
    keys = [f"c/{row}/{col}" for row in range(3) for col in range(40)]  # 3 directories
    units = [([key], None) for key in keys[:60]] + [(keys[60:], None)]  # the last: 2 files
    groups = write_plan.lock_groups(array._layout, units)  # a unit is not split
    assert [(len(group), len(targets)) for group, targets in groups] == [(60, 60), (1, 60)]
    assert [key for group, _ in groups for unit_keys, _ in group for key in unit_keys] == keys
    assert [t.offset for _, targets in groups for t in targets] == list(range(40)) * 3
    memory = zarrkit.create_array(MemoryStore(), shape=(6, 40), chunks=(1, 1), dtype="i1")
    assert len(write_plan.lock_groups(memory._layout, units)) == 1  # no lock files
    array[...] = np.arange(240).reshape(6, 40) % 100
    np.testing.assert_array_equal(array[...], np.arange(240).reshape(6, 40) % 100)
