"""Whole chunks written straight from the array being written (engine.direct_writes): the
store's compiled loop copies each chunk out, encodes it with numcodecs' library and writes
its file. Its bytes are numcodecs' (zarr-python's); chunks it cannot or should not write go
through the merge, with the same results as before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrkit
from zarrkit.codecs.compression import encoders
from zarrkit.errors import StoreError
from zarrkit.storage import LocalStore, native
from zarrkit.types import ChunkMemory


@pytest.fixture(autouse=True)
def _built() -> None:
    if native.WRITER is None or encoders._LIB is None:
        assert not os.environ.get("CI"), "the compiled writing loop or encoders were not built"
        pytest.skip("the compiled writing loop or encoders were not built here")


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many chunks each call of ``LocalStore.set_encoded`` stored."""
    stored: list[int] = []
    original = LocalStore.set_encoded

    def counting(self: LocalStore, keys: Any, memory: Any, encoder: Any) -> list[int]:
        left = original(self, keys, memory, encoder)
        stored.append(len(keys) - len(left))
        return left

    monkeypatch.setattr(LocalStore, "set_encoded", counting)
    return stored


def stored_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("zarr.json", ".zarray", ".zattrs")
    }


BLOSC = [
    {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"},
    {"cname": "zstd", "clevel": 1, "shuffle": "bitshuffle"},
    {"cname": "blosclz", "clevel": 9, "shuffle": "noshuffle"},
    {"cname": "zlib", "clevel": 3, "shuffle": "shuffle", "blocksize": 4096},
]
ZSTD = [{"level": 3}, {"level": -2}, {"level": 9, "checksum": True}]
V3_CODECS = [
    *({"name": "blosc", "configuration": c} for c in BLOSC),
    *({"name": "zstd", "configuration": c} for c in ZSTD),
    None,
]


def v3_encoded(codec: dict[str, Any] | None, chunk: np.ndarray) -> bytes:
    """``chunk`` encoded as zarr-python 3 encodes it: numcodecs' codec, given the typesize
    blosc's configuration names (the chunk's item size)."""
    if codec is None:
        return chunk.tobytes()
    config = codec["configuration"]
    if codec["name"] == "zstd":
        return bytes(numcodecs.Zstd(**config).encode(chunk))
    shuffle = ["noshuffle", "shuffle", "bitshuffle"].index(config["shuffle"])
    blosc = numcodecs.Blosc(**{**config, "shuffle": shuffle, "typesize": chunk.itemsize})
    return bytes(blosc.encode(chunk.view(np.uint8).reshape(-1)))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64", "bool"])
@pytest.mark.parametrize("codec", V3_CODECS, ids=lambda c: "none" if c is None else str(c))
def test_v3_chunks_are_numcodecs_bytes(tmp_path: Path, direct: list[int], dtype: str, codec: Any):
    data = (np.arange(40 * 30).reshape(40, 30) % 97 + 1).astype(dtype)  # no chunk starts 0
    arr = zarrkit.create_array(
        tmp_path / "a", shape=data.shape, chunks=(10, 15), dtype=dtype, compressors=codec
    )
    arr[...] = data
    assert sum(direct) == 8  # every chunk, straight from the source
    for key, blob in stored_files(tmp_path / "a").items():
        i, j = map(int, key.split("/")[1:])
        chunk = np.ascontiguousarray(data[i * 10 : i * 10 + 10, j * 15 : j * 15 + 15])
        assert blob == v3_encoded(codec, chunk), key
    np.testing.assert_array_equal(arr[...], data)


@pytest.mark.parametrize(
    "compressor",
    [
        {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
        {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": -1},  # numcodecs' AUTOSHUFFLE
        {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 2, "blocksize": 0},
        {"id": "zstd", "level": 1},
        None,
    ],
)
@pytest.mark.parametrize("dtype", ["<i4", ">f8", "u1", "<M8[s]"])
def test_v2_chunks_are_zarr_python_2s_bytes(
    tmp_path: Path, direct: list[int], dtype: str, compressor: Any
):
    """zarr-python 2 hands numcodecs the chunk array itself: blosc takes its typesize from
    the element size, and AUTOSHUFFLE bit-shuffles single bytes."""
    data = (np.arange(24 * 24).reshape(24, 24) % 50 + 3).astype(dtype)
    arr = zarrkit.create_array(
        tmp_path / "a",
        shape=data.shape,
        chunks=(12, 8),
        dtype=dtype,
        compressors=None if compressor is None else numcodecs.get_codec(compressor),
        zarr_format=2,
        config={"write_empty_chunks": True},  # datetimes: every chunk goes straight through
    )
    arr[...] = data
    assert sum(direct) == 6
    numcodec = None if compressor is None else numcodecs.get_codec(compressor)
    for key, blob in stored_files(tmp_path / "a").items():
        i, j = map(int, key.split("."))
        chunk = np.ascontiguousarray(data[i * 12 : i * 12 + 12, j * 8 : j * 8 + 8])
        typed = chunk.view(np.int64) if chunk.dtype.kind == "M" else chunk
        assert blob == (chunk.tobytes() if numcodec is None else bytes(numcodec.encode(typed))), key
    np.testing.assert_array_equal(arr[...], data)


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(lambda a: a, id="contiguous"),
        pytest.param(lambda a: np.asfortranarray(a), id="fortran"),
        pytest.param(lambda a: a[::-1, :, ::-1][::-1, :, ::-1], id="negative-strides"),
        pytest.param(lambda a: np.repeat(a, 2, axis=2)[:, :, ::2], id="strided-last-axis"),
        pytest.param(lambda a: a.transpose(2, 1, 0).copy().transpose(2, 1, 0), id="transposed"),
    ],
)
def test_sources_laid_out_any_way(tmp_path: Path, direct: list[int], view: Any):
    data = np.random.default_rng(1).integers(0, 1000, (8, 12, 18)).astype("<i4") + 1
    source = view(data)
    arr = zarrkit.create_array(
        tmp_path / "a", shape=data.shape, chunks=(4, 6, 9), dtype="<i4", compressors=None
    )
    arr[...] = source
    assert sum(direct) == 8
    for key, blob in stored_files(tmp_path / "a").items():
        i, j, k = map(int, key.split("/")[1:])
        chunk = data[i * 4 : i * 4 + 4, j * 6 : j * 6 + 6, k * 9 : k * 9 + 9]
        assert blob == chunk.tobytes(), key


def test_whole_rows_are_written_from_the_source_without_a_copy(
    tmp_path: Path, direct: list[int], monkeypatch: pytest.MonkeyPatch
):
    """A chunk of whole rows of a C-ordered source lies there in order: no scratch copy."""
    scratches: list[int] = []
    kept = native._kept
    monkeypatch.setattr(
        native, "_kept", lambda name, n: scratches.append(name == "scratch") or kept(name, n)
    )
    data = np.arange(64 * 16, dtype="<f4").reshape(64, 16) + 1
    arr = zarrkit.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 16), dtype="<f4")
    arr[...] = data
    assert sum(direct) == 8 and scratches and not any(scratches)
    np.testing.assert_array_equal(arr[...], data)


