"""Metadata documents: fill values in JSON form, the canonical form of a document, and
what an array directory stores."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

Json = Any
Doc = dict[str, Any]

# --- fill values: JSON form <-> scalar ---------------------------------------------------

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_from_json(value: Json) -> float:
    return _SPECIAL[value] if isinstance(value, str) else float(value)


def _float_to_json(value: float) -> Json:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def fill_from_json(value: Json, dtype: np.dtype[Any]) -> Any:
    """A JSON fill value as a Python scalar of ``dtype``'s kind (``None`` stays ``None``)."""
    if value is None:
        return None
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "f":
        return _float_from_json(value)
    return complex(_float_from_json(value[0]), _float_from_json(value[1]))


def fill_to_json(value: Any, dtype: np.dtype[Any]) -> Json:
    """Any fill value (scalar, NumPy scalar or JSON form) in canonical JSON form."""
    if value is None:
        return None
    if isinstance(value, str) or (isinstance(value, list | tuple) and dtype.kind == "c"):
        value = fill_from_json(value, dtype)
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "f":
        return _float_to_json(float(value))
    value = complex(value)
    return [_float_to_json(value.real), _float_to_json(value.imag)]


# --- canonical metadata ------------------------------------------------------------------


def plain_json(value: Any) -> Any:
    """JSON-like data with tuples as lists and NumPy scalars as Python ones."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _canonical_v2_codec(config: Json) -> Json:
    # numcodecs spells out every default (zarr-python 3 omits zstd's "checksum": false).
    return None if config is None else numcodecs.get_codec(dict(config)).get_config()


def _canonical_v3_codec(codec: Json) -> Json:
    """One spelling for equivalent v3 codec objects (defaults some writers omit)."""
    name, config = codec["name"], dict(codec.get("configuration", {}))
    if name == "sharding_indexed":
        config.setdefault("index_location", "end")
        for key in ("codecs", "index_codecs"):
            config[key] = [_canonical_v3_codec(c) for c in config[key]]
    elif name == "blosc" and config.get("shuffle") == "noshuffle":
        config.pop("typesize", None)  # meaningless without shuffling; tensorstore drops it
    elif name == "zstd":
        config.setdefault("checksum", False)
    return {"name": name, "configuration": config} if config else {"name": name}


def normalize_doc(doc: Doc) -> Doc:
    """The canonical form of a v2 (``.zarray`` + ``attributes``) or v3 array document.

    Defaults the specs allow to omit are made explicit (v2 ``dimension_separator``, the
    chunk key ``separator``, v3 ``attributes`` and ``dimension_names``, codec defaults),
    fill values take one JSON spelling. v2 ``attributes`` stay absent when the document
    has none (the reporter could not say).
    """
    doc = plain_json(doc)
    out: Doc = {"zarr_format": doc["zarr_format"], "shape": doc["shape"]}
    if doc["zarr_format"] == 2:
        dtype = np.dtype(doc["dtype"])
        out |= {key: doc[key] for key in ("chunks", "dtype", "order")}
        out["compressor"] = _canonical_v2_codec(doc["compressor"])
        out["filters"] = [_canonical_v2_codec(c) for c in doc.get("filters") or []] or None
        out["dimension_separator"] = doc.get("dimension_separator") or "."
    else:
        dtype = np.dtype(doc["data_type"])
        encoding = doc.get("chunk_key_encoding", {"name": "default"})
        default_separator = "/" if encoding["name"] == "default" else "."
        separator = encoding.get("configuration", {}).get("separator", default_separator)
        out |= {
            "data_type": doc["data_type"],
            "chunk_shape": doc["chunk_grid"]["configuration"]["chunk_shape"],
            "chunk_key_encoding": {"name": encoding["name"], "separator": separator},
            "codecs": [_canonical_v3_codec(c) for c in doc["codecs"]],
            "dimension_names": doc.get("dimension_names"),
        }
        doc.setdefault("attributes", {})
    out["fill_value"] = fill_to_json(doc["fill_value"], dtype)
    if "attributes" in doc:
        out["attributes"] = doc["attributes"]
    return out


def stored_doc(path: Path) -> Doc:
    """The array document exactly as stored (v2: ``.zarray`` plus ``.zattrs`` as attributes)."""
    if (path / "zarr.json").exists():
        doc: Doc = json.loads((path / "zarr.json").read_text())
        return doc
    doc = json.loads((path / ".zarray").read_text())
    attrs = path / ".zattrs"
    doc["attributes"] = json.loads(attrs.read_text()) if attrs.exists() else {}
    return doc


def stored_files(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` by its relative key."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }
