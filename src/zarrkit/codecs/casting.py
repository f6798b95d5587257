"""Casting numbers between integer and float types by value, as ``cast_value`` defines it.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/cast_value
(the procedure; the codec is :mod:`zarrkit.codecs.cast_value`).

Order per value: the scalar map first (first match wins), then exact values, then
rounding, then ``out_of_range`` (none: an error; ``clamp``; ``wrap``: modulo 2**bits).
NaN and infinities pass between types that have them and raise otherwise. Rounding is
exact for float sources: integers are rounded in float64 (exact for every float type),
and a float result is chosen between the two neighbours bracketing the value (NumPy's and
ml_dtypes' own casts round to nearest even, and ml_dtypes rounds float64 to bfloat16 via
float32, which can round twice). Integer sources wider than 53 bits reach float targets
through float64, so their directed rounding is that of the float64 value.
``float8_e8m0fnu`` has no zero: values below its smallest are out of range, except that
``towards-positive`` rounds them up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from zarrkit.codecs.bits import component_bits
from zarrkit.errors import CodecError
from zarrkit.metadata.dtypes import family
from zarrkit.metadata.dtypes.ml import float_info, int_range

Rounding = Literal[
    "nearest-even", "towards-zero", "towards-positive", "towards-negative", "nearest-away"
]
OutOfRange = Literal["clamp", "wrap"] | None
ROUNDINGS = ("nearest-even", "towards-zero", "towards-positive", "towards-negative", "nearest-away")


def cast_values(
    values: np.ndarray[Any, Any],
    target: np.dtype[Any],
    *,
    rounding: Rounding = "nearest-even",
    out_of_range: OutOfRange = None,
    scalar_map: Sequence[tuple[Any, Any]] = (),
) -> np.ndarray[Any, Any]:
    """``values`` cast to ``target``; a value with no defined result raises CodecError."""
    out = np.empty(values.shape, target)
    mapped = np.zeros(values.shape, bool)
    for source, result in scalar_map:
        hit = ~mapped & (np.isnan(values) if _is_nan(source) else values == source)
        out[hit] = result
        mapped |= hit
    rest = values if not mapped.any() else values[~mapped]
    with np.errstate(invalid="ignore", over="ignore"):
        cast = _cast(rest, target, rounding, out_of_range)
    if mapped.any():
        out[~mapped] = cast
        return out
    return cast.reshape(values.shape)


def has_value(dtype: np.dtype[Any], special: float) -> bool:
    """Whether float ``dtype`` represents ``special`` (NaN or infinity)."""
    with np.errstate(invalid="ignore", over="ignore"):
        stored = float(np.asarray(special).astype(dtype))
    return stored == special or (np.isnan(special) and np.isnan(stored))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _cast(
    x: np.ndarray[Any, Any], target: np.dtype[Any], rounding: Rounding, out_of_range: OutOfRange
) -> np.ndarray[Any, Any]:
    if family(x.dtype) == "float":
        _check_special(x, target)
    if family(target) == "int":
        return _to_int(x, target, rounding, out_of_range)
    return _to_float(x, target, rounding, out_of_range)


def _check_special(x: np.ndarray[Any, Any], target: np.dtype[Any]) -> None:
    """Raise if ``x`` holds NaN or infinities that ``target`` cannot hold."""
    is_float = family(target) == "float"
    for what, found, special in (("NaN", np.isnan, np.nan), ("infinity", np.isinf, np.inf)):
        if (not is_float or not has_value(target, special)) and found(x).any():
            raise CodecError(f"cast_value: {what} cannot be cast to {target} (map it)")


def _out_of_range(x: np.ndarray[Any, Any], target: np.dtype[Any]) -> CodecError:
    return CodecError(
        f"cast_value: values out of the range of {target} (set out_of_range): {x[:5].tolist()}"
    )


# --- to integers -------------------------------------------------------------------------


def _to_int(
    x: np.ndarray[Any, Any], target: np.dtype[Any], rounding: Rounding, out_of_range: OutOfRange
) -> np.ndarray[Any, Any]:
    lo, hi = int_range(target)
    if family(x.dtype) == "float":
        r = _round_integral(x.astype(np.float64), rounding)
        low, high = r < float(lo), r >= float(hi) + 1  # both bounds exact in float64
    else:
        r, low, high = x, x < lo, x > hi
    outside = low | high
    if not outside.any():
        return r.astype(target)
    if out_of_range is None:
        raise _out_of_range(x[outside], target)
    if out_of_range == "wrap":
        return _wrap(_as_int64(r), target)
    result = np.where(outside, 0, r).astype(target)
    result[low], result[high] = lo, hi
    return result


def _round_integral(x: np.ndarray[Any, Any], rounding: Rounding) -> np.ndarray[Any, Any]:
    """Float64 values rounded to integers (exactly)."""
    if rounding == "nearest-away":
        whole = np.trunc(x)
        return whole + np.sign(x) * (np.abs(x - whole) >= 0.5)  # type: ignore[no-any-return]
    op = {"nearest-even": np.rint, "towards-zero": np.trunc}.get(rounding)
    op = op or (np.ceil if rounding == "towards-positive" else np.floor)
    return op(x)  # type: ignore[no-any-return]


def _as_int64(r: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Integers (or integral floats) as int64, modulo 2**64."""
    if r.dtype.kind != "f":
        return r.astype(np.int64)
    big = np.abs(r) >= 2.0**63
    folded = np.fmod(r, 2.0**64)  # exact; then into [-2**63, 2**63), still exact
    folded = np.where(folded >= 2.0**63, folded - 2.0**64, folded)
    folded = np.where(folded < -(2.0**63), folded + 2.0**64, folded)
    return np.where(big, folded, r).astype(np.int64)


