"""Zarr v2 ``dtype`` JSON <-> NumPy dtypes.

Spec: https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html#data-type-encoding
Type strings keep their byte order (``"<f8"``, ``">i4"``, ``"|b1"``, ``"<M8[ns]"``,
``"<U12"``, ``"|S4"``, ``"|V2"``); structured types are lists of ``[name, type]`` or
``[name, type, shape]`` (nested lists for nested records); ml_dtypes types use their
names (``"bfloat16"``), as tensorstore writes them. ``"|O"`` arrays are decoded by their
first filter (their object codec, where zarr-python 2 puts it): ``vlen-utf8`` gives NumPy
strings (``StringDType``, as zarr-python 3 reads them), ``vlen-bytes`` bytes objects,
anything else (``json2``, ``msgpack2``, ``pickle`` ...) plain objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrkit.errors import UnknownDataTypeError
from zarrkit.metadata.dtypes.kinds import JSON, vlen_bytes_dtype
from zarrkit.metadata.dtypes.ml import ML_TYPES, ml_dtype, ml_name

_KINDS = "biufcMmUSVO"


def parse_dtype_v2(
    data: JSON, *, key: str | None = None, filters: tuple[dict[str, JSON], ...] | None = None
) -> np.dtype[Any]:
    """The NumPy dtype of a v2 ``dtype`` field (byte order kept); ``filters`` decide what
    an object (``"|O"``) array holds."""
    if isinstance(data, str) and data in ML_TYPES:
        return ml_dtype(data, key=key, field="dtype")
    try:
        dtype = np.dtype(_descr(data) if isinstance(data, list) else data)
    except (TypeError, ValueError) as e:
        raise UnknownDataTypeError(f"invalid v2 dtype {data!r}", key=key, field="dtype") from e
    if not isinstance(data, str | list) or not supported(dtype):
        raise UnknownDataTypeError(f"unsupported v2 dtype {data!r}", key=key, field="dtype")
    if dtype.kind != "O":
        return dtype
    codec_id = filters[0].get("id") if filters else None
    if codec_id is None:
        raise UnknownDataTypeError(
            "v2 dtype '|O' needs an object codec as its first filter "
            "(vlen-utf8, vlen-bytes, json2 ...)",
            key=key,
            field="dtype",
        )
    if codec_id == "vlen-utf8":
        return np.dtypes.StringDType()
    return vlen_bytes_dtype() if codec_id == "vlen-bytes" else dtype


def check_dtype_v2(dtype: np.dtype[Any], filters: tuple[dict[str, JSON], ...] | None) -> None:
    """Refuse a dtype that v2 metadata cannot hold exactly: ``dtype`` (with ``filters``,
    which decide what an object array holds) reads back as another dtype."""
    if not isinstance(dtype, np.dtype):
        raise UnknownDataTypeError(f"expected a NumPy dtype, got {dtype!r}", field="dtype")
    if parse_dtype_v2(dtype_to_v2(dtype), filters=filters) != dtype:
        raise UnknownDataTypeError(
            f"data type {dtype} with filters {filters} reads back as another data type "
            "(objects need their codec as the first filter: vlen-utf8 for strings, "
            "vlen-bytes for bytes)",
            field="dtype",
        )


def _descr(data: list[JSON]) -> list[tuple[Any, ...]]:
    """A JSON structured dtype description as NumPy takes it (lists of tuples)."""
    fields = []
    for item in data:
        if not isinstance(item, list) or len(item) not in (2, 3) or not isinstance(item[0], str):
            raise TypeError(f"expected [name, type] or [name, type, shape], got {item!r}")
        name, kind, *shape = item
        fields.append((name, _descr(kind) if isinstance(kind, list) else kind, *map(tuple, shape)))
    return fields


def supported(dtype: np.dtype[Any]) -> bool:
    """Whether zarrkit can store ``dtype``: no zero-size elements, no objects in records."""
    if dtype.names is not None:
        return not dtype.hasobject and all(
            supported(dtype.fields[n][0].base)  # type: ignore[index]
            for n in dtype.names
        )
    if ml_name(dtype) is not None or dtype.kind == "T":
        return True
    return dtype.kind in _KINDS and (dtype.itemsize > 0 or dtype.kind == "O")


def dtype_to_v2(dtype: np.dtype[Any]) -> JSON:
    """The v2 ``dtype`` of ``dtype``: a type string, or a list for structured types."""
    if dtype.names is not None and supported(dtype):
        return _lists(dtype.descr)
    name = ml_name(dtype)
    if name is not None:
        return name
    if dtype.kind in "OT":
        return "|O"
    if not supported(dtype) or dtype.names is not None:
        raise UnknownDataTypeError(f"data type {dtype} has no Zarr v2 form", field="dtype")
    return dtype.str


def _lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value
