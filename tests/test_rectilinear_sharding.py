"""Sharding over a rectilinear chunk grid: shards of differing lengths (zarr-extensions
``chunk-grids/rectilinear``), each tiled by regular inner chunks (``sharding_indexed``),
as zarr-python 3.2 writes them (#3802).

No peer that runs on Python 3.11 writes these arrays (zarr-python 3.1.6 and tensorstore
refuse the grid; zarrs-python is a codec pipeline for zarr-python 3.1.6), so shards are
written and read here by hand, from the sharding spec: inner chunks, then an index of
``(offset, nbytes)`` little-endian uint64 pairs in C order and its CRC32C.
"""

from __future__ import annotations

import json

import google_crc32c
import numpy as np
import pytest

import zarrkit
from zarrkit.codecs.sharding.layout import ShardGrid
from zarrkit.errors import ChunkNotFoundError, MetadataError
from zarrkit.metadata.chunk_grid import RectilinearChunkGrid, RegularChunkGrid
from zarrkit.storage import MemoryStore

EMPTY = 2**64 - 1
# zarr-python 3.2's documented example: regular inner chunks, rectilinear shard boundaries
SHAPE, CHUNKS, SHARDS = (120, 100), (10, 10), [[60, 40, 20], [50, 50]]
DATA = np.arange(120 * 100, dtype="<i4").reshape(SHAPE)


def raw_array(store, shape=SHAPE, chunks=CHUNKS, shards=SHARDS, **options):
    """A sharded array whose inner chunks are plain little-endian bytes (easy to check)."""
    return zarrkit.create_array(
        store, shape=shape, chunks=chunks, shards=shards, dtype="<i4", compressors=None, **options
    )


def edges(lengths):
    return np.concatenate([[0], np.cumsum(lengths)])


def shard_regions(lengths_per_dim):
    """Every shard's coords and its region of the array (unclipped)."""
    bounds = [edges(lengths) for lengths in lengths_per_dim]
    for coords in np.ndindex(*(len(lengths) for lengths in lengths_per_dim)):
        yield coords, tuple(slice(b[i], b[i + 1]) for b, i in zip(bounds, coords, strict=True))


def read_shard_by_hand(blob, cps, chunks, dtype):
    """The inner chunks of one shard, by inner coords (index at the end, with CRC32C)."""
    n = int(np.prod(cps))
    index_bytes = blob[len(blob) - (16 * n + 4) :]
    table, crc = index_bytes[:-4], index_bytes[-4:]
    assert google_crc32c.value(table).to_bytes(4, "little") == crc
    index = np.frombuffer(table, "<u8").reshape(*cps, 2)
    found = {}
    for inner in np.ndindex(*cps):
        offset, size = (int(v) for v in index[inner])
        if offset != EMPTY:
            found[inner] = np.frombuffer(blob[offset : offset + size], dtype).reshape(chunks)
    return found


def write_shard_by_hand(chunks_by_coords, cps):
    """A shard holding the given inner chunks, stored in C order (zarrkit writes Morton
    order, so reading this checks that only the index decides where chunks are)."""
    index = np.full((*cps, 2), EMPTY, dtype="<u8")
    parts, offset = [], 0
    for inner in np.ndindex(*cps):
        if inner in chunks_by_coords:
            data = chunks_by_coords[inner].tobytes()
            index[inner] = (offset, len(data))
            parts.append(data)
            offset += len(data)
    table = index.tobytes()
    return b"".join(parts) + table + google_crc32c.value(table).to_bytes(4, "little")


def test_zarr_python_docs_example_round_trips():
    z = raw_array(MemoryStore())
    z[:] = DATA
    np.testing.assert_array_equal(z[50:70, 40:60], DATA[50:70, 40:60])
    assert (z.chunks, z.shards) == ((10, 10), (60, 50))
    assert z.write_chunk_sizes == ((60, 40, 20), (50, 50))
    assert z.read_chunk_sizes == ((10,) * 12, (10,) * 10)
    assert z.metadata.to_json()["chunk_grid"] == {
        "name": "rectilinear",
        "configuration": {"kind": "inline", "chunk_shapes": [[60, 40, 20], [[50, 2]]]},
    }


