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

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.lru import LRUBytes
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
    """An LRU map of ``(store identity, shard key)`` to :class:`CachedIndex`, within the
    ``shard_index_cache_bytes`` setting."""

    def __init__(self) -> None:
        self._entries: LRUBytes[tuple[str, str], CachedIndex] = LRUBytes(_nbytes)

    @property
    def nbytes(self) -> int:
        return self._entries.nbytes

    def get(self, where: tuple[str, str]) -> CachedIndex | None:
        return self._entries.get(where)

    def put(self, where: tuple[str, str], entry: CachedIndex) -> None:
        # not a view keeping the bytes it was decoded from alive
        entry = replace(entry, raw=bytes(entry.raw), index=entry.index.copy())
        self._entries.put(where, entry, config.get("shard_index_cache_bytes"))

    def discard(self, where: tuple[str, str]) -> None:
        self._entries.discard(where)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _nbytes(entry: CachedIndex) -> int:
    return entry.nbytes


#: The process-wide cache every sharded array shares.
INDEXES = IndexCache()
