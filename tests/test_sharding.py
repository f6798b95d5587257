"""Sharded arrays: layout, partial reads by byte range, writes, and interop."""

import json
import threading

import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit import config
from zarrkit.codecs.sharding import morton_order
from zarrkit.codecs.sharding.access import _FEW_ENTRIES, _ShardRead
from zarrkit.codecs.sharding.codec import ShardingCodec
from zarrkit.codecs.sharding.index_cache import INDEXES
from zarrkit.engine import reading
from zarrkit.errors import CodecError, MetadataError
from zarrkit.storage import LocalStore, MemoryStore, RangeRequest
from zarrkit.storage.wrappers import LoggingStore, WrapperStore

ts = optional("tensorstore")
codec_decode_index = ShardingCodec.decode_index
zarr = optional("zarr")


def sharded(store=None, shape=(10, 10), chunks=(2, 2), shards=(4, 4), dtype="i2", **kw):
    return zarrkit.create_array(
        store or MemoryStore(), shape=shape, chunks=chunks, shards=shards, dtype=dtype, **kw
    )


def test_morton_order_matches_zarr_python():
    from zarr.core.indexing import _morton_order

    for shape in [(4, 4), (3, 5), (2, 3, 4), (1, 7), (8,), (5, 1, 3)]:
        np.testing.assert_array_equal(morton_order(shape), _morton_order(shape))


@pytest.mark.parametrize("location", ["start", "end"])
def test_round_trip_and_index_location(location, tmp_path):
    data = np.arange(100, dtype="i2").reshape(10, 10)
    a = zarrkit.create_array(tmp_path, shape=(10, 10), dtype="i2", chunks=(2, 2), shards=(4, 4))
    # switch the index location through the metadata, as other writers may set it
    doc = json.loads((tmp_path / "zarr.json").read_text())
    doc["codecs"][0]["configuration"]["index_location"] = location
    (tmp_path / "zarr.json").write_text(json.dumps(doc))
    a = zarrkit.open_array(tmp_path)
    a[:] = data
    assert a.chunks == (2, 2) and a.shards == (4, 4)
    np.testing.assert_array_equal(a[:], data)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path))[:], data)
    np.testing.assert_array_equal(a[3:9, 1:8], data[3:9, 1:8])


def test_missing_inner_chunks_read_fill_and_empty_shards_are_deleted():
    a = sharded(fill_value=-1)
    a[0, 0] = 5
    out = a[:]
    assert out[0, 0] == 5 and (out.ravel()[1:] == -1).all()
    assert sorted(a.store.list_prefix("c/")) == ["c/0/0"]
    a[0, 0] = -1  # the only inner chunk becomes empty: the shard goes away
    assert list(a.store.list_prefix("c/")) == []


class _RoundTrips(LoggingStore):
    """A store whose every request is a round trip (as object stores)."""

    native_concurrency = True


def _logged_array(store_type=LoggingStore):
    store = store_type(MemoryStore())
    a = zarrkit.create_array(
        store, shape=(64, 64), chunks=(8, 8), shards=(32, 32), dtype="f4", compressors=None
    )
    a[:] = np.arange(64 * 64, dtype="f4").reshape(64, 64)
    INDEXES.clear()
    store.stats.reset()
    return store, a


def test_cold_read_is_one_consistent_read_and_warm_read_is_one_request():
    data = np.arange(64 * 64, dtype="f4").reshape(64, 64)
    index_bytes = 16 * 16 + 4
    with config.set(shard_read_ahead=0, coalesce_gap=0):
        store, a = _logged_array()
        np.testing.assert_array_equal(a[9:15, 17:23], data[9:15, 17:23])  # one inner chunk
        # the index, then the one inner chunk's bytes, from one version of the shard
        assert dict(store.stats.calls) == {"get_then": 1}
        assert store.stats.bytes["get_then"] == index_bytes + 8 * 8 * 4
        store.stats.reset()
        np.testing.assert_array_equal(a[0:8, 0:32], data[0:8, 0:32])  # same shard, warm
        assert dict(store.stats.calls) == {"get_ranges_if": 1}
        assert store.stats.bytes["get_ranges_if"] == 4 * 8 * 8 * 4  # four inner chunks only
        store.stats.reset()
        a[:, 5]  # two shards, one of them new
        assert dict(store.stats.calls) == {"get_then": 1, "get_ranges_if": 1}


