"""G7: no key or node path escapes the store, on any backend; such names raise a clear
error and write nothing, inside the store or outside it."""

from __future__ import annotations

import pytest

import zarrkit
from reliability.corpus import BAD_KEYS
from zarrkit import locking
from zarrkit.errors import InvalidKeyError, NodeNotFoundError
from zarrkit.storage import LocalStore, MemoryStore

BAD_PATHS = [
    "../x",
    "a/../../x",
    "..",
    "a/./b",
    "..\\..\\x",
    "C:/x",
    "C:x",
    "a\x00b",
    "a/.zarrkit-tmp-1",
]


def _everything(root) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("key", BAD_KEYS)
def test_store_calls_refuse_escaping_keys(key: str, tmp_path) -> None:
    stores = [LocalStore(tmp_path / "deep" / "store"), MemoryStore()]
    calls = [
        lambda store: store.set(key, b"x"),
        lambda store: store.get(key),
        lambda store: store.delete(key),
        lambda store: store.set_many([("ok", b"1"), (key, b"x")]),
        lambda store: store.get_many(["ok", key]),
        lambda store: store.exists(key),
    ]
    for store in stores:
        for call in calls:
            with pytest.raises(InvalidKeyError):
                call(store)
    with pytest.raises(InvalidKeyError):
        locking.key_lock(stores[0], key)  # no lock file outside the store either
    assert _everything(tmp_path) == []
    assert list(stores[1].list()) == []


@pytest.mark.parametrize("name", BAD_PATHS)
@pytest.mark.parametrize("create", ["array", "group"])
def test_node_paths_that_escape_raise_and_write_nothing(name: str, create: str, tmp_path) -> None:
    store = LocalStore(tmp_path / "deep" / "store")
    with pytest.raises((InvalidKeyError, NodeNotFoundError)):
        if create == "array":
            zarrkit.create_array(store, name=name, shape=(2,), dtype="i1")
        else:
            zarrkit.open_group(store, path=name, mode="a")
    assert _everything(tmp_path) == []


@pytest.mark.parametrize(
    "key", ["\u2024\u2024/x", "\uff0e\uff0e/x", "%2e%2e/x", "%252e/x", "e\u0301/x"]
)
def test_look_alike_and_encoded_names_are_literal(key: str, tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    store.set(key, b"v")
    assert store.get(key) == b"v" and list(store.list()) == [key]
    assert _everything(tmp_path)[0] == "store"  # nothing beside the store
