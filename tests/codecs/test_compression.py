"""Compression formats: accelerated decoders agree with numcodecs, fall back to it when
missing, are strict about truncation and trailing bytes, and are safe across threads."""

from __future__ import annotations

import gzip
import struct
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numcodecs
import numcodecs.blosc
import numpy as np
import pytest
import zstd_frames
from optional import needs, optional

from zarrkit import config
from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.compression import FORMATS, deflate, zstd, zstd_batch
from zarrkit.errors import CodecError, ResourceLimitError

zstandard = optional("zstandard")
isal_zlib = optional("isal.isal_zlib")

DATA = (np.arange(50_000) % 251).astype("<i4")
SPEC = ChunkSpec(shape=DATA.shape, dtype=DATA.dtype, fill_value=0)


def pipeline(compressor: object) -> CodecPipeline:
    return CodecPipeline.from_v3(["bytes", compressor], SPEC)


@pytest.mark.parametrize("compressor", ["zstd", "gzip", {"name": "numcodecs.zlib"}, "blosc"])
def test_fallback_to_numcodecs(compressor: object, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = pipeline(compressor)
    blob = bytes(fast.encode(DATA))
    with config.set(encoders="numcodecs"):
        numcodecs_blob = bytes(fast.encode(DATA))
    monkeypatch.setattr(zstd, "USE_ZSTANDARD", False)
    monkeypatch.setattr(deflate, "backend", zlib)
    slow = pipeline(compressor)
    # without the fast libraries, the default encoders write numcodecs' bytes
    assert bytes(slow.encode(DATA)) == numcodecs_blob
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
        encoder = pipeline({"name": "gzip", "configuration": {"level": level}})
        with config.set(encoders="numcodecs"):
            ours = bytes(encoder.encode(DATA))
        theirs = numcodecs.GZip(level=level).encode(DATA)
        assert ours[4:8] == bytes(4)
        assert ours == theirs[:4] + bytes(4) + theirs[8:]
        assert numcodecs.GZip().decode(ours) == DATA.tobytes()


@pytest.mark.parametrize(("level", "isal_level"), [(1, 1), (4, 1), (5, 2), (7, 2), (8, 3), (9, 3)])
def test_gzip_encodes_with_isal_at_mapped_levels(level: int, isal_level: int) -> None:
    encoder = pipeline({"name": "gzip", "configuration": {"level": level}})
    ours = bytes(encoder.encode(DATA))
    deflater = isal_zlib.compressobj(isal_level, isal_zlib.DEFLATED, 31)
    assert ours == deflater.compress(DATA.tobytes()) + deflater.flush()
    assert ours[4:8] == bytes(4)  # no timestamp: reproducible
    for decode in (numcodecs.GZip().decode, gzip.decompress, lambda b: zlib.decompress(b, 31)):
        assert bytes(decode(ours)) == DATA.tobytes()
    np.testing.assert_array_equal(encoder.decode(ours), DATA)


def test_gzip_small_chunks_encode_the_same_in_every_thread() -> None:
    # isal's one-shot compress() gave other streams for these in threads after other
    # compressions had used the heap: chunks must be reproducible
    rng = np.random.default_rng(0)
    encoder = CodecPipeline.from_v3(
        ["bytes", {"name": "gzip", "configuration": {"level": 5}}],
        ChunkSpec(shape=(24,), dtype=np.dtype("u1"), fill_value=0),
    )
    chunks = [rng.integers(0, 3, 24).astype("u1") for _ in range(24)]
    expected = [bytes(encoder.encode(c)) for c in chunks]

    def use_the_heap() -> None:
        for n in (10, 100, 1000, 10_000, 100_000):
            isal_zlib.compress(rng.integers(0, 255, n).astype("u1").tobytes(), 2, wbits=31)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(20):
            use_the_heap()
            assert list(pool.map(lambda c: bytes(encoder.encode(c)), chunks)) == expected


def test_gzip_level_0_stays_stored_blocks() -> None:
    encoder = pipeline({"name": "gzip", "configuration": {"level": 0}})
    with config.set(encoders="numcodecs"):
        stored = bytes(encoder.encode(DATA))
    assert bytes(encoder.encode(DATA)) == stored
    assert len(stored) > DATA.nbytes


@pytest.mark.parametrize("level", [-7, 0, 1, 3, 9])
@pytest.mark.parametrize("checksum", [False, True])
def test_zstd_encoder_reuses_a_context_and_writes_numcodecs_frames(
    level: int, checksum: bool
) -> None:
    needs("zstandard")
    encoder = pipeline({"name": "zstd", "configuration": {"level": level, "checksum": checksum}})
    chunks = [DATA[:1024], DATA[:1024] * 3, DATA[7:1031]]
    theirs = [numcodecs.Zstd(level=level, checksum=checksum).encode(c) for c in chunks]
    small = CodecPipeline.from_v3(
        ["bytes", {"name": "zstd", "configuration": {"level": level, "checksum": checksum}}],
        ChunkSpec(shape=(1024,), dtype=DATA.dtype, fill_value=0),
    )
    # chunks of 4 KiB: the same frames as numcodecs (same libzstd matches at this size)
    assert [bytes(small.encode(c)) for c in chunks] == theirs
    stacked = np.stack([DATA, DATA[::-1]])
    # chunks of DIRECT_BYTES and more: encoded by numcodecs, one by one or stacked
    assert DATA.nbytes >= zstd.DIRECT_BYTES
    codec = numcodecs.Zstd(level=level, checksum=checksum)
    ours = bytes(encoder.encode(DATA))
    assert ours == codec.encode(DATA)
    assert zstandard.get_frame_parameters(ours).has_checksum == checksum
    assert [bytes(b) for b in encoder.encode_many(stacked, [True, True])] == [  # type: ignore[arg-type]
        codec.encode(c) for c in stacked
    ]
    with config.set(encoders="numcodecs"):
        assert bytes(encoder.encode(DATA)) == numcodecs.Zstd(level=level, checksum=checksum).encode(
            DATA
        )


def _in_threads(grab: Callable[[], object], count: int = 3) -> list[object]:
    """What ``grab()`` returns in each of ``count`` threads."""
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(grab())) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def test_zstd_compressors_per_thread_and_setting() -> None:
    needs("zstandard")

    def grab() -> object:
        first = zstd._compressor(3, False)
        assert zstd._compressor(3, False) is first
        assert zstd._compressor(3, True) is not first
        return first

    assert len({id(c) for c in _in_threads(grab)}) == 3


