"""DEFLATE in its gzip and zlib containers: gzip written with isal, read with isal when
installed.

Spec: RFC 1951 (DEFLATE), RFC 1952 (gzip), RFC 1950 (zlib); numcodecs ids ``gzip``, ``zlib``.

Why: isal encodes W6's chunks 9.4 times faster than zlib at level 1 and smaller than zlib
at level 9 (docs/performance.md). Its levels 0-3 map from gzip's 1-9: 1-4 -> 1, 5-7 -> 2,
8-9 -> 3; level 0 stays zlib's stored blocks (isal's level 0 compresses). isal's streams are
valid DEFLATE but not zlib's bytes, so with ``config.set(encoders="numcodecs")`` (or without
isal) gzip is written with zlib at the same level and numcodecs' header with ``mtime=0``:
zarr-python's bytes but for its timestamp, and reproducible. Gzip data may hold several
members and NUL padding after them, as ``gzip.GzipFile`` reads it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.codecs.compression.base import Stream, one_stream
from zarrkit.errors import CodecError
from zarrkit.types import Blob

try:
    from isal import isal_zlib

    #: The zlib-like module that deflates (gzip, levels 1-9) and inflates: isal's when
    #: installed (the ``fast`` extra), else zlib.
    backend: Any = isal_zlib
except ImportError:
    backend = zlib

#: isal's level for each gzip level 1-9.
_ISAL_LEVELS = (0, 1, 1, 1, 1, 2, 2, 2, 3, 3)


class Gzip(Stream):
    name = "gzip"
    entropy_coded = True

    def encode(self, codec: Any, data: Blob) -> Blob:
        level = codec.level
        if backend is zlib or not level or config.get("encoders") == "numcodecs":
            return self._zlib(data, level)
        # a gzip member with isal's header: no time, no name. Through a compressor object:
        # isal's one-shot compress() writes other (valid) streams for inputs of a few
        # hundred bytes from one call to the next, depending on what its heap held
        deflater = backend.compressobj(_ISAL_LEVELS[level], backend.DEFLATED, 31)
        return b"".join((deflater.compress(data), deflater.flush()))

    def _zlib(self, data: Blob, level: int) -> Blob:
        """What ``gzip.GzipFile`` (used by numcodecs) writes, with a zero timestamp."""
        view = np.frombuffer(data, np.uint8).data
        extra_flags = 2 if level == 9 else 4 if level == 1 else 0
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((extra_flags, 255))
        trailer = struct.pack("<II", zlib.crc32(view), view.nbytes & 0xFFFFFFFF)
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
        return b"".join((header, deflater.compress(view), deflater.flush(), trailer))

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        parts, total = [], 0
        rest: Blob = data
        while True:  # concatenated members, then optional NUL padding (as GzipFile reads)
            members = backend.decompressobj(31)
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
    entropy_coded = True

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        return one_stream(backend.decompressobj(15), data, "zlib", bound)