def test_read_ahead_brings_small_shards_whole_with_their_index():
    store, a = _logged_array(_RoundTrips)
    shard_bytes = len(store.inner.get("c/0/0"))
    a[9:15, 17:23]
    assert dict(store.stats.calls) == {"get_then": 1}
    assert store.stats.bytes["get_then"] == shard_bytes  # no second request needed


def test_no_read_ahead_where_requests_are_not_round_trips():
    store, a = _logged_array()
    a[9:15, 17:23]
    assert store.stats.bytes["get_then"] == 16 * 16 + 4 + 8 * 8 * 4  # index, one inner chunk


def test_local_reads_decode_a_shard_index_again_only_once_it_changed(tmp_path, monkeypatch):
    data = np.arange(64 * 64, dtype="f4").reshape(64, 64)
    a = zarrkit.create_array(tmp_path / "a", data=data, chunks=(8, 8), shards=(32, 32))
    codec = a._layout.chunks.codec
    decoded = []
    monkeypatch.setattr(
        type(codec),
        "decode_index",
        lambda self, *args, **kw: decoded.append(1) or codec_decode_index(self, *args, **kw),
    )
    INDEXES.clear()
    for sel in [np.s_[0:8, 0:8], np.s_[8:16, 0:8], np.s_[0:8, 40:48]]:  # shard 0, 0, 1
        np.testing.assert_array_equal(a[sel], data[sel])
    assert len(decoded) == 2
    a[8:16, 0:8] = data[8:16, 0:8] = 7  # a new shard 0: its index is decoded again
    decoded.clear()
    for sel in [np.s_[8:16, 0:8], np.s_[0:8, 0:8]]:
        np.testing.assert_array_equal(a[sel], data[sel])
    assert len(decoded) == 1


def test_a_rewritten_shard_is_never_read_through_its_cached_index():
    store, a = _logged_array()
    assert a[1, 1] == 65
    store.inner.set("c/0/0", a._layout.chunks.codec.build({}, (4, 4)))  # now empty
    assert a[1, 1] == 0  # the conditional read failed, and the new shard's index was read
    assert store.stats.calls["get_then"] == 2 and "get_ranges_if" not in store.stats.calls


def test_nearby_ranges_are_coalesced():
    store = LoggingStore(MemoryStore())
    a = zarrkit.create_array(
        store, shape=(8, 8), chunks=(2, 2), shards=(8, 8), dtype="u1", compressors=None
    )
    a[:] = 1
    a[0, 0]  # caches the index
    calls = []
    inner_get_ranges_if = store.inner.get_ranges_if
    store.inner.get_ranges_if = lambda key, ranges, version: (
        calls.append(list(ranges)) or inner_get_ranges_if(key, ranges, version)
    )
    a[0:4, 0:4]  # inner chunks (0,0) (0,1) (1,0) (1,1): first four in Morton order
    assert calls[-1] == [RangeRequest(0, 16)]
    with config.set(coalesce_gap=0):
        a.vindex[(0, 0), (0, 6)]  # two inner chunks, others between them: two ranges
        assert len(calls[-1]) == 2
    a.vindex[(0, 0), (0, 6)]  # within the default gap: one range
    assert len(calls[-1]) == 1


def test_whole_shard_writes_do_not_read_and_partial_writes_rmw():
    store = LoggingStore(MemoryStore())
    a = zarrkit.create_array(store, shape=(16, 16), chunks=(4, 4), shards=(8, 8), dtype="i4")
    store.stats.reset()
    a[:] = 3
    assert store.stats.calls["get"] == 0 and store.stats.calls["get_ranges"] == 0
    a[0:2, 0:2] = 9  # part of one inner chunk of one shard
    assert store.stats.calls["set"] + store.stats.calls["set_many"] >= 1
    expected = np.full((16, 16), 3, "i4")
    expected[0:2, 0:2] = 9
    np.testing.assert_array_equal(a[:], expected)


