"""bzip2, decoded with the standard library's streaming decompressor.

Spec: none formal (Julian Seward's bzip2 format); numcodecs id ``bz2``.

Why not numcodecs' decoder: ``bz2.decompress`` ignores trailing garbage and cannot stop at
a bound, so a streaming decompressor reads exactly one stream, at most one byte past it.
"""

from __future__ import annotations

import bz2
from typing import Any

from zarrkit.codecs.compression.base import Stream, one_stream
from zarrkit.types import Blob


class Bz2(Stream):
    name = "bz2"
    entropy_coded = True

    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        return one_stream(bz2.BZ2Decompressor(), data, "bz2", bound)
