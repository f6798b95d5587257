"""Chunk grids: where each chunk starts and how long it is, per dimension.

Indexing projects selections onto a grid through :class:`DimGrid`, one per dimension, so a
regular grid and a rectilinear one share the same vectorized projection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError


@dataclass(frozen=True, slots=True)
class DimGrid:
    """Chunking of one dimension of length ``length`` into chunks of ``size`` elements.

    ``edges`` (optional) holds the start offset of every chunk plus the final end, for
    grids whose chunks differ in size; when it is ``None`` every chunk is ``size`` long
    (the last one clipped to the array, as the regular grid does).
    """

    length: int
    size: int
    edges: np.ndarray[Any, np.dtype[np.int64]] | None = None
    #: Whether every chunk is stored with ``size`` elements (regular grids, and inner
    #: chunks of shards, pad the last one); False for grids that store each chunk with
    #: its own length (rectilinear).
    padded: bool = True

    @property
    def nchunks(self) -> int:
        if self.edges is not None:
            return len(self.edges) - 1
        return math.ceil(self.length / self.size) if self.size else 0

    def chunk_start(self, ix: int) -> int:
        return int(self.edges[ix]) if self.edges is not None else ix * self.size

    def chunk_len(self, ix: int) -> int:
        """Length of chunk ``ix`` as stored (regular chunks are never clipped)."""
        if self.edges is not None:
            return int(self.edges[ix + 1] - self.edges[ix])
        return self.size

    def chunk_of(
        self, indices: np.ndarray[Any, np.dtype[np.int64]]
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
        """Chunk index and offset within that chunk of every element index (vectorized)."""
        if self.edges is None:
            return np.divmod(indices, self.size)
        ix = np.searchsorted(self.edges, indices, side="right") - 1
        return ix, indices - self.edges[ix]


@dataclass(frozen=True, slots=True, kw_only=True)
class RegularChunkGrid:
    """Every chunk has ``chunk_shape``; edge chunks extend past the array and are clipped."""

    chunk_shape: tuple[int, ...]

    def dims(self, shape: tuple[int, ...]) -> tuple[DimGrid, ...]:
        return tuple(DimGrid(n, c) for n, c in zip(shape, self.chunk_shape, strict=True))

    def chunk_shape_at(self, coords: tuple[int, ...]) -> tuple[int, ...]:
        return self.chunk_shape

    def grid_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(d.nchunks for d in self.dims(shape))

    def validate(self, shape: tuple[int, ...], *, key: str | None = None) -> None:
        if len(self.chunk_shape) != len(shape):
            raise MetadataError(
                f"chunk shape {self.chunk_shape} has {len(self.chunk_shape)} dimensions, "
                f"the array shape {shape} has {len(shape)}",
                key=key,
                field="chunks",
            )
        if any(c <= 0 for c in self.chunk_shape) and any(shape):
            raise MetadataError(
                f"chunk shape {self.chunk_shape} must be positive", key=key, field="chunks"
            )

    def to_json(self) -> dict[str, Any]:
        return {"name": "regular", "configuration": {"chunk_shape": list(self.chunk_shape)}}


def inner_dims(
    shape: tuple[int, ...], shard_shape: tuple[int, ...], inner_shape: tuple[int, ...]
) -> tuple[DimGrid, ...]:
    """The grid of inner chunks of a sharded array. Inner chunks restart at every shard
    boundary, so an inner chunk shape that does not divide the shard shape gives the last
    inner chunk of each shard a shorter (clipped) extent."""
    dims = []
    for n, s, c in zip(shape, shard_shape, inner_shape, strict=True):
        if s % c == 0:
            dims.append(DimGrid(n, c))
            continue
        starts = np.arange(0, s, c)
        edges = (np.arange(0, max(n, 1), s)[:, None] + starts[None, :]).ravel()
        edges = np.append(edges[edges < n], n).astype(np.int64)
        dims.append(DimGrid(n, c, edges))
    return tuple(dims)
