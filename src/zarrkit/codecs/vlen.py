"""``vlen-utf8`` and ``vlen-bytes``: variable-length strings and bytes to bytes.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/vlen-utf8 (and
``vlen-bytes``); v2 ids: ``vlen-utf8``, ``vlen-bytes`` (numcodecs filters, run by the v2
filter path). Config: ``{"name": "vlen-utf8", "configuration": {}}``.

A chunk is stored in C order as a little-endian uint32 item count, then per item a uint32
byte length and the bytes (numcodecs' layout, which does the work). ``vlen-utf8`` chunks
decode to the array's dtype (``StringDType``, or objects), ``vlen-bytes`` to bytes objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numcodecs
import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs.base import JSON, ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.buffers import blob_size
from zarrkit.errors import CodecError, MetadataError
from zarrkit.metadata.dtypes import family
from zarrkit.types import Blob


@dataclass(frozen=True, slots=True, kw_only=True)
class _VLenCodec(ArrayBytesCodec):
    """A numcodecs variable-length codec on whole chunks; subclasses name the codec and the
    dtype families it serializes."""

    name: ClassVar[str]
    families: ClassVar[tuple[str, ...]]
    numcodec: ClassVar[Numcodec]

    def to_json(self) -> dict[str, JSON]:
        return {"name": self.name, "configuration": {}}

    def validate(self, spec: ChunkSpec) -> None:
        if family(spec.dtype) not in self.families:
            raise MetadataError(
                f"codec {self.name!r} cannot encode data type {spec.dtype} "
                "(vlen-utf8 is for strings, dtype=str; vlen-bytes for bytes, dtype=bytes)",
                field="codecs",
            )

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        items = np.ascontiguousarray(chunk).reshape(-1)
        return self.numcodec.encode(items.astype(object))  # type: ignore[no-any-return]

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        count = math.prod(spec.shape)
        size = blob_size(blob)
        header = int(np.frombuffer(blob, "<u4", count=1)[0]) if size >= 4 else -1
        # each item takes at least its 4-byte length: refuse impossible counts before
        # numcodecs allocates for them
        if header != count or 4 + 4 * count > size:
            raise CodecError(
                f"{self.name}: chunk of {size} bytes holds {header} items, expected {count} "
                f"for shape {spec.shape}"
            )
        items: np.ndarray[Any, Any] = self.numcodec.decode(blob)
        return items.reshape(spec.shape).astype(spec.dtype, copy=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class VLenUTF8Codec(_VLenCodec):
    """UTF-8 strings (``StringDType`` or object arrays of ``str``).

    Examples
    --------
    >>> VLenUTF8Codec().to_json()
    {'name': 'vlen-utf8', 'configuration': {}}
    """

    name: ClassVar[str] = "vlen-utf8"
    families: ClassVar[tuple[str, ...]] = ("string", "object")
    numcodec: ClassVar[Numcodec] = numcodecs.VLenUTF8()


@dataclass(frozen=True, slots=True, kw_only=True)
class VLenBytesCodec(_VLenCodec):
    """Byte strings (object arrays of ``bytes``)."""

    name: ClassVar[str] = "vlen-bytes"
    families: ClassVar[tuple[str, ...]] = ("vlen_bytes", "object")
    numcodec: ClassVar[Numcodec] = numcodecs.VLenBytes()
