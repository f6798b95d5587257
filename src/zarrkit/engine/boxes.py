"""Whole chunks that tile a box of the output, placed with one assignment.

Reading many small chunks one NumPy assignment at a time costs a few microseconds of
Python each, all of it holding the GIL that the other read workers wait for. When a batch
of chunks is every chunk of a box of the chunk grid (a shard's inner chunks, or whole rows
of chunks), each taken whole, they are decoded one after another into one scratch array
(:meth:`~zarrkit.codecs.pipeline.CodecPipeline.decode_many`: one tight loop of the
compressor) and moved into their block of the output by one assignment of a reshaped view.
Where the store has a compiled reading loop and the pipeline a compiled decoder, the
chunks are read and decoded in one call (:func:`read_box`): no bytes object, pointer or
Python step per chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from zarrkit.codecs.pipeline import raise_keyed
from zarrkit.engine.layout import Layout, NDArray
from zarrkit.errors import ZarrkitError
from zarrkit.telemetry import active
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

    def decode(scratch: NDArray) -> bool:
        try:
            layout.pipeline.decode_many(items, scratch)
        except ZarrkitError:
            return False  # the chunk by chunk path raises again, naming the chunk's key
        for i, item in enumerate(items):
            if item is None:
                scratch[i] = layout.fill_value
        return True

    return _fill_box(layout, buffer, coords, first_out, decode)


def read_box(
    layout: Layout, buffer: NDArray, coords: Sequence[Coords], first_out: tuple[slice, ...]
) -> bool:
    """:func:`place_box` of the chunks at ``coords``, read and decoded by the store's
    compiled loop (:meth:`~zarrkit.storage.Store.get_decoded`) with the pipeline's
    compiled decoder, so a chunk costs no Python object; those the loop leaves are read
    and decoded one by one, and errors name their chunk. False, having read nothing, where
    the store or the pipeline has no such loop, where telemetry watches (it counts calls
    this loop does not make), or where missing chunks are errors."""
    store, decoder = layout.chunks.store, layout.pipeline.decoder
    if decoder is None or not layout.keyed or not store.reads_decoded:
        return False
    if active.store or active.codec or not layout.read_missing_chunks:
        return False

    def decode(scratch: NDArray) -> bool:
        keys = layout.chunks.store_keys(coords)
        absent, left = store.get_decoded(keys, decoder, scratch, scratch[0].nbytes)
        for i in absent:
            scratch[i] = layout.fill_value
        for i, blob in zip(left, store.get_many([keys[i] for i in left]), strict=True):
            if blob is None:
                scratch[i] = layout.fill_value
                continue
            try:
                layout.pipeline.decode_into(blob, scratch[i])
            except ZarrkitError as e:
                raise_keyed(e, layout.chunks.key(coords[i]))
        return True

    return _fill_box(layout, buffer, coords, first_out, decode)


def _fill_box(
    layout: Layout,
    buffer: NDArray,
    coords: Sequence[Coords],
    first_out: tuple[slice, ...],
    decode: Callable[[NDArray], bool],
) -> bool:
    """Where ``coords`` are every chunk of a box (see :func:`place_box`): ``decode`` the
    chunks into a scratch array of them all, one after another, and unless it returns
    False, move them into their block of ``buffer`` with one assignment; whether it did."""
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
    scratch = np.empty((len(coords), *shape), layout.dtype)
    if not decode(scratch):
        return False
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
