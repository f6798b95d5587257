"""NumPy oracles for zarr-python's orthogonal indexing, independent of zarrkit's indexing.

NumPy has no spelling of orthogonal (outer) indexing, where every index array selects
along its own dimension; these functions build it from ``np.ix_``, so property tests
(zarrkit's, or a plugin's) can compare ``Array.oindex`` with NumPy.

Examples
--------
>>> import numpy as np
>>> a = np.arange(12).reshape(3, 4)
>>> orthogonal_get(a, ([0, 2], [1, 3])).tolist()
[[1, 3], [9, 11]]
>>> orthogonal_set(a, (1, [True, False, False, True]), -1)
>>> a[1].tolist()
[-1, 5, 6, -1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

Index = tuple[np.ndarray[Any, np.dtype[np.intp]], ...]


def expand(key: Any, ndim: int) -> list[Any]:
    """``key`` as one item per dimension: ``...`` and missing trailing dimensions become
    full slices."""
    items = list(key) if isinstance(key, tuple) else [key]
    if any(item is Ellipsis for item in items):
        at = next(i for i, item in enumerate(items) if item is Ellipsis)
        items[at : at + 1] = [slice(None)] * (ndim - len(items) + 1)
    return items + [slice(None)] * (ndim - len(items))


def outer_index(key: Any, shape: tuple[int, ...]) -> tuple[Index, tuple[int, ...]]:
    """``key`` (ints, slices, index arrays, boolean masks per dimension) as an ``np.ix_``
    index, and the axes its integers drop."""
    arrays, dropped = [], []
    for axis, (item, n) in enumerate(zip(expand(key, len(shape)), shape, strict=True)):
        if isinstance(item, int | np.integer):
            arrays.append(np.array([item], dtype=np.intp))
            dropped.append(axis)
        elif isinstance(item, slice):
            arrays.append(np.arange(n)[item])
        else:
            array = np.asarray(item)
            arrays.append(np.flatnonzero(array) if array.dtype == bool else array.astype(np.intp))
    return np.ix_(*arrays), tuple(dropped)


def orthogonal_get(a: np.ndarray[Any, Any], key: Any) -> np.ndarray[Any, Any]:
    """``a.oindex[key]`` as zarr-python defines it."""
    index, dropped = outer_index(key, a.shape)
    return np.asarray(a[index]).squeeze(axis=dropped)


def orthogonal_set(a: np.ndarray[Any, Any], key: Any, value: Any) -> None:
    """``a.oindex[key] = value`` as zarr-python defines it (``value`` broadcast to the
    selection's shape)."""
    index, dropped = outer_index(key, a.shape)
    grid = np.broadcast_shapes(*(i.shape for i in index))
    selected = tuple(n for axis, n in enumerate(grid) if axis not in dropped)
    a[index] = np.broadcast_to(value, selected).reshape(grid)
