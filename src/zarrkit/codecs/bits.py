"""The bits of a chunk's elements, for codecs that work on them (``bitround``, ``packbits``).

A *component* is a whole element, or the real or imaginary part of a complex one. Its bits
are an unsigned integer of the component's width: 1 for ``bool``, 2 for ``int2``/``uint2``,
4 for ``int4``/``uint4``/``float4_e2m1fn``, 6 for the ``float6`` types (ml_dtypes keeps
these in the low bits of a byte), else 8 bits per byte of the component, in its
little-endian value (the ``bytes`` codec's view).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrkit.metadata.dtypes import family
from zarrkit.metadata.dtypes.ml import component, ml_name

#: ml_dtypes types narrower than their one byte of storage, by v3 name.
_NARROW = {"int2": 2, "uint2": 2, "int4": 4, "uint4": 4, "float4_e2m1fn": 4}
_NARROW.update(float6_e2m3fn=6, float6_e3m2fn=6)


def component_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype of one component of ``dtype`` (a complex type's part, else itself)."""
    return component(dtype) if family(dtype) == "complex" else dtype


def component_bits(dtype: np.dtype[Any]) -> int:
    """How many bits a component of ``dtype`` has."""
    part = component_dtype(dtype)
    if part.kind == "b":
        return 1
    return _NARROW.get(ml_name(part) or "", 8 * part.itemsize)


def components(dtype: np.dtype[Any]) -> int:
    """Components per element: 2 for complex types, else 1."""
    return 2 if family(dtype) == "complex" else 1


def to_bits(chunk: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The components of ``chunk`` in C order, as a flat array of unsigned integers."""
    part = component_dtype(chunk.dtype)
    native = np.ascontiguousarray(chunk, dtype=chunk.dtype.newbyteorder("="))
    bits = native.reshape(-1).view(f"u{part.itemsize}")
    width = component_bits(chunk.dtype)
    return bits & ((1 << width) - 1) if width < 8 else bits


def from_bits(bits: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """Invert :func:`to_bits`: a flat array of ``dtype`` from component bits."""
    part = component_dtype(dtype)
    unsigned = np.ascontiguousarray(bits, dtype=f"u{part.itemsize}")
    return unsigned.view(dtype.newbyteorder("="))
