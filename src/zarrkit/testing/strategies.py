"""Hypothesis strategies: array shapes, chunk grids and selections of every indexing mode.

Shared by the indexing tests and array-level tests. Shapes are small (up to 4-D, sides up
to 6) and include 0-d arrays, zero-length and length-1 dimensions; chunk grids include
chunks larger than the array and rectilinear grids. Selection strategies draw keys that
are valid for the given shape, in the forms users write them (bare or tuple, with
``...``, lists or arrays, negative and repeated indices).

Run settings come from the profiles registered here; pick one with the environment
variable ``ZARRKIT_HYPOTHESIS_PROFILE`` (``zarrkit-dev``: 200 examples, the default;
``zarrkit-ci``: 100, derandomized; ``zarrkit-thorough``: 2000) and apply it with
``@profile()``.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, settings

from zarrkit.metadata.chunk_grid import DimGrid

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("zarrkit-dev", max_examples=200, **_COMMON)
settings.register_profile("zarrkit-ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("zarrkit-thorough", max_examples=2000, **_COMMON)

Key = Any
Shape = tuple[int, ...]


def profile() -> settings:
    """The settings of the profile named by ``ZARRKIT_HYPOTHESIS_PROFILE`` (a decorator)."""
    return settings(
        settings.get_profile(os.environ.get("ZARRKIT_HYPOTHESIS_PROFILE", "zarrkit-dev"))
    )


# --- shapes and grids --------------------------------------------------------------------


def shapes(*, min_dims: int = 0, max_dims: int = 4, max_side: int = 6) -> st.SearchStrategy[Shape]:
    """Array shapes, 0-d included, sides from 0 (empty) to ``max_side``."""
    return st.lists(st.integers(0, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def chunk_shapes(shape: Shape) -> st.SearchStrategy[Shape]:
    """Regular chunk shapes for ``shape``, from 1 to 3 past the array's side."""
    return st.tuples(*(st.integers(1, n + 3) for n in shape))


def dim_grids(shape: Shape, *, rectilinear: bool = True) -> st.SearchStrategy[tuple[DimGrid, ...]]:
    """A :class:`DimGrid` per dimension: regular (edge chunks padded past the array) or,
    when ``rectilinear``, chunks of varying length that end exactly at the array's end."""
    return st.tuples(*(_dim_grid(n, rectilinear) for n in shape))


def _dim_grid(length: int, rectilinear: bool) -> st.SearchStrategy[DimGrid]:
    regular = st.integers(1, length + 3).map(lambda size: DimGrid(length, size))
    if not rectilinear or length < 2:
        return regular
    cuts = st.sets(st.integers(1, length - 1), max_size=length - 1)
    edges = cuts.map(lambda c: np.array([0, *sorted(c), length], dtype=np.int64))
    varying = edges.map(lambda e: DimGrid(length, int(np.diff(e).max()), e))
    return st.one_of(regular, varying)


# --- per-dimension items -----------------------------------------------------------------


def _ints(n: int) -> st.SearchStrategy[Any]:
    """An in-bounds integer (negatives included), as int or NumPy integer."""
    value = st.integers(-n, n - 1)
    return st.one_of(value, value.map(np.int32), value.map(np.int64))


def _slices(n: int) -> st.SearchStrategy[slice]:
    bound = st.none() | st.integers(-n - 2, n + 2)
    return st.builds(slice, bound, bound, st.none() | st.integers(1, n + 2))


def _int_arrays(n: int, *, shape: Shape | None = None) -> st.SearchStrategy[Any]:
    """In-bounds integer indices (unsorted, repeated, negative), as array or list."""
    lengths = st.integers(0, 2 * n + 2 if n else 0)  # an empty dimension takes empty arrays
    shape_st = st.just(shape) if shape is not None else lengths.map(lambda k: (k,))
    elements = st.integers(-n, n - 1) if n else st.nothing()
    arrays = shape_st.flatmap(lambda s: hnp.arrays(np.int64, s, elements=elements))
    # as a list too, unless that loses the shape (an empty 2-D array lists as [])
    lists = arrays.filter(lambda a: a.size or a.ndim == 1).map(lambda a: a.tolist())
    return st.one_of(arrays, lists)


def _bool_arrays(n: int) -> st.SearchStrategy[Any]:
    arrays = hnp.arrays(np.bool_, (n,))
    return st.one_of(arrays, arrays.map(lambda a: a.tolist()))


@st.composite
def _arranged(draw: st.DrawFn, items: list[Any], ellipsis: bool) -> Key:
    """``items`` (one per dimension) written as users do: all of them, or trailing ones
    left out, or a run replaced by ``...``; a single item sometimes bare."""
    form = draw(
        st.sampled_from(["full", "truncated", "ellipsis"] if ellipsis else ["full", "truncated"])
    )
    if form == "truncated":
        items = items[: draw(st.integers(0, len(items)))]
    elif form == "ellipsis":
        i = draw(st.integers(0, len(items)))
        j = draw(st.integers(i, len(items)))
        items = [*items[:i], Ellipsis, *items[j:]]
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


# --- selections --------------------------------------------------------------------------


def basic_selections(shape: Shape, *, ellipsis: bool = True) -> st.SearchStrategy[Key]:
    """Integers, slices (any positive step) and ``...``."""
    items = st.tuples(*(st.one_of(_slices(n), _ints(n)) if n else _slices(n) for n in shape))
    return items.flatmap(lambda t: _arranged(list(t), ellipsis))


