"""Data types beyond the numeric core: JSON forms, fill values, codecs, arrays (no peers;
those are in test_dtypes_interop.py)."""

import builtins

import numpy as np
import pytest
from optional import available, needs, optional

import zarrkit
from zarrkit.codecs.base import ChunkSpec, all_fill
from zarrkit.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrkit.errors import CodecError, MetadataError, UnknownDataTypeError
from zarrkit.metadata.dtypes import (
    ML_TYPES,
    default_fill_value,
    dtype_to_v2,
    dtype_to_v3,
    family,
    fill_value_to_json,
    ml,
    normalize_dtype,
    normalize_fill_value,
    object_codec_id,
    parse_dtype_v2,
    parse_dtype_v3,
    parse_fill_value,
)
from zarrkit.storage.memory import MemoryStore

ml_dtypes = optional("ml_dtypes")
#: Whether the ml_dtypes types can be tested (False only in the no-extras job), and the
#: case that stands for them where they cannot.
ML = available("ml_dtypes")
SKIP_ML = pytest.mark.skip(reason="needs ml_dtypes, which is not installed (zarrkit[ml])")


STRUCT = np.dtype([("a", "<i4"), ("b", "<f8")])

# --- data type JSON -------------------------------------------------------------------------

V3_FORMS = [
    ("string", np.dtypes.StringDType()),
    ("bytes", np.dtype("O")),
    ({"name": "fixed_length_utf32", "configuration": {"length_bytes": 20}}, np.dtype("U5")),
    ({"name": "null_terminated_bytes", "configuration": {"length_bytes": 5}}, np.dtype("S5")),
    ({"name": "raw_bytes", "configuration": {"length_bytes": 2}}, np.dtype("V2")),
    (
        {"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}},
        np.dtype("M8[ns]"),
    ),
    (
        {"name": "numpy.timedelta64", "configuration": {"unit": "s", "scale_factor": 10}},
        np.dtype("m8[10s]"),
    ),
    (
        {"name": "structured", "configuration": {"fields": [["a", "int32"], ["b", "float64"]]}},
        STRUCT,
    ),
    *(
        [
            ("bfloat16", np.dtype(ml_dtypes.bfloat16)),
            ("int4", np.dtype(ml_dtypes.int4)),
            ("complex_float16", np.dtype(ml_dtypes.complex32)),
        ]
        if ML
        else [pytest.param("ml_dtypes", None, marks=SKIP_ML)]
    ),
]


@pytest.mark.parametrize(("data", "dtype"), V3_FORMS, ids=lambda x: str(x)[:40])
def test_v3_forms_round_trip(data, dtype):
    parsed = parse_dtype_v3(data)
    assert parsed == dtype
    assert dtype_to_v3(parsed) == data
    assert dtype_to_v3(normalize_dtype(data)) == data


@pytest.mark.parametrize("name", sorted(ML_TYPES))
def test_every_ml_type_round_trips(name):
    needs("ml_dtypes")
    dtype = parse_dtype_v3(name)
    assert dtype == np.dtype(getattr(ml_dtypes, ML_TYPES[name]))
    assert dtype_to_v3(dtype) == name
    assert parse_dtype_v2(dtype_to_v2(dtype)) == dtype  # tensorstore's v2 spelling


@pytest.mark.parametrize(
    "data",
    [
        "r16",
        "variable_length_bytes",
        "complex_float32",
        {"name": "float64"},
        {"name": "numpy.datetime64", "configuration": {"unit": "μs", "scale_factor": 1}},
        {
            "name": "struct",
            "configuration": {
                "fields": [
                    {
                        "name": "t",
                        "data_type": {
                            "name": "numpy.datetime64",
                            "configuration": {"unit": "s", "scale_factor": 1},
                        },
                    },
                    {"name": "v", "data_type": "float32"},
                ]
            },
        },
    ],
)
def test_other_spellings_are_kept(data):
    """A dtype read with a spelling zarrkit does not write itself is written back as read."""
    assert dtype_to_v3(parse_dtype_v3(data)) == data


def test_spelling_decides_the_dtype():
    assert parse_dtype_v3("r16") == np.dtype("V2")
    assert parse_dtype_v3("complex_float32") == np.dtype("c8")
    assert parse_dtype_v3(
        {"name": "numpy.datetime64", "configuration": {"unit": "μs", "scale_factor": 5}}
    ) == np.dtype("M8[5us]")
    struct = parse_dtype_v3(
        {
            "name": "struct",
            "configuration": {
                "fields": [
                    {
                        "name": "p",
                        "data_type": {
                            "name": "struct",
                            "configuration": {"fields": [{"name": "x", "data_type": "float32"}]},
                        },
                    },
                    {"name": "v", "data_type": "uint8"},
                ]
            },
        }
    )
    assert struct == np.dtype([("p", [("x", "<f4")]), ("v", "u1")])
    assert struct.itemsize == 5  # packed, no padding


@pytest.mark.parametrize(
    "bad",
    [
        "r12",
        {"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}},
        {"name": "null_terminated_bytes", "configuration": {"length_bytes": 0}},
        {"name": "raw_bytes", "configuration": {}},
        {"name": "numpy.datetime64", "configuration": {"unit": "fortnight", "scale_factor": 1}},
        {"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 0}},
        {"name": "struct", "configuration": {"fields": []}},
        {"name": "struct", "configuration": {"fields": [["a", "int8"], ["a", "int8"]]}},
        {"name": "struct", "configuration": {"fields": [["a", "string"]]}},
        {"name": "complex_float8_e4m3", "configuration": {}},
        {"name": "int8", "configuration": {}, "extra": 1},
    ],
    ids=str,
)
def test_bad_v3_data_types_name_the_field(bad):
    with pytest.raises(UnknownDataTypeError, match="data_type"):
        parse_dtype_v3(bad, key="a/zarr.json")


def test_v3_refuses_what_it_cannot_spell():
    with pytest.raises(UnknownDataTypeError, match="dtype=str or dtype=bytes"):
        dtype_to_v3(np.dtype("O"))
    with pytest.raises(UnknownDataTypeError, match="little-endian"):
        dtype_to_v3(np.dtype([("a", ">i4")]))
    with pytest.raises(UnknownDataTypeError, match="sub-arrays"):
        dtype_to_v3(np.dtype([("a", "<i4", (2,))]))


def test_missing_ml_dtypes_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ml(name, *args, **kwargs):
        if name == "ml_dtypes":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ml)
    with pytest.raises(UnknownDataTypeError, match=r"pip install zarrkit\[ml\]"):
        ml.ml_dtype("bfloat16")


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        ("<M8[ns]", np.dtype("<M8[ns]")),
        (">m8[s]", np.dtype(">m8[s]")),
        ("<U12", np.dtype("<U12")),
        ("|S4", np.dtype("S4")),
        ("|V2", np.dtype("V2")),
        ([["a", "<i4"], ["b", ">f8"]], np.dtype([("a", "<i4"), ("b", ">f8")])),
        (
            [["a", "<i4", [2, 3]], ["n", [["c", "|u1"]]]],
            np.dtype([("a", "<i4", (2, 3)), ("n", [("c", "u1")])]),
        ),
        ("bfloat16", np.dtype(ml_dtypes.bfloat16))
        if ML
        else pytest.param("bfloat16", None, marks=SKIP_ML),
    ],
    ids=str,
)
def test_v2_forms_round_trip(data, dtype):
    parsed = parse_dtype_v2(data)
    assert parsed == dtype
    assert dtype_to_v2(parsed) == data


