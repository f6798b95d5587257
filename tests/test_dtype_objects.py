"""zarrkit.dtype: zarr-python's data type objects, each a view of a NumPy dtype, checked
against zarr-python 3.1.6's own."""

import json
import warnings

import numpy as np
import pytest
from optional import needs, optional

import zarrkit
from zarrkit import dtype as zd
from zarrkit.errors import DataTypeValidationError, MetadataError

zarr = optional("zarr")
zarr_dtype = optional("zarr.dtype")
# zarr-python warns that several v3 data types have no specification yet
pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3")

#: (NumPy dtype, scalars to write as JSON)
CASES = [
    ("?", [True]),
    ("i1", [-5]),
    ("u1", [200]),
    (">i2", [-300]),
    ("<i4", [7]),
    ("i8", [2**40]),
    ("<u2", [65535]),
    (">u4", [1]),
    ("u8", [2**63]),
    ("f2", [1.5, float("nan")]),
    (">f4", [float("inf")]),
    ("<f8", [-0.25, float("-inf")]),
    ("c8", [1 + 2j]),
    (">c16", [complex("nan+1j")]),
    ("<U5", ["héllo"]),
    (">U2", ["ab"]),
    ("S4", [b"ab"]),
    ("V3", [b"\x00\x01\x02"]),
    (">M8[s]", [np.datetime64("2020-01-01T00:00:00")]),
    (">M8[10s]", []),
    ("<M8", []),
    ("m8[ms]", [np.timedelta64(5, "ms")]),
    (np.dtypes.StringDType(), ["text"]),
    ([("a", "<f8"), ("b", "<i2")], [(1.5, 2)]),
    ([("a", "<f8"), ("b", ">i2")], []),  # v3 records are little-endian (docs/data-types.md)
    ([("a", "<f8"), ("b", [("c", "i1")])], []),
]
IDS = [str(c[0]) for c in CASES]


