"""PostgresStore: keys and values in one table of a PostgreSQL database (psycopg 3).

Durability: a write returns after its transaction commits, so with the server's defaults
(``fsync=on``, ``synchronous_commit=on``) it survives a crash of the client, the server
or the machine. Every ``set`` is one transaction; ``set_many``, ``delete_many`` and
``delete_prefix`` are one transaction each, so they apply whole or not at all.

Concurrency: each thread gets its own connection; any number of processes and hosts may
share the table. Values are stored uncompressed out of line (``STORAGE EXTERNAL``, as
chunks are compressed already), so byte-range reads fetch only the bytes asked for.

Versions: a value's version is its ``md5`` (computed by the server), so no column is added:
``set_if`` is one ``UPDATE ... WHERE md5(value) =`` the version read (or an ``INSERT`` that
must not find the key), atomic across clients. Checking a version reads the whole value on
the server, so caches do not key by it; ``get_then`` reads in one ``REPEATABLE READ``
transaction (a snapshot).

Faults: a statement or transaction that fails on a lost connection, a server restart, a
serialization failure or deadlock, or too many connections is tried again under zarrkit's
retry policy (``retry_*`` options, :mod:`zarrkit.retry`) on a fresh connection. A
``set_if`` whose answer was lost is resolved by reading the key again (see
:meth:`~zarrkit.storage.base.Store._write_once`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from zarrkit import retry
from zarrkit.errors import ConflictError, StoreError
from zarrkit.storage.base import Store, slice_for, versioned_part
from zarrkit.storage.sqlite import prefix_bounds
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest, Then, Version, Versioned

T = TypeVar("T")


class PostgresStore(Store):
    """A store in a PostgreSQL table (``key TEXT COLLATE "C" PRIMARY KEY, value BYTEA``).

    Parameters
    ----------
    url
        A libpq connection URL, ``postgresql://user:password@host:port/dbname``.
    table
        The table, created if missing unless read-only (schema-qualified names allowed:
        ``"myschema.chunks"``).
    **connect_options
        Passed to ``psycopg.connect`` (``connect_timeout``, ``sslmode`` ...), except the
        retry options (``retry_attempts``, ``retry_deadline`` ...).

    Examples
    --------
    >>> store = PostgresStore("postgresql://postgres@127.0.0.1/postgres")  # doctest: +SKIP
    >>> store.set("zarr.json", b"{}")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        table: str = "zarrkit",
        **connect_options: Any,
    ) -> None:
        super().__init__(read_only=read_only)
        self.url = url
        self.table = table
        self.connect_options = connect_options
        self._connect_options = dict(connect_options)
        self.retry_options = retry.split_options(self._connect_options)
        self._table = sql.Identifier(*table.split("."))
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        try:  # fail early on a wrong URL or a missing table
            self._retrying("open", None, self._conn)
        except (psycopg.Error, StoreError) as e:
            raise StoreError(f"cannot open PostgreSQL table {self.table!r}: {e}") from e

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> PostgresStore:
        """Open ``postgresql://...`` (or ``postgres://``); ``table`` as a keyword."""
        return cls(url, read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"PostgresStore(table={self.table!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_reopen, (self.url, self.read_only, self.table, self.connect_options))

    def _conn(self) -> psycopg.Connection[Any]:
        """This thread's connection (a new one after the last was lost)."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True, **self._connect_options)
        if self.read_only:
            conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 0").format(self._table))
        else:
            self._create_table(conn)
        return conn

    def _create_table(self, conn: psycopg.Connection[Any]) -> None:
        create = sql.SQL(
            'CREATE TABLE IF NOT EXISTS {} (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL)'
        ).format(self._table)
        external = sql.SQL("ALTER TABLE {} ALTER COLUMN value SET STORAGE EXTERNAL")
        try:
            conn.execute(create)
            conn.execute(external.format(self._table))
        except psycopg.errors.UniqueViolation:
            pass  # another client created the table at the same moment

    def _retrying(self, operation: str, key: str | None, request: Callable[[], T]) -> T:
        """``request()``, tried again while it fails transiently."""
        return retry.call(
            request, transient, self.retry_options, key=key, operation=operation, store=self
        )

    def _execute(self, operation: str, key: str, query: sql.Composed, args: Sequence[Any]) -> Any:
        try:
            return self._retrying(operation, key, lambda: self._conn().execute(query, args))
        except psycopg.Error as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation=operation) from e

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        select, args = _select_value(byte_range)
        query = sql.SQL(select + " FROM {} WHERE key = %s").format(self._table)
        row = self._execute("get", key, query, [*args, key]).fetchone()
        return None if row is None else bytes(row[0])

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        query = sql.SQL("SELECT key, value FROM {} WHERE key = ANY(%s)").format(self._table)
        rows = self._execute("get_many", keys[0] if keys else "", query, [list(keys)])
        found = {key: bytes(value) for key, value in rows}
        return [found.get(key) for key in keys]

    def _upsert(self) -> sql.Composed:
        return sql.SQL(
            "INSERT INTO {} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        ).format(self._table)

    def _set(self, key: str, value: Blob) -> None:
        self._execute("set", key, self._upsert(), [key, bytes(value)])

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        rows = [(key, bytes(value)) for key, value in items]
        self._transaction("set_many", self._upsert(), rows)

    def _delete(self, key: str) -> None:
        query = sql.SQL("DELETE FROM {} WHERE key = %s").format(self._table)
        self._execute("delete", key, query, [key])

    def _delete_many(self, keys: Sequence[str]) -> None:
        query = sql.SQL("DELETE FROM {} WHERE key = ANY(%s)").format(self._table)
        self._execute("delete_many", "", query, [list(keys)])

    def _delete_prefix(self, prefix: str) -> None:
        query = sql.SQL("DELETE FROM {} WHERE key >= %s AND key < %s").format(self._table)
        self._execute("delete_prefix", prefix, query, prefix_bounds(prefix))

    def _transaction(self, operation: str, query: sql.Composed, rows: list[Any]) -> None:
        def run() -> None:  # all rows or none: one whose commit's answer was lost runs again
            conn = self._conn()
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(query, rows)

        try:
            self._retrying(operation, rows[0][0] if rows else None, run)
        except psycopg.Error as e:
            key = rows[0][0] if rows else None
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation=operation) from e

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        query = sql.SQL("SELECT value, md5(value) FROM {} WHERE key = %s").format(self._table)
        row = self._execute("get", key, query, [key]).fetchone()
        value, version = (bytes(row[0]), str(row[1])) if row else (None, None)
        return versioned_part(key, value, version, byte_range, if_match)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        """Both parts in one REPEATABLE READ transaction: one snapshot."""
        try:
            return self._retrying("get_then", key, lambda: self._read_then(key, first, then))
        except psycopg.Error as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation="get_then") from e

    def _read_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        conn = self._conn()
        size_query = sql.SQL("SELECT length(value) FROM {} WHERE key = %s").format(self._table)
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = conn.execute(size_query, [key]).fetchone()
            if row is None:
                return None
            start = slice_for(first, int(row[0])).start
            value = self._read_part(conn, key, first)
            parts = [self._read_part(conn, key, r) for r in then(value, start)]
        return Versioned(value, None, start), parts

    def _read_part(self, conn: psycopg.Connection[Any], key: str, request: ByteRequest) -> bytes:
        select, args = _select_value(request)
        query = sql.SQL(select + " FROM {} WHERE key = %s").format(self._table)
        row = conn.execute(query, [*args, key]).fetchone()
        return b"" if row is None else bytes(row[0])

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        data = bytes(value)
        if if_match is None:
            query = sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING")
            args: list[Any] = [key, data]
        else:
            query = sql.SQL("UPDATE {} SET value = %s WHERE key = %s AND md5(value) = %s")
            args = [data, key, if_match]

        def write() -> Version:
            if self._conn().execute(query.format(self._table), args).rowcount != 1:
                found = "exists" if if_match is None else f"is not at version {if_match}"
                raise ConflictError(found, key=key, operation="set_if")
            return hashlib.md5(data).hexdigest()  # what the server's md5() computes

        def attempt() -> Version:
            return self._write_once(write, transient, key, data, if_match)

        try:
            return self._retrying("set_if", key, attempt)
        except psycopg.Error as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation="set_if") from e

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        query = sql.SQL("SELECT key FROM {} WHERE key >= %s AND key < %s ORDER BY key")
        rows = self._execute("list", prefix, query.format(self._table), prefix_bounds(prefix))
        return (row[0] for row in rows.fetchall())

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


# SQLSTATEs worth another try: connections ended by the server (shutdown, restart, an
# administrator) or refused while it starts, serialization failures and deadlocks (the
# transaction was rolled back), too many connections, a statement cancelled by a timeout.
_TRANSIENT_STATES = {
    "57P01": "connection terminated",
    "57P02": "connection terminated",
    "57P03": "server starting",
    "40001": "serialization failure",
    "40P01": "deadlock",
    "53300": "too many connections",
    "57014": "timeout",
}


def transient(error: BaseException) -> str | None:
    """Why a psycopg error is worth another try, or ``None``: a connection lost or refused
    (no SQLSTATE, or class 08) and the states above."""
    if not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return None
    state = error.sqlstate
    if state is None or state.startswith("08"):
        return "connection reset"
    return _TRANSIENT_STATES.get(state)


def _select_value(byte_range: ByteRequest | None) -> tuple[str, list[int]]:
    """The SELECT list reading the requested bytes (PostgreSQL's substring is 1-based)."""
    if byte_range is None:
        return "SELECT value", []
    if isinstance(byte_range, RangeRequest):
        length = byte_range.end - byte_range.start
        return "SELECT substring(value FROM %s FOR %s)", [byte_range.start + 1, length]
    if isinstance(byte_range, OffsetRequest):
        return "SELECT substring(value FROM %s)", [byte_range.offset + 1]
    return "SELECT substring(value FROM greatest(length(value) - %s, 0) + 1)", [byte_range.suffix]


def _reopen(
    url: str, read_only: bool, table: str, connect_options: dict[str, Any]
) -> PostgresStore:
    return PostgresStore(url, read_only=read_only, table=table, **connect_options)