@pytest.mark.parametrize(
    ("codec", "dtype_family"),
    [("vlen-utf8", "string"), ("vlen-bytes", "vlen_bytes"), ("json2", "object")],
)
def test_v2_objects_are_typed_by_their_object_codec(codec, dtype_family):
    dtype = parse_dtype_v2("|O", filters=({"id": codec},))
    assert family(dtype) == dtype_family
    assert dtype_to_v2(dtype) == "|O"


@pytest.mark.parametrize("bad", ["|S0", "<U0", [["a", "|O"]], [["a"]], "|O"], ids=str)
def test_bad_v2_dtypes(bad):
    with pytest.raises(UnknownDataTypeError):
        parse_dtype_v2(bad, key="x/.zarray")


def test_normalize_dtype_inputs():
    assert normalize_dtype(str) == np.dtypes.StringDType()
    assert normalize_dtype("str") == np.dtypes.StringDType()
    assert family(normalize_dtype(bytes)) == "vlen_bytes"
    assert normalize_dtype("r24") == np.dtype("V3")
    assert normalize_dtype([["a", "<i4"], ["b", "<f8"]]) == STRUCT
    assert normalize_dtype(ml_dtypes.float8_e5m2) == np.dtype(ml_dtypes.float8_e5m2)
    assert normalize_dtype("int4") == np.dtype(ml_dtypes.int4)
    assert object_codec_id(normalize_dtype(str)) == "vlen-utf8"
    assert object_codec_id(normalize_dtype(bytes)) == "vlen-bytes"
    assert object_codec_id(np.dtype("f8")) is None
    with pytest.raises(UnknownDataTypeError):
        normalize_dtype("U")  # zero-length text
    with pytest.raises(UnknownDataTypeError):
        normalize_dtype([("a", object)])


