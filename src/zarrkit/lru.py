"""A thread-safe map that forgets its least recently used entries past a byte budget: what
the decoded-chunk cache and the shard index cache keep their entries in."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUBytes(Generic[K, V]):
    """Entries by key, each weighing ``size(value)`` bytes; ``hits`` and ``misses`` count
    lookups."""

    def __init__(self, size: Callable[[V], int]) -> None:
        self.size = size
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The entry (now the most recently used) or ``None``."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
            else:
                self._items.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: K, value: V, limit: int) -> list[tuple[K, V]]:
        """Keep ``value`` under ``key`` (not when it alone weighs over ``limit``), and return
        the entries evicted to bring the total within ``limit``."""
        if self.size(value) > limit:
            return []
        evicted = []
        with self._lock:
            self._pop(key)
            self._items[key] = value
            self.nbytes += self.size(value)
            while self.nbytes > limit:
                evicted.append(self._items.popitem(last=False))
                self.nbytes -= self.size(evicted[-1][1])
        return evicted

    def discard(self, key: K) -> None:
        with self._lock:
            self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _pop(self, key: K) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= self.size(old)
