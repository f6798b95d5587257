"""Batches of whole chunks that tile a box of the output: decoded in one loop and placed
with one assignment (``zarrkit.engine.boxes``), and every case that must fall back to the
chunk by chunk path (edge chunks, cached or uneven chunks, other codecs, bad frames)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import zarrkit
from tests import zstd_frames
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.zstd import ZstdCodec
from zarrkit.engine import boxes, reading
from zarrkit.errors import CodecError
from zarrkit.storage import LocalStore

CODECS: dict[str, Any] = {
    "zstd": [{"name": "zstd", "configuration": {"level": 1}}],
    "gzip": [{"name": "gzip", "configuration": {"level": 1}}],
    "none": [],
    "blosc": "auto",
}


@pytest.fixture
def boxed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For each batch of whole chunks, whether it was placed as a box: True for each box
    the store's loop read (``read_box``), and what each call of ``place_box`` returned
    (batches ``read_box`` did not place: fetched, then decoded)."""
    calls: list[bool] = []
    read_box, place_box = reading.read_box, reading.place_box

    def read_spy(*args: Any) -> bool:
        placed = read_box(*args)
        if placed:
            calls.append(True)
        return placed

    def place_spy(*args: Any) -> bool:
        calls.append(place_box(*args))
        return calls[-1]

    monkeypatch.setattr(reading, "read_box", read_spy)
    monkeypatch.setattr(reading, "place_box", place_spy)
    yield calls


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("dtype", ["f4", "i2", "f8", "bool", "c8"])
def test_whole_rows_of_chunks_are_placed_as_boxes(
    tmp_path: Any, boxed: list[bool], codec: str, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = zarrkit.create_array(
        tmp_path, shape=(12, 10), chunks=(3, 2), dtype=dtype, compressors=CODECS[codec]
    )
    data = (np.arange(120).reshape(12, 10) % 7).astype(dtype)
    a[:] = data
    monkeypatch.setattr(
        reading, "BOX_IN_FLIGHT", 2 * 5 * 3 * 2 * np.dtype(dtype).itemsize
    )  # 2 rows
    with zarrkit.config.set(read_threads=2):
        np.testing.assert_array_equal(a[:], data)
        np.testing.assert_array_equal(a[3:9, 2:8], data[3:9, 2:8])
    # 4 rows of chunks, then 2, each a box: the workers take at least 8 ranges each (boxes
    # of up to 2 rows) where there are the rows
    assert boxed == [True] * 6


def test_missing_chunks_in_a_box_read_as_the_fill_value(tmp_path: Any, boxed: list[bool]) -> None:
    a = zarrkit.create_array(tmp_path, shape=(8, 8), chunks=(2, 2), dtype="f4", fill_value=-1)
    a[2:4, 4:8] = 5
    expected = np.full((8, 8), -1, "f4")
    expected[2:4, 4:8] = 5
    np.testing.assert_array_equal(a[:], expected)
    assert boxed and all(boxed)


def test_edge_chunks_fall_back_chunk_by_chunk(tmp_path: Any, boxed: list[bool]) -> None:
    a = zarrkit.create_array(tmp_path, shape=(9, 7), chunks=(2, 2), dtype="i4")
    data = np.arange(63).reshape(9, 7)
    a[:] = data
    with zarrkit.config.set(read_threads=1):
        np.testing.assert_array_equal(a[:], data)  # the last row and column of chunks are cut
        np.testing.assert_array_equal(a[1:7, 1:5], data[1:7, 1:5])  # no chunk whole
        np.testing.assert_array_equal(a[0:8, 0:6], data[0:8, 0:6])  # every chunk whole
    assert boxed == [True]


@pytest.mark.parametrize("fmt", [2, 3])
def test_fortran_order_and_transposed_chunks(tmp_path: Any, boxed: list[bool], fmt: int) -> None:
    kwargs: dict[str, Any] = (
        {"order": "F"}
        if fmt == 2
        else {"filters": [{"name": "transpose", "configuration": {"order": [1, 0]}}]}
    )
    a = zarrkit.create_array(
        tmp_path, shape=(6, 8), chunks=(3, 4), dtype="u2", zarr_format=fmt, **kwargs
    )
    data = np.arange(48, dtype="u2").reshape(6, 8)
    a[:] = data
    with zarrkit.config.set(read_threads=1):
        np.testing.assert_array_equal(a[:], data)
    assert boxed == [True]


def test_shards_are_placed_as_boxes_and_edge_shards_chunk_by_chunk(
    tmp_path: Any, boxed: list[bool]
) -> None:
    a = zarrkit.create_array(
        tmp_path, shape=(10, 12), chunks=(2, 3), shards=(4, 6), dtype="f4", fill_value=7
    )
    data = np.arange(120, dtype="f4").reshape(10, 12)
    a[:] = data
    a[0:2, 0:3] = 7  # an inner chunk of fill values: not stored
    data[0:2, 0:3] = 7
    np.testing.assert_array_equal(a[:], data)
    # shards of rows 0-3 and 4-7 are whole (2 each); rows 8-9 hold whole inner chunks too
    assert boxed.count(True) == 6 and boxed.count(False) == 0
    np.testing.assert_array_equal(a[:, 1:12], data[:, 1:12])  # the first column is cut


def test_a_corrupt_inner_chunk_names_its_key(tmp_path: Any) -> None:
    a = zarrkit.create_array(tmp_path, shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="f4")
    a[:] = np.arange(64, dtype="f4").reshape(8, 8)
    path = tmp_path / "c" / "0" / "1"
    shard = bytearray(path.read_bytes())
    shard[4:8] = b"\xff\xff\xff\xff"  # inside the first inner chunk's frame header
    path.write_bytes(bytes(shard))
    with pytest.raises(CodecError, match=r"c/0/1\[0,0\]"):
        a[:]


def test_a_corrupt_chunk_in_a_box_names_its_key(tmp_path: Any) -> None:
    a = zarrkit.create_array(tmp_path, shape=(4, 4), chunks=(2, 2), dtype="f4")
    a[:] = 1
    blob = LocalStore(tmp_path).get("c/1/0")
    assert blob is not None
    LocalStore(tmp_path).set("c/1/0", blob + b"\x00")  # a trailing byte
    with pytest.raises(CodecError, match="'c/1/0'"):
        a[:]


def test_box_extent_needs_every_chunk_of_the_box() -> None:
    assert boxes._box_extent([(0, 0), (0, 1), (1, 0), (1, 1)]) == (2, 2)
    assert boxes._box_extent([(0, 0), (0, 5), (0, 6), (1, 1)]) is None  # corners mislead
    assert boxes._box_extent([(0, 5), (1, 3)]) is None
    assert boxes._box_extent([(3,), (4,), (5,)]) == (3,)


SPEC = ChunkSpec(shape=(256,), dtype=np.dtype("u1"), fill_value=0)


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(zstd_frames.raw(bytes(range(256)), size=256), id="sized"),
        pytest.param(zstd_frames.raw(bytes(range(256))), id="no size header"),
        pytest.param(
            zstd_frames.raw(bytes(range(100)), size=100)
            + zstd_frames.raw(bytes(range(100, 256)), size=156),
            id="two frames",
        ),
    ],
)
def test_zstd_decodes_a_batch_of_any_valid_frames(blob: bytes) -> None:
    out = bytearray(3 * 256)
    ZstdCodec().decode_many_into([blob, None, blob], SPEC, memoryview(out), 256)
    assert out == bytes(range(256)) + bytes(256) + bytes(range(256))


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(zstd_frames.raw(bytes(256), size=256) + b"\x00", id="trailing byte"),
        pytest.param(zstd_frames.raw(bytes(256), size=256)[:-3], id="truncated"),
        pytest.param(zstd_frames.raw(bytes(255), size=255), id="too short"),
        pytest.param(zstd_frames.raw(bytes(256), size=256) * 2, id="second frame"),
    ],
)
def test_zstd_batch_refuses_what_a_single_decode_refuses(blob: bytes) -> None:
    good = zstd_frames.raw(bytes(256), size=256)
    with pytest.raises(CodecError):
        ZstdCodec().decode_many_into([good, blob], SPEC, memoryview(bytearray(512)), 256)


@pytest.mark.parametrize("dtype", ["str", "U3"])
def test_strings_are_placed_as_boxes(tmp_path: Any, boxed: list[bool], dtype: str) -> None:
    a = zarrkit.create_array(tmp_path, shape=(4, 6), chunks=(2, 3), dtype=dtype)
    data = np.array([f"{i}" for i in range(24)]).reshape(4, 6)
    a[:] = data
    with zarrkit.config.set(read_threads=1):
        assert a[:].tolist() == data.tolist()
    assert boxed == [True]
