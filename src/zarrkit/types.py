"""The types every layer shares: encoded bytes, byte requests, chunk coordinates, and the
chunk-access protocols between the engine, codecs and stores.

They live below codecs and storage so that neither imports the other for a type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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

#: An opaque token naming one version of a stored value (an ETag, a generation, a content
#: hash ...): two reads that return the same version read the same bytes.
Version = str


@dataclass(frozen=True, slots=True)
class Versioned:
    """Bytes as read, with the version of the value they came from.

    ``value`` is ``None`` when the key is missing (``version`` is then ``None`` too);
    ``start`` is the offset of ``value`` in the whole stored value (non-zero for byte ranges).
    """

    value: bytes | None
    version: Version | None
    start: int = 0


@dataclass(frozen=True, slots=True)
class ChunkMemory:
    """Whole chunks where they lie in the memory of an array being written, for a store's
    compiled loop to encode and write straight from there: the address of each one's first
    element, and their shape and strides (in bytes, the same for each)."""

    starts: Sequence[int]
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    itemsize: int


class Encoder(Protocol):
    """A compiled encoder such a loop calls (``zarrkit/codecs/compression/encoders.c``)."""

    #: The address of its function; 0: chunks are stored as they are.
    @property
    def function(self) -> int: ...

    def context(self) -> object:
        """Its settings for the calling thread (a ``ctypes`` structure), or None."""
        ...

    def capacity(self, nbytes: int) -> int:
        """The room the encoding of ``nbytes`` bytes may need."""
        ...


class Decoder(Protocol):
    """A compiled decoder of one chunk that a store's reading loop calls on each file
    (``zarrkit/codecs/compression/decode_batch.c``)."""

    #: The address of its function; 0: chunks are stored as they lie in memory.
    @property
    def function(self) -> int: ...

    #: The library functions it calls (a ``ctypes`` structure), or None.
    @property
    def api(self) -> object: ...

    def context(self) -> object:
        """Its context for the calling thread (a ``ctypes`` pointer), or None."""
        ...


#: Given the bytes of a first read and their offset in the value (``None``: unknown), the
#: byte ranges to read next from the same version (see ``Store.get_then``).
Then = Callable[[bytes, int | None], Sequence[ByteRequest]]


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

    @property
    def writes_encoded(self) -> bool: ...

    def set_encoded(
        self, keys: Sequence[str], memory: ChunkMemory, encoder: Encoder
    ) -> list[int]: ...

    @property
    def reads_decoded(self) -> bool: ...

    def get_decoded(
        self, keys: Sequence[str], decoder: Decoder, out: Any, nbytes: int
    ) -> tuple[list[int], list[int]]: ...

    def delete_many(self, keys: Sequence[str]) -> None: ...

    # versions (see zarrkit.storage.base.Store)
    @property
    def identity(self) -> str: ...

    @property
    def supports_versions(self) -> bool: ...

    @property
    def supports_conditional_writes(self) -> bool: ...

    @property
    def versions_cacheable(self) -> bool: ...

    def get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]: ...

    def get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]: ...

    def get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None: ...

    def set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]: ...


class Merge(Protocol):
    """A write's change to chunks: their new blobs from their old ones."""

    def __call__(self, items: Sequence[tuple[Coords, Blob | None]]) -> list[Blob | None]:
        """The new blob of each ``(coords, old blob or None)``; ``None`` removes the chunk."""

    def empty(self, coords: Coords) -> Blob:
        """The blob of a chunk of fill values, stored where a chunk cannot be removed
        conditionally."""

    def block(self, coords: Sequence[Coords], grid: tuple[int, ...]) -> list[Blob | None] | None:
        """The new blobs of chunks ``coords``, a block of ``grid`` chunks per dimension in
        C order, each replaced whole, when the change can make them in bulk; else None
        (then :meth:`__call__` makes them)."""


class ChunkAccess(Protocol):
    """Encoded chunks by grid coordinates, as the engine reads and writes them: one store
    key each, or the inner chunks of shards."""

    @property
    def store(self) -> ChunkStore: ...

    @property
    def native_concurrency(self) -> bool:
        """Whether batch reads fan out concurrently by themselves (then the engine sends
        one); writes go by the store's own flag, in whole stored objects per worker."""

    def key(self, coords: Coords) -> str: ...

    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]: ...

    def fetch_units(self, coords: Sequence[Coords]) -> list[list[int]]:
        """The positions of ``coords`` grouped by what one fetch reads (one shard), so a
        read can decode each group as soon as it arrives."""

    def update_chunks(
        self, coords: Sequence[Coords], complete: Sequence[bool], merge: Merge
    ) -> None:
        """Rewrite the chunks at ``coords`` with ``merge``: the old blob of a chunk is read only
        where ``complete`` is false; each stored object is read, merged and written so that no
        concurrent writer's update is lost (under locks, or with conditional writes retried
        on conflict)."""

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        """How many chunks the stored chunks (or shards) hold, given as key -> coords."""

    def store_keys(self, coords: Sequence[Coords]) -> list[str]:
        """The key of the stored object (the chunk itself, or its shard) holding each of
        ``coords``; writers lock them."""

    def objects_along(self, axis: int, ixs: Sequence[int]) -> Sequence[int] | None:
        """Where stored objects hold blocks of chunks (shards): the one along ``axis``
        holding each chunk of index ``ixs`` (sorted). Such objects form a grid, so the
        engine groups a block of chunks by object without listing its chunks. None where
        each chunk is stored alone."""

    def object_key(self, index: Coords) -> str:
        """The key of the stored object at ``index`` (a shard's coords, or a chunk's)."""
