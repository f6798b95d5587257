"""Zarr v3 ``data_type`` JSON <-> NumPy dtypes.

Core types (``"float64"``, ``"r16"``) and the registered extensions zarr-python 3.1 and
tensorstore write: ``string``, ``bytes``, ``fixed_length_utf32``, ``null_terminated_bytes``,
``raw_bytes``, ``numpy.datetime64``/``numpy.timedelta64``, ``struct``/``structured`` and the
ml_dtypes types. v3 dtypes are native-order (byte order belongs to the ``bytes`` codec).
Where one NumPy dtype has several spellings, zarrkit writes zarr-python 3.1.6's (which
reads nothing else), except ``bytes``, which zarr-python reads too:

>>> dtype_to_v3(parse_dtype_v3({"name": "numpy.datetime64",
...                             "configuration": {"unit": "ns", "scale_factor": 1}}))
{'name': 'numpy.datetime64', 'configuration': {'unit': 'ns', 'scale_factor': 1}}
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from zarrkit.errors import UnknownDataTypeError
from zarrkit.metadata.dtypes.kinds import JSON, VLEN_BYTES, spelled, spelling, vlen_bytes_dtype
from zarrkit.metadata.dtypes.ml import ML_TYPES, ml_dtype, ml_name

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
_ALIASES = {"complex_float32": "complex64", "complex_float64": "complex128"}
_FIXED = {"fixed_length_utf32": "U", "null_terminated_bytes": "S", "raw_bytes": "V"}
_FIXED_NAME = {kind: name for name, kind in _FIXED.items()}
_TIME = {"numpy.datetime64": "M", "numpy.timedelta64": "m"}
_TIME_NAME = {kind: name for name, kind in _TIME.items()}
_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as", "generic")
_RAW = re.compile(r"r([1-9][0-9]*)")
_STRUCTS = ("struct", "structured")
_NAMES = (
    *V3_NUMERIC,
    *_ALIASES,
    "string",
    *VLEN_BYTES,
    *_FIXED,
    *_TIME,
    *_STRUCTS,
    "r<bits>",
    *ML_TYPES,
)


def is_v3_name(data: object) -> bool:
    """Whether ``data`` is a v3 data type name (a string) zarrkit knows."""
    return isinstance(data, str) and (data in _NAMES or _RAW.fullmatch(data) is not None)


def parse_dtype_v3(data: JSON, *, key: str | None = None) -> np.dtype[Any]:
    """The NumPy dtype of a v3 ``data_type`` field."""
    try:
        dtype = _parse(data, key)
    except (TypeError, ValueError, KeyError) as e:
        if isinstance(e, UnknownDataTypeError):
            raise
        raise UnknownDataTypeError(
            f"invalid data type {data!r}: {e}", key=key, field="data_type"
        ) from e
    if dtype.kind == "T" or dtype_to_v3(dtype) == data:  # new-style dtypes take no metadata
        return dtype
    return spelled(dtype, data)


def check_dtype_v3(dtype: np.dtype[Any]) -> None:
    """Refuse a dtype that v3 metadata cannot hold exactly (``data_type`` reads back as
    another dtype: big-endian, padded records ...)."""
    if not isinstance(dtype, np.dtype):
        raise UnknownDataTypeError(f"expected a NumPy dtype, got {dtype!r}", field="data_type")
    if parse_dtype_v3(dtype_to_v3(dtype)) != dtype:
        raise UnknownDataTypeError(
            f"data type {dtype} has no exact Zarr v3 form (v3 data types are native-order; "
            "the bytes codec sets the byte order)",
            field="data_type",
        )


def _parse(data: JSON, key: str | None) -> np.dtype[Any]:
    name, config = _name_and_config(data, key)
    if name in V3_NUMERIC or name in _ALIASES:
        return np.dtype(V3_NUMERIC.get(name) or _ALIASES[name])
    if name == "string":
        return np.dtypes.StringDType()
    if name in VLEN_BYTES:
        return vlen_bytes_dtype(name)
    if name in ML_TYPES:
        return ml_dtype(name, key=key)
    raw = _RAW.fullmatch(name)
    if raw is not None:
        bits = int(raw.group(1))
        if bits % 8:
            raise ValueError(f"raw bits must be a multiple of 8, got {bits}")
        return np.dtype(f"V{bits // 8}")
    if name in _FIXED:
        return _fixed(_FIXED[name], config)
    if name in _TIME:
        return _time(_TIME[name], config)
    if name in _STRUCTS:
        return _struct(config, key)
    raise UnknownDataTypeError(
        f"unsupported data type {data!r}; supported: {', '.join(_NAMES)}",
        key=key,
        field="data_type",
    )


def _name_and_config(data: JSON, key: str | None) -> tuple[str, dict[str, JSON]]:
    if isinstance(data, str):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get("name"), str) and "configuration" in data:
        config = data["configuration"]
        if not isinstance(config, dict) or set(data) != {"name", "configuration"}:
            raise ValueError("expected {'name': ..., 'configuration': {...}}")
        return data["name"], config
    if isinstance(data, dict) and set(data) == {"name"} and isinstance(data["name"], str):
        return data["name"], {}
    raise UnknownDataTypeError(
        f"expected a data type name or {{'name': ..., 'configuration': ...}}, got {data!r}",
        key=key,
        field="data_type",
    )


def _options(config: dict[str, JSON], names: tuple[str, ...]) -> list[JSON]:
    if set(config) != set(names):
        raise ValueError(f"configuration must have exactly {list(names)}, got {sorted(config)}")
    return [config[n] for n in names]


def _fixed(kind: str, config: dict[str, JSON]) -> np.dtype[Any]:
    (length,) = _options(config, ("length_bytes",))
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length_bytes must be a positive integer, got {length!r}")
    if kind == "U" and length % 4:
        raise ValueError(f"length_bytes of UTF-32 text must be a multiple of 4, got {length}")
    return np.dtype(f"{kind}{length // 4 if kind == 'U' else length}")


def _time(kind: str, config: dict[str, JSON]) -> np.dtype[Any]:
    unit, scale = _options(config, ("unit", "scale_factor"))
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {list(_UNITS)}, got {unit!r}")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale < 2**31:
        raise ValueError(f"scale_factor must be an integer in [1, 2**31 - 1], got {scale!r}")
    if unit == "generic":
        return np.dtype(f"{kind}8")
    return np.dtype(f"{kind}8[{scale}{'us' if unit == 'μs' else unit}]")


def _struct(config: dict[str, JSON], key: str | None) -> np.dtype[Any]:
    (items,) = _options(config, ("fields",))
    if not isinstance(items, list) or not items:
        raise ValueError(f"fields must be a non-empty list, got {items!r}")
    fields: list[tuple[str, np.dtype[Any]]] = []
    for item in items:
        if isinstance(item, dict) and set(item) == {"name", "data_type"}:
            name, data_type = item["name"], item["data_type"]
        elif isinstance(item, list) and len(item) == 2:  # the legacy "structured" form
            name, data_type = item
        else:
            raise ValueError(f"a field must be {{'name': ..., 'data_type': ...}}, got {item!r}")
        if not isinstance(name, str) or not name or name in {f[0] for f in fields}:
            raise ValueError(f"field names must be unique non-empty strings, got {name!r}")
        field_dtype = parse_dtype_v3(data_type, key=key)
        if field_dtype.kind in "OT":
            raise ValueError(f"field {name!r}: variable-length {data_type!r} cannot be a field")
        fields.append((name, field_dtype))
    return np.dtype(fields)


def dtype_to_v3(dtype: np.dtype[Any]) -> JSON:
    """The v3 ``data_type`` JSON of ``dtype`` (the spelling it was read with, if any)."""
    data = spelling(dtype)
    if data is not None:
        return data
    if dtype.names is not None:
        return {"name": "structured", "configuration": {"fields": _fields(dtype)}}
    kind = dtype.kind
    name = ml_name(dtype) or (_V3_BY_NUMPY.get(dtype.str[1:]) if kind in "biufc" else None)
    if name is not None:
        return name
    if kind == "T":
        return "string"
    if kind in _FIXED_NAME and dtype.itemsize:
        return {"name": _FIXED_NAME[kind], "configuration": {"length_bytes": dtype.itemsize}}
    if kind in _TIME_NAME:
        unit, scale = np.datetime_data(dtype)
        return {"name": _TIME_NAME[kind], "configuration": {"unit": unit, "scale_factor": scale}}
    hint = "; for Python objects pass dtype=str or dtype=bytes" if kind == "O" else ""
    raise UnknownDataTypeError(f"data type {dtype} has no Zarr v3 form{hint}", field="data_type")


def _fields(dtype: np.dtype[Any]) -> list[list[JSON]]:
    """The legacy ``[[name, data_type], ...]`` fields zarr-python 3.1 writes and reads."""
    fields: list[list[JSON]] = []
    offset = 0
    for name in dtype.names or ():
        field, start = dtype.fields[name][:2]  # type: ignore[index]
        if field.subdtype is not None or start != offset or field.byteorder not in "=|":
            raise UnknownDataTypeError(
                f"field {name!r} of {dtype}: v3 structs hold packed, little-endian scalar "
                "fields only (no sub-arrays, padding or big-endian fields)",
                field="data_type",
            )
        fields.append([name, dtype_to_v3(field)])
        offset += field.itemsize
    if offset != dtype.itemsize:
        raise UnknownDataTypeError(f"{dtype} has trailing padding", field="data_type")
    return fields