def test_partial_shard_edges():
    data = np.arange(11 * 7).reshape(11, 7).astype("f8")
    a = sharded(shape=(11, 7), chunks=(2, 5), shards=(4, 5), dtype="f8")
    a[:] = data
    np.testing.assert_array_equal(a[:], data)
    np.testing.assert_array_equal(a[2:10:3, 1::2], data[2:10:3, 1::2])
    np.testing.assert_array_equal(a.vindex[[0, 10, 5], [6, 0, 3]], data[[0, 10, 5], [6, 0, 3]])
    a[5:6, :] = -1
    data[5:6, :] = -1
    np.testing.assert_array_equal(zarrkit.open_array(a.store)[:], data)


def test_inner_chunks_must_divide_the_shard_on_create_and_open():
    # the sharding spec: the inner chunk shape evenly divides the shard shape
    store = MemoryStore()
    with pytest.raises(MetadataError, match=r"\(3, 2\) does not divide the shard shape \(4, 5\)"):
        zarrkit.create_array(store, name="a", shape=(11, 7), chunks=(3, 2), shards=(4, 5))
    assert list(store.list()) == []
    zarrkit.create_array(store, name="a", shape=(11, 7), chunks=(2, 5), shards=(4, 5))
    doc = json.loads(store.get("a/zarr.json"))
    doc["codecs"][0]["configuration"]["chunk_shape"] = [3, 2]
    store.set("a/zarr.json", json.dumps(doc).encode())
    with pytest.raises(MetadataError, match="does not divide"):
        zarrkit.open_array(store, path="a")


def test_nested_sharding():
    inner = {
        "name": "sharding_indexed",
        "configuration": {"chunk_shape": [2, 2], "codecs": [{"name": "bytes"}, {"name": "gzip"}]},
    }
    a = zarrkit.create_array(
        MemoryStore(),
        shape=(12, 12),
        chunks=(4, 4),
        shards=(8, 8),
        dtype="u2",
        serializer=inner,
        compressors=None,
    )
    data = np.arange(144, dtype="u2").reshape(12, 12)
    a[:] = data
    np.testing.assert_array_equal(a[:], data)
    np.testing.assert_array_equal(a[5:11, 1:3], data[5:11, 1:3])


def test_resize_and_append():
    a = sharded(shape=(6, 6), chunks=(2, 2), shards=(4, 4))
    a[:] = 1
    a.resize((3, 3))
    assert a[:].sum() == 9
    a.append(np.full((2, 3), 2, "i2"))
    assert a.shape == (5, 3) and a[:].sum() == 9 + 12
    a.resize((8, 8))
    assert a[:].sum() == 21


def test_corrupt_index_names_shard_key():
    a = sharded()
    a[:] = 1
    blob = bytearray(a.store.get("c/0/0"))
    blob[-1] ^= 0xFF  # the index checksum
    a.store.set("c/0/0", bytes(blob))
    with pytest.raises(CodecError, match="c/0/0"):
        a[0, 0]
    blob = bytearray(a.store.get("c/1/1"))
    blob[-20:-12] = (10**6).to_bytes(8, "little")  # an offset past the end, bad checksum
    a.store.set("c/1/1", bytes(blob))
    with pytest.raises(CodecError, match="c/1/1"):
        a[5, 5]


def test_zarr_python_writes_we_read(tmp_path):
    data = np.random.default_rng(1).random((20, 30)).astype("f4")
    z = zarr.create_array(
        str(tmp_path),
        shape=data.shape,
        chunks=(5, 5),
        shards=(10, 15),
        dtype="f4",
        compressors=zarr.codecs.BloscCodec(cname="lz4"),
    )
    z[:] = data
    a = zarrkit.open_array(tmp_path, mode="r")
    assert a.chunks == (5, 5) and a.shards == (10, 15)
    np.testing.assert_array_equal(a[:], data)
    np.testing.assert_array_equal(a[3:17, 4:29:3], data[3:17, 4:29:3])