# --- fill values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype", "expected"),
    [
        ("NaT", "M8[ns]", np.datetime64("NaT", "ns")),
        (-(2**63), "M8[ns]", np.datetime64("NaT", "ns")),
        (86400, "M8[s]", np.datetime64("1970-01-02", "s")),
        (5, "m8[10s]", np.timedelta64(5, "10s")),
        ("abc", "U5", "abc"),
        ("YWI=", "S3", b"ab"),
        ([97, 98], "S3", b"ab"),
        ("eno=", "V2", np.void(b"zz")),
        ("AQAAAAAAAAAAAARA", STRUCT, np.array((1, 2.5), STRUCT)[()]),
        ({"a": 1, "b": "NaN"}, STRUCT, np.array((1, np.nan), STRUCT)[()]),
        ("0x3fc0", "bfloat16", 1.5),
        ("NaN", "bfloat16", np.nan),
        (-8, "int4", -8),
        ("0x0f", "int4", -1),
        ([1.5, -2], "complex_float16", 1.5 - 2j),
        (6.0, "float4_e2m1fn", 6.0),
    ],
    ids=str,
)
def test_fill_value_forms(data, dtype, expected):
    dtype = normalize_dtype(dtype)
    value = parse_fill_value(data, dtype)
    assert np.asarray(value, dtype=dtype).tobytes() == np.asarray(expected, dtype=dtype).tobytes()


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        ("NaN", "float4_e2m1fn"),  # no NaN
        ("Infinity", "float8_e4m3fn"),  # no infinity
        (8, "int4"),
        (-1, "uint4"),
        ("abcdef", "U5"),
        ("!!", "S3"),  # not base64
        ("YWJjZA==", "S3"),  # 4 bytes
        ("AAA=", "V3"),
        ([1, 2, 3], "r16"),
        ({"a": 1}, STRUCT),
        ("x", "M8[s]"),
        (1.5, "m8[s]"),
        (3, "string"),
    ],
    ids=str,
)
def test_bad_fill_values(data, dtype):
    with pytest.raises(MetadataError, match="fill_value"):
        parse_fill_value(data, normalize_dtype(dtype), key="a/zarr.json")


@pytest.mark.parametrize(
    ("value", "dtype", "v3", "v2"),
    [
        (np.datetime64("NaT", "ns"), "M8[ns]", -(2**63), -(2**63)),
        ("q", "U3", "q", "q"),
        (b"ab", "S3", "YWI=", "YWI="),
        (b"ab", bytes, "YWI=", "YWI="),
        ("zz", str, "zz", "zz"),
        (b"\x01\x02", "r16", [1, 2], "AQI="),
        (b"\x01\x02", "V2", "AQI=", "AQI="),
        ((1, 2.5), STRUCT, "AQAAAAAAAAAAAARA", "AQAAAAAAAAAAAARA"),
        (np.nan, "bfloat16", "NaN", "NaN"),
        (-3, "int4", -3, -3),
    ],
    ids=str,
)
def test_fill_value_json_by_format(value, dtype, v3, v2):
    dtype = normalize_dtype(dtype)
    fill = normalize_fill_value(value, dtype)
    assert fill_value_to_json(fill, dtype) == v3
    assert fill_value_to_json(fill, dtype, zarr_format=2) == v2
    again = parse_fill_value(v3, dtype)
    assert fill_value_to_json(again, dtype) == v3


