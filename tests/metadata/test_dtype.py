import math

import numpy as np
import pytest

from zarrkit.errors import MetadataError, UnknownDataTypeError
from zarrkit.metadata.dtypes import (
    V3_NUMERIC,
    dtype_to_v2,
    dtype_to_v3,
    fill_value_to_json,
    normalize_fill_value,
    parse_dtype_v2,
    parse_dtype_v3,
    parse_fill_value,
)


@pytest.mark.parametrize("name", sorted(V3_NUMERIC))
def test_v3_names_round_trip(name):
    dtype = parse_dtype_v3(name)
    assert dtype.byteorder in "=|"
    assert dtype_to_v3(dtype) == name


@pytest.mark.parametrize("text", ["<f8", ">i4", "|b1", "|u1", "<c16", ">f2", "<u8", "|i1"])
def test_v2_strings_keep_byte_order(text):
    dtype = parse_dtype_v2(text)
    assert dtype_to_v2(dtype) == text


@pytest.mark.parametrize("bad", ["float65", "", 3, None, {"name": "x"}])
def test_unknown_v3_dtype_names_the_field(bad):
    with pytest.raises(UnknownDataTypeError, match="data_type"):
        parse_dtype_v3(bad, key="a/zarr.json")


@pytest.mark.parametrize("bad", ["<q9", 5, "|O", None])
def test_unknown_v2_dtype(bad):
    with pytest.raises(UnknownDataTypeError):
        parse_dtype_v2(bad)


@pytest.mark.parametrize(
    ("data", "dtype", "expected"),
    [
        (0, "int8", 0),
        (-128, "int8", -128),
        (255, "uint8", 255),
        (True, "bool", True),
        (False, "bool", False),
        (1.5, "float32", 1.5),
        ("Infinity", "float64", math.inf),
        ("-Infinity", "float16", -math.inf),
        ("0x3ff0000000000000", "float64", 1.0),
        ("0x3f800000", "float32", 1.0),
        ("0x3c00", "float16", 1.0),
        ("0xff", "uint8", 255),
        ([1.0, -2.0], "complex64", 1 - 2j),
        (["NaN", "Infinity"], "complex128", complex(math.nan, math.inf)),
        (2.0, "int32", 2),
    ],
)
def test_fill_value_forms(data, dtype, expected):
    value = parse_fill_value(data, np.dtype(dtype))
    assert value.dtype == np.dtype(dtype)
    np.testing.assert_equal(value, expected)


def test_nan_fill_and_null():
    assert np.isnan(parse_fill_value("NaN", np.dtype("f4")))
    assert parse_fill_value(None, np.dtype("f4")) is None


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (256, "uint8"),
        (-1, "uint16"),
        (1.5, "int32"),
        ("NaN", "int8"),
        (1, "bool"),
        ("0x00", "float32"),
        ([1.0], "complex64"),
        ("abc", "float64"),
        (True, "int8"),
    ],
)
def test_bad_fill_values_raise_metadata_error(data, dtype):
    with pytest.raises(MetadataError, match="fill_value"):
        parse_fill_value(data, np.dtype(dtype), key="x/.zarray")


@pytest.mark.parametrize(
    ("value", "dtype", "json"),
    [
        (np.float64("nan"), "f8", "NaN"),
        (np.float32("inf"), "f4", "Infinity"),
        (np.float16("-inf"), "f2", "-Infinity"),
        (np.float64(0.5), "f8", 0.5),
        (np.int64(7), "i8", 7),
        (np.bool_(True), "?", True),
        (np.complex64(1 + 2j), "c8", [1.0, 2.0]),
        (None, "f8", None),
    ],
)
def test_fill_value_to_json(value, dtype, json):
    assert fill_value_to_json(value, np.dtype(dtype)) == json


def test_normalize_fill_value_checks_range():
    assert normalize_fill_value(None, np.dtype("i2")) == 0
    assert normalize_fill_value(3, np.dtype("f4")) == np.float32(3)
    with pytest.raises(MetadataError):
        normalize_fill_value(300, np.dtype("u1"))
