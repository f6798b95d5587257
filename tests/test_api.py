"""Creating and opening arrays and groups: modes, formats, errors, nothing written on failure."""

import json
import warnings

import numpy as np
import pytest
from optional import needs, optional

import zarrkit
import zarrkit.api.synchronous
from zarrkit.errors import (
    ContainsArrayError,
    MetadataError,
    NodeExistsError,
    NodeNotFoundError,
    NodeTypeError,
    ReadOnlyError,
    UnknownCodecError,
    ZarrDeprecationWarning,
    ZarrRuntimeWarning,
    ZarrUserWarning,
)
from zarrkit.storage import LocalStore, MemoryStore

zarr = optional("zarr")


@pytest.fixture(params=[2, 3])
def fmt(request):
    return request.param


def test_create_and_reopen_local(tmp_path, fmt):
    a = zarrkit.create_array(
        tmp_path / "a", shape=(10, 7), chunks=(4, 3), dtype="i4", zarr_format=fmt, fill_value=5
    )
    a[2:9, 1:6] = np.arange(35).reshape(7, 5)
    b = zarrkit.open_array(tmp_path / "a", mode="r")
    assert b.zarr_format == fmt and b.shape == (10, 7) and b.chunks == (4, 3)
    assert b.dtype == np.dtype("i4") and b.fill_value == 5
    expected = np.full((10, 7), 5, "i4")
    expected[2:9, 1:6] = np.arange(35).reshape(7, 5)
    np.testing.assert_array_equal(b[:], expected)
    np.testing.assert_array_equal(np.asarray(b), expected)


def test_path_and_urls(tmp_path):
    zarrkit.create_array(f"file://{tmp_path}/u", shape=(3,), dtype="u1")
    assert zarrkit.open_array(str(tmp_path / "u")).shape == (3,)
    mem = zarrkit.create_array("memory://demo-test-urls", shape=(2,), dtype="f8", fill_value=1.5)
    again = zarrkit.open_array("memory://demo-test-urls")
    assert again.shape == (2,) and mem.fill_value == again.fill_value == 1.5


def test_modes(tmp_path):
    where = tmp_path / "m"
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(where, mode="r")
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(where, mode="r+")
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(where, mode="a")
    a = zarrkit.open_array(where, mode="a", shape=(4,), dtype="i2")
    a[:] = 3
    with pytest.raises(NodeExistsError):
        zarrkit.open_array(where, mode="w-", shape=(4,), dtype="i2")
    r = zarrkit.open_array(where, mode="r")
    with pytest.raises(ReadOnlyError):
        r[0] = 1
    with pytest.raises(ReadOnlyError):
        r.attrs["x"] = 1
    with pytest.raises(ReadOnlyError):
        r.resize(10)
    w = zarrkit.open_array(where, mode="w", shape=(2,), dtype="f4")
    assert w.shape == (2,) and w[:].tolist() == [0.0, 0.0]
    assert list(LocalStore(where).list()) == ["zarr.json"]
    with pytest.raises(ValueError, match="mode"):
        zarrkit.open_array(where, mode="x")


def test_open_autodetects_array_and_group(tmp_path, fmt):
    zarrkit.create_array(tmp_path / "arr", shape=(3,), dtype="i1", zarr_format=fmt)
    zarrkit.create_group(tmp_path / "grp", zarr_format=fmt)
    assert isinstance(zarrkit.open(tmp_path / "arr", mode="r"), zarrkit.Array)
    g = zarrkit.open(tmp_path / "grp", mode="r")
    assert isinstance(g, zarrkit.Group) and g.zarr_format == fmt
    with pytest.raises(NodeTypeError):
        zarrkit.open_group(tmp_path / "arr", mode="r")
    with pytest.raises(NodeTypeError):
        zarrkit.open_array(tmp_path / "grp", mode="r")
    with pytest.raises(NodeNotFoundError):
        zarrkit.open(tmp_path / "nothing", mode="r")
    assert isinstance(zarrkit.open(tmp_path / "new", mode="a"), zarrkit.Group)
    assert isinstance(zarrkit.open(tmp_path / "new2", mode="a", shape=(2,)), zarrkit.Array)


class _PerRequestStore(MemoryStore):
    """A store whose every key costs a request (as object stores), recording the keys read."""

    native_concurrency = True

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def _get_many(self, keys):
        self.read += keys
        return super()._get_many(keys)


def test_opening_where_each_document_is_a_request_reads_v3_first(fmt):
    store = _PerRequestStore()
    zarrkit.create_array(store, name="a", shape=(3,), dtype="i1", zarr_format=fmt)
    store.read.clear()
    assert zarrkit.open_array(store, path="a", mode="r").zarr_format == fmt
    expected = (
        ["a/zarr.json"] if fmt == 3 else ["a/zarr.json", "a/.zarray", "a/.zgroup", "a/.zattrs"]
    )
    assert store.read == expected


