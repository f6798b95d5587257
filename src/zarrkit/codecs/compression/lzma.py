"""LZMA and xz, decoded with the standard library's streaming decompressor.

Spec: the .xz file format (https://tukaani.org/xz/xz-file-format.txt) and its raw and
legacy ``.lzma`` variants, as numcodecs' ``format`` and ``filters`` select; numcodecs id
``lzma``.

Why not numcodecs' decoder: ``lzma.decompress`` ignores trailing garbage and cannot stop at
a bound, so a streaming decompressor reads exactly one stream, at most one byte past it.
"""

from __future__ import annotations

import lzma
from typing import Any

from zarrkit.codecs.compression.base import Stream, one_stream
from zarrkit.types import Blob


class Lzma(Stream):
    name = "lzma"
    entropy_coded = True

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        decompressor = lzma.LZMADecompressor(format=codec.format, filters=codec.filters)
        return one_stream(decompressor, data, "lzma", bound)
