"""Every built-in codec through the shipped CodecSuite (v3 native, numcodecs.*, v2)."""

from __future__ import annotations

import numcodecs

from zarrkit.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    TransposeCodec,
    ZstdCodec,
)
from zarrkit.testing import CodecSuite

FLOATS = ("float32", "float64")


class TestBytes(CodecSuite):
    codecs = (BytesCodec(),)
    dtypes = (*CodecSuite.dtypes, "complex128")


class TestBytesBigEndian(CodecSuite):
    codecs = ({"name": "bytes", "configuration": {"endian": "big"}},)


class TestEndianAlias(CodecSuite):
    codecs = ({"name": "endian", "configuration": {"endian": "little"}}, "crc32c")
    dtypes = ("int32",)


class TestTranspose(CodecSuite):
    codecs = (TransposeCodec(order=(2, 0, 1)), BytesCodec(), ZstdCodec(level=1))
    shapes = ((2, 3, 4), (5, 1, 3))


class TestTransposeTwice(CodecSuite):
    codecs = (TransposeCodec(order=(1, 0)), TransposeCodec(order=(1, 0)), BytesCodec())
    shapes = ((5, 7),)


class TestGzip(CodecSuite):
    codecs = (BytesCodec(), GzipCodec(level=3))


class TestZstd(CodecSuite):
    codecs = (BytesCodec(), ZstdCodec(level=3))


class TestZstdChecksum(CodecSuite):
    codecs = (BytesCodec(), ZstdCodec(level=-5, checksum=True))

    def corruptions(self, blob: bytes) -> list[bytes]:
        flipped = bytearray(blob)
        flipped[-1] ^= 0xFF  # the content checksum
        return [*super().corruptions(blob), bytes(flipped)]


class TestBlosc(CodecSuite):
    codecs = (BytesCodec(), BloscCodec())


class TestBloscLz4BitShuffle(CodecSuite):
    codecs = (BytesCodec(), BloscCodec(cname="lz4", shuffle="bitshuffle", clevel=9))


class TestCrc32c(CodecSuite):
    codecs = (BytesCodec(), ZstdCodec(), Crc32cCodec())

    def corruptions(self, blob: bytes) -> list[bytes]:
        flipped = bytearray(blob)
        flipped[len(blob) // 2] ^= 0x01
        return [*super().corruptions(blob), bytes(flipped)]


class TestNumcodecsCompressors(CodecSuite):
    codecs = (
        BytesCodec(),
        {"name": "numcodecs.shuffle", "configuration": {}},
        {"name": "numcodecs.zlib", "configuration": {"level": 1}},
        {"name": "numcodecs.crc32", "configuration": {}},
    )


class TestNumcodecsMoreCompressors(CodecSuite):
    codecs = (
        BytesCodec(),
        numcodecs.LZ4(),
        {"name": "numcodecs.bz2", "configuration": {"level": 1}},
        {"name": "numcodecs.adler32", "configuration": {}},
    )
    dtypes = ("int16", "float64")


class TestNumcodecsLzmaChecksums(CodecSuite):
    codecs = (
        BytesCodec(),
        {"name": "numcodecs.lzma", "configuration": {"preset": 1}},
        {"name": "numcodecs.fletcher32", "configuration": {}},
        {"name": "numcodecs.jenkins_lookup3", "configuration": {}},
    )
    dtypes = ("int32",)


class TestNumcodecsNativeTwins(CodecSuite):
    codecs = (
        BytesCodec(),
        {"name": "numcodecs.zstd", "configuration": {"level": 1}},
        {"name": "numcodecs.gzip", "configuration": {"level": 1}},
        {"name": "numcodecs.blosc", "configuration": {"cname": "zstd"}},
    )
    dtypes = ("uint16", "float64")


class TestDelta(CodecSuite):
    codecs = ({"name": "numcodecs.delta", "configuration": {"dtype": "<i4"}}, BytesCodec())
    dtypes = ("int32",)


class TestDeltaAstype(CodecSuite):
    codecs = (numcodecs.Delta(dtype="<i8", astype="<i2"), BytesCodec(), ZstdCodec())
    dtypes = ("int64",)
    shapes = ((1, 7), (1,))  # a first difference that fits in int16


class TestQuantizeBitRound(CodecSuite):
    codecs = (
        {"name": "numcodecs.quantize", "configuration": {"digits": 3}},
        {"name": "numcodecs.bitround", "configuration": {"keepbits": 12}},
        BytesCodec(),
    )
    dtypes = FLOATS


class TestFixedScaleOffset(CodecSuite):
    codecs = (
        {
            "name": "numcodecs.fixedscaleoffset",
            "configuration": {"offset": 0, "scale": 4, "astype": "<i2"},
        },
        BytesCodec(),
        GzipCodec(),
    )
    dtypes = FLOATS


class TestAsType(CodecSuite):
    codecs = (
        {"name": "numcodecs.astype", "configuration": {"encode_dtype": "<f4"}},
        BytesCodec(),
    )
    dtypes = ("float64",)


class TestPackBits(CodecSuite):
    codecs = ({"name": "numcodecs.packbits", "configuration": {}}, BytesCodec(), ZstdCodec())
    dtypes = ("bool",)


class TestV2Default(CodecSuite):
    v2 = (None, {"id": "zstd", "level": 0})
    dtypes = (*CodecSuite.dtypes, ">f8", ">i2", "<c8")


class TestV2FortranBlosc(CodecSuite):
    v2 = (None, numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.AUTOSHUFFLE))
    order = "F"
    dtypes = ("uint8", ">i4", "float64")


class TestV2NoCompressor(CodecSuite):
    v2 = (None, None)
    order = "F"


class TestV2Filters(CodecSuite):
    v2 = ([{"id": "delta", "dtype": "<i4"}, {"id": "shuffle", "elementsize": 4}], {"id": "zlib"})
    order = "F"
    dtypes = ("int32",)


class TestV2DtypeChangingFilters(CodecSuite):
    v2 = (
        [numcodecs.Quantize(digits=2, dtype="<f8", astype="<f4"), numcodecs.AsType("<f2", "<f4")],
        numcodecs.GZip(level=1),
    )
    dtypes = ("float64",)


class TestV2PackBits(CodecSuite):
    v2 = ([numcodecs.PackBits()], numcodecs.BZ2(level=1))
    order = "F"
    dtypes = ("bool",)


class TestV2Lzma(CodecSuite):
    v2 = (
        [{"id": "fixedscaleoffset", "offset": 0, "scale": 4, "dtype": "<f8", "astype": "<i2"}],
        numcodecs.LZMA(preset=1),
    )
    dtypes = ("float64",)
