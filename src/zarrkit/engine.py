"""Reading and writing selections: plan, fetch, decode, assemble.

Data flows down once: a :class:`~zarrkit.indexing.Selection` is projected on the chunk
grid, every chunk it touches is fetched with one ``get_many`` call, chunks are decoded on
the shared thread pool (codec libraries release the GIL) — straight into their slice of the
output where the layout allows — and assembled. Writes encode in parallel and store with one
``set_many``. A missing chunk is the fill value (or, when the array's read_missing_chunks
is False, an error naming it); a failed read raises, never reads as fill.

Over 400 lines: the read path and the write path share their batch plans, fetch windows
and thread pools; apart, each would import the other's internals.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, cast

import numpy as np

from zarrkit import config, locking
from zarrkit import read_modify_write as rmw
from zarrkit.cache import ChunkCache
from zarrkit.codecs.base import all_fill
from zarrkit.codecs.pipeline import CodecPipeline, raise_keyed
from zarrkit.errors import ChunkNotFoundError, ShapeMismatchError, ZarrkitError
from zarrkit.indexing import (
    ChunkRead,
    GridProjection,
    Int,
    Part,
    Selection,
    Slice,
    project,
    projection,
)
from zarrkit.metadata.chunk_grid import DimGrid
from zarrkit.retry import fan_out, write_all
from zarrkit.storage.base import Store
from zarrkit.telemetry import active, note_chunks, observe_array, within
from zarrkit.types import Blob, ChunkAccess, Coords
from zarrkit.types import Merge as MergeProtocol

NDArray = np.ndarray[Any, Any]


class KeyedChunks:
    """One store key per chunk (``prefix`` + the chunk key encoding). ``template``, the
    encoding's ``%``-format of a key, builds a batch of keys in one comprehension."""

    def __init__(
        self,
        store: Store,
        prefix: str,
        chunk_key: Callable[[Coords], str],
        template: str | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.chunk_key = chunk_key
        self.native_concurrency = store.native_concurrency
        self._template = None if template is None else prefix.replace("%", "%%") + template

    def key(self, coords: Coords) -> str:
        return self.prefix + self.chunk_key(coords)

    def keys(self, coords: Sequence[Coords]) -> list[str]:
        template = self._template
        if template is None:
            return [self.key(c) for c in coords]
        return [template % c for c in coords]

    def fetch_units(self, coords: Sequence[Coords]) -> list[list[int]]:
        return [list(range(len(coords)))]  # one batch: the store fans it out

    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]:
        return list(self.store.get_many(self.keys(coords)))

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        return len(stored)

    store_key = key

    def update_chunks(
        self, coords: Sequence[Coords], complete: Sequence[bool], merge: MergeProtocol
    ) -> None:
        """Whole chunks are written without reading; the others are read-modify-written."""
        whole = [c for c, done in zip(coords, complete, strict=True) if done]
        blobs = merge([(c, None) for c in whole]) if whole else []
        keys = self.keys(whole)
        writes = [(k, b) for k, b in zip(keys, blobs, strict=True) if b is not None]
        deletes = [k for k, b in zip(keys, blobs, strict=True) if b is None]
        partial = [c for c, done in zip(coords, complete, strict=True) if not done]
        by_key = dict(zip(self.keys(partial), partial, strict=True))

        def modify(keys: Sequence[str], olds: Sequence[bytes | None]) -> list[Blob | None]:
            return merge([(by_key[key], old) for key, old in zip(keys, olds, strict=True)])

        def empty(key: str) -> Blob:
            return merge.empty(by_key[key])

        rmw.store_changes(self.store, writes, deletes, list(by_key), modify, empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Everything the engine needs to know of an array: where its chunks live and how
    they are encoded."""

    chunks: ChunkAccess
    dims: tuple[DimGrid, ...]
    pipeline: CodecPipeline
    fill_value: Any
    write_empty_chunks: bool = False
    cache: ChunkCache | None = None
    #: Every chunk is stored with the nominal shape (no rectilinear dimension).
    uniform: bool = True
    #: The array's path in its store (what telemetry reports).
    path: str = ""
    #: False: reading a chunk that is not stored raises instead of giving the fill value.
    read_missing_chunks: bool = True
    #: The memory order of the arrays reads return ("C" or "F").
    order: str = "C"

    def cache_key(self, coords: Coords) -> tuple[int, str]:
        return (id(self.chunks.store), self.chunks.key(coords))

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.pipeline.spec.dtype

    def stored_shape(self, coords: Coords) -> tuple[int, ...]:
        """The shape chunk ``coords`` is stored with: the nominal chunk shape, except along
        dimensions of a grid whose chunks differ in size (rectilinear)."""
        nominal = self.pipeline.spec.shape
        if self.uniform:
            return nominal
        return tuple(
            n if dim.padded else dim.chunk_len(ix)
            for n, dim, ix in zip(nominal, self.dims, coords, strict=True)
        )

    def pipeline_at(self, coords: Coords) -> CodecPipeline:
        """The codec pipeline of chunk ``coords`` (specialised to its stored shape)."""
        if self.uniform:
            return self.pipeline
        shape = self.stored_shape(coords)
        if shape == self.pipeline.spec.shape:
            return self.pipeline
        return self.pipeline.with_shape(shape)

    def fill_chunk(self, coords: Coords) -> NDArray:
        spec = self.pipeline.spec
        shape = self.stored_shape(coords)
        return np.full(shape, self.fill_value, dtype=spec.dtype, order=spec.order)


def layout_for(
    store: Store,
    prefix: str,
    meta: Any,
    pipeline: CodecPipeline,
    fill_value: Any,
    write_empty_chunks: bool,
    cache: ChunkCache | None = None,
    read_missing_chunks: bool = True,
    order: str = "C",
) -> Layout:
    """The layout of an array: chunk by chunk, or inner chunk by inner chunk when its
    codecs store chunks inside chunks (sharding: reads fetch byte ranges, not whole shards)."""
    dims = meta.chunk_grid.dims(meta.shape)
    template = getattr(meta.chunk_key_encoding, "template", None)
    chunks: ChunkAccess = KeyedChunks(
        store, prefix, meta.chunk_key, None if template is None else template(len(meta.shape))
    )
    inner = pipeline.inner_chunks
    if inner is not None:
        chunks = inner.access(store, lambda c: prefix + meta.chunk_key(c), dims)
        dims = inner.dims(dims)
        pipeline = inner.pipeline
    return Layout(
        chunks=chunks,
        dims=dims,
        pipeline=pipeline,
        fill_value=fill_value,
        write_empty_chunks=write_empty_chunks,
        cache=cache,
        uniform=all(d.padded for d in dims),
        path=prefix.rstrip("/"),
        read_missing_chunks=read_missing_chunks,
        order=order,
    )


def run_batched(work: Callable[[int, int], None], count: int, workers: int | None = None) -> None:
    """Call ``work(lo, hi)`` over contiguous ranges covering ``range(count)`` on the shared
    pool, in at most ``workers`` batches (default: the ``threads`` setting): one task per
    batch, not per chunk, since per-chunk overhead is what small chunks pay for. Every
    batch has ended when an error is raised, and the first error stops those not started."""
    spans = _spans(count, workers)
    if len(spans) == 1:
        work(*spans[0])
    elif spans:
        fan_out(lambda span: work(*span), spans, config.pool())


def _spans(count: int, workers: int | None = None) -> list[tuple[int, int]]:
    """At most ``workers`` (default: ``threads``) contiguous ``(lo, hi)`` covering ``count``."""
    batches = min(workers or config.get("threads"), count)
    if batches <= 1:
        return [(0, count)] if count else []
    bounds = np.linspace(0, count, batches + 1).astype(int).tolist()
    return list(itertools.pairwise(bounds))


#: Encoded chunks a read worker holds at a time, counted at their decoded size (which
#: compressed chunks stay below), so a read needs its output and about this per worker.
IN_FLIGHT = 4 << 20

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
    whole = _whole_chunks(layout, plan) if direct and isinstance(plan, GridProjection) else None
    count = len(plan)

    def place(lo: int, hi: int, items: Sequence[Fetched], coords: list[Coords]) -> None:
        wholes = itertools.repeat(False) if whole is None else whole[lo:hi]
        _place(layout, buffer, items, coords, plan.parts(lo, hi), wholes)

    if layout.chunks.native_concurrency:
        # stores that fan out natively (object stores, shards) get every chunk at once
        coords = plan.coords(0, count)
        units = layout.chunks.fetch_units(coords)
        if len(units) > 1:  # shards: each decoded as soon as it arrives
            _read_units(layout, buffer, coords, list(plan.parts(0, count)), whole, units)
            return _result(buffer, selection, out)
        items = fetch(layout, coords)
        work = lambda lo, hi: place(lo, hi, items[lo:hi], coords[lo:hi])  # noqa: E731
    else:
        # each worker fetches a bounded window at a time, so file reads overlap decoding
        window = max(1, IN_FLIGHT // max(layout.pipeline.spec.nbytes, 1))

        def work(lo: int, hi: int) -> None:
            for start in range(lo, hi, window):
                stop = min(start + window, hi)
                coords = plan.coords(start, stop)
                place(start, stop, fetch(layout, coords), coords)

    run_batched(work, count, config.get("read_threads"))
    return _result(buffer, selection, out)


def _result(buffer: NDArray, selection: Selection, out: NDArray | None) -> NDArray:
    if out is None:
        return buffer.reshape(selection.out_shape)
    if buffer is not out and buffer.base is not out:
        out[...] = buffer.reshape(selection.out_shape)
    return out


def _read_units(
    layout: Layout,
    buffer: NDArray,
    coords: list[Coords],
    parts: list[Part],
    whole: list[bool] | None,
    units: list[list[int]],
) -> None:
    """Fetch every unit (shard) at once on the I/O pool, each decoded and placed as soon as
    its bytes arrive, so decoding overlaps the requests still in flight."""
    wholes = whole or [False] * len(coords)

    def read_unit(unit: list[int]) -> None:
        picked = [coords[i] for i in unit]
        items = fetch(layout, picked)
        _place(layout, buffer, items, picked, [parts[i] for i in unit], [wholes[i] for i in unit])

    fan_out(read_unit, units, config.pool("io_threads"))


def _whole_chunks(layout: Layout, plan: GridProjection) -> list[bool]:
    """For each chunk of ``plan`` (a selection of step-1 slices), whether it takes every
    stored element of its chunk into a block of the output (so it decodes straight into
    it): decided per dimension, then combined."""
    flags = np.ones((), dtype=bool)
    shape = layout.pipeline.spec.shape
    for dim_plan, dim, nominal in zip(plan.plans, layout.dims, shape, strict=True):
        whole = [
            complete and out.stop - out.start == (nominal if dim.padded else dim.chunk_len(ix))
            for ix, out, complete in zip(
                dim_plan.ixs, cast(list[slice], dim_plan.out_sel), dim_plan.complete, strict=True
            )
        ]
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
    into their block of ``buffer``."""
    fill = layout.fill_value
    pipelines = (
        itertools.repeat(layout.pipeline) if layout.uniform else map(layout.pipeline_at, coords)
    )
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
            else:
                buffer[out_sel] = _decoded(layout, c, item)[chunk_sel]
        except ZarrkitError as e:
            raise_keyed(e, layout.chunks.key(c))


def _decoded(layout: Layout, coords: Coords, item: Fetched) -> NDArray:
    """The whole decoded chunk (read-only, cached when ``layout`` caches), of a fetched one."""
    if isinstance(item, np.ndarray):
        return item
    if item is None:
        return layout.fill_chunk(coords)
    key = layout.chunks.key(coords) if active.codec else None  # for the subscribers only
    chunk = layout.pipeline_at(coords).decode(item, key=key, writable=False)
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
    blobs = layout.chunks.get_chunks([coords[i] for i in missing])
    for i, blob in zip(missing, blobs, strict=True):
        found[i] = blob
    if not layout.read_missing_chunks:
        _require_stored(
            layout, [coords[i] for i, blob in zip(missing, blobs, strict=True) if blob is None]
        )
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


def write(layout: Layout, selection: Selection, value: Any) -> None:
    """Store ``value`` (broadcast to the selection) into the chunks ``selection`` touches.

    Each stored chunk or shard is rewritten under its :func:`~zarrkit.locking.key_lock`,
    held from the read of a partially written chunk to the write of the merged one, so
    concurrent writers (threads, and processes where the store can lock) never lose each
    other's updates.
    """
    if active.array and not within("array"):
        size = (selection.out_shape, math.prod(selection.out_shape) * layout.dtype.itemsize)
        call = partial(write, layout, selection, value)
        return observe_array("write", layout.path, layout.chunks.store, call, lambda _: size)
    plan = project(selection, layout.dims)
    if active.array:
        note_chunks(len(plan))
    if not plan:
        return
    source = _value_buffer(layout, selection, value)
    store = layout.chunks.store

    def step(keys: list[str], reads: list[ChunkRead]) -> tuple[list[str], Callable[[], None]]:
        def run() -> None:
            with locking.locked(store, keys):
                _write_chunks(layout, reads, source)

        return keys, run

    rmw.write_in_steps([step(keys, reads) for keys, reads in _lock_groups(layout, plan)])


#: Keys locked at a time when each lock holds a file open.
_FILE_LOCK_BATCH = 256


def _lock_groups(
    layout: Layout, plan: Sequence[ChunkRead]
) -> list[tuple[list[str], list[ChunkRead]]]:
    """The plan in groups of stored keys to lock together: all at once for thread locks,
    a bounded number at a time for lock files (each holds a file descriptor)."""
    by_key: dict[str, list[ChunkRead]] = {}
    for chunk_read in plan:
        by_key.setdefault(layout.chunks.store_key(chunk_read.coords), []).append(chunk_read)
    keys = sorted(by_key)
    size = _FILE_LOCK_BATCH if layout.chunks.store.locks_across_processes else len(keys)
    groups = []
    for start in range(0, len(keys), size):
        batch = keys[start : start + size]
        groups.append((batch, [r for key in batch for r in by_key[key]]))
    return groups


def _write_chunks(layout: Layout, plan: Sequence[ChunkRead], source: NDArray) -> None:
    """Merge ``source`` into the chunks of ``plan`` (reading those partially written) and
    store them.

    Stores that fan out natively (and shards, whose inner chunks must be stored together)
    get one batch call, merged in parallel; otherwise each worker updates its own batch.
    """
    coords = [r.coords for r in plan]
    complete = [r.complete for r in plan]
    try:
        if layout.chunks.native_concurrency:
            merge = Merge(layout, plan, source, parallel=True)
            layout.chunks.update_chunks(coords, complete, merge)
        else:
            merge = Merge(layout, plan, source, parallel=False)
            spans = _spans(len(plan))
            keys = [[layout.chunks.store_key(c) for c in coords[lo:hi]] for lo, hi in spans]

            def update(span: tuple[int, int]) -> None:
                lo, hi = span
                layout.chunks.update_chunks(coords[lo:hi], complete[lo:hi], merge)

            write_all(update, spans, keys, config.pool())
    finally:  # also after a failure: some chunks may have been written
        if layout.cache is not None:
            for chunk_read in plan:
                layout.cache.discard(layout.cache_key(chunk_read.coords))


class Merge:
    """A write's change to its chunks (see :class:`zarrkit.types.Merge`): each chunk's part
    of ``source`` written over the old chunk (or the fill value), encoded."""

    def __init__(
        self, layout: Layout, plan: Sequence[ChunkRead], source: NDArray, *, parallel: bool
    ) -> None:
        self.layout = layout
        self.reads = {r.coords: r for r in plan}
        self.source = source
        self.parallel = parallel

    def __call__(self, items: Sequence[tuple[Coords, Blob | None]]) -> list[Blob | None]:
        merged: list[Blob | None] = [None] * len(items)

        def work(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                merged[i] = self.one(*items[i])

        if self.parallel:
            run_batched(work, len(items))
        else:
            work(0, len(items))
        return merged

    def one(self, coords: Coords, old: Blob | None) -> Blob | None:
        """Chunk ``coords`` with its part of the source written in, encoded (``None`` when
        it is all fill value and empty chunks are not written)."""
        layout, chunk_read = self.layout, self.reads[coords]
        pipeline = layout.pipeline_at(coords)
        if old is None:
            chunk = layout.fill_chunk(coords)
        else:
            chunk = pipeline.decode(old, key=layout.chunks.key(coords))
        chunk[chunk_read.chunk_sel] = self.source[chunk_read.out_sel]
        empty = not layout.write_empty_chunks and all_fill(chunk, layout.fill_value)
        return None if empty else pipeline.encode(chunk)

    def empty(self, coords: Coords) -> Blob:
        return _fill_blob(self.layout, coords)


def remove(layout: Layout, coords: Sequence[Coords]) -> None:
    """Remove the chunks at ``coords`` (the rest of a shard holding some is kept)."""
    plan = [ChunkRead(c, (), (), True) for c in coords]
    for keys, reads in _lock_groups(layout, plan):
        with locking.locked(layout.chunks.store, keys):
            batch = [r.coords for r in reads]
            layout.chunks.update_chunks(batch, [True] * len(batch), _Removal(layout))


class _Removal:
    """The change that removes chunks."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def __call__(self, items: Sequence[tuple[Coords, Blob | None]]) -> list[Blob | None]:
        return [None] * len(items)

    def empty(self, coords: Coords) -> Blob:
        return _fill_blob(self.layout, coords)


def _fill_blob(layout: Layout, coords: Coords) -> Blob:
    """Chunk ``coords`` all fill value, encoded."""
    return layout.pipeline_at(coords).encode(layout.fill_chunk(coords))


def _value_buffer(layout: Layout, selection: Selection, value: Any) -> NDArray:
    array = np.asarray(value, dtype=layout.dtype)
    try:
        broadcast = np.broadcast_to(array, selection.out_shape)
    except ValueError as e:
        raise ShapeMismatchError(
            f"Attempting to set a value of shape {array.shape} to a selection of shape "
            f"{selection.out_shape}: it cannot be broadcast to it"
        ) from e
    return broadcast.reshape(selection.buffer_shape)
