"""Blosc 1: decoded by numcodecs after its header is checked; its own threads are off.

Spec: https://github.com/Blosc/c-blosc/blob/main/README_CHUNK_FORMAT.rst; numcodecs id
``blosc``.

Why: blosc trusts the decoded size in its 16-byte header, so the header is checked against
the blob (its compressed size) and against the expected or largest allowed size before
blosc allocates. zarrkit decodes chunks on its own thread pool, where blosc's threads would
only compete. Batches of chunks decode in one compiled loop where it was built
(:mod:`~zarrkit.codecs.compression.blosc_batch`), else one by one.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numcodecs.blosc

from zarrkit.codecs.buffers import blob_size
from zarrkit.codecs.compression import blosc_batch, encoders
from zarrkit.codecs.compression.base import SizeHeader
from zarrkit.codecs.compression.encoders import Encoder
from zarrkit.compiled import Decoder
from zarrkit.errors import CodecError
from zarrkit.types import Blob

numcodecs.blosc.use_threads = False


class Blosc(SizeHeader):
    name = "blosc"

    def entropy_codes(self, codec: Any) -> bool:
        return codec.cname in ("zstd", "zlib")

    def encoder(self, codec: Any, typesize: int) -> Encoder | None:
        return encoders.blosc(codec, typesize)

    def decoder(self) -> Decoder | None:
        return blosc_batch.decoder()

    def decoded_size(self, data: Blob) -> int:
        size = blob_size(data)
        if size < 16:
            raise CodecError(f"blosc: {size} bytes is shorter than the 16-byte header")
        nbytes, _, cbytes = struct.unpack_from("<III", data, 4)
        if cbytes != size:
            raise CodecError(f"blosc: header says {cbytes} compressed bytes, blob has {size}")
        return int(nbytes)

    def decode_many_into(
        self, codec: Any, blobs: Sequence[Blob | None], out: memoryview, nbytes: int
    ) -> bool:
        if blosc_batch.LIB is None or not nbytes:
            return False
        for i in blosc_batch.decode_many(blobs, out, nbytes):
            self.decode_into(codec, blobs[i], out[i * nbytes : (i + 1) * nbytes])  # type: ignore[arg-type]
        return True

    def decompress_into(self, data: Blob, out: memoryview) -> None:
        numcodecs.blosc.decompress(data, out)
