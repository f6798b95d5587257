"""``crc32c``: a CRC-32C checksum appended to the bytes (little-endian).

Spec: https://zarr-specs.readthedocs.io/en/latest/v3/codecs/crc32c/index.html
v3 name: ``crc32c``; v2 id: none (numcodecs' ``crc32c`` is ``numcodecs.crc32c`` in v3).
Config: ``{"name": "crc32c"}``
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

import google_crc32c
import numpy as np

from zarrkit.codecs.base import JSON, BytesBytesCodec, ChunkSpec
from zarrkit.codecs.buffers import blob_size
from zarrkit.errors import ChecksumError, CodecError
from zarrkit.types import Blob


@dataclass(frozen=True, slots=True, kw_only=True)
class Crc32cCodec(BytesBytesCodec):
    """Append a CRC-32C of the data; decoding checks it.

    Examples
    --------
    >>> Crc32cCodec().to_json()
    {'name': 'crc32c'}
    """

    name: ClassVar[str] = "crc32c"

    def to_json(self) -> dict[str, JSON]:
        return {"name": self.name}

    def encode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        checksum = google_crc32c.value(np.frombuffer(blob, np.uint8))
        return b"".join((blob, struct.pack("<I", checksum)))

    def decode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        size = blob_size(blob)
        if size < 4:
            raise CodecError(f"crc32c: {size} bytes is shorter than the 4-byte checksum")
        data = np.frombuffer(blob, np.uint8)
        stored = struct.unpack("<I", data[-4:].tobytes())[0]
        actual = google_crc32c.value(data[:-4])
        if stored != actual:
            raise ChecksumError(f"crc32c: stored {stored:#010x}, computed {actual:#010x}")
        return data[:-4].data
