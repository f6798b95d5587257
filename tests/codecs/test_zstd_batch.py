"""The compiled loop that decodes batches of zstd chunks: the same values as Python's loop,
as strict (what it does not decode, the checked path decodes or refuses), safe in threads."""

from __future__ import annotations

import struct

import numcodecs
import numpy as np
import pytest
import zstd_frames
from compiled import assert_rows, batches_decode_in_threads, both_loops, decode_rows, every_form

from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.compression import FORMATS, zstd, zstd_batch
from zarrkit.errors import CodecError

RAW = (np.arange(1024) % 251).astype("<i4").tobytes()  # one 4 KiB chunk
FRAME = numcodecs.Zstd(level=3).encode(RAW)
SKIPPABLE = struct.pack("<II", 0x184D2A50, 3) + b"abc"
EMPTY_FRAME = numcodecs.Zstd().encode(b"")
CHECKED = numcodecs.Zstd(level=3, checksum=True).encode(RAW)
PIPELINE = CodecPipeline.from_v3(
    ["bytes", "zstd"], ChunkSpec(shape=(1024,), dtype=np.dtype("<i4"), fill_value=0)
)

#: Valid data the strict loop leaves to the checked path (not one frame with the size).
OTHER_VALID = {
    "no content size": zstd_frames.unsized(FRAME),
    "raw blocks, no size": zstd_frames.raw(RAW),
    "an empty frame after": FRAME + EMPTY_FRAME,
    "a skippable frame after": FRAME + SKIPPABLE,
    "a skippable frame before": SKIPPABLE + FRAME,
}
#: Data both loops must refuse.
BAD = {
    "truncated": FRAME[:-3],
    "header only": FRAME[:6],
    "trailing byte": FRAME + b"x",
    "trailing zeros": FRAME + bytes(4),
    "second frame": FRAME + numcodecs.Zstd().encode(b"more"),
    "content size too large": numcodecs.Zstd().encode(RAW + b"more"),
    "content size too small": numcodecs.Zstd().encode(RAW[:-4]),
    "bad checksum": CHECKED[:-1] + bytes([CHECKED[-1] ^ 1]),
}


zstd_loop = both_loops(zstd_batch, "LIB", "zstd loop")


def test_batches_decode_the_same_by_either_loop(zstd_loop: str) -> None:
    blobs = [*every_form(FRAME), *OTHER_VALID.values()]
    assert len(blobs) >= zstd_batch.FEWEST
    assert_rows(decode_rows(PIPELINE, blobs, len(RAW)), blobs, RAW)


@pytest.mark.parametrize("name", sorted(BAD))
def test_batches_refuse_bad_chunks_by_either_loop(zstd_loop: str, name: str) -> None:
    with pytest.raises(CodecError):
        decode_rows(PIPELINE, [FRAME, FRAME, BAD[name], FRAME, None], len(RAW))


def test_the_compiled_loop_decodes_only_single_frames_of_the_size() -> None:
    if zstd_batch.LIB is None:
        pytest.skip("the compiled zstd loop was not built here (no C compiler)")
    others = [*OTHER_VALID.values(), *BAD.values()]
    blobs = [FRAME, CHECKED, None, *others]
    out = bytearray(len(RAW) * len(blobs))
    assert zstd_batch.decode_many(blobs, memoryview(out), len(RAW)) == list(range(3, len(blobs)))
    assert out[: 2 * len(RAW)] == RAW * 2 and not any(out[2 * len(RAW) : 3 * len(RAW)])


def test_threads_decode_with_their_own_contexts(zstd_loop: str) -> None:
    batches_decode_in_threads(PIPELINE, numcodecs.Zstd(level=3).encode, len(RAW))


def test_large_chunks_decode_into_their_place_by_the_compiled_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if zstd_batch.LIB is None:
        pytest.skip("the compiled zstd loop was not built here (no C compiler)")
    raw = (np.arange(50_000) % 251).astype("<i4").tobytes()
    assert len(raw) >= zstd.DIRECT_BYTES
    codec = numcodecs.Zstd()
    monkeypatch.setattr(codec, "decode", lambda *a: pytest.fail("decoded by numcodecs"))
    target = bytearray(len(raw))
    assert FORMATS["zstd"].decode_into(codec, numcodecs.Zstd().encode(raw), memoryview(target))
    assert target == raw
    for bad in (numcodecs.Zstd().encode(raw)[:-1], numcodecs.Zstd().encode(raw) + b"x"):
        with pytest.raises(CodecError):  # refused by the checked path
            FORMATS["zstd"].decode_into(codec, bad, memoryview(target))
