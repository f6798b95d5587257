"""zarrkit.copy: format conversion, rechunking, codec changes, hierarchies, bounded memory."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit.errors import MetadataError, NodeExistsError
from zarrkit.nodes import convert
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.consolidated import ConsolidatedGroup, check
from zarrkit.storage import MemoryStore, WrapperStore

zarr = optional("zarr")

DATA = np.arange(6 * 8, dtype="i4").reshape(6, 8)


def v2_source(**kwargs) -> Array:
    options = {
        "shape": DATA.shape,
        "dtype": ">i4",
        "chunks": (4, 3),
        "zarr_format": 2,
        "order": "F",
        "fill_value": -1,
        "compressors": {"id": "zstd", "level": 3},
        "attributes": {"_ARRAY_DIMENSIONS": ["y", "x"], "units": "m"},
    }
    array = zarrkit.create_array(MemoryStore(), **(options | kwargs))
    array[:4] = DATA[:4]  # rows 4-5 stay missing: the fill value
    return array


def expected() -> np.ndarray:
    values = DATA.copy()
    values[4:] = -1
    return values


def zarr3_read(path) -> zarr.Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.open_array(str(path), mode="r")


def test_v2_to_v3_keeps_values_dtype_fill_attrs_and_layout(tmp_path):
    result = zarrkit.copy(v2_source(), tmp_path, zarr_format=3)
    assert result.zarr_format == 3 and result.chunks == (4, 3)
    assert result.dtype == np.dtype("i4") and result.fill_value == -1
    assert result.dimension_names == ("y", "x") and dict(result.attrs) == {"units": "m"}
    assert [c["name"] for c in result.metadata.codecs] == ["transpose", "bytes", "zstd"]
    assert result.metadata.codecs[1]["configuration"] == {"endian": "big"}
    assert result.metadata.codecs[2]["configuration"]["level"] == 3
    np.testing.assert_array_equal(result[:], expected())
    theirs = zarr3_read(tmp_path)
    np.testing.assert_array_equal(theirs[:], expected())
    assert theirs.metadata.dimension_names == ("y", "x") and theirs.fill_value == -1


def test_v3_to_v2_round_trips_to_the_v2_original():
    original = v2_source()
    v3 = zarrkit.copy(original, MemoryStore(), zarr_format=3)
    back = zarrkit.copy(v3, MemoryStore(), zarr_format=2)
    assert back.metadata.to_json() == original.metadata.to_json()
    assert dict(back.attrs) == dict(original.attrs)
    np.testing.assert_array_equal(back[:], expected())


def test_rechunking_and_changing_codecs(tmp_path):
    source = v2_source()
    result = zarrkit.copy(
        source,
        tmp_path,
        zarr_format=3,
        chunks=(3, 8),
        filters=None,
        compressors={"name": "gzip", "configuration": {"level": 1}},
    )
    assert result.chunks == (3, 8) and result.nchunks == 2
    assert [c["name"] for c in result.metadata.codecs] == ["bytes", "gzip"]
    np.testing.assert_array_equal(zarr3_read(tmp_path)[:], expected())
    # only the serializer changes: the source's compressor stays
    little = zarrkit.copy(source, MemoryStore(), zarr_format=3, serializer={"name": "bytes"})
    assert [c["name"] for c in little.metadata.codecs] == ["transpose", "bytes", "zstd"]
    assert little.metadata.codecs[1]["configuration"] == {"endian": "little"}
    with pytest.raises(MetadataError, match="no serializer"):
        zarrkit.copy(little, MemoryStore(), zarr_format=2, serializer={"name": "bytes"})


def test_a_codec_without_a_target_form_fails_before_any_write():
    root = zarrkit.group(MemoryStore())
    root.create_array("fine", shape=(2,), dtype="i2")
    root.create_array(
        "odd",
        shape=(2, 2, 2),
        dtype="i2",
        filters=[{"name": "transpose", "configuration": {"order": [1, 0, 2]}}],
    )
    dest = MemoryStore()
    with pytest.raises(MetadataError, match="transpose has no v2 form"):
        zarrkit.copy(root, dest, zarr_format=2)
    assert list(dest.list()) == []


def test_copying_a_hierarchy(tmp_path):
    root = zarrkit.group(MemoryStore(), zarr_format=2, attributes={"title": "t"})
    sub = root.create_group("sub", attributes={"k": 1})
    sub.create_array("x", data=np.linspace(0, 1, 10), chunks=(3,))
    root.create_array("flags", data=np.array([True, False, True]), chunks=(2,))
    root.create_array("empty", shape=(0, 3), dtype="u2")
    zarrkit.consolidate_metadata(root.store)
    source = zarrkit.open_group(root.store, mode="r")
    result = zarrkit.copy(source, tmp_path, zarr_format=3)
    assert isinstance(result, ConsolidatedGroup) and check(tmp_path) == []  # consolidated too
    assert result.zarr_format == 3 and dict(result.attrs) == {"title": "t"}
    assert dict(result["sub"].attrs) == {"k": 1}
    np.testing.assert_array_equal(result["sub/x"][:], np.linspace(0, 1, 10))
    np.testing.assert_array_equal(result["flags"][:], [True, False, True])
    assert result["empty"].shape == (0, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zarr.open_consolidated(str(tmp_path))
        assert sorted(name for name, _ in theirs.members(max_depth=None)) == [
            "empty",
            "flags",
            "sub",
            "sub/x",
        ]
        np.testing.assert_array_equal(theirs["sub/x"][:], np.linspace(0, 1, 10))


def test_destinations_and_overwrite():
    source = v2_source()
    dest = zarrkit.group(MemoryStore())
    with pytest.raises(ValueError, match="needs a path"):
        zarrkit.copy(source, dest)  # a store root has no name
    named_source = zarrkit.open_array(
        zarrkit.copy(source, MemoryStore(), path="a/b").store, path="a/b"
    )
    assert zarrkit.copy(named_source, dest.create_group("g")).path == "g/b"
    named = zarrkit.copy(source, dest, path="h/arr")
    assert named.path == "h/arr" and "h/arr" in dest
    with pytest.raises(NodeExistsError):
        zarrkit.copy(source, dest, path="h/arr")
    replaced = zarrkit.copy(source, dest, path="h/arr", chunks=(6, 8), overwrite=True)
    assert replaced.chunks == (6, 8)
    with pytest.raises(ValueError, match="onto or into itself"):
        zarrkit.copy(dest, dest.store, path="h")


def test_sharding_passes_through(tmp_path):
    result = zarrkit.copy(v2_source(), tmp_path, zarr_format=3, chunks=(2, 4), shards=(6, 8))
    assert result.shards == (6, 8) and result.chunks == (2, 4)
    np.testing.assert_array_equal(result[:], expected())
    np.testing.assert_array_equal(zarr3_read(tmp_path)[:], expected())
    kept = zarrkit.copy(result, MemoryStore())
    assert kept.shards == (6, 8) and kept.chunks == (2, 4)
    assert kept.metadata.codecs == result.metadata.codecs
    unsharded = zarrkit.copy(result, MemoryStore(), shards=False)
    assert unsharded.shards is None and unsharded.chunks == (2, 4)
    v2 = zarrkit.copy(result, MemoryStore(), zarr_format=2)
    assert v2.chunks == (2, 4) and v2.metadata.compressor == {"id": "zstd", "level": 3}
    np.testing.assert_array_equal(v2[:], expected())


@pytest.mark.parametrize("sharded", [False, True])
def test_rectilinear_grids_are_kept(sharded):
    lengths = [[2, 4], [[3, 2], 2]]  # shards of rows 2 and 4, columns 3, 3, 2
    grid = {"chunks": (1, 1), "shards": lengths} if sharded else {"chunks": lengths}
    source = zarrkit.create_array(MemoryStore(), shape=DATA.shape, dtype="i4", **grid)
    source[:] = DATA
    copied = zarrkit.copy(source, MemoryStore())
    assert copied.metadata.chunk_grid == source.metadata.chunk_grid
    assert (copied.chunks, copied.shards) == (source.chunks, source.shards)
    np.testing.assert_array_equal(copied[:], DATA)
    # new chunks: regular ones (inside regular shards of the longest source shard)
    rechunked = zarrkit.copy(source, MemoryStore(), chunks=(2, 1) if sharded else (3, 4))
    assert type(rechunked.metadata.chunk_grid).__name__ == "RegularChunkGrid"
    np.testing.assert_array_equal(rechunked[:], DATA)
    if sharded:
        unsharded = zarrkit.copy(source, MemoryStore(), shards=False)
        assert (unsharded.chunks, unsharded.shards) == ((1, 1), None)
    np.testing.assert_array_equal(zarrkit.copy(source, MemoryStore(), zarr_format=2)[:], DATA)


class GetLog(WrapperStore):
    """Counts the keys of each ``get_many``."""

    def __init__(self, inner):
        super().__init__(inner)
        self.sizes: list[int] = []

    def _call(self, operation, keys, sent, call):
        if operation == "get_many":
            self.sizes.append(len(keys))
        return call()


class SpyArray(Array):
    """Records how many elements each read returns."""

    reads: list[int]

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.reads.append(np.size(value))
        return value


def test_streaming_is_bounded():
    inner = MemoryStore()
    zarrkit.create_array(inner, data=np.arange(64 * 64, dtype="f8").reshape(64, 64), chunks=(8, 8))
    logged = GetLog(inner)
    source = SpyArray(logged, "", zarrkit.open_array(logged).metadata)
    source.reads = []
    done: list[tuple[int, int]] = []
    block = 8 * 8 * 8 * 4  # four chunks of 8 x 8 float64
    result = zarrkit.copy(
        source,
        MemoryStore(),
        chunks=(8, 8),
        block_bytes=block,
        progress=lambda d, t: done.append((d, t)),
    )
    np.testing.assert_array_equal(result[:], np.arange(64 * 64).reshape(64, 64))
    assert max(source.reads) == 4 * 64 and len(source.reads) == 16
    assert max(logged.sizes) <= 4
    assert done[0] == (0, 64 * 64 * 8) and done[-1] == (64 * 64 * 8, 64 * 64 * 8)
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_block_shapes():
    assert convert._block_shape((100, 100), (10, 10), 1, 10**6) == (100, 100)
    assert convert._block_shape((100, 100), (10, 10), 1, 300) == (10, 30)
    assert convert._block_shape((100, 100), (10, 10), 1, 2000) == (20, 100)
    assert convert._block_shape((100, 100), (10, 10), 8, 1) == (10, 10)  # never below one unit


@pytest.mark.parametrize(("source_format", "target_format"), [(2, 3), (3, 2), (3, 3)])
def test_zero_dimensional_arrays(source_format, target_format):
    source = zarrkit.create_array(
        MemoryStore(), data=np.array(123456, dtype="i8"), zarr_format=source_format
    )
    result = zarrkit.copy(source, MemoryStore(), zarr_format=target_format)
    assert result.shape == () and result[()] == 123456
