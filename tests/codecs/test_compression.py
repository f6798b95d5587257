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
import zstd_frames
from optional import needs

from zarrkit import config
from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.compression import FORMATS, deflate, zstd
from zarrkit.errors import CodecError, ResourceLimitError

DATA = (np.arange(50_000) % 251).astype("<i4")
SPEC = ChunkSpec(shape=DATA.shape, dtype=DATA.dtype, fill_value=0)


def pipeline(compressor: object) -> CodecPipeline:
    return CodecPipeline.from_v3(["bytes", compressor], SPEC)


@pytest.mark.parametrize("compressor", ["zstd", "gzip", {"name": "numcodecs.zlib"}, "blosc"])
def test_fallback_to_numcodecs(compressor: object, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = pipeline(compressor)
    blob = bytes(fast.encode(DATA))
    monkeypatch.setattr(zstd, "USE_ZSTANDARD", False)
    monkeypatch.setattr(deflate, "inflater", zlib)
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


@pytest.fixture(params=["zstandard", "numcodecs"])
def zstd_decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each zstd test runs with both decoders (zstandard: the ``fast`` extra)."""
    if request.param == "zstandard":
        needs("zstandard")
    monkeypatch.setattr(zstd, "USE_ZSTANDARD", request.param == "zstandard")
    return str(request.param)


def test_zstd_frames_from_other_writers(zstd_decoder: str) -> None:
    raw = DATA.tobytes()
    decoder = pipeline("zstd")
    half = len(raw) // 2
    two_frames = numcodecs.Zstd().encode(raw[:half]) + numcodecs.Zstd().encode(raw[half:])
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"abc"
    no_size = zstd_frames.unsized(numcodecs.Zstd(level=3).encode(raw))
    blobs = [no_size, two_frames, skippable + no_size, zstd_frames.raw(raw)]
    blobs += [zstd_frames.raw(b"") + no_size, zstd_frames.raw(raw, size=len(raw))]
    for blob in blobs:
        np.testing.assert_array_equal(decoder.decode(blob), DATA)
        out = np.empty_like(DATA)
        decoder.decode_into(blob, out)
        np.testing.assert_array_equal(out, DATA)


def test_zstd_rejects_corrupt_frames(zstd_decoder: str) -> None:
    decoder = pipeline({"name": "zstd", "configuration": {"checksum": True}})
    blob = bytes(decoder.encode(DATA))
    unsized = zstd_frames.unsized(blob)
    bad_blobs = [blob[:-1], blob[:-4], blob + blob[:6], b"\x28\xb5\x2f\xfd", unsized[:-9]]
    bad_blobs += [zstd_frames.raw(DATA.tobytes()[:-4]), zstd_frames.raw(DATA.tobytes() + b"x")]
    for bad in bad_blobs:
        with pytest.raises(CodecError, match="c/9"):
            decoder.decode(bad, key="c/9")
        with pytest.raises(CodecError):
            decoder.decode_into(bad, np.empty_like(DATA))


def test_zstd_size_header_is_checked_against_the_blocks(zstd_decoder: str) -> None:
    codec = numcodecs.Zstd()
    no_blocks = zstd_frames.raw(b"", size=2**40)
    for frame in (no_blocks, zstd_frames.zeros(2**20, size=2**20 + 1)):
        with pytest.raises(CodecError, match="claims"):
            FORMATS["zstd"].decode(codec, frame)
        with pytest.raises(CodecError, match="claims"):
            FORMATS["zstd"].decode_into(codec, frame, memoryview(bytearray(8)))


def test_zstd_4gib_header_is_a_resource_limit_not_a_memory_error(zstd_decoder: str) -> None:
    # a well-formed frame of RLE blocks (128 KiB of them) that decodes to 4 GiB
    frame = zstd_frames.zeros(2**32, size=2**32)
    with pytest.raises(ResourceLimitError, match="max_chunk_bytes"):
        FORMATS["zstd"].decode(numcodecs.Zstd(), frame)
    with pytest.raises(CodecError, match="expected 8"):
        FORMATS["zstd"].decode_into(numcodecs.Zstd(), frame, memoryview(bytearray(8)))


def test_zstd_stream_without_size_is_bounded(zstd_decoder: str) -> None:
    frame = zstd_frames.zeros(2**21)
    with config.set(max_chunk_bytes=2**20), pytest.raises(ResourceLimitError):
        FORMATS["zstd"].decode(numcodecs.Zstd(), frame)
    with config.set(max_chunk_bytes=2**21):
        assert bytes(FORMATS["zstd"].decode(numcodecs.Zstd(), frame)) == bytes(2**21)


def test_zstd_decompressor_per_thread() -> None:
    needs("zstandard")
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
