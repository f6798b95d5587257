import pytest

import zarrkit
from zarrkit.errors import NodeNotFoundError, NodeTypeError, ReadOnlyError
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
