"""What kind of data type a NumPy dtype is, and the v3 spelling it was read with.

Several Zarr spellings map to one NumPy dtype (``"bytes"`` and ``"variable_length_bytes"``,
``"struct"`` and ``"structured"``, ``"r16"`` and ``raw_bytes``). A dtype parsed from a
spelling other than the one zarrkit writes carries it in ``dtype.metadata``, so rewriting
an array's metadata (attributes, resize) never changes its data type's spelling.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np

from zarrkit.metadata.dtypes.ml import ml_family, ml_name

JSON = Any
Family = Literal[
    "bool",
    "int",
    "float",
    "complex",
    "time",
    "text",
    "fixed_bytes",
    "raw",
    "struct",
    "string",
    "vlen_bytes",
    "object",
]

_SPELLING = "zarr_data_type"
#: v3 names of variable-length bytes (the registry's, then zarr-python 3.1's).
VLEN_BYTES = ("bytes", "variable_length_bytes")
_FAMILIES: dict[str, Family] = {
    "b": "bool",
    "i": "int",
    "u": "int",
    "f": "float",
    "c": "complex",
    "M": "time",
    "m": "time",
    "U": "text",
    "S": "fixed_bytes",
    "V": "raw",
    "T": "string",
}


def spelled(dtype: np.dtype[Any], data: JSON) -> np.dtype[Any]:
    """``dtype`` remembering the v3 JSON ``data`` it was read from."""
    return np.dtype(dtype, metadata={_SPELLING: json.dumps(data)})


def spelling(dtype: np.dtype[Any]) -> JSON:
    """The v3 JSON ``dtype`` was read from, if it differs from zarrkit's own, else None."""
    meta = dtype.metadata
    return json.loads(meta[_SPELLING]) if meta and _SPELLING in meta else None


def spelling_name(dtype: np.dtype[Any]) -> str | None:
    data = spelling(dtype)
    return data.get("name") if isinstance(data, dict) else data


def vlen_bytes_dtype(name: str = "bytes") -> np.dtype[Any]:
    """The dtype of variable-length bytes arrays: objects, marked as bytes."""
    return spelled(np.dtype("O"), name)


def family(dtype: np.dtype[Any]) -> Family:
    """The family of ``dtype``, which decides its fill value forms."""
    if dtype.names is not None:
        return "struct"
    if ml_name(dtype) is not None:
        return ml_family(dtype)  # type: ignore[return-value]
    if dtype.kind == "O":
        return "vlen_bytes" if spelling_name(dtype) in VLEN_BYTES else "object"
    return _FAMILIES[dtype.kind]


def object_codec_id(dtype: np.dtype[Any]) -> str | None:
    """The codec that serializes ``dtype`` (``vlen-utf8``, ``vlen-bytes``), if variable-length."""
    kind = family(dtype)
    return {"string": "vlen-utf8", "vlen_bytes": "vlen-bytes"}.get(kind)
