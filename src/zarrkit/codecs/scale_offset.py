"""``scale_offset``: ``(x - offset) * scale``, in the arithmetic of the array's data type.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/scale_offset
v3 name: ``scale_offset``; v2 id: none (numcodecs' ``fixedscaleoffset`` also rounds and
casts; in v3 it stays ``numcodecs.fixedscaleoffset``, or is ``scale_offset`` followed by
``cast_value``).
Config: ``{"name": "scale_offset", "configuration": {"offset": 5, "scale": 0.1}}`` (both
optional, as fill values of the array's data type; the defaults 0 and 1 are a no-op)

An array->array codec for integer and float types that keeps shape and data type; decoding
is ``x / scale + offset``. The spec makes any value the data type cannot represent an error:
for integers an overflow anywhere, or a quotient that is not whole; for floats a finite
value that overflows to infinity. A zero ``scale`` is refused (decoding divides by it).
The fill value is transformed like the data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from zarrkit.codecs.base import JSON, ArrayArrayCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError, ZarrkitError
from zarrkit.metadata.dtypes import family, parse_fill_value
from zarrkit.metadata.dtypes.ml import int_range


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleOffsetCodec(ArrayArrayCodec):
    """Encode ``(x - offset) * scale``; ``offset`` and ``scale`` are JSON scalars.

    Examples
    --------
    >>> codec = ScaleOffsetCodec(offset=1000)
    >>> spec = ChunkSpec(shape=(2,), dtype=np.dtype("uint16"), fill_value=1000)
    >>> codec.encode(np.array([1000, 1255], "uint16"), spec).tolist()
    [0, 255]
    >>> int(codec.resolve(spec).fill_value)
    0
    """

    name: ClassVar[str] = "scale_offset"
    offset: JSON = 0
    scale: JSON = 1

    def __post_init__(self) -> None:
        for field in ("offset", "scale"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise MetadataError(
                    f"codec 'scale_offset': {field} must be a number, got {value!r}", field=field
                )

    def to_json(self) -> dict[str, JSON]:
        options = {}
        if self.offset != 0:  # the defaults are left out, as the spec allows
            options["offset"] = self.offset
        if self.scale != 1:
            options["scale"] = self.scale
        return {"name": self.name, "configuration": options}

    def validate(self, spec: ChunkSpec) -> None:
        if family(spec.dtype) not in ("int", "float"):
            raise MetadataError(
                f"codec 'scale_offset' needs an integer or float type, not {spec.dtype}",
                field="data_type",
            )
        if self._numbers(spec.dtype)[1] == 0:
            raise MetadataError("codec 'scale_offset': scale must not be 0", field="scale")
        self._fill(spec)

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        return replace(spec, fill_value=self._fill(spec))

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        offset, scale = self._numbers(chunk.dtype)
        if family(chunk.dtype) == "float":
            return _float_op(chunk, lambda x: (x - offset) * scale)
        lo, hi = int_range(chunk.dtype)
        _check(chunk, _shifted(lo, hi, int(offset), int(scale)), "encoding")
        return (chunk - offset) * scale  # type: ignore[no-any-return]

    def decode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        offset, scale = self._numbers(chunk.dtype)
        if family(chunk.dtype) == "float":
            return _float_op(chunk, lambda x: x / scale + offset)
        lo, hi = int_range(chunk.dtype)
        a, b = max(lo, lo - int(offset)), min(hi, hi - int(offset))  # x / scale
        _check(chunk, sorted((a * int(scale), b * int(scale))), "decoding")
        if (chunk % scale).any():
            raise CodecError(f"scale_offset: decoding: values not divisible by scale {scale}")
        return (chunk // scale + offset).astype(chunk.dtype)  # type: ignore[no-any-return]

    def _numbers(self, dtype: np.dtype[Any]) -> tuple[Any, Any]:
        """``offset`` and ``scale`` as scalars of ``dtype``."""
        offset, scale = (
            parse_fill_value(getattr(self, k), dtype, field=k) for k in ("offset", "scale")
        )
        return offset, scale

    def _fill(self, spec: ChunkSpec) -> Any:
        if spec.fill_value is None:
            return None
        try:
            return self.encode(np.asarray(spec.fill_value, spec.dtype), spec)[()]
        except ZarrkitError as e:
            raise MetadataError(f"fill value {spec.fill_value!r}: {e}", field="fill_value") from e


def _shifted(lo: int, hi: int, offset: int, scale: int) -> tuple[int, int]:
    """The inputs ``x`` for which ``x - offset`` and ``(x - offset) * scale`` fit in
    ``lo..hi`` (exact integer arithmetic)."""
    d_lo, d_hi = max(lo, lo + offset) - offset, min(hi, hi + offset) - offset
    low, high = (lo, hi) if scale > 0 else (hi, lo)  # d * scale in lo..hi
    d_lo, d_hi = max(d_lo, -(-low // scale)), min(d_hi, high // scale)
    return d_lo + offset, d_hi + offset


def _check(chunk: np.ndarray[Any, Any], bounds: Any, what: str) -> None:
    lo, hi = bounds
    if chunk.size and (int(chunk.min()) < lo or int(chunk.max()) > hi):
        raise CodecError(
            f"scale_offset: {what} overflows {chunk.dtype} (values must be in {lo}..{hi}, "
            f"got {int(chunk.min())}..{int(chunk.max())})"
        )


def _float_op(chunk: np.ndarray[Any, Any], op: Any) -> np.ndarray[Any, Any]:
    """``op(chunk)`` in the chunk's float type; a finite value becoming infinite raises."""
    with np.errstate(over="ignore", invalid="ignore"):
        result = op(chunk)
    if (np.isinf(result) & np.isfinite(chunk)).any():
        raise CodecError(f"scale_offset: a value overflows {chunk.dtype}")
    return np.asarray(result, chunk.dtype)