def test_we_write_zarr_python_and_tensorstore_read(tmp_path):
    data = np.arange(24 * 20, dtype="i4").reshape(24, 20)
    a = zarrkit.create_array(
        tmp_path,
        shape=data.shape,
        chunks=(4, 5),
        shards=(8, 10),
        dtype="i4",
        compressors={"name": "zstd", "configuration": {"level": 3}},
    )
    a[:] = data
    a[0:4, 0:5] = 0  # leaves an empty inner chunk entry in shard (0, 0)
    data[0:4, 0:5] = 0
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path), mode="r")[:], data)
    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}).result()
    np.testing.assert_array_equal(t.read().result(), data)


def test_tensorstore_writes_we_read(tmp_path):
    data = np.arange(16 * 16, dtype="u2").reshape(16, 16)
    spec = {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(tmp_path)},
        "metadata": {
            "shape": [16, 16],
            "data_type": "uint16",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8, 8]}},
            "codecs": [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": [4, 4],
                        "codecs": [{"name": "bytes"}, {"name": "zstd"}],
                        "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}],
                        "index_location": "start",
                    },
                }
            ],
        },
    }
    t = ts.open(spec, create=True).result()
    t.write(data).result()
    np.testing.assert_array_equal(zarrkit.open_array(tmp_path)[:], data)
    np.testing.assert_array_equal(zarrkit.open_array(tmp_path)[7:9, 3:13], data[7:9, 3:13])


def test_bytes_identical_to_zarr_python(tmp_path):
    data = np.arange(100, dtype="i2").reshape(10, 10)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    zarrkit.create_array(ours, shape=(10, 10), chunks=(2, 2), shards=(4, 4), dtype="i2")[:] = data
    zarr.create_array(str(theirs), shape=(10, 10), chunks=(2, 2), shards=(4, 4), dtype="i2")[:] = (
        data
    )
    store_a, store_b = LocalStore(ours), LocalStore(theirs)
    assert sorted(store_a.list()) == sorted(store_b.list())
    for key in store_a.list():
        assert store_a.get(key) == store_b.get(key), key


