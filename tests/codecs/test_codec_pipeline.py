"""CodecPipeline: codec order, errors naming the key, decode_into, format conversion."""

from __future__ import annotations

import pickle
from typing import Any

import numcodecs
import numpy as np
import pytest

from zarrkit import config
from zarrkit.codecs import (
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    Crc32cCodec,
    TransposeCodec,
    ZstdCodec,
    codecs,
    get_codec,
    register_codec,
)
from zarrkit.codecs.base import ArrayArrayCodec
from zarrkit.codecs.compression import zstd as zstd_module
from zarrkit.codecs.registry import classify_codecs
from zarrkit.errors import ChecksumError, CodecError, MetadataError, UnknownCodecError

SPEC = ChunkSpec(shape=(4, 6), dtype=np.dtype("f8"), fill_value=0.0)
DATA = np.arange(24.0).reshape(4, 6)


@pytest.mark.parametrize(
    "names",
    [["zstd", "bytes"], ["bytes", "transpose"], ["bytes", "bytes"], ["zstd"], []],
)
def test_codec_order_is_checked(names: list[str]) -> None:
    entries: list[Any] = [
        {"name": "transpose", "configuration": {"order": [1, 0]}} if n == "transpose" else n
        for n in names
    ]
    with pytest.raises(MetadataError) as info:
        CodecPipeline.from_v3(entries, SPEC)
    assert info.value.field == "codecs"


def test_unknown_codec_lists_available_names() -> None:
    with pytest.raises(UnknownCodecError, match=r"unknown codec 'lz5'.*bytes.*zstd"):
        CodecPipeline.from_v3(["bytes", {"name": "lz5", "configuration": {}}], SPEC)
    with pytest.raises(UnknownCodecError, match=r"numcodecs\.delta"):
        get_codec({"name": "numcodecs.nosuch", "configuration": {}})
    with pytest.raises(UnknownCodecError, match="zlib"):
        CodecPipeline.from_v2(None, {"id": "nosuch"}, SPEC)


def test_transpose_rank_is_checked() -> None:
    with pytest.raises(MetadataError, match="3 entries"):
        CodecPipeline.from_v3([TransposeCodec(order=(0, 2, 1)), BytesCodec()], SPEC)


def test_decode_size_mismatch_raises_naming_key() -> None:
    pipeline = CodecPipeline.from_v3(["bytes"], SPEC)
    blob = bytes(pipeline.encode(DATA))
    for bad in (blob[:-8], blob + bytes(8)):
        with pytest.raises(CodecError, match=r"chunk 'c/0/1'.*expected 192"):
            pipeline.decode(bad, key="c/0/1")
        with pytest.raises(CodecError, match="c/0/1"):
            pipeline.decode_into(bad, np.empty((4, 6)), key="c/0/1")


def test_compressed_size_mismatch_raises() -> None:
    small = ChunkSpec(shape=(4, 5), dtype=np.dtype("f8"), fill_value=0.0)
    for compressor in ("zstd", "blosc", "gzip", {"name": "numcodecs.lz4", "configuration": {}}):
        blob = CodecPipeline.from_v3(["bytes", compressor], SPEC).encode(DATA)
        pipeline = CodecPipeline.from_v3(["bytes", compressor], small)
        with pytest.raises(CodecError, match="k"):
            pipeline.decode(blob, key="k")
        with pytest.raises(CodecError, match="k"):
            pipeline.decode_into(blob, np.empty((4, 5)), key="k")


def test_checksum_error_keeps_its_type_and_names_key() -> None:
    pipeline = CodecPipeline.from_v3([BytesCodec(), Crc32cCodec()], SPEC)
    blob = bytearray(pipeline.encode(DATA))
    blob[3] ^= 1
    with pytest.raises(ChecksumError, match="chunk 'a/c/0/0': crc32c"):
        pipeline.decode(bytes(blob), key="a/c/0/0")


def test_encode_checks_shape() -> None:
    with pytest.raises(CodecError, match=r"\(3, 6\)"):
        CodecPipeline.from_v3(["bytes"], SPEC).encode(DATA[:3])


