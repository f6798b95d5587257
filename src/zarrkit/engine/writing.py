"""Writing selections: whole chunks are encoded and stored without reading, partial ones
read-modify-written, each stored key under its lock; chunks equal to the fill value are
deleted unless the array writes empty chunks."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any

import numpy as np

from zarrkit import config, locking
from zarrkit import read_modify_write as rmw
from zarrkit.codecs.base import ChunkSpec, all_fill
from zarrkit.engine import direct_writes, write_plan
from zarrkit.engine.batches import run_batched
from zarrkit.engine.layout import Layout, NDArray
from zarrkit.engine.write_plan import Unit
from zarrkit.errors import ShapeMismatchError
from zarrkit.indexing import (
    ChunkList,
    ChunkRead,
    Selection,
    Slice,
    projection,
)
from zarrkit.locking import LockTarget
from zarrkit.retry import write_taken
from zarrkit.telemetry import active, note_chunks, observe_array, within
from zarrkit.types import Blob, Coords


def write(layout: Layout, selection: Selection, value: Any) -> None:
    """Store ``value`` (broadcast to the selection) into the chunks ``selection`` touches.

    Each stored chunk or shard is rewritten under its lock (:func:`~zarrkit.locking.holding`
    the write's lock targets, computed once), held from the read of a partially written
    chunk to the write of the merged one, so concurrent writers (threads, and processes
    where the store can lock) never lose each other's updates.
    """
    if active.array and not within("array"):
        size = (selection.out_shape, math.prod(selection.out_shape) * layout.dtype.itemsize)
        call = partial(write, layout, selection, value)
        return observe_array("write", layout.path, layout.chunks.store, call, lambda _: size)
    plan = projection(selection, layout.dims)
    if active.array:
        note_chunks(len(plan))
    if not len(plan):
        return
    source = _value_buffer(layout, selection, value)
    sliced = all(type(d) is Slice and d.step == 1 for d in selection.dims)

    def step(units: list[Unit], targets: list[LockTarget]) -> tuple[list[str], Callable[[], None]]:
        def run() -> None:
            with locking.holding(targets):
                _write_chunks(layout, units, source, sliced)

        return [key for keys, _ in units for key in keys], run

    groups = write_plan.lock_groups(layout, write_plan.units(layout, plan))
    rmw.write_in_steps([step(*group) for group in groups])


def _write_chunks(layout: Layout, units: Sequence[Unit], source: NDArray, sliced: bool) -> None:
    """Merge ``source`` into the chunks of ``units`` (reading those partially written) and
    store them, a window at a time per worker: :func:`_write_requests` on stores that fan
    out natively, else :func:`_write_windows`. ``sliced``: the selection is step-1 slices."""
    try:
        if layout.chunks.store.native_concurrency:
            _write_requests(layout, units, source, sliced)
        else:
            _write_windows(layout, units, source, sliced)
    finally:  # also after a failure: some chunks may have been written
        if layout.cache is not None:
            for _, chunks in units:
                for coords in chunks.coords(0, len(chunks)):
                    layout.cache.discard(layout.cache_key(coords))


def _write_windows(layout: Layout, units: Sequence[Unit], source: NDArray, sliced: bool) -> None:
    """The workers merge, encode and store the write's windows one at a time, so encoding
    overlaps storing and memory holds about one window per worker: each worker its own
    share of them in order, then what is left of the others' (see
    :func:`~zarrkit.retry.settle_taken`), so a worker slowed down takes fewer (W2b on this
    2-core VM: the cores stood idle 20 ms a write with fixed shares, 8 ms now; see
    docs/performance.md). Stored objects larger than a window (big shards) get fewer
    workers, at least two, each merging its window on the shared pool when they are fewer
    than the workers the write may use (:func:`write_workers`)."""
    most = max(len(chunks) // len(keys) for keys, chunks in units)  # chunks per object
    largest = most * layout.pipeline.spec.nbytes
    threads = write_workers(layout, most)
    workers = min(threads, max(2, threads * write_plan.WINDOW // max(largest, 1)))
    windows = write_plan.windows(layout, units, workers)
    merging = threads if min(workers, len(windows)) < threads and largest > write_plan.WINDOW else 1
    # a worker that merges on the shared pool must not occupy one of its threads
    pool = config.pool("io_threads" if merging > 1 else "threads")
    _take_windows(layout, windows, source, sliced, workers, merging, pool)


def _write_requests(layout: Layout, units: Sequence[Unit], source: NDArray, sliced: bool) -> None:
    """Object stores: twice ``threads`` workers each merge and encode a window, then send
    its requests (on the shared request pool), so some encode while the others wait on
    the network. One worker encoding every shard before any request went out took
    0.62-0.79 s to write the remote suite's sharded array (16 shards of 4 MiB, zstd) to
    moto's S3 at 20 ms a request; 6 workers 0.40 s, 3 to 12 workers 0.39-0.47 s
    (``benchmarks.remote``)."""
    workers = 2 * int(config.get("threads"))
    windows = write_plan.windows(layout, units, workers)
    _take_windows(layout, windows, source, sliced, workers, 1, config.pool("io_threads"))


def _take_windows(
    layout: Layout,
    windows: Sequence[Sequence[Unit]],
    source: NDArray,
    sliced: bool,
    workers: int,
    merging: int,
    pool: Executor,
) -> None:
    """``workers`` loops on ``pool`` take ``windows`` in turn, each merged on ``merging``
    threads and stored; a failure names the keys left unwritten."""
    keys = [[key for unit_keys, _ in window for key in unit_keys] for window in windows]
    update = partial(_update, layout, source=source, sliced=sliced, workers=merging)
    write_taken(update, windows, keys, workers, pool)


#: Chunks of at least this many bytes written whole are merged one by one (see
#: :meth:`Merge._stack`).
LARGE_CHUNK = 64 << 10


def write_workers(layout: Layout, chunks_per_object: int) -> int:
    """Workers for a write of ``layout``'s chunks whose stored objects hold up to
    ``chunks_per_object`` chunks: ``write_threads`` (one per core) where encoding is what
    takes the time, else ``threads`` (one more than cores, so that the waits of file
    creates, writes and renames overlap the encoding).

    Encoding takes the time for shards, whose inner chunks cost Python work under the GIL
    besides their encoding, and for chunks of :data:`LARGE_CHUNK` bytes and more that an
    entropy coder compresses (zstd, gzip ...). Measured with both counts side by side in
    one benchmark run (9 rounds, on disk): W1 (512 KiB, zstd) 0.187 s with 2 workers
    against 0.203 s with 3, W6 (512 KiB, gzip) 0.212 against 0.255 s, but W2b (512 KiB,
    blosc-lz4) 0.040 against 0.034 s; in another (7 rounds), W2n (512 KiB, uncompressed)
    0.047 against 0.038 s and W3's rewrite (4 KiB, zstd) 0.373 against 0.343 s. Compressing
    W1's chunks alone: 160 ms on 2 threads, 166-172 ms on 3."""
    pipeline = layout.pipeline
    compressing = pipeline.spec.nbytes >= LARGE_CHUNK and pipeline.entropy_coded
    return int(config.get("write_threads" if chunks_per_object > 1 or compressing else "threads"))


