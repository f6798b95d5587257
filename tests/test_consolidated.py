"""Consolidated metadata: the formats of zarr-python 2 and 3, serving groups without store
reads, staying current through every zarrkit write, and finding foreign changes."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit.errors import MetadataError, NodeNotFoundError, UnsupportedExtensionError
from zarrkit.nodes.consolidated import ConsolidatedGroup, Staleness, check
from zarrkit.nodes.groups import Group
from zarrkit.storage import LocalStore, LoggingStore, MemoryStore, WrapperStore

zarr = optional("zarr")

FORMATS = pytest.mark.parametrize("fmt", [2, 3])


def build(store, fmt: int) -> Group:
    """root {r} / a (4,) i2 {u} / sub {s} / sub/b (3, 3) f4 / sub/deep"""
    root = zarrkit.group(store, zarr_format=fmt, attributes={"r": 1})
    root.create_array("a", shape=(4,), dtype="i2", chunks=(2,), attributes={"u": 1})
    sub = root.create_group("sub", attributes={"s": 2})
    sub.create_array("b", shape=(3, 3), dtype="f4", chunks=(2, 2))
    sub.create_group("deep")
    return root


def layout(group) -> dict[str, object]:
    """Every node below ``group``: path -> (shape or 'group', attributes)."""
    return {
        name: (getattr(node, "shape", "group"), dict(node.attrs))
        for name, node in group.members(max_depth=None)
    }


def raw_node(fmt: int) -> dict[str, bytes]:
    """The documents of a group written by another tool."""
    if fmt == 3:
        return {"zarr.json": b'{"zarr_format": 3, "node_type": "group", "attributes": {}}'}
    return {".zgroup": b'{"zarr_format": 2}'}


# --- formats ------------------------------------------------------------------------------


def test_v3_inline_document_is_zarr_pythons(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(tmp_path, mode="w", zarr_format=3, attributes={"r": 1})
        root.create_array("a", shape=(4,), dtype="i2", dimension_names=["x"]).attrs["u"] = 1
        root.create_group("sub").create_array("b", shape=(2, 2), dtype="f4")
        root["sub"].create_group("deep")
        zarr.consolidate_metadata(str(tmp_path))
    theirs = json.loads((tmp_path / "zarr.json").read_text())
    zarrkit.consolidate_metadata(tmp_path)
    ours = json.loads((tmp_path / "zarr.json").read_text())
    assert ours["consolidated_metadata"] == theirs["consolidated_metadata"]
    assert list(ours["consolidated_metadata"]["metadata"]) == ["a", "sub", "sub/b", "sub/deep"]
    assert ours["attributes"] == {"r": 1}


def test_v2_zmetadata_is_zarr2s(tmp_path, zarr2):
    zarr2(
        """
