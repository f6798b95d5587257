"""Unit tests of zarrkit.indexing: normalize, project, errors, and zarr-python parity."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from optional import needs

from zarrkit import indexing
from zarrkit.errors import BoundsCheckError, BoundsError, IndexingError, SelectionTypeError
from zarrkit.indexing import (
    Int,
    Ints,
    Selection,
    Slice,
    normalize,
    normalize_blocks,
    normalize_fields,
    pop_fields,
    project,
)
from zarrkit.metadata.chunk_grid import DimGrid


def grid(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[DimGrid, ...]:
    return tuple(DimGrid(n, c) for n, c in zip(shape, chunks, strict=True))


def read(a: np.ndarray, dims: tuple[DimGrid, ...], selection: Selection) -> np.ndarray:
    """What the engine does: copy each chunk's part into the buffer, reshape."""
    buffer = np.full(selection.buffer_shape, -1, dtype=a.dtype)
    for r in project(selection, dims):
        region = tuple(
            slice(d.chunk_start(i), d.chunk_start(i) + d.chunk_len(i))
            for d, i in zip(dims, r.coords, strict=True)
        )
        chunk = np.zeros(
            tuple(d.chunk_len(i) for d, i in zip(dims, r.coords, strict=True)), a.dtype
        )
        part = a[region]
        chunk[tuple(slice(0, n) for n in part.shape)] = part
        buffer[r.out_sel] = chunk[r.chunk_sel]
    return buffer.reshape(selection.out_shape)


def get(a: np.ndarray, key: Any, chunks: tuple[int, ...], mode: Any = "auto") -> np.ndarray:
    return read(a, grid(a.shape, chunks), normalize(key, a.shape, mode))


A2 = np.arange(63).reshape(7, 9)
A3 = np.arange(120).reshape(4, 5, 6)


# --- normalize ---------------------------------------------------------------------------


def test_integers_and_slices_are_normalized() -> None:
    sel = normalize((-1, slice(None, None, 4)), (7, 9), "basic")
    assert sel.dims == (Int(6), Slice(0, 9, 4))
    assert sel.dims[1].length == 3
    assert (sel.mode, sel.out_shape, sel.buffer_shape) == ("basic", (3,), (1, 3))


@pytest.mark.parametrize(
    ("s", "length", "expected"),
    [
        (slice(None), 5, Slice(0, 5, 1)),
        (slice(1, 100, 3), 10, Slice(1, 8, 3)),  # stop is one past the last element
        (slice(-3, None), 10, Slice(7, 10, 1)),
        (slice(8, 2), 10, Slice(8, 8, 1)),  # empty: stop == start
        (slice(20, None), 10, Slice(10, 10, 1)),
        (slice(None), 0, Slice(0, 0, 1)),
    ],
)
def test_slice_normal_form(s: slice, length: int, expected: Slice) -> None:
    (dim,) = normalize(s, (length,), "basic").dims
    assert dim == expected
    assert dim.length == len(range(length)[s])


@pytest.mark.parametrize(
    "key", [3, np.int8(3), np.uint64(3), np.array(3), (3,), (Ellipsis, 3), [3], np.array([3])]
)
def test_integer_like_keys(key: Any) -> None:
    sel = normalize(key, (10,), "orthogonal")
    expected = (Ints,) if isinstance(key, list | np.ndarray) and np.ndim(key) == 1 else (Int,)
    assert tuple(type(d) for d in sel.dims) == expected
    np.testing.assert_array_equal(get(np.arange(10), key, (4,), "orthogonal"), np.arange(10)[key])


def test_zero_dimensional_arrays() -> None:
    a = np.array(42)
    for key in [(), Ellipsis]:
        for mode in ("basic", "orthogonal", "auto"):
            sel = normalize(key, (), mode)
            assert (sel.dims, sel.out_shape, sel.buffer_shape) == ((), (), ())
            (r,) = project(sel, ())
            assert (r.coords, r.complete) == ((), True)
            assert read(a, (), sel) == 42
    sel = normalize((), (), "coordinate")
    assert (sel.out_shape, sel.buffer_shape) == ((), (1,))
    assert read(a, (), sel) == 42
    for mask in (np.array(True), np.array(False)):
        np.testing.assert_array_equal(read(a, (), normalize(mask, (), "auto")), a[mask])
    with pytest.raises(IndexingError, match="too many indices"):
        normalize(0, (), "basic")


