"""Decoded shard indexes, kept so that a warm inner-chunk read is one request.

An entry is keyed by the store's :attr:`~zarrkit.storage.Store.identity` and the shard's
key, and holds the version of the shard its index was read from: a read through it
requires that version (``If-Match``), so a rewritten shard is never read through a stale
index; it fails, and the index is read again. Only stores whose versions can key caches
(:attr:`~zarrkit.storage.Store.versions_cacheable`) use it. Least recently used entries go
first once the ``shard_index_cache_bytes`` setting is exceeded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.types import Version

Index = np.ndarray[Any, np.dtype[np.uint64]]


class IndexCache:
    """An LRU map of ``(store identity, shard key)`` to ``(version, decoded index)``."""

    def __init__(self) -> None:
        self.nbytes = 0
        self._items: OrderedDict[tuple[str, str], tuple[Version, Index]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, where: tuple[str, str]) -> tuple[Version, Index] | None:
        with self._lock:
            found = self._items.get(where)
            if found is not None:
                self._items.move_to_end(where)
            return found

    def put(self, where: tuple[str, str], version: Version, index: Index) -> None:
        limit = config.get("shard_index_cache_bytes")
        if index.nbytes > limit:
            return
        index = index.copy()  # not a view keeping the bytes it was decoded from alive
        with self._lock:
            self._pop(where)
            self._items[where] = (version, index)
            self.nbytes += index.nbytes
            while self.nbytes > limit:
                _, (_, evicted) = self._items.popitem(last=False)
                self.nbytes -= evicted.nbytes

    def discard(self, where: tuple[str, str]) -> None:
        with self._lock:
            self._pop(where)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _pop(self, where: tuple[str, str]) -> None:
        old = self._items.pop(where, None)
        if old is not None:
            self.nbytes -= old[1].nbytes


#: The process-wide cache every sharded array shares.
INDEXES = IndexCache()