def test_zarr_format_filter(tmp_path):
    zarrkit.create_array(tmp_path / "v2", shape=(3,), dtype="i1", zarr_format=2)
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(tmp_path / "v2", mode="r", zarr_format=3)
    assert zarrkit.open_array(tmp_path / "v2", mode="r", zarr_format=2).zarr_format == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"shape": (-1,)}, MetadataError),
        ({"shape": (4,), "chunks": (0,)}, MetadataError),
        ({"shape": (4,), "chunks": (2, 2)}, MetadataError),
        ({"shape": (4,), "dtype": "nope"}, MetadataError),
        ({"shape": (4,), "dtype": "u1", "fill_value": 256}, MetadataError),
        ({"shape": (4,), "compressors": {"name": "nonexistent"}}, UnknownCodecError),
        ({"shape": (4,), "zarr_format": 4}, MetadataError),
        ({"shape": (4,), "zarr_format": 2, "dimension_names": ["x"]}, MetadataError),
        ({"shape": (4,), "dimension_names": ["x", "y"]}, MetadataError),
        ({"shape": (4,), "order": "Q"}, MetadataError),
        (
            {"shape": (4,), "chunk_key_encoding": {"name": "default", "separator": "-"}},
            MetadataError,
        ),
    ],
)
def test_failed_create_writes_nothing(kwargs, error):
    store = MemoryStore()
    with pytest.raises(error):
        zarrkit.create_array(store, name="x/y", **kwargs)
    assert list(store.list()) == []


def test_overwrite_replaces_node_and_its_chunks(tmp_path, fmt):
    a = zarrkit.create_array(tmp_path, shape=(4,), chunks=(2,), dtype="i4", zarr_format=fmt)
    a[:] = 9
    with pytest.raises(NodeExistsError):
        zarrkit.create_array(tmp_path, shape=(4,), dtype="i4", zarr_format=fmt)
    b = zarrkit.create_array(
        tmp_path, shape=(4,), chunks=(2,), dtype="i4", overwrite=True, zarr_format=fmt
    )
    assert b[:].tolist() == [0, 0, 0, 0]


def test_implicit_parent_groups(fmt):
    store = MemoryStore()
    zarrkit.create_array(store, name="a/b/c", shape=(2,), dtype="i1", zarr_format=fmt)
    root = zarrkit.open_group(store, mode="r")
    assert root.zarr_format == fmt
    assert isinstance(root["a"], zarrkit.Group) and isinstance(root["a/b/c"], zarrkit.Array)
    with pytest.raises(NodeTypeError):
        zarrkit.create_array(store, name="a/b/c/d", shape=(2,), dtype="i1", zarr_format=fmt)


def test_convenience_constructors():
    z = zarrkit.zeros((3, 3), chunks=(2, 2), dtype="i2")
    o = zarrkit.ones((2,), dtype="f4")
    f = zarrkit.full((2, 2), 7.5)
    e = zarrkit.empty((2,), dtype="u1")
    a = zarrkit.array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    assert z[:].sum() == 0 and o[:].tolist() == [1.0, 1.0] and (f[:] == 7.5).all()
    assert e.shape == (2,) and a[:].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert a.chunks == (1, 2)
    zl = zarrkit.zeros_like(a)
    assert zl.shape == a.shape and zl.dtype == a.dtype and zl.chunks == a.chunks
    assert (zarrkit.ones_like(a)[:] == 1).all()
    assert (zarrkit.full_like(a, 4)[:] == 4).all()
    assert zarrkit.empty_like(np.zeros((5, 2), "f2")).shape == (5, 2)
    c = zarrkit.create(
        (10,),
        chunks=(5,),
        dtype="i4",
        zarr_format=2,
        dimension_separator="/",
        compressor={"id": "zlib", "level": 1},
    )
    assert c.metadata.dimension_separator == "/" and c.metadata.compressor["id"] == "zlib"


def test_create_array_with_data():
    data = np.arange(20, dtype="i8").reshape(4, 5)
    a = zarrkit.create_array(data=data, chunks=(3, 3))
    np.testing.assert_array_equal(a[:], data)


def test_chunks_auto_and_minus_one():
    a = zarrkit.create_array(shape=(10, 20), dtype="u1", chunks=(-1, 5))
    assert a.chunks == (10, 5)
    big = zarrkit.create_array(shape=(10000, 10000), dtype="f8")
    nbytes = np.prod(big.chunks) * 8
    assert 256 * 1024 <= nbytes <= 64 * 2**20, big.chunks


