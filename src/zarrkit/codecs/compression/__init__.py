"""Compression formats: the fastest installed library for each, numcodecs as fallback.

Encoding goes through numcodecs, so the bytes match zarr-python's (gzip aside: its header
has a zero timestamp, see :mod:`~zarrkit.codecs.compression.deflate`). Every built-in
format is listed below, by numcodecs id; any other numcodecs compressor decodes through
numcodecs alone. See :mod:`~zarrkit.codecs.compression.base` for the bounds every decoder
keeps.
"""

from __future__ import annotations

from zarrkit.codecs.compression.base import Compression
from zarrkit.codecs.compression.blosc import Blosc
from zarrkit.codecs.compression.bz2 import Bz2
from zarrkit.codecs.compression.deflate import Gzip, Zlib
from zarrkit.codecs.compression.lz4 import Lz4
from zarrkit.codecs.compression.lzma import Lzma
from zarrkit.codecs.compression.zstd import Zstd

FORMATS: dict[str, Compression] = {
    "zstd": Zstd(),
    "gzip": Gzip(),
    "zlib": Zlib(),
    "bz2": Bz2(),
    "lzma": Lzma(),
    "blosc": Blosc(),
    "lz4": Lz4(),
}
#: Formats zarrkit does not know: numcodecs encodes and decodes them.
NUMCODECS = Compression()


def compression(codec_id: str) -> Compression:
    """How the numcodecs compressor ``codec_id`` is encoded and decoded."""
    return FORMATS.get(codec_id, NUMCODECS)


__all__ = ["FORMATS", "NUMCODECS", "Compression", "compression"]