def theirs(dtype, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr_dtype.parse_dtype(dtype, zarr_format=fmt)


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize(("dtype", "scalars"), CASES, ids=IDS)
def test_same_object_json_and_scalars_as_zarr_python(dtype, scalars, fmt):
    ours, other = zd.parse_dtype(dtype, zarr_format=fmt), theirs(dtype, fmt)
    assert repr(ours) == repr(other)
    assert ours.to_native_dtype() == other.to_native_dtype()
    try:
        expected = json.loads(json.dumps(other.to_json(zarr_format=fmt)))
    except ValueError:  # zarr-python cannot write every v3 type (big-endian record fields)
        expected = None
    if expected is not None:
        assert ours.to_json(zarr_format=fmt) == expected
        assert type(ours).from_json(expected, zarr_format=fmt).to_json(fmt) == expected
    assert_same(ours.default_scalar(), other.default_scalar())
    for scalar in scalars:
        written = ours.to_json_scalar(scalar, zarr_format=fmt)
        assert written == json.loads(json.dumps(other.to_json_scalar(scalar, zarr_format=fmt)))
        assert_same(
            ours.from_json_scalar(written, zarr_format=fmt),
            other.from_json_scalar(written, zarr_format=fmt),
        )


def assert_same(a, b):
    assert type(a) is type(b) or np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_scaled_datetime_scalars():
    # zarr-python 3.1.6 writes np.datetime64("2020-01-01") for M8[10s] as 1577836800 (in
    # seconds, the scale factor ignored); zarrkit writes the count of 10 s units
    scaled = zd.DateTime64(unit="s", scale_factor=10)
    moment = np.datetime64("2020-01-01T00:00:00")
    assert scaled.to_json_scalar(moment, zarr_format=3) == 157783680
    assert scaled.from_json_scalar(157783680, zarr_format=3) == moment


def test_variable_length_bytes():
    # zarrkit writes the registry's v3 name "bytes" (zarr-python reads it too, see
    # docs/data-types.md); everything else is zarr-python's
    ours, other = zd.VariableLengthBytes(), zarr_dtype.VariableLengthBytes()
    assert ours.to_json(zarr_format=2) == other.to_json(zarr_format=2)
    assert ours.to_json(zarr_format=3) == "bytes"
    assert zd.VariableLengthBytes.from_json("variable_length_bytes", zarr_format=3) == ours
    assert ours.default_scalar() == other.default_scalar() == b""
    assert ours.to_json_scalar(b"ab", zarr_format=3) == other.to_json_scalar(b"ab", zarr_format=3)


def test_the_names_of_zarr_dtype():
    needs("zarr")
    assert [n for n in zarr_dtype.__all__ if not hasattr(zd, n)] == []
    assert sorted(zd.data_type_registry.contents) == sorted(zarr_dtype.data_type_registry.contents)
    assert zd.data_type_registry.get("int16") is zd.Int16
    assert zd.data_type_registry.match_dtype(">f4") == zd.Float32(endianness="big")
    assert zd.data_type_registry.match_json("uint8", zarr_format=3) == zd.UInt8()


def test_wrong_kinds_are_refused():
    with pytest.raises(DataTypeValidationError, match="not a Int16"):
        zd.Int16.from_native_dtype(np.dtype("f4"))
    with pytest.raises(DataTypeValidationError):
        zd.Int16.from_json("int32", zarr_format=3)
    with pytest.raises(DataTypeValidationError):
        zd.DateTime64(unit="fortnight")
    with pytest.raises(DataTypeValidationError, match="ambiguous"):
        zd.parse_dtype("O", zarr_format=3)
    with pytest.raises(MetadataError):
        zd.Int8().cast_scalar(1000)
    with pytest.raises(DataTypeValidationError):
        zd.Int8().from_json_scalar("x", zarr_format=3)
    assert issubclass(DataTypeValidationError, ValueError)


def test_an_array_reports_its_data_type(tmp_path):
    a = zarrkit.create_array(tmp_path / "a", shape=(3,), dtype=zd.Int16(endianness="big"))
    assert a.dtype == np.dtype("int16")  # v3: native order, the bytes codec keeps the order
    assert a.metadata.data_type == zd.Int16()
    b = zarrkit.create_array(tmp_path / "b", shape=(3,), dtype=">i2", zarr_format=2)
    assert b.dtype == np.dtype(">i2") and b.metadata.data_type == zd.Int16(endianness="big")
    records = zarrkit.create_array(tmp_path / "c", shape=(2,), dtype=[("a", "f8"), ("b", "i8")])
    assert records.metadata.data_type == zd.Structured(
        fields=(("a", zd.Float64()), ("b", zd.Int64()))
    )
    strings = zarrkit.create_array(tmp_path / "d", shape=(2,), dtype=zd.VariableLengthUTF8())
    strings[:] = ["x", "yz"]
    assert strings.metadata.data_type == zd.VariableLengthUTF8()
    assert list(zarrkit.open_array(tmp_path / "d")[:]) == ["x", "yz"]


def test_zarr_pythons_objects_are_accepted_as_dtypes():
    spec = zarr_dtype.DateTime64(unit="s", scale_factor=10)
    a = zarrkit.create_array({}, shape=(2,), dtype=spec)
    assert a.dtype == np.dtype("M8[10s]")
    assert a.metadata.data_type == zd.DateTime64(unit="s", scale_factor=10)


def test_types_zarr_python_has_no_class_for():
    needs("ml_dtypes")
    import ml_dtypes

    a = zarrkit.create_array({}, shape=(2,), dtype="bfloat16")
    assert a.metadata.data_type == zd.NumpyDType(dtype=np.dtype(ml_dtypes.bfloat16))
    assert a.metadata.data_type.to_json(zarr_format=3) == "bfloat16"
    sub = np.dtype([("a", "<i4", (2,))])
    assert zd.parse_dtype(sub, zarr_format=2).fields[0][1] == zd.NumpyDType(dtype=sub["a"])


def test_the_guide_import_path():
    from zarrkit.core.dtype import Int8

    assert Int8 is zd.Int8
