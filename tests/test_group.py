import contextlib

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import (
    ContainsGroupError,
    InvalidKeyError,
    NodeNotFoundError,
    NodeTypeError,
    ReadOnlyError,
    ZarrDeprecationWarning,
    ZarrUserWarning,
)
from zarrkit.nodes.consolidated import check
from zarrkit.storage import MemoryStore


@pytest.fixture(params=[2, 3])
def root(request):
    return zarrkit.group(MemoryStore(), zarr_format=request.param, attributes={"top": True})


def test_hierarchy(root):
    climate = root.create_group("climate", attributes={"k": 1})
    t2m = climate.create_array("t2m", shape=(2, 3), dtype="f4")
    root.create_array("z", shape=(4,), dtype="i1")
    root.create_group("a/b")
    assert t2m.zarr_format == root.zarr_format == climate.zarr_format
    assert root.attrs["top"] is True and climate.attrs.asdict() == {"k": 1}
    assert sorted(root) == ["a", "climate", "z"]
    assert "climate/t2m" in root and "nope" not in root
    assert isinstance(root["climate/t2m"], zarrkit.Array)
    assert root["climate/t2m"].path == "climate/t2m"
    assert list(root.array_keys()) == ["z"] and list(root.group_keys()) == ["a", "climate"]
    assert [n for n, _ in root.members(max_depth=None)] == [
        "a",
        "a/b",
        "climate",
        "climate/t2m",
        "z",
    ]
    assert len(root) == 3
    assert str(root.tree()) == "\n".join(
        [
            "/",
            "├── a",
            "│   └── b",
            "├── climate",
            "│   └── t2m (2, 3) float32",
            "└── z (4,) int8",
        ]
    )
    with pytest.raises(KeyError):
        root["missing"]


def test_require(root):
    g = root.require_group("g")
    assert root.require_group("g").path == g.path
    a = root.require_array("arr", shape=(3,), dtype="i2")
    a[:] = 1
    assert root.require_array("arr", shape=(3,), dtype="i2")[:].tolist() == [1, 1, 1]
    with pytest.raises(NodeTypeError):
        root.require_array("arr", shape=(4,), dtype="i2")
    with pytest.raises(NodeTypeError):
        root.require_group("arr")
    with pytest.raises(NodeTypeError):
        root.require_array("g", shape=(3,))


def test_attrs_persist(root):
    root.attrs["x"] = [1, 2]
    root.attrs.update({"y": "z"})
    del root.attrs["top"]
    again = zarrkit.open_group(root.store, mode="r")
    assert again.attrs.asdict() == {"x": [1, 2], "y": "z"}
    with pytest.raises(ReadOnlyError):
        again.attrs["w"] = 1
    with pytest.raises(ReadOnlyError):
        again.create_group("new")


def test_delete_member(root):
    root.create_array("gone", shape=(2,), dtype="i1")[:] = 1
    del root["gone"]
    assert "gone" not in root and list(root.store.list_prefix("gone/")) == []
    with pytest.raises(NodeNotFoundError):
        del root["gone"]


# --- zarr-python's Group API -------------------------------------------------------------


def test_from_store_and_open():
    store = MemoryStore()
    g = zarrkit.Group.from_store(store, attributes={"a": 1}, zarr_format=2)
    assert (g.zarr_format, g.path, dict(g.attrs)) == (2, "", {"a": 1})
    with pytest.raises(ContainsGroupError):
        zarrkit.Group.from_store(store, zarr_format=2)
    again = zarrkit.Group.from_store(store, zarr_format=2, overwrite=True)
    assert dict(again.attrs) == {}
    assert zarrkit.Group.open(store) == again
    assert zarrkit.Group.from_store(store, zarr_format=3).zarr_format == 3  # v3 beside v2


