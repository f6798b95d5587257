"""Indexing checked against NumPy through a reference chunked array.

``ChunkedReference`` really splits a NumPy array into chunk arrays per DimGrid (edge chunks
padded with a sentinel) and reads and writes only through ``project()``, as the engine
does; so these properties prove the projection, not just ``normalize``.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
from hypothesis import given

from zarrkit.indexing import (
    ChunkRead,
    GridProjection,
    Selection,
    normalize,
    normalize_blocks,
    project,
    projection,
)
from zarrkit.metadata.chunk_grid import DimGrid
from zarrkit.testing import strategies as zst
from zarrkit.testing.oracle import expand, orthogonal_get, orthogonal_set

PADDING = -1  # stored past the array's end in edge chunks; must never be read
UNSET = -2  # initial buffer content; must all be overwritten
FRESH = -3  # a chunk the engine creates without reading (complete writes)
WRITTEN = 10_000  # written values start here, distinct from the array's


class ChunkedReference:
    """A NumPy array stored as a dict of full-size chunk arrays, accessed via project()."""

    def __init__(self, data: np.ndarray, dims: tuple[DimGrid, ...]):
        self.shape, self.dims = data.shape, dims
        self.chunks: dict[tuple[int, ...], np.ndarray] = {}
        for coords in np.ndindex(*(d.nchunks for d in dims)):
            chunk = np.full(self._chunk_shape(coords), PADDING, dtype=np.int64)
            region = data[self._region(coords)]
            chunk[tuple(slice(0, n) for n in region.shape)] = region
            self.chunks[coords] = chunk

    def _chunk_shape(self, coords: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(d.chunk_len(i) for d, i in zip(self.dims, coords, strict=True))

    def _region(self, coords: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(
            slice(d.chunk_start(i), min(d.chunk_start(i) + d.chunk_len(i), d.length))
            for d, i in zip(self.dims, coords, strict=True)
        )

    def plan(self, selection: Selection) -> list[ChunkRead]:
        plan = project(selection, self.dims)
        coords = [r.coords for r in plan]
        assert coords == sorted(set(coords)), "each chunk once, in C order"
        assert all(c in self.chunks for c in coords)
        return plan

    def read(self, selection: Selection) -> np.ndarray:
        buffer = np.full(selection.buffer_shape, UNSET, dtype=np.int64)
        for r in self.plan(selection):
            buffer[r.out_sel] = self.chunks[r.coords][r.chunk_sel]
        return buffer.reshape(selection.out_shape)

    def write(self, selection: Selection, value: np.ndarray) -> None:
        source = np.broadcast_to(value, selection.out_shape).reshape(selection.buffer_shape)
        for r in self.plan(selection):
            old = self.chunks[r.coords]
            if r.complete:  # the engine writes these without reading the old chunk
                chunk = np.full(old.shape, FRESH, dtype=np.int64)
                chunk[r.chunk_sel] = source[r.out_sel]
                inside = chunk[tuple(slice(0, s.stop - s.start) for s in self._region(r.coords))]
                assert (inside != FRESH).all(), f"chunk {r.coords} marked complete, is not"
                chunk = np.where(chunk == FRESH, old, chunk)  # keep the padding for checks
            else:
                chunk = old.copy()
                chunk[r.chunk_sel] = source[r.out_sel]
            self.chunks[r.coords] = chunk

    def to_numpy(self) -> np.ndarray:
        out = np.full(self.shape, UNSET, dtype=np.int64)
        for coords, chunk in self.chunks.items():
            region = self._region(coords)
            inside = tuple(slice(0, s.stop - s.start) for s in region)
            out[region] = chunk[inside]
            padding = np.ones(chunk.shape, dtype=bool)
            padding[inside] = False
            assert (chunk[padding] == PADDING).all(), f"write spilled into chunk {coords}'s padding"
        return out


@st.composite
def arrays_and_grids(draw: st.DrawFn, *, rectilinear: bool = True) -> tuple[np.ndarray, Any]:
    shape = draw(zst.shapes())
    dims = draw(zst.dim_grids(shape, rectilinear=rectilinear))
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape), dims


def written_values(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) + WRITTEN


def block_key(key: Any, dims: tuple[DimGrid, ...]) -> tuple[slice, ...]:
    """A block selection as the element slices it means (independent of zarrkit)."""
    out = []
    for item, d in zip(expand(key, len(dims)), dims, strict=True):
        blocks = range(d.nchunks)[item]
        blocks = blocks if isinstance(blocks, range) else range(blocks, blocks + 1)
        lo = min(d.chunk_start(blocks.start), d.length) if blocks else 0
        hi = min(d.chunk_start(blocks.stop), d.length) if blocks else 0
        out.append(slice(lo, hi))
    return tuple(out)


def numpy_get(a: np.ndarray, mode: str, key: Any) -> np.ndarray:
    return orthogonal_get(a, key) if mode == "orthogonal" else np.asarray(a[key])


def numpy_set(a: np.ndarray, mode: str, key: Any, value: np.ndarray) -> None:
    if mode == "orthogonal":
        orthogonal_set(a, key, value)
    else:
        a[key] = value


def check_read_write(
    data: np.ndarray, dims: Any, selection: Selection, mode: str, key: Any
) -> None:
    ref = ChunkedReference(data, dims)
    expected = numpy_get(data, mode, key)
    assert selection.out_shape == expected.shape
    np.testing.assert_array_equal(ref.read(selection), expected)

    value = written_values(selection.out_shape)
    ref.write(selection, value)
    after = data.copy()
    numpy_set(after, mode, key, value)
    np.testing.assert_array_equal(ref.to_numpy(), after)


# --- read and write, every mode ----------------------------------------------------------


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_basic(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    a, dims = case
    key = data.draw(zst.basic_selections(a.shape))
    check_read_write(a, dims, normalize(key, a.shape, "basic"), "basic", key)


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_orthogonal(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    a, dims = case
    key = data.draw(zst.orthogonal_selections(a.shape))
    check_read_write(a, dims, normalize(key, a.shape, "orthogonal"), "orthogonal", key)


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_coordinate(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    """Includes repeated points: on write the last occurrence wins, as in NumPy."""
    a, dims = case
    key = data.draw(zst.coordinate_selections(a.shape))
    check_read_write(a, dims, normalize(key, a.shape, "coordinate"), "coordinate", key)


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_mask(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    a, dims = case
    mask = data.draw(zst.mask_selections(a.shape))
    check_read_write(a, dims, normalize(mask, a.shape, "mask"), "mask", mask)


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_blocks(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    a, dims = case
    key = data.draw(zst.block_selections(dims))
    selection = normalize_blocks(key, a.shape, dims)
    check_read_write(a, dims, selection, "basic", block_key(key, dims))


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_auto_dispatches_as_zarr_python(data: st.DataObject, case: tuple[np.ndarray, Any]) -> None:
    a, dims = case
    mode, key = data.draw(zst.auto_selections(a.shape))
    check_read_write(a, dims, normalize(key, a.shape, "auto"), mode, key)


@zst.profile()
@given(st.data(), arrays_and_grids())
def test_blocks_split_a_plan_by_group_without_losing_or_changing_a_chunk(
    data: st.DataObject, case: tuple[np.ndarray, Any]
) -> None:
    """``GridProjection.blocks`` (writers and readers split a plan by shard with it): every
    chunk lands in the block of its group, once, with its part of the selection intact."""
    a, dims = case
    key = data.draw(zst.orthogonal_selections(a.shape))
    plan = projection(normalize(key, a.shape, "orthogonal"), dims)
    assert isinstance(plan, GridProjection)
    per = [data.draw(st.integers(1, 4)) for _ in dims]  # chunks per group, per dimension
    groups = [[ix // n for ix in p.ixs] for p, n in zip(plan.plans, per, strict=True)]
    blocks = plan.blocks(groups)
    listed = [(group, r) for group, block in blocks for r in block.reads()]
    for group, r in listed:
        assert group == tuple(ix // n for ix, n in zip(r.coords, per, strict=True))
    assert [g for g, _ in blocks] == sorted({g for g, _ in blocks}), "each group once, in order"

    def same(r: ChunkRead) -> tuple[Any, ...]:
        return (r.coords, repr(r.chunk_sel), repr(r.out_sel), r.complete)

    assert sorted(same(r) for _, r in listed) == sorted(same(r) for r in plan.reads())


# --- error parity ------------------------------------------------------------------------


def _raises(f: Any, *args: Any) -> BaseException | None:
    try:
        f(*args)
    except Exception as e:
        return e
    return None


@zst.profile()
@given(st.data(), zst.shapes(max_dims=3))
def test_numpy_index_errors_are_index_errors(data: st.DataObject, shape: tuple[int, ...]) -> None:
    """Whenever NumPy raises IndexError, so does zarrkit in basic and auto mode, and in
    orthogonal mode when the key has at most one index array (else NumPy's error may be
    about broadcasting, which orthogonal indexing does not do); whenever a basic key works
    in NumPy and in zarrkit, the results agree."""
    key = data.draw(zst.loose_selections(shape))
    a = np.arange(int(np.prod(shape))).reshape(shape)
    dims = tuple(DimGrid(n, 2) for n in shape)
    numpy_error = _raises(a.__getitem__, key)
    narrays = sum(isinstance(x, list) for x in (key if isinstance(key, tuple) else (key,)))
    modes = ("basic", "auto", "orthogonal") if narrays <= 1 else ("basic", "auto")
    for mode in modes:
        ours = _raises(lambda m=mode: project(normalize(key, shape, m), dims))
        if isinstance(numpy_error, IndexError):
            assert isinstance(ours, IndexError), (
                f"{mode}: NumPy raised {numpy_error!r}, we {ours!r}"
            )
    if numpy_error is None and _raises(normalize, key, shape, "basic") is None:
        sel = normalize(key, shape, "basic")
        np.testing.assert_array_equal(ChunkedReference(a, dims).read(sel), a[key])


@zst.profile()
@given(st.data(), zst.shapes(min_dims=1, max_dims=3))
def test_coordinate_errors_match_numpy(data: st.DataObject, shape: tuple[int, ...]) -> None:
    """Out-of-bounds points and unbroadcastable index arrays raise IndexError, as in NumPy."""
    n = max(shape)
    arrays = st.lists(st.integers(-n - 2, n + 2), max_size=4).map(np.array)
    key = tuple(data.draw(arrays) for _ in shape)
    a = np.zeros(shape)
    numpy_error = _raises(a.__getitem__, key)
    ours = _raises(normalize, key, shape, "coordinate")
    assert isinstance(ours, IndexError) == isinstance(numpy_error, IndexError), (numpy_error, ours)


@given(st.integers(1, 5000), st.integers(1, 700), st.sampled_from([np.int32, np.int64]))
def test_regular_chunk_of_splits_each_index_into_chunk_and_offset(
    length: int, size: int, dtype: type[np.signedinteger[Any]]
) -> None:
    """In the 32 or 64 bits the planner divides in: ``ix * size + offset`` is the index."""
    indices = np.arange(length, dtype=dtype)
    ix, offset = DimGrid(length, size).chunk_of(indices)
    assert ix.dtype == offset.dtype == dtype
    np.testing.assert_array_equal(ix * size + offset, indices)
    assert ((offset >= 0) & (offset < size)).all()
    np.testing.assert_array_equal(ix, indices // size)
