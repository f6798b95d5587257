"""Array reads and writes through the engine: edges, fill values, empty chunks, info."""

import json
import pickle

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import (
    CodecError,
    MetadataError,
    ShapeMismatchError,
    ZarrDeprecationWarning,
    ZarrRuntimeWarning,
    ZarrUserWarning,
)
from zarrkit.nodes.array_config import ArrayConfig
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
        MemoryStore(),
        shape=(4,),
        chunks=(2,),
        dtype="i1",
        zarr_format=fmt,
        config={"write_empty_chunks": True},
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


@pytest.mark.parametrize("nbytes", [0, 1023, 1024, 8000, 2**20 - 1, 2**20, 5 * 2**30, 3 * 2**50])
def test_info_counts_bytes_as_zarr_python(nbytes):
    info = pytest.importorskip("zarr.core._info")
    a = zarrkit.create_array(MemoryStore(), shape=(nbytes,), chunks=(1024,), dtype="u1")
    (shown,) = [value for label, value in a.info.rows() if label == "No. bytes"]
    assert shown == info.byte_info(nbytes)


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


# --- zarr-python's Array API: config, order, equality, classmethods ------------------------


def test_v3_order_argument_warns_and_config_sets_the_memory_order():
    with pytest.warns(ZarrRuntimeWarning, match="`order` keyword argument has no effect"):
        c = zarrkit.create_array({}, shape=(3, 4), dtype="i2", order="F")
    f = zarrkit.create_array({}, shape=(3, 4), dtype="i2", config={"order": "F"})
    assert (c.order, f.order) == ("C", "F") and f.config == ArrayConfig("F", False)
    data = np.arange(12, dtype="i2").reshape(3, 4)
    c[:], f[:] = data, data
    assert c[:].flags.c_contiguous and f[:].flags.f_contiguous and f[1:, 1:].flags.f_contiguous
    np.testing.assert_array_equal(f[:], data)
    assert c.store.get("c/0/0") == f.store.get("c/0/0")  # v3 stores no order: same bytes


def test_v2_order_is_stored_and_sets_the_memory_order():
    a = zarrkit.create_array({}, shape=(3, 4), dtype="i2", zarr_format=2, order="F")
    b = zarrkit.create_array({}, shape=(3, 4), dtype="i2", zarr_format=2, config={"order": "F"})
    assert a.metadata.order == b.metadata.order == a.order == "F"
    assert a[:].flags.f_contiguous


def test_write_empty_chunks_argument_warns_and_is_honoured():
    with pytest.warns(ZarrRuntimeWarning, match="`write_empty_chunks` keyword argument"):
        a = zarrkit.zeros((4,), chunks=(2,), store={}, write_empty_chunks=True)
    a[:] = 0
    assert a.config.write_empty_chunks is True and a.nchunks_initialized == 2


def test_with_config_is_a_new_view_of_the_same_array():
    a = zarrkit.zeros((4,), chunks=(2,), store={})
    b = a.with_config({"write_empty_chunks": True})
    assert (a.config.write_empty_chunks, b.config.write_empty_chunks) == (False, True)
    assert a != b and b.with_config({"write_empty_chunks": False}) == a
    b[:2] = 0
    assert a.nchunks_initialized == 1
    with pytest.raises(MetadataError, match="unknown array config keys"):
        zarrkit.zeros((1,), store={}, config={"wirte_empty_chunks": True})


class SameContent(MemoryStore):
    """A store equal to any other holding the same keys and values (pickles by value)."""

    def __eq__(self, other):
        keys = sorted(self.list_prefix(""))
        return (
            isinstance(other, SameContent)
            and keys == sorted(other.list_prefix(""))
            and all(self.get(k) == other.get(k) for k in keys)
        )

    __hash__ = MemoryStore.__hash__


def test_arrays_are_equal_when_store_path_metadata_and_config_are():
    store = SameContent()
    a = zarrkit.create_array(store, name="x", shape=(3,), dtype="i4", attributes={"u": 1})
    assert a == zarrkit.open_array(store, path="x") == pickle.loads(pickle.dumps(a))
    assert a != zarrkit.create_array(store, name="y", shape=(3,), dtype="i4")
    other = zarrkit.open_array(store, path="x")
    other.attrs["u"] = 2
    assert a != other  # metadata differs now


def test_compressor_is_the_v2_compressor():
    v2 = zarrkit.create_array({}, shape=(2,), dtype="i1", zarr_format=2)
    assert v2.compressor == v2.compressors[0] and v2.compressor.codec_id == "zstd"
    assert (
        zarrkit.create_array({}, shape=(2,), dtype="i1", zarr_format=2, compressors=None).compressor
        is None
    )
    with pytest.raises(TypeError, match="not available for Zarr format 3"):
        _ = zarrkit.create_array({}, shape=(2,), dtype="i1").compressor