def orthogonal_selections(
    shape: Shape, *, ellipsis: bool = True, max_arrays: int | None = None
) -> st.SearchStrategy[Key]:
    """Integers, slices and 1-D integer or boolean arrays / lists, each dimension selected
    independently (``oindex``); at most ``max_arrays`` arrays when given."""
    return (
        st.tuples(*(_orthogonal_item(n) for n in shape))
        .filter(lambda t: max_arrays is None or sum(_is_sequence(x) for x in t) <= max_arrays)
        .flatmap(lambda t: _arranged(list(t), ellipsis))
    )


def _orthogonal_item(n: int) -> st.SearchStrategy[Any]:
    options = [_slices(n), _int_arrays(n), _bool_arrays(n)]
    return st.one_of(*options, _ints(n)) if n else st.one_of(*options)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, list | np.ndarray)


@st.composite
def coordinate_selections(draw: st.DrawFn, shape: Shape) -> Key:
    """One integer or integer array per dimension, the arrays broadcastable together
    (``vindex``), with repeated points; any number of dimensions per array."""
    if not shape:
        return ()
    result = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    if 0 in shape and 0 not in result:
        result = (*result, 0)  # an empty dimension can only be indexed by empty arrays
    key = []
    for n in shape:
        if n and draw(st.integers(0, 3)) == 0:
            key.append(draw(_ints(n)))
            continue
        own = result if n == 0 else _broadcastable_to(draw, result)
        key.append(draw(_int_arrays(n, shape=own)))
    return tuple(key)


def _broadcastable_to(draw: st.DrawFn, result: Shape) -> Shape:
    """A shape that broadcasts to ``result``: leading dimensions dropped, some set to 1."""
    kept = result[draw(st.integers(0, len(result))) :]
    return tuple(1 if draw(st.booleans()) else n for n in kept)


def mask_selections(shape: Shape) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Boolean arrays of the array's shape."""
    return hnp.arrays(np.bool_, shape)


def block_selections(dims: tuple[DimGrid, ...]) -> st.SearchStrategy[Key]:
    """Block indices (integers, negatives included) and step-1 slices over the chunk grid;
    a slice's stop may lie past the grid, its start only on an empty one (zarr-python
    refuses a start past the blocks)."""
    items = []
    for dim in dims:
        m = dim.nchunks
        start = st.none() | (st.integers(-m, m - 1) if m else st.integers(-2, 2))
        stop = st.none() | st.integers(-m - 2, m + 2)
        slices = st.builds(slice, start, stop, st.sampled_from([None, 1]))
        items.append(st.one_of(slices, st.integers(-m, m - 1)) if m else slices)
    return st.tuples(*items).flatmap(lambda t: _arranged(list(t), ellipsis=True))


def auto_selections(shape: Shape) -> st.SearchStrategy[tuple[str, Key]]:
    """Keys for ``a[key]`` with the mode zarr-python's dispatch gives them:
    ``("basic", key)``, ``("orthogonal", key)`` (one index array among integers and
    slices, or an array in every dimension with at least one boolean), ``("coordinate",
    key)`` (integers and integer arrays, at least one, in every dimension) or
    ``("mask", key)``."""
    options = [
        basic_selections(shape).map(lambda k: ("basic", k)),
        orthogonal_selections(shape, max_arrays=1)
        .filter(lambda k: not _mixes_ellipsis(k))
        .map(lambda k: ("orthogonal", k)),
    ]
    if shape:
        options += [
            coordinate_selections(shape).filter(_has_array).map(lambda k: ("coordinate", k)),
            mask_selections(shape).map(lambda k: ("mask", k)),
            _all_arrays_with_bool(shape).map(lambda k: ("orthogonal", k)),
        ]
    return st.one_of(*options)


def _has_array(key: tuple[Any, ...]) -> bool:
    return any(_is_sequence(x) for x in key)


def _mixes_ellipsis(key: Key) -> bool:
    """Whether ``key`` has ``...`` next to an index array (zarr-python's ``a[key]``
    refuses it)."""
    items = key if isinstance(key, tuple) else (key,)
    return any(x is Ellipsis for x in items) and _has_array(items)


def _all_arrays_with_bool(shape: Shape) -> st.SearchStrategy[Key]:
    items = st.tuples(*(st.one_of(_int_arrays(n), _bool_arrays(n)) for n in shape))
    return items.filter(lambda t: any(np.asarray(x).dtype == bool for x in t))


def loose_selections(shape: Shape) -> st.SearchStrategy[Key]:
    """Keys that may be invalid: out-of-bounds integers and indices, floats, strings, two
    ``...``, too many items, index arrays of mismatched shapes (for error parity)."""
    bad_scalar = st.one_of(
        st.integers(-max(shape, default=0) - 3, max(shape, default=0) + 3),
        st.floats(-3, 3, allow_nan=False),
        st.sampled_from(["a", 1.0, object(), Ellipsis]),
    )
    item = st.one_of(
        bad_scalar,
        _slices(max(shape, default=0)),
        st.lists(st.integers(-8, 8), max_size=4),
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=2),
    )
    return st.lists(item, max_size=len(shape) + 2).flatmap(
        lambda t: st.sampled_from([tuple(t), t[0]] if len(t) == 1 else [tuple(t)])
    )