def test_zero_length_dimensions_touch_no_chunk() -> None:
    dims = (DimGrid(0, 4), DimGrid(5, 2))
    for key, mode in [
        ((), "basic"),
        (([], [1, 2]), "orthogonal"),
        (np.zeros((0, 5), bool), "mask"),
    ]:
        sel = normalize(key, (0, 5), mode)
        assert 0 in sel.out_shape
        assert project(sel, dims) == []


def test_chunks_larger_than_the_array() -> None:
    (r,) = project(normalize((slice(None), 1), (3, 4), "basic"), grid((3, 4), (10, 10)))
    assert r.coords == (0, 0)
    assert r.chunk_sel == (slice(0, 3, 1), slice(1, 2, 1))
    assert not r.complete
    (r,) = project(normalize(Ellipsis, (3, 4), "basic"), grid((3, 4), (10, 10)))
    assert r.complete  # covers everything inside the array


def test_boolean_arrays_become_indices() -> None:
    (dim,) = normalize([True, False, True, True], (4,), "orthogonal").dims
    assert isinstance(dim, Ints)
    np.testing.assert_array_equal(dim.indices, [0, 2, 3])
    assert dim.indices.dtype == np.int64


def test_empty_list_is_an_empty_index_as_in_numpy() -> None:
    assert normalize([], (5,), "auto").out_shape == (0,)
    assert normalize((slice(None), []), (4, 5), "auto").out_shape == (4, 0)


def test_user_index_arrays_are_not_modified() -> None:
    index = np.array([-1, -2, 0])
    sel = normalize((index, index), (3, 3), "coordinate")
    np.testing.assert_array_equal(index, [-1, -2, 0])
    np.testing.assert_array_equal(sel.dims[0].indices, [2, 1, 0])


def test_coordinate_selection_broadcasts() -> None:
    rows = np.array([[0], [6]])
    cols = np.array([1, 2, 8])
    sel = normalize((rows, cols), (7, 9), "coordinate")
    assert (sel.out_shape, sel.buffer_shape) == ((2, 3), (6,))
    np.testing.assert_array_equal(get(A2, (rows, cols), (3, 4), "coordinate"), A2[rows, cols])
    np.testing.assert_array_equal(get(A2, (rows, 3), (3, 4), "coordinate"), A2[rows, 3])


def test_coordinate_mode_accepts_a_mask_like_vindex() -> None:
    mask = A2 % 5 == 0
    assert normalize(mask, A2.shape, "coordinate").out_shape == (int(mask.sum()),)
    np.testing.assert_array_equal(get(A2, mask, (3, 4), "coordinate"), A2[mask])


# --- auto dispatch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "key", "mode"),
    [
        ((7, 9), (1, slice(2, 5)), "basic"),
        ((7, 9), Ellipsis, "basic"),
        ((9,), [1, 2], "coordinate"),
        ((9,), np.array([[1, 2]]), "coordinate"),
        ((7, 9), ([1, 2], [3, 4]), "coordinate"),
        ((7, 9), (1, [3, 4]), "coordinate"),
        ((7, 9), [1, 2], "orthogonal"),
        ((7, 9), ([1, 2], slice(None)), "orthogonal"),
        ((4, 5, 6), (1, slice(None), [0, 1]), "orthogonal"),
        ((7, 9), (np.ones(7, bool), np.ones(9, bool)), "orthogonal"),
        ((7, 9), (np.ones(7, bool), [1, 2]), "orthogonal"),
        ((7, 9), np.ones(7, bool), "orthogonal"),
        ((7, 9), [True] * 7, "orthogonal"),
        ((9,), [True] * 9, "coordinate"),  # a 1-D mask
        ((7, 9), np.ones((7, 9), bool), "coordinate"),  # a mask
    ],
)
def test_auto_dispatch(shape: tuple[int, ...], key: Any, mode: str) -> None:
    assert normalize(key, shape, "auto").mode == mode


# --- project -----------------------------------------------------------------------------


