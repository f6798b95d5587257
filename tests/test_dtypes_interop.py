"""Every data type beyond the numeric core against its peers, both directions:
zarr-python 3.1.6 (in process, v2 and v3), zarr-python 2.18 (v2, in its own environment)
and tensorstore (ml_dtypes types, v2 and v3). Each check compares values (including the
fill value of an unwritten chunk), dtype and fill value; against zarr-python 3 also the
stored chunks byte for byte and the ``data_type``/``dtype`` and ``fill_value`` JSON.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit.metadata.dtypes import family

ml_dtypes = optional("ml_dtypes")
ts = optional("tensorstore")
zarr = optional("zarr")
zarr_dtype = optional("zarr.core.dtype")

STRUCT = [("a", "<i4"), ("b", "<f8")]
#: zarr-python 3's dtype object for variable-length bytes (made when a test runs)
VLEN_BYTES = "zarr.core.dtype.VariableLengthBytes()"


@dataclass(frozen=True)
class Case:
    kit: Any  # zarrkit's dtype argument
    zarr3: Any  # zarr-python 3's (None: it has no such type)
    values: list[Any]  # the first 4 of 6 elements; the last chunk stays unwritten
    fill: Any
    zarr2: Any = None  # zarr-python 2's dtype (and object codec id after a "+")
    #: zarr-python 2 cannot store a bytes fill value (its JSON encoder fails on bytes) and
    #: reads a base64 one as a str: such cases leave the fill to each side's default.
    zarr2_fill: bool = True
    kit_v2: dict[str, Any] | None = None  # extra create_array arguments for v2
    kit_v3: dict[str, Any] | None = None


CASES = {
    "string": Case(str, str, ["a", "bcd", "", "é"], "zz", zarr2="object+vlen-utf8"),
    "bytes": Case(
        bytes,
        VLEN_BYTES,
        [b"a", b"b\x00c", b"", b"x"],
        b"zz",
        zarr2="object+vlen-bytes",
        zarr2_fill=False,
        kit_v2={"filters": [{"id": "vlen-bytes"}]},
        kit_v3={"serializer": "vlen-bytes"},
    ),
    "U3": Case("U3", "U3", ["a", "bc", "", "x"], "q", zarr2="<U3"),
    "S3": Case("S3", "S3", [b"a", b"bc", b"", b"x"], b"q", zarr2="|S3"),
    "datetime64": Case(
        "M8[ns]",
        "M8[ns]",
        ["2020-01-01", "NaT", "1970-01-01", "2000-01-01T00:00:01"],
        np.datetime64("2001-01-01", "ns"),
        zarr2="<M8[ns]",
    ),
    "datetime64-NaT": Case("M8[s]", "M8[s]", ["2020-01-01", 0, 1, 2], "NaT", zarr2="<M8[s]"),
    "timedelta64": Case(
        "m8[10s]", "m8[10s]", [1, -2, 3, 4], np.timedelta64(5, "10s"), zarr2="<m8[10s]"
    ),
    "struct": Case(
        STRUCT, STRUCT, [(1, 2.5), (3, 4.0), (0, 0), (5, np.nan)], (7, 1.5), zarr2=STRUCT
    ),
    "raw": Case("V2", "V2", [b"ab", b"cd", b"\0\0", b"ef"], b"zz", zarr2="|V2"),
}


def make(dtype: np.dtype[Any], values: list[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=dtype)
    out[:] = [np.void(v) for v in values] if family(dtype) == "raw" else values
    return out


def same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OT" or b.dtype.kind in "OT":
        return list(a.astype(object).ravel()) == list(b.astype(object).ravel())
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def expected(dtype: np.dtype[Any], case: Case) -> np.ndarray[Any, Any]:
    fill = make(dtype, [case.fill])
    return np.concatenate([make(dtype, case.values), fill, fill])


def doc(path: Path, fmt: int) -> dict[str, Any]:
    return json.loads((path / ("zarr.json" if fmt == 3 else ".zarray")).read_text())


def write_kit(path: Path, case: Case, fmt: int, **extra: Any) -> None:
    kwargs = (case.kit_v3 if fmt == 3 else case.kit_v2) or {}
    a = zarrkit.create_array(
        path,
        shape=(6,),
        chunks=(2,),
        dtype=case.kit,
        fill_value=case.fill,
        zarr_format=fmt,
        **kwargs,
        **extra,
    )
    a[:4] = make(a.dtype, case.values)


def write_zarr3(path: Path, case: Case, fmt: int, **extra: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.create_array(
            str(path),
            shape=(6,),
            chunks=(2,),
            dtype=zarr_dtype.VariableLengthBytes() if case.zarr3 == VLEN_BYTES else case.zarr3,
            fill_value=case.fill,
            zarr_format=fmt,
            **extra,
        )
        a[:4] = make(a.dtype, case.values)


# --- zarr-python 3 ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_zarr3_reads_zarrkit(tmp_path, name, fmt):
    case = CASES[name]
    write_kit(tmp_path, case, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.open_array(str(tmp_path), mode="r")
        got = a[:]
    assert a.dtype == zarrkit.open_array(tmp_path).dtype
    assert same(got, expected(got.dtype, case))
    assert same(make(got.dtype, [a.fill_value]), make(got.dtype, [case.fill]))


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_zarrkit_reads_zarr3(tmp_path, name, fmt):
    case = CASES[name]
    write_zarr3(tmp_path, case, fmt)
    a = zarrkit.open_array(tmp_path)
    got = a[:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert a.dtype == zarr.open_array(str(tmp_path)).dtype
    assert same(got, expected(a.dtype, case))
    assert same(make(a.dtype, [a.fill_value]), make(a.dtype, [case.fill]))


#: Spellings that differ on purpose: zarrkit writes the registry's name for variable-length
#: bytes, which zarr-python 3.1.6 reads too.
_ALIASES = {"variable_length_bytes": "bytes"}
#: The struct extension requires the bytes codec's endian for records with multi-byte
#: fields; zarr-python 3.1.6 leaves it out (and reads it, ignoring it; the bytes agree).
_CODECS = {"struct": [{"name": "bytes", "configuration": {"endian": "little"}}]}


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_same_chunks_and_metadata_as_zarr3(tmp_path, name, fmt):
    case = CASES[name]
    write_kit(tmp_path / "kit", case, fmt, compressors=None)
    write_zarr3(tmp_path / "zarr3", case, fmt, compressors=None)
    ours, theirs = doc(tmp_path / "kit", fmt), doc(tmp_path / "zarr3", fmt)
    field = "data_type" if fmt == 3 else "dtype"
    assert ours[field] == _ALIASES.get(json.dumps(theirs[field]).strip('"'), theirs[field])
    assert ours["fill_value"] == theirs["fill_value"]
    if fmt == 3:
        assert ours["codecs"] == _CODECS.get(name, theirs["codecs"])
    else:
        assert ours["filters"] == theirs["filters"]
    for key in ["c/0", "c/1"] if fmt == 3 else ["0", "1"]:
        assert (tmp_path / "kit" / key).read_bytes() == (tmp_path / "zarr3" / key).read_bytes()


# --- zarr-python 2 ------------------------------------------------------------------------

# Shared by both sides: arrays as JSON (npy bytes, or a list of objects with bytes in base64).
TRANSPORT = """
import base64, io
import numpy as np

