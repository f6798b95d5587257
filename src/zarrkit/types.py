"""The types every layer shares: encoded bytes, byte requests, chunk coordinates, and the
chunk-access protocols between the engine, codecs and stores.

They live below codecs and storage so that neither imports the other for a type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from zarrkit.locking import Lockable

#: Encoded bytes, as codecs produce and stores hold them.
Blob = bytes | bytearray | memoryview

#: A chunk's index in its grid, one integer per dimension.
Coords = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """Bytes ``[start, end)`` of a value."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OffsetRequest:
    """Bytes from ``offset`` to the end of a value."""

    offset: int


@dataclass(frozen=True, slots=True)
class SuffixRequest:
    """The last ``suffix`` bytes of a value."""

    suffix: int


ByteRequest = RangeRequest | OffsetRequest | SuffixRequest


class ChunkStore(Lockable, Protocol):
    """What reading and writing chunks needs of a store (:class:`zarrkit.storage.Store`
    has it all), so that codecs providing their own chunk access never import storage."""

    @property
    def native_concurrency(self) -> bool: ...

    @property
    def locks_across_processes(self) -> bool: ...

    def get(self, key: str, byte_range: ByteRequest | None = None) -> bytes | None: ...

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    def get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None: ...

    def set_many(self, items: Sequence[tuple[str, Blob]]) -> None: ...

    def delete_many(self, keys: Sequence[str]) -> None: ...


class ChunkAccess(Protocol):
    """Encoded chunks by grid coordinates, as the engine reads and writes them: one store
    key each, or the inner chunks of shards."""

    @property
    def store(self) -> ChunkStore: ...

    @property
    def native_concurrency(self) -> bool:
        """Whether batch calls fan out concurrently by themselves (then the engine sends one)."""

    def key(self, coords: Coords) -> str: ...

    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]: ...

    def put_chunks(self, updates: Sequence[tuple[Coords, Blob | None]]) -> None:
        """Store each blob; ``None`` removes the chunk."""

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        """How many chunks the stored chunks (or shards) hold, given as key -> coords."""

    def store_key(self, coords: Coords) -> str:
        """The key of the stored object (the chunk itself, or its shard) holding ``coords``;
        writers lock it."""