def test_classmethods_open_create_from_dict():
    store = MemoryStore()
    with pytest.warns(ZarrDeprecationWarning, match="create_array instead"):
        a = zarrkit.Array.create(store, shape=(10,), dtype="u1", chunk_shape=(5,), codecs=["bytes"])
    assert a.chunks == (5,) and a.compressors == () and zarrkit.Array.open(store) == a
    doc = a.metadata.to_json()
    again = zarrkit.Array.from_dict(store, doc)
    assert again.metadata == a.metadata and again.path == ""
    v2 = zarrkit.create_array({}, name="v2", shape=(2,), dtype="i1", zarr_format=2)
    assert zarrkit.Array.from_dict(v2.store, {**v2.metadata.to_json(), "attributes": {}}) != v2
    with pytest.raises(MetadataError):
        zarrkit.Array.from_dict(store, {"zarr_format": 3, "node_type": "group"})


def test_resize_takes_a_shape_or_its_items():
    a = zarrkit.zeros((4, 4), chunks=(2, 2), store={})
    a.resize((6, 2))
    assert a.shape == (6, 2)
    a.resize(3, 3)
    assert a.shape == (3, 3)


def test_cpu_buffer_prototype_is_accepted_others_refused():
    from zarr.core.buffer import default_buffer_prototype

    a = zarrkit.zeros((4,), store={})
    a.set_basic_selection(slice(None), 2, prototype=default_buffer_prototype())
    assert a.get_basic_selection(prototype=default_buffer_prototype()).tolist() == [2] * 4

    class GpuLike:
        buffer = nd_buffer = type("Buffer", (), {"__module__": "zarr.core.buffer.gpu"})

    with pytest.raises(NotImplementedError, match="not a CPU buffer prototype"):
        a.get_orthogonal_selection([1], prototype=GpuLike())


def test_regular_grid_counts_chunks():
    a = zarrkit.create_array({}, shape=(10, 4), chunks=(3, 4), dtype="i4")
    assert a.metadata.chunk_grid.get_nchunks((10, 4)) == 4 == a.nchunks


@pytest.mark.parametrize("shape", [(0, 2, 3), (0,), (3, 0)])
def test_zero_length_chunks_on_empty_dimensions(fmt, shape):
    chunks = tuple(n if n else 0 for n in shape)
    a = zarrkit.create_array({}, shape=shape, chunks=chunks, dtype="f8", zarr_format=fmt)
    assert a.chunks == chunks and a[...].shape == shape and a.nchunks == 0
    a[...] = 1.0  # nothing to write
    assert zarrkit.open_array(a.store).chunks == chunks
    with pytest.raises(MetadataError, match="0 only along an empty dimension"):
        zarrkit.create_array({}, shape=(2, 3), chunks=(0, 3), dtype="f8", zarr_format=fmt)


@pytest.mark.parametrize(
    ("dtype", "stored"),
    [
        ("i4", 0),
        ("f8", 0.0),
        ("bool", False),
        ("c8", [0.0, 0.0]),
        ("U3", ""),
        ("S3", ""),
        ([("a", "i4"), ("b", "f8")], "AAAAAAAAAAAAAAAA"),
        ("M8[s]", -(2**63)),  # NaT, as zarr-python 3 stores it
    ],
)
def test_v2_default_fill_value_is_stored_as_zarr_python_3_does(dtype, stored):
    store = MemoryStore()
    zarrkit.create_array(store, name="d", shape=(2,), dtype=dtype, zarr_format=2)
    assert json.loads(store.get("d/.zarray"))["fill_value"] == stored
    zarrkit.create_array(store, name="n", shape=(2,), dtype=dtype, zarr_format=2, fill_value=None)
    assert json.loads(store.get("n/.zarray"))["fill_value"] is None  # an explicit None: null


def test_v2_array_beside_a_v3_one_and_opening_prefers_v3():
    store = MemoryStore()
    zarrkit.create_array(store, shape=(10,), dtype="u1", fill_value=3)
    zarrkit.create_array(store, shape=(4,), dtype="u1", zarr_format=2)
    with pytest.warns(
        ZarrUserWarning, match=r"Both zarr.json .* and \.zarray .* Zarr v3 will be used"
    ):
        found = zarrkit.open(store)
    assert found.zarr_format == 3 and found.shape == (10,)
    assert zarrkit.open_array(store, zarr_format=2).shape == (4,)


def test_array_config_prints_as_zarr_pythons():
    """zarr-python's user guide prints ``arr.config``; zarrkit's own setting shows only when set."""
    a = zarrkit.create_array({}, shape=(4,), dtype="i1", config={"write_empty_chunks": True})
    assert repr(a.config) == "ArrayConfig(order='C', write_empty_chunks=True)"
    strict = a.with_config({"read_missing_chunks": False})
    assert repr(strict.config).endswith("read_missing_chunks=False)")