def test_encoders_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="encoders"), config.set(encoders="zlib"):
        pass
    assert config.get("encoders") == "fast"


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


def _with_content_size(frame: bytes, size: int) -> bytes:
    """``frame`` (single segment, no dictionary, a 2- or 4-byte content size field)
    claiming ``size`` bytes."""
    descriptor = frame[4]
    assert descriptor & 0x23 == 0x20, "expected a single-segment header without dictionary"
    width = (1, 2, 4, 8)[descriptor >> 6]
    assert width in (2, 4), "expected a 2- or 4-byte content size field"
    field = struct.pack("<H", size - 256) if width == 2 else struct.pack("<I", size)
    return frame[:5] + field + frame[5 + width :]


#: Sizes on either side of zstd.DIRECT_BYTES: small chunks decode with zstandard, large ones
#: with numcodecs straight into their place.
SIZES = [1000, 50_000]


@pytest.mark.parametrize("count", SIZES)
def test_zstd_exact_decode_is_strict(zstd_decoder: str, count: int) -> None:
    # the one-call paths (ZstdDecompressor.decompress, allow_extra_data=False; numcodecs
    # into its place for large chunks) must reject what the frame walk rejects: these are
    # the claims the fast paths rely on; numcodecs (the no-extras decoder) must reject them
    raw = DATA[:count].tobytes()
    frame = zstandard.ZstdCompressor(level=3).compress(raw)
    assert zstandard.frame_content_size(frame) == len(raw)
    checked = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(raw)
    bad = {
        "truncated": frame[:-3],
        "header only": frame[:6],
        "trailing byte": frame + b"x",
        "trailing zeros": frame + bytes(4),
        "second frame": frame + zstandard.ZstdCompressor().compress(b"more"),
        "content size too small": _with_content_size(frame, len(raw) - 1),
        "content size too large": _with_content_size(frame, len(raw) + 1),
        "bad checksum": checked[:-1] + bytes([checked[-1] ^ 1]),
    }
    codec, fmt = numcodecs.Zstd(), FORMATS["zstd"]
    for name, blob in bad.items():
        with pytest.raises(CodecError):
            fmt.decode_exact(codec, blob, len(raw))
            pytest.fail(f"{name}: decoded")
        with pytest.raises(CodecError):
            fmt.decode_into(codec, blob, memoryview(bytearray(len(raw))))
            pytest.fail(f"{name}: decoded into")
    assert bytes(fmt.decode_exact(codec, frame, len(raw))) == raw
    with pytest.raises(CodecError, match="expected"):
        fmt.decode_exact(codec, frame, len(raw) + 4)