def test_v2_reads_zarr2_text_fill_of_zero():
    """zarr-python 2 wrote ``0`` as the fill value of text arrays; it reads back as "0"."""
    assert parse_fill_value(0, np.dtype("U3"), zarr_format=2) == "0"
    with pytest.raises(MetadataError):
        parse_fill_value(0, np.dtype("U3"))


def test_struct_spelling_writes_object_fill():
    dtype = parse_dtype_v3(
        {
            "name": "struct",
            "configuration": {
                "fields": [
                    {"name": "x", "data_type": "float32"},
                    {"name": "n", "data_type": "int8"},
                ]
            },
        }
    )
    fill = normalize_fill_value({"x": 1.5, "n": -1}, dtype)
    assert fill_value_to_json(fill, dtype) == {"x": 1.5, "n": -1}
    assert fill_value_to_json(fill, dtype, zarr_format=2) == "AADAP/8="


def test_nested_struct_fill_is_a_nested_object():
    field = {"name": "struct", "configuration": {"fields": [{"name": "x", "data_type": "int8"}]}}
    dtype = parse_dtype_v3(
        {"name": "struct", "configuration": {"fields": [{"name": "p", "data_type": field}]}}
    )
    fill = parse_fill_value({"p": {"x": -2}}, dtype)
    assert fill_value_to_json(fill, dtype) == {"p": {"x": -2}}


def test_defaults():
    assert np.isnat(default_fill_value(np.dtype("M8[s]")))
    assert default_fill_value(np.dtypes.StringDType()) == ""
    assert default_fill_value(normalize_dtype(bytes)) == b""
    assert default_fill_value(np.dtype("U3")) == ""
    assert default_fill_value(STRUCT).tobytes() == bytes(12)
    assert default_fill_value(np.dtype("O")) is None


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(3, "U3"), ("abcd", "U3"), ("x", "S3"), ("x", bytes), (b"abc", "V2"), (16, "int4")],
    ids=str,
)
def test_normalize_fill_value_checks(value, dtype):
    if dtype == "int4":
        needs("ml_dtypes")
    with pytest.raises(MetadataError, match="fill_value"):
        normalize_fill_value(value, normalize_dtype(dtype))


# --- empty chunks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunk", "fill", "expected"),
    [
        (np.zeros(3, STRUCT), np.zeros((), STRUCT)[()], True),
        (np.array([(0, np.nan)] * 2, STRUCT), np.array((0, np.nan), STRUCT)[()], True),
        (np.array([(1, 0.0), (0, 0.0)], STRUCT), np.zeros((), STRUCT)[()], False),
        (np.full(2, np.datetime64("NaT"), "M8[s]"), np.datetime64("NaT"), True),
        (np.array(["NaT", "1970"], "M8[s]"), np.datetime64("NaT"), False),
        (np.full(2, np.nan, ml_dtypes.bfloat16), ml_dtypes.bfloat16(np.nan), True)
        if ML
        else pytest.param(None, None, True, marks=SKIP_ML),
        (np.array(["", ""], dtype=object), "", True),
        (np.array(["", "x"], np.dtypes.StringDType()), "", False),
        (np.zeros(2, "V2"), np.void(b"\0\0"), True),
        # numbers: the first element decides only when it differs
        (np.array([0.0, -0.0], "f4"), np.float32(-0.0), True),
        (np.array([0, 1], "u8"), 0, False),
        (np.array([1, 0], "i2"), 0, False),
        (np.full(2, 1 + 1j), 1 + 1j, True),
        (np.zeros(0, "f8"), 0.0, True),
    ],
)
def test_all_fill_other_kinds(chunk, fill, expected):
    assert all_fill(chunk, fill) is expected


# --- vlen codecs ----------------------------------------------------------------------------