def _wrap(r: np.ndarray[Any, Any], target: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """int64 values modulo 2**bits, as two's complement ``target`` values."""
    bits = component_bits(target)
    if bits == 64:
        return r.astype(target)
    low = r & ((1 << bits) - 1)
    if int_range(target)[0] < 0:
        low = np.where(low >= 1 << (bits - 1), low - (1 << bits), low)
    return low.astype(target)


# --- to floats ---------------------------------------------------------------------------


def _to_float(
    x: np.ndarray[Any, Any], target: np.dtype[Any], rounding: Rounding, out_of_range: OutOfRange
) -> np.ndarray[Any, Any]:
    high, low = _split(x)
    wide = high + low
    info = float_info(target)
    top, bottom = np.asarray([info.max, info.min], target)
    over_hi, over_lo = _overflow(wide, top, bottom, rounding)
    outside = over_hi | over_lo
    if outside.any() and out_of_range is None:
        raise _out_of_range(x[outside], target)
    if rounding == "nearest-even" and target.kind == "f":
        result = x.astype(target)  # NumPy's own types round every source correctly
    else:
        finite = np.isfinite(wide)
        clipped = np.where(finite, np.clip(wide, float(bottom), float(top)), wide)
        inside = finite & (clipped == wide)  # values clipped into range are exact there
        near = np.where(inside, x, clipped).astype(target)
        result = _round_float(near, np.where(inside, high, clipped), low * inside, rounding)
    if outside.any():  # clamp: to the infinities where the type has them
        inf = has_value(target, np.inf)
        result[over_hi] = np.inf if inf else top
        result[over_lo] = -np.inf if inf else bottom
    return result


def _split(x: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``x`` as two float64 arrays whose exact sum it is: 64-bit integers lose bits in one
    float64, so they split into a multiple of 2**11 and the small rest."""
    if family(x.dtype) == "float" or x.dtype.itemsize < 8:
        return x.astype(np.float64), np.zeros(x.shape)
    rest = x & np.asarray(2047, x.dtype)
    return (x - rest).astype(np.float64), rest.astype(np.float64)


def _overflow(
    wide: np.ndarray[Any, Any], top: Any, bottom: Any, rounding: Rounding
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Which values round beyond the largest (or below the smallest) finite value: rounded
    with an unbounded exponent first, then compared, so with ``towards-zero`` 70000 is out
    of float16's range (it rounds to 69632), as the spec orders it and cast-value-rs does."""
    high, low = float(top), float(bottom)
    gap = high - float(np.nextafter(top, bottom))  # the step beyond the largest value
    up = rounding in ("towards-positive",)
    down = rounding in ("towards-negative",)
    if rounding.startswith("nearest"):
        over_hi, over_lo = wide >= high + gap / 2, wide <= low - gap / 2
    else:
        over_hi = wide > high if up else wide >= high + gap
        over_lo = wide < low if down else wide <= low - gap
    if low > 0:  # float8_e8m0fnu has no zero: nothing rounds below its smallest value
        over_lo = np.zeros(wide.shape, bool) if up else wide < low
    return over_hi & np.isfinite(wide), over_lo & np.isfinite(wide)


def _round_float(
    near: np.ndarray[Any, Any],
    high: np.ndarray[Any, Any],
    low: np.ndarray[Any, Any],
    rounding: Rounding,
) -> np.ndarray[Any, Any]:
    """Round the values ``high + low`` (exactly; ``near`` is a value of the target type
    at most one step away) to the target type by ``rounding``: take the two neighbours
    bracketing each value, then the one the rounding picks."""
    info = float_info(near.dtype)
    bottom, top = np.full_like(near, info.min), np.full_like(near, info.max)
    finite = np.isfinite(high)
    with np.errstate(invalid="ignore"):
        above = np.where(finite, (near.astype(np.float64) - high) - low, 0)  # near - value
        lower = np.where(above <= 0, near, np.nextafter(near, bottom))
        upper = np.where(above >= 0, near, np.nextafter(near, top))
        to_low = low - (lower.astype(np.float64) - high)  # value - lower
        to_high = (upper.astype(np.float64) - high) - low  # upper - value
    if rounding == "towards-zero":
        pick_low = high + low >= 0
    elif rounding in ("towards-positive", "towards-negative"):
        pick_low = np.full(near.shape, rounding == "towards-negative")
    else:
        if rounding == "nearest-even":
            tie_low = (lower.view(f"u{near.itemsize}") & 1) == 0
        else:
            tie_low = np.abs(lower.astype(np.float64)) > np.abs(upper.astype(np.float64))
        pick_low = (to_low < to_high) | ((to_low == to_high) & tie_low)
    return np.where(pick_low | ~finite, lower, upper)
