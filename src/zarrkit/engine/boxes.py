"""Whole chunks that tile a box of the output, placed with one assignment.

Reading many small chunks one NumPy assignment at a time costs a few microseconds of
Python each, all of it holding the GIL that the other read workers wait for. When a batch
of chunks is every chunk of a box of the chunk grid (a shard's inner chunks, or whole rows
of chunks), each taken whole, they are decoded one after another into one scratch array
(:meth:`~zarrkit.codecs.pipeline.CodecPipeline.decode_many`: one tight loop of the
compressor) and moved into their block of the output by one assignment of a reshaped view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from zarrkit.engine.layout import Layout, NDArray
from zarrkit.errors import ZarrkitError
from zarrkit.types import Blob, Coords


def place_box(
    layout: Layout,
    buffer: NDArray,
    items: Sequence[Blob | None],
    coords: Sequence[Coords],
    first_out: tuple[slice, ...],
) -> bool:
    """Decode the encoded chunks ``items`` at ``coords`` (``None``: the fill value) into
    ``buffer``, whose block for the first of them is ``first_out``, and return True.
    Return False, placing nothing, unless ``coords`` are every chunk of a box in C order,
    each stored with the nominal chunk shape and taken whole (the caller checks that; so
    never through a cache, which holds decoded chunks), or when one does not decode."""
    shape = layout.pipeline.spec.shape
    if not shape or not layout.uniform:
        return False
    extent = _box_extent(coords)
    if extent is None:
        return False
    block = zip(first_out, extent, shape, strict=True)
    region = buffer[tuple(slice(s.start, s.start + n * c) for s, n, c in block)]
    # the block as (chunks along dim 0, elements in a chunk along dim 0, chunks along dim 1,
    # ...): splitting axes of a strided view gives a view
    tiled = region.reshape(tuple(x for n, c in zip(extent, shape, strict=True) for x in (n, c)))
    if not np.may_share_memory(tiled, buffer):
        return False
    scratch = np.empty((len(items), *shape), layout.dtype)
    try:
        layout.pipeline.decode_many(items, scratch)
    except ZarrkitError:
        return False  # the chunk by chunk path raises again, naming the chunk's key
    for i, item in enumerate(items):
        if item is None:
            scratch[i] = layout.fill_value
    ndim = len(shape)
    order = tuple(x for d in range(ndim) for x in (d, ndim + d))
    tiled[...] = scratch.reshape(*extent, *shape).transpose(order)
    return True


def _box_extent(coords: Sequence[Coords]) -> tuple[int, ...] | None:
    """The number of chunks along each dimension of the box that ``coords`` (distinct, in
    C order) fill, or None when they do not fill one."""
    first, last = coords[0], coords[-1]
    extent = tuple(b - a + 1 for a, b in zip(first, last, strict=True))
    if min(extent, default=1) < 1 or math.prod(extent) != len(coords):
        return None
    if len(coords) > 2:  # the corners alone may mislead: the bounds must be the corners
        found = np.array(coords)
        if (found.min(axis=0) != first).any() or (found.max(axis=0) != last).any():
            return None
    return extent
