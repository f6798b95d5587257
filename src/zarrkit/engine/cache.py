"""A decoded-chunk cache: least recently used chunks evicted past a byte budget.

One cache may be shared by many arrays (keys include the store). It is invalidated by
writes made through zarrkit handles that use it; writes by other processes or handles are
not seen, so use it for data that this process owns or that does not change. Hits,
misses and evictions are :class:`~zarrkit.telemetry.CacheEvent` s for telemetry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

from zarrkit.telemetry import CacheEvent, active, emit


class ChunkCache:
    """An LRU cache of decoded chunks holding at most ``max_bytes`` of array data.

    Examples
    --------
    >>> import zarrkit
    >>> cache = ChunkCache(64 * 2**20)
    >>> a = zarrkit.create_array(shape=(100,), chunks=(10,), dtype="f8", cache=cache)
    >>> a[:] = 1.0
    >>> _ = a[:5], a[:5]
    >>> cache.hits, cache.misses
    (1, 1)
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, np.ndarray[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> np.ndarray[Any, Any] | None:
        """The cached chunk (read-only) or ``None``."""
        with self._lock:
            chunk = self._items.get(key)
            if chunk is None:
                self.misses += 1
            else:
                self._items.move_to_end(key)
                self.hits += 1
        if active.cache:
            nbytes = 0 if chunk is None else chunk.nbytes
            emit(CacheEvent, op="miss" if chunk is None else "hit", key=key, nbytes=nbytes)
        return chunk

    def put(self, key: Hashable, chunk: np.ndarray[Any, Any]) -> None:
        """Remember ``chunk`` (it is made read-only, so callers cannot corrupt the cache)."""
        if chunk.nbytes > self.max_bytes:
            return
        chunk.flags.writeable = False
        evicted = []
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._items[key] = chunk
            self.nbytes += chunk.nbytes
            while self.nbytes > self.max_bytes:
                evicted.append(self._items.popitem(last=False))
                self.nbytes -= evicted[-1][1].nbytes
        if active.cache:
            for old_key, old_chunk in evicted:
                emit(CacheEvent, op="evict", key=old_key, nbytes=old_chunk.nbytes)

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (after a write)."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return (
            f"ChunkCache({len(self)} chunks, {self.nbytes}/{self.max_bytes} bytes, "
            f"hits={self.hits}, misses={self.misses})"
        )


def as_cache(cache: ChunkCache | int | None) -> ChunkCache | None:
    """``cache`` itself, or a new cache with a budget of ``cache`` bytes."""
    if isinstance(cache, bool):
        raise TypeError(f"cache must be a ChunkCache or a byte budget, got {cache!r}")
    return ChunkCache(cache) if isinstance(cache, int) else cache
