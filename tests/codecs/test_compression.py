"""Compression formats: accelerated decoders agree with numcodecs, fall back to it when
missing, are strict about truncation and trailing bytes, and are safe across threads."""

from __future__ import annotations

import gzip
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import numcodecs
import numcodecs.blosc
import numpy as np
import pytest
import zstandard

from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.compression import FORMATS, deflate, zstd
from zarrkit.errors import CodecError

DATA = (np.arange(50_000) % 251).astype("<i4")
SPEC = ChunkSpec(shape=DATA.shape, dtype=DATA.dtype, fill_value=0)


def pipeline(compressor: object) -> CodecPipeline:
    return CodecPipeline.from_v3(["bytes", compressor], SPEC)


@pytest.mark.parametrize("compressor", ["zstd", "gzip", {"name": "numcodecs.zlib"}, "blosc"])
def test_fallback_to_numcodecs(compressor: object, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = pipeline(compressor)
    blob = bytes(fast.encode(DATA))
    monkeypatch.setattr(zstd, "zstandard", None)
    monkeypatch.setattr(deflate, "isal_zlib", None)
    slow = pipeline(compressor)
    assert bytes(slow.encode(DATA)) == blob
    np.testing.assert_array_equal(slow.decode(blob), DATA)
    out = np.empty_like(DATA)
    slow.decode_into(blob, out)
    np.testing.assert_array_equal(out, DATA)
    with pytest.raises(CodecError, match="k"):
        slow.decode(blob[:-3], key="k")
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda _: np.array_equal(slow.decode(blob), DATA), range(16)))


def test_gzip_is_numcodecs_bytes_without_timestamp() -> None:
    for level in (0, 1, 5, 9):
        ours = bytes(pipeline({"name": "gzip", "configuration": {"level": level}}).encode(DATA))
        theirs = numcodecs.GZip(level=level).encode(DATA)
        assert ours[4:8] == bytes(4)
        assert ours == theirs[:4] + bytes(4) + theirs[8:]
        assert numcodecs.GZip().decode(ours) == DATA.tobytes()


def test_gzip_members_and_padding() -> None:
    raw = DATA.tobytes()
    half = len(raw) // 2
    two_members = gzip.compress(raw[:half]) + gzip.compress(raw[half:])
    decoder = pipeline("gzip")
    np.testing.assert_array_equal(decoder.decode(two_members), DATA)
    np.testing.assert_array_equal(decoder.decode(gzip.compress(raw) + bytes(7)), DATA)
    with pytest.raises(CodecError, match="truncated"):
        decoder.decode(gzip.compress(raw)[:-1])


def test_zlib_trailing_bytes_raise() -> None:
    decoder = pipeline({"name": "numcodecs.zlib", "configuration": {}})
    with pytest.raises(CodecError, match="trailing"):
        decoder.decode(zlib.compress(DATA.tobytes()) + b"x")


def test_zstd_frames_from_other_writers() -> None:
    raw = DATA.tobytes()
    decoder = pipeline("zstd")
    no_size = zstandard.ZstdCompressor(write_content_size=False).compress(raw)
    assert zstandard.frame_content_size(no_size) == -1
    half = len(raw) // 2
    two_frames = zstandard.ZstdCompressor().compress(
        raw[:half]
    ) + zstandard.ZstdCompressor().compress(raw[half:])
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"abc"
    for blob in (no_size, two_frames, skippable + no_size):
        np.testing.assert_array_equal(decoder.decode(blob), DATA)
        out = np.empty_like(DATA)
        decoder.decode_into(blob, out)
        np.testing.assert_array_equal(out, DATA)


def test_zstd_rejects_corrupt_frames() -> None:
    decoder = pipeline({"name": "zstd", "configuration": {"checksum": True}})
    blob = bytes(decoder.encode(DATA))
    for bad in (blob[:-1], blob[:-4], blob + blob[:6], b"\x28\xb5\x2f\xfd"):
        with pytest.raises(CodecError, match="c/9"):
            decoder.decode(bad, key="c/9")
        with pytest.raises(CodecError):
            decoder.decode_into(bad, np.empty_like(DATA))


def test_zstd_size_header_is_bounded() -> None:
    # single-segment frame claiming 2**40 bytes, holding one empty raw block
    frame = struct.pack("<IB", 0xFD2FB528, 0b11100000) + struct.pack("<Q", 2**40) + b"\x01\x00\x00"
    codec = numcodecs.Zstd()
    with pytest.raises(CodecError, match="claims"):
        FORMATS["zstd"].decode(codec, frame)
    with pytest.raises(CodecError, match="expected"):
        FORMATS["zstd"].decode_into(codec, frame, memoryview(bytearray(8)))


def test_zstd_decompressor_per_thread() -> None:
    seen = []

    def grab() -> None:
        seen.append(zstd._decompressor())
        assert zstd._decompressor() is seen[-1]

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(d) for d in seen}) == 3


def test_blosc_header_checked_and_no_blosc_threads() -> None:
    assert numcodecs.blosc.use_threads is False
    decoder = pipeline("blosc")
    blob = bytes(decoder.encode(DATA))
    with pytest.raises(CodecError, match="compressed bytes"):
        decoder.decode(blob + b"\x00")
    with pytest.raises(CodecError, match="16-byte header"):
        decoder.decode(blob[:10])
    small = CodecPipeline.from_v3(
        ["bytes", "blosc"], ChunkSpec(shape=(10,), dtype=DATA.dtype, fill_value=0)
    )
    with pytest.raises(CodecError, match="expected 40"):
        small.decode_into(blob, np.empty(10, DATA.dtype))


@pytest.mark.parametrize("codec_id", ["bz2", "lzma"])
def test_stdlib_trailing_garbage_raises(codec_id: str) -> None:
    codec = numcodecs.get_codec({"id": codec_id})
    blob = codec.encode(DATA)
    assert bytes(FORMATS[codec_id].decode(codec, blob)) == DATA.tobytes()
    with pytest.raises(CodecError, match="trailing"):
        FORMATS[codec_id].decode(codec, blob + b"junk")
    with pytest.raises(CodecError, match="truncated"):
        FORMATS[codec_id].decode(codec, blob[:-5])
