import pickle

import pytest
from optional import module_needs

module_needs("lmdb")

from zarrkit.errors import StoreError
from zarrkit.storage.lmdb import LMDBStore
from zarrkit.testing import StoreSuite


class TestLMDBStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        store = LMDBStore(tmp_path / "db")
        yield store
        store.close()


def test_map_grows_when_full(tmp_path):
    store = LMDBStore(tmp_path / "db", map_size=2**20)
    value = b"x" * (3 * 2**20)
    store.set("big", value)
    store.set_many({f"k{i}": value for i in range(3)})
    assert store.get("big") == value
    assert store._shared.env.info()["map_size"] >= 12 * 2**20
    store.close()


def test_sync_is_on_by_default(tmp_path):
    store = LMDBStore(tmp_path / "db")
    assert store.sync
    assert store._shared.env.flags()["sync"]
    store.close()


def test_one_environment_per_directory(tmp_path):
    first = LMDBStore(tmp_path / "db")
    second = LMDBStore(tmp_path / "db")
    clone = pickle.loads(pickle.dumps(first))
    reader = first.with_read_only(True)
    assert first._shared is second._shared is clone._shared is reader._shared
    first.set("k", b"v")
    for store in (second, clone, reader):
        store.close()
    assert first.get("k") == b"v"
    first.close()
    with pytest.raises(StoreError, match="closed"):
        first.get("k")
    assert LMDBStore(tmp_path / "db", read_only=True).get("k") == b"v"


def test_read_only_first_then_writer_is_refused(tmp_path):
    LMDBStore(tmp_path / "db").close()
    reader = LMDBStore(tmp_path / "db", read_only=True)
    with pytest.raises(StoreError, match="open read-only"):
        LMDBStore(tmp_path / "db")
    reader.close()


def test_read_only_missing_directory(tmp_path):
    with pytest.raises(StoreError, match="cannot open LMDB"):
        LMDBStore(tmp_path / "missing", read_only=True)


def test_key_too_long(tmp_path):
    store = LMDBStore(tmp_path / "db")
    with pytest.raises(StoreError) as info:
        store.set("k" * 600, b"v")
    assert info.value.operation == "set"
    store.close()
