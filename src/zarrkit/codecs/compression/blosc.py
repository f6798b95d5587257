"""Blosc 1: decoded by numcodecs after its header is checked; its own threads are off.

Spec: https://github.com/Blosc/c-blosc/blob/main/README_CHUNK_FORMAT.rst; numcodecs id
``blosc``.

Why: blosc trusts the decoded size in its 16-byte header, so the header is checked against
the blob (its compressed size) and against the expected or largest allowed size before
blosc allocates. zarrkit decodes chunks on its own thread pool, where blosc's threads would
only compete.
"""

from __future__ import annotations

import struct
from typing import Any

import numcodecs.blosc

from zarrkit.codecs.buffers import blob_size
from zarrkit.codecs.compression.base import SizeHeader
from zarrkit.errors import CodecError
from zarrkit.types import Blob

numcodecs.blosc.use_threads = False


class Blosc(SizeHeader):
    name = "blosc"

    def entropy_codes(self, codec: Any) -> bool:
        return codec.cname in ("zstd", "zlib")

    def decoded_size(self, data: Blob) -> int:
        size = blob_size(data)
        if size < 16:
            raise CodecError(f"blosc: {size} bytes is shorter than the 16-byte header")
        nbytes, _, cbytes = struct.unpack_from("<III", data, 4)
        if cbytes != size:
            raise CodecError(f"blosc: header says {cbytes} compressed bytes, blob has {size}")
        return int(nbytes)
