"""Writing selections: whole chunks are encoded and stored without reading, partial ones
read-modify-written, each stored key under its lock; chunks equal to the fill value are
deleted unless the array writes empty chunks."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from zarrkit import config, locking
from zarrkit import read_modify_write as rmw
from zarrkit.codecs.base import all_fill
from zarrkit.engine.batches import batch_spans, run_batched
from zarrkit.engine.layout import Layout, NDArray
from zarrkit.errors import ShapeMismatchError
from zarrkit.indexing import (
    ChunkRead,
    Selection,
    project,
)
from zarrkit.retry import write_all
from zarrkit.telemetry import active, note_chunks, observe_array, within
from zarrkit.types import Blob, Coords


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
            spans = batch_spans(len(plan))
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