def test_shards_hold_what_the_spec_says():
    store = MemoryStore()
    raw_array(store)[:] = DATA
    for coords, region in shard_regions(SHARDS):
        blob = store.get("c/" + "/".join(map(str, coords)))
        cps = tuple((r.stop - r.start) // c for r, c in zip(region, CHUNKS, strict=True))
        inner = read_shard_by_hand(blob, cps, CHUNKS, "<i4")
        assert len(inner) == int(np.prod(cps))  # a 60x50 shard holds 6x5 inner chunks
        for (i, j), chunk in inner.items():
            rows = slice(region[0].start + 10 * i, region[0].start + 10 * (i + 1))
            cols = slice(region[1].start + 10 * j, region[1].start + 10 * (j + 1))
            np.testing.assert_array_equal(chunk, DATA[rows, cols])


def test_shards_written_by_hand_are_read():
    store = MemoryStore()
    raw_array(store)  # the metadata only
    expected = np.zeros(SHAPE, "<i4")
    for coords, region in shard_regions(SHARDS):
        cps = tuple((r.stop - r.start) // c for r, c in zip(region, CHUNKS, strict=True))
        chunks = {}
        for inner in np.ndindex(*cps):
            if sum(inner) % 3:  # some inner chunks left out: they read as the fill value
                continue
            block = tuple(
                slice(r.start + c * i, r.start + c * (i + 1))
                for r, c, i in zip(region, CHUNKS, inner, strict=True)
            )
            chunks[inner] = expected[block] = DATA[block]
        store.set("c/" + "/".join(map(str, coords)), write_shard_by_hand(chunks, cps))
    z = zarrkit.open_array(store)
    np.testing.assert_array_equal(z[:], expected)
    np.testing.assert_array_equal(z[55:75, 45:95], expected[55:75, 45:95])
    stored = (expected.reshape(12, 10, 10, 10) != 0).any(axis=(1, 3))
    assert z.nchunks_initialized == int(stored.sum()) == 40  # 10 + 10 + 7 + 7 + 3 + 3


def test_indexing_matches_numpy():
    z = raw_array(MemoryStore())
    z[:] = DATA
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 120, 50), rng.integers(0, 100, 50)
    np.testing.assert_array_equal(z.vindex[rows, cols], DATA[rows, cols])
    np.testing.assert_array_equal(z.oindex[[3, 65, 119], ::7], DATA[[3, 65, 119], ::7])
    np.testing.assert_array_equal(z[55:105:3, 45:55], DATA[55:105:3, 45:55])
    np.testing.assert_array_equal(z.blocks[6, 5], DATA[60:70, 50:60])  # blocks are inner chunks
    mask = DATA % 7 == 0
    np.testing.assert_array_equal(z.vindex[mask], DATA[mask])


def test_partial_writes_rewrite_only_their_shard():
    store = MemoryStore()
    z = raw_array(store)
    z[:] = DATA
    before = {key: store.get(key) for key in store.list_prefix("c/")}
    z[62:64, 3:4] = -1  # inside shard (1, 0)
    after = {key: store.get(key) for key in store.list_prefix("c/")}
    assert [k for k in before if before[k] != after[k]] == ["c/1/0"]
    expected = DATA.copy()
    expected[62:64, 3:4] = -1
    np.testing.assert_array_equal(z[:], expected)


def test_a_last_shard_reaching_past_the_array():
    # 110 rows: the 20-row shard holds rows 100..119, of which 110..119 lie outside
    store = MemoryStore()
    z = raw_array(store, shape=(110, 100))
    z[:] = DATA[:110]
    np.testing.assert_array_equal(z[:], DATA[:110])
    inner = read_shard_by_hand(store.get("c/2/0"), (2, 5), CHUNKS, "<i4")
    assert sorted(inner) == [(0, j) for j in range(5)]  # inner chunks past the end: absent
    assert z.nchunks_initialized == 11 * 10


def test_inner_chunks_must_tile_every_shard():
    with pytest.raises(MetadataError, match="shard length 45 along dimension 0 is not a multiple"):
        raw_array(MemoryStore(), shards=[[60, 45, 15], [50, 50]])
    with pytest.raises(MetadataError, match="inner chunks must be regular"):
        raw_array(MemoryStore(), chunks=[[10] * 12, [10] * 10])


@pytest.mark.parametrize("lengths", [[5, 7], [6, 5]])  # the longest shard tiled or not
def test_foreign_shards_not_tiled_by_inner_chunks_are_refused(lengths):
    """The sharding spec has inner chunks evenly divide each shard, for rectilinear shards
    as for regular ones (which zarr-python also requires): any shard length that the inner
    chunks do not tile is refused, naming it."""
    store = MemoryStore()
    raw_array(store, shape=(11,), chunks=(2,), shards=[[4, 8]])
    doc = json.loads(store.get("zarr.json"))
    doc["chunk_grid"]["configuration"]["chunk_shapes"] = [lengths]
    store.set("zarr.json", json.dumps(doc).encode())
    with pytest.raises(MetadataError, match=r"zarr.json.*length 5 along dimension 0"):
        zarrkit.open_array(store)


def test_resize_and_append_add_whole_shards():
    store = MemoryStore()
    z = raw_array(store, shape=(100, 100), shards=[[60, 40], [50, 50]])
    z[:] = DATA[:100]
    z.append(DATA[100:], axis=0)  # 20 more rows: one 20-row shard
    assert z.write_chunk_sizes == ((60, 40, 20), (50, 50))
    np.testing.assert_array_equal(z[:], DATA)
    z.resize((125, 100))  # 5 more rows: a new shard rounded up to the 10-row inner chunk
    assert json.loads(store.get("zarr.json"))["chunk_grid"]["configuration"]["chunk_shapes"][0] == [
        60,
        40,
        20,
        10,
    ]
    assert (z[120:] == 0).all() and z.shape == (125, 100)
    z.resize((65, 100))  # shards wholly past the end are deleted, the others kept
    assert sorted(store.list_prefix("c/")) == ["c/0/0", "c/0/1", "c/1/0", "c/1/1"]
    assert z.nchunks_initialized == 7 * 10
    z.resize((120, 100))
    expected = np.zeros((120, 100), "<i4")
    expected[:65] = DATA[:65]
    np.testing.assert_array_equal(z[:], expected)  # what the shrink cut off stays gone


def test_iter_chunks_and_the_missing_chunk_policy():
    z = raw_array(MemoryStore(), config={"read_missing_chunks": False})
    z[:60, :50] = DATA[:60, :50]  # shard (0, 0) only
    got = dict(z.iter_chunks((slice(0, 60), slice(0, 50))))
    assert len(got) == 30 and (got[(5, 4)] == DATA[50:60, 40:50]).all()
    with pytest.raises(ChunkNotFoundError) as raised:
        z[60:70, :10]
    assert raised.value.key == "c/1/0[0,0]"


def test_codecs_around_the_shards_encode_whole_shards():
    """Sharding as the serializer with a compressor after it: whole shards of each shape
    go through the pipeline (no inner-chunk access)."""
    sharding = {
        "name": "sharding_indexed",
        "configuration": {"chunk_shape": [10, 10], "codecs": [{"name": "bytes"}]},
    }
    z = zarrkit.create_array(
        MemoryStore(),
        shape=SHAPE,
        chunks=SHARDS,
        dtype="<i4",
        serializer=sharding,
        compressors=[{"name": "crc32c"}],
    )
    z[:] = DATA
    np.testing.assert_array_equal(z[:], DATA)
    np.testing.assert_array_equal(z[55:65, 45:55], DATA[55:65, 45:55])


@pytest.mark.parametrize(
    "grid",
    [
        RectilinearChunkGrid.from_sizes([[60, 40, 20], [30, 30]]),
        RegularChunkGrid(chunk_shape=(40, 30)),
    ],
)
def test_shards_in_bulk_are_those_located_one_by_one(grid):
    shards = ShardGrid.of(grid.dims((120, 60)), (10, 10))
    coords = [(i, j) for i in range(12) for j in range(6)]
    assert shards.shards(coords) == [shards.locate(c)[0] for c in coords]
    assert shards.shards([]) == []