class _NoVersions(LoggingStore):
    """A store that has no versions (as a zarr-python store or a ZIP archive)."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.supports_versions = self.supports_conditional_writes = False
        self.versions_cacheable = False


def test_stores_without_versions_read_and_write_shards_as_before():
    store = _NoVersions(MemoryStore())
    a = zarrkit.create_array(store, shape=(16,), chunks=(2,), shards=(8,), dtype="i4")
    a[...] = np.arange(16)
    a[3:11] = -1
    expected = np.arange(16)
    expected[3:11] = -1
    store.stats.reset()
    np.testing.assert_array_equal(zarrkit.open_array(store)[...], expected)
    versioned = [op for op in store.stats.calls if "version" in op or op.endswith("_if")]
    assert versioned == []


def test_reports_inner_codecs_and_shards_as_zarr_python(tmp_path):
    options = dict(
        shape=(100, 100),
        shards=(50, 50),
        chunks=(10, 10),
        dtype="i4",
        filters=[{"name": "transpose", "configuration": {"order": [1, 0]}}],
        compressors=[{"name": "gzip", "configuration": {"level": 1}}],
    )
    ours = zarrkit.create_array(tmp_path / "ours", **options)
    theirs = zarr.create_array(tmp_path / "theirs", **options)
    ours[:60, :60] = theirs[:60, :60] = 1
    for name in ("filters", "compressors"):
        assert [c.to_json() for c in getattr(ours, name)] == [
            json.loads(json.dumps(c.to_dict())) for c in getattr(theirs, name)
        ], name
    assert ours.serializer.to_json() == theirs.serializer.to_dict()
    assert (ours.shards, ours.chunks) == (theirs.shards, theirs.chunks) == ((50, 50), (10, 10))
    rows = dict(ours.info_complete().rows())
    assert rows["Shard shape"] == "(50, 50)" and rows["Chunk shape"] == "(10, 10)"
    assert rows["Shards Initialized"] == "4" and "Chunks Initialized" not in rows
    stored = ("No. bytes stored", "Storage ratio")  # the metadata documents differ in size

    def shown(info):
        return [line for line in repr(info).splitlines() if not line.startswith(stored)]

    assert shown(ours.info_complete()) == shown(theirs.info_complete())
    assert ours.nchunks_initialized == 36  # inner chunks, counted through the shard indexes


def test_each_shard_is_decoded_as_soon_as_it_arrives(monkeypatch):
    """Shard 1's bytes arrive only once shard 0's inner chunks are in the output: a read
    that fetched every shard before decoding any would wait forever (here: fail)."""
    first_placed = threading.Event()
    place, place_box = reading._place, reading.place_box

    def placing(layout, buffer, items, coords, *rest):
        place(layout, buffer, items, coords, *rest)
        if any(c[0] < 2 for c in coords):  # inner chunks 0 and 1 make shard 0
            first_placed.set()

    def placing_box(layout, buffer, items, coords, *rest):
        placed = place_box(layout, buffer, items, coords, *rest)
        if placed and any(c[0] < 2 for c in coords):
            first_placed.set()
        return placed

    class Slow(WrapperStore):
        native_concurrency = True  # each read a round trip, as on object stores

        def _get_then(self, key, first, then):
            assert key != "c/1" or first_placed.wait(5), "shard 1 was awaited before shard 0 placed"
            return super()._get_then(key, first, then)

        def _get_ranges_if(self, key, ranges, if_match):
            assert key != "c/1" or first_placed.wait(5), "shard 1 was awaited before shard 0 placed"
            return super()._get_ranges_if(key, ranges, if_match)

    inner = MemoryStore()
    zarrkit.create_array(inner, shape=(8,), chunks=(2,), shards=(4,), dtype="i4")[:] = np.arange(8)
    monkeypatch.setattr(reading, "_place", placing)
    monkeypatch.setattr(reading, "place_box", placing_box)
    assert zarrkit.open_array(Slow(inner), mode="r")[:].tolist() == list(range(8))


def test_each_shard_is_sent_while_others_are_encoded(monkeypatch):
    """On a store whose requests are round trips, a write sends a shard as soon as it is
    built: the second shard's building waits for the first shard's request, so a write
    that built every shard before sending any would fail here."""
    stored = threading.Event()
    build = ShardingCodec.build_ordered
    built = []

    def building(self, blobs, cps):
        built.append(cps)
        if len(built) == 2:
            assert stored.wait(5), "the second shard was built before the first was sent"
        return build(self, blobs, cps)

    class RoundTrips(WrapperStore):
        native_concurrency = True

        def _set(self, key, value):
            super()._set(key, value)
            stored.set()

        def _set_many(self, items):
            super()._set_many(items)
            stored.set()

    inner = MemoryStore()
    a = zarrkit.create_array(RoundTrips(inner), shape=(8,), chunks=(2,), shards=(4,), dtype="i4")
    monkeypatch.setattr(ShardingCodec, "build_ordered", building)
    stored.clear()  # set by the metadata's request
    a[:] = np.arange(8)
    assert len(built) == 2
    assert zarrkit.open_array(inner, mode="r")[:].tolist() == list(range(8))


@pytest.mark.parametrize("count", [1, 8, 9, 60])  # up to 8 without NumPy, then with it
def test_index_entries_of_a_few_or_many_inner_chunks(count: int) -> None:
    assert _FEW_ENTRIES == 8
    cps = (3, 4, 5)
    rng = np.random.default_rng(count)
    index = rng.integers(0, 1000, (*cps, 2)).astype(np.uint64)
    inner = [tuple(int(i) for i in rng.integers(0, cps)) for _ in range(count)]
    read = _ShardRead(None, "c/0/0/0", cps, inner)  # type: ignore[arg-type]
    spans = read.plan(index)
    assert read.entries == [tuple(index[c].tolist()) for c in inner]
    assert all(any(a <= o and o + n <= b for a, b in read.spans) for o, n in read.entries)
    assert [(r.start, r.end) for r in spans] == read.spans
