"""Data types and fill values (the import path used across zarrkit; the implementation
lives in :mod:`zarrkit.metadata.dtypes`, one module per concern)."""

from zarrkit.metadata.dtypes import (
    ML_TYPES,
    V3_NUMERIC,
    default_fill_value,
    dtype_to_v2,
    dtype_to_v3,
    family,
    fill_value_to_json,
    normalize_dtype,
    normalize_fill_value,
    object_codec_id,
    parse_dtype_v2,
    parse_dtype_v3,
    parse_fill_value,
    vlen_bytes_dtype,
)

__all__ = [
    "ML_TYPES",
    "V3_NUMERIC",
    "default_fill_value",
    "dtype_to_v2",
    "dtype_to_v3",
    "family",
    "fill_value_to_json",
    "normalize_dtype",
    "normalize_fill_value",
    "object_codec_id",
    "parse_dtype_v2",
    "parse_dtype_v3",
    "parse_fill_value",
    "vlen_bytes_dtype",
]