import zarr
root = zarr.open_group(args["path"], mode="w")
root.attrs["r"] = 1
root.create_dataset("a", shape=(4,), chunks=(2,), dtype="i2").attrs["u"] = 1
root.create_group("sub").create_dataset("b", shape=(3, 3), chunks=(2, 2), dtype="f4")
root["sub"].create_group("deep")
zarr.consolidate_metadata(args["path"])
result = {}
""",
        path=str(tmp_path),
    )
    theirs = json.loads((tmp_path / ".zmetadata").read_text())
    zarrkit.consolidate_metadata(tmp_path)
    ours = json.loads((tmp_path / ".zmetadata").read_text())
    assert ours == theirs
    assert ours["zarr_consolidated_format"] == 1 and "sub/b/.zarray" in ours["metadata"]


def test_malformed_consolidations_are_refused():
    store = MemoryStore()
    zarrkit.group(store)
    doc = {"zarr_format": 3, "node_type": "group", "attributes": {}}
    bad_kind = {**doc, "consolidated_metadata": {"kind": "remote", "metadata": {}}}
    store.set("zarr.json", json.dumps(bad_kind).encode())
    with pytest.raises(UnsupportedExtensionError, match="kind"):
        zarrkit.open_group(store)
    assert isinstance(zarrkit.open_group(store, use_consolidated=False), Group)
    escape = {"kind": "inline", "must_understand": False, "metadata": {"../x": doc}}
    store.set("zarr.json", json.dumps({**doc, "consolidated_metadata": escape}).encode())
    with pytest.raises(MetadataError, match="invalid entry name"):
        zarrkit.open_group(store)
    store.set(".zgroup", b'{"zarr_format": 2}')
    store.set(".zmetadata", b'{"metadata": {"a/.zfoo": {}}, "zarr_consolidated_format": 1}')
    with pytest.raises(MetadataError, match=r"not a \.zarray"):
        zarrkit.open_group(store, zarr_format=2)


# --- opening ------------------------------------------------------------------------------


@FORMATS
def test_members_come_from_the_consolidation_without_store_reads(fmt):
    inner = MemoryStore()
    expected = layout(build(inner, fmt))
    zarrkit.consolidate_metadata(inner)
    store = LoggingStore(inner)
    root = zarrkit.open_group(store, mode="r")
    assert isinstance(root, ConsolidatedGroup)
    assert store.stats.calls["list"] == 0
    store.stats.reset()
    assert layout(root) == expected
    assert [name for name, _ in root.members()] == ["a", "sub"]
    assert str(root.tree()).splitlines()[1:] == [
        "├── a (4,) int16",
        "└── sub",
        "    ├── b (3, 3) float32",
        "    └── deep",
    ]
    assert root["sub/b"].shape == (3, 3) and root["sub"]["b"].dtype == np.float32
    assert "sub/deep" in root and "nope" not in root and len(root) == 2
    assert list(root.array_keys()) == ["a"] and list(root["sub"].group_keys()) == ["deep"]
    assert sum(store.stats.calls.values()) == 0


@FORMATS
def test_use_consolidated(fmt):
    store = MemoryStore()
    build(store, fmt)
    with pytest.raises(MetadataError, match="no consolidated metadata"):
        zarrkit.open_group(store, use_consolidated=True)
    with pytest.raises(MetadataError):
        zarrkit.open_consolidated(store)
    zarrkit.consolidate_metadata(store)
    for name, value in raw_node(fmt).items():  # a node the consolidation does not know
        store.set(f"late/{name}", value)
    assert "late" not in zarrkit.open_group(store)
    assert "late" not in zarrkit.open_consolidated(store, mode="r")
    assert "late" not in zarrkit.open(store, use_consolidated=True)
    plain = zarrkit.open_group(store, use_consolidated=False)
    assert type(plain) is Group and "late" in plain
    assert type(zarrkit.open(store, use_consolidated=False)) is Group
    assert isinstance(zarrkit.group(store), ConsolidatedGroup)


# --- staying current ----------------------------------------------------------------------


@FORMATS
def test_every_zarrkit_write_keeps_it_current(fmt, tmp_path):
    build(tmp_path, fmt)
    zarrkit.consolidate_metadata(tmp_path)
    root = zarrkit.open_group(tmp_path)
    root.create_array("new", shape=(2,), dtype="u1")
    root["sub"].create_group("g2").create_array("x", shape=(1,), dtype="i8")
    root["sub"].attrs["t"] = 3
    root["a"].resize(10)
    root["sub/b"].attrs.update({"v": [1, 2]})
    root.attrs["r"] = 2
    del root["sub/deep"]
    expected = {
        "a": ((10,), {"u": 1}),
        "new": ((2,), {}),
        "sub": ("group", {"s": 2, "t": 3}),
        "sub/b": ((3, 3), {"v": [1, 2]}),
        "sub/g2": ("group", {}),
        "sub/g2/x": ((1,), {}),
    }
    assert layout(root) == expected  # the open group sees its own handle's changes
    assert check(tmp_path) == []
    # through other store handles
    zarrkit.create_array(
        tmp_path, name="new", shape=(5, 5), dtype="f8", overwrite=True, zarr_format=fmt
    )
    zarrkit.open_array(tmp_path, path="a").attrs["w"] = 0
    assert check(tmp_path) == []
    again = zarrkit.open_group(tmp_path, mode="r", use_consolidated=True)
    expected |= {"a": ((10,), {"u": 1, "w": 0}), "new": ((5, 5), {})}
    assert layout(again) == expected
    assert dict(again.attrs) == {"r": 2}


@FORMATS
def test_nested_consolidations_both_stay_current(fmt):
    store = MemoryStore()
    build(store, fmt)
    zarrkit.consolidate_metadata(store, path="sub")
    zarrkit.consolidate_metadata(store)
    zarrkit.open_group(store, path="sub").create_array("c", shape=(1,), dtype="i1")
    assert check(store) == [] and check(store, "sub") == []
    assert "c" in zarrkit.open_consolidated(store, path="sub")


def test_overwriting_the_holder_drops_its_consolidation():
    store = MemoryStore()
    build(store, 3)
    root = zarrkit.consolidate_metadata(store)
    zarrkit.group(store, overwrite=True)
    assert list(root) == []  # served from the store again: the hierarchy is gone
    with pytest.raises(MetadataError):
        zarrkit.open_consolidated(store)


class KeyLog(WrapperStore):
    """Records the keys of every ``get_many`` call."""

    def __init__(self, inner):
        super().__init__(inner)
        self.batches: list[Sequence[str]] = []

    def _call(self, operation, keys, sent, call):
        if operation == "get_many":
            self.batches.append(list(keys))
        return call()


@FORMATS
def test_without_consolidation_writes_probe_once_per_handle(fmt):
    holder = "zarr.json" if fmt == 3 else ".zmetadata"
    data: dict[str, bytes] = {}
    store = KeyLog(MemoryStore(data))
    zarrkit.group(store, zarr_format=fmt)  # probes the root once: it holds none
    assert [holder] in store.batches
    store.batches.clear()
    for i in range(5):
        zarrkit.create_array(store, name=f"a{i}", shape=(2,), dtype="i1", zarr_format=fmt)
        zarrkit.open_array(store, path=f"a{i}").attrs["i"] = i
    assert [holder] not in store.batches
    # a consolidation made through another handle is seen at once
    zarrkit.consolidate_metadata(MemoryStore(data))
    zarrkit.create_array(store, name="late", shape=(1,), dtype="i1", zarr_format=fmt)
    assert check(store) == []


def test_deleting_through_a_plain_group_updates_the_consolidation():
    store = MemoryStore()
    build(store, 3)
    zarrkit.consolidate_metadata(store)
    del zarrkit.open_group(store, use_consolidated=False)["a"]
    assert check(store) == []
    assert "a" not in zarrkit.open_consolidated(store)


# --- staleness ----------------------------------------------------------------------------


@FORMATS
def test_check_reports_foreign_changes(fmt):
    store = MemoryStore()
    build(store, fmt)
    zarrkit.consolidate_metadata(store)
    assert check(store) == []
    for name, value in raw_node(fmt).items():
        store.set(f"sub/other/{name}", value)
    store.delete_prefix("a/")
    attrs_key = "sub/zarr.json" if fmt == 3 else "sub/.zattrs"
    doc = json.loads(store.get(attrs_key))
    doc.update({"attributes": {"s": 9}} if fmt == 3 else {"s": 9})
    store.set(attrs_key, json.dumps(doc).encode())
    assert check(store) == [
        Staleness(path="a", change="removed"),
        Staleness(path="sub", change="changed"),
        Staleness(path="sub/other", change="added"),
    ]
    assert str(check(store)[0]) == "removed: /a"
    zarrkit.consolidate_metadata(store)
    assert check(store) == []


def test_check_needs_a_consolidated_group():
    store = MemoryStore()
    build(store, 3)
    with pytest.raises(MetadataError, match="no consolidated metadata"):
        check(store)
    with pytest.raises(NodeNotFoundError):
        check(store, "missing")


# --- zarr-python interop ------------------------------------------------------------------


@FORMATS
def test_zarr_python_3_reads_ours(fmt, tmp_path):
    build(tmp_path, fmt)
    zarrkit.consolidate_metadata(tmp_path)
    root = zarrkit.open_group(tmp_path)
    root["sub"].create_array("late", shape=(2,), dtype="i1", attributes={"k": "v"})
    root["sub"].attrs["t"] = True
    expected = layout(zarrkit.open_group(tmp_path, use_consolidated=False))
    for name, value in raw_node(fmt).items():  # unknown to the consolidation
        LocalStore(tmp_path).set(f"foreign/{name}", value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zarr.open_consolidated(str(tmp_path), zarr_format=fmt)
        assert layout(theirs) == expected
        assert "foreign" not in [name for name, _ in theirs.members()]
        opened = zarr.open_group(str(tmp_path), mode="r", use_consolidated=True)
        assert opened.metadata.consolidated_metadata is not None
        assert dict(opened["sub"].attrs) == {"s": 2, "t": True}


@FORMATS
def test_we_read_zarr_python_3s(fmt, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(str(tmp_path), mode="w", zarr_format=fmt, attributes={"r": 1})
        root.create_array("a", shape=(4,), dtype="i2", chunks=(2,), attributes={"u": 1})
        sub = root.create_group("sub", attributes={"s": 2})
        sub.create_array("b", shape=(3, 3), dtype="f4", chunks=(2, 2))
        sub.create_group("deep")
        zarr.consolidate_metadata(str(tmp_path), zarr_format=fmt)
        expected = layout(zarr.open_group(str(tmp_path), use_consolidated=False))
    for name, value in raw_node(fmt).items():
        LocalStore(tmp_path).set(f"foreign/{name}", value)
    ours = zarrkit.open_group(tmp_path, mode="r", use_consolidated=True)
    assert isinstance(ours, ConsolidatedGroup)
    assert layout(ours) == expected and "foreign" not in ours
    assert check(tmp_path) == [Staleness(path="foreign", change="added")]


def test_zarr2_reads_ours(tmp_path, zarr2):
    build(tmp_path, 2)
    zarrkit.consolidate_metadata(tmp_path)
    root = zarrkit.open_group(tmp_path)
    root["sub"].create_array("late", shape=(2,), dtype="i1", attributes={"k": "v"})
    root["a"].resize(6)
    result = zarr2(
        """
