"""DEFLATE in its gzip and zlib containers: written with zlib, read with isal when installed.

Spec: RFC 1951 (DEFLATE), RFC 1952 (gzip), RFC 1950 (zlib); numcodecs ids ``gzip``, ``zlib``.

Why: numcodecs stamps the current time into the gzip header, so we write its exact header
with ``mtime=0`` and the same zlib deflate stream, which makes chunks reproducible. isal is
not used to encode: at a given level it writes different (valid) streams than zlib. Gzip
data may hold several members and NUL padding after them, as ``gzip.GzipFile`` reads it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from zarrkit.codecs.compression.base import Stream, one_stream
from zarrkit.errors import CodecError
from zarrkit.types import Blob

try:
    from isal import isal_zlib

    #: The module that inflates: isal's zlib when installed (the ``fast`` extra), else zlib.
    inflater: Any = isal_zlib
except ImportError:
    inflater = zlib


class Gzip(Stream):
    name = "gzip"

    def encode(self, codec: Any, data: Blob) -> Blob:
        """What ``gzip.GzipFile`` (used by numcodecs) writes, with a zero timestamp."""
        view = np.frombuffer(data, np.uint8).data
        level = codec.level
        extra_flags = 2 if level == 9 else 4 if level == 1 else 0
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((extra_flags, 255))
        trailer = struct.pack("<II", zlib.crc32(view), view.nbytes & 0xFFFFFFFF)
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
        return b"".join((header, deflater.compress(view), deflater.flush(), trailer))

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        parts, total = [], 0
        rest: Blob = data
        while True:  # concatenated members, then optional NUL padding (as GzipFile reads)
            members = inflater.decompressobj(31)
            parts.append(members.decompress(rest, bound + 1 - total))
            total += len(parts[-1])
            if total > bound:
                break
            if not members.eof:
                raise CodecError("gzip: data is truncated")
            rest = members.unused_data
            if not bytes(rest).strip(b"\x00"):
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)


class Zlib(Stream):
    name = "zlib"

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        return one_stream(inflater.decompressobj(15), data, "zlib", bound)