def test_info(root):
    a = root.create_group("a")
    a.create_array("x", shape=(2,), dtype="i1")
    a.create_group("b").create_array("y", shape=(1,), dtype="i1")
    assert repr(a.info).splitlines() == [
        "Name        : a",
        "Type        : Group",
        f"Zarr format : {root.zarr_format}",
        "Read-only   : False",
        "Store type  : MemoryStore",
    ]
    assert repr(a.info_complete()).splitlines()[5:] == [
        "No. members : 3",
        "No. arrays  : 2",
        "No. groups  : 1",
    ]


def test_member_views(root):
    root.create_group("g").create_group("deep")
    z = root.create_array("z", shape=(1,), dtype="i1")
    assert list(root.keys()) == ["g", "z"]
    assert root.nmembers() == 2 and root.nmembers(max_depth=None) == 3
    assert list(root.array_values()) == [z] and [g.path for g in root.group_values()] == ["g"]
    assert root.get("g/deep").path == "g/deep" and root.get("nope", 8) == 8
    with pytest.raises(ValueError, match="max_depth"):
        root.members(max_depth=-1)


def test_objects_that_are_no_node_are_skipped_with_a_warning(root):
    root.create_group("g")
    root.store.set("stray/file.txt", b"x")
    with pytest.warns(ZarrUserWarning, match="Object at stray is not recognized"):
        assert [name for name, _ in root.members()] == ["g"]


def test_tree_levels_and_budget(root):
    root.create_group("a").create_group("b").create_array("c", shape=(1,), dtype="i1")
    root.create_array("z", shape=(2,), dtype="u1")
    # zarr-python's level: members(max_depth=level), so 0 is the children only
    assert str(root.tree(level=0)).splitlines() == ["/", "├── a", "└── z (2,) uint8"]
    assert str(root.tree(level=1)).splitlines()[:3] == ["/", "├── a", "│   └── b"]
    assert "c (1,)" not in str(root.tree(level=1)) and "c (1,)" in str(root.tree(level=2))
    lines = str(root.tree(max_nodes=3)).splitlines()
    assert lines[:4] == ["/", "├── a", "│   └── b", "└── z (2,) uint8"]  # nearest levels first
    assert lines[4].startswith("Truncated at max_nodes=3")
    assert str(root.tree(expand=True, plain=True)) == str(root.tree())


def test_setitem_writes_an_array_and_replaces(root):
    root["x"] = np.arange(6).reshape(2, 3)
    assert root["x"].shape == (2, 3) and root["x"][1].tolist() == [3, 4, 5]
    root["x"] = np.zeros(4, dtype="u1")
    assert root["x"].dtype == np.dtype("u1") and root["x"][:].tolist() == [0, 0, 0, 0]


def test_move(root):
    src = root.create_group("src", attributes={"k": 1})
    src.create_array("data", shape=(4,), chunks=(2,), dtype="i2")[:] = [1, 2, 3, 4]
    root.move("src", "elsewhere/dst")
    assert "src" not in root and list(root.store.list_prefix("src/")) == []
    moved = root["elsewhere/dst"]
    assert moved.attrs["k"] == 1 and moved["data"][:].tolist() == [1, 2, 3, 4]
    root.move("elsewhere/dst/data", "top")
    assert root["top"][:].tolist() == [1, 2, 3, 4]
    root.create_group("taken")
    with pytest.raises(ContainsGroupError):
        root.move("top", "taken")
    with pytest.raises(InvalidKeyError, match="inside itself"):
        root.move("elsewhere", "elsewhere/dst/x")
    with pytest.raises(KeyError):
        root.move("missing", "anywhere")


def test_move_keeps_consolidated_metadata_current(root):
    root.create_group("a").create_array("x", shape=(1,), dtype="i1")
    with pytest.warns(ZarrUserWarning) if root.zarr_format == 3 else contextlib.nullcontext():
        zarrkit.consolidate_metadata(root.store)
    root.move("a", "b")
    assert check(root.store) == []
    assert sorted(zarrkit.open_consolidated(root.store)) == ["b"]


