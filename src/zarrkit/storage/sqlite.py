"""SQLiteStore: keys and values in one table of an SQLite database file.

Durability: the database runs in WAL mode with ``synchronous=FULL`` by default, so a
committed write survives a process crash and a power loss. ``synchronous="NORMAL"`` is
faster and still survives a process crash, but the last transactions may roll back after
a power loss; ``"OFF"`` must be asked for explicitly. Every ``set`` is its own transaction;
``set_many``, ``delete_many`` and ``delete_prefix`` are one transaction each.

Concurrency: each thread gets its own connection; readers never block (WAL), writers are
serialized by SQLite and wait up to ``timeout`` seconds for the lock. Several processes
may share the file on a local file system (not on network file systems).

Versions: a value's version is a hash of its bytes (BLAKE2b, 128 bits), so no column is
added to the table: ``set_if`` is one ``UPDATE ... WHERE`` the stored value hashes to the
version read (or one ``INSERT`` that must not find the key), atomic across processes.
Checking a version reads the whole value, so caches do not key by it; ``get_then`` reads
its two parts in one transaction (a snapshot).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from zarrkit.errors import ConflictError, StoreError
from zarrkit.storage.base import Store, content_version, slice_for, versioned_part
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest, Then, Version, Versioned

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
_SCHEMA = "CREATE TABLE IF NOT EXISTS zarrkit (key TEXT PRIMARY KEY, value BLOB NOT NULL)"


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``(low, high)`` with ``low <= key < high`` exactly for keys starting with ``prefix``.

    ``prefix`` is '' or ends with '/', and '0' is the character after '/'; ``high`` for ''
    is above every valid key (keys are UTF-8 text, so code point order is byte order).
    """
    return (prefix, prefix[:-1] + "0") if prefix else ("", "\U0010ffff")


class SQLiteStore(Store):
    """A store in an SQLite database file (table ``zarrkit``).

    Parameters
    ----------
    path
        The database file; created (with its directory) unless read-only.
    synchronous
        SQLite's ``PRAGMA synchronous`` (``"FULL"`` by default; see the module docstring).
    timeout
        Seconds a writer waits for the database lock before failing.

    Examples
    --------
    >>> import tempfile, os
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "data.db"))
    >>> store.set("a/zarr.json", b"{}")
    >>> store.get("a/zarr.json")
    b'{}'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        synchronous: Synchronous = "FULL",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(read_only=read_only)
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        self.path = Path(path).expanduser().absolute()
        self.synchronous = synchronous
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn()  # fail early on a missing or unreadable database

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> SQLiteStore:
        """Open ``sqlite:///relative.db`` or ``sqlite:////absolute/path.db``."""
        path = url.split("://", 1)[1]
        if not path.startswith("/"):
            raise ValueError(f"SQLite URL {url!r} must look like sqlite:///path.db")
        return cls(path[1:], read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_reopen, (str(self.path), self.read_only, self.synchronous, self.timeout))

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                conn = self._open(f"{self.path.as_uri()}?mode=ro")
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = self._open(str(self.path))
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.create_function("zarrkit_version", 1, content_version, deterministic=True)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite database {str(self.path)!r}: {e}") from e
        return conn

    def _open(self, database: str) -> sqlite3.Connection:
        # Each connection is used by one thread only; close() may run in another.
        return sqlite3.connect(
            database,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=database.startswith("file:"),
        )

    def _execute(self, operation: str, key: str, sql: str, args: Sequence[Any]) -> list[Any]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise StoreError(str(e), key=key, operation=operation) from e

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        sql, args = _select_value(byte_range)
        rows = self._execute("get", key, sql, [*args, key])
        if not rows:
            return None
        return bytes(rows[0][0] or b"")  # substr() of an empty blob is NULL

    def _set(self, key: str, value: Blob) -> None:
        self._execute("set", key, "REPLACE INTO zarrkit VALUES (?, ?)", [key, bytes(value)])

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        rows = ((key, bytes(value)) for key, value in items)
        self._transaction("set_many", "REPLACE INTO zarrkit VALUES (?, ?)", rows)

    def _delete(self, key: str) -> None:
        self._execute("delete", key, "DELETE FROM zarrkit WHERE key = ?", [key])

    def _delete_many(self, keys: Sequence[str]) -> None:
        rows = [(key,) for key in keys]
        self._transaction("delete_many", "DELETE FROM zarrkit WHERE key = ?", rows)

    def _delete_prefix(self, prefix: str) -> None:
        sql = "DELETE FROM zarrkit WHERE key >= ? AND key < ?"
        self._transaction("delete_prefix", sql, [prefix_bounds(prefix)])

    def _transaction(self, operation: str, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(str(e), operation=operation) from e

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        sql = "SELECT value, zarrkit_version(value) FROM zarrkit WHERE key = ?"
        rows = self._execute("get", key, sql, [key])
        value, version = (bytes(rows[0][0]), str(rows[0][1])) if rows else (None, None)
        return versioned_part(key, value, version, byte_range, if_match)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        """Both parts in one read transaction: one snapshot of the database."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            try:
                value = self._get(key, first)
                if value is None:
                    return None
                start = slice_for(first, self._size(key)).start
                head = Versioned(value, None, start)
                return head, self._get_ranges(key, then(value, start)) or []
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(str(e), key=key, operation="get_then") from e

    def _size(self, key: str) -> int:
        rows = self._execute(
            "getsize", key, "SELECT length(value) FROM zarrkit WHERE key = ?", [key]
        )
        return int(rows[0][0]) if rows else 0

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        data = bytes(value)
        if if_match is None:
            sql, args = "INSERT INTO zarrkit VALUES (?, ?) ON CONFLICT DO NOTHING", [key, data]
        else:
            sql = "UPDATE zarrkit SET value = ? WHERE key = ? AND zarrkit_version(value) = ?"
            args = [data, key, if_match]
        try:
            changed = self._conn().execute(sql, args).rowcount
        except sqlite3.Error as e:
            raise StoreError(str(e), key=key, operation="set_if") from e
        if changed != 1:
            found = "exists" if if_match is None else f"is not at version {if_match}"
            raise ConflictError(found, key=key, operation="set_if")
        return content_version(data)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        sql = "SELECT key FROM zarrkit WHERE key >= ? AND key < ? ORDER BY key"
        rows = self._execute("list", prefix, sql, prefix_bounds(prefix))
        return (row[0] for row in rows)

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _select_value(byte_range: ByteRequest | None) -> tuple[str, list[int]]:
    """SQL reading the requested bytes of one value (SQLite's substr is 1-based)."""
    where = "FROM zarrkit WHERE key = ?"
    if byte_range is None:
        return f"SELECT value {where}", []
    if isinstance(byte_range, RangeRequest):
        length = byte_range.end - byte_range.start
        return f"SELECT substr(value, ?, ?) {where}", [byte_range.start + 1, length]
    if isinstance(byte_range, OffsetRequest):
        return f"SELECT substr(value, ?) {where}", [byte_range.offset + 1]
    return f"SELECT substr(value, max(length(value) - ?, 0) + 1) {where}", [byte_range.suffix]


def _reopen(path: str, read_only: bool, synchronous: Synchronous, timeout: float) -> SQLiteStore:
    return SQLiteStore(path, read_only=read_only, synchronous=synchronous, timeout=timeout)
