"""normalize_v3_codecs / normalize_v2_codecs give what zarr-python 3.1.6 writes for the same
create_array arguments, and accept the forms zarr-python does not (numcodecs codecs in v3,
v3 codecs in v2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numcodecs
import numpy as np
import pytest
from optional import optional

from zarrkit.codecs import (
    BytesCodec,
    GzipCodec,
    ZstdCodec,
    normalize_v2_codecs,
    normalize_v3_codecs,
)
from zarrkit.errors import MetadataError

zarr = optional("zarr")
zc = optional("zarr.codecs")
zn = optional("zarr.codecs.numcodecs")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def zarr_metadata(dtype: str, zarr_format: int, **kwargs: Any) -> dict[str, Any]:
    store: dict[str, Any] = {}
    zarr.create_array(store=store, shape=(10,), dtype=dtype, zarr_format=zarr_format, **kwargs)
    key = "zarr.json" if zarr_format == 3 else ".zarray"
    return dict(json.loads(store[key].to_bytes()))


#: dtype, and create_array's codec arguments (made when the test runs: zarr-python's codecs)
V3_ARGS: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("float64", dict),
    ("uint8", dict),
    ("int16", lambda: {"compressors": None}),
    ("int16", lambda: {"compressors": zc.ZstdCodec(level=5)}),
    (
        "float32",
        lambda: {"compressors": [{"name": "blosc", "configuration": {}}, zc.Crc32cCodec()]},
    ),
    ("float32", lambda: {"compressors": {"name": "gzip", "configuration": {"level": 2}}}),
    ("int32", lambda: {"filters": [zn.Delta(dtype="<i4")], "compressors": [zn.Zlib()]}),
    (
        "float64",
        lambda: {"filters": zn.Quantize(digits=2), "serializer": zc.BytesCodec(endian="big")},
    ),
    ("float64", lambda: {"filters": [{"name": "transpose", "configuration": {"order": [0]}}]}),
]


@pytest.mark.parametrize(
    ("dtype", "arguments"), V3_ARGS, ids=[f"{i}-{a[0]}" for i, a in enumerate(V3_ARGS)]
)
def test_v3_matches_zarr_python(dtype: str, arguments: Callable[[], dict[str, Any]]) -> None:
    kwargs = arguments()
    expected = zarr_metadata(dtype, 3, **kwargs)["codecs"]
    ours = normalize_v3_codecs(
        kwargs.get("filters", "auto"),
        kwargs.get("serializer", "auto"),
        kwargs.get("compressors", "auto"),
        np.dtype(dtype),
        chunk_shape=(10,),
    )
    assert json.dumps(ours) == json.dumps(expected)


V2_ARGS = [
    ("float64", {}),
    ("int16", {"compressors": None}),
    ("int16", {"compressors": numcodecs.Blosc()}),
    ("int16", {"compressors": [numcodecs.Zstd(level=4, checksum=True)]}),
    ("uint8", {"compressors": {"id": "blosc"}}),
    ("float32", {"filters": [numcodecs.Delta(dtype="<f4")], "compressors": numcodecs.GZip(3)}),
    ("float32", {"filters": [numcodecs.Quantize(digits=2, dtype="<f4")]}),
]


@pytest.mark.parametrize(
    ("dtype", "kwargs"), V2_ARGS, ids=[f"{i}-{a[0]}" for i, a in enumerate(V2_ARGS)]
)
def test_v2_matches_zarr_python(dtype: str, kwargs: dict[str, Any]) -> None:
    meta = zarr_metadata(dtype, 2, **kwargs)
    ours = normalize_v2_codecs(
        kwargs.get("filters", "auto"), kwargs.get("compressors", "auto"), np.dtype(dtype)
    )
    assert ours == (meta["filters"], meta["compressor"])


def test_v3_accepts_numcodecs_and_v2_forms() -> None:
    f8 = np.dtype("f8")
    codecs = normalize_v3_codecs(
        [numcodecs.Delta(dtype="<f8")],
        "auto",
        [numcodecs.Zstd(level=2), {"id": "gzip", "level": 4}, numcodecs.LZ4()],
        f8,
    )
    assert [c["name"] for c in codecs] == [
        "numcodecs.delta",
        "bytes",
        "zstd",
        "gzip",
        "numcodecs.lz4",
    ]
    assert codecs[2]["configuration"] == {"level": 2, "checksum": False}
    blosc = normalize_v3_codecs(None, "auto", numcodecs.Blosc(cname="zstd", shuffle=-1), f8)[1]
    assert blosc["configuration"]["typesize"] == 8
    assert blosc["configuration"]["shuffle"] == "shuffle"


def test_v2_refuses_a_v3_compressor_object() -> None:
    # as zarr-python: a v3 codec object is no v2 compressor, its numcodecs twin is
    with pytest.raises(MetadataError, match="Cannot use a BytesBytesCodec as a compressor"):
        normalize_v2_codecs(None, ZstdCodec(level=3), np.dtype("f8"))


def test_v2_accepts_v3_codec_json() -> None:
    f8 = np.dtype("f8")
    assert normalize_v2_codecs(None, [{"name": "gzip", "configuration": {"level": 2}}], f8) == (
        None,
        {"id": "gzip", "level": 2},
    )
    quantize = {"id": "quantize", "digits": 2, "dtype": "<f8"}
    assert normalize_v2_codecs([quantize], None, f8)[0] == [{**quantize, "astype": "<f8"}]
    filters, _ = normalize_v2_codecs(
        [{"name": "numcodecs.delta", "configuration": {"dtype": "<f8"}}], None, f8
    )
    assert filters == [{"id": "delta", "dtype": "<f8", "astype": "<f8"}]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (([BytesCodec()], "auto", "auto"), "filters"),
        (("auto", ZstdCodec(), "auto"), "serializer"),
        (("auto", "auto", [GzipCodec(), BytesCodec()]), "compressors"),
    ],
)
def test_v3_codec_kinds_are_checked(args: tuple[Any, Any, Any], field: str) -> None:
    with pytest.raises(MetadataError) as info:
        normalize_v3_codecs(*args, np.dtype("f8"))
    assert info.value.field == field


def test_v2_takes_one_compressor() -> None:
    with pytest.raises(MetadataError, match="one compressor") as info:
        normalize_v2_codecs(None, [numcodecs.Zstd(), numcodecs.GZip()], np.dtype("f8"))
    assert info.value.field == "compressors"
    with pytest.raises(MetadataError):
        normalize_v2_codecs(None, zc.Crc32cCodec(), np.dtype("f8"))
