"""Reading selections: plan, fetch, decode, place.

A :class:`~zarrkit.indexing.Selection` is projected on the chunk grid; every chunk it
touches is fetched in batches (``get_many``), decoded on the shared thread pool (codec
libraries release the GIL) straight into its slice of the output where the layout allows,
and placed. A missing chunk is the fill value (or, when the array's read_missing_chunks is
False, an error naming it); a failed read raises, never reads as fill.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import Literal, cast

import numpy as np

from zarrkit import config
from zarrkit.codecs.pipeline import raise_keyed
from zarrkit.engine.batches import run_batched
from zarrkit.engine.boxes import place_box, read_box
from zarrkit.engine.layout import Layout, NDArray
from zarrkit.errors import ChunkNotFoundError, ShapeMismatchError, ZarrkitError
from zarrkit.indexing import (
    ChunkList,
    ChunkRead,
    GridProjection,
    Int,
    Part,
    Projection,
    Selection,
    Slice,
    project,
    projection,
)
from zarrkit.retry import fan_out
from zarrkit.telemetry import active, note_chunks, observe_array, within
from zarrkit.types import Blob, Coords

#: Encoded chunks a read worker holds at a time, counted at their decoded size (which
#: compressed chunks stay below), so a read needs its output and about this per worker.
IN_FLIGHT = 4 << 20

#: The same for windows of whole chunks (whole rows of them where a row fits), which a
#: worker also decodes into a scratch array of their size (:mod:`zarrkit.engine.boxes`).
#: Measured: W3 reads after writes peaked at 165, 134 and 119 MiB with 4, 2 and 1 MiB (chunk
#: by chunk: 119), in 63, 58 and 54 ms of CPU a read: every pool thread keeps its freed
#: scratch in its malloc arena. W1's full read (512 KiB chunks, 16 a row) added 1.08x its
#: output to the process with windows of 4 MiB, 1.03x with 1 MiB, in the same time.
BOX_IN_FLIGHT = 1 << 20

#: A chunk as fetched: decoded (from the cache), encoded, or absent (the fill value).
Fetched = NDArray | Blob | None


def read(layout: Layout, selection: Selection, out: NDArray | None = None) -> NDArray:
    """The values of ``selection``, shaped as NumPy would give them."""
    if active.array and not within("array"):
        call = partial(read, layout, selection, out)
        return observe_array("read", layout.path, layout.chunks.store, call, _measure)
    plan = projection(selection, layout.dims)
    if active.array:
        note_chunks(len(plan))
    buffer = _output_buffer(layout, selection, out)
    # Whole chunks of a step-1 selection decode straight into the output (no cache: the
    # cache keeps whole decoded chunks).
    direct = layout.cache is None and all(
        isinstance(d, Slice) and d.step == 1 for d in selection.dims
    )
    count = len(plan)
    if layout.chunks.native_concurrency and count > 1:
        # stores that fan out natively (object stores, shards) get every chunk at once
        units = _fetch_units(layout, plan)
        if len(units) > 1:  # shards: each decoded as soon as it arrives
            _read_units(layout, buffer, units, direct)
            return _result(buffer, selection, out)
    whole = _whole_chunks(layout, plan) if direct and isinstance(plan, GridProjection) else None
    place = partial(_place_range, layout, buffer, plan, whole)
    if layout.chunks.native_concurrency:
        coords = plan.coords(0, count)
        items = fetch(layout, coords)
        work = lambda lo, hi: place(lo, hi, items[lo:hi], coords[lo:hi])  # noqa: E731
        run_batched(work, count, config.get("read_threads"))
        return _result(buffer, selection, out)
    # each worker fetches a bounded window at a time, so file reads overlap decoding; the
    # windows are whole rows of chunks where they fit, which tile boxes of the output
    nbytes = max(layout.pipeline.spec.nbytes, 1)
    window = max(1, IN_FLIGHT // nbytes)
    row = 1
    if whole is not None and isinstance(plan, GridProjection) and all(whole):
        row = math.prod(len(p.ixs) for p in plan.plans[1:])
        row = row if 0 < row <= BOX_IN_FLIGHT // nbytes else 1
        # a box's chunks are decoded into a scratch of its size first: at most this much
        window = max(1, BOX_IN_FLIGHT // nbytes // row) * row

    def rows(lo: int, hi: int) -> None:
        for start in range(lo * row, hi * row, window):
            stop = min(start + window, hi * row)
            coords = plan.coords(start, stop)
            if not (whole and all(whole[start:stop]) and _read_box(start, stop, coords)):
                place(start, stop, fetch(layout, coords), coords)

    def _read_box(start: int, stop: int, coords: list[Coords]) -> bool:
        return read_box(layout, buffer, coords, next(plan.parts(start, stop))[1])

    # a window a range: the ranges the workers take last are short, so they end together
    run_batched(rows, count // row, config.get("read_threads"), most=window // row)
    return _result(buffer, selection, out)


def _result(buffer: NDArray, selection: Selection, out: NDArray | None) -> NDArray:
    if out is None:
        return buffer.reshape(selection.out_shape)
    if buffer is not out and buffer.base is not out:
        out[...] = buffer.reshape(selection.out_shape)
    return out


def _place_range(
    layout: Layout,
    buffer: NDArray,
    plan: Projection,
    whole: list[bool] | None,
    lo: int,
    hi: int,
    items: Sequence[Fetched],
    coords: list[Coords],
) -> None:
    """Place fetched chunks ``lo:hi`` of ``plan`` (``whole``: which of its chunks are
    whole blocks of the output, if any): as one box where they tile one, else one by one."""
    if whole is None:
        _place(layout, buffer, items, coords, plan.parts(lo, hi), itertools.repeat(False))
        return
    wholes = whole[lo:hi]
    # a box of one chunk is that chunk decoded into its place: no scratch to copy from
    box = hi - lo > 1 and all(wholes)
    if box and _boxed(layout, buffer, items, coords, next(plan.parts(lo, hi))[1]):
        return
    _place(layout, buffer, items, coords, plan.parts(lo, hi), wholes)


def _fetch_units(layout: Layout, plan: Projection) -> list[Projection]:
    """The plan split by what one fetch reads (a shard), so each part is decoded as soon
    as it arrives: a grid's blocks of chunks, one per shard, which the workers list
    (measured: listing W5's 16384 inner chunks up front took 7-26 ms of a 260 ms read,
    while no worker ran); else as the chunk access groups them."""
    blocks = layout.object_blocks(plan)
    if blocks is not None:
        return [block for _, block in blocks]
    units = layout.chunks.fetch_units(plan.coords(0, len(plan)))
    if len(units) == 1:
        return [plan]
    reads = plan.reads()
    return [ChunkList([reads[i] for i in unit]) for unit in units]


def _read_units(layout: Layout, buffer: NDArray, units: list[Projection], direct: bool) -> None:
    """Fetch every unit (shard) and decode it as soon as its bytes arrive: all at once on
    the I/O pool where requests are round trips, so decoding overlaps the requests still in
    flight; else one at a time by the read workers, which take them in turn. ``direct``: the
    selection is step-1 slices."""

    def read_unit(unit: Projection) -> None:
        count = len(unit)
        coords = unit.coords(0, count)
        whole = _whole_chunks(layout, unit) if direct and isinstance(unit, GridProjection) else None
        _place_range(layout, buffer, unit, whole, 0, count, fetch(layout, coords), coords)

    if layout.chunks.store.native_concurrency:
        fan_out(read_unit, units, config.pool("io_threads"))
    else:  # local stores: each read worker fetches and decodes a unit at a time

        def run(lo: int, hi: int) -> None:
            for unit in units[lo:hi]:
                read_unit(unit)

        run_batched(run, len(units), config.get("read_threads"), most=1)


def _boxed(
    layout: Layout,
    buffer: NDArray,
    items: Sequence[Fetched],
    coords: Sequence[Coords],
    first_out: tuple[slice, ...],
) -> bool:
    """Whether whole chunks ``items`` tile a box of ``buffer`` and were placed at once
    (:func:`~zarrkit.engine.boxes.place_box`); whole chunks are never read through the
    cache, so they are encoded or absent."""
    return place_box(layout, buffer, cast(Sequence[Blob | None], items), coords, first_out)


def _whole_chunks(layout: Layout, plan: GridProjection) -> list[bool]:
    """For each chunk of ``plan`` (a selection of step-1 slices), whether it takes every
    stored element of its chunk into a block of the output (so it decodes straight into
    it): decided per dimension, then combined."""
    shape = layout.pipeline.spec.shape
    per_dim = [
        [
            complete and out.stop - out.start == (nominal if dim.padded else dim.chunk_len(ix))
            for ix, out, complete in zip(
                dim_plan.ixs, cast(list[slice], dim_plan.out_sel), dim_plan.complete, strict=True
            )
        ]
        for dim_plan, dim, nominal in zip(plan.plans, layout.dims, shape, strict=True)
    ]
    if all(all(whole) for whole in per_dim):  # the usual case: no NumPy calls (5 us)
        return [True] * len(plan)
    if not all(any(whole) for whole in per_dim):  # small windows: no NumPy calls either
        return [False] * len(plan)
    flags = np.ones((), dtype=bool)
    for whole in per_dim:
        flags = np.logical_and.outer(flags, np.array(whole, dtype=bool))
    return cast(list[bool], flags.ravel().tolist())


def _place(
    layout: Layout,
    buffer: NDArray,
    items: Sequence[Fetched],
    coords: Sequence[Coords],
    parts: Iterable[Part],
    wholes: Iterable[bool],
) -> None:
    """Decode fetched chunks and put their parts of the selection into ``buffer``: the hot
    loop of a read, with no object per chunk beyond the bytes; whole chunks decode straight
    into their block of ``buffer``, the parts of others (scattered points, index arrays)
    are taken from one scratch array that each of them decodes into, where nothing caches
    the decoded chunks (measured, W7's 100,000 points from 256 zstd chunks of 512 KiB, with
    large chunks decoded into their place: 0.148-0.154 s of CPU a read against 0.157-0.158 s
    decoding each into new bytes)."""
    fill = layout.fill_value
    pipelines = (
        itertools.repeat(layout.pipeline) if layout.uniform else map(layout.pipeline_at, coords)
    )
    reuse = layout.cache is None and layout.uniform and layout.pipeline.decodes_in_place
    scratch: NDArray | None = None
    # wholes and pipelines may be endless repeats: zip stops at the end of items
    for item, c, (chunk_sel, out_sel), whole, pipeline in zip(
        items, coords, parts, wholes, pipelines, strict=False
    ):
        try:
            if item is None:
                buffer[out_sel] = fill
            elif whole:  # never a cached (decoded) chunk: reads through a cache are not direct
                # a 0-d block: buffer[()] would be a copy, buffer[...] is a view
                block = buffer[out_sel] if out_sel else buffer[...]
                pipeline.decode_into(item, block)  # type: ignore[arg-type]
            elif reuse and not (chunk_sel and isinstance(chunk_sel[0], slice)):
                if scratch is None:
                    scratch = np.empty(pipeline.spec.shape, pipeline.spec.dtype)
                key = layout.chunks.key(c) if active.codec else None  # for the subscribers
                pipeline.decode_into(item, scratch, key=key)  # type: ignore[arg-type]
                buffer[out_sel] = scratch[chunk_sel]
            else:
                buffer[out_sel] = _decoded(layout, c, item, chunk_sel)[chunk_sel]
        except ZarrkitError as e:
            raise_keyed(e, layout.chunks.key(c))


def _decoded(
    layout: Layout, coords: Coords, item: Fetched, sel: tuple[object, ...] = ()
) -> NDArray:
    """The decoded chunk (read-only, cached when ``layout`` caches), of a fetched one; when
    ``sel`` starts with a slice and nothing caches, maybe only the rows up to its stop."""
    if isinstance(item, np.ndarray):
        return item
    if item is None:
        return layout.fill_chunk(coords)
    key = layout.chunks.key(coords) if active.codec else None  # for the subscribers only
    pipeline = layout.pipeline_at(coords)
    if layout.cache is None and sel and isinstance(sel[0], slice):
        return pipeline.decode_head(item, sel[0].stop, key=key)
    chunk = pipeline.decode(item, key=key, writable=False)
    if layout.cache is not None:
        layout.cache.put(layout.cache_key(coords), chunk)
    return chunk


def _measure(result: NDArray) -> tuple[tuple[int, ...], int]:
    return result.shape, int(result.nbytes)


def _measure_piece(item: tuple[Coords, NDArray]) -> tuple[tuple[int, ...], int]:
    return _measure(item[1])


def fetch(layout: Layout, coords: Sequence[Coords]) -> list[Fetched]:
    """The chunks at ``coords``: cached ones from the cache, the rest in one batch request."""
    if layout.cache is None:
        found: list[Fetched] = list(layout.chunks.get_chunks(coords))
    else:
        found = [layout.cache.get(layout.cache_key(c)) for c in coords]
        missing = [i for i, item in enumerate(found) if item is None]
        if missing:
            blobs = layout.chunks.get_chunks([coords[i] for i in missing])
            for i, blob in zip(missing, blobs, strict=True):
                found[i] = blob
    if not layout.read_missing_chunks:  # cached chunks are never None: None is absent
        _require_stored(layout, [c for c, item in zip(coords, found, strict=True) if item is None])
    return found


def _require_stored(layout: Layout, absent: Sequence[Coords]) -> None:
    """Raise :class:`ChunkNotFoundError` naming the chunks ``absent`` (not stored)."""
    keys = tuple(layout.chunks.key(c) for c in absent)
    if keys:
        more = f" and {len(keys) - 1} more" if len(keys) > 1 else ""
        raise ChunkNotFoundError(
            f"chunk {keys[0]!r}{more} of array {layout.path!r} in {layout.chunks.store!r} "
            "is not stored, and this array's read_missing_chunks is False (set it, or "
            "zarrkit.config's 'array.read_missing_chunks', to True to read missing chunks "
            "as the fill value)",
            keys=keys,
        )


def iter_chunks(
    layout: Layout, selection: Selection, *, concurrency: int, ordered: bool
) -> Iterator[tuple[Coords, NDArray]]:
    """``(coords, data)`` for every chunk ``selection`` touches, where ``data`` is the
    selection's part of that chunk. At most ``concurrency`` chunks are fetched or decoded
    at a time, so memory stays bounded however large the array."""
    plan = project(selection, layout.dims)

    dropped = [isinstance(d, Int) for d in selection.dims]

    def load(chunk_read: ChunkRead) -> tuple[Coords, NDArray]:
        if active.array and not within("array"):
            call = partial(load, chunk_read)
            store = layout.chunks.store
            return observe_array("read", layout.path, store, call, _measure_piece, chunks=1)
        coords = chunk_read.coords
        try:
            piece = _decoded(layout, coords, fetch(layout, [coords])[0])[chunk_read.chunk_sel]
        except ZarrkitError as e:
            raise_keyed(e, layout.chunks.key(coords))
        if piece.ndim == len(dropped):  # outer indexing keeps integer axes: drop them
            piece = piece.reshape([n for n, d in zip(piece.shape, dropped, strict=True) if not d])
        return chunk_read.coords, np.array(piece)

    pending: deque[Future[tuple[Coords, NDArray]]] = deque()
    todo = iter(plan)
    pool = config.pool()
    for chunk_read in itertools.islice(todo, max(concurrency, 1)):
        pending.append(pool.submit(load, chunk_read))
    while pending:
        if ordered:
            future = pending.popleft()
        else:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            future = done.pop()
            pending.remove(future)
        result = future.result()
        next_read = next(todo, None)
        if next_read is not None:
            pending.append(pool.submit(load, next_read))
        yield result


def _output_buffer(layout: Layout, selection: Selection, out: NDArray | None) -> NDArray:
    if out is None:
        order: Literal["C", "F"] = "F" if layout.order == "F" else "C"
        return np.empty(selection.buffer_shape, dtype=layout.dtype, order=order)
    if out.shape != selection.out_shape:
        raise ShapeMismatchError(
            f"out has shape {out.shape}, the selection has shape {selection.out_shape}"
        )
    if selection.buffer_shape == selection.out_shape:
        return out
    if out.flags.c_contiguous:
        return out.reshape(selection.buffer_shape)  # a view: no copy at the end
    return np.empty(selection.buffer_shape, dtype=layout.dtype)
