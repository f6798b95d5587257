"""Codecs: bytes and arrays only, sync and pure; :class:`CodecPipeline` chains them.

Every built-in v3 codec is registered below, in one list; :func:`available` says which of
the registered ones work in this installation.
"""

from __future__ import annotations

from zarrkit.codecs.availability import CodecAvailability, available
from zarrkit.codecs.base import (
    ArrayArrayCodec,
    ArrayBytesCodec,
    BytesBytesCodec,
    ChunkSpec,
    Codec,
)
from zarrkit.codecs.bitround import BitroundCodec
from zarrkit.codecs.blosc import BloscCname, BloscCodec, BloscShuffle
from zarrkit.codecs.bytes import BytesCodec, Endian
from zarrkit.codecs.cast_value import CastValueCodec
from zarrkit.codecs.crc32c import Crc32cCodec
from zarrkit.codecs.gzip import GzipCodec
from zarrkit.codecs.normalize import normalize_v2_codecs, normalize_v3_codecs
from zarrkit.codecs.numcodec import KINDS, numcodecs_class
from zarrkit.codecs.packbits import PackBitsCodec
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.codecs.registry import codecs, get_codec, register_codec
from zarrkit.codecs.reshape import ReshapeCodec
from zarrkit.codecs.scale_offset import ScaleOffsetCodec
from zarrkit.codecs.sharding import ShardingCodec, ShardingCodecIndexLocation
from zarrkit.codecs.transpose import TransposeCodec
from zarrkit.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrkit.codecs.zfp import ZfpCodec
from zarrkit.codecs.zstd import ZstdCodec

BUILTIN_CODECS: list[tuple[str, type[Codec]]] = [
    ("bytes", BytesCodec),
    ("endian", BytesCodec),  # the bytes codec's name in early v3 drafts
    ("transpose", TransposeCodec),
    ("gzip", GzipCodec),
    ("zstd", ZstdCodec),
    ("blosc", BloscCodec),
    ("crc32c", Crc32cCodec),
    ("sharding_indexed", ShardingCodec),
    ("vlen-utf8", VLenUTF8Codec),
    ("vlen-bytes", VLenBytesCodec),
    # the Zarr extension registry's codecs
    ("bitround", BitroundCodec),
    ("cast_value", CastValueCodec),
    ("packbits", PackBitsCodec),
    ("reshape", ReshapeCodec),
    ("scale_offset", ScaleOffsetCodec),
    ("zfp", ZfpCodec),
    *((f"numcodecs.{codec_id}", numcodecs_class(codec_id)) for codec_id in KINDS),
]
for _name, _cls in BUILTIN_CODECS:
    codecs.register_builtin(_name, _cls)

__all__ = [
    "BUILTIN_CODECS",
    "ArrayArrayCodec",
    "ArrayBytesCodec",
    "BitroundCodec",
    "BloscCname",
    "BloscCodec",
    "BloscShuffle",
    "BytesBytesCodec",
    "BytesCodec",
    "CastValueCodec",
    "CodecAvailability",
    "ChunkSpec",
    "Codec",
    "CodecPipeline",
    "Crc32cCodec",
    "Endian",
    "GzipCodec",
    "PackBitsCodec",
    "ReshapeCodec",
    "ScaleOffsetCodec",
    "ShardingCodec",
    "ShardingCodecIndexLocation",
    "TransposeCodec",
    "VLenBytesCodec",
    "VLenUTF8Codec",
    "ZfpCodec",
    "ZstdCodec",
    "available",
    "codecs",
    "get_codec",
    "normalize_v2_codecs",
    "normalize_v3_codecs",
    "register_codec",
]
