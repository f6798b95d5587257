"""Decoded shard indexes, kept so that a warm inner-chunk read decodes no index.

An entry is keyed by the store's :attr:`~zarrkit.storage.Store.identity` and the shard's
key, and holds the encoded index it was decoded from and, where the store's versions can
key caches (:attr:`~zarrkit.storage.Store.versions_cacheable`), the version of the shard it
was read from. A read through a version requires it (``If-Match``), so a rewritten shard is
never read through a stale index: it fails, and the index is read again; that read makes a
warm inner-chunk read one request. Elsewhere (local files) the index is read with every
inner-chunk read, and the entry saves only its decoding and checks, when the encoded bytes
are the same. Least recently used entries go first once the ``shard_index_cache_bytes``
setting is exceeded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.types import Version

Index = np.ndarray[Any, np.dtype[np.uint64]]


@dataclass(frozen=True, slots=True)
class CachedIndex:
    """A shard's decoded ``index``, from the encoded bytes ``raw`` checked against
    ``checked`` (what its checks depend on besides the bytes: the index's shape, the
    shard's size, the codec), and the shard's ``version`` where versions can key caches."""

    raw: bytes
    checked: tuple[Any, ...]
    index: Index
    version: Version | None = None

    @property
    def nbytes(self) -> int:
        return len(self.raw) + self.index.nbytes

    def decodes(self, raw: bytes, checked: tuple[Any, ...]) -> bool:
        """Whether decoding ``raw`` checked against ``checked`` gives this entry's index."""
        return self.raw == raw and self.checked == checked


class IndexCache:
    """An LRU map of ``(store identity, shard key)`` to :class:`CachedIndex`."""

    def __init__(self) -> None:
        self.nbytes = 0
        self._items: OrderedDict[tuple[str, str], CachedIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, where: tuple[str, str]) -> CachedIndex | None:
        with self._lock:
            found = self._items.get(where)
            if found is not None:
                self._items.move_to_end(where)
            return found

    def put(self, where: tuple[str, str], entry: CachedIndex) -> None:
        limit = config.get("shard_index_cache_bytes")
        if entry.nbytes > limit:
            return
        # not a view keeping the bytes it was decoded from alive
        entry = replace(entry, raw=bytes(entry.raw), index=entry.index.copy())
        with self._lock:
            self._pop(where)
            self._items[where] = entry
            self.nbytes += entry.nbytes
            while self.nbytes > limit:
                _, evicted = self._items.popitem(last=False)
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
            self.nbytes -= old.nbytes


#: The process-wide cache every sharded array shares.
INDEXES = IndexCache()
