"""The extension registry's codecs against the peers that write them here.

- ``packbits`` and ``reshape``: the zarrs Rust pipeline (zarrs-python's CodecPipelineImpl,
  given the metadata JSON directly), both directions, same bytes.
- ``cast_value``: zarr-python 3.1.6 with the ``cast-value`` package's codec, both
  directions; and the kernel against ``cast-value-rs`` over a matrix of types and values.
- ``bitround`` (floats) and ``zfp``: numcodecs' BitRound gives the same bytes; numcodecs'
  ZFPY stream is a zfp header followed by the same zfp stream.
tensorstore 0.1.86 reads none of these codecs; zarr-python 3.1.6 alone knows only their
``numcodecs.*`` forms.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit.codecs import ChunkSpec, CodecPipeline
from zarrkit.codecs.casting import ROUNDINGS, cast_values

# the peers (test group) and numcodecs' zfpy codec (the zfp extra)
zarr = optional("zarr")
zarr_storage = optional("zarr.storage")
zarrs_internal = optional("zarrs._internal")
cast_value_v1 = optional("cast_value.zarr_compat.v1")
cast_value_rs = optional("cast_value_rs")
numcodecs_zfpy = optional("numcodecs.zfpy")


def zarrs_write(path: Path, meta: dict[str, Any], data: np.ndarray[Any, Any]) -> None:
    """Write ``data`` as the array ``meta`` (one chunk) through the zarrs pipeline."""
    (path / "zarr.json").write_text(json.dumps(meta))
    pipeline = zarrs_internal.CodecPipelineImpl(
        json.dumps(meta), store_config=zarr_storage.LocalStore(path)
    )
    region = [slice(0, n) for n in data.shape]
    key = "c/" + "/".join("0" * data.ndim)
    pipeline.store_chunks_with_indices(
        [zarrs_internal.ChunkItem(key, region, list(data.shape), region, list(data.shape))],
        data,
        True,
    )


def zarrs_read(path: Path, meta: dict[str, Any]) -> np.ndarray[Any, Any]:
    pipeline = zarrs_internal.CodecPipelineImpl(
        json.dumps(meta), store_config=zarr_storage.LocalStore(path)
    )
    shape = meta["shape"]
    out = np.zeros(shape, meta["data_type"])
    region = [slice(0, n) for n in shape]
    key = "c/" + "/".join("0" * len(shape))
    pipeline.retrieve_chunks_and_apply_index(
        [zarrs_internal.ChunkItem(key, region, list(shape), region, list(shape))], out
    )
    return out


def metadata(dtype: str, shape: tuple[int, ...], codecs: list[Any]) -> dict[str, Any]:
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shape)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": False if dtype == "bool" else 0,
        "codecs": codecs,
        "attributes": {},
    }


ZARRS_CASES = [
    ("bool", [{"name": "packbits", "configuration": {}}]),
    ("bool", [{"name": "packbits", "configuration": {"padding_encoding": "first_byte"}}]),
    ("int8", [{"name": "packbits", "configuration": {"first_bit": 1, "last_bit": 3}}]),
    ("int16", [{"name": "packbits", "configuration": {"last_bit": 11}}]),
    (
        "uint16",
        [{"name": "packbits", "configuration": {"padding_encoding": "last_byte", "first_bit": 4}}],
    ),
    ("float32", [{"name": "packbits", "configuration": {}}]),
    (
        "int32",
        [
            {"name": "reshape", "configuration": {"shape": [[0, 1], -1]}},
            {"name": "bytes", "configuration": {"endian": "little"}},
        ],
    ),
    (
        "float64",
        [
            {"name": "reshape", "configuration": {"shape": [-1]}},
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
        ],
    ),
    ("uint8", [{"name": "reshape", "configuration": {"shape": [4, 15]}}, {"name": "packbits"}]),
]


def sample(dtype: str, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(7)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -2000), min(info.max, 2000), shape).astype(dtype)


@pytest.mark.parametrize(("dtype", "codecs"), ZARRS_CASES, ids=[str(c) for c in ZARRS_CASES])
def test_zarrs_writes_what_we_write(tmp_path: Path, dtype: str, codecs: list[Any]) -> None:
    shape = (3, 4, 5)
    meta = metadata(dtype, shape, codecs)
    data = sample(dtype, shape)
    (tmp_path / "zarrs").mkdir()
    zarrs_write(tmp_path / "zarrs", meta, data)
    theirs = (tmp_path / "zarrs" / "c" / "0" / "0" / "0").read_bytes()
    pipeline = CodecPipeline.from_v3(
        codecs, ChunkSpec(shape=shape, dtype=np.dtype(dtype), fill_value=0)
    )
    decoded = pipeline.decode(theirs)
    expected = zarrs_read(tmp_path / "zarrs", meta)  # bits zarrs keeps (packbits drops some)
    np.testing.assert_array_equal(decoded, expected)
    assert bytes(pipeline.encode(data)) == theirs
    ours = zarrkit.open_array(tmp_path / "zarrs", mode="r")[...]
    np.testing.assert_array_equal(ours, expected)


def test_zarrs_reads_what_we_write(tmp_path: Path) -> None:
    data = sample("int16", (6, 10))
    packbits = {"padding_encoding": "first_byte", "first_bit": 0, "last_bit": 11}
    written = zarrkit.create_array(
        tmp_path,
        shape=data.shape,
        chunks=data.shape,
        dtype="int16",
        filters=[{"name": "reshape", "configuration": {"shape": [-1]}}],
        serializer={"name": "packbits", "configuration": packbits},
        compressors=None,
    )
    written[...] = data
    meta = json.loads((tmp_path / "zarr.json").read_text())
    np.testing.assert_array_equal(zarrs_read(tmp_path, meta), data)


def test_zarrs_leaves_out_the_padding_byte_of_whole_components(tmp_path: Path) -> None:
    """The spec prepends the padding byte whatever the bits kept; zarrs (0.2.3) skips it
    when whole components are kept (it writes them as the bytes codec would). zarrkit
    follows the spec, so such chunks differ by that one byte (0: no padding bits)."""
    data = np.arange(6, dtype="int16")
    codecs = [{"name": "packbits", "configuration": {"padding_encoding": "first_byte"}}]
    zarrs_write(tmp_path, metadata("int16", (6,), codecs), data)
    theirs = (tmp_path / "c" / "0").read_bytes()
    spec = ChunkSpec(shape=(6,), dtype=np.dtype("int16"), fill_value=0)
    ours = bytes(CodecPipeline.from_v3(codecs, spec).encode(data))
    assert ours == b"\x00" + data.astype("<i2").tobytes()
    assert theirs == data.astype("<i2").tobytes()


# --- cast_value: zarr-python 3.1.6 with the cast-value package -----------------------------

CAST_CASES = [
    ("float64", {"data_type": "uint8", "rounding": "towards-zero", "out_of_range": "wrap"}),
    ("float32", {"data_type": "int16", "out_of_range": "clamp"}),
    ("int32", {"data_type": "uint8", "out_of_range": "clamp"}),
    ("float64", {"data_type": "float16", "rounding": "nearest-away", "out_of_range": "clamp"}),
    (
        "float64",
        {
            "data_type": "uint8",
            "scalar_map": {"encode": [["NaN", 0]], "decode": [[0, "NaN"]]},
            "out_of_range": "clamp",
        },
    ),
]


def cast_sample(dtype: str) -> np.ndarray[Any, Any]:
    return np.array([0, 1.5, 2.5, -3.5, 100.25, 300.75, -1000.5, 70000, 12.0] * 4).astype(dtype)


@pytest.mark.parametrize(("dtype", "config"), CAST_CASES, ids=[str(c) for c in CAST_CASES])
def test_cast_value_with_zarr_python(tmp_path: Path, dtype: str, config: dict[str, Any]) -> None:
    data = cast_sample(dtype)
    if "scalar_map" in config:
        data[::5] = np.nan
    fill = np.nan if "scalar_map" in config else 0
    theirs = zarr.create_array(
        zarr_storage.LocalStore(tmp_path / "zp"),
        shape=data.shape,
        chunks=(9,),
        dtype=dtype,
        fill_value=fill,
        filters=[cast_value_v1.CastValueRustV1(**config)],
        compressors=None,
    )
    theirs[...] = data
    ours = zarrkit.open_array(tmp_path / "zp", mode="r")
    assert ours.metadata.to_json()["codecs"][0] == {"name": "cast_value", "configuration": config}
    np.testing.assert_array_equal(ours[...], theirs[...])
    written = zarrkit.create_array(
        tmp_path / "zk",
        shape=data.shape,
        chunks=(9,),
        dtype=dtype,
        fill_value=fill,
        filters=[{"name": "cast_value", "configuration": config}],
        compressors=None,
    )
    written[...] = data
    for key in ("c/0", "c/3"):
        assert (tmp_path / "zk" / key).read_bytes() == (tmp_path / "zp" / key).read_bytes()
    np.testing.assert_array_equal(
        zarr.open_array(zarr_storage.LocalStore(tmp_path / "zk"))[...], ours[...]
    )


TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
TYPES += ["float16", "float32", "float64"]


def matrix_values(dtype: str) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(3)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        special = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 127.5, 128.0, 255.5, 300.0, 65504.0, 65520.0]
        special += [70000.0, 2.0**31, -(2.0**31) - 1, 2.0**63, 2.0**64, 1e-8, 6.1e-5]
        special += [float(np.finfo(kind).max), float(np.finfo(kind).tiny)]
        wide = np.array(special + list(rng.standard_normal(60) * 1000), np.float64)
        with np.errstate(all="ignore"):
            values = wide.astype(kind)
        return values[np.isfinite(values)]
    info = np.iinfo(kind)
    edges = [0, 1, -1, 127, 128, 255, 256, -129, 32768, 65535, 2**31, 2**53 + 1, 2**63 - 1]
    edges += [int(info.min), int(info.max)]
    inside = [v for v in edges if info.min <= v <= info.max]
    return np.array(inside + list(rng.integers(info.min, info.max, 60, dtype=kind)), kind)


def test_cast_kernel_matches_cast_value_rs() -> None:
    """Every pair of types, rounding and out-of-range mode: same values, same errors. The
    one known difference is excluded: cast-value-rs rounds float64 to float16 through
    float32 (twice), which test_cast_rounds_float64_to_float16_once pins."""
    compared = 0
    for source, target in itertools.product(TYPES, TYPES):
        values = matrix_values(source)
        for rounding, mode in itertools.product(ROUNDINGS, (None, "clamp", "wrap")):
            if mode == "wrap" and target.startswith("float"):
                continue
            try:
                theirs = cast_value_rs.cast_array(
                    values, target_dtype=target, rounding_mode=rounding, out_of_range_mode=mode
                )
            except ValueError:
                theirs = None
            try:
                ours = cast_values(values, np.dtype(target), rounding=rounding, out_of_range=mode)
            except zarrkit.errors.CodecError:
                ours = None
            where = f"{source} -> {target} {rounding} {mode}"
            assert (theirs is None) == (ours is None), where
            if ours is None or (source, target) == ("float64", "float16"):
                continue
            assert ours.tobytes() == theirs.tobytes(), where
            compared += 1
    assert compared > 1000


def test_cast_rounds_float64_to_float16_once() -> None:
    value = np.array([-905.2500068874787])  # float16 neighbours -905.5 and -905.0
    assert abs(value[0] - -905.5) < abs(value[0] - -905.0)
    ours = cast_values(value, np.dtype("float16"))
    assert ours[0] == -905.5
    via_float32 = cast_value_rs.cast_array(
        value, target_dtype="float16", rounding_mode="nearest-even"
    )
    assert via_float32[0] == -905.0  # cast-value-rs 0.5.1: float32 first, then a tie


# --- numcodecs: BitRound, ZFPY ----------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("keepbits", [1, 7, 10])
def test_bitround_floats_are_numcodecs_bitround(dtype: str, keepbits: int) -> None:
    data = (np.random.default_rng(5).standard_normal(500) * 1e3).astype(dtype)
    spec = ChunkSpec(shape=data.shape, dtype=data.dtype, fill_value=0)
    ours = CodecPipeline.from_v3(
        [{"name": "bitround", "configuration": {"keepbits": keepbits}}, "bytes"], spec
    )
    assert bytes(ours.encode(data)) == numcodecs.BitRound(keepbits).encode(data).tobytes()


@pytest.mark.parametrize(
    ("config", "numcodecs_config"),
    [
        ({"mode": "fixed_accuracy", "tolerance": 0.01}, {"mode": 4, "tolerance": 0.01}),
        ({"mode": "fixed_rate", "rate": 12}, {"mode": 2, "rate": 12}),
        ({"mode": "fixed_precision", "precision": 20}, {"mode": 3, "precision": 20}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_zfp_stream_is_numcodecs_zfpy_without_its_header(
    config: dict[str, Any], numcodecs_config: dict[str, Any], dtype: str
) -> None:
    if dtype == "int32" and config["mode"] == "fixed_accuracy":
        pytest.skip("zfp's accuracy mode is for floats")
    data = (np.random.default_rng(9).standard_normal((16, 12)) * 100).astype(dtype)
    spec = ChunkSpec(shape=data.shape, dtype=data.dtype, fill_value=0)
    ours = bytes(
        CodecPipeline.from_v3([{"name": "zfp", "configuration": config}], spec).encode(data)
    )
    theirs = bytes(numcodecs_zfpy.ZFPY(**numcodecs_config).encode(data))[12:]  # zfp's 96-bit header
    common = min(len(ours), len(theirs))  # each stream ends padded to whole 64-bit words
    assert ours[:common] == theirs[:common]
    assert not (ours[common:] + theirs[common:]).strip(b"\x00")
    reread = CodecPipeline.from_v3([{"name": "zfp", "configuration": config}], spec)
    decoded = reread.decode(theirs + bytes(-len(theirs) % 8))
    numcodec = numcodecs_zfpy.ZFPY(**numcodecs_config)
    np.testing.assert_array_equal(decoded, numcodec.decode(numcodec.encode(data)))
