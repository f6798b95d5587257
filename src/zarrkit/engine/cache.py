"""A decoded-chunk cache: least recently used chunks evicted past a byte budget.

One cache may be shared by many arrays (keys include the store). It is invalidated by
writes made through zarrkit handles that use it; writes by other processes or handles are
not seen, so use it for data that this process owns or that does not change. Hits,
misses and evictions are :class:`~zarrkit.telemetry.CacheEvent` s for telemetry.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from zarrkit.lru import LRUBytes
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
        self._entries: LRUBytes[Hashable, np.ndarray[Any, Any]] = LRUBytes(_nbytes)

    @property
    def nbytes(self) -> int:
        return self._entries.nbytes

    @property
    def hits(self) -> int:
        return self._entries.hits

    @property
    def misses(self) -> int:
        return self._entries.misses

    def get(self, key: Hashable) -> np.ndarray[Any, Any] | None:
        """The cached chunk (read-only) or ``None``."""
        chunk = self._entries.get(key)
        if active.cache:
            nbytes = 0 if chunk is None else chunk.nbytes
            emit(CacheEvent, op="miss" if chunk is None else "hit", key=key, nbytes=nbytes)
        return chunk

    def put(self, key: Hashable, chunk: np.ndarray[Any, Any]) -> None:
        """Remember ``chunk`` (it is made read-only, so callers cannot corrupt the cache)."""
        if chunk.nbytes <= self.max_bytes:
            chunk.flags.writeable = False
        evicted = self._entries.put(key, chunk, self.max_bytes)
        if active.cache:
            for old_key, old_chunk in evicted:
                emit(CacheEvent, op="evict", key=old_key, nbytes=old_chunk.nbytes)

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (after a write)."""
        self._entries.discard(key)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"ChunkCache({len(self)} chunks, {self.nbytes}/{self.max_bytes} bytes, "
            f"hits={self.hits}, misses={self.misses})"
        )


def _nbytes(chunk: np.ndarray[Any, Any]) -> int:
    return int(chunk.nbytes)


def as_cache(cache: ChunkCache | int | None) -> ChunkCache | None:
    """``cache`` itself, or a new cache with a budget of ``cache`` bytes."""
    if isinstance(cache, bool):
        raise TypeError(f"cache must be a ChunkCache or a byte budget, got {cache!r}")
    return ChunkCache(cache) if isinstance(cache, int) else cache
