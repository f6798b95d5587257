"""MemoryStore: a dict of bytes, safe to share between threads.

A dict the caller passes in (``MemoryStore(d)``, or ``store=d`` anywhere a store is taken)
receives its values as :class:`BytesBuffer`: ``bytes`` that also answer zarr-python's
``Buffer`` methods, since zarr-python keeps ``Buffer`` objects there and its users read
them with ``d[key].to_bytes()``. The store's own dict holds plain ``bytes``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

from zarrkit.locking import LockTarget
from zarrkit.storage.base import Store, slice_for
from zarrkit.types import Blob, ByteRequest


class BytesBuffer(bytes):
    """``bytes`` with the read methods of a zarr-python ``Buffer``.

    Examples
    --------
    >>> BytesBuffer(b"ab").to_bytes()
    b'ab'
    """

    __slots__ = ()

    def to_bytes(self) -> bytes:
        return bytes(self)

    def as_numpy_array(self) -> np.ndarray[Any, Any]:
        return np.frombuffer(self, dtype=np.uint8)

    def as_buffer_like(self) -> memoryview:
        return memoryview(self)


class MemoryStore(Store):
    """Keys and bytes held in a dict (pass one to share or inspect it).

    Examples
    --------
    >>> store = MemoryStore()
    >>> store.set("a/b", b"xyz")
    >>> store.get("a/b")
    b'xyz'
    >>> shared = {}
    >>> MemoryStore(shared).set("k", b"v")
    >>> shared["k"].to_bytes()
    b'v'
    """

    def __init__(
        self, store_dict: MutableMapping[str, Any] | None = None, *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._data: MutableMapping[str, Any] = {} if store_dict is None else store_dict
        self._wrap: Callable[[Blob], bytes] = bytes if store_dict is None else BytesBuffer
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        """Handles on the same dict are equal (a dict's identity, not its contents)."""
        return isinstance(other, MemoryStore) and other._data is self._data

    def __hash__(self) -> int:
        return id(self._data)

    def __getstate__(self) -> dict[str, object]:
        # A pickled MemoryStore is a snapshot: a copy of the data, with a lock of its own.
        return {"_read_only": self.read_only, "_data": dict(self._data), "_wrap": self._wrap}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        value = self._data.get(key)
        if value is not None and not isinstance(value, bytes):
            value = value.to_bytes()  # a zarr-python Buffer, put in a shared dict by zarr-python
        if value is None or byte_range is None:
            return value
        return value[slice_for(byte_range, len(value))]

    def _set(self, key: str, value: Blob) -> None:
        self._data[key] = self._wrap(value)

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

    def __str__(self) -> str:
        return f"memory://{id(self._data)}"
