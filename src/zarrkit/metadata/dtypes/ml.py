"""Low-precision types of the optional ``ml_dtypes`` package (``pip install zarrkit[ml]``).

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/data-types (bfloat16,
float8_*, float6_*, float4_e2m1fn, int2/uint2/int4/uint4, complex_bfloat16,
complex_float16); ``float8_e4m3fn`` is tensorstore's. Each is one element per byte (or
two, four) with the ``bytes`` codec, exactly as ml_dtypes lays it out in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrkit.errors import UnknownDataTypeError

#: v3 (and tensorstore v2) name -> ml_dtypes attribute.
ML_TYPES = {
    "bfloat16": "bfloat16",
    "float8_e3m4": "float8_e3m4",
    "float8_e4m3": "float8_e4m3",
    "float8_e4m3b11fnuz": "float8_e4m3b11fnuz",
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2": "float8_e5m2",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
    "float6_e2m3fn": "float6_e2m3fn",
    "float6_e3m2fn": "float6_e3m2fn",
    "float4_e2m1fn": "float4_e2m1fn",
    "int2": "int2",
    "uint2": "uint2",
    "int4": "int4",
    "uint4": "uint4",
    "complex_bfloat16": "bcomplex32",
    "complex_float16": "complex32",
}
_NAME_OF = {attr: name for name, attr in ML_TYPES.items()}
#: ml complex type -> the v3 name of its parts.
_COMPONENTS = {"bcomplex32": "bfloat16", "complex32": "float16"}


def ml_dtype(name: str, *, key: str | None = None, field: str = "data_type") -> np.dtype[Any]:
    """The NumPy dtype of ml type ``name``; a clear error when ml_dtypes is missing."""
    try:
        import ml_dtypes
    except ImportError as e:
        raise UnknownDataTypeError(
            f"data type {name!r} needs the ml_dtypes package: pip install zarrkit[ml]",
            key=key,
            field=field,
        ) from e
    dtype: np.dtype[Any] = np.dtype(getattr(ml_dtypes, ML_TYPES[name]))
    return dtype


def ml_name(dtype: np.dtype[Any]) -> str | None:
    """The v3 name of an ml_dtypes dtype, else None (their kinds vary: ``V``, ``W``, ``f``)."""
    return _NAME_OF.get(dtype.name) if dtype.names is None else None


def ml_family(dtype: np.dtype[Any]) -> str:
    """``"int"``, ``"float"`` or ``"complex"`` for an ml_dtypes dtype."""
    if dtype.name in _COMPONENTS:
        return "complex"
    return "int" if dtype.name.lstrip("u").startswith("int") else "float"


def int_range(dtype: np.dtype[Any]) -> tuple[int, int]:
    """The smallest and largest value of an integer dtype (NumPy's or ml_dtypes')."""
    if ml_name(dtype) is None:
        info: Any = np.iinfo(dtype)
    else:
        import ml_dtypes

        info = ml_dtypes.iinfo(dtype)
    return int(info.min), int(info.max)


def float_info(dtype: np.dtype[Any]) -> Any:
    """``finfo`` of a float dtype (NumPy's or ml_dtypes')."""
    if ml_name(dtype) is None:
        return np.finfo(dtype)
    import ml_dtypes

    return ml_dtypes.finfo(dtype)


def component(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype of the real and imaginary parts of a complex dtype."""
    name = _COMPONENTS.get(dtype.name)
    if name in ML_TYPES:
        return ml_dtype(name)
    return np.dtype(name or f"{dtype.byteorder}f{dtype.itemsize // 2}")