def pack(arr):
    arr = np.asarray(arr)
    if arr.dtype.kind in "OT":
        items = arr.astype(object).tolist()
        return {"objects": [{"__b64__": base64.b64encode(x).decode()} if isinstance(x, bytes)
                            else x for x in items]}
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"npy": base64.b64encode(buf.getvalue()).decode()}

def unpack(data):
    if "npy" in data:
        return np.load(io.BytesIO(base64.b64decode(data["npy"])), allow_pickle=False)
    items = [base64.b64decode(x["__b64__"]) if isinstance(x, dict) and "__b64__" in x else x
             for x in data["objects"]]
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
"""
_transport: dict[str, Any] = {}
exec(TRANSPORT, _transport)
pack, unpack = _transport["pack"], _transport["unpack"]

ZARR2_WRITE = (
    TRANSPORT
    + """
import numcodecs, zarr
dtype, _, codec = args["dtype"].partition("+") if isinstance(args["dtype"], str) else (
    [tuple(f) for f in args["dtype"]], "", "")
values, fill = unpack(args["values"]), unpack(args["fill"])[0]
extra = {"object_codec": numcodecs.get_codec({"id": codec})} if codec else {}
a = zarr.open_array(args["path"], mode="w", shape=(6,), chunks=(2,), dtype=dtype,
                    fill_value=fill, compressor=None, **extra)
