"""Fill values: JSON <-> NumPy scalars, for every data type family and both formats.

Numbers: numbers, booleans, ``"NaN"``/``"Infinity"``/``"-Infinity"``, ``"0x..."`` bit
patterns and ``[re, im]`` pairs. Datetimes: integers or ``"NaT"``. Text: strings. Fixed
bytes, raw bytes and records: base64 strings (also lists of byte values; ``r<bits>``
writes one, as the core spec says); ``struct`` records: ``{field: fill}`` objects.
Readers are lenient where zarr-python 2 wrote oddities (a ``0`` fill for text and bytes).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError, UnknownDataTypeError
from zarrkit.metadata.dtypes.kinds import JSON, family, spelling_name
from zarrkit.metadata.dtypes.ml import component, int_range

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_RAW_NAME = re.compile(r"r[0-9]+")


def default_fill_value(dtype: np.dtype[Any]) -> Any:
    """The fill value used when none is given: zero of the dtype (``False``, ``""``, ``b""``),
    ``NaT`` for datetimes (as zarr-python 3), ``None`` for other objects."""
    kind = family(dtype)
    if kind == "time":
        return dtype.type("NaT")
    if kind == "vlen_bytes":
        return b""
    if kind == "object":
        return None
    return np.zeros((), dtype=dtype)[()]


def parse_fill_value(
    data: JSON,
    dtype: np.dtype[Any],
    *,
    key: str | None = None,
    field: str = "fill_value",
    zarr_format: int = 3,
) -> Any:
    """A NumPy scalar of ``dtype`` from its JSON form (``None`` only passes through for v2)."""
    if data is None:
        return None
    try:
        return _parse(data, dtype, zarr_format)
    except (TypeError, ValueError, OverflowError, binascii.Error) as e:
        raise MetadataError(
            f"fill value {data!r} is not valid for data type {dtype}: {e}", key=key, field=field
        ) from e


def check_fill_value(value: Any, dtype: np.dtype[Any], *, zarr_format: int = 3) -> None:
    """Refuse a fill value that the metadata document cannot hold for ``dtype``: its
    JSON form must read back."""
    if value is None:
        return
    try:
        data = fill_value_to_json(value, dtype, zarr_format=zarr_format)
    except (TypeError, ValueError, OverflowError) as e:
        if isinstance(e, MetadataError):
            raise
        raise MetadataError(
            f"fill value {value!r} is not valid for data type {dtype}: {e}", field="fill_value"
        ) from e
    parse_fill_value(data, dtype, zarr_format=zarr_format)


def _parse(data: JSON, dtype: np.dtype[Any], zarr_format: int) -> Any:
    kind = family(dtype)
    if kind == "bool":
        if not isinstance(data, bool):
            raise TypeError("expected true or false")
        return np.bool_(data)
    if kind == "int":
        return _parse_int(data, dtype)
    if kind == "float":
        return _parse_float(data, dtype)
    if kind == "complex":
        if not isinstance(data, list | tuple) or len(data) != 2:
            raise TypeError("expected a [real, imaginary] pair")
        part = component(dtype)
        return dtype.type(complex(_parse_float(data[0], part), _parse_float(data[1], part)))
    if kind == "time":
        if data == "NaT":
            return dtype.type("NaT")
        return np.array(_parse_int(data, np.dtype("i8")), dtype="i8").astype(dtype)[()]
    if kind in ("text", "string"):
        return _parse_text(data, dtype, lenient=zarr_format == 2)
    if kind == "object":
        return data
    return _parse_bytes_like(data, dtype, kind, zarr_format)


def _parse_int(data: JSON, dtype: np.dtype[Any]) -> Any:
    if isinstance(data, str) and data.startswith("0x"):
        return _from_hex(data, dtype)
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise TypeError("expected an integer")
    if isinstance(data, float) and not data.is_integer():
        raise ValueError("expected an integer")
    low, high = int_range(dtype)
    if not low <= int(data) <= high:
        raise OverflowError(f"out of range [{low}, {high}]")
    return dtype.type(int(data))


def _parse_float(data: JSON, dtype: np.dtype[Any]) -> Any:
    if isinstance(data, str):
        if data.startswith("0x"):
            return _from_hex(data, dtype)
        if data not in _SPECIAL_FLOATS:
            raise ValueError("expected a number, 'NaN', 'Infinity', '-Infinity' or '0x...'")
        data = _SPECIAL_FLOATS[data]
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise TypeError("expected a number")
    value = dtype.type(data)
    result = float(value)
    if math.isnan(data) != math.isnan(result) or (math.isinf(data) and result != data):
        raise ValueError(f"{data} is not representable in {dtype}")
    return value


def _from_hex(data: str, dtype: np.dtype[Any]) -> Any:
    raw = bytes.fromhex(data[2:])
    if len(raw) != dtype.itemsize:
        raise ValueError(f"hex fill value needs {dtype.itemsize} bytes, got {len(raw)}")
    bits = np.array(int.from_bytes(raw, "big"), dtype=f"u{dtype.itemsize}")
    return bits.view(dtype.newbyteorder("=")).astype(dtype)[()]


def _parse_text(data: JSON, dtype: np.dtype[Any], *, lenient: bool) -> Any:
    if not isinstance(data, str) and (
        not lenient or isinstance(data, bool) or not isinstance(data, int | float)
    ):
        raise TypeError("expected a string")
    text = data if isinstance(data, str) else str(np.array(data, dtype=dtype)[()])
    if dtype.kind == "U" and len(text) > dtype.itemsize // 4:
        raise ValueError(f"{len(text)} characters do not fit in {dtype}")
    return np.str_(text) if dtype.kind == "U" else text


def _parse_bytes_like(data: JSON, dtype: np.dtype[Any], kind: str, zarr_format: int) -> Any:
    """Fixed bytes, raw bytes, records and variable-length bytes."""
    if kind == "struct" and isinstance(data, dict):
        return _parse_record(data, dtype, zarr_format)
    if kind in ("fixed_bytes", "vlen_bytes") and not isinstance(data, str | list):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise TypeError("expected a base64 string or a list of byte values")
        # zarr-python 2 wrote numbers (0) for bytes: its readers kept them as they were
        return data if kind == "vlen_bytes" else np.array(data, dtype=dtype)[()]
    return _from_raw(_bytes(data), dtype, kind, zarr_format)


def _from_raw(raw: bytes, dtype: np.dtype[Any], kind: str, zarr_format: int) -> Any:
    if kind == "vlen_bytes":
        return raw
    if kind == "fixed_bytes":
        if len(raw) > dtype.itemsize:
            raise ValueError(f"{len(raw)} bytes do not fit in {dtype}")
        return np.bytes_(raw)
    if len(raw) != dtype.itemsize:
        raise ValueError(f"expected {dtype.itemsize} bytes, got {len(raw)}")
    stored = dtype.newbyteorder("<") if kind == "struct" and zarr_format == 3 else dtype
    return np.frombuffer(raw, stored).astype(dtype)[0]


def _bytes(data: JSON) -> bytes:
    if isinstance(data, str):
        return base64.b64decode(data, validate=True)
    if isinstance(data, list) and all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in data
    ):
        return bytes(data)
    raise TypeError("expected a base64 string or a list of byte values")


def _parse_record(data: dict[str, JSON], dtype: np.dtype[Any], zarr_format: int) -> Any:
    return _record(data, dtype, lambda item, field: _parse(item, field, zarr_format))


def _record(
    data: dict[str, Any], dtype: np.dtype[Any], convert: Callable[[Any, np.dtype[Any]], Any]
) -> Any:
    """A record from ``{field: value}``, each value converted for its field's dtype."""
    names = dtype.names or ()
    if set(data) != set(names):
        raise ValueError(f"expected one fill value for each field of {list(names)}")
    record = np.zeros((), dtype=dtype)
    for name in names:
        record[name] = convert(data[name], dtype.fields[name][0])  # type: ignore[index]
    return record[()]


