"""MemoryStore: a dict of bytes, safe to share between threads.

Versions: every value written through the store gets a new version (a process-wide counter);
a value put into the dict behind the store's back gets one when first read.

A dict the caller passes in (``MemoryStore(d)``, or ``store=d`` anywhere a store is taken)
receives its values as :class:`BytesBuffer`: ``bytes`` that also answer zarr-python's
``Buffer`` methods, since zarr-python keeps ``Buffer`` objects there and its users read
them with ``d[key].to_bytes()``. The store's own dict holds plain ``bytes``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

import numpy as np

from zarrkit.locking import LockTarget
from zarrkit.storage.base import Store, check_version, slice_for, versioned_part
from zarrkit.types import Blob, ByteRequest, Then, Version, Versioned

_versions = itertools.count(1)


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
        # key -> (version, the value object it names): a value changed in the dict directly
        # is another object, so it never passes for the old version
        self._versions: dict[str, tuple[Version, bytes]] = {}

    def __eq__(self, other: object) -> bool:
        """Handles on the same dict are equal (a dict's identity, not its contents)."""
        return isinstance(other, MemoryStore) and other._data is self._data

    def __hash__(self) -> int:
        return id(self._data)

    def __getstate__(self) -> dict[str, object]:
        # A pickled MemoryStore is a snapshot: a copy of the data, with a lock of its own.
        return {"_read_only": self.read_only, "_data": dict(self._data), "_wrap": self._wrap}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _versions={})

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        value = self._data.get(key)
        if value is not None and not isinstance(value, bytes):
            value = value.to_bytes()  # a zarr-python Buffer, put in a shared dict by zarr-python
        if value is None or byte_range is None:
            return value
        return value[slice_for(byte_range, len(value))]

    def _set(self, key: str, value: Blob) -> None:
        with self._lock:
            self._data[key] = self._wrap(value)

    def _delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True
    versions_cacheable = True

    def _current(self, key: str) -> tuple[bytes | None, Version | None]:
        """The value of ``key`` and its version (named now if it has none yet)."""
        value = self._data.get(key)
        if value is None:
            return None, None
        known = self._versions.get(key)
        if known is None or known[1] is not value:
            known = self._versions[key] = (str(next(_versions)), value)
        return value, known[0]

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        with self._lock:
            value, version = self._current(key)
        return versioned_part(key, value, version, byte_range, if_match)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        with self._lock:
            value, version = self._current(key)
        if value is None:
            return None
        part = slice_for(first, len(value))  # every range from this one value object
        head = Versioned(value[part], version, part.start)
        return head, [value[slice_for(r, len(value))] for r in then(value[part], part.start)]

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        data = bytes(value)
        with self._lock:
            check_version(key, self._current(key)[1], if_match, "set_if")
            self._data[key] = data
            new = self._versions[key] = (str(next(_versions)), data)
        return new[0]

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        with self._lock:
            keys = [key for key in self._data if key.startswith(prefix)]
        return iter(keys)

    @property
    def locks_across_processes(self) -> bool:
        # No other process can write this data (a pickled copy is a snapshot), so the
        # locks of this process serialise every writer: no conditional writes needed.
        return True

    def lock_targets(self, keys: Sequence[str]) -> list[LockTarget]:
        # handles made by with_read_only share the dict, so it names the data
        space = f"MemoryStore@{id(self._data):x}:"
        return [LockTarget(space + key) for key in keys]

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._data)} keys>, read_only={self.read_only})"

    def __str__(self) -> str:
        return f"memory://{id(self._data)}"
