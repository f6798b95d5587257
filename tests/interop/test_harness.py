"""The harness itself: the covering design holds, the data and checks can fail, zarr 2 runs."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from . import peers
from .cases import (
    LOSSY,
    PEERS,
    V2_DTYPES,
    V3_DTYPES,
    Case,
    all_cases,
    expected_data,
    fill_kinds,
    make_data,
    matrix_plan,
    peers_for,
    unsupported,
    value_filters,
)
from .checks import assert_doc_equal, assert_values_equal, same_json
from .docs import fill_from_json, fill_to_json
from .zarr2env import Zarr2Error, run_zarr2

CASES = all_cases()
DTYPES = {2: V2_DTYPES, 3: V3_DTYPES}


def _by_dtype(fmt: int) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = defaultdict(list)
    for case in CASES:
        if case.zarr_format == fmt:
            out[case.dtype].append(case)
    return out


def test_ids_are_unique_and_readable() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert all(
        re.fullmatch(r"v[23]-[a-z0-9]+-[a-z0-9.-]+-f[a-z0-9]+-[a-z0-9]+-[0-9xcd]+(-F)?", i)
        for i in ids
    ), ids[:3]


def test_matrix_size_fits_the_time_budget() -> None:
    plan = matrix_plan()
    assert 300 <= plan["cases"] <= 700, plan
    assert plan["checks"] <= 3000, plan


@pytest.mark.parametrize("fmt", [2, 3])
def test_every_dtype_meets_every_codec_and_fill_kind(fmt: int) -> None:
    families = {
        2: {"", "zlib", "gzip", "zstd", "lz4", "bz2", "lzma", "blosc", "shuffle"},
        3: {"bytes", "transpose", "gzip", "zstd", "blosc", "crc32c", "sharding_indexed"},
    }[fmt]
    by_dtype = _by_dtype(fmt)
    assert set(by_dtype) == set(DTYPES[fmt])
    for dtype, cases in by_dtype.items():
        npd = np.dtype(dtype)
        names = {
            c.get("name", c.get("id"))
            for case in cases
            for c in (*case.filters, case.serializer, *case.compressors)
            if c
        }
        names |= {"" for case in cases if not case.compressors}
        filters = {f"numcodecs.{f}" if fmt == 3 else f for f in value_filters(npd)}
        assert families | filters <= names, f"{dtype} lacks {sorted(families | filters - names)}"
        assert fmt == 2 or any(
            n.startswith("numcodecs.") and n[10:] not in value_filters(npd) for n in names
        )
        fills = {json_key(case.fill_value) for case in cases}
        assert fills == {json_key(v) for _, v in fill_kinds(npd, fmt)}, (
            f"{dtype} fill kinds {fills}"
        )
        keys = {(case.key_encoding, case.separator) for case in cases}
        assert len(keys) == (2 if fmt == 2 else 4), f"{dtype} key encodings {keys}"


def json_key(value: object) -> str:
    return repr(value)


@pytest.mark.parametrize("fmt", [2, 3])
def test_shapes_orders_attributes_and_names_all_occur(fmt: int) -> None:
    cases = [c for c in CASES if c.zarr_format == fmt]
    assert any(c.shape == () for c in cases)
    assert any(0 in c.shape for c in cases)
    assert any(s % c for case in cases for s, c in zip(case.shape, case.chunks, strict=True))
    assert any(case.attributes for case in cases) and any(not case.attributes for case in cases)
    if fmt == 2:
        assert {(c.order, c.separator) for c in cases} == {
            ("C", "."),
            ("C", "/"),
            ("F", "."),
            ("F", "/"),
        }
    else:
        assert any(case.dimension_names for case in cases)
    blosc = {
        (c["configuration"]["cname"], c["configuration"]["shuffle"])
        if fmt == 3
        else (c["cname"], c["shuffle"])
        for case in cases
        for c in case.compressors
        if c.get("name", c.get("id")) == "blosc"
    }
    assert len(blosc) == 4, blosc


def test_every_float_type_is_written_with_nan_and_infinities() -> None:
    for dtype in (*V3_DTYPES, *V2_DTYPES):
        if np.dtype(dtype).kind not in "fc":
            continue
        data = [make_data(c) for c in CASES if c.dtype == dtype]
        assert any(
            np.isnan(d).any() and np.isposinf(d.real).any() and np.isneginf(d.real).any()
            for d in data
        ), dtype


@pytest.mark.parametrize("case", CASES[::7], ids=lambda c: c.id)
def test_data_is_deterministic_and_typed(case: Case) -> None:
    first, again = make_data(case), make_data(case)
    assert first.dtype == case.numpy_dtype and first.shape == case.shape
    assert_values_equal(again, first, where=case.id)
    if not set(case.codec_ids) & LOSSY:
        assert_values_equal(expected_data(case), first, where=case.id)


@pytest.mark.parametrize("fid", ["quantize", "bitround", "fixedscaleoffset"])
def test_lossy_filters_change_the_expected_values(fid: str) -> None:
    lossy = [c for c in CASES if fid in c.codec_ids and math.prod(c.shape) > 1]
    assert lossy
    assert any(not np.array_equal(expected_data(c), make_data(c)) for c in lossy)


def test_no_chunk_is_all_zero_when_fill_is_null() -> None:
    for case in CASES:
        if case.fill_value is not None or not math.prod(case.shape):
            continue
        data = make_data(case)
        for start in np.ndindex(
            *(-(-s // c) for s, c in zip(case.shape, case.chunks, strict=True))
        ):
            region = tuple(
                slice(i * c, (i + 1) * c) for i, c in zip(start, case.chunks, strict=True)
            )
            assert data[region].any(), f"{case.id}: chunk {start} is all zero"


@pytest.mark.parametrize("case", CASES[::11], ids=lambda c: c.id)
def test_case_json_round_trip(case: Case) -> None:
    assert Case.from_json(case.to_json()) == case


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint64", "float16", "complex128"])
def test_fill_json_round_trip(dtype: str) -> None:
    npd = np.dtype(dtype)
    for _, value in fill_kinds(npd, 2):
        assert same_json(fill_to_json(fill_from_json(value, npd), npd), value), value
        scalar = None if value is None else np.array(fill_from_json(value, npd), dtype=npd)[()]
        assert same_json(fill_to_json(scalar, npd), value), value


def test_support_table() -> None:
    for peer in PEERS:
        for role in ("write", "read"):
            count = sum(peer in peers_for(c, role) for c in CASES)
            assert count >= 150, f"{peer} can {role} only {count} cases"
    v3 = next(c for c in CASES if c.zarr_format == 3)
    assert unsupported("zarr2", v3, "read") == "zarr-python 2 has no Zarr v3"
    filtered = next(c for c in CASES if c.zarr_format == 2 and c.filters)
    assert "no filters" in (unsupported("tensorstore", filtered, "write") or "")


def test_checks_can_fail() -> None:
    want = np.array([1.0, np.nan, 3.0])
    assert_values_equal(np.array([1.0, np.nan, 3.0]), want, where="same")
    with pytest.raises(AssertionError, match="1 values differ"):
        assert_values_equal(np.array([1.0, 2.0, 3.0]), want, where="nan lost")
    with pytest.raises(AssertionError, match="dtype"):
        assert_values_equal(want.astype("f4"), want, where="narrowed")
    doc = {
        "zarr_format": 3,
        "shape": [1],
        "chunk_shape": [1],
        "data_type": "int8",
        "fill_value": 0,
        "codecs": [],
    }
    with pytest.raises(AssertionError, match="codecs"):
        assert_doc_equal(doc | {"codecs": [{"name": "gzip"}]}, doc, where="codec")
    with pytest.raises(AssertionError, match="lacks"):
        assert_doc_equal({k: v for k, v in doc.items() if k != "codecs"}, doc, where="missing")
    assert not same_json(True, 1) and same_json(1, 1.0) and not same_json([1], [1, 2])


def test_a_corrupted_chunk_is_caught(tmp_path: Path) -> None:
    raw = {"name": "bytes", "configuration": {"endian": "little"}}
    case = Case(
        id="corrupt",
        zarr_format=3,
        dtype="int32",
        shape=(6,),
        chunks=(3,),
        serializer=raw,
        key_encoding="default",
        separator="/",
    )
    peers.write("zarr3", tmp_path, case)
    chunk = tmp_path / "c" / "0"  # (the last chunk holds the fill value and is not stored)
    chunk.write_bytes(bytes(b ^ 0xFF for b in chunk.read_bytes()))
    values, _ = peers.read("tensorstore", tmp_path)
    with pytest.raises(AssertionError, match="values differ"):
        assert_values_equal(values, expected_data(case), where="corrupted")


def test_zarr2_runs_scripts(zarr2_venv: str) -> None:
    answer = run_zarr2(
        "import zarr; result = {'version': zarr.__version__, 'echo': args['x']}", x=[1, "a"]
    )
    assert answer == {"version": "2.18.7", "echo": [1, "a"]}


def test_zarr2_failures_carry_the_traceback(zarr2_venv: str) -> None:
    with pytest.raises(Zarr2Error, match="ZeroDivisionError"):
        run_zarr2("print('noise'); result = 1 / 0")
    assert run_zarr2("result = {'still': 'alive'}") == {"still": "alive"}