def normalize_fill_value(value: Any, dtype: np.dtype[Any]) -> Any:
    """A user-given fill value as a NumPy scalar of ``dtype`` (``None`` -> default)."""
    if value is None:
        return default_fill_value(dtype)
    kind = family(dtype)
    try:
        return _normalize(value, dtype, kind)
    except (TypeError, ValueError, OverflowError) as e:
        raise MetadataError(
            f"fill value {value!r} is not valid for data type {dtype}: {e}", field="fill_value"
        ) from e


def _normalize(value: Any, dtype: np.dtype[Any], kind: str) -> Any:
    if kind == "object":
        return value
    if kind in ("text", "string"):
        if not isinstance(value, str):
            raise TypeError("expected a str")
        return _parse_text(value, dtype, lenient=False)
    if kind in ("fixed_bytes", "vlen_bytes", "raw", "struct") and isinstance(value, bytes):
        return _from_raw(value, dtype, kind, 2)  # in the dtype's own byte order
    if kind == "struct" and isinstance(value, dict):
        return _record(value, dtype, normalize_fill_value)
    if kind in ("fixed_bytes", "vlen_bytes"):
        raise TypeError("expected bytes")
    if kind in ("struct", "raw"):  # a tuple of field values, or a NumPy record
        return np.array(value, dtype=dtype)[()]
    if kind in ("bool", "int", "float", "complex") and isinstance(value, str | list | tuple):
        return parse_fill_value(value, dtype)
    scalar = np.asarray(value).astype(dtype, casting="unsafe")[()]
    if kind == "int" and not _same_number(value, scalar):
        raise ValueError(f"{value!r} does not fit {dtype}")
    return scalar


