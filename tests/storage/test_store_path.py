import pickle

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import InvalidKeyError, ReadOnlyError
from zarrkit.storage import LocalStore, MemoryStore, StorePath


def test_joins_and_normalizes_paths():
    root = StorePath(MemoryStore())
    assert root.path == ""
    assert (root / "a" / "b/c").path == "a/b/c"
    assert StorePath(MemoryStore(), "/x//y/").path == "x/y"
    with pytest.raises(InvalidKeyError):
        root / "a/../b"
    with pytest.raises(TypeError):
        StorePath({})  # a Store, as zarr-python requires


def test_io_at_its_path():
    sp = StorePath(MemoryStore(), "g") / "k"
    assert not sp.exists() and sp.get() is None
    sp.set(b"0123")
    sp.set_if_not_exists(b"other")
    assert sp.get() == b"0123" and sp.store.get("g/k") == b"0123"
    sp.delete()
    assert sp.get_sync() is None
    (sp / "deeper").set_sync(b"x")
    assert not sp.is_empty()
    sp.delete_dir()
    assert sp.is_empty()


def test_equality_and_text(tmp_path):
    store = LocalStore(tmp_path)
    assert StorePath(store, "a") == StorePath(LocalStore(tmp_path), "a")
    assert StorePath(store, "a") != StorePath(store, "b")
    assert str(StorePath(store, "a")) == f"{tmp_path.as_uri()}/a"
    assert pickle.loads(pickle.dumps(StorePath(store, "a"))) == StorePath(store, "a")


def test_open_modes():
    store = MemoryStore()
    (StorePath(store) / "n" / "k").set(b"1")
    assert StorePath.open(store, "n", mode="r").read_only
    with pytest.raises(FileExistsError):
        StorePath.open(store, "n", mode="w-")
    StorePath.open(store, "n", mode="w")
    assert store.is_empty()
    with pytest.raises(ValueError):
        StorePath.open(store.with_read_only(True), "n", mode="a")
    with pytest.raises(ValueError):
        StorePath.open(store, "n", mode="x")


def test_accepted_where_a_store_is():
    sp = StorePath(MemoryStore())
    a = zarrkit.create_array(sp / "arrays" / "x", shape=(4,), chunks=(2,), dtype="i4")
    a[:] = np.arange(4)
    assert sorted(sp.store.list_prefix("")) == [  # parents made groups, as zarr-python does
        "arrays/x/c/0",
        "arrays/x/c/1",
        "arrays/x/zarr.json",
        "arrays/zarr.json",
        "zarr.json",
    ]
    assert zarrkit.open_array(sp / "arrays/x", mode="r")[:].tolist() == [0, 1, 2, 3]
    with pytest.raises(ReadOnlyError):
        zarrkit.open_array(sp / "arrays/x", mode="r")[:] = 1
