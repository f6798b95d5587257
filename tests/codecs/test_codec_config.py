"""Codec configuration: bad values raise MetadataError naming the field; zarr-python's
defaults fill what a configuration leaves out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from zarrkit.codecs import BloscCodec, BytesCodec, ChunkSpec, CodecPipeline, get_codec
from zarrkit.errors import MetadataError

BAD = [
    ({"name": "zstd", "configuration": {"level": "3"}}, "level"),
    ({"name": "zstd", "configuration": {"level": 23}}, "level"),
    ({"name": "zstd", "configuration": {"level": True}}, "level"),
    ({"name": "zstd", "configuration": {"checksum": "yes"}}, "checksum"),
    ({"name": "zstd", "configuration": {"level": 1, "window": 3}}, "window"),
    ({"name": "gzip", "configuration": {"level": 10}}, "level"),
    ({"name": "gzip", "configuration": {"level": -1}}, "level"),
    ({"name": "blosc", "configuration": {"cname": "lz5"}}, "cname"),
    ({"name": "blosc", "configuration": {"shuffle": "byte"}}, "shuffle"),
    ({"name": "blosc", "configuration": {"shuffle": 1}}, "shuffle"),
    ({"name": "blosc", "configuration": {"clevel": 10}}, "clevel"),
    ({"name": "blosc", "configuration": {"typesize": 0}}, "typesize"),
    ({"name": "blosc", "configuration": {"blocksize": -1}}, "blocksize"),
    ({"name": "bytes", "configuration": {"endian": "middle"}}, "endian"),
    ({"name": "transpose", "configuration": {"order": "C"}}, "order"),
    ({"name": "transpose", "configuration": {"order": [0, 0]}}, "order"),
    ({"name": "transpose", "configuration": {"order": [0, 2]}}, "order"),
    ({"name": "transpose", "configuration": {"order": [0, 1.0]}}, "order"),
    ({"name": "transpose", "configuration": {}}, "order"),
    ({"name": "crc32c", "configuration": {"seed": 1}}, "seed"),
    ({"name": "zstd", "configuration": [1]}, "configuration"),
    ({"name": "zstd", "config": {}}, "config"),
]


@pytest.mark.parametrize(("entry", "field"), BAD, ids=[str(e) for e, _ in BAD])
def test_bad_config_names_the_field(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(MetadataError) as info:
        get_codec(entry)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "numcodecs.zlib", "configuration": {"bogus": 1}},
        {"name": "numcodecs.delta", "configuration": {}},
        {"name": "numcodecs.lzma", "configuration": []},
        {"id": "zlib", "bogus": 1},
        {"id": 3},
    ],
)
def test_bad_numcodecs_config(entry: dict[str, Any]) -> None:
    with pytest.raises(MetadataError):
        get_codec(entry)


def test_missing_fields_take_zarr_python_defaults() -> None:
    assert get_codec({"name": "zstd", "configuration": {}}).to_json()["configuration"] == {
        "level": 0,
        "checksum": False,
    }
    assert get_codec({"name": "gzip"}).to_json() == {"name": "gzip", "configuration": {"level": 5}}
    assert get_codec({"name": "bytes"}).to_json()["configuration"] == {"endian": "little"}
    assert get_codec({"name": "crc32c", "configuration": {}}).to_json() == {"name": "crc32c"}


@pytest.mark.parametrize(
    ("dtype", "typesize", "shuffle"),
    [("u1", 1, "bitshuffle"), ("f8", 8, "shuffle"), ("c8", 8, "shuffle")],
)
def test_blosc_typesize_and_shuffle_come_from_dtype(
    dtype: str, typesize: int, shuffle: str
) -> None:
    spec = ChunkSpec(shape=(10,), dtype=np.dtype(dtype), fill_value=0)
    pipeline = CodecPipeline.from_v3(
        ["bytes", {"name": "blosc", "configuration": {"cname": "lz4"}}], spec
    )
    configuration = pipeline.to_v3_json()[1]["configuration"]
    assert (configuration["typesize"], configuration["shuffle"]) == (typesize, shuffle)
    given = BloscCodec(typesize=2, shuffle="noshuffle").evolve(spec)
    assert (given.typesize, given.shuffle) == (2, "noshuffle")


def test_numcodecs_fields_filled_from_dtype() -> None:
    spec = ChunkSpec(shape=(10,), dtype=np.dtype("f8"), fill_value=0)
    codecs = [
        {"name": "numcodecs.quantize", "configuration": {"digits": 2}},
        {"name": "numcodecs.fixedscaleoffset", "configuration": {"offset": 0, "scale": 2}},
        {"name": "numcodecs.astype", "configuration": {"encode_dtype": "f4"}},
        "bytes",
        {"name": "numcodecs.shuffle", "configuration": {}},
    ]
    written = CodecPipeline.from_v3(codecs, spec).to_v3_json()
    assert written[0]["configuration"] == {"digits": 2, "dtype": "float64"}
    assert written[1]["configuration"] == {"offset": 0, "scale": 2, "dtype": "float64"}
    assert written[2]["configuration"] == {"encode_dtype": "f4", "decode_dtype": "float64"}
    assert written[4]["configuration"] == {"elementsize": 8}


def test_bytes_endian_dropped_for_single_byte_types_and_required_otherwise() -> None:
    for dtype in ("u1", "bool", "S3", [("a", "u1"), ("b", "S2")]):
        spec = ChunkSpec(shape=(3,), dtype=np.dtype(dtype), fill_value=0)
        assert CodecPipeline.from_v3(["bytes"], spec).to_v3_json() == [{"name": "bytes"}]
    spec = ChunkSpec(shape=(3,), dtype=np.dtype("i2"), fill_value=0)
    with pytest.raises(MetadataError, match="endian"):
        CodecPipeline([BytesCodec(endian=None)], spec)


@pytest.mark.parametrize("endian", ["little", "big", None])
def test_bytes_endian_orders_every_field_of_a_record(endian: str | None) -> None:
    # the struct extension: multi-byte fields in the bytes codec's order; none (as
    # zarr-python 3.1 writes records) reads as little-endian
    dtype = np.dtype([("a", "u1"), ("b", "i4"), ("c", [("d", "f8"), ("e", "S2")])])
    spec = ChunkSpec(shape=(2,), dtype=dtype, fill_value=np.zeros((), dtype)[()])
    pipeline = CodecPipeline([BytesCodec(endian=endian)], spec)  # type: ignore[arg-type]
    expected_json = {"name": "bytes"} if endian is None else BytesCodec(endian=endian).to_json()
    assert pipeline.to_v3_json() == [expected_json]
    records = np.array([(1, 2, (3.5, b"xy")), (4, -5, (6.25, b"z"))], dtype)
    blob = bytes(pipeline.encode(records))
    order = ">" if endian == "big" else "<"
    assert blob == records.astype(dtype.newbyteorder(order)).tobytes()
    assert blob[1:5] == (2).to_bytes(4, "big" if endian == "big" else "little")
    np.testing.assert_array_equal(pipeline.decode(blob), records)


def test_packbits_needs_bool() -> None:
    spec = ChunkSpec(shape=(3,), dtype=np.dtype("u1"), fill_value=0)
    with pytest.raises(MetadataError, match="bool"):
        CodecPipeline.from_v3([{"name": "numcodecs.packbits", "configuration": {}}, "bytes"], spec)
