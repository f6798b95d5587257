"""Array reads and writes through the engine: edges, fill values, empty chunks, info."""

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import CodecError, ShapeMismatchError
from zarrkit.storage import LocalStore, MemoryStore


@pytest.fixture(params=[2, 3])
def fmt(request):
    return request.param


def make(fmt, shape=(10, 7), chunks=(4, 3), dtype="i4", **kwargs):
    return zarrkit.create_array(
        MemoryStore(), shape=shape, chunks=chunks, dtype=dtype, zarr_format=fmt, **kwargs
    )


def test_basic_selection_round_trip(fmt):
    a = make(fmt, fill_value=-1)
    ref = np.full((10, 7), -1, "i4")
    for key, value in [
        ((slice(None), slice(None)), np.arange(70).reshape(10, 7)),
        ((3, slice(1, 6)), 100),
        ((slice(1, 9, 3), slice(None, None, 2)), np.arange(12).reshape(3, 4)),
        ((-1, -1), 55),
        ((Ellipsis, 2), np.arange(10)),
    ]:
        a[key] = value
        ref[key] = value
        np.testing.assert_array_equal(a[:], ref)
    for key in [
        (slice(2, 9), 4),
        (Ellipsis,),
        (slice(None, None, 4),),
        (-3,),
        (2, -2),
        (slice(8, 100), slice(5, 2)),
    ]:
        np.testing.assert_array_equal(a[key], ref[key])
    assert isinstance(a[2, 3], np.int32) and a[2, 3] == ref[2, 3]


def test_missing_chunks_read_fill_value(fmt):
    a = make(fmt, dtype="f8", fill_value=float("nan"))
    a[0, 0] = 1.0
    out = a[:]
    assert out[0, 0] == 1.0 and np.isnan(out[1:, 1:]).all()


def test_write_empty_chunks_false_deletes_fill_chunks(fmt):
    a = make(fmt, fill_value=0)
    a[:] = 1
    assert a.nchunks_initialized == a.nchunks == 9
    a[:4, :3] = 0
    assert a.nchunks_initialized == 8
    a[:] = 0
    assert a.nchunks_initialized == 0
    b = zarrkit.create_array(
        MemoryStore(), shape=(4,), chunks=(2,), dtype="f4", fill_value=float("nan"), zarr_format=fmt
    )
    b[:] = float("nan")
    assert b.nchunks_initialized == 0


def test_write_empty_chunks_true_keeps_them(fmt):
    a = zarrkit.create_array(
        MemoryStore(), shape=(4,), chunks=(2,), dtype="i1", zarr_format=fmt, write_empty_chunks=True
    )
    a[:] = 0
    assert a.nchunks_initialized == 2


def test_zero_d_and_zero_length(fmt):
    s = make(fmt, shape=(), chunks=(), dtype="f4", fill_value=2.5)
    assert s[()] == 2.5
    s[()] = 4.0
    assert s[...] == 4.0 and float(np.asarray(s)) == 4.0
    z = make(fmt, shape=(0, 5), chunks=(3, 3))
    assert z[:].shape == (0, 5)
    z[:] = 1
    assert z.nchunks == 0


def test_shape_mismatch_names_both_shapes(fmt):
    a = make(fmt)
    with pytest.raises(ShapeMismatchError, match=r"\(3,\).*\(10, 7\)"):
        a[:] = np.arange(3)


def test_corrupt_chunk_raises_naming_key(tmp_path, fmt):
    a = zarrkit.create_array(tmp_path, shape=(4,), chunks=(2,), dtype="i4", zarr_format=fmt)
    a[:] = 7
    key = "c/0" if fmt == 3 else "0"
    LocalStore(tmp_path).set(key, b"garbage-bytes-that-are-not-zstd")
    with pytest.raises(CodecError, match=key):
        a[:]
    with pytest.raises(CodecError):
        a[0] = 1  # a partial write must not replace a chunk it could not read
    assert LocalStore(tmp_path).get(key) == b"garbage-bytes-that-are-not-zstd"


def test_info_and_sizes(fmt):
    a = make(fmt, dtype="f8")
    a[:] = 1.5
    info = a.info_complete()
    text = repr(info)
    assert "Zarr format        : " + str(fmt) in text and "Shape              : (10, 7)" in text
    assert info.nchunks_initialized == 9 and info.nbytes_stored == a.nbytes_stored() > 0
    assert a.nbytes == 560 and a.size == 70 and a.ndim == 2 and len(a) == 10


def test_attrs_and_dimension_names():
    a = zarrkit.create_array(
        MemoryStore(), shape=(2, 3), dtype="i1", dimension_names=["x", None], attributes={"a": 1}
    )
    a.attrs["b"] = 2
    a.update_attributes({"c": 3})
    again = zarrkit.open_array(a.store)
    assert again.attrs.asdict() == {"a": 1, "b": 2, "c": 3}
    assert again.dimension_names == ("x", None)


@pytest.mark.parametrize("dtype", ["bool", "i1", "u2", "i8", "u8", "f2", "f4", "c8", "c16"])
def test_dtypes_round_trip(fmt, dtype):
    rng = np.random.default_rng(0)
    data = (rng.random((9, 5)) * 100).astype(dtype)
    a = make(fmt, shape=(9, 5), chunks=(4, 2), dtype=dtype)
    a[:] = data
    np.testing.assert_array_equal(zarrkit.open_array(a.store)[:], data)


def test_out_parameter(fmt):
    a = make(fmt)
    a[:] = np.arange(70).reshape(10, 7)
    out = np.zeros((3, 7), "i4")
    res = a.get_basic_selection(slice(2, 5), out=out)
    assert res is out and out[0, 0] == 14


def test_explicit_set_selections_and_chunk_sizes(fmt):
    a = make(fmt, fill_value=0)
    ref = np.zeros((10, 7), "i4")
    a.set_basic_selection((slice(1, 3), 2), [5, 6])
    ref[1:3, 2] = [5, 6]
    a.set_orthogonal_selection(([0, 9], [1, 6]), 7)
    ref[np.ix_([0, 9], [1, 6])] = 7
    a.set_coordinate_selection(([4, 5], [3, 0]), [8, 9])
    ref[[4, 5], [3, 0]] = [8, 9]
    mask = np.zeros((10, 7), bool)
    mask[6, 4] = True
    a.set_mask_selection(mask, 11)
    ref[mask] = 11
    a.set_block_selection((2, 2), 12)
    ref[8:10, 6:7] = 12
    np.testing.assert_array_equal(a[:], ref)
    assert a.read_chunk_sizes == ((4, 4, 2), (3, 3, 1))
    assert a.write_chunk_sizes == a.read_chunk_sizes
