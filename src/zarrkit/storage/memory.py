"""MemoryStore: a dict of bytes, safe to share between threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping

from zarrkit.locking import LockTarget
from zarrkit.storage.base import Store, slice_for
from zarrkit.types import Blob, ByteRequest


class MemoryStore(Store):
    """Keys and bytes held in a dict (pass one to share or inspect it).

    Examples
    --------
    >>> store = MemoryStore()
    >>> store.set("a/b", b"xyz")
    >>> store.get("a/b")
    b'xyz'
    """

    def __init__(
        self, store_dict: MutableMapping[str, bytes] | None = None, *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._data: MutableMapping[str, bytes] = {} if store_dict is None else store_dict
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        # A pickled MemoryStore is a snapshot: a copy of the data, with a lock of its own.
        return {"read_only": self.read_only, "_data": dict(self._data)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        value = self._data.get(key)
        if value is None or byte_range is None:
            return value
        return value[slice_for(byte_range, len(value))]

    def _set(self, key: str, value: Blob) -> None:
        self._data[key] = bytes(value)

    def _delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        with self._lock:
            keys = [key for key in self._data if key.startswith(prefix)]
        return iter(keys)

    def lock_target(self, key: str) -> LockTarget:
        # handles made by with_read_only share the dict, so it names the data
        return LockTarget(f"MemoryStore@{id(self._data):x}:{key}")

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._data)} keys>, read_only={self.read_only})"