import zarr
root = zarr.open_consolidated(args["path"], mode="r")
result = {name: [list(node.shape) if hasattr(node, "shape") else "group", dict(node.attrs)]
          for name, node in [(k, root[k]) for k in args["names"]]}
result["_members"] = sorted(root.group_keys()) + sorted(root.array_keys())
""",
        path=str(tmp_path),
        names=["a", "sub", "sub/b", "sub/late"],
    )
    assert result["_members"] == ["sub", "a"]
    assert result["a"] == [[6], {"u": 1}]
    assert result["sub"] == ["group", {"s": 2}]
    assert result["sub/late"] == [[2], {"k": "v"}]


def test_we_read_zarr2s(tmp_path, zarr2):
    zarr2(
        """
import zarr
root = zarr.open_group(args["path"], mode="w")
root.attrs["r"] = 1
root.create_dataset("a", shape=(4,), chunks=(2,), dtype="i2").attrs["u"] = 1
root.create_group("sub").create_dataset("b", shape=(3, 3), chunks=(2, 2), dtype="f4")
zarr.consolidate_metadata(args["path"])
root.create_group("after")  # not in the consolidation
result = {}
""",
        path=str(tmp_path),
    )
    ours = zarrkit.open_group(tmp_path, mode="r")
    assert isinstance(ours, ConsolidatedGroup)
    assert layout(ours) == {
        "a": ((4,), {"u": 1}),
        "sub": ("group", {}),
        "sub/b": ((3, 3), {}),
    }
    assert check(tmp_path) == [Staleness(path="after", change="added")]


# --- zarr-python's object -------------------------------------------------------------------


def _shape(cm) -> dict[str, object]:
    """A ConsolidatedMetadata (zarr-python's or ours) as nested names -> kind/attributes
    (zarr-python gives a v2 leaf group no consolidation, where ours is empty)."""
    if cm is None:
        return {}
    return {
        name: ("array", dict(meta.attributes))
        if hasattr(meta, "shape")
        else ("group", dict(meta.attributes), _shape(meta.consolidated_metadata))
        for name, meta in cm.metadata.items()
    }


@FORMATS
def test_consolidated_metadata_object_is_zarr_pythons(fmt, tmp_path):
    build(tmp_path, fmt)
    zarrkit.consolidate_metadata(tmp_path)
    ours = zarrkit.open_group(tmp_path).metadata.consolidated_metadata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = zarr.open_group(str(tmp_path), mode="r").metadata.consolidated_metadata
    assert sorted(ours.metadata) == sorted(theirs.metadata) == ["a", "sub"]
    assert sorted(ours.flattened_metadata) == sorted(theirs.flattened_metadata)
    assert _shape(ours) == _shape(theirs)
    assert (ours.kind, ours.must_understand) == (theirs.kind, theirs.must_understand)
    if fmt == 3:
        assert ours.to_dict() == json.loads(json.dumps(theirs.to_dict()))


@FORMATS
def test_child_group_carries_its_subtree(fmt):
    store = MemoryStore()
    build(store, fmt)
    root = zarrkit.consolidate_metadata(store)
    sub = root["sub"].metadata.consolidated_metadata
    assert sorted(sub.metadata) == ["b", "deep"]
    assert sub.metadata["deep"].consolidated_metadata.metadata == {}
    assert sub.metadata["b"].shape == (3, 3)
    assert zarrkit.open_group(store, use_consolidated=False).metadata.consolidated_metadata is None
    assert (
        root.metadata.consolidated_metadata
        == zarrkit.open_group(store).metadata.consolidated_metadata
    )
