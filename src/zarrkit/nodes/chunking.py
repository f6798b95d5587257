"""Choosing chunk shapes: user input to a tuple, and the ``"auto"`` guess."""

from __future__ import annotations

import math
import operator
from typing import Any

from zarrkit.errors import MetadataError, MetadataTypeError

# zarr-python's heuristic bounds: chunks between 256 KiB and 64 MiB, about 1 MiB per
# 100 MiB of array, so small arrays get one chunk and huge ones stay manageable.
_MIN_BYTES = 256 * 1024
_MAX_BYTES = 64 * 1024 * 1024
_BASE_BYTES = 256 * 1024


def guess_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """A chunk shape of roughly 0.25-64 MiB, halving the longest dimension until it fits."""
    ndim = len(shape)
    chunks = [max(n, 1) for n in shape]
    total = math.prod(chunks) * itemsize
    target = _BASE_BYTES * 2 ** math.log10(max(total / (1024 * 1024), 1))
    target = min(max(target, _MIN_BYTES), _MAX_BYTES)
    i = 0
    while ndim:
        size = math.prod(chunks) * itemsize
        if (size < target * 1.5 and abs(size - target) / target < 0.5) or size < _MIN_BYTES:
            break
        if math.prod(chunks) == 1:
            break
        chunks[i % ndim] = math.ceil(chunks[i % ndim] / 2.0)
        i += 1
    return tuple(chunks)


def normalize_chunks(chunks: Any, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """A chunk shape from ``"auto"``, an int, or a tuple (``-1``/``None``: whole dim); its
    lengths are positive, except 0 along a dimension of length 0 (as zarr-python allows)."""
    if chunks is None or chunks == "auto" or chunks is True:
        return guess_chunks(shape, itemsize)
    if _as_int(chunks) is not None:
        chunks = (chunks,) * len(shape)
    if not isinstance(chunks, tuple | list):
        raise MetadataError(f"invalid chunks {chunks!r}", field="chunks")
    if len(chunks) != len(shape):
        raise MetadataError(
            f"chunks {tuple(chunks)} have {len(chunks)} dimensions, shape {shape} has {len(shape)}",
            field="chunks",
        )
    result = []
    for c, n in zip(chunks, shape, strict=True):
        size = max(n, 1) if c is None or c == -1 else _as_int(c)
        if size is None:
            raise MetadataTypeError(
                f"chunk sizes must be integers, got {tuple(chunks)!r}", field="chunks"
            )
        if size < 0 or (size == 0 and n > 0):
            raise MetadataError(
                f"chunk sizes must be positive integers (0 only along an empty dimension), "
                f"got {tuple(chunks)!r} for shape {shape}",
                field="chunks",
            )
        result.append(size)
    return tuple(result)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def normalize_shape(shape: Any) -> tuple[int, ...]:
    """A tuple of ints from an int or a sequence of integers (NumPy's too); the metadata
    constructors check their range."""
    if _as_int(shape) is not None:
        shape = (shape,)
    ints = [_as_int(n) for n in shape] if isinstance(shape, tuple | list) else [None]
    if None in ints:  # a TypeError too, as NumPy and zarr-python raise
        raise MetadataTypeError(
            f"shape must be an int or a sequence of ints, got {shape!r}", field="shape"
        )
    return tuple(n for n in ints if n is not None)