def test_v3_json_matches_zarr_python_layout(tmp_path):
    zarrkit.create_array(
        tmp_path,
        shape=(5, 7),
        chunks=(2, 3),
        dtype="f8",
        attributes={"x": 1},
        dimension_names=["a", "b"],
    )
    doc = json.loads((tmp_path / "zarr.json").read_text())
    assert list(doc) == [
        "shape",
        "data_type",
        "chunk_grid",
        "chunk_key_encoding",
        "fill_value",
        "codecs",
        "attributes",
        "dimension_names",
        "zarr_format",
        "node_type",
        "storage_transformers",
    ]
    assert doc["codecs"] == [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 0, "checksum": False}},
    ]


def test_v2_big_endian_round_trip(tmp_path):
    a = zarrkit.create_array(
        tmp_path, shape=(6,), chunks=(4,), dtype=">i4", zarr_format=2, compressors=None
    )
    a[:] = np.arange(6)
    raw = (tmp_path / "0").read_bytes()
    assert raw == np.arange(4, dtype=">i4").tobytes()
    assert zarrkit.open_array(tmp_path)[:].tolist() == list(range(6))


def test_v2_order_f(tmp_path):
    data = np.arange(12, dtype="<i2").reshape(3, 4)
    a = zarrkit.create_array(
        tmp_path,
        shape=(3, 4),
        chunks=(3, 4),
        dtype="<i2",
        zarr_format=2,
        order="F",
        compressors=None,
    )
    a[:] = data
    assert (tmp_path / "0.0").read_bytes() == data.tobytes(order="F")
    np.testing.assert_array_equal(zarrkit.open_array(tmp_path)[:], data)


# --- zarr-python's synchronous API ---------------------------------------------------------


def test_every_zarr_python_name_is_exported():
    needs("zarr")
    # zarr-python's names plus zarrkit's own functions; submodules stay out of a star import
    assert set(zarrkit.__all__) - set(zarr.__all__) == {"from_dask", "store_dask"}
    assert set(zarr.__all__) <= set(zarrkit.__all__)
    assert {"storage", "codecs", "errors", "config"} <= set(dir(zarrkit))
    for name in zarr.api.synchronous.__all__:
        assert callable(getattr(zarrkit.api.synchronous, name)), name
    assert zarrkit.api.synchronous.__all__ == zarr.api.synchronous.__all__


def test_save_and_load_an_array(tmp_path):
    zarrkit.save(tmp_path / "one.zarr", np.arange(10))
    np.testing.assert_array_equal(zarrkit.load(tmp_path / "one.zarr"), np.arange(10))
    with pytest.raises(ContainsArrayError):  # save_array does not replace by default
        zarrkit.save_array(tmp_path / "one.zarr", np.arange(3))
    zarrkit.save_array(tmp_path / "one.zarr", np.arange(3), mode="w")
    assert zarrkit.load(tmp_path / "one.zarr").tolist() == [0, 1, 2]


def test_save_and_load_a_group():
    store = MemoryStore()
    zarrkit.save(store, np.arange(3), np.ones(2), path="g", named=np.zeros(4), zarr_format=2)
    group = zarrkit.open_group(store, path="g")
    assert sorted(group) == ["arr_0", "arr_1", "named"] and group.zarr_format == 2
    loaded = zarrkit.load(store, path="g")
    assert sorted(loaded) == ["arr_0", "arr_1", "named"]
    np.testing.assert_array_equal(loaded["named"], np.zeros(4))
    np.testing.assert_array_equal(zarrkit.load(store, path="g/arr_0"), np.arange(3))


def test_save_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one array"):
        zarrkit.save(tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="at least one array"):
        zarrkit.save_group(tmp_path / "x.zarr")
    with pytest.raises(TypeError, match="mode"):  # a keyword that is no array
        zarrkit.save(tmp_path / "x.zarr", np.arange(2), mode="w")
    assert not (tmp_path / "x.zarr").exists()


def test_from_array_keeps_a_zarr_arrays_layout():
    source = zarrkit.create_array(
        {}, shape=(6, 4), chunks=(2, 4), dtype="i2", fill_value=-1, attributes={"u": "m"},
        compressors={"name": "gzip", "configuration": {"level": 1}}, dimension_names=["t", "x"],
    )  # fmt: skip
    source[:] = np.arange(24).reshape(6, 4)
    copy = zarrkit.from_array({}, data=source)
    assert (copy.chunks, copy.fill_value, dict(copy.attrs)) == ((2, 4), -1, {"u": "m"})
    assert [c.to_json()["name"] for c in copy.compressors] == ["gzip"]
    assert copy.dimension_names == ("t", "x")
    np.testing.assert_array_equal(copy[:], source[:])
    v2 = zarrkit.from_array({}, data=source, zarr_format=2, chunks=(3, 4), write_data=False)
    assert (v2.zarr_format, v2.chunks, v2.compressor.codec_id, v2.nchunks_initialized) == (
        2,
        (3, 4),
        "gzip",
        0,
    )