def test_vlen_layout_and_errors():
    spec = ChunkSpec(shape=(2, 2), dtype=np.dtypes.StringDType(), fill_value="")
    codec = VLenUTF8Codec()
    chunk = np.array([["a", "é"], ["", "xyz"]], dtype=spec.dtype)
    blob = bytes(codec.encode(chunk, spec))
    assert blob[:8] == b"\x04\x00\x00\x00\x01\x00\x00\x00"
    decoded = codec.decode(blob, spec)
    assert decoded.dtype == spec.dtype
    assert (decoded == chunk).all()
    with pytest.raises(CodecError, match="holds 4 items, expected 6"):
        codec.decode(blob, ChunkSpec(shape=(6,), dtype=spec.dtype, fill_value=""))
    with pytest.raises(CodecError, match="holds 1000000000 items"):
        codec.decode((10**9).to_bytes(4, "little") + b"\0" * 8, spec)
    with pytest.raises(MetadataError, match="vlen-bytes"):
        VLenBytesCodec().validate(spec)


# --- arrays ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(
    ("dtype", "values", "fill"),
    [
        (str, ["a", "bcd", "", "é"], "zz"),
        (bytes, [b"a", b"b\x00c", b"", b"x"], b"zz"),
        ("U3", ["a", "bc", "", "x"], "q"),
        ("S3", [b"a", b"bc", b"", b"x"], b"q"),
        ("M8[ns]", ["2020-01-01", "NaT", "1970-01-01", "2000-01-01"], None),
        ("m8[10s]", [1, 2, 3, 4], 7),
        (STRUCT, [(1, 2.5), (3, 4.0), (0, 0), (5, 6)], (7, 1.5)),
        ("r16", [b"ab", b"cd", b"\0\0", b"ef"], b"zz"),
        ("bfloat16", [1.5, -2, 0, 3], "NaN"),
        ("float8_e4m3fn", [1, 2, 0.5, 0], 1),
        ("float4_e2m1fn", [1, -6, 0.5, 0], 0.5),
        ("int4", [-8, 7, 0, 1], -1),
        ("uint2", [3, 2, 1, 0], 3),
    ],
    ids=str,
)
def test_arrays_of_every_type(dtype, values, fill, zarr_format):
    store = MemoryStore()
    codecs = {"serializer": "vlen-bytes"} if dtype is bytes and zarr_format == 3 else {}
    if dtype is bytes and zarr_format == 2:
        codecs = {"filters": [{"id": "vlen-bytes"}]}
    a = zarrkit.create_array(
        store,
        shape=(6,),
        chunks=(2,),
        dtype=dtype,
        fill_value=fill,
        zarr_format=zarr_format,
        **codecs,
    )
    data = np.empty(4, dtype=a.dtype)
    data[:] = [np.void(v) for v in values] if family(a.dtype) == "raw" else values
    a[:4] = data
    b = zarrkit.open_array(store)
    got = b[:]
    assert got.dtype == a.dtype
    fill_value = b.fill_value if b.fill_value is not None else default_fill_value(b.dtype)
    expected = np.concatenate([data, np.full(2, fill_value, dtype=a.dtype)])
    assert _same(got, expected)
    last = "c/2" if zarr_format == 3 else "2"
    assert store.get(last) is None
    a[4:] = expected[4:]  # writing the fill value stores nothing
    assert store.get(last) is None
    a[5] = data[3]
    assert store.get(last) is not None


def _same(a, b):
    if a.dtype.kind in "OT":
        return list(a) == list(b)
    return a.tobytes() == b.tobytes()


def test_structured_fields_read_through_numpy():
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(3,), dtype=STRUCT)
    a[:] = np.array([(i, i / 2) for i in range(4)], STRUCT)
    assert a[1:3]["b"].tolist() == [0.5, 1.0]


def test_object_v3_needs_a_choice():
    with pytest.raises(UnknownDataTypeError, match="dtype=str or dtype=bytes"):
        zarrkit.create_array(MemoryStore(), shape=(2,), dtype=object)


@pytest.mark.parametrize("shape", [(0,), (2,)])
def test_object_v2_needs_an_object_codec(shape):
    # metadata '|O' without an object codec is readable by no one: refused, nothing written
    store = MemoryStore()
    group = zarrkit.open_group(store, mode="w", zarr_format=2)
    with pytest.raises(MetadataError, match="object codec") as caught:
        group.create_array("a", shape=shape, dtype=object)
    assert caught.value.field == "filters"
    assert "a" not in group
    group.create_array("b", shape=shape, dtype=object, filters=[{"id": "json2"}])
    assert zarrkit.open_array(store, path="b").filters[0].codec_id == "json2"
