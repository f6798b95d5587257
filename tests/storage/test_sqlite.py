import pickle
import sqlite3

import pytest

from zarrkit.errors import StoreError
from zarrkit.storage.sqlite import SQLiteStore, prefix_bounds
from zarrkit.testing import StoreSuite


class TestSQLiteStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        store = SQLiteStore(tmp_path / "data.db")
        yield store
        store.close()


class TestSQLiteStoreNormalSync(StoreSuite):
    many_keys = 200
    large_value_size = 2**20

    @pytest.fixture
    def store(self, tmp_path):
        store = SQLiteStore(tmp_path / "data.db", synchronous="NORMAL")
        yield store
        store.close()


def test_pragmas(tmp_path):
    store = SQLiteStore(tmp_path / "d.db")
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with pytest.raises(ValueError):
        SQLiteStore(tmp_path / "e.db", synchronous="SOMETIMES")


def test_set_many_is_one_transaction(tmp_path):
    store = SQLiteStore(tmp_path / "d.db")
    store.set("keep", b"1")
    with pytest.raises(TypeError):
        store.set_many([("a", b"1"), ("b", None)])  # the second row fails mid-transaction
    assert sorted(store.list()) == ["keep"]


def test_other_connection_sees_committed_data(tmp_path):
    store = SQLiteStore(tmp_path / "d.db")
    store.set_many({"a/0": b"x", "a/1": b"y"})
    rows = sqlite3.connect(tmp_path / "d.db").execute("SELECT key FROM zarrkit ORDER BY key")
    assert [r[0] for r in rows] == ["a/0", "a/1"]


def test_read_only_missing_database(tmp_path):
    with pytest.raises(StoreError, match="cannot open SQLite database"):
        SQLiteStore(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_read_only_open_reads(tmp_path):
    SQLiteStore(tmp_path / "d.db").set("k", b"v")
    reader = SQLiteStore(tmp_path / "d.db", read_only=True)
    assert reader.get("k") == b"v"
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.read_only and clone.get("k") == b"v"


def test_prefix_bounds():
    low, high = prefix_bounds("a/")
    assert low <= "a/b" < high
    assert not (low <= "a0" < high)
    assert not (low <= "ab" < high)
    low, high = prefix_bounds("")
    assert low <= "\uffff/x" < high


def test_from_url(tmp_path):
    store = SQLiteStore.from_url(f"sqlite:///{tmp_path}/u.db")
    store.set("k", b"v")
    assert store.path == tmp_path / "u.db"
    with pytest.raises(ValueError):
        SQLiteStore.from_url("sqlite://relative.db")
