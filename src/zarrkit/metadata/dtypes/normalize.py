"""User-given data types (``create_array(dtype=...)``) to NumPy dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrkit.errors import UnknownDataTypeError
from zarrkit.metadata.dtypes.kinds import vlen_bytes_dtype
from zarrkit.metadata.dtypes.v2 import parse_dtype_v2, supported
from zarrkit.metadata.dtypes.v3 import is_v3_name, parse_dtype_v3

#: What zarr-python 3 takes for variable-length strings (NumPy would make ``<U0`` of them).
_STRING = (str, "str", "string")


def normalize_dtype(dtype: Any) -> np.dtype[Any]:
    """A NumPy dtype from anything ``np.dtype`` accepts, a v3 data type name or JSON
    (``"bfloat16"``, ``"r16"``, ``{"name": "numpy.datetime64", ...}``), a v2 structured
    description (``[["a", "<i4"], ["b", "<f8"]]``), ``str`` (variable-length strings) or
    ``bytes`` (variable-length bytes), or a data type object of :mod:`zarrkit.dtype` or
    zarr-python's ``zarr.dtype`` (anything with ``to_native_dtype()``).

    Examples
    --------
    >>> normalize_dtype(str)
    StringDType()
    >>> normalize_dtype({"name": "numpy.timedelta64",
    ...                  "configuration": {"unit": "s", "scale_factor": 10}})
    dtype('<m8[10s]')
    """
    to_native = getattr(dtype, "to_native_dtype", None)
    if callable(to_native) and not isinstance(dtype, type):
        return normalize_dtype(to_native())
    if any(dtype is s or (isinstance(dtype, str) and dtype == s) for s in _STRING):
        return np.dtypes.StringDType()
    if dtype is bytes:
        return vlen_bytes_dtype()
    if is_v3_name(dtype) or isinstance(dtype, dict):
        return parse_dtype_v3(dtype)
    if isinstance(dtype, list) and all(isinstance(f, list) for f in dtype):
        return parse_dtype_v2(dtype)
    try:
        result: np.dtype[Any] = np.dtype(dtype)
    except TypeError as e:
        raise UnknownDataTypeError(f"not a data type: {dtype!r}", field="dtype") from e
    if not supported(result):
        raise UnknownDataTypeError(
            f"data type {result} is not supported (zero-size, or objects inside records)",
            field="dtype",
        )
    return result