def test_a_broadcast_value_fills_whole_chunks(tmp_path: Path, direct: list[int]):
    arr = zarrkit.create_array(
        tmp_path / "a", shape=(20, 20), chunks=(10, 10), dtype="<i8", compressors=None
    )
    arr[...] = 7  # zero strides
    assert sum(direct) == 4
    assert set(stored_files(tmp_path / "a").values()) == {np.full((10, 10), 7, "<i8").tobytes()}


@pytest.mark.parametrize(
    ("dtype", "fill", "chunk", "stored"),
    [
        ("<i4", 0, 0, False),  # all fill value: not stored
        ("<f8", np.nan, np.nan, False),
        ("<f8", 0.0, -0.0, False),  # equal to the fill value, as zarr-python compares
        ("<f8", np.nan, 1.5, True),
        ("|b1", False, True, True),
    ],
)
def test_chunks_of_fill_value_are_not_stored(tmp_path: Path, dtype, fill, chunk, stored):
    arr = zarrkit.create_array(
        tmp_path / "a", shape=(8, 8), chunks=(4, 4), dtype=dtype, fill_value=fill
    )
    data = np.full((8, 8), chunk, dtype)
    data[4:, 4:] = not fill if dtype == "|b1" else 3  # one chunk of other values
    arr[...] = data
    assert set(stored_files(tmp_path / "a")) == (
        {"c/0/0", "c/0/1", "c/1/0", "c/1/1"} if stored else {"c/1/1"}
    )
    np.testing.assert_array_equal(arr[...], data)