def test_project_basic_slices_per_chunk() -> None:
    plan = project(normalize((slice(1, 8, 3), 5), (10, 9), "basic"), grid((10, 9), (4, 4)))
    assert [r.coords for r in plan] == [(0, 1), (1, 1)]
    assert plan[0].chunk_sel == (slice(1, 2, 3), slice(1, 2, 1))
    assert plan[0].out_sel == (slice(0, 1), slice(0, 1))
    assert plan[1].chunk_sel == (slice(0, 4, 3), slice(1, 2, 1))
    assert plan[1].out_sel == (slice(1, 3), slice(0, 1))


def test_a_step_longer_than_a_chunk_skips_chunks() -> None:
    plan = project(normalize(slice(1, None, 7), (20,), "basic"), (DimGrid(20, 3),))
    assert [r.coords for r in plan] == [(0,), (2,), (5,)]


def test_complete_flags() -> None:
    dims = grid((10,), (4,))

    def complete(key: Any, mode: Any = "basic") -> list[bool]:
        return [r.complete for r in project(normalize(key, (10,), mode), dims)]

    assert complete(slice(None)) == [True, True, True]  # the edge chunk holds 2 elements
    assert complete(slice(1, None)) == [False, True, True]
    assert complete(slice(None, None, 2)) == [False, False, False]
    assert complete(slice(8, None, 2)) == [False]
    assert complete([3, 2, 1, 0, 0, 9], "orthogonal") == [True, False]
    assert complete([3, 2, 1, 1, 9, 8], "orthogonal") == [False, True]
    assert complete(np.arange(10) != 5, "mask") == [True, False, True]
    assert complete(([0, 1, 2, 3, 3],), "coordinate") == [True]
    assert complete(([0, 1, 2, 2],), "coordinate") == [False]
    assert [r.complete for r in project(normalize(1, (10,), "basic"), grid((10,), (1,)))] == [True]


def test_consecutive_indices_in_a_chunk_become_slices() -> None:
    (r0, r1) = project(normalize([1, 2, 3, 4, 6], (10,), "orthogonal"), grid((10,), (4,)))
    assert r0.chunk_sel == (slice(1, 4),)
    assert r0.out_sel == (slice(0, 3),)
    np.testing.assert_array_equal(r1.chunk_sel[0], [0, 2])


def test_unsorted_and_repeated_orthogonal_indices() -> None:
    index = [8, 0, 8, 3, 0]
    plan = project(normalize(index, (10,), "orthogonal"), grid((10,), (4,)))
    assert [r.coords for r in plan] == [(0,), (2,)]
    np.testing.assert_array_equal(plan[0].out_sel[0], [1, 3, 4])  # original order kept
    np.testing.assert_array_equal(get(np.arange(10), index, (4,), "orthogonal"), index)


@pytest.mark.parametrize("key", [([1, 5], slice(None), [0, 5]), ([6, 0], 2, [5, 1, 1])])
def test_several_orthogonal_arrays_around_slices_and_integers(key: Any) -> None:
    a = np.arange(7 * 8 * 6).reshape(7, 8, 6)
    rows, middle, cols = key
    middle_ix = np.arange(8)[middle] if isinstance(middle, slice) else [middle]
    expected = a[np.ix_(rows, middle_ix, cols)]
    if not isinstance(middle, slice):
        expected = expected[:, 0]
    np.testing.assert_array_equal(get(a, key, (3, 3, 4), "orthogonal"), expected)


def test_coordinate_plan_groups_points_by_chunk() -> None:
    rows, cols = np.array([5, 0, 5, 1]), np.array([0, 1, 0, 8])
    plan = project(normalize((rows, cols), (7, 9), "coordinate"), grid((7, 9), (3, 4)))
    assert [r.coords for r in plan] == [(0, 0), (0, 2), (1, 0)]
    np.testing.assert_array_equal(plan[2].out_sel, [0, 2])
    np.testing.assert_array_equal(plan[2].chunk_sel[0], [2, 2])


