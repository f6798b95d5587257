"""LZ4 blocks as numcodecs writes them: a 4-byte little-endian decoded size, then the block.

Spec: https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md (the size prefix is
numcodecs'); numcodecs id ``lz4``.

Why: numcodecs allocates the size its prefix claims, so the prefix is checked first: no
block can expand more than the format allows, nor beyond the expected or largest allowed
size.
"""

from __future__ import annotations

import struct

import numcodecs.lz4

from zarrkit.codecs.buffers import blob_size
from zarrkit.codecs.compression.base import SizeHeader
from zarrkit.errors import CodecError
from zarrkit.types import Blob

# An LZ4 sequence of 1 token + 2 offset bytes copies at most ~255 bytes per input byte.
_MAX_RATIO = 256


class Lz4(SizeHeader):
    name = "lz4"

    def decoded_size(self, data: Blob) -> int:
        size = blob_size(data)
        if size < 4:
            raise CodecError(f"lz4: {size} bytes is shorter than the 4-byte size prefix")
        nbytes = int(struct.unpack_from("<I", data, 0)[0])
        if nbytes > _MAX_RATIO * size:
            raise CodecError(f"lz4: size prefix claims {nbytes} bytes from {size}")
        return nbytes

    def decompress_into(self, data: Blob, out: memoryview) -> None:
        numcodecs.lz4.decompress(data, out)
