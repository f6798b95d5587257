"""Whole chunks read and decoded by the store's compiled loop (``boxes.read_box`` through
``LocalStore.get_decoded``): each file decoded straight into its place as it is read. The
values equal Python's path, chunks the loop leaves (missing, too large, not what its
decoder takes) are read one by one, and errors name their chunk."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrkit
from tests import zstd_frames
from zarrkit import compiled, telemetry
from zarrkit.codecs.compression import blosc_batch, zstd_batch
from zarrkit.errors import ChunkNotFoundError, CodecError
from zarrkit.storage import LocalStore, native


@pytest.fixture(autouse=True)
def _built() -> None:
    if native.LIB is None or zstd_batch.decoder() is None or blosc_batch.decoder() is None:
        assert not os.environ.get("CI"), "the compiled reading or decoding loops were not built"
        pytest.skip("the compiled reading or decoding loops were not built here")


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """For each call of ``LocalStore.get_decoded``: its chunks, how many were missing and
    how many it left."""
    calls: list[tuple[int, int, int]] = []
    original = LocalStore.get_decoded

    def counting(self: LocalStore, keys: Any, *args: Any) -> tuple[list[int], list[int]]:
        absent, left = original(self, keys, *args)
        calls.append((len(keys), len(absent), len(left)))
        return absent, left

    monkeypatch.setattr(LocalStore, "get_decoded", counting)
    return calls


def totals(decoded: list[tuple[int, int, int]]) -> tuple[int, ...]:
    """The chunks of all calls of ``get_decoded``, how many were missing and how many left."""
    return tuple(sum(column) for column in zip(*decoded, strict=True)) or (0, 0, 0)


def python_read(a: Any, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """``a[...]`` as read without the loop."""
    with monkeypatch.context() as m:
        m.setattr(LocalStore, "reads_decoded", property(lambda self: False))
        return np.asarray(a[...])


CODECS: dict[str, Any] = {
    "zstd": [{"name": "zstd", "configuration": {"level": 1}}],
    "zstd-checksum": [{"name": "zstd", "configuration": {"level": 3, "checksum": True}}],
    "blosc-lz4": [
        {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}}
    ],
    "blosc-zstd": [
        {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 1, "shuffle": "bitshuffle"}}
    ],
    "none": None,
}


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("dtype", ["f4", "i2", "u1", "f8", "c8", "bool", "M8[s]"])
def test_every_chunk_is_decoded_by_the_loop(
    tmp_path: Path, decoded: list[Any], codec: str, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (np.arange(24 * 20).reshape(24, 20) % 251).astype("i8").astype(dtype)
    a = zarrkit.create_array(
        tmp_path, shape=data.shape, chunks=(4, 5), dtype=dtype, compressors=CODECS[codec]
    )
    a[...] = data
    np.testing.assert_array_equal(a[...], data)
    assert totals(decoded) == (24, 0, 0)
    np.testing.assert_array_equal(python_read(a, monkeypatch), data)


@pytest.mark.parametrize("fmt", [2, 3])
def test_missing_chunks_read_as_the_fill_value(
    tmp_path: Path, decoded: list[Any], fmt: int
) -> None:
    a = zarrkit.create_array(
        tmp_path, shape=(8, 8), chunks=(2, 2), dtype="i4", fill_value=-3, zarr_format=fmt
    )
    a[2:4, 4:8] = 5
    expected = np.full((8, 8), -3, "i4")
    expected[2:4, 4:8] = 5
    np.testing.assert_array_equal(a[...], expected)
    assert totals(decoded) == (16, 14, 0)


def test_a_directory_where_a_chunk_belongs_reads_as_missing(
    tmp_path: Path, decoded: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = zarrkit.create_array(tmp_path, shape=(4, 4), chunks=(2, 2), dtype="f4", fill_value=9)
    a[...] = 1
    (tmp_path / "c" / "1" / "1").unlink()
    (tmp_path / "c" / "1" / "1").mkdir()
    expected = np.ones((4, 4), "f4")
    expected[2:, 2:] = 9
    np.testing.assert_array_equal(a[...], expected)
    np.testing.assert_array_equal(python_read(a, monkeypatch), expected)
    assert totals(decoded) == (4, 1, 0)


@pytest.mark.parametrize(
    ("codec", "damage"),
    [
        ("zstd", lambda b: b + b"\x00"),  # a trailing byte
        ("zstd", lambda b: b[:-2]),  # truncated
        ("blosc-lz4", lambda b: b[:-1]),
        ("none", lambda b: b[:-1]),  # uncompressed, one byte short
        ("none", lambda b: b + b"\x00"),  # one byte long
    ],
)
def test_a_damaged_chunk_names_its_key(
    tmp_path: Path, decoded: list[Any], codec: str, damage: Any
) -> None:
    a = zarrkit.create_array(
        tmp_path, shape=(4, 6), chunks=(2, 3), dtype="f4", compressors=CODECS[codec]
    )
    a[...] = 1
    path = tmp_path / "c" / "1" / "0"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CodecError, match="'c/1/0'"):
        a[...]
    assert totals(decoded) == (4, 0, 1)  # the loop left it to the checked path


def test_valid_frames_the_loop_does_not_take_are_decoded_one_by_one(
    tmp_path: Path, decoded: list[Any]
) -> None:
    a = zarrkit.create_array(
        tmp_path, shape=(4, 64), chunks=(4, 32), dtype="u1", compressors=CODECS["zstd"]
    )
    a[...] = 7
    chunk = bytes(range(128))
    two_frames = zstd_frames.raw(chunk[:50], size=50) + zstd_frames.raw(chunk[50:], size=78)
    (tmp_path / "c" / "0" / "1").write_bytes(two_frames)
    (tmp_path / "c" / "0" / "0").write_bytes(zstd_frames.raw(chunk))  # no size in its header
    expected = np.frombuffer(chunk, "u1").reshape(4, 32)
    np.testing.assert_array_equal(a[...], np.hstack([expected, expected]))
    assert totals(decoded) == (2, 0, 2)


def test_a_file_larger_than_the_reading_buffer_is_left_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    store.set("small", bytes(numcodecs.Zstd().encode(bytes(2048))))
    store.set("large", zstd_frames.raw(bytes(range(256)) * 8, size=2048))  # over 1 KiB
    out = np.full((2, 2048), 0xEE, "u1")
    found: list[Any] = []

    monkeypatch.setattr(native, "BUFFER", 1024)

    def read() -> None:  # a new thread: a reading buffer of its own, of BUFFER bytes
        decoder = zstd_batch.decoder()
        assert decoder is not None
        found.append(native.read_decoded(str(tmp_path), ["large", "small"], decoder, out, 2048))

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    assert found == [[(0, 1)]]
    assert not out[1].any() and (out[0] == 0xEE).all()


def test_stored_chunks_read_straight_into_place(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.set("c/0", bytes(range(16)))
    store.set("c/1", bytes(15))  # one byte short
    store.set("c/2", bytes(17))  # one byte long
    out = np.zeros((4, 16), "u1")
    absent, left = store.get_decoded(["c/0", "c/1", "c/2", "c/3"], compiled.STORED, out, 16)
    assert (absent, left) == ([3], [1, 2])
    assert out[0].tobytes() == bytes(range(16))


def test_a_root_with_spaces_and_other_scripts(tmp_path: Path, decoded: list[Any]) -> None:
    root = tmp_path / "données d'été ☀"
    data = np.arange(36, dtype="f8").reshape(6, 6)
    zarrkit.create_array(str(root), shape=(6, 6), chunks=(2, 3), dtype="f8")[...] = data
    np.testing.assert_array_equal(zarrkit.open_array(str(root), mode="r")[...], data)
    assert totals(decoded) == (6, 0, 0)


def test_telemetry_and_missing_chunk_errors_take_the_chunk_by_chunk_path(
    tmp_path: Path, decoded: list[Any]
) -> None:
    a = zarrkit.create_array(tmp_path, shape=(4, 4), chunks=(2, 2), dtype="i2")
    a[:2] = 1
    events: list[Any] = []
    with telemetry.subscribed(events.append):
        np.testing.assert_array_equal(a[:2], 1)
    assert events and not decoded  # the events count the store calls the loop would skip
    strict = zarrkit.open_array(tmp_path, config={"read_missing_chunks": False})
    with pytest.raises(ChunkNotFoundError):
        strict[...]
    assert not decoded


BIG_ENDIAN = {"name": "bytes", "configuration": {"endian": "big"}}


@pytest.mark.parametrize(
    ("fmt", "dtype", "serializer", "by_the_loop"),
    [
        (2, ">f4", "auto", True),  # v2 keeps the byte order: the stored bytes are the array's
        (3, "<u2", "auto", True),
        (3, "f4", BIG_ENDIAN, False),  # swapped after decoding: Python's path
    ],
)
def test_byte_orders(
    tmp_path: Path, decoded: list[Any], fmt: int, dtype: str, serializer: Any, by_the_loop: bool
) -> None:
    data = np.arange(48).reshape(6, 8).astype(dtype)
    a = zarrkit.create_array(
        tmp_path, shape=(6, 8), chunks=(3, 4), dtype=dtype, zarr_format=fmt, serializer=serializer
    )
    a[...] = data
    np.testing.assert_array_equal(a[...], data)
    assert totals(decoded) == ((4, 0, 0) if by_the_loop else (0, 0, 0))


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 5),
    chunk=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    codec=st.sampled_from(sorted(CODECS)),
    holes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), max_size=4),
)
def test_reads_equal_numpy(
    tmp_path_factory: pytest.TempPathFactory,
    rows: int,
    cols: int,
    chunk: tuple[int, int],
    codec: str,
    holes: list[tuple[int, int]],
) -> None:
    shape = (rows * chunk[0], cols * chunk[1])  # whole chunks only: boxes
    data = np.random.default_rng(rows * 31 + cols).integers(1, 99, shape).astype("i4")
    path = tmp_path_factory.mktemp("r")
    a = zarrkit.create_array(
        path, shape=shape, chunks=chunk, dtype="i4", fill_value=0, compressors=CODECS[codec]
    )
    a[...] = data
    for i, j in holes:  # missing chunks
        if i < rows and j < cols:
            a[i * chunk[0] : (i + 1) * chunk[0], j * chunk[1] : (j + 1) * chunk[1]] = 0
            data[i * chunk[0] : (i + 1) * chunk[0], j * chunk[1] : (j + 1) * chunk[1]] = 0
    with zarrkit.config.set(read_threads=2):
        np.testing.assert_array_equal(a[...], data)
        np.testing.assert_array_equal(a[chunk[0] :, : chunk[1]], data[chunk[0] :, : chunk[1]])


@pytest.mark.parametrize(("module", "codec"), [(zstd_batch, "zstd"), (blosc_batch, "blosc-lz4")])
def test_without_the_decoding_loop_chunks_decode_in_python(
    tmp_path: Path, decoded: list[Any], monkeypatch: pytest.MonkeyPatch, module: Any, codec: str
) -> None:
    monkeypatch.setattr(module, "LIB", None)
    data = np.arange(64, dtype="f4").reshape(8, 8)
    a = zarrkit.create_array(
        tmp_path, shape=(8, 8), chunks=(4, 4), dtype="f4", compressors=CODECS[codec]
    )
    a[...] = data
    np.testing.assert_array_equal(a[...], data)
    assert module.decoder() is None and not decoded
