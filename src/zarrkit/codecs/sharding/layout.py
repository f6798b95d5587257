"""Where inner chunks sit in a shard: the empty index entry, the Morton order zarr-python
writes them in, and inner chunk coords split into (shard, position in the shard)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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


def shard_coords(coords: Sequence[int], cps: tuple[int, ...]) -> tuple[Coords, Coords]:
    """(shard coords, inner coords within the shard) of inner chunk ``coords``."""
    pairs = [divmod(c, n) for c, n in zip(coords, cps, strict=True)]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
