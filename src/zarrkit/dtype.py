"""Data types as zarr-python 3 names them (``zarr.dtype``): a class per kind of data type,
each instance standing for one NumPy dtype, with its JSON forms for Zarr v2 and v3 and
its scalars (fill values).

They are a view of zarrkit's data types (docs/data-types.md), accepted wherever a dtype
is (``create_array(dtype=Int16(endianness="big"))``); ``array.metadata.data_type`` gives
an array's, while ``array.dtype`` stays the NumPy dtype. The ``*JSON_V2``/``*JSON_V3``
names are the types of the JSON forms.

Examples
--------
>>> import numpy as np
>>> int8 = Int8.from_native_dtype(np.dtype("int8"))
>>> int8.to_json(zarr_format=3), int8.to_json_scalar(42, zarr_format=3)
('int8', 42)
>>> parse_dtype({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 10}},
...             zarr_format=3)
DateTime64(endianness='little', scale_factor=10, unit='s')
"""

from __future__ import annotations

from typing import Any, TypedDict

from zarrkit.errors import DataTypeValidationError
from zarrkit.metadata.dtypes.zdtype import (
    Bool,
    Complex64,
    Complex128,
    DateTime64,
    FixedLengthUTF32,
    Float16,
    Float32,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    NullTerminatedBytes,
    NumpyDType,
    RawBytes,
    Structured,
    TimeDelta64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    VariableLengthBytes,
    VariableLengthUTF8,
    ZDType,
    data_type_registry,
    parse_dtype,
)


class DTypeJSON_V2(TypedDict):
    """A v2 data type as the data type objects write it: the ``dtype`` field and, for
    ``"|O"``, the object codec that tells what the objects are."""

    name: Any
    object_codec_id: str | None


class NamedConfigJSON_V3(TypedDict):
    """A v3 data type with a configuration: ``{"name": ..., "configuration": {...}}``."""

    name: str
    configuration: dict[str, Any]


DateTime64JSON_V2 = TimeDelta64JSON_V2 = FixedLengthUTF32JSON_V2 = DTypeJSON_V2
NullterminatedBytesJSON_V2 = RawBytesJSON_V2 = StructuredJSON_V2 = DTypeJSON_V2
VariableLengthBytesJSON_V2 = VariableLengthUTF8JSON_V2 = DTypeJSON_V2
DateTime64JSON_V3 = TimeDelta64JSON_V3 = FixedLengthUTF32JSON_V3 = NamedConfigJSON_V3
NullTerminatedBytesJSON_V3 = RawBytesJSON_V3 = StructuredJSON_V3 = NamedConfigJSON_V3

__all__ = [
    "Bool",
    "Complex64",
    "Complex128",
    "DTypeJSON_V2",
    "DataTypeValidationError",
    "DateTime64",
    "DateTime64JSON_V2",
    "DateTime64JSON_V3",
    "FixedLengthUTF32",
    "FixedLengthUTF32JSON_V2",
    "FixedLengthUTF32JSON_V3",
    "Float16",
    "Float32",
    "Float64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "NamedConfigJSON_V3",
    "NullTerminatedBytes",
    "NullTerminatedBytesJSON_V3",
    "NullterminatedBytesJSON_V2",
    "NumpyDType",
    "RawBytes",
    "RawBytesJSON_V2",
    "RawBytesJSON_V3",
    "Structured",
    "StructuredJSON_V2",
    "StructuredJSON_V3",
    "TimeDelta64",
    "TimeDelta64JSON_V2",
    "TimeDelta64JSON_V3",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "VariableLengthBytes",
    "VariableLengthBytesJSON_V2",
    "VariableLengthUTF8",
    "VariableLengthUTF8JSON_V2",
    "ZDType",
    "data_type_registry",
    "parse_dtype",
]
