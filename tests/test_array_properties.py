"""Array indexing through real zarrkit arrays checked against NumPy (hypothesis).

Every example builds an array in a MemoryStore — Zarr v2, v3, or v3 sharded, with a random
shape (0-d, empty and size-1 dimensions included) and random chunks (larger than the array
included) — stores random data, then reads and writes one selection in one mode and
compares with the same operation on a NumPy copy.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
from hypothesis import given

import zarrkit
from zarrkit.storage import MemoryStore
from zarrkit.testing import strategies as zst
from zarrkit.testing.oracle import orthogonal_get, orthogonal_set

LAYOUTS = ["v2", "v3", "v3-sharded"]
# every foundation dtype; big-endian forms are kept for v2 (v3 stores native order)
DTYPES = [
    "bool",
    "i1",
    "i2",
    "i4",
    "i8",
    "u1",
    "u2",
    "u4",
    "u8",
    "f2",
    "f4",
    "f8",
    "c8",
    "c16",
    ">i4",
    ">f8",
    ">c16",
]


@st.composite
def arrays(draw: st.DrawFn) -> tuple[zarrkit.Array, np.ndarray]:
    """A zarrkit array holding random data, and the same data as NumPy."""
    shape = draw(zst.shapes(max_dims=3, max_side=7))
    chunks = draw(zst.chunk_shapes(shape))
    layout = draw(st.sampled_from(LAYOUTS))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if layout != "v2":
        dtype = dtype.newbyteorder("=")
    shards = None
    if layout == "v3-sharded":
        shards = tuple(c * draw(st.integers(1, 3)) for c in chunks)
    a = zarrkit.create_array(
        MemoryStore(),
        shape=shape,
        chunks=chunks,
        shards=shards,
        dtype=dtype,
        fill_value=0,
        zarr_format=2 if layout == "v2" else 3,
    )
    seed = draw(st.integers(0, 2**16))
    data = np.array(np.random.default_rng(seed).random(shape) * 100).astype(dtype)
    a[...] = data
    return a, data


def value_for(shape: tuple[int, ...], dtype: np.dtype, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 100 + 200).astype(dtype)


@zst.profile()
@given(st.data())
def test_basic(data: st.DataObject) -> None:
    a, ref = data.draw(arrays())
    key = data.draw(zst.basic_selections(a.shape))
    np.testing.assert_array_equal(a[key], ref[key])
    value = value_for(np.shape(ref[key]), ref.dtype, data.draw(st.integers(0, 99)))
    a[key] = value
    ref[key] = value
    np.testing.assert_array_equal(a[...], ref)


@zst.profile()
@given(st.data())
def test_orthogonal(data: st.DataObject) -> None:
    a, ref = data.draw(arrays())
    key = data.draw(zst.orthogonal_selections(a.shape))
    expected = orthogonal_get(ref, key)
    np.testing.assert_array_equal(a.oindex[key], expected)
    value = value_for(expected.shape, ref.dtype, data.draw(st.integers(0, 99)))
    a.oindex[key] = value
    orthogonal_set(ref, key, value)
    np.testing.assert_array_equal(a[...], ref)


@zst.profile()
@given(st.data())
def test_coordinate_and_mask(data: st.DataObject) -> None:
    a, ref = data.draw(arrays())
    if not a.shape:
        return
    if data.draw(st.booleans()):
        key: Any = data.draw(zst.coordinate_selections(a.shape))
    else:
        key = data.draw(zst.mask_selections(a.shape))
    np.testing.assert_array_equal(a.vindex[key], ref[key])
    value = value_for(np.shape(ref[key]), ref.dtype, data.draw(st.integers(0, 99)))
    a.vindex[key] = value
    ref[key] = value  # repeated coordinates: the last write wins in both
    np.testing.assert_array_equal(a[...], ref)


@zst.profile()
@given(st.data())
def test_blocks(data: st.DataObject) -> None:
    a, ref = data.draw(arrays())
    if not a.shape:
        return
    index = tuple(data.draw(st.integers(0, max(n - 1, 0))) for n in a.cdata_shape)
    region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, a.chunks, strict=True))
    if all(n > 0 for n in a.shape):
        np.testing.assert_array_equal(a.blocks[index], ref[region])
        a.blocks[index] = 7
        ref[region] = 7
        np.testing.assert_array_equal(a[...], ref)


@zst.profile()
@given(st.data())
def test_auto_dispatch_matches_explicit_modes(data: st.DataObject) -> None:
    a, ref = data.draw(arrays())
    mode, key = data.draw(zst.auto_selections(a.shape))
    explicit = {
        "basic": a.get_basic_selection,
        "orthogonal": a.get_orthogonal_selection,
        "coordinate": a.get_coordinate_selection,
        "mask": a.get_mask_selection,
    }[mode]
    expected = orthogonal_get(ref, key) if mode == "orthogonal" else ref[key]
    np.testing.assert_array_equal(a[key], expected)
    np.testing.assert_array_equal(explicit(key), expected)
