"""CacheStore: encoded bytes of a slow store kept in a faster one (zarr-python's
``zarr.experimental.cache_store.CacheStore``, with its arguments).

Whole values are cached in ``cache_store`` under their own keys; byte ranges (shard
indexes, inner chunks) in memory. Both count against one ``max_size`` budget in bytes,
with the least recently used entries evicted first; ``max_age_seconds`` bounds how long an
entry is trusted. Writes and deletes through the CacheStore update or drop the entries of
their keys; a fetch that overlaps a write through it is not cached, so a stale value is
never kept. Values found in ``cache_store`` that this CacheStore did not put there (a
persistent cache from an earlier run) are used and then tracked like the others.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from zarrkit.storage.base import Store
from zarrkit.storage.wrappers import WrapperStore
from zarrkit.types import Blob, ByteRequest, Version

#: An entry: a key's whole value (request ``None``) or one byte range of it.
Entry = tuple[str, ByteRequest | None]


T = TypeVar("T")


@dataclass(slots=True)
class _Stats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class CacheStore(WrapperStore):
    """``store`` with the values read from it cached in ``cache_store``.

    Parameters
    ----------
    store
        The store read from and written to.
    cache_store
        Where whole values are cached (any store that can delete: a MemoryStore, or a
        LocalStore to keep the cache between runs).
    max_age_seconds
        How long an entry is used after it was cached; ``"infinity"``: always.
    max_size
        The bytes cached at most (least recently used entries go first); ``None``: no
        bound. A value larger than this is not cached.
    cache_set_data
        Whether values written through the store are cached too.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> cached = CacheStore(MemoryStore(), cache_store=MemoryStore(), max_size=2**20)
    >>> cached.set("c/0", b"chunk")
    >>> cached.get("c/0"), cached.cache_info()["current_size"]
    (b'chunk', 5)
    """

    def __init__(
        self,
        store: Store,
        *,
        cache_store: Store,
        max_age_seconds: float | Literal["infinity"] = "infinity",
        max_size: int | None = None,
        cache_set_data: bool = True,
        read_only: bool = False,
    ) -> None:
        super().__init__(store, read_only=read_only)
        if not cache_store.supports_deletes or cache_store.read_only:
            raise ValueError(f"cache_store {cache_store!r} must be writable and delete keys")
        if max_age_seconds != "infinity" and not (
            isinstance(max_age_seconds, int | float) and max_age_seconds >= 0
        ):
            raise ValueError(f"max_age_seconds must be >= 0 or 'infinity', got {max_age_seconds!r}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0 bytes or None, got {max_size!r}")
        self.cache_store = cache_store
        self.max_age_seconds = max_age_seconds
        self.max_size = max_size
        self.cache_set_data = cache_set_data
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.RLock()
        self._entries: OrderedDict[Entry, tuple[int, float]] = OrderedDict()  # size, time
        self._ranges: dict[Entry, bytes] = {}
        self._size = 0
        # bumped by every write and delete: a fetch begun before one is not cached
        self._epoch = 0
        self._stats = _Stats()

    def __reduce__(self) -> tuple[Any, ...]:
        options = (self.max_age_seconds, self.max_size, self.cache_set_data, self.read_only)
        return (_rebuild, (self.inner, self.cache_store, *options))

    def __repr__(self) -> str:
        return f"CacheStore({self.inner!r}, cache_store={self.cache_store!r})"

    # --- zarr-python's statistics and management ---------------------------------------------
    def cache_info(self) -> dict[str, Any]:
        """The cache's settings and how full it is."""
        with self._lock:
            return {
                "cache_store_type": type(self.cache_store).__name__,
                "max_age_seconds": self.max_age_seconds,
                "max_size": self.max_size,
                "current_size": self._size,
                "cache_set_data": self.cache_set_data,
                "tracked_keys": len(self._entries),
                "cached_keys": len(self._entries),
            }

    def cache_stats(self) -> dict[str, Any]:
        """Hits, misses and evictions since the cache was made or cleared."""
        with self._lock:
            stats = self._stats
            total = stats.hits + stats.misses
            return {
                "hits": stats.hits,
                "misses": stats.misses,
                "evictions": stats.evictions,
                "total_requests": total,
                "hit_rate": stats.hits / total if total else 0.0,
            }

    async def clear_cache(self) -> None:
        """Empty ``cache_store`` and forget every entry (a coroutine, as in zarr-python:
        ``asyncio.run(store.clear_cache())``)."""
        with self._lock:
            self.cache_store.clear()
            self._entries.clear()
            self._ranges.clear()
            self._size = 0
            self._epoch += 1
            self._stats = _Stats()

    # --- reads ----------------------------------------------------------------------------
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        found = self._cached(key, byte_range)
        if found is not None:
            return found
        return self._fetch([(key, byte_range)], lambda: [self.inner.get(key, byte_range)])[0]

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found = [self._cached(key, None) for key in keys]
        missing = [key for key, value in zip(keys, found, strict=True) if value is None]
        if not missing:
            return found
        entries: list[Entry] = [(key, None) for key in missing]
        fetched = iter(self._fetch(entries, lambda: self.inner.get_many(missing)))
        return [value if value is not None else next(fetched) for value in found]

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        found = [self._cached(key, request) for request in ranges]
        if all(value is not None for value in found):
            return found  # type: ignore[return-value]
        return self._fetch_ranges(key, ranges)

    def _getsize(self, key: str) -> int | None:
        with self._lock:
            known = self._entries.get((key, None))
        return known[0] if known is not None and self._fresh(known) else self.inner.getsize(key)

    def _cached(self, key: str, request: ByteRequest | None) -> bytes | None:
        """The cached bytes of a request: from the key's whole value, else (for a byte
        range) from that range's entry; None when neither is cached."""
        with self._lock:
            value = self._from_whole(key, request)
            if value is None and request is not None:
                value = self._from_range((key, request))
            if value is None:
                self._stats.misses += 1
            else:
                self._stats.hits += 1
            return value

    def _from_whole(self, key: str, request: ByteRequest | None) -> bytes | None:
        entry: Entry = (key, None)
        known = self._entries.get(entry)
        if known is not None and not self._fresh(known):
            self._forget(entry)
            return None
        value = self.cache_store.get(key, request)
        if value is None:
            if known is not None:  # gone from the cache store behind our back
                self._forget(entry)
        elif known is None:  # left there earlier: use it, and track it from now on
            self._record(entry, value if request is None else None)
        else:
            self._entries.move_to_end(entry)
        return value

    def _from_range(self, entry: Entry) -> bytes | None:
        known = self._entries.get(entry)
        if known is None:
            return None
        if not self._fresh(known):
            self._forget(entry)
            return None
        self._entries.move_to_end(entry)
        return self._ranges[entry]

    def _fetch(
        self, entries: list[Entry], fetch: Callable[[], list[bytes | None]]
    ) -> list[bytes | None]:
        """Values fetched from the inner store, cached unless a write overlapped."""
        epoch = self._epoch
        values = fetch()
        with self._lock:
            if epoch == self._epoch:
                for entry, value in zip(entries, values, strict=True):
                    if value is not None:
                        self._track(entry, value)
        return values

    def _fetch_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        result: list[bytes] | None = None

        def fetch() -> list[bytes | None]:
            nonlocal result
            result = self.inner.get_ranges(key, ranges)
            return list(result) if result is not None else [None] * len(ranges)

        self._fetch([(key, request) for request in ranges], fetch)
        return result

    # --- writes ---------------------------------------------------------------------------
    def _set(self, key: str, value: Blob) -> None:
        self._set_many([(key, value)])

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        self._invalidate([key for key, _ in items])
        self.inner.set_many(items)
        if self.cache_set_data:
            with self._lock:
                self._invalidate([key for key, _ in items])
                for key, value in items:
                    self._track((key, None), bytes(value))

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        return self._conditional([key], lambda: self.inner.set_if(key, value, if_match=if_match))

    def _set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        keys = [key for key, _, _ in items]
        return self._conditional(keys, lambda: self.inner.set_many_if(items))

    def _conditional(self, keys: Sequence[str], write: Callable[[], T]) -> T:
        """A conditional write: its keys' entries dropped around it (never cached: whether
        it applies is known only after it)."""
        self._invalidate(keys)
        try:
            return write()
        finally:
            self._invalidate(keys)

    def _delete(self, key: str) -> None:
        self._delete_many([key])

    def _delete_many(self, keys: Sequence[str]) -> None:
        self._invalidate(keys)
        self.inner.delete_many(keys)
        self._invalidate(keys)

    def _delete_prefix(self, prefix: str) -> None:
        self._invalidate_prefix(prefix)
        self.inner.delete_prefix(prefix)
        self._invalidate_prefix(prefix)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        return self.inner.list_prefix(prefix)

    # --- bookkeeping (under the lock) ----------------------------------------------------------
    def _fresh(self, known: tuple[int, float]) -> bool:
        age = self.max_age_seconds
        return age == "infinity" or time.monotonic() - known[1] <= age

    def _track(self, entry: Entry, value: bytes) -> None:
        """Cache ``value`` as ``entry``, evicting the least recently used to make room."""
        if self.max_size is not None and len(value) > self.max_size:
            return
        self._forget(entry)
        if entry[1] is None:
            self.cache_store.set(entry[0], value)
        else:
            self._ranges[entry] = value
        self._record(entry, value)

    def _record(self, entry: Entry, value: bytes | None) -> None:
        """Count ``entry`` (already stored) in the budget; ``value`` None: a whole value
        left in the cache store earlier, of the size the cache store says."""
        size = len(value) if value is not None else self.cache_store.getsize(entry[0])
        while self.max_size is not None and self._entries and self._size + size > self.max_size:
            self._forget(next(iter(self._entries)))
            self._stats.evictions += 1
        self._entries[entry] = (size, time.monotonic())
        self._size += size

    def _forget(self, entry: Entry) -> None:
        known = self._entries.pop(entry, None)
        if known is not None:
            self._size -= known[0]
        if entry[1] is None:
            self.cache_store.delete(entry[0])
        else:
            self._ranges.pop(entry, None)

    # A write drops the entries of its keys before and after it reaches the inner store,
    # and each drop bumps the epoch: a fetch that overlaps the write is thus never cached.
    def _invalidate(self, keys: Sequence[str]) -> None:
        """Drop every entry of ``keys`` (whole values and ranges)."""
        doomed = set(keys)
        with self._lock:
            self._epoch += 1
            for entry in [e for e in self._entries if e[0] in doomed]:
                self._forget(entry)
            self.cache_store.delete_many(doomed)  # values of earlier runs too

    def _invalidate_prefix(self, prefix: str) -> None:
        with self._lock:
            self._epoch += 1
            for entry in [e for e in self._entries if e[0].startswith(prefix)]:
                self._forget(entry)
            self.cache_store.delete_prefix(prefix)


def _rebuild(
    inner: Store,
    cache_store: Store,
    max_age_seconds: float | Literal["infinity"],
    max_size: int | None,
    cache_set_data: bool,
    read_only: bool,
) -> CacheStore:
    return CacheStore(
        inner,
        cache_store=cache_store,
        max_age_seconds=max_age_seconds,
        max_size=max_size,
        cache_set_data=cache_set_data,
        read_only=read_only,
    )
