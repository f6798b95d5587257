"""Data types and fill values: Zarr JSON <-> NumPy, for v2 and v3.

v3 names (``"float64"``) map to native-order NumPy dtypes (byte order belongs to the
``bytes`` codec); v2 type strings (``"<f8"``, ``">i4"``, ``"|b1"``) keep their byte order.
Variable-length strings are NumPy ``StringDType`` arrays and variable-length bytes object
arrays, as zarr-python 3 reads them; ml_dtypes types need ``zarrkit[ml]``.
"""

from zarrkit.metadata.dtypes.fill import (
    check_fill_value,
    default_fill_value,
    fill_value_to_json,
    normalize_fill_value,
    parse_fill_value,
)
from zarrkit.metadata.dtypes.kinds import family, object_codec_id, vlen_bytes_dtype
from zarrkit.metadata.dtypes.ml import ML_TYPES
from zarrkit.metadata.dtypes.normalize import normalize_dtype
from zarrkit.metadata.dtypes.v2 import check_dtype_v2, dtype_to_v2, parse_dtype_v2
from zarrkit.metadata.dtypes.v3 import V3_NUMERIC, check_dtype_v3, dtype_to_v3, parse_dtype_v3
from zarrkit.metadata.dtypes.zdtype import ZDType, zdtype_of

__all__ = [
    "ML_TYPES",
    "V3_NUMERIC",
    "ZDType",
    "check_dtype_v2",
    "check_dtype_v3",
    "check_fill_value",
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
    "zdtype_of",
]