def test_from_array_and_array_of_numpy_data():
    data = np.arange(12, dtype="f4").reshape(3, 4)
    a = zarrkit.from_array({}, data=data, chunks=(1, 4), name="x")
    assert a.path == "x" and a.chunks == (1, 4) and a[2].tolist() == [8, 9, 10, 11]
    b = zarrkit.array(data, store={}, chunks=(2, 2))
    assert b.chunks == (2, 2) and b.dtype == np.dtype("f4")
    np.testing.assert_array_equal(zarrkit.array(b, store={})[:], data)  # a zarrkit array


def test_like_functions_take_overrides():
    template = zarrkit.create_array({}, shape=(4, 4), chunks=(2, 2), dtype="i2", fill_value=3)
    bigger = zarrkit.zeros_like(template, shape=(8, 8), chunks=(4, 4))
    assert (bigger.shape, bigger.chunks, bigger.dtype) == ((8, 8), (4, 4), np.dtype("i2"))
    assert zarrkit.full_like(template)[:].max() == 3
    assert zarrkit.full_like(template, fill_value=5)[0, 0] == 5
    assert zarrkit.empty_like(template).fill_value == 3
    assert zarrkit.ones_like(np.zeros((2, 3), "u1"), dtype="f8").dtype == np.dtype("f8")


def test_open_like(tmp_path):
    template = zarrkit.create_array({}, shape=(5,), chunks=(2,), dtype="u2")
    opened = zarrkit.open_like(template, str(tmp_path / "like.zarr"))
    assert (opened.shape, opened.chunks, opened.dtype) == ((5,), (2,), np.dtype("u2"))
    again = zarrkit.open_like(template, str(tmp_path / "like.zarr"))  # now it exists
    assert again.metadata == opened.metadata


def test_create_takes_zarr_pythons_older_keywords():
    a = zarrkit.create(shape=200, chunk_shape=20, store={})
    assert a.chunks == (20,)
    b = zarrkit.create(
        shape=(4, 4), chunks=(2, 2), dtype="i4", store={}, codecs=["bytes", "crc32c"],
        chunk_key_encoding=("default", "."),
    )  # fmt: skip
    assert [c.to_json()["name"] for c in b.compressors] == ["crc32c"]
    b[:] = 1
    assert b.store.get("c.0.0") is not None
    for name in ("chunk_store", "cache_attrs", "cache_metadata", "meta_array", "read_only"):
        with pytest.warns(ZarrRuntimeWarning, match=f"{name} is not yet implemented"):
            zarrkit.create(shape=(1,), store={}, **{name: 1})
    with pytest.raises(TypeError, match="unexpected arguments: bogus"):
        zarrkit.create(shape=(1,), store={}, bogus=1)
    with pytest.raises(ValueError, match="differ"), pytest.warns(ZarrDeprecationWarning):
        zarrkit.create(shape=(1,), store={}, zarr_version=2, zarr_format=3)


def test_copy_all_and_copy_store_say_what_to_use():
    for function in (zarrkit.copy_all, zarrkit.copy_store):
        with pytest.raises(NotImplementedError, match=r"zarrkit\.copy"):
            function({}, {})


def test_tree_function_is_deprecated_for_group_tree():
    root = zarrkit.group({})
    root.create_group("a")
    with pytest.warns(ZarrDeprecationWarning):
        assert str(zarrkit.tree(root)) == str(root.tree())


def test_v3_consolidation_warns_as_zarr_python_does():
    store = MemoryStore()
    zarrkit.group(store).create_group("a")
    with pytest.warns(ZarrUserWarning, match="not part in the Zarr format 3 specification"):
        zarrkit.consolidate_metadata(store)
    v2 = MemoryStore()
    zarrkit.group(v2, zarr_format=2).create_group("a")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zarrkit.consolidate_metadata(v2)


def test_print_debug_info(capsys):
    zarrkit.print_debug_info()
    out = capsys.readouterr().out
    assert f"zarrkit: {zarrkit.__version__}" in out and "numpy: " in out


@pytest.mark.parametrize("mode", ["w", "a"])
@pytest.mark.parametrize("kind", ["array", "group"])
def test_writing_over_a_folder_keeps_files_that_are_no_zarr_node(tmp_path, mode, kind):
    # zarrkit's choice (docs/migrating.md): mode "w" and overwrite=True replace a Zarr
    # node, never files that are none; zarr-python deletes everything under the path
    (tmp_path / "notes.txt").write_text("mine")
    if kind == "array":
        zarrkit.open_array(tmp_path, mode=mode, shape=(2,), dtype="i1")
    else:
        zarrkit.open_group(tmp_path, mode=mode)
    assert (tmp_path / "notes.txt").read_text() == "mine"
