"""create_hierarchy: many groups and arrays with attributes in one call, every document
in one batch, nothing written when any node is invalid."""

import numpy as np
import pytest

import zarrkit
from zarrkit.core.group import GroupMetadata
from zarrkit.errors import ContainsGroupError, ExpectedGroupError, MetadataError
from zarrkit.nodes.creation import array_metadata
from zarrkit.storage import MemoryStore, WrapperStore


class Batches(WrapperStore):
    """Records every write call: its operation and number of keys."""

    def __init__(self, inner):
        super().__init__(inner)
        self.writes: list[tuple[str, int]] = []

    def _call(self, operation, keys, sent, call):
        if operation in ("set", "set_many"):
            self.writes.append((operation, len(keys)))
        return call()


def spec(fmt=3):
    return {
        "raw/temperature": array_metadata(
            shape=(4, 5), chunks=(2, 5), dtype="f4", zarr_format=fmt, attributes={"units": "K"}
        ),
        "raw": GroupMetadata(attributes={"source": "station"}, zarr_format=fmt),
        "derived/mean": {"zarr_format": 3, "node_type": "group", "attributes": {"n": 2}}
        if fmt == 3
        else {"zarr_format": 2, "attributes": {"n": 2}},
    }


@pytest.mark.parametrize("fmt", [2, 3])
def test_creates_nodes_and_the_groups_between_in_one_batch(fmt):
    store = Batches(MemoryStore())
    created = dict(zarrkit.create_hierarchy(store=store, nodes=spec(fmt)))
    assert sorted(created) == ["", "derived", "derived/mean", "raw", "raw/temperature"]
    assert store.writes == [("set_many", 5 if fmt == 3 else 10)]  # v2: .zattrs too
    root = zarrkit.open_group(store)
    assert root.zarr_format == fmt and root["raw"].attrs["source"] == "station"
    temperature = root["raw/temperature"]
    assert temperature.attrs["units"] == "K" and temperature.chunks == (2, 5)
    assert created["raw/temperature"] == temperature
    assert dict(root["derived/mean"].attrs) == {"n": 2}


def test_existing_groups_on_the_way_are_kept():
    store = MemoryStore()
    zarrkit.group(store, attributes={"keep": True}).create_group("raw", attributes={"old": 1})
    created = dict(zarrkit.create_hierarchy(store=store, nodes={"raw/new": GroupMetadata()}))
    assert sorted(created) == ["", "raw", "raw/new"]
    root = zarrkit.open_group(store)
    assert root.attrs["keep"] is True and root["raw"].attrs["old"] == 1


def test_an_existing_node_is_refused_unless_overwrite():
    store = MemoryStore()
    zarrkit.create_hierarchy(store=store, nodes=spec())
    a = zarrkit.open_array(store, path="raw/temperature")
    a[:] = 1
    keys = sorted(store.list_prefix(""))
    with pytest.raises(ContainsGroupError, match="already exists"):
        zarrkit.create_hierarchy(store=store, nodes=spec())
    assert sorted(store.list_prefix("")) == keys
    replaced = dict(zarrkit.create_hierarchy(store=store, nodes=spec(), overwrite=True))
    np.testing.assert_array_equal(replaced["raw/temperature"][:], 0)  # the old data is gone
    assert zarrkit.open_group(store)["raw"].attrs["source"] == "station"


def test_nodes_below_an_existing_array_are_refused():
    store = MemoryStore()
    zarrkit.create_array(store, name="a", shape=(1,), dtype="i1")
    keys = sorted(store.list_prefix(""))
    with pytest.raises(ExpectedGroupError):
        zarrkit.create_hierarchy(store=store, nodes={"a/b/c": GroupMetadata()})
    assert sorted(store.list_prefix("")) == keys


@pytest.mark.parametrize(
    ("nodes", "error"),
    [
        ({"a": GroupMetadata(zarr_format=2), "b": GroupMetadata(zarr_format=3)}, MetadataError),
        ({"a": array_metadata(shape=(1,), dtype="i1"), "a/b": GroupMetadata()}, ExpectedGroupError),
        ({"a": {"zarr_format": 3, "node_type": "table"}}, MetadataError),
        ({"a": 5}, MetadataError),
    ],
)
def test_invalid_input_writes_nothing(nodes, error):
    store = Batches(MemoryStore())
    with pytest.raises(error):
        zarrkit.create_hierarchy(store=store, nodes=nodes)
    assert store.writes == []


def test_group_method_places_nodes_below_the_group():
    root = zarrkit.group({})
    sub = root.create_group("sub")
    created = dict(sub.create_hierarchy({"x/y": GroupMetadata(attributes={"k": 1})}))
    assert sorted(created) == ["x", "x/y"]
    assert created["x/y"].path == "sub/x/y" and root["sub/x/y"].attrs["k"] == 1