def test_a_chunk_starting_with_the_fill_value_goes_through_the_merge(
    tmp_path: Path, direct: list[int]
):
    arr = zarrkit.create_array(tmp_path / "a", shape=(4, 8), chunks=(4, 4), dtype="<i2")
    data = np.arange(32, dtype="<i2").reshape(4, 8)  # chunk (0, 0) starts with 0
    arr[...] = data
    assert sum(direct) == 1
    assert set(stored_files(tmp_path / "a")) == {"c/0/0", "c/0/1"}
    np.testing.assert_array_equal(arr[...], data)


def test_an_encoder_that_fails_leaves_its_chunks_to_the_merge(
    tmp_path: Path, direct: list[int], monkeypatch: pytest.MonkeyPatch
):
    codec = {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}}
    arr = zarrkit.create_array(
        tmp_path / "a", shape=(8, 8), chunks=(4, 4), dtype="<i4", compressors=codec
    )
    broken = encoders.blosc(numcodecs.Blosc(cname="lz4"), 4)
    assert broken is not None
    broken.settings.cname = b"nonesuch"  # type: ignore[union-attr]  # blosc refuses it
    pipeline = arr._layout.pipeline
    monkeypatch.setitem(pipeline.__dict__, "encoder", broken)
    data = np.arange(64, dtype="<i4").reshape(8, 8) + 1
    arr[...] = data
    assert sum(direct) == 0
    np.testing.assert_array_equal(arr[...], data)
    assert not [p for p in (tmp_path / "a").rglob("*") if p.name.startswith(".zarrkit-")]


def test_a_file_that_cannot_be_written_is_named(tmp_path: Path, direct: list[int]):
    arr = zarrkit.create_array(tmp_path / "a", shape=(8, 8), chunks=(4, 4), dtype="<i4")
    (tmp_path / "a" / "c" / "1" / "0").mkdir(parents=True)
    (tmp_path / "a" / "c" / "1" / "0" / "x").write_bytes(b"")  # a directory in a chunk's place
    with pytest.raises(StoreError, match="c/1/0"):
        arr[...] = np.arange(64, dtype="<i4").reshape(8, 8) + 1
    assert not [p for p in (tmp_path / "a").rglob("*") if p.name.startswith(".zarrkit-")]


def test_durable_stores_and_missing_loops_write_through_the_merge(
    tmp_path: Path, direct: list[int], monkeypatch: pytest.MonkeyPatch
):
    data = np.arange(64, dtype="<i4").reshape(8, 8) + 1
    durable = zarrkit.create_array(
        LocalStore(tmp_path / "d", durable=True), shape=(8, 8), chunks=(4, 4), dtype="<i4"
    )
    durable[...] = data
    monkeypatch.setattr(native, "WRITER", None)
    plain = zarrkit.create_array(tmp_path / "p", shape=(8, 8), chunks=(4, 4), dtype="<i4")
    plain[...] = data
    assert sum(direct) == 0
    assert stored_files(tmp_path / "d") == stored_files(tmp_path / "p")
    np.testing.assert_array_equal(durable[...], data)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    steps=st.lists(st.sampled_from([1, 2, -1, -2]), min_size=4, max_size=4),
    order=st.permutations(range(4)),
    dtype=st.sampled_from(["u1", "<i2", "<f8"]),
)
def test_set_encoded_stores_each_chunk_in_c_order(tmp_path_factory, shape, steps, order, dtype):
    """Any strides: the bytes stored are the chunk's, in C order."""
    ndim = len(shape)
    axes = [a for a in order if a < ndim]
    big = np.random.default_rng(0).integers(0, 255, [n * 2 * 2 for n in shape]).astype(dtype)
    source = big[tuple(slice(None, None, s) for s in steps[:ndim])].transpose(axes)
    chunk_shape = tuple(source.shape[a] // 2 for a in range(ndim))
    corners = [tuple(0 for _ in chunk_shape), tuple(n for n in chunk_shape)]
    base = source.__array_interface__["data"][0]
    starts = [
        base + sum(c * s for c, s in zip(corner, source.strides, strict=True)) for corner in corners
    ]
    store = LocalStore(tmp_path_factory.mktemp("s"))
    memory = ChunkMemory(starts, chunk_shape, source.strides, source.itemsize)
    assert store.set_encoded(["k/0", "k/1"], memory, encoders.STORED) == []
    for key, corner in zip(["k/0", "k/1"], corners, strict=True):
        block = source[tuple(slice(c, c + n) for c, n in zip(corner, chunk_shape, strict=True))]
        assert store.get(key) == np.ascontiguousarray(block).tobytes()
