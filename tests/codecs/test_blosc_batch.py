"""The compiled loop that decodes batches of blosc chunks: the same values as Python's loop
for every compressor and shuffle numcodecs writes, as strict (what it does not decode, the
checked path decodes or refuses), safe in threads, and what a read of many chunks uses."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
from compiled import assert_rows, batches_decode_in_threads, both_loops, decode_rows, every_form
from numcodecs import Blosc

import zarrkit
from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.compression import blosc_batch
from zarrkit.errors import CodecError

RAW = (np.arange(1024) % 251).astype("<i4").tobytes()  # one 4 KiB chunk
NOISE = np.random.default_rng(0).integers(0, 2**32, 1024, dtype="<u4").tobytes()
BLOB = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE).encode(RAW)
PIPELINE = CodecPipeline.from_v3(
    ["bytes", "blosc"], ChunkSpec(shape=(1024,), dtype=np.dtype("<i4"), fill_value=0)
)

#: Chunks as numcodecs writes them, with what they decode to: every compressor and shuffle,
#: data stored as is (incompressible, or level 0) and small blocks.
VALID = {
    **{
        f"{cname}, shuffle {shuffle}": (Blosc(cname=cname, clevel=5, shuffle=shuffle), RAW)
        for cname in ("lz4", "lz4hc", "blosclz", "zstd", "zlib")
        for shuffle in (Blosc.NOSHUFFLE, Blosc.SHUFFLE, Blosc.BITSHUFFLE)
    },
    "incompressible": (Blosc(cname="lz4", clevel=5, shuffle=Blosc.NOSHUFFLE), NOISE),
    "level 0": (Blosc(cname="lz4", clevel=0), RAW),
    "256-byte blocks": (Blosc(cname="lz4", clevel=5, blocksize=256), RAW),
}
#: Data both loops must refuse.
BAD = {
    "shorter than the header": BLOB[:10],
    "truncated": BLOB[:-3],
    "trailing byte": BLOB + b"x",
    "larger chunk": Blosc(cname="lz4").encode(RAW + RAW[:4]),
    "smaller chunk": Blosc(cname="lz4").encode(RAW[:-4]),
    "payload zeroed": BLOB[:16] + bytes(len(BLOB) - 16),
    "payload replaced": BLOB[:16] + (bytes(range(256)) * 8)[: len(BLOB) - 16],
}

blosc_loop = both_loops(blosc_batch, "LIB", "blosc loop")


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_kind_of_chunk_decodes_the_same_by_either_loop(blosc_loop: str, name: str) -> None:
    codec, data = VALID[name]
    blobs = every_form(codec.encode(data))
    assert_rows(decode_rows(PIPELINE, blobs, len(RAW)), blobs, data)


@pytest.mark.parametrize("name", sorted(BAD))
def test_batches_refuse_bad_chunks_by_either_loop(blosc_loop: str, name: str) -> None:
    with pytest.raises(CodecError, match="blosc"):
        decode_rows(PIPELINE, [BLOB, BLOB, BAD[name], BLOB, None], len(RAW))


def test_the_compiled_loop_decodes_only_chunks_whose_header_holds() -> None:
    if blosc_batch.LIB is None:
        pytest.skip("the compiled blosc loop was not built here (no C compiler)")
    blobs = [BLOB, VALID["incompressible"][0].encode(NOISE), None, *BAD.values()]
    out = bytearray(len(RAW) * len(blobs))
    assert blosc_batch.decode_many(blobs, memoryview(out), len(RAW)) == list(range(3, len(blobs)))
    assert out[: 2 * len(RAW)] == RAW + NOISE and not any(out[2 * len(RAW) : 3 * len(RAW)])


def test_threads_decode_their_batches_at_once(blosc_loop: str) -> None:
    batches_decode_in_threads(PIPELINE, Blosc(cname="lz4").encode, len(RAW))


def test_a_read_of_many_chunks_decodes_them_in_the_loop(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if blosc_batch.LIB is None:
        pytest.skip("the compiled blosc loop was not built here (no C compiler)")
    data = np.arange(64 * 64, dtype="float32").reshape(64, 64)
    blosc = numcodecs.Blosc(cname="lz4")  # zarr-python 2's default compressor
    arr = zarrkit.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 8), dtype="float32",
                               zarr_format=2, compressors=blosc)  # fmt: skip
    arr[...] = data
    monkeypatch.setattr(numcodecs.blosc, "decompress", lambda *a: pytest.fail("by numcodecs"))
    np.testing.assert_array_equal(zarrkit.open_array(tmp_path / "a", mode="r")[...], data)