def _same_number(value: Any, cast: Any) -> bool:
    try:
        return bool(np.asarray(value) == cast)
    except (TypeError, ValueError):
        return False


def fill_value_to_json(value: Any, dtype: np.dtype[Any], *, zarr_format: int = 3) -> JSON:
    """The JSON form zarr-python writes for ``value`` (``None`` stays ``None``)."""
    if value is None:
        return None
    kind = family(dtype)
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return _float_to_json(float(value))
    if kind == "complex":
        value = complex(value)
        return [_float_to_json(value.real), _float_to_json(value.imag)]
    if kind == "time":
        return int(np.asarray(value, dtype=dtype).astype("i8"))
    if kind in ("text", "string"):
        return str(value)
    if kind in ("vlen_bytes", "object"):
        return _b64(value) if isinstance(value, bytes) else _json_scalar(value, dtype)
    if kind == "fixed_bytes":
        return _b64(bytes(value))
    return _record_or_raw_to_json(value, dtype, zarr_format)


def _record_or_raw_to_json(value: Any, dtype: np.dtype[Any], zarr_format: int) -> JSON:
    name = spelling_name(dtype) if zarr_format == 3 else None
    scalar = np.asarray(value, dtype=dtype)
    if name == "struct":
        return _record_to_json(scalar)
    stored = dtype.newbyteorder("<") if dtype.names is not None and zarr_format == 3 else dtype
    raw = scalar.astype(stored).tobytes()
    return list(raw) if name and _RAW_NAME.fullmatch(name) else _b64(raw)


def _record_to_json(record: np.ndarray[Any, Any]) -> JSON:
    """``{field: fill}``, nested records as nested objects (the ``struct`` form)."""
    return {
        name: _record_to_json(record[name])
        if record.dtype[name].names is not None
        else fill_value_to_json(record[name][()], record.dtype[name])
        for name in record.dtype.names or ()
    }


def _b64(raw: bytes) -> str:
    return base64.standard_b64encode(raw).decode("ascii")


def _json_scalar(value: Any, dtype: np.dtype[Any]) -> JSON:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise UnknownDataTypeError(
        f"fill value {value!r} of data type {dtype} has no JSON form", field="fill_value"
    )


def _float_to_json(value: float) -> JSON:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