@pytest.mark.parametrize("count", SIZES)
def test_zstd_exact_decode_reads_valid_multi_frame_data(zstd_decoder: str, count: int) -> None:
    raw = DATA[:count].tobytes()
    frame = zstandard.ZstdCompressor(level=3).compress(raw)
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"abc"
    empty = zstandard.ZstdCompressor().compress(b"")
    codec, fmt = numcodecs.Zstd(), FORMATS["zstd"]
    for blob in (frame + empty, frame + skippable, skippable + frame):
        assert bytes(fmt.decode_exact(codec, blob, len(raw))) == raw
        out = bytearray(len(raw))
        assert fmt.decode_into(codec, blob, memoryview(out))
        assert out == raw


@pytest.mark.parametrize(("count", "direct"), [(1000, False), (50_000, True)])
def test_zstd_large_chunks_decode_with_numcodecs_into_their_place(
    count: int, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (where the compiled loop was built it decodes them: tests/codecs/test_zstd_batch.py)
    needs("zstandard")
    monkeypatch.setattr(zstd_batch, "LIB", None)
    raw = DATA[:count].tobytes()
    assert (len(raw) >= zstd.DIRECT_BYTES) == direct
    codec = numcodecs.Zstd()
    calls: list[object] = []
    decode = codec.decode

    def spy(buf: object, out: object = None) -> object:
        calls.append(out)
        return decode(buf, out)

    monkeypatch.setattr(codec, "decode", spy)
    target = np.zeros(len(raw) // 4, "<i4")
    assert FORMATS["zstd"].decode_into(codec, zstandard.compress(raw), target.data.cast("B"))
    assert target.tobytes() == raw
    # large: one numcodecs call, writing into the target itself; small: zstandard's
    assert [np.shares_memory(out, target) for out in calls] == ([True] if direct else [])
    stack = np.zeros((3, len(raw) // 4), "<i4")
    blobs = [zstandard.compress(raw), None, zstandard.compress(raw)]
    assert FORMATS["zstd"].decode_many_into(codec, blobs, stack.data.cast("B"), len(raw))
    assert stack[0].tobytes() == stack[2].tobytes() == raw and not stack[1].any()


@pytest.mark.parametrize("order", ["C", "F"])
def test_decode_into_blocks_and_read_only_chunks(order: str) -> None:
    spec = ChunkSpec(shape=(4, 6), dtype=np.dtype("<f4"), fill_value=0, order=order)
    codecs = (
        ["bytes", "zstd"]
        if order == "C"
        else [{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes", "zstd"]
    )
    decoder = CodecPipeline.from_v3(codecs, spec)
    chunk = np.arange(24, dtype="<f4").reshape(4, 6)
    blob = bytes(decoder.encode(chunk))
    out = np.zeros((8, 12), "<f4")
    decoder.decode_into(blob, out[4:, 6:])  # a block: not contiguous
    np.testing.assert_array_equal(out[4:, 6:], chunk)
    assert not out[:4].any() and not out[:, :6].any()
    view = decoder.decode(blob, writable=False)
    np.testing.assert_array_equal(view, chunk)
    writable = decoder.decode(blob)
    writable[0, 0] = -1  # the default result is the caller's to change
    with pytest.raises(CodecError, match="k/1"):
        decoder.decode(blob[:-2], key="k/1", writable=False)
    with pytest.raises(CodecError, match="k/2"):
        decoder.decode_into(blob[:-2], out[4:, 6:], key="k/2")


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

    def grab() -> object:
        first = zstd._decompressor()
        assert zstd._decompressor() is first
        return first

    assert len({id(d) for d in _in_threads(grab)}) == 3


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


def _last_block_payload(frame: bytes) -> int:
    """Where the payload of the last block of ``frame`` (one zstd frame) starts."""
    descriptor = frame[4]
    single = descriptor & 0x20
    at = (
        5
        + (not single)
        + (0, 1, 2, 4)[descriptor & 3]
        + (1 if single else 0, 2, 4, 8)[descriptor >> 6]
    )
    while True:
        header = int.from_bytes(frame[at : at + 3], "little")
        if header & 1:
            return at + 3
        at += 3 + (1 if (header >> 1) & 3 == 1 else header >> 3)


def test_zstd_head_decodes_only_the_blocks_it_needs() -> None:
    needs("zstandard")
    raw = np.random.default_rng(1).integers(0, 1000, 50_000).astype("<i4").tobytes()
    frame = zstandard.ZstdCompressor(level=3).compress(raw)  # two compressed blocks
    codec, fmt = numcodecs.Zstd(), FORMATS["zstd"]
    for head in (1, 1000, 150_000, len(raw)):
        assert bytes(fmt.decode_head(codec, frame, len(raw), head)) == raw[:head]
    bad = bytearray(frame)
    bad[_last_block_payload(frame)] ^= 0xFF  # the last block is corrupt
    with pytest.raises(CodecError):
        fmt.decode_exact(codec, bytes(bad), len(raw))
    assert bytes(fmt.decode_head(codec, bytes(bad), len(raw), 1000)) == raw[:1000]


def test_zstd_head_checks_the_frame_or_declines(zstd_decoder: str) -> None:
    raw = DATA.tobytes()
    frame = bytes(numcodecs.Zstd().encode(raw))
    checked = bytes(numcodecs.Zstd(checksum=True).encode(raw))
    codec, fmt = numcodecs.Zstd(), FORMATS["zstd"]
    for bad in (frame[:-3], frame[:6], frame + b"x", frame + b"\0" * 4):
        with pytest.raises(CodecError):
            fmt.decode_head(codec, bad, len(raw), 8)
    # declined: a checksum (verified only by a whole decode), two frames, another size,
    # no zstandard
    assert fmt.decode_head(codec, checked, len(raw), 8) is None
    assert fmt.decode_head(codec, frame + frame, 2 * len(raw), 8) is None
    assert fmt.decode_head(codec, frame, len(raw) + 4, 8) is None
    head = fmt.decode_head(codec, frame, len(raw), 8)
    assert (head is None) == (zstd_decoder == "numcodecs")
    assert FORMATS["gzip"].decode_head(numcodecs.GZip(), b"", 8, 4) is None


def test_zstd_heads_and_whole_decodes_share_a_thread_safely() -> None:
    needs("zstandard")
    raw = DATA.tobytes()
    frame = bytes(numcodecs.Zstd().encode(raw))
    codec, fmt = numcodecs.Zstd(), FORMATS["zstd"]

    def mixed() -> bool:
        ok = True
        for i in range(20):  # a head leaves its stream unfinished; the next call resets it
            ok &= bytes(fmt.decode_head(codec, frame, len(raw), 100 + i)) == raw[: 100 + i]
            ok &= bytes(fmt.decode_exact(codec, frame, len(raw))) == raw
        return ok

    assert all(_in_threads(mixed))