def _update(
    layout: Layout, units: Sequence[Unit], source: NDArray, sliced: bool, workers: int
) -> None:
    """Write ``units``' chunks, merged (on ``workers`` threads of the shared pool; 1: in
    this one)."""
    reads = direct_writes.write(layout, [r for _, chunks in units for r in chunks.reads()], source)
    if not reads:
        return
    merge = Merge(layout, reads, source, workers=workers, selection_sliced=sliced)
    layout.chunks.update_chunks([r.coords for r in reads], [r.complete for r in reads], merge)


class Merge:
    """A write's change to its chunks (see :class:`zarrkit.types.Merge`): each chunk's part
    of ``source`` written over the old chunk (or the fill value), encoded."""

    def __init__(
        self,
        layout: Layout,
        plan: Sequence[ChunkRead],
        source: NDArray,
        *,
        workers: int,
        selection_sliced: bool = False,
    ) -> None:
        self.layout = layout
        self.reads = {r.coords: r for r in plan}
        self.source = source
        self.workers = workers  # on the shared pool, for each call (1: in the caller's thread)
        # step-1 slices: a block of chunks each covered whole is one block of the source
        self.sliced = selection_sliced
        self.whole = tuple(slice(0, n, 1) for n in layout.pipeline.spec.shape)

    def __call__(self, items: Sequence[tuple[Coords, Blob | None]]) -> list[Blob | None]:
        merged: list[Blob | None] = [None] * len(items)
        whole = self._whole_rows(items)
        pipeline = self.layout.pipeline
        rows: list[int] = []  # stacked and encoded in one loop
        scratched: set[int] = set()  # merged one by one in the chunk their thread keeps
        slots: dict[int, NDArray] = {}  # merged one by one, each in its row
        if pipeline.spec.nbytes < LARGE_CHUNK:
            rows = whole
        elif pipeline.bytes_bytes and not pipeline.entropy_coded:  # a fast coder: _scratch
            scratched = set(whole)
        else:
            slots = dict(zip(whole, self._stack(len(whole)), strict=True))
        stack = self._stack(len(rows))
        stacked = set(rows)
        rest = [i for i in range(len(items)) if i not in stacked]

        def encode_stacked(lo: int, hi: int) -> None:
            for row in range(lo, hi):
                part = self.source[self.reads[items[rows[row]][0]].out_sel]
                stack[row].reshape(part.shape)[...] = part  # raises unless equal in size
            blobs = pipeline.encode_many(stack[lo:hi], self._kept(stack[lo:hi]))
            for row, blob in zip(range(lo, hi), blobs, strict=True):
                merged[rows[row]] = blob

        def merge_rest(lo: int, hi: int) -> None:
            for i in rest[lo:hi]:
                slot = _scratch(pipeline.spec) if i in scratched else slots.get(i)
                merged[i] = blob = self.one(*items[i], slot)
                if i in scratched and blob is not None and _aliases(blob, slot):
                    _local.chunk = None  # the blob is that memory: the next chunk gets its own

        run_batched(encode_stacked, len(rows), self.workers)
        run_batched(merge_rest, len(rest), self.workers)
        return merged

    def _whole_rows(self, items: Sequence[tuple[Coords, Blob | None]]) -> list[int]:
        """Which of ``items`` are written whole (none unless at least two are)."""
        rows = [i for i, (coords, old) in enumerate(items) if old is None and self._whole(coords)]
        return rows if self.layout.uniform and len(rows) >= 2 else []

    def _stack(self, count: int) -> NDArray:
        """One array for ``count`` chunks written whole, which their parts of the source are
        copied into (a copy: codecs may write to it). Chunks under :data:`LARGE_CHUNK` are
        encoded from it in one loop (``encode_many``); larger ones each by :meth:`one`,
        into the chunk its thread keeps where a fast coder makes new bytes of them
        (:func:`_scratch`), else into their rows. Measured: W3's rewrite (4 KiB zstd
        chunks, tmpfs) 0.227-0.230 s against 0.265-0.272 s with a call of :meth:`one` a
        chunk (medians of 12 alternating rewrites); W1's write (512 KiB) all in one loop
        faulted 11,793 pages a write in the benchmark's child against 1 (0.187 against
        0.173 s); a fresh array per chunk (W2n) faulted a page per 4 KiB, the allocator
        handing a window's freed chunks back to the system, where one array is one
        allocation."""
        return np.empty((count, *self.layout.pipeline.spec.shape), self.layout.dtype)

    def _whole(self, coords: Coords) -> bool:
        """Whether chunk ``coords`` is written whole: every element, in order."""
        return direct_writes.in_order(self.reads[coords].chunk_sel, self.whole)

    def one(self, coords: Coords, old: Blob | None, slot: NDArray | None = None) -> Blob | None:
        """Chunk ``coords`` with its part of the source written in (into ``slot`` when it
        is written whole: its row of a stack, or the chunk its thread keeps), encoded
        (``None`` when it is all fill value and empty chunks are not written)."""
        layout, chunk_read = self.layout, self.reads[coords]
        pipeline = layout.pipeline_at(coords)
        part = self.source[chunk_read.out_sel]
        if slot is not None:  # written whole
            chunk = slot
            chunk.reshape(part.shape)[...] = part
        elif old is None and part.shape == pipeline.spec.shape and self._whole(coords):
            chunk = np.array(part, order="C")  # a copy: codecs may write to it
        else:
            chunk = (
                layout.fill_chunk(coords)
                if old is None
                else pipeline.decode(old, key=layout.chunks.key(coords))
            )
            chunk[chunk_read.chunk_sel] = part
        empty = not layout.write_empty_chunks and all_fill(chunk, layout.fill_value)
        return None if empty else pipeline.encode(chunk)

    def empty(self, coords: Coords) -> Blob:
        return _fill_blob(self.layout, coords)

    def block(self, coords: Sequence[Coords], grid: tuple[int, ...]) -> list[Blob | None] | None:
        """The chunks ``coords`` (a C-ordered block of ``grid`` chunks, as a shard holds
        them) encoded from one copy of their block of the source, which must cover each of
        them whole: no Python work per chunk but its encoding (measured: 15 µs per 64x64
        inner chunk before). None unless the write is a step-1 slice selection covering
        the block, every chunk of the nominal shape."""
        region = self._region(coords, grid)
        if region is None:
            return None
        shape = self.layout.pipeline.spec.shape
        ndim = len(shape)
        split = self.source[region].reshape(
            [n for pair in zip(grid, shape, strict=True) for n in pair]
        )
        # a copy, even where the source's block is one already (codecs may write to it)
        stack = np.array(split.transpose(*range(0, 2 * ndim, 2), *range(1, 2 * ndim, 2)), order="C")
        chunks = stack.reshape(-1, *shape)
        return self.layout.pipeline.encode_many(chunks, self._kept(chunks))

    def _region(self, coords: Sequence[Coords], grid: tuple[int, ...]) -> tuple[slice, ...] | None:
        """Where the block of chunks ``coords`` lies in the source, if it is written whole
        from one block of it."""
        if not self.sliced or not coords:
            return None
        reads = [self.reads.get(c) for c in coords]
        if not all(r is not None and r.complete for r in reads):
            return None
        first, last = reads[0].out_sel, reads[-1].out_sel  # type: ignore[union-attr]
        region = tuple(slice(a.start, b.stop) for a, b in zip(first, last, strict=True))
        shape = self.layout.pipeline.spec.shape
        sizes = zip(region, grid, shape, strict=True)
        return region if all(s.stop - s.start == g * n for s, g, n in sizes) else None

    def _kept(self, chunks: NDArray) -> list[bool]:
        """Which of ``chunks`` (stacked) are stored: those not all fill value, or all."""
        layout = self.layout
        if layout.write_empty_chunks:
            return [True] * len(chunks)
        fill = layout.fill_value
        flat = chunks.reshape(len(chunks), -1)
        differs = [False] * len(chunks)
        if flat.dtype.kind in "biuf" and flat.shape[1] and not np.isnan(fill):
            differs = (flat[:, 0] != fill).tolist()  # one comparison rejects most chunks
        return [d or not all_fill(c, fill) for d, c in zip(differs, chunks, strict=True)]


