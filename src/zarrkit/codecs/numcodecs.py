"""zarr-python's wrappers of numcodecs codecs, by its class names: each is a v3 codec
(``numcodecs.<id>``) taking the numcodecs options as keywords, usable as a filter,
serializer or compressor and written as zarr-python writes it.

Examples
--------
>>> LZMA(preset=1).to_json()
{'name': 'numcodecs.lzma', 'configuration': {'preset': 1}}
>>> Delta(dtype="<i4")
Delta(codec_name='numcodecs.delta', codec_config={'dtype': '<i4'})
"""

from __future__ import annotations

from zarrkit.codecs.numcodec import numcodecs_class

# filters (array -> array)
AsType = numcodecs_class("astype")
BitRound = numcodecs_class("bitround")
Delta = numcodecs_class("delta")
FixedScaleOffset = numcodecs_class("fixedscaleoffset")
PackBits = numcodecs_class("packbits")
Quantize = numcodecs_class("quantize")
# serializers (array -> bytes)
PCodec = numcodecs_class("pcodec")
ZFPY = numcodecs_class("zfpy")
# compressors (bytes -> bytes)
Blosc = numcodecs_class("blosc")
BZ2 = numcodecs_class("bz2")
GZip = numcodecs_class("gzip")
LZ4 = numcodecs_class("lz4")
LZMA = numcodecs_class("lzma")
Shuffle = numcodecs_class("shuffle")
Zlib = numcodecs_class("zlib")
Zstd = numcodecs_class("zstd")
# checksums (bytes -> bytes)
Adler32 = numcodecs_class("adler32")
CRC32 = numcodecs_class("crc32")
CRC32C = numcodecs_class("crc32c")
Fletcher32 = numcodecs_class("fletcher32")
JenkinsLookup3 = numcodecs_class("jenkins_lookup3")

__all__ = [
    "BZ2",
    "CRC32",
    "CRC32C",
    "LZ4",
    "LZMA",
    "ZFPY",
    "Adler32",
    "AsType",
    "BitRound",
    "Blosc",
    "Delta",
    "FixedScaleOffset",
    "Fletcher32",
    "GZip",
    "JenkinsLookup3",
    "PCodec",
    "PackBits",
    "Quantize",
    "Shuffle",
    "Zlib",
    "Zstd",
]