@pytest.mark.parametrize("encoders", ["fast", "numcodecs"])
@pytest.mark.parametrize(
    "codecs",
    [
        ["bytes", {"name": "zstd", "configuration": {"level": 3}}],
        ["bytes", {"name": "zstd", "configuration": {"level": 1, "checksum": True}}],
        ["bytes", "gzip"],
        ["bytes", "blosc"],
        ["bytes"],
        ["bytes", "zstd", "crc32c"],
        [{"name": "bytes", "configuration": {"endian": "big"}}, "zstd"],
        [TransposeCodec(order=(1, 0)), "bytes", "zstd"],
    ],
    ids=[
        "zstd",
        "zstd-checksum",
        "gzip",
        "blosc",
        "none",
        "zstd-crc32c",
        "big-endian",
        "transpose",
    ],
)
def test_encode_many_gives_the_bytes_of_encode_chunk_by_chunk(codecs: Any, encoders: str) -> None:
    pipeline = CodecPipeline.from_v3(codecs, SPEC)
    chunks = np.stack([DATA * k for k in range(5)])
    keep = [True, False, True, True, False]
    with config.set(encoders=encoders):
        many = pipeline.encode_many(chunks, keep)
        one_by_one = [pipeline.encode(c) if k else None for c, k in zip(chunks, keep, strict=True)]
    assert [None if b is None else bytes(b) for b in many] == [
        None if b is None else bytes(b) for b in one_by_one
    ]
    assert many[1] is None and many[4] is None


def test_zstd_encode_many_gives_the_same_frames_in_one_call_or_one_a_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """python-zstandard's C backend compresses a batch in one call; other backends one call
    a chunk: the same frames either way."""
    pipeline = CodecPipeline.from_v3(["bytes", "zstd"], SPEC)
    chunks = np.stack([DATA * k for k in range(5)])
    keep = [True, True, False, True, True]
    batched = pipeline.encode_many(chunks, keep)
    monkeypatch.setattr(zstd_module, "_MULTI", False)
    one_a_call = pipeline.encode_many(chunks, keep)
    assert [None if b is None else bytes(b) for b in batched] == [
        None if b is None else bytes(b) for b in one_a_call
    ]
    assert all(type(b) is bytes for b in batched if b is not None)  # untracked by the gc


def test_encode_many_checks_shape() -> None:
    with pytest.raises(CodecError, match=r"\(3, 6\)"):
        CodecPipeline.from_v3(["bytes", "zstd"], SPEC).encode_many(np.stack([DATA[:3]]), [True])


def test_decode_returns_writable_chunks() -> None:
    pipeline = CodecPipeline.from_v3(["bytes"], SPEC)
    decoded = pipeline.decode(bytes(pipeline.encode(DATA)))
    decoded[0, 0] = -1
    assert decoded[0, 0] == -1


