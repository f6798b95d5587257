"""Data types and fill values: Zarr JSON <-> NumPy, for v2 and v3.

v3 names (``"float64"``) map to native-order NumPy dtypes (byte order belongs to the
``bytes`` codec); v2 type strings (``"<f8"``, ``">i4"``, ``"|b1"``) keep their byte order.
Fill values are parsed from every JSON form the specs allow: numbers, booleans,
``"NaN"``/``"Infinity"``/``"-Infinity"``, ``"0x..."`` bit patterns and ``[re, im]`` pairs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError, UnknownDataTypeError

JSON = Any

#: v3 core data type names -> NumPy type strings (native order).
V3_NUMERIC = {
    "bool": "bool",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "complex64": "complex64",
    "complex128": "complex128",
}
_V3_BY_NUMPY = {np.dtype(v).str[1:]: k for k, v in V3_NUMERIC.items()}
_NUMERIC_KINDS = "biufc"


def normalize_dtype(dtype: Any) -> np.dtype[Any]:
    """A NumPy dtype from anything ``np.dtype`` accepts, or a v3 data type name."""
    if isinstance(dtype, str) and dtype in V3_NUMERIC:
        return np.dtype(V3_NUMERIC[dtype])
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise UnknownDataTypeError(f"not a data type: {dtype!r}", field="dtype") from e


def parse_dtype_v3(data: JSON, *, key: str | None = None) -> np.dtype[Any]:
    """The NumPy dtype of a v3 ``data_type`` field."""
    if isinstance(data, str) and data in V3_NUMERIC:
        return np.dtype(V3_NUMERIC[data])
    raise UnknownDataTypeError(
        f"unsupported data type {data!r}; supported: {', '.join(V3_NUMERIC)}",
        key=key,
        field="data_type",
    )


def dtype_to_v3(dtype: np.dtype[Any]) -> JSON:
    """The v3 ``data_type`` JSON of ``dtype``."""
    name = _V3_BY_NUMPY.get(dtype.str[1:]) if dtype.kind in _NUMERIC_KINDS else None
    if name is None:
        raise UnknownDataTypeError(f"data type {dtype} has no Zarr v3 name", field="data_type")
    return name


def parse_dtype_v2(data: JSON, *, key: str | None = None) -> np.dtype[Any]:
    """The NumPy dtype of a v2 ``dtype`` field (byte order kept)."""
    if not isinstance(data, str):
        raise UnknownDataTypeError(f"unsupported v2 dtype {data!r}", key=key, field="dtype")
    try:
        dtype = np.dtype(data)
    except TypeError as e:
        raise UnknownDataTypeError(f"invalid v2 dtype {data!r}", key=key, field="dtype") from e
    if dtype.kind not in _NUMERIC_KINDS:
        raise UnknownDataTypeError(f"unsupported v2 dtype {data!r}", key=key, field="dtype")
    return dtype


def dtype_to_v2(dtype: np.dtype[Any]) -> str:
    """The v2 ``dtype`` string of ``dtype`` (``"<f8"``, ``"|b1"`` ...)."""
    if dtype.kind not in _NUMERIC_KINDS:
        raise UnknownDataTypeError(f"data type {dtype} has no Zarr v2 form", field="dtype")
    return dtype.str


# --- fill values ---------------------------------------------------------------------------

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def default_fill_value(dtype: np.dtype[Any]) -> Any:
    """The fill value used when none is given: zero of the dtype (``False`` for bool)."""
    return np.zeros((), dtype=dtype)[()]


def parse_fill_value(
    data: JSON, dtype: np.dtype[Any], *, key: str | None = None, field: str = "fill_value"
) -> Any:
    """A NumPy scalar of ``dtype`` from its JSON form (``None`` only passes through for v2)."""
    if data is None:
        return None
    try:
        return _parse_scalar(data, dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise MetadataError(
            f"fill value {data!r} is not valid for data type {dtype}: {e}", key=key, field=field
        ) from e


def _parse_scalar(data: JSON, dtype: np.dtype[Any]) -> Any:
    kind = dtype.kind
    if kind == "b":
        if not isinstance(data, bool):
            raise TypeError("expected true or false")
        return np.bool_(data)
    if kind in "iu":
        if isinstance(data, str) and data.startswith("0x"):
            return _from_hex(data, dtype)
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise TypeError("expected an integer")
        if isinstance(data, float) and not data.is_integer():
            raise ValueError("expected an integer")
        info = np.iinfo(dtype)
        if not info.min <= int(data) <= info.max:
            raise OverflowError(f"out of range [{info.min}, {info.max}]")
        return dtype.type(int(data))
    if kind == "f":
        return _parse_float(data, dtype)
    if kind == "c":
        if not isinstance(data, list | tuple) or len(data) != 2:
            raise TypeError("expected a [real, imaginary] pair")
        part = np.dtype(f"{dtype.byteorder}f{dtype.itemsize // 2}")
        return dtype.type(complex(_parse_float(data[0], part), _parse_float(data[1], part)))
    raise TypeError(f"no fill value form for data type kind {kind!r}")


def _parse_float(data: JSON, dtype: np.dtype[Any]) -> Any:
    if isinstance(data, str):
        if data in _SPECIAL_FLOATS:
            return dtype.type(_SPECIAL_FLOATS[data])
        if data.startswith("0x"):
            return _from_hex(data, dtype)
        raise ValueError("expected a number, 'NaN', 'Infinity', '-Infinity' or '0x...'")
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise TypeError("expected a number")
    return dtype.type(data)


def _from_hex(data: str, dtype: np.dtype[Any]) -> Any:
    raw = bytes.fromhex(data[2:])
    if len(raw) != dtype.itemsize:
        raise ValueError(f"hex fill value needs {dtype.itemsize} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=dtype.newbyteorder(">"))[0].astype(dtype)


def fill_value_to_json(value: Any, dtype: np.dtype[Any]) -> JSON:
    """The JSON form zarr-python writes for ``value`` (``None`` stays ``None``)."""
    if value is None:
        return None
    kind = dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        return int(value)
    if kind == "f":
        return _float_to_json(float(value))
    if kind == "c":
        value = complex(value)
        return [_float_to_json(value.real), _float_to_json(value.imag)]
    raise UnknownDataTypeError(f"no fill value form for data type {dtype}", field="fill_value")


def _float_to_json(value: float) -> JSON:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def normalize_fill_value(value: Any, dtype: np.dtype[Any]) -> Any:
    """A user-given fill value as a NumPy scalar of ``dtype`` (``None`` -> default)."""
    if value is None:
        return default_fill_value(dtype)
    if isinstance(value, str | list | tuple):
        return parse_fill_value(value, dtype)
    try:
        scalar = np.asarray(value).astype(dtype, casting="unsafe")
    except (TypeError, ValueError) as e:
        raise MetadataError(
            f"fill value {value!r} cannot be cast to {dtype}", field="fill_value"
        ) from e
    if dtype.kind in "iu" and not _same_number(value, scalar[()]):
        raise MetadataError(f"fill value {value!r} does not fit {dtype}", field="fill_value")
    return scalar[()]


def _same_number(value: Any, cast: Any) -> bool:
    try:
        return bool(np.asarray(value) == cast)
    except (TypeError, ValueError):
        return False
