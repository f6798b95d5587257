"""Assertions shared by the interop tests: values, metadata documents, stored bytes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

# Keys every reader must report; the others may be missing when a peer cannot say.
CORE_V2 = {
    "zarr_format",
    "shape",
    "chunks",
    "dtype",
    "fill_value",
    "order",
    "filters",
    "compressor",
}
CORE_V3 = {"zarr_format", "shape", "chunk_shape", "data_type", "fill_value", "codecs"}


def same_json(a: Any, b: Any) -> bool:
    """JSON equality where ``True`` is not ``1`` (but ``1`` is ``1.0``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def assert_values_equal(got: Any, want: np.ndarray, where: str) -> None:
    """Same shape, same value type (byte order aside) and equal values, NaN equal to NaN."""
    got = np.asarray(got)
    assert got.shape == want.shape, f"{where}: shape {got.shape}, expected {want.shape}"
    native = got.dtype.newbyteorder("="), want.dtype.newbyteorder("=")
    assert native[0] == native[1], f"{where}: dtype {got.dtype}, expected {want.dtype}"
    same = got == want
    if want.dtype.kind in "fc":
        same |= np.isnan(got) & np.isnan(want)
    if not np.all(same):
        bad = np.argwhere(~same)
        first = tuple(int(i) for i in bad[0]) if len(bad) else ()
        got_one, want_one = got[first], want[first]
        raise AssertionError(
            f"{where}: {len(bad)} values differ; first at {first}: got {got_one!r}, "
            f"expected {want_one!r}"
        )


def assert_doc_equal(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    """Canonical documents agree on every key ``got`` reports, which include the core keys."""
    core = CORE_V2 if want["zarr_format"] == 2 else CORE_V3
    missing = sorted(core - got.keys())
    assert not missing, f"{where}: metadata lacks {missing}"
    diffs = [
        f"  {key}: got {json.dumps(got[key])}, expected {json.dumps(want.get(key))}"
        for key in sorted(got)
        if not same_json(got[key], want.get(key))
    ]
    assert not diffs, f"{where}: metadata differs:\n" + "\n".join(diffs)