@pytest.mark.parametrize(
    ("shape", "chunks"), [((7, 9), (3, 4)), ((2**31 + 5, 2), (2**31, 2)), ((10, 2), (2**40, 2))]
)
def test_coordinate_plans_hold_past_32_bit_indices_and_chunks(shape, chunks) -> None:
    """Points are grouped in 32 bits where the array and its chunks allow, else in 64."""
    rows = np.array([shape[0] - 1, 0, shape[0] - 1, 1])
    cols = np.array([0, 1, 0, 1])
    plan = project(normalize((rows, cols), shape, "coordinate"), grid(shape, chunks))
    points = np.stack([rows, cols])
    assert sorted(i for r in plan for i in r.out_sel) == [0, 1, 2, 3]  # each point once
    for r in plan:
        mine = points[:, r.out_sel]
        np.testing.assert_array_equal(mine[0] // chunks[0], r.coords[0])
        np.testing.assert_array_equal(mine[1] // chunks[1], r.coords[1])
        np.testing.assert_array_equal(mine[0] % chunks[0], r.chunk_sel[0])
        np.testing.assert_array_equal(mine[1] % chunks[1], r.chunk_sel[1])


def test_repeated_points_last_write_wins_deterministically() -> None:
    rng = np.random.default_rng(0)
    shape, chunks = (50, 40), (16, 16)
    points = tuple(rng.integers(0, n, 20_000) for n in shape)  # many repeats per chunk
    values = np.arange(20_000)
    expected = np.zeros(shape, np.int64)
    expected[points] = values
    dims = grid(shape, chunks)
    chunks_data = {}
    for r in project(normalize(points, shape, "coordinate"), dims):
        chunk = chunks_data.setdefault(r.coords, np.zeros(chunks, np.int64))
        chunk[r.chunk_sel] = values[r.out_sel]
    got = np.block([[chunks_data[(i, j)] for j in range(3)] for i in range(4)])[:50, :40]
    np.testing.assert_array_equal(got, expected)


def test_rectilinear_grid() -> None:
    dims = (DimGrid(10, 5, np.array([0, 2, 7, 10])),)
    plan = project(normalize(slice(1, 9), (10,), "basic"), dims)
    assert [(r.coords, r.chunk_sel, r.complete) for r in plan] == [
        ((0,), (slice(1, 2, 1),), False),
        ((1,), (slice(0, 5, 1),), True),
        ((2,), (slice(0, 2, 1),), False),
    ]


def test_block_selection() -> None:
    dims = grid((10, 7), (4, 3))
    sel = normalize_blocks((-1, slice(1, None)), (10, 7), dims)
    assert sel.dims == (Slice(8, 10, 1), Slice(3, 7, 1))
    assert sel.out_shape == (2, 4)
    assert normalize_blocks(slice(2, 9), (10, 7), dims).out_shape == (2, 7)  # stop clipped
    assert normalize_blocks(Ellipsis, (0,), (DimGrid(0, 4),)).out_shape == (0,)


@pytest.mark.parametrize("key", [slice(3, None), slice(5, 9), slice(-4, 2), 3, -4])
def test_block_selection_past_the_last_block_raises(key: Any) -> None:
    # zarr-python's rule: a block index, or a block slice's start, must name a block
    with pytest.raises(BoundsCheckError, match="out"):
        normalize_blocks(key, (10, 7), grid((10, 7), (4, 3)))


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "mode", "error", "match"),
    [
        (10, "basic", BoundsError, "index 10 is out of bounds for dimension 0 with length 10"),
        (-11, "basic", BoundsError, "index -11 .* dimension 0 with length 10"),
        ([1, 12], "orthogonal", BoundsError, "index 12 .* dimension 0 with length 10"),
        (([3, -12],), "coordinate", BoundsError, "index -12 .* dimension 0"),
        (np.array([2**63], np.uint64), "orthogonal", BoundsError, "9223372036854775808"),
        (slice(None, None, -1), "basic", IndexingError, "step -1"),
        (slice(None, None, 0), "basic", IndexingError, "step 0"),
        (None, "basic", IndexingError, "newaxis"),
        (True, "auto", IndexingError, "boolean scalar"),
        ((1, 1), "basic", IndexingError, "too many indices"),
        ((Ellipsis, Ellipsis), "basic", IndexingError, "single Ellipsis"),
        ([1, 2], "basic", IndexingError, "basic selection takes"),
        ([True, False], "orthogonal", IndexingError, "length 2 does not match .* 10"),
        (np.ones(3, bool), "mask", IndexingError, r"shape \(10,\)"),
        (slice(1, None), "coordinate", IndexingError, "coordinate selection takes"),
    ],
)
def test_errors_1d(key: Any, mode: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        normalize(key, (10,), mode)


@pytest.mark.parametrize(
    "key", [1.0, 2.5, np.float64(1), "a", object(), [1.0], np.array([1.5]), slice(1.0, 2)]
)
def test_wrong_types_are_type_errors_and_index_errors(key: Any) -> None:
    modes = ["basic", "orthogonal", "auto"]
    if not isinstance(key, slice):  # coordinate mode refuses every slice anyway
        modes.append("coordinate")
    for mode in modes:
        with pytest.raises(SelectionTypeError) as info:
            normalize(key, (10,), mode)
        assert isinstance(info.value, IndexError)
        assert isinstance(info.value, TypeError)


def test_errors_nd() -> None:
    with pytest.raises(IndexingError, match=r"shapes \(2,\), \(3,\) cannot be broadcast"):
        normalize(([0, 1], [0, 1, 2]), (7, 9), "auto")
    with pytest.raises(IndexingError, match="one integer or integer array per dimension"):
        normalize(([0, 1],), (7, 9), "coordinate")
    with pytest.raises(IndexingError, match="must be 1-D"):
        normalize(np.array([[0, 1]]), (7, 9), "auto")
    with pytest.raises(IndexingError, match=r"use a\.oindex"):
        normalize(([0, 1], slice(None), [0, 1]), (4, 5, 6), "auto")
    with pytest.raises(IndexingError, match=r"mask .* shape \(7, 9\)"):
        normalize(np.ones((9, 7), bool), (7, 9), "auto")
    with pytest.raises(IndexingError, match="step 1"):
        normalize_blocks(slice(None, None, 2), (7,), (DimGrid(7, 3),))
    with pytest.raises(
        BoundsError, match="index 3 is out of bounds for the 3 chunks of dimension 0"
    ):
        normalize_blocks(3, (7,), (DimGrid(7, 3),))


# --- fields ------------------------------------------------------------------------------


def test_pop_fields() -> None:
    assert pop_fields("x") == ("x", ())
    assert pop_fields(5) == (None, 5)
    assert pop_fields(("x", slice(2))) == ("x", (slice(2),))
    assert pop_fields((0, "x", "y")) == (["x", "y"], (0,))
    assert pop_fields((0, 1)) == (None, (0, 1))


def test_normalize_fields() -> None:
    dtype = np.dtype([("x", "i4"), ("y", "f8"), ("z", "u1")])
    assert normalize_fields(None, dtype) == dtype
    assert normalize_fields("y", dtype) == np.dtype("f8")
    assert normalize_fields(["z", "x"], dtype) == np.dtype([("z", "u1"), ("x", "i4")])
    with pytest.raises(IndexingError, match="'w' not found"):
        normalize_fields(["x", "w"], dtype)
    with pytest.raises(IndexingError, match="no fields"):
        normalize_fields("x", np.dtype("i4"))
    with pytest.raises(SelectionTypeError, match="str or a list of str"):
        normalize_fields(3, dtype)


# --- parity with zarr-python 3 -----------------------------------------------------------


def zarr_array(a: np.ndarray, chunks: tuple[int, ...]) -> Any:
    needs("zarr")
    import zarr

    z = zarr.create_array(store={}, shape=a.shape, chunks=chunks, dtype=a.dtype, fill_value=0)
    z[...] = a
    return z


PARITY_2D = [
    5, -1, (1, 2), slice(1, 6, 2), (slice(None), 3), Ellipsis, (Ellipsis, 2), (1, Ellipsis),
    [1, 2], [4, 0, 4], ([1, 2], [3, 4]), ([1, 2], 3), (1, [3, 4]), ([6, 2], slice(None)),
    (slice(2, 5), [8, 0]), np.array([1, 2]), (np.arange(7) % 2 == 0, np.arange(9) > 4),
    (np.arange(7) > 2, [1, 2]), A2 % 4 == 0, (np.array([[0, 1], [2, 3]]), np.array([[1], [2]])),
    (1, np.arange(9) > 2), [True] * 7, np.int64(3), (np.int8(-1), slice(None, None, 3)),
    7, (1, 2, 3), (Ellipsis, Ellipsis), 1.0, slice(None, None, -1), None,
    ([0, 1], [0, 1, 2]), [[0, 1]], [True] * 3, ([1, 2], 9),
]  # fmt: skip
PARITY_3D = [
    (1, slice(None), [0, 1]), ([0, 1], slice(None), 1), (slice(None), [0, 2], 1),
    ([0, 1], slice(None), [0, 1]), ([3, 0], [4, 4], [5, 0]), (slice(1, 3), slice(None), [5]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("a", "chunks", "key"),
    [(A2, (3, 4), k) for k in PARITY_2D] + [(A3, (2, 3, 4), k) for k in PARITY_3D],
)
def test_getitem_matches_zarr_python(a: np.ndarray, chunks: tuple[int, ...], key: Any) -> None:
    """``a[key]``: same values and shape as zarr-python, or an IndexError where it raises one
    (including zarr-python's orthogonal results where NumPy would transpose)."""
    z = zarr_array(a, chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = np.asarray(z[key])
        except (IndexError, ValueError):  # zarr-python: ValueError for unbroadcastable arrays
            with pytest.raises(IndexError):
                get(a, key, chunks)
            return
    np.testing.assert_array_equal(get(a, key, chunks), expected, strict=True)


@pytest.mark.parametrize(
    ("key", "mode", "shape"),
    [
        ((np.array([3, 1]), 2), "coordinate", (2,)),
        (([[1, 2]], [[3], [4]]), "coordinate", (2, 2)),
        ((slice(2), [5, 0, 5]), "orthogonal", (2, 3)),
        ((np.arange(7) > 4, 1), "orthogonal", (2,)),
        ((Ellipsis, [1, 1]), "orthogonal", (7, 2)),
    ],
)
def test_oindex_and_vindex_match_zarr_python(key: Any, mode: str, shape: tuple[int, ...]) -> None:
    z = zarr_array(A2, (3, 4))
    expected = np.asarray(z.oindex[key] if mode == "orthogonal" else z.vindex[key])
    got = get(A2, key, (3, 4), mode)
    assert got.shape == shape
    np.testing.assert_array_equal(got, expected, strict=True)


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        (np.array(3), "auto"),  # zarr-python: shape (1,); NumPy and zarrkit: ()
        ((3,), "coordinate"),  # zarr-python vindex[3]: shape (1,)
        ([], "auto"),  # zarr-python raises
        ([True, 1], "auto"),  # zarr-python raises; NumPy reads it as [1, 1]
        (np.arange(9) > 3, "auto"),  # on 1-D fine everywhere
    ],
)
def test_where_zarrkit_follows_numpy_not_zarr_python(key: Any, mode: Any) -> None:
    a = np.arange(9)
    np.testing.assert_array_equal(get(a, key, (4,), mode), a[key], strict=True)


@pytest.mark.parametrize("key", [(Ellipsis, [1, 2]), ([1, 2], Ellipsis), (Ellipsis, np.array([0]))])
def test_index_array_next_to_ellipsis_raises_as_in_zarr_python(key: Any) -> None:
    with pytest.raises(IndexingError, match="Ellipsis"):
        normalize(key, (7, 9), "auto")
    assert normalize(key, (7, 9), "orthogonal").mode == "orthogonal"  # oindex takes it


def test_row_mask_on_nd_follows_numpy() -> None:
    rows = np.arange(7) > 3  # zarr-python raises; NumPy selects rows
    np.testing.assert_array_equal(get(A2, rows, (3, 4)), A2[rows], strict=True)


@given(
    size=st.integers(1, 9),
    length=st.integers(1, 80),
    data=st.data(),
)
def test_few_chunks_plan_agrees_with_the_numpy_plan(size: int, length: int, data: Any) -> None:
    start = data.draw(st.integers(0, length - 1))
    stop = data.draw(st.integers(start + 1, length))
    step = data.draw(st.integers(1, 12))
    dim = DimGrid(length, size)
    few = indexing._slice_plan(start, stop, step, dim)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexing, "_FEW_CHUNKS", 0)  # the NumPy plan, whatever the span
        general = indexing._slice_plan(start, stop, step, dim)
    assert few == general
