"""``bytes``: fixed-size elements to bytes, in C order and a fixed byte order.

Spec: https://zarr-specs.readthedocs.io/en/latest/v3/codecs/bytes/index.html
v3 name: ``bytes`` (``endian``, its name in early v3 drafts, is read too); v2 id: none (a v2
chunk holds the array's own bytes, see :mod:`zarrkit.codecs.v2`).
Config: ``{"name": "bytes", "configuration": {"endian": "little"}}``; single-byte types
write no configuration. Records (``struct``, ``structured``) hold every multi-byte field in
``endian`` order; records written without one (zarr-python 3.1 does) are little-endian, as
the ``structured`` extension says.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar, Self

import numpy as np

from zarrkit.codecs.base import JSON, ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.buffers import blob_size, byte_view
from zarrkit.codecs.parse import parse_choice
from zarrkit.errors import CodecError, MetadataError
from zarrkit.types import Blob


class Endian(StrEnum):
    """Byte orders, as zarr-python names them (strings work too)."""

    big = "big"
    little = "little"


def has_endian(dtype: np.dtype[Any]) -> bool:
    """Whether byte order matters for ``dtype`` (not for bool, int8, bytes, nor one-byte
    ml_dtypes types such as float8, which report native order; for a record, whether it
    matters for one of its fields)."""
    if dtype.names is not None:
        return any(has_endian(dtype.fields[name][0].base) for name in dtype.names)  # type: ignore[index]
    return dtype.byteorder != "|" and dtype.itemsize > 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BytesCodec(ArrayBytesCodec):
    """Serialize a chunk as its elements' bytes in C order.

    Examples
    --------
    >>> BytesCodec(endian="big").to_json()
    {'name': 'bytes', 'configuration': {'endian': 'big'}}
    >>> BytesCodec(endian=Endian.big) == BytesCodec(endian="big")
    True
    """

    name: ClassVar[str] = "bytes"
    endian: Endian | str | None = sys.byteorder

    def __post_init__(self) -> None:
        if self.endian is not None:
            endian = parse_choice(self.endian, tuple(Endian), codec=self.name, field="endian")
            object.__setattr__(self, "endian", Endian(endian))  # as zarr-python: a str enum

    def to_json(self) -> dict[str, JSON]:
        if self.endian is None:
            return {"name": self.name}
        return {"name": self.name, "configuration": {"endian": str(self.endian)}}

    def evolve(self, spec: ChunkSpec) -> Self:
        if self.endian is not None and not has_endian(spec.dtype):
            return replace(self, endian=None)
        return self

    def validate(self, spec: ChunkSpec) -> None:
        if self.endian is None and has_endian(spec.dtype) and spec.dtype.names is None:
            raise MetadataError(
                f"codec 'bytes' needs an endian for data type {spec.dtype}", field="endian"
            )

    def plain_dtype(self, spec: ChunkSpec) -> np.dtype[Any]:
        if not has_endian(spec.dtype):
            return spec.dtype
        endian = self.endian or "little"  # records without one: little (see above)
        return spec.dtype.newbyteorder("<" if endian == "little" else ">")

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        return byte_view(np.ascontiguousarray(chunk, dtype=self.plain_dtype(spec)))

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        if blob_size(blob) != spec.nbytes:
            raise CodecError(
                f"bytes: got {blob_size(blob)} bytes, expected {spec.nbytes} "
                f"for shape {spec.shape} of {spec.dtype}"
            )
        stored = self.plain_dtype(spec)
        chunk = np.frombuffer(blob, stored).reshape(spec.shape)
        return chunk if stored == spec.dtype else chunk.astype(spec.dtype)
