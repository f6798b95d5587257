"""LMDBStore: keys and values in an LMDB memory-mapped database directory.

Durability: ``sync=True`` (the default) makes LMDB fsync on every commit, so a committed
write survives a power loss. ``sync=False`` survives a process crash, but an OS crash may
undo the last commits. Every ``set`` is one transaction; ``set_many``, ``delete_many``
and ``delete_prefix`` are one transaction each.

Size: LMDB reserves ``map_size`` bytes of address space up front (the file grows only as
needed); when a write does not fit, the map is doubled and the write retried.

Versions: a value's version is a hash of its bytes; ``set_if`` compares and writes in one
write transaction (LMDB serialises those across processes), and ``get_then`` reads from
one read transaction (a snapshot).

Concurrency: LMDB allows one environment per directory per process, so every store on
the same directory in a process shares one (pickled copies included), with one lock
serializing its transactions. Several processes may use the directory at once (LMDB's
own lock file); keys are at most 511 UTF-8 bytes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import lmdb

from zarrkit.errors import StoreError
from zarrkit.storage.base import Store, check_version, content_version, slice_for, versioned_part
from zarrkit.types import Blob, ByteRequest, Then, Version, Versioned

T = TypeVar("T")


@dataclass(slots=True, kw_only=True)
class _Env:
    """One open LMDB environment, shared by every store on its directory."""

    env: lmdb.Environment
    read_only: bool
    refs: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_envs: dict[str, _Env] = {}
_envs_lock = threading.Lock()


def _acquire(path: Path, read_only: bool, map_size: int, sync: bool) -> _Env:
    with _envs_lock:
        shared = _envs.get(str(path))
        if shared is None:
            try:
                if not read_only:
                    path.mkdir(parents=True, exist_ok=True)
                env = lmdb.open(
                    str(path), map_size=map_size, readonly=read_only, sync=sync, create=False
                )
            except lmdb.Error as e:
                raise StoreError(f"cannot open LMDB database {str(path)!r}: {e}") from e
            shared = _envs[str(path)] = _Env(env=env, read_only=read_only)
        elif shared.read_only and not read_only:
            raise StoreError(f"LMDB database {str(path)!r} is open read-only in this process")
        shared.refs += 1
        return shared


def _retain(shared: _Env) -> None:
    with _envs_lock:
        shared.refs += 1


def _release(path: Path) -> None:
    with _envs_lock:
        shared = _envs[str(path)]
        shared.refs -= 1
        if shared.refs == 0:
            shared.env.close()
            del _envs[str(path)]


class LMDBStore(Store):
    """A store in an LMDB database directory.

    Parameters
    ----------
    path
        The database directory (``data.mdb`` and ``lock.mdb`` inside); created unless
        read-only.
    map_size
        Initial size of the memory map in bytes (1 GiB); it doubles whenever full.
    sync
        Fsync on every commit (default ``True``; see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> store = LMDBStore(tempfile.mkdtemp())
    >>> store.set("c/0", b"chunk")
    >>> store.get("c/0")
    b'chunk'
    >>> store.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        map_size: int = 2**30,
        sync: bool = True,
    ) -> None:
        super().__init__(read_only=read_only)
        self.path = Path(path).expanduser().absolute()
        self.map_size = map_size
        self.sync = sync
        self._shared: _Env | None = _acquire(self.path, read_only, map_size, sync)

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> LMDBStore:
        """Open ``lmdb://relative/dir`` or ``lmdb:///absolute/dir``."""
        return cls(url.split("://", 1)[1], read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"LMDBStore({str(self.path)!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_reopen, (str(self.path), self.read_only, self.map_size, self.sync))

    def with_read_only(self, read_only: bool = False) -> Self:
        clone = super().with_read_only(read_only)
        if clone._shared is not None:
            _retain(clone._shared)
        return clone

    def _env(self, operation: str) -> _Env:
        if self._shared is None:
            raise StoreError(f"LMDB store {str(self.path)!r} is closed", operation=operation)
        return self._shared

    def _read(self, operation: str, key: str, read: Callable[[lmdb.Transaction], T]) -> T:
        shared = self._env(operation)
        try:
            with shared.lock, shared.env.begin(buffers=True) as txn:
                return read(txn)
        except lmdb.Error as e:
            raise StoreError(str(e), key=key, operation=operation) from e

    def _write(self, operation: str, key: str, write: Callable[[lmdb.Transaction], object]) -> None:
        shared = self._env(operation)
        with shared.lock:
            while True:
                try:
                    with shared.env.begin(write=True) as txn:
                        write(txn)
                    return
                except lmdb.MapFullError:
                    # Safe here: the lock guarantees no transaction of ours is open.
                    shared.env.set_mapsize(shared.env.info()["map_size"] * 2)
                except lmdb.Error as e:
                    raise StoreError(str(e), key=key, operation=operation) from e

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        def read(txn: lmdb.Transaction) -> bytes | None:
            value = txn.get(key.encode())
            return None if value is None else bytes(value[slice_for(byte_range, len(value))])

        return self._read("get", key, read)

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        def read(txn: lmdb.Transaction) -> list[bytes | None]:
            values = (txn.get(key.encode()) for key in keys)
            return [None if value is None else bytes(value) for value in values]

        return self._read("get_many", keys[0] if keys else "", read)

    def _set(self, key: str, value: Blob) -> None:
        self._write("set", key, lambda txn: txn.put(key.encode(), value))

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        def write(txn: lmdb.Transaction) -> None:
            for key, value in items:
                txn.put(key.encode(), value)

        self._write("set_many", items[0][0] if items else "", write)

    def _delete(self, key: str) -> None:
        self._write("delete", key, lambda txn: txn.delete(key.encode()))

    def _delete_many(self, keys: Sequence[str]) -> None:
        encoded = [key.encode() for key in keys]

        def write(txn: lmdb.Transaction) -> None:
            for key in encoded:
                txn.delete(key)

        self._write("delete_many", "", write)

    def _delete_prefix(self, prefix: str) -> None:
        start = prefix.encode()

        def write(txn: lmdb.Transaction) -> None:
            cursor = txn.cursor()
            found = cursor.set_range(start)
            while found and bytes(cursor.key()).startswith(start):
                found = cursor.delete()

        self._write("delete_prefix", prefix, write)

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        def read(txn: lmdb.Transaction) -> Versioned:
            value = txn.get(key.encode())
            version = None if value is None else content_version(value)
            found = None if value is None else bytes(value)
            return versioned_part(key, found, version, byte_range, if_match)

        return self._read("get", key, read)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        def read(txn: lmdb.Transaction) -> tuple[Versioned, list[bytes]] | None:
            value = txn.get(key.encode())  # one snapshot: every part from this value
            if value is None:
                return None
            part = slice_for(first, len(value))
            head = Versioned(bytes(value[part]), None, part.start)
            requests = then(head.value or b"", part.start)
            return head, [bytes(value[slice_for(r, len(value))]) for r in requests]

        return self._read("get_then", key, read)

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        def write(txn: lmdb.Transaction) -> None:
            current = txn.get(key.encode())
            version = None if current is None else content_version(current)
            check_version(key, version, if_match, "set_if")
            txn.put(key.encode(), value)

        self._write("set_if", key, write)
        return content_version(value)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        start = prefix.encode()

        def read(txn: lmdb.Transaction) -> list[str]:
            cursor = txn.cursor()
            if not cursor.set_range(start):
                return []
            keys = []
            for key in cursor.iternext(keys=True, values=False):
                if not bytes(key).startswith(start):
                    break
                keys.append(bytes(key).decode())
            return keys

        return iter(self._read("list", prefix, read))

    def close(self) -> None:
        """Release this handle; the environment closes with the last handle in the process."""
        if self._shared is not None:
            self._shared = None
            _release(self.path)


def _reopen(path: str, read_only: bool, map_size: int, sync: bool) -> LMDBStore:
    return LMDBStore(path, read_only=read_only, map_size=map_size, sync=sync)
