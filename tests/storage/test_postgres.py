import uuid

from optional import module_needs

module_needs("psycopg")

import psycopg
import pytest

from zarrkit.errors import RetriesExhaustedError, StoreError
from zarrkit.storage import make_store
from zarrkit.storage.postgres import PostgresStore
from zarrkit.testing import StoreSuite
from zarrkit.types import Versioned


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
        PostgresStore(
            "postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=2, retry_attempts=2
        )


# --- faults (issue 18) ------------------------------------------------------------------------
QUICK = {"retry_backoff": 0.001, "retry_max_backoff": 0.01}


def terminate(url: str, store: PostgresStore) -> None:
    """End the server side of this thread's connection of ``store``, as a restart would."""
    pid = store._conn().info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


def test_statements_on_a_lost_connection_are_tried_again(postgres_url):
    store = PostgresStore(postgres_url, table=_table(), **QUICK)
    store.set_many({"a": b"1", "b": b"2"})
    terminate(postgres_url, store)
    assert store.get("a") == b"1"
    terminate(postgres_url, store)
    store.set_many({"a": b"3", "b": b"4"})  # a transaction, run again whole
    assert store.get_many(["a", "b"]) == [b"3", b"4"]
    store.close()


def test_without_retries_a_lost_connection_is_a_typed_error(postgres_url):
    store = PostgresStore(postgres_url, table=_table(), retry_attempts=1)
    terminate(postgres_url, store)
    with pytest.raises(RetriesExhaustedError) as raised:
        store.get("a")
    assert (raised.value.key, raised.value.reason) == ("a", "connection terminated")
    store.close()


class LosingConnection:
    """A connection whose first UPDATE or INSERT loses its answer (applied or not)."""

    def __init__(self, conn: psycopg.Connection, applied: bool) -> None:
        self.conn, self.applied, self.writes = conn, applied, 0

    def execute(self, query, args=None):
        if "UPDATE" in str(query.as_string(self.conn)):
            self.writes += 1
            if self.writes == 1:
                if self.applied:
                    self.conn.execute(query, args)
                raise psycopg.OperationalError("server closed the connection unexpectedly")
        return self.conn.execute(query, args)


@pytest.mark.parametrize("applied", [True, False])
def test_a_set_if_whose_answer_was_lost_is_written_once(postgres_url, monkeypatch, applied):
    store = PostgresStore(postgres_url, table=_table(), **QUICK)
    old = store.set_if("k", b"old", if_match=None)
    losing = LosingConnection(store._conn(), applied)
    monkeypatch.setattr(store, "_conn", lambda: losing)
    new = store.set_if("k", b"new", if_match=old)
    assert losing.writes == (1 if applied else 2)  # found written, or sent again
    assert store.get_versioned("k") == Versioned(b"new", new)
    store.close()