@pytest.mark.parametrize("compressor", ["zstd", "blosc", {"name": "numcodecs.zstd"}])
def test_decode_into_writes_straight_into_contiguous_out(
    compressor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = CodecPipeline.from_v3([TransposeCodec(order=(1, 0)), "bytes", compressor], SPEC)
    blob = pipeline.encode(DATA)
    innermost = type(pipeline.bytes_bytes[0])

    def no_decode(*args: Any) -> Any:
        raise AssertionError("decoded into an intermediate buffer")

    monkeypatch.setattr(innermost, "decode", no_decode)
    out = np.zeros((4, 6), order="F")  # the transpose makes F the stored order
    pipeline.decode_into(blob, out)
    np.testing.assert_array_equal(out, DATA)
    out = np.zeros((4, 6))  # C order: decoded into a stored-order buffer, then copied
    pipeline.decode_into(blob, out)
    np.testing.assert_array_equal(out, DATA)


def test_v2_fortran_order_is_a_reversed_transpose() -> None:
    spec = ChunkSpec(shape=(2, 3, 4), dtype=np.dtype(">i4"), fill_value=0, order="F")
    pipeline = CodecPipeline.from_v2(None, numcodecs.Zstd(level=1), spec)
    data = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    blob = pipeline.encode(data)
    assert numcodecs.Zstd().decode(blob) == np.asfortranarray(data).tobytes(order="A")
    assert pipeline.decode(blob).flags.f_contiguous
    assert pipeline.to_v3_json() == [
        {"name": "transpose", "configuration": {"order": [2, 1, 0]}},
        {"name": "bytes", "configuration": {"endian": "big"}},
        {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
    ]


def test_v3_to_v2_json() -> None:
    pipeline = CodecPipeline.from_v3(
        [{"name": "numcodecs.delta", "configuration": {"dtype": "<f8"}}, "bytes", "blosc"], SPEC
    )
    filters, compressor = pipeline.to_v2_json()
    assert filters == [{"id": "delta", "dtype": "<f8", "astype": "<f8"}]
    assert compressor == {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0}
    again = CodecPipeline.from_v2(filters, compressor, SPEC)
    assert bytes(again.encode(DATA)) == bytes(pipeline.encode(DATA))
    assert CodecPipeline.from_v3(["bytes"], SPEC).to_v2_json() == (None, None)
    transpose = TransposeCodec(order=(1, 0))
    for no_v2_form in ([transpose, "bytes"], ["bytes", "crc32c"], ["bytes", "zstd", "gzip"]):
        with pytest.raises(MetadataError):
            CodecPipeline.from_v3(no_v2_form, SPEC).to_v2_json()


def test_big_endian_bytes_has_no_v2_form_for_native_dtype() -> None:
    pipeline = CodecPipeline.from_v3([BytesCodec(endian="big")], SPEC)
    with pytest.raises(MetadataError, match="no v2 form"):
        pipeline.to_v2_json()


def test_v2_filter_on_bytes_follows_serializer_in_v3() -> None:
    spec = ChunkSpec(shape=(8,), dtype=np.dtype("<i4"), fill_value=0)
    pipeline = CodecPipeline.from_v2([{"id": "shuffle", "elementsize": 4}], None, spec)
    names = [c["name"] for c in pipeline.to_v3_json()]
    assert names == ["bytes", "numcodecs.shuffle"]
    v3 = CodecPipeline.from_v3(pipeline.to_v3_json(), spec)
    data = np.arange(8, dtype="<i4")
    assert bytes(v3.encode(data)) == bytes(pipeline.encode(data))


def test_register_codec_and_entry_point_group() -> None:
    class Negate(ArrayArrayCodec):
        name = "test.negate"

        def to_json(self) -> dict[str, Any]:
            return {"name": self.name}

        def encode(self, chunk: Any, spec: ChunkSpec) -> Any:
            return -chunk

        def decode(self, chunk: Any, spec: ChunkSpec) -> Any:
            return -chunk

    register_codec("test.negate", Negate)
    try:
        pipeline = CodecPipeline.from_v3(["test.negate", "bytes"], SPEC)
        blob = pipeline.encode(DATA)
        assert np.frombuffer(blob, "<f8")[1] == -1.0
        np.testing.assert_array_equal(pipeline.decode(blob), DATA)
    finally:
        codecs.unregister("test.negate")
    assert codecs.group == "zarrkit.codecs"


def test_get_codec_forms() -> None:
    zstd = ZstdCodec(level=3)
    assert get_codec(zstd) is zstd
    assert get_codec({"name": "zstd", "configuration": {"level": 3}}) == zstd
    assert get_codec({"id": "zstd", "level": 3}) == zstd
    assert get_codec(numcodecs.Zstd(level=3)) == zstd
    assert get_codec("crc32c") == Crc32cCodec()
    assert get_codec(numcodecs.GZip(level=2)).to_json() == {
        "name": "gzip",
        "configuration": {"level": 2},
    }
    blosc = get_codec(numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.BITSHUFFLE))
    assert blosc.to_json()["configuration"]["shuffle"] == "bitshuffle"
    assert get_codec(numcodecs.Zlib(level=4)).to_json() == {
        "name": "numcodecs.zlib",
        "configuration": {"level": 4},
    }
    with pytest.raises(MetadataError):
        get_codec(42)


def test_with_shape_serves_smaller_chunks() -> None:
    pipeline = CodecPipeline.from_v3([TransposeCodec(order=(1, 0)), "bytes", "zstd"], SPEC)
    edge = pipeline.with_shape((2, 3))
    assert edge.spec.shape == (2, 3)
    assert pipeline.with_shape((2, 3)) is edge
    np.testing.assert_array_equal(edge.decode(edge.encode(DATA[:2, :3])), DATA[:2, :3])


def test_classify_codecs() -> None:
    filters, serializer, compressors = classify_codecs(
        [{"name": "numcodecs.delta", "configuration": {"dtype": "<f8"}}, "bytes", numcodecs.Zstd()]
    )
    assert [c.name for c in filters] == ["numcodecs.delta"]
    assert serializer == BytesCodec()
    assert compressors == [ZstdCodec()]
    with pytest.raises(MetadataError, match="out of place"):
        classify_codecs(["bytes", TransposeCodec(order=(1, 0))])


def test_pipelines_pickle() -> None:
    v3 = CodecPipeline.from_v3(
        [{"name": "numcodecs.delta", "configuration": {"dtype": "<f8"}}, "bytes", "blosc"], SPEC
    )
    v2 = CodecPipeline.from_v2([numcodecs.Delta("<f8")], numcodecs.LZ4(), SPEC)
    for pipeline in (v3, v2):
        again = pickle.loads(pickle.dumps(pipeline))
        assert bytes(again.encode(DATA)) == bytes(pipeline.encode(DATA))
        assert again.to_v3_json() == pipeline.to_v3_json()


BIG = ChunkSpec(shape=(64, 300), dtype=np.dtype("<i4"), fill_value=0)
BIG_DATA = np.arange(64 * 300, dtype="<i4").reshape(64, 300)


@pytest.mark.parametrize(
    ("codecs", "partial"),
    [
        (["bytes", "zstd"], True),
        ([{"name": "bytes", "configuration": {"endian": "big"}}, "zstd"], False),
        (["bytes", {"name": "zstd", "configuration": {"checksum": True}}], False),
        (["bytes", "zstd", "crc32c"], False),  # the checksum covers every byte
        (["bytes", "gzip"], False),
        (["bytes"], False),
        ([{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes", "zstd"], False),
    ],
)
def test_decode_head_gives_leading_rows_or_the_whole_chunk(
    codecs: list[Any], partial: bool
) -> None:
    pytest.importorskip("zstandard")
    pipeline = CodecPipeline.from_v3(codecs, BIG)
    blob = bytes(pipeline.encode(BIG_DATA))
    for rows in (1, 17, 63, 64):
        head = pipeline.decode_head(blob, rows, key="c/1/0")
        np.testing.assert_array_equal(head[:rows], BIG_DATA[:rows])
        expected = rows if partial else 64
        assert head.shape == (expected, 300)
    with pytest.raises(CodecError, match="c/1/0"):
        pipeline.decode_head(blob[:-5], 3, key="c/1/0")


def test_chunks_stored_as_they_lie_in_memory_are_copied_into_their_rows() -> None:
    pipeline = CodecPipeline.from_v3(["bytes"], SPEC)
    raw = DATA.tobytes()
    out = np.full((4, *SPEC.shape), -1.0)
    pipeline.decode_many([raw, None, memoryview(raw), bytearray(raw)], out)
    for row in (0, 2, 3):
        np.testing.assert_array_equal(out[row], DATA)
    assert (out[1] == -1).all()  # a missing chunk's row is left as it was
    for short in (raw[:-8], memoryview(raw)[:-8]):
        with pytest.raises(CodecError, match="expected 192"):
            pipeline.decode_many([raw, short], np.empty((2, *SPEC.shape)))
