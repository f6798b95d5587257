import uuid

from optional import module_needs

module_needs("psycopg")

import psycopg
import pytest

from zarrkit.errors import StoreError
from zarrkit.storage import make_store
from zarrkit.storage.postgres import PostgresStore
from zarrkit.testing import StoreSuite


def _table():
    return f"t_{uuid.uuid4().hex}"


class TestPostgresStore(StoreSuite):
    @pytest.fixture
    def store(self, postgres_url):
        store = PostgresStore(postgres_url, table=_table())
        yield store
        store.close()


def test_set_many_is_one_transaction(postgres_url):
    store = PostgresStore(postgres_url, table=_table())
    store.set("keep", b"1")
    rows = [("a", b"1"), ("b", None)]  # NOT NULL fails on the second row
    with pytest.raises(StoreError) as info:
        store._transaction("set_many", store._upsert(), rows)
    assert info.value.operation == "set_many"
    assert "NotNullViolation" in str(info.value)
    assert list(store.list()) == ["keep"]
    store.close()


def test_table_layout(postgres_url):
    table = _table()
    store = make_store(
        postgres_url.replace("postgresql://", "postgres://"), storage_options={"table": table}
    )
    assert isinstance(store, PostgresStore)
    store.set("k", b"v")
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT attstorage FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = 'value'",
            [table],
        ).fetchone()
        assert row[0] == "e"  # EXTERNAL: uncompressed, so substring reads only what it needs
        assert conn.execute(f"SELECT value FROM {table} WHERE key = 'k'").fetchone()[0] == b"v"
    store.close()


def test_schema_qualified_table(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS zk")
    store = PostgresStore(postgres_url, table=f"zk.{_table()}")
    store.set("a/b", b"x")
    assert list(store.list_prefix("a/")) == ["a/b"]
    store.close()


def test_read_only_missing_table(postgres_url):
    with pytest.raises(StoreError, match="cannot open PostgreSQL table"):
        PostgresStore(postgres_url, table=_table(), read_only=True)


def test_unreachable_server():
    with pytest.raises(StoreError, match="cannot open PostgreSQL"):
        PostgresStore("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=2)
