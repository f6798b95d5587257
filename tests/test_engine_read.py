"""The engine's read loop: keys built in bulk, bounded fetch windows, errors naming keys."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zarrkit
from zarrkit.codecs import CodecPipeline
from zarrkit.engine import reading
from zarrkit.errors import CodecError
from zarrkit.metadata.chunk_key import DefaultKeyEncoding, V2KeyEncoding
from zarrkit.storage import LocalStore, MemoryStore

ENCODINGS = [
    DefaultKeyEncoding(separator="/"),
    DefaultKeyEncoding(separator="."),
    V2KeyEncoding(separator="."),
    V2KeyEncoding(separator="/"),
]


@given(
    st.sampled_from(ENCODINGS),
    st.lists(st.integers(0, 10**12), max_size=4).map(tuple),
)
def test_key_template_agrees_with_encode(encoding: object, coords: tuple[int, ...]) -> None:
    template = encoding.template(len(coords))  # type: ignore[attr-defined]
    assert template % coords == encoding.encode(coords)  # type: ignore[attr-defined]


class CountingStore(MemoryStore):
    """Records the number of keys of every ``get_many`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self.batches.append(len(keys))
        return super().get_many(keys)


def _bounded_reads(
    monkeypatch: pytest.MonkeyPatch, box_chunks: int, fmt: int = 3
) -> tuple[zarrkit.Array, np.ndarray, CountingStore]:
    """A (40, 30) array of (4, 3) chunks (rows of 10) with reads bounded to 7 chunks in
    flight and ``box_chunks`` in a box; the store counts each batch it is asked for."""
    store = CountingStore()
    a = zarrkit.create_array(store, shape=(40, 30), chunks=(4, 3), dtype="f8", zarr_format=fmt)
    data = np.arange(1200.0).reshape(40, 30)
    a[:] = data
    chunk_nbytes = 4 * 3 * 8
    monkeypatch.setattr(reading, "IN_FLIGHT", 7 * chunk_nbytes)
    monkeypatch.setattr(reading, "BOX_IN_FLIGHT", box_chunks * chunk_nbytes)
    store.batches.clear()
    return a, data, store


@pytest.mark.parametrize("fmt", [2, 3])
def test_reads_fetch_bounded_windows(fmt: int, monkeypatch: pytest.MonkeyPatch) -> None:
    a, data, store = _bounded_reads(monkeypatch, 25, fmt)
    with zarrkit.config.set(read_threads=2):
        np.testing.assert_array_equal(a[:], data)  # whole chunks: whole rows of 10, at most 2
        assert max(store.batches) <= 20 and sum(store.batches) == 100
        assert all(batch % 10 == 0 for batch in store.batches)
        store.batches.clear()
        np.testing.assert_array_equal(a[1:39, 2:29], data[1:39, 2:29])
    assert max(store.batches) == 7
    assert sum(store.batches) == 100  # every chunk fetched once


def test_whole_chunks_wider_than_a_box_row_come_in_windows_of_the_box_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a row of chunks (10) is more than a box may hold (4): the windows, which are decoded
    # into a scratch of their size, are bounded by the box bound, not the fetch bound (7)
    a, data, store = _bounded_reads(monkeypatch, 4)
    with zarrkit.config.set(read_threads=2):
        np.testing.assert_array_equal(a[:], data)
    assert max(store.batches) == 4
    assert sum(store.batches) == 100


@pytest.mark.parametrize("name", ["a%d", "100%", "b%%s"])
def test_percent_in_the_array_path(name: str) -> None:
    store = MemoryStore()
    a = zarrkit.create_array(store, name=name, shape=(6,), chunks=(4,), dtype="i2")
    a[:] = np.arange(6)
    assert sorted(k for k in store.list() if "/c/" in k) == [f"{name}/c/0", f"{name}/c/1"]
    np.testing.assert_array_equal(zarrkit.open_array(store, path=name)[:], np.arange(6))


@pytest.mark.parametrize("key", [slice(None), slice(1, 3), [0, 2]])
def test_corrupt_chunk_names_its_key_on_every_path(tmp_path: object, key: object) -> None:
    a = zarrkit.create_array(tmp_path, shape=(4,), chunks=(2,), dtype="i4")
    a[:] = 7
    LocalStore(tmp_path).set("c/0", b"garbage")  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="'c/0'"):
        a.oindex[key] if isinstance(key, list) else a[key]
    with pytest.raises(CodecError, match="'c/0'"):
        list(a.iter_chunks())


def _windows(shape: tuple[int, ...], seed: int = 3) -> list[tuple[slice, ...]]:
    rng = np.random.default_rng(seed)
    windows = []
    for _ in range(25):
        starts = [int(rng.integers(0, n)) for n in shape]
        stops = [int(rng.integers(s + 1, n + 1)) for s, n in zip(starts, shape, strict=True)]
        windows.append(tuple(slice(a, b) for a, b in zip(starts, stops, strict=True)))
    return windows


@pytest.mark.parametrize(
    ("options", "heads"),
    [
        ({"dtype": "f8"}, True),
        ({"dtype": "i2", "shards": (20, 12)}, True),  # inner chunks of shards
        ({"dtype": "u1", "zarr_format": 2}, True),
        ({"dtype": ">f4", "zarr_format": 2}, True),  # big-endian bytes, as the dtype
        ({"dtype": "f8", "zarr_format": 2, "order": "F"}, False),  # stored transposed
        ({"dtype": "f8", "cache": 1 << 20}, False),  # the cache keeps whole chunks
        ({"dtype": "f8", "compressors": {"name": "gzip"}}, False),
    ],
)
def test_windows_decode_leading_rows_where_they_can(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], heads: bool
) -> None:
    pytest.importorskip("zstandard")
    shape, data_dtype = (43, 37), np.dtype(options["dtype"])  # type: ignore[call-overload]
    data = np.arange(43 * 37).reshape(shape).astype(data_dtype)
    a = zarrkit.create_array(tmp_path, shape=shape, chunks=(10, 12), fill_value=5, **options)  # type: ignore[arg-type]
    a[:30] = data[:30]  # the chunks of rows 30 and on are missing: the fill value
    expected = data.copy()
    expected[30:] = 5
    short: list[int] = []
    decode_head = CodecPipeline.decode_head

    def spy(self: CodecPipeline, blob: bytes, rows: int, **kw: object) -> np.ndarray:
        head = decode_head(self, blob, rows, **kw)  # type: ignore[arg-type]
        short.append(len(head) < self.spec.shape[0])
        return head

    monkeypatch.setattr(CodecPipeline, "decode_head", spy)
    for window in [*_windows(shape), (3, slice(4, 30)), (slice(31, 43), slice(0, 37))]:
        np.testing.assert_array_equal(a[window], expected[window])
    for threads in (1, 4):
        with zarrkit.config.set(read_threads=threads):
            np.testing.assert_array_equal(a[slice(1, 42, 3), 7:9], expected[1:42:3, 7:9])
    assert any(short) == heads


def test_reads_of_leading_rows_still_reject_truncated_chunks(tmp_path: object) -> None:
    pytest.importorskip("zstandard")
    a = zarrkit.create_array(tmp_path, shape=(64, 64), chunks=(64, 64), dtype="f8")
    a[:] = np.arange(64 * 64.0).reshape(64, 64)
    store = LocalStore(tmp_path)  # type: ignore[arg-type]
    blob = store.get("c/0/0")
    assert blob is not None
    np.testing.assert_array_equal(a[:2, 5:9], np.arange(64 * 64.0).reshape(64, 64)[:2, 5:9])
    for bad in (blob[:-1], blob + b"\0"):
        store.set("c/0/0", bad)
        with pytest.raises(CodecError, match="'c/0/0'"):
            a[:2, 5:9]


@pytest.mark.parametrize(
    ("options", "reuse"),
    [
        ({"dtype": "f8"}, True),
        ({"dtype": "u1", "zarr_format": 2}, True),
        ({"dtype": ">f4", "zarr_format": 2}, True),  # big-endian bytes, as the dtype
        ({"dtype": "f8", "compressors": {"name": "gzip"}}, True),
        ({"dtype": "f8", "zarr_format": 2, "order": "F"}, False),  # stored transposed
        ({"dtype": "f8", "cache": 1 << 20}, False),  # the cache keeps whole chunks
    ],
)
def test_scattered_reads_decode_into_one_scratch_where_they_can(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], reuse: bool
) -> None:
    shape, data_dtype = (43, 37), np.dtype(options["dtype"])  # type: ignore[call-overload]
    data = np.arange(43 * 37).reshape(shape).astype(data_dtype)
    a = zarrkit.create_array(tmp_path, shape=shape, chunks=(10, 12), fill_value=5, **options)  # type: ignore[arg-type]
    a[:] = data
    a[10:20, 12:24] = 5  # a chunk of the fill value, not stored: between decoded ones
    expected = data.copy()
    expected[10:20, 12:24] = 5
    decodes: list[int] = []
    decode = CodecPipeline.decode

    def spy(self: CodecPipeline, blob: bytes, **kw: object) -> np.ndarray:
        decodes.append(1)
        return decode(self, blob, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(CodecPipeline, "decode", spy)
    rng = np.random.default_rng(5)
    points = tuple(rng.integers(0, n, 400) for n in shape)
    rows, cols = [40, 3, 17, 3], [36, 0, 13]
    for threads in (1, 4):
        with zarrkit.config.set(read_threads=threads):
            np.testing.assert_array_equal(a.vindex[points], expected[points])
            np.testing.assert_array_equal(a.oindex[rows, cols], expected[np.ix_(rows, cols)])
    assert (not decodes) == reuse
