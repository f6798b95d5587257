"""Dask arrays from zarrkit arrays, and Dask arrays written into zarrkit arrays safely.

(New zarrkit arrays made from Dask arrays are :mod:`zarrkit.integrations.from_dask`'s: this
module imports no more of zarrkit than its arrays' types, so :meth:`Array.to_dask
<zarrkit.nodes.arrays.Array.to_dask>` can import it.)

A stored chunk (or shard) is replaced whole on every write, so two Dask blocks that write
parts of the same chunk at the same time can each undo the other's part. :func:`store_dask`
never lets that happen: by default it rechunks the Dask array so every block covers whole
chunks; ``align="lock"`` instead serializes the writers of each shared chunk, and
``align="error"`` refuses to write and names the boundaries at fault.

Arrays pickle by configuration (store and path), so they travel to distributed workers;
use a store every worker can reach (``LocalStore`` on a shared disk, object storage), not
a ``MemoryStore``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import dask.array as da
import numpy as np
from dask.array.core import normalize_chunks
from dask.base import tokenize

from zarrkit.errors import ChunkAlignmentError, ShapeMismatchError

if TYPE_CHECKING:
    from zarrkit.nodes.arrays import Array

log = logging.getLogger(__name__)

Align = Literal["rechunk", "lock", "error"]
DaskChunks = tuple[tuple[int, ...], ...]
_ALIGN_MODES = ("rechunk", "lock", "error")


def write_unit(array: Array) -> tuple[int, ...]:
    """The shape of the stored objects a write replaces whole: shards, else chunks."""
    return array.shards or array.chunks


def to_dask(array: Array, chunks: Any = None, *, name: str | None = None) -> da.Array:
    """A lazy Dask array reading ``array``; its blocks default to the array's chunks (its
    shards when sharded), so each task decodes whole stored objects.

    Examples
    --------
    >>> import zarrkit
    >>> a = zarrkit.ones((6, 4), chunks=(3, 2), dtype="i2")
    >>> d = to_dask(a)
    >>> d.chunks, int(d.sum().compute())
    (((3, 3), (2, 2)), 24)
    """
    chunks = normalize_chunks(
        array.write_chunk_sizes if chunks is None else chunks, array.shape, dtype=array.dtype
    )
    name = name or f"zarrkit-{tokenize(repr(array.store), array.path, array.metadata, chunks)}"
    result: da.Array = da.from_array(array, chunks=chunks, name=name, lock=False)
    return result


def store_dask(
    source: da.Array,
    target: Array,
    *,
    region: tuple[slice, ...] | None = None,
    align: Align = "rechunk",
    compute: bool = True,
) -> Any:
    """Write the Dask array ``source`` into ``target`` (or into its ``region``, one slice
    per dimension, of ``source``'s shape) without losing data.

    Blocks whose boundaries do not fall on ``target``'s chunk (or shard) boundaries would
    share a stored object; ``align`` says what to do then:

    - ``"rechunk"`` (default): rechunk ``source`` to whole multiples of the chunks.
    - ``"lock"``: keep the blocks, and hold a lock per shared chunk while writing (a
      ``distributed.Lock`` on a distributed cluster, else a process-local lock, which is
      enough for the threaded scheduler; for the multiprocessing one only on stores that
      serialise writers themselves: lock files (local directories) or conditional writes
      (object stores, databases), see docs/storage.md).
    - ``"error"``: raise :class:`~zarrkit.errors.ChunkAlignmentError`.

    With ``compute=False`` a ``Delayed`` is returned that performs the write.
    """
    check_align(align)
    box = _region(target, region)
    shape = tuple(s.stop - s.start for s in box)
    if tuple(source.shape) != shape:
        where = (
            f"the region {box} of {target.name}" if region else f"the target array {target.name}"
        )
        raise ShapeMismatchError(
            f"the Dask array has shape {tuple(source.shape)}, {where} has shape {shape}"
        )
    unit = write_unit(target)
    offset = tuple(s.start for s in box)
    problems = misaligned(source.chunks, unit, target.shape, offset)
    destination: Any = target
    if problems:
        if align == "error":
            raise ChunkAlignmentError(
                f"Dask blocks of {target.name} would share stored chunks of shape {unit}: "
                + "; ".join(problems)
                + " (use align='rechunk' or align='lock')"
            )
        if align == "rechunk":
            new_chunks = aligned_chunks(source.chunks, unit, offset)
            log.info(
                "rechunking a Dask array from %s to %s for aligned writes",
                source.chunks,
                new_chunks,
            )
            source = source.rechunk(new_chunks)
        else:
            log.info("writing %s with a lock per shared chunk", target.name)
            destination = LockedTarget(target, unit)
    regions = box if region is not None else None
    return da.store(source, destination, regions=regions, lock=False, compute=compute)


def _region(target: Array, region: tuple[slice, ...] | None) -> tuple[slice, ...]:
    """``region`` (all of ``target`` if None) as slices with explicit starts and stops."""
    if region is None:
        return tuple(slice(0, n) for n in target.shape)
    if len(region) != target.ndim or not all(isinstance(s, slice) for s in region):
        raise ValueError(f"region must be {target.ndim} slices, got {region!r}")
    box = []
    for where, n in zip(region, target.shape, strict=True):
        start, stop, step = where.indices(n)
        if step != 1:
            raise ValueError(f"region slices must have step 1, got {where}")
        box.append(slice(start, max(start, stop)))
    return tuple(box)


def check_align(align: str) -> None:
    """Refuse an ``align`` that is not one of ``rechunk``, ``lock`` and ``error``."""
    if align not in _ALIGN_MODES:
        raise ValueError(f"align must be one of {', '.join(_ALIGN_MODES)}, got {align!r}")


def _boundaries(lengths: Sequence[int]) -> list[int]:
    """Inner block boundaries: the offsets where one block ends and the next begins."""
    return list(itertools.accumulate(lengths))[:-1]


def misaligned(
    chunks: DaskChunks,
    unit: Sequence[int],
    shape: Sequence[int],
    offset: Sequence[int] | None = None,
) -> list[str]:
    """One message per axis whose block boundaries fall inside a stored chunk (empty when
    every block covers whole chunks); the blocks start at ``offset`` of the array."""
    problems = []
    starts = offset or (0,) * len(unit)
    for axis, (lengths, size, start) in enumerate(zip(chunks, unit, starts, strict=True)):
        inside = [
            b for b in (start + b for b in _boundaries(lengths)) if b % size and b != shape[axis]
        ]
        if inside:
            shared = sorted({b // size for b in inside})
            problems.append(
                f"axis {axis}: block boundaries {_shorten(inside)} fall inside stored chunks "
                f"{_shorten(shared)} (chunk length {size})"
            )
    return problems


def _shorten(values: list[int], limit: int = 8) -> str:
    text = ", ".join(map(str, values[:limit]))
    return f"[{text}, ... {len(values) - limit} more]" if len(values) > limit else f"[{text}]"


def aligned_chunks(
    chunks: DaskChunks, unit: Sequence[int], offset: Sequence[int] | None = None
) -> DaskChunks:
    """Block lengths close to ``chunks`` whose boundaries (the blocks starting at
    ``offset`` of the array, 0 by default) are all multiples of ``unit``: each boundary
    moves to the nearest chunk boundary (blocks that vanish are dropped).

    Examples
    --------
    >>> aligned_chunks(((7, 7, 7, 7),), (5,))
    ((5, 10, 5, 8),)
    >>> aligned_chunks(((3, 3),), (5,), offset=(4,))
    ((1, 5),)
    """
    result = []
    starts = offset or (0,) * len(unit)
    for lengths, size, start in zip(chunks, unit, starts, strict=True):
        n = sum(lengths)
        moved = {round((start + b) / size) * size - start for b in _boundaries(lengths)}
        bounds = [0, *sorted(b for b in moved if 0 < b < n), n]
        result.append(tuple(int(d) for d in np.diff(bounds)) if n else (0,))
    return tuple(result)


class LockedTarget:
    """Writes each block of a ``da.store`` while holding a lock on every stored chunk the
    block touches (acquired in sorted order, so writers never deadlock)."""

    def __init__(self, array: Array, unit: tuple[int, ...]) -> None:
        self.array = array
        self.unit = unit
        self.token = tokenize(repr(array.store), array.path)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.array.dtype

    def __setitem__(self, key: tuple[slice, ...], value: Any) -> None:
        names = [f"zarrkit-{self.token}-{'.'.join(map(str, c))}" for c in self._touched(key)]
        with _holding(sorted(names)):
            self.array[key] = value

    def _touched(self, key: tuple[slice, ...]) -> Iterator[tuple[int, ...]]:
        ranges = [
            range(s.start // size, -(-s.stop // size))
            for s, size in zip(key, self.unit, strict=True)
        ]
        return itertools.product(*ranges)


# Process-local locks, striped so memory stays bounded however many chunks there are;
# stripes are taken in index order, so two writers never wait on each other in a cycle.
_STRIPES = tuple(threading.Lock() for _ in range(256))


@contextlib.contextmanager
def _holding(names: list[str]) -> Iterator[None]:
    """Hold the locks named ``names`` (distributed ones when running on a worker)."""
    with contextlib.ExitStack() as stack:
        if _on_distributed_worker():
            from distributed import Lock

            for name in names:
                stack.enter_context(Lock(name))
        else:
            for index in sorted({zlib.crc32(n.encode()) % len(_STRIPES) for n in names}):
                stack.enter_context(_STRIPES[index])
        yield


def _on_distributed_worker() -> bool:
    try:
        from distributed import get_worker
    except ImportError:
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


__all__ = [
    "LockedTarget",
    "aligned_chunks",
    "check_align",
    "misaligned",
    "store_dask",
    "to_dask",
]