a[:4] = values
result = {}
"""
)
ZARR2_READ = (
    TRANSPORT
    + """
import zarr
a = zarr.open_array(args["path"], mode="r")
result = {"values": pack(a[:]), "dtype": str(a.dtype), "fill": pack([a.fill_value])}
"""
)

ZARR2_CASES = [n for n, c in CASES.items() if c.zarr2 is not None] + ["json2"]
JSON2 = Case(
    "O",
    None,
    ["a", 1, [1, "b"], {"k": None}],
    "zz",
    zarr2="object+json2",
    kit_v2={"filters": [{"id": "json2"}]},
)


def _case(name: str) -> Case:
    return JSON2 if name == "json2" else CASES[name]


def _objects(values: list[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@pytest.mark.parametrize("name", ZARR2_CASES)
def test_zarr2_reads_zarrkit(tmp_path, zarr2, name):
    case = _case(name)
    if name == "json2":
        a = zarrkit.create_array(
            tmp_path,
            shape=(6,),
            chunks=(2,),
            dtype=object,
            fill_value=case.fill,
            zarr_format=2,
            **case.kit_v2,
        )
        a[:4] = _objects(case.values)
    else:
        write_kit(tmp_path, case if case.zarr2_fill else replace(case, fill=None), 2)
    dtype = zarrkit.open_array(tmp_path).dtype
    got = zarr2(ZARR2_READ, path=str(tmp_path))
    values = unpack(got["values"])
    assert got["dtype"] == str(np.dtype("O") if dtype.kind in "OT" else dtype)
    if not case.zarr2_fill:  # zarr-python 2 reads the null fill as None
        assert same(values, _objects([*case.values, None, None]))
        return
    want = _objects(case.values + [case.fill] * 2) if name == "json2" else expected(dtype, case)
    assert same(values if dtype.kind in "OT" else make(dtype, list(values)), want)
    assert (
        same(unpack(got["fill"]), want[-1:])
        if dtype.kind in "OT"
        else same(make(dtype, list(unpack(got["fill"]))), want[-1:])
    )


@pytest.mark.parametrize("name", ZARR2_CASES)
def test_zarrkit_reads_zarr2(tmp_path, zarr2, name):
    case = _case(name)
    dtype = (
        np.dtype("O")
        if name == "json2"
        else zarrkit.create_array(
            tmp_path / "probe", shape=(1,), dtype=case.kit, zarr_format=2, **(case.kit_v2 or {})
        ).dtype
    )
    values = _objects(case.values) if dtype.kind in "OT" else make(dtype, case.values)
    fill = case.fill if case.zarr2_fill else 0
    fill = pack(_objects([fill]) if dtype.kind in "OT" else make(dtype, [fill]))
    zarr2(ZARR2_WRITE, path=str(tmp_path / "a"), dtype=case.zarr2, values=pack(values), fill=fill)
    a = zarrkit.open_array(tmp_path / "a")
    assert a.dtype == dtype
    if not case.zarr2_fill:  # zarr-python 2's 0 fill stays 0, as zarr-python 2 reads it
        assert same(a[:], _objects([*case.values, 0, 0]))
        return
    want = _objects(case.values + [case.fill] * 2) if name == "json2" else expected(dtype, case)
    assert same(a[:], want)


def test_zarr2_object_arrays_with_a_zero_fill(tmp_path, zarr2):
    """zarr-python 2's default fill for object arrays is 0: strings read it as "0" (as
    zarr-python 3 does), bytes and other objects keep the 0, as zarr-python 2 does."""
    for codec, values in (("vlen-utf8", ["a"]), ("vlen-bytes", [b"a"]), ("json2", [[1]])):
        script = ZARR2_WRITE.replace("fill_value=fill", "fill_value=0")
        zarr2(
            script,
            path=str(tmp_path / codec),
            dtype=f"object+{codec}",
            values=pack(_objects(values * 4)),
            fill=pack(_objects([None])),
        )
        got = zarrkit.open_array(tmp_path / codec)[4:]
        assert list(got) == (["0", "0"] if codec == "vlen-utf8" else [0, 0])


# --- tensorstore (ml_dtypes types) ----------------------------------------------------------

ML_FLOATS = [
    "bfloat16",
    "float8_e3m4",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn",
]
ML_INTS = {"int4": [-8, 7, 0, 3], "int2": [-2, 1, 0, 1]}
TS_V3 = [*ML_FLOATS, *ML_INTS]
#: tensorstore's v2 float4_e2m1fn takes only base64 fill values, unlike its other types.
TS_V2 = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "int4"]
#: tensorstore reads (and writes) float8_e8m0fnu fill values 2**64 times too small (0.5
#: reads as 2**-65): those arrays are written whole, so no fill value is read.
TS_BAD_FILL = {"float8_e8m0fnu"}


def _ml(name: str) -> tuple[np.dtype[Any], np.ndarray[Any, Any], Any]:
    dtype = np.dtype(getattr(ml_dtypes, name))
    values = ML_INTS.get(name, [1, 2, 0.5, 4])
    fill = 1 if name in ML_INTS else 0.5
    return dtype, np.array([*values, fill, fill], dtype=dtype), fill


def _ts_spec(path: Path, fmt: int, name: str, fill: Any) -> dict[str, Any]:
    if fmt == 3:
        metadata = {
            "shape": [6],
            "data_type": name,
            "fill_value": fill,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        }
        return {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": str(path)},
            "metadata": metadata,
        }
    metadata = {"shape": [6], "chunks": [2], "dtype": name, "fill_value": fill, "compressor": None}
    return {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": str(path)},
        "metadata": metadata,
    }


@pytest.mark.parametrize(("fmt", "name"), [(3, n) for n in TS_V3] + [(2, n) for n in TS_V2])
def test_tensorstore_both_ways(tmp_path, fmt, name):
    dtype, want, fill = _ml(name)
    written = 4
    if name in TS_BAD_FILL:
        written, want[4:] = 6, [1, 2]
    ours = zarrkit.create_array(
        tmp_path / "kit",
        shape=(6,),
        chunks=(2,),
        dtype=name,
        fill_value=fill,
        zarr_format=fmt,
        compressors=None,
    )
    ours[:written] = want[:written]
    t = ts.open(
        {
            "driver": "zarr3" if fmt == 3 else "zarr",
            "kvstore": {"driver": "file", "path": str(tmp_path / "kit")},
        }
    ).result()
    assert t.dtype.name == name
    assert same(t.read().result(), want)

    t = ts.open(_ts_spec(tmp_path / "ts", fmt, name, fill), create=True).result()
    t[:written] = want[:written]
    theirs = zarrkit.open_array(tmp_path / "ts")
    assert theirs.dtype == dtype
    assert same(theirs[:], want)
    assert same(make(dtype, [theirs.fill_value]), make(dtype, [fill]))
    for key in ["c/0", "c/1"] if fmt == 3 else ["0", "1"]:
        assert (tmp_path / "kit" / key).read_bytes() == (tmp_path / "ts" / key).read_bytes()
