"""Cross-checks with zarr-python 3.1.6 and numcodecs: same JSON, same bytes, each reads
the other's chunks; plus committed chunks written by zarr-python (drift guard)."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
from optional import optional

from zarrkit import config
from zarrkit.codecs import ChunkSpec, CodecPipeline, get_codec
from zarrkit.testing.codec_suite import sample

zarr = optional("zarr")
zc = optional("zarr.codecs")
zn = optional("zarr.codecs.numcodecs")
zarr_buffer = optional("zarr.core.buffer")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "zarr_python_chunks.json").read_text())
# numcodecs' gzip header holds the time of writing; ours holds zero (bytes 4-7)
NONDETERMINISTIC = {"gzip", "numcodecs.gzip"}


def write_with_zarr(data: np.ndarray[Any, Any], zarr_format: int, order: str, **kwargs: Any) -> Any:
    store: dict[str, Any] = {}
    array = zarr.create_array(
        store=store,
        shape=data.shape,
        chunks=data.shape,
        dtype=data.dtype,
        zarr_format=zarr_format,
        fill_value=0,
        **({"order": order} if zarr_format == 2 else {}),
        **kwargs,
    )
    array[...] = data
    v3 = zarr_format == 3
    meta = json.loads(store["zarr.json" if v3 else ".zarray"].to_bytes())
    key = ("c/" if v3 else "") + ("/" if v3 else ".").join("0" * data.ndim)
    spec = ChunkSpec(shape=data.shape, dtype=data.dtype, fill_value=0, order=order)
    if v3:
        pipeline = CodecPipeline.from_v3(meta["codecs"], spec)
    else:
        pipeline = CodecPipeline.from_v2(meta["filters"], meta["compressor"], spec)
    return array, store, key, meta, pipeline


def same_chunk(ours: bytes, theirs: bytes, gzip: bool) -> bool:
    if gzip:  # zero numcodecs' timestamp
        theirs = theirs[:4] + bytes(4) + theirs[8:]
    return ours == theirs


def numcodecs_bytes(pipeline: CodecPipeline, data: np.ndarray[Any, Any]) -> bytes:
    """What zarrkit writes where it promises zarr-python's bytes: with the numcodecs
    encoders (the default ones write other valid gzip streams, and zstd frames of another
    libzstd version, which zarr-python must read: see read_back)."""
    with config.set(encoders="numcodecs"):
        return bytes(pipeline.encode(data))


def read_back(array: Any, store: dict[str, Any], key: str, pipeline: CodecPipeline) -> None:
    """zarr-python reads the chunk as zarrkit writes it by default, and as numcodecs would."""
    data = array[...]
    for blob in (bytes(pipeline.encode(data)), numcodecs_bytes(pipeline, data)):
        store[key] = zarr_buffer.cpu.Buffer.from_bytes(blob)
        np.testing.assert_array_equal(array[...], data)


#: dtype, and create_array's codec arguments (made when the test runs: zarr-python's codecs)
V3_CASES: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("float64", lambda: {"compressors": None}),
    ("int16", lambda: {"serializer": zc.BytesCodec(endian="big"), "compressors": None}),
    ("uint8", lambda: {}),
    ("float32", lambda: {"compressors": zc.ZstdCodec(level=7)}),
    ("int32", lambda: {"compressors": zc.ZstdCodec(level=-3, checksum=True)}),
    ("int16", lambda: {"compressors": zc.GzipCodec(level=1)}),
    ("float64", lambda: {"compressors": zc.GzipCodec(level=9)}),
    ("float64", lambda: {"compressors": zc.BloscCodec()}),
    ("uint8", lambda: {"compressors": zc.BloscCodec(cname="lz4", clevel=9)}),
    (
        "int32",
        lambda: {"compressors": zc.BloscCodec(cname="zlib", shuffle="noshuffle", typesize=2)},
    ),
    ("uint16", lambda: {"compressors": [zc.BloscCodec(cname="blosclz"), zc.Crc32cCodec()]}),
    ("complex128", lambda: {"compressors": zc.Crc32cCodec()}),
    ("float64", lambda: {"filters": [zc.TransposeCodec(order=(1, 0))], "compressors": None}),
    ("int64", lambda: {"filters": [zn.Delta(dtype="<i8")], "compressors": [zn.Zlib(level=4)]}),
    (
        "float64",
        lambda: {"filters": [zn.Quantize(digits=3)], "compressors": [zn.Shuffle(), zn.LZ4()]},
    ),
    (
        "float32",
        lambda: {"filters": [zn.BitRound(keepbits=9)], "compressors": [zn.BZ2(), zn.Adler32()]},
    ),
    ("float64", lambda: {"filters": [zn.FixedScaleOffset(offset=1, scale=4, astype="<i4")]}),
    ("float64", lambda: {"filters": [zn.AsType(encode_dtype="<f4")], "compressors": [zn.LZMA()]}),
    ("bool", lambda: {"filters": [zn.PackBits()], "compressors": [zn.CRC32(), zn.Fletcher32()]}),
    ("int32", lambda: {"compressors": [zn.Zstd(level=2), zn.JenkinsLookup3()]}),
    ("int8", lambda: {"compressors": [zn.GZip(level=3)]}),
    ("uint16", lambda: {"compressors": [zn.Blosc(cname="zstd", shuffle=2)]}),
]


@pytest.mark.parametrize(
    ("dtype", "kwargs"), V3_CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(V3_CASES)]
)
def test_v3_matches_zarr_python(dtype: str, kwargs: Callable[[], dict[str, Any]]) -> None:
    data = sample(np.dtype(dtype), (6, 7))
    with warnings.catch_warnings():  # zarr-python warns that numcodecs.* is not in the spec
        warnings.simplefilter("ignore")
        arguments = kwargs()
    array, store, key, meta, pipeline = write_with_zarr(data, 3, "C", **arguments)
    assert json.dumps(pipeline.to_v3_json()) == json.dumps(meta["codecs"])
    theirs = store[key].to_bytes()
    np.testing.assert_array_equal(pipeline.decode(theirs, key=key), data)
    gzip = any(c["name"] in NONDETERMINISTIC for c in meta["codecs"])
    assert same_chunk(numcodecs_bytes(pipeline, data), theirs, gzip)
    read_back(array, store, key, pipeline)


V2_CASES = [
    ("<f8", "C", {}),
    ("<f8", "F", {}),
    (">i4", "F", {"compressors": None}),
    ("<u2", "C", {"compressors": numcodecs.Blosc()}),
    ("<f4", "F", {"compressors": numcodecs.Blosc(cname="zstd", shuffle=2, clevel=9)}),
    ("<i8", "C", {"compressors": numcodecs.GZip(level=5)}),
    (
        "<i4",
        "F",
        {"filters": [numcodecs.Delta(dtype="<i4")], "compressors": numcodecs.Zlib(level=9)},
    ),
    (
        "<f8",
        "C",
        {"filters": [numcodecs.Quantize(2, "<f8", astype="<f4")], "compressors": numcodecs.Blosc()},
    ),
    ("<f8", "F", {"filters": [numcodecs.AsType("<f2", "<f8")], "compressors": numcodecs.BZ2()}),
    ("|b1", "C", {"filters": [numcodecs.PackBits()], "compressors": numcodecs.LZMA()}),
    (
        "<f8",
        "C",
        {"filters": [numcodecs.BitRound(10), numcodecs.Shuffle(8)], "compressors": numcodecs.LZ4()},
    ),
    (
        "<i2",
        "F",
        {"filters": [numcodecs.FixedScaleOffset(0, 1, "<i2", "<i1")], "compressors": None},
    ),
]


@pytest.mark.parametrize(
    ("dtype", "order", "kwargs"),
    V2_CASES,
    ids=[f"{i}-{c[0]}-{c[1]}" for i, c in enumerate(V2_CASES)],
)
def test_v2_matches_zarr_python(dtype: str, order: str, kwargs: dict[str, Any]) -> None:
    data = sample(np.dtype(dtype), (6, 7))
    if "filters" in kwargs and isinstance(kwargs["filters"][0], numcodecs.FixedScaleOffset):
        data = (data % 100).astype(dtype)  # fits int8
    array, store, key, meta, pipeline = write_with_zarr(data, 2, order, **kwargs)
    assert pipeline.to_v2_json() == (meta["filters"], meta["compressor"])
    theirs = store[key].to_bytes()
    decoded = pipeline.decode(theirs, key=key)
    assert decoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(decoded, data)
    gzip = (meta["compressor"] or {}).get("id") == "gzip"
    assert same_chunk(numcodecs_bytes(pipeline, data), theirs, gzip)
    read_back(array, store, key, pipeline)


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=lambda c: c["name"])
def test_committed_zarr_python_chunks(case: dict[str, Any]) -> None:
    dtype = np.dtype({"float64": "f8", "float32": "f4"}.get(case["dtype"], case["dtype"]))
    data = np.array(case["data"], dtype=dtype)
    spec = ChunkSpec(shape=tuple(case["shape"]), dtype=dtype, fill_value=0, order=case["order"])
    if case["zarr_format"] == 3:
        pipeline = CodecPipeline.from_v3(case["codecs"], spec)
        assert pipeline.to_v3_json() == case["codecs"]
    else:
        pipeline = CodecPipeline.from_v2(case["filters"], case["compressor"], spec)
        assert pipeline.to_v2_json() == (case["filters"], case["compressor"])
    chunk = base64.b64decode(case["chunk"])
    np.testing.assert_array_equal(pipeline.decode(chunk, key="fixture"), data)
    out = np.zeros(spec.shape, dtype, order=spec.order)
    pipeline.decode_into(chunk, out)
    np.testing.assert_array_equal(out, data)
    gzip = "gzip" in json.dumps([case["codecs"], case["compressor"]])
    assert same_chunk(numcodecs_bytes(pipeline, data), chunk, gzip)
    np.testing.assert_array_equal(pipeline.decode(bytes(pipeline.encode(data))), data)


#: zarr-python's codecs, made when the test runs
ZARR_CODECS: dict[str, Callable[[], Any]] = {
    "bytes": lambda: zc.BytesCodec(),
    "bytes-big": lambda: zc.BytesCodec(endian="big"),
    "bytes-none": lambda: zc.BytesCodec(endian=None),
    "transpose": lambda: zc.TransposeCodec(order=(2, 0, 1)),
    "gzip": lambda: zc.GzipCodec(),
    "gzip-0": lambda: zc.GzipCodec(level=0),
    "zstd": lambda: zc.ZstdCodec(),
    "zstd-checksum": lambda: zc.ZstdCodec(level=-7, checksum=True),
    "blosc": lambda: zc.BloscCodec(),
    "blosc-lz4hc": lambda: zc.BloscCodec(
        typesize=4, cname="lz4hc", clevel=1, shuffle="noshuffle", blocksize=256
    ),
    "crc32c": lambda: zc.Crc32cCodec(),
    "numcodecs.delta": lambda: zn.Delta(dtype="<i4", astype="<i2"),
    "numcodecs.zlib": lambda: zn.Zlib(level=3),
    "numcodecs.lz4": lambda: zn.LZ4(),
    "numcodecs.shuffle": lambda: zn.Shuffle(elementsize=4),
    "numcodecs.crc32": lambda: zn.CRC32(),
}


@pytest.mark.parametrize("name", list(ZARR_CODECS))
def test_codec_json_is_zarr_pythons(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codec = ZARR_CODECS[name]()
    written = json.loads(json.dumps(codec.to_dict()))
    ours = get_codec(written)
    assert json.dumps(ours.to_json()) == json.dumps(type(codec).from_dict(written).to_dict())
    assert type(codec).from_dict(ours.to_json()) == type(codec).from_dict(written)