#: Chunks of up to this many bytes that a thread copies into to encode stay with it from
#: write to write (larger ones are allocated anew each time, see :func:`_scratch`): each
#: pool thread keeps at most this much, as it keeps a buffer for reading files.
KEPT_SCRATCH = 4 << 20

_local = threading.local()


def _scratch(spec: ChunkSpec) -> NDArray:
    """A chunk of ``spec`` to copy a part of the source into and encode, which this thread
    keeps for its next (where at most :data:`KEPT_SCRATCH` bytes): for fast coders (blosc's
    lz4, ...), which take about as long as the copy, which then writes into memory in the
    cache. Copying W2b's 256 chunks (512 KiB) and compressing them with blosc-lz4, one
    thread, took 40.5-41.6 ms of CPU into one reused chunk against 47.3 ms into a window's
    rows; W2b's writes took 0.88-0.94x the time, alternating in one process. Not for entropy
    coders: zstd and gzip take 20-30 times as long as the copy, and W1's zstd writes so
    faulted 8,000-10,000 pages a write (5-12% slower): without a window's stack to free, the
    allocator mapped each compressed chunk anew. Allocated for each window instead, W6's
    gzip writes faulted 10,000-11,000 pages a write."""
    held: NDArray | None = getattr(_local, "chunk", None)
    if held is None or held.shape != spec.shape or held.dtype != spec.dtype:
        held = np.empty(spec.shape, spec.dtype)
        _local.chunk = held if held.nbytes <= KEPT_SCRATCH else None
    return held


def _aliases(blob: Blob, chunk: NDArray | None) -> bool:
    """Whether ``blob`` may be (a view of) ``chunk``'s memory."""
    return bool(np.may_share_memory(np.frombuffer(blob, np.uint8), chunk))


def remove(layout: Layout, coords: Sequence[Coords]) -> None:
    """Remove the chunks at ``coords`` (the rest of a shard holding some is kept)."""
    plan = ChunkList([ChunkRead(c, (), (), True) for c in coords])
    for units, targets in write_plan.lock_groups(layout, write_plan.units(layout, plan)):
        with locking.holding(targets):
            batch = [c for _, chunks in units for c in chunks.coords(0, len(chunks))]
            layout.chunks.update_chunks(batch, [True] * len(batch), _Removal(layout))


class _Removal:
    """The change that removes chunks."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def block(self, coords: Sequence[Coords], grid: tuple[int, ...]) -> None:
        return None

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