def test_require_groups_and_arrays(root):
    a, b = root.require_groups("a", "b/c")
    assert (a.path, b.path) == ("a", "b/c")
    root.require_array("i", shape=(3,), dtype="i4")
    assert root.require_array("i", shape=3, dtype="i8").dtype == np.dtype("i4")  # castable
    with pytest.raises(TypeError, match="Incompatible dtype"):
        root.require_array("i", shape=(3,), dtype="i8", exact=True)
    with pytest.raises(TypeError, match="Incompatible dtype"):
        root.require_array("i", shape=(3,), dtype="i2")
    with pytest.raises(TypeError, match="Incompatible shape"):
        root.require_array("i", shape=(4,), dtype="i4")
    with pytest.raises(TypeError, match="Incompatible object"):
        root.require_array("a", shape=(3,))
    assert root.require_group("a", overwrite=True).path == "a"


def test_zarr_python_2_names(root):
    with pytest.warns(ZarrDeprecationWarning, match="Group.create_array instead"):
        ds = root.create_dataset("d", shape=(3,), dtype="i1", data=np.arange(3, dtype="i1"))
    assert ds[:].tolist() == [0, 1, 2]
    with pytest.warns(ZarrDeprecationWarning, match="Group.require_array instead"):
        assert root.require_dataset("d", shape=(3,), dtype="i1") == ds
    with pytest.warns(ZarrDeprecationWarning), pytest.warns(ZarrUserWarning, match="compressor"):
        plain = root.array("p", shape=(2,), dtype="f4")
    assert plain.compressors == ()  # zarr-python's Group.array: no compressor by default


def test_creation_shortcuts(root):
    assert root.zeros(name="z", shape=(2,), chunks=(1,))[:].tolist() == [0, 0]
    assert root.ones(name="o", shape=(2,), dtype="i1")[:].tolist() == [1, 1]
    assert root.full(name="f", shape=(2,), fill_value=7)[:].tolist() == [7, 7]
    assert root.empty(name="e", shape=(2,), dtype="u1").fill_value == 0
    template = np.arange(6, dtype="i2").reshape(2, 3)
    like = root.full_like(name="fl", data=root["f"])
    assert like.shape == (2,) and like[:].tolist() == [7, 7]
    assert root.ones_like(name="ol", data=template).dtype == np.dtype("i2")
    assert root.zeros_like(name="zl", data=template, shape=(4, 4)).shape == (4, 4)
    assert root.empty_like(name="el", data=root["o"]).dtype == np.dtype("i1")
    assert root.create("c", shape=(1,), dtype="i1").path == "c"


def test_equality(root):
    g = root.create_group("g", attributes={"x": 1})
    assert root["g"] == g and hash(root["g"]) == hash(g)
    assert root != g and root.create_group("h", attributes={"x": 1}) != g  # another path
    assert g.synchronizer is None


def test_zarr_python_spellings_of_group_methods(root):
    import asyncio

    root.require_group("sub", True)  # overwrite given by position, as zarr-python allows
    assert asyncio.run(root.update_attributes_async({"n": 2})).attrs["n"] == 2
    assert zarrkit.open_group(root.store, mode="r").attrs["n"] == 2
    with pytest.warns(DeprecationWarning):
        a = root.create_dataset("d", shape=(3,), dtype="i2")
    with pytest.warns(DeprecationWarning):
        assert root.require_dataset("d", shape=(3,), dtype="i2", exact=True) == a
    assert a.store_path.store is root.store and a.store_path.path == "d"
    assert root.store_path.path == ""


def test_group_create_array_shows_the_keywords_it_takes():
    import inspect

    params = inspect.signature(zarrkit.Group.create_array).parameters
    assert list(params)[:2] == ["self", "name"] and {"shape", "dtype", "compressor"} <= set(params)
    assert inspect.signature(zarrkit.Group.array).parameters["compressor"].default is None
