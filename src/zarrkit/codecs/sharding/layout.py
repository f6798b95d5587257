"""Where inner chunks sit in a shard: the empty index entry, the Morton order zarr-python
writes them in, and inner chunk coords split into (shard, position in the shard), for
shards of one shape (a regular grid) or of several (a rectilinear grid)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.metadata.chunk_grid import DimGrid
from zarrkit.types import Coords

#: An index entry (offset and size) of an inner chunk that is not stored.
EMPTY = np.uint64(2**64 - 1)


def morton_order(shape: tuple[int, ...]) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Coordinates of a grid of ``shape`` in (compressed) Morton order, as zarr-python
    writes inner chunks: bits interleaved dimension by dimension, dimensions that run out
    of bits skipped. Returns an ``(n, ndim)`` array."""
    if not shape:
        return np.zeros((1, 0), dtype=np.intp)
    coords = np.indices(shape).reshape(len(shape), -1).T
    bits = [(n - 1).bit_length() for n in shape]
    code = np.zeros(len(coords), dtype=np.uint64)
    out_bit = 0
    for bit in range(max(bits, default=0)):
        for dim, nbits in enumerate(bits):
            if bit < nbits:
                code |= ((coords[:, dim] >> bit) & 1).astype(np.uint64) << np.uint64(out_bit)
                out_bit += 1
    return coords[np.argsort(code, kind="stable")]


@dataclass(frozen=True, slots=True)
class ShardAxis:
    """Where the inner chunks of one dimension sit in its shards: ``per`` inner chunks in
    every shard (a regular grid), or, when shards differ in length (a rectilinear grid),
    ``firsts``: the inner chunk each shard starts with, then the total."""

    per: int = 0
    firsts: np.ndarray[Any, np.dtype[np.int64]] | None = None

    @classmethod
    def of(cls, shards: DimGrid, inner: int) -> ShardAxis:
        """The axis of shards laid out by ``shards`` holding inner chunks of ``inner``
        elements (a shard holds ``ceil(its length / inner)``, the last one padded)."""
        if shards.edges is None:
            return cls(per=-(-shards.size // inner))
        counts = -(-np.diff(shards.edges) // inner)
        return cls(firsts=np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)]))

    def locate(self, ix: int) -> tuple[int, int]:
        """(shard, position in the shard) of inner chunk ``ix``."""
        if self.firsts is None:
            return divmod(ix, self.per)
        shard = int(np.searchsorted(self.firsts, ix, side="right")) - 1
        return shard, ix - int(self.firsts[shard])

    def shards(self, ix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The shard of each inner chunk in ``ix`` (:meth:`locate` of many at once)."""
        if self.firsts is None:
            return ix // self.per
        return np.searchsorted(self.firsts, ix, side="right") - 1

    def starts(self, shards: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The first inner chunk of each of ``shards`` (:meth:`first` of many at once)."""
        return shards * self.per if self.firsts is None else self.firsts[shards]

    def first(self, shard: int) -> int:
        return shard * self.per if self.firsts is None else int(self.firsts[shard])

    def count(self, shard: int) -> int:
        """Inner chunks along this axis in ``shard`` (its index's extent)."""
        if self.firsts is None:
            return self.per
        return int(self.firsts[shard + 1] - self.firsts[shard])


@dataclass(frozen=True, slots=True)
class ShardGrid:
    """Inner chunk coords mapped to (shard, position in the shard), one axis per dimension,
    for shards of one shape or (rectilinear grids) of many.

    Examples
    --------
    >>> from zarrkit.metadata.chunk_grid import RectilinearChunkGrid
    >>> shards = RectilinearChunkGrid.from_sizes([[60, 40, 20]]).dims((120,))
    >>> grid = ShardGrid.of(shards, (10,))
    >>> grid.locate((7,)), grid.cps((1,))
    (((1,), (1,)), (4,))
    """

    axes: tuple[ShardAxis, ...]

    @classmethod
    def of(cls, shards: Sequence[DimGrid], inner: Sequence[int]) -> ShardGrid:
        return cls(tuple(ShardAxis.of(d, c) for d, c in zip(shards, inner, strict=True)))

    def locate(self, coords: Sequence[int]) -> tuple[Coords, Coords]:
        """(shard coords, inner coords within the shard) of inner chunk ``coords``."""
        pairs = [axis.locate(c) for axis, c in zip(self.axes, coords, strict=True)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def shards(self, coords: Sequence[Coords]) -> list[Coords]:
        """The shard of each inner chunk in ``coords``, in bulk (writers group by shard)."""
        if not self.axes or not coords:
            return [()] * len(coords)
        return _rows(self._shard_columns(np.asarray(coords, dtype=np.int64)))

    def locate_many(self, coords: Sequence[Coords]) -> tuple[list[Coords], list[Coords]]:
        """:meth:`locate` of every inner chunk in ``coords`` at once: their shards, and
        their coords within them (a few NumPy calls, not Python per chunk)."""
        if not self.axes or not coords:
            return [()] * len(coords), [()] * len(coords)
        ix = np.asarray(coords, dtype=np.int64)
        shards = self._shard_columns(ix)
        inner = [
            ix[:, d] - axis.starts(s)
            for d, (axis, s) in enumerate(zip(self.axes, shards, strict=True))
        ]
        return _rows(shards), _rows(inner)

    def _shard_columns(self, ix: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
        """The shard index along each dimension of the inner chunks ``ix`` (one row each)."""
        return [axis.shards(ix[:, d]) for d, axis in enumerate(self.axes)]

    def block(self, shard: Coords) -> list[Coords]:
        """The inner chunks of ``shard`` (array-wide coords), in C order."""
        ranges = (
            range(axis.first(s), axis.first(s) + axis.count(s))
            for axis, s in zip(self.axes, shard, strict=True)
        )
        return list(itertools.product(*ranges))

    def cps(self, shard: Coords) -> tuple[int, ...]:
        """Inner chunks per dimension of ``shard``: the shape of its index."""
        return tuple(axis.count(s) for axis, s in zip(self.axes, shard, strict=True))

    def inside(self, shard: Coords, counts: Sequence[int]) -> int:
        """How many inner chunks of ``shard`` lie inside an array of ``counts`` inner chunks
        per dimension (the others, past its end, are never stored)."""
        total = 1
        for axis, s, n in zip(self.axes, shard, counts, strict=True):
            total *= min(axis.count(s), n - axis.first(s))
        return total


def _rows(columns: list[np.ndarray[Any, Any]]) -> list[Coords]:
    return list(zip(*(column.tolist() for column in columns), strict=True))
