"""The chunk access the sharding codec provides: inner chunks read and written through
the shards that hold them.

Reading a set of inner chunks fetches, per shard, the index (one ranged request) and then
only the byte ranges of the needed inner chunks in one ``get_ranges`` call, with adjacent
ranges merged. Writing replaces whole shards: a shard whose every inner chunk is being
written is built without reading; otherwise it is read, updated and rewritten, under the
shard's :func:`~zarrkit.locking.key_lock`, so concurrent writers (threads, and processes
where the store can lock) never lose each other's updates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zarrkit import config, locking
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.sharding.layout import EMPTY, ShardGrid
from zarrkit.errors import CodecError, StoreError
from zarrkit.metadata.chunk_grid import DimGrid, inner_dims
from zarrkit.telemetry import ConflictEvent, active, emit
from zarrkit.types import Blob, ChunkStore, Coords, RangeRequest, SuffixRequest

if TYPE_CHECKING:
    from zarrkit.codecs.pipeline import CodecPipeline
    from zarrkit.codecs.sharding.codec import ShardingCodec


@dataclass(frozen=True, slots=True)
class Shards:
    """The inner chunks of an array stored in shards of ``spec``'s shape (what
    :meth:`ShardingCodec.inner_chunks` gives the engine)."""

    codec: ShardingCodec
    spec: ChunkSpec

    @property
    def pipeline(self) -> CodecPipeline:
        """The codecs of one inner chunk."""
        return self.codec.inner_pipeline(self.spec)

    def dims(self, shards: tuple[DimGrid, ...]) -> tuple[DimGrid, ...]:
        """The grid of inner chunks of an array whose shards are laid out by ``shards``."""
        return inner_dims(shards, self.codec.chunk_shape)

    def access(
        self, store: ChunkStore, shard_key: Callable[[Coords], str], shards: tuple[DimGrid, ...]
    ) -> ShardedChunks:
        """The inner chunks of an array whose shards, laid out by ``shards`` (a regular or
        rectilinear grid), are stored at ``shard_key(shard coords)``."""
        grid = ShardGrid.of(shards, self.codec.chunk_shape)
        counts = tuple(d.nchunks for d in self.dims(shards))
        return ShardedChunks(store, shard_key, self.codec, grid, counts)


class ShardedChunks:
    """Inner-chunk access for an array whose chunks are shards.

    ``shard_key`` maps shard coords to the store key (with the array's prefix), ``grid``
    places inner chunks in shards (whose shapes may differ: rectilinear grids) and
    ``counts`` is the number of inner chunks along each dimension of the whole array.
    """

    def __init__(
        self,
        store: ChunkStore,
        shard_key: Callable[[Coords], str],
        codec: ShardingCodec,
        grid: ShardGrid,
        counts: tuple[int, ...],
    ) -> None:
        self.store = store
        self.shard_key = shard_key
        self.codec = codec
        self.grid = grid
        self.counts = counts
        # Shards are fetched in parallel here, and whole shards must be written together.
        self.native_concurrency = True

    def key(self, coords: Coords) -> str:
        shard, inner = self.grid.locate(coords)
        return f"{self.shard_key(shard)}[{','.join(map(str, inner))}]"

    # --- reading ----------------------------------------------------------------------
    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]:
        """The encoded inner chunks at ``coords`` (``None`` where absent)."""
        wanted: dict[Coords, list[tuple[int, Coords]]] = defaultdict(list)
        for i, c in enumerate(coords):
            shard, inner = self.grid.locate(c)
            wanted[shard].append((i, inner))
        result: list[Blob | None] = [None] * len(coords)

        def read_shard(shard: Coords) -> None:
            items = wanted[shard]
            blobs = self._read_inner(shard, [c for _, c in items])
            for (i, _), blob in zip(items, blobs, strict=True):
                result[i] = blob

        if len(wanted) == 1:
            read_shard(next(iter(wanted)))
        else:
            list(config.pool("io_threads").map(read_shard, wanted))
        return result

    def _read_raw_index(self, key: str, cps: tuple[int, ...]) -> bytes | None:
        nbytes = self.codec.index_nbytes(cps)
        request = (
            RangeRequest(0, nbytes)
            if self.codec.index_location == "start"
            else SuffixRequest(nbytes)
        )
        raw = self.store.get(key, request)
        if raw is not None and len(raw) != nbytes:
            raise CodecError(
                f"shard is {len(raw)} bytes, shorter than its {nbytes}-byte index", key=key
            )
        return raw

    def _read_index(self, key: str, shard: Coords) -> Any:
        cps = self.grid.cps(shard)
        raw = self._read_raw_index(key, cps)
        return None if raw is None else self.codec.decode_index(raw, cps, None, key=key)

    def _read_inner(self, shard: Coords, inner: list[Coords]) -> list[Blob | None]:
        """The inner chunks ``inner`` of one shard, all from the same version of it: the
        index is read again after the byte ranges, and the read retried if a writer replaced
        the shard in between (its index then differs)."""
        key, cps = self.shard_key(shard), self.grid.cps(shard)
        for attempt in range(1, _RETRIES + 1):
            raw = self._read_raw_index(key, cps)
            if raw is None:
                return [None] * len(inner)
            blobs = self._read_ranges(key, self.codec.decode_index(raw, cps, None, key=key), inner)
            if blobs is not None and self._read_raw_index(key, cps) == raw:
                return blobs
            if active.conflict:  # the shard changed meanwhile: another version of it
                outcome = "retry" if attempt < _RETRIES else "gave up"
                store = repr(self.store)
                emit(
                    ConflictEvent,
                    op="get_ranges",
                    store=store,
                    key=key,
                    attempt=attempt,
                    resolution=outcome,
                )
        raise StoreError(
            f"the shard changed during each of {_RETRIES} reads", key=key, operation="get_ranges"
        )

    def _read_ranges(self, key: str, index: Any, inner: list[Coords]) -> list[Blob | None] | None:
        entries = [(int(index[c][0]), int(index[c][1])) for c in inner]
        present = sorted({e for e in entries if e[0] != int(EMPTY)})
        spans = _coalesce(present)
        fetched = (
            self.store.get_ranges(key, [RangeRequest(a, b) for a, b in spans]) if spans else []
        )
        if fetched is None:  # deleted after its index was read
            return None
        pieces: dict[tuple[int, int], Blob] = {}
        for (start, end), data in zip(spans, fetched, strict=True):
            if len(data) != end - start:
                raise CodecError(
                    f"shard ended early: bytes [{start}, {end}) returned {len(data)} bytes", key=key
                )
            view = memoryview(data)
            for offset, size in present:
                if start <= offset <= end and offset + size <= end:
                    pieces[(offset, size)] = view[offset - start : offset - start + size]
        return [None if e[0] == int(EMPTY) else pieces[e] for e in entries]

    def store_key(self, coords: Coords) -> str:
        """The key of the shard holding inner chunk ``coords``."""
        return self.shard_key(self.grid.locate(coords)[0])

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        """Inner chunks held by the shards ``stored`` (key -> shard coords; one index read
        each)."""
        indexes = config.pool("io_threads").map(self._read_index, stored, stored.values())
        return sum(int((index[..., 0] != EMPTY).sum()) for index in indexes if index is not None)

    # --- writing ----------------------------------------------------------------------
    def put_chunks(self, updates: Sequence[tuple[Coords, Blob | None]]) -> None:
        """Store (or, for ``None``, remove) inner chunks, rewriting each shard once."""
        by_shard: dict[Coords, dict[Coords, Blob | None]] = defaultdict(dict)
        for c, blob in updates:
            shard, inner = self.grid.locate(c)
            by_shard[shard][inner] = blob
        keys = {shard: self.shard_key(shard) for shard in by_shard}
        with locking.locked(self.store, keys.values()):
            writes, deletes = [], []
            for shard, changes in by_shard.items():
                blobs = self._merge(shard, keys[shard], changes)
                if blobs:
                    writes.append((keys[shard], self.codec.build(blobs, self.grid.cps(shard))))
                else:
                    deletes.append(keys[shard])
            if writes:
                self.store.set_many(writes)
            if deletes:
                self.store.delete_many(deletes)

    def _merge(
        self, shard: Coords, key: str, changes: dict[Coords, Blob | None]
    ) -> dict[Coords, Blob]:
        blobs: dict[Coords, Blob] = {}
        if len(changes) < self.grid.inside(shard, self.counts):
            old = self.store.get(key)
            if old is not None:
                blobs.update(self.codec.split(old, self.grid.cps(shard), key=key))
        for inner, blob in changes.items():
            if blob is None:
                blobs.pop(inner, None)
            else:
                blobs[inner] = blob
        return blobs


#: Reads of a shard that keeps being replaced before giving up.
_RETRIES = 8


def _coalesce(entries: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte spans ``[start, end)`` covering sorted ``(offset, size)`` entries, adjacent or
    overlapping ones merged into one request."""
    spans: list[list[int]] = []
    for offset, size in entries:
        if spans and offset <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], offset + size)
        else:
            spans.append([offset, offset + size])
    return [(a, b) for a, b in spans]
