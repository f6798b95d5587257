"""Conversions between the buffers codecs exchange: blobs, byte views and chunk arrays.

Every conversion that could change a size checks it and raises
:class:`~zarrkit.errors.CodecError`, so no decoded buffer is ever reshaped silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numcodecs.compat import ensure_ndarray_like

from zarrkit.codecs.base import ChunkSpec
from zarrkit.errors import CodecError
from zarrkit.types import Blob


def as_blob(data: object) -> Blob:
    """A blob from whatever a numcodecs codec returned (bytes, or an array for checksums)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return data
    return byte_view(np.ascontiguousarray(data))


def byte_view(arr: np.ndarray[Any, Any]) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return arr.reshape(-1).view(np.uint8).data


def typed_view(arr: np.ndarray[Any, Any]) -> memoryview:
    """A C-order view that keeps the element size: numcodecs compressors read it (blosc
    takes its ``typesize`` from it, as it does when zarr-python hands it the array)."""
    flat = np.ascontiguousarray(arr).reshape(-1)
    if flat.dtype.kind == "O":
        raise CodecError("an object array needs an object codec (e.g. vlen-utf8) to be encoded")
    if flat.dtype.kind in "Mm":
        flat = flat.view(np.int64)
    try:
        return flat.data
    except (ValueError, TypeError, BufferError):
        return byte_view(flat)


def copy_exact(data: Blob, out: memoryview) -> None:
    """Copy ``data`` into ``out``; their sizes must be equal."""
    if blob_size(data) != out.nbytes:
        raise CodecError(f"decoded {blob_size(data)} bytes, expected {out.nbytes}")
    np.copyto(np.frombuffer(out, np.uint8), np.frombuffer(data, np.uint8))


def copy_rows(blobs: Sequence[Blob | None], out: memoryview, nbytes: int) -> None:
    """Copy each of ``blobs`` (``None``: skipped; each exactly ``nbytes``) into its
    ``nbytes`` of ``out``."""
    at = 0
    for blob in blobs:
        if blob is not None:
            if type(blob) is bytes and len(blob) == nbytes:
                out[at : at + nbytes] = blob  # what file reads give: no views to make
            else:
                copy_exact(blob, out[at : at + nbytes])
        at += nbytes


def as_chunk(data: object, spec: ChunkSpec) -> np.ndarray[Any, Any]:
    """Decoded ``data`` as an array of ``spec``'s dtype and shape (sizes are checked)."""
    arr = ensure_ndarray_like(data)
    count = math.prod(spec.shape)
    if arr.dtype != spec.dtype:
        if spec.dtype.kind == "O":
            raise CodecError("an object array needs an object codec (e.g. vlen-utf8) to decode")
        if arr.dtype.kind == "O":
            arr = arr.astype(spec.dtype)
        else:
            expected = count * spec.dtype.itemsize
            if arr.nbytes != expected:
                raise CodecError(
                    f"decoded {arr.nbytes} bytes, expected {expected} "
                    f"({count} x {spec.dtype} for shape {spec.shape})"
                )
            arr = np.ascontiguousarray(arr).reshape(-1).view(spec.dtype)
    if arr.size != count:
        raise CodecError(f"decoded {arr.size} elements, expected {count} for shape {spec.shape}")
    return arr.reshape(spec.shape)  # type: ignore[no-any-return]


def blob_size(data: Blob) -> int:
    """The size of a blob in bytes (a typed memoryview counts bytes, not elements)."""
    return data.nbytes if isinstance(data, memoryview) else len(data)
