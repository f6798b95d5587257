"""The chunk access the sharding codec provides: inner chunks read and written through
the shards that hold them.

Reading inner chunks of a shard takes one request on a warm object store: the shard's
index is cached with the shard's version (:mod:`.index_cache`), and the byte ranges are
read on condition that the shard still has that version; a rewritten shard fails that
condition, and its index is read again. A cold read fetches the index (where requests
are round trips, with the bytes just before it, which may hold the wanted inner chunks or
the whole shard) and then the ranges still missing, both from one version of the shard
(:meth:`~zarrkit.storage.Store.get_then`: one open file, one transaction, or conditional
requests); an index whose bytes are those decoded last time is not decoded again (local
files read it with every read). Ranges of one shard that lie within ``coalesce_gap`` bytes
of each other are read in one request.

Writing replaces whole shards: a shard whose every inner chunk is written whole is built
without reading; otherwise it is read, updated and rewritten under the shard's lock, and
conditionally on its version where other processes may write it
(:mod:`zarrkit.read_modify_write`), so concurrent writers never lose each other's updates.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from zarrkit import config
from zarrkit import read_modify_write as rmw
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.sharding.index_cache import INDEXES, CachedIndex
from zarrkit.codecs.sharding.layout import EMPTY, ShardGrid
from zarrkit.errors import CodecError, ConflictError
from zarrkit.metadata.chunk_grid import DimGrid, inner_dims
from zarrkit.retry import fan_out
from zarrkit.telemetry import ConflictEvent, active, emit
from zarrkit.types import (
    Blob,
    ByteRequest,
    ChunkStore,
    Coords,
    Merge,
    OffsetRequest,
    RangeRequest,
    SuffixRequest,
)

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
        # Shards are fetched in parallel here (writes fan out as the store does: the engine
        # hands each worker whole stored objects, so a shard's inner chunks stay together).
        self.native_concurrency = True

    def key(self, coords: Coords) -> str:
        shard, inner = self.grid.locate(coords)
        return f"{self.shard_key(shard)}[{','.join(map(str, inner))}]"

    # --- reading ----------------------------------------------------------------------
    def fetch_units(self, coords: Sequence[Coords]) -> list[list[int]]:
        """The positions of ``coords`` grouped by shard: each shard is read once, its
        index decoded once, and its inner chunks decoded together."""
        units: dict[Coords, list[int]] = defaultdict(list)
        for i, shard in enumerate(self.grid.shards(coords)):
            units[shard].append(i)
        return list(units.values())

    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]:
        """The encoded inner chunks at ``coords`` (``None`` where absent)."""
        wanted: dict[Coords, tuple[list[int], list[Coords]]] = {}
        for i, (shard, inner) in enumerate(zip(*self.grid.locate_many(coords), strict=True)):
            found = wanted.get(shard)
            if found is None:
                wanted[shard] = ([i], [inner])
            else:
                found[0].append(i)
                found[1].append(inner)
        if len(wanted) == 1:
            ((shard, (_, inners)),) = wanted.items()
            return self._read_inner(shard, inners)  # positions are 0, 1, ...
        result: list[Blob | None] = [None] * len(coords)

        def read_shard(shard: Coords) -> None:
            positions, inners = wanted[shard]
            for i, blob in zip(positions, self._read_inner(shard, inners), strict=True):
                result[i] = blob

        fan_out(read_shard, list(wanted), config.pool("io_threads"))
        return result

    def _read_inner(self, shard: Coords, inner: list[Coords]) -> list[Blob | None]:
        """The inner chunks ``inner`` of ``shard``, all from one version of it."""
        key = self.shard_key(shard)
        cps = self.grid.cps(shard)
        where = (self.store.identity, key)
        cached = INDEXES.get(where)
        if cached is not None and cached.version is not None:
            plan = _ShardRead(self, key, cps, inner)
            requests = plan.plan(cached.index)
            try:
                return plan.blobs(self.store.get_ranges_if(key, requests, cached.version))
            except ConflictError:
                INDEXES.discard(where)  # rewritten or deleted: read its index again
                cached = None
                if active.conflict:
                    emit(ConflictEvent, op="get_ranges_if", store=repr(self.store), key=key)
        plan = _ShardRead(self, key, cps, inner, cached)
        found = self.store.get_then(key, self._first_request(shard, cps, inner), plan.then)
        if found is None:
            return [None] * len(inner)
        head, parts = found
        if plan.decoded is not None:
            version = head.version if self.store.versions_cacheable else None
            INDEXES.put(where, replace(plan.decoded, version=version))
        return plan.blobs(parts)

    def _first_request(self, shard: Coords, cps: Coords, inner: list[Coords]) -> ByteRequest:
        """The whole shard when every inner chunk of it is wanted (one request), else its
        index and, in the same request where requests are round trips, the bytes beside it."""
        if len(set(inner)) == self.grid.inside(shard, self.counts):
            return OffsetRequest(0)
        at_start = self.codec.index_location == "start"
        # bytes beside an index at the end are of use only where their offset is known; on
        # local files a second read costs less than copying them (7 us per read, measured)
        useful = at_start or self.store.supports_versions
        ahead = config.get("shard_read_ahead") if useful and self.store.native_concurrency else 0
        size = self.codec.index_nbytes(cps) + ahead
        return RangeRequest(0, size) if at_start else SuffixRequest(size)

    def _read_index(self, key: str, shard: Coords) -> Any:
        cps = self.grid.cps(shard)
        nbytes = self.codec.index_nbytes(cps)
        at_start = self.codec.index_location == "start"
        raw = self.store.get(key, RangeRequest(0, nbytes) if at_start else SuffixRequest(nbytes))
        if raw is None:
            return None
        if len(raw) != nbytes:
            raise CodecError(
                f"shard is {len(raw)} bytes, shorter than its {nbytes}-byte index", key=key
            )
        return self.codec.decode_index(raw, cps, None, key=key)

    def store_keys(self, coords: Sequence[Coords]) -> list[str]:
        """The key of the shard holding each inner chunk of ``coords`` (each key made once)."""
        shards = self.grid.shards(coords)
        keys = {shard: self.shard_key(shard) for shard in set(shards)}
        return [keys[shard] for shard in shards]

    def objects_along(self, axis: int, ixs: Sequence[int]) -> Sequence[int]:
        shards: list[int] = self.grid.axes[axis].shards(np.asarray(ixs, dtype=np.int64)).tolist()
        return shards

    def object_key(self, index: Coords) -> str:
        return self.shard_key(index)

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        """Inner chunks held by the shards ``stored`` (key -> shard coords; one index read
        each)."""
        indexes = fan_out(
            lambda item: self._read_index(*item), list(stored.items()), config.pool("io_threads")
        )
        return sum(int((index[..., 0] != EMPTY).sum()) for index in indexes if index is not None)

    # --- writing ----------------------------------------------------------------------
    def update_chunks(
        self, coords: Sequence[Coords], complete: Sequence[bool], merge: Merge
    ) -> None:
        """Rewrite inner chunks with ``merge``, each shard once: built without reading when
        every inner chunk of it is written whole, else read-modify-written."""
        by_shard: dict[Coords, list[tuple[Coords, Coords, bool]]] = defaultdict(list)
        shards, inners = self.grid.locate_many(coords)
        for shard, inner, c, done in zip(shards, inners, coords, complete, strict=True):
            by_shard[shard].append((inner, c, done))
        whole = [s for s, items in by_shard.items() if self._covers(s, items)]
        writes, deletes = self._whole_shards({s: by_shard[s] for s in whole}, merge)
        partial = {self.shard_key(s): items for s, items in by_shard.items() if s not in whole}
        cps = {self.shard_key(s): self.grid.cps(s) for s in by_shard if s not in whole}

        def modify(keys: Sequence[str], olds: Sequence[bytes | None]) -> list[Blob | None]:
            stored: list[dict[Coords, Blob]] = [
                {} if old is None else dict(self.codec.split(old, cps[key], key=key))
                for key, old in zip(keys, olds, strict=True)
            ]
            changes = [
                [(c, None if done else blobs.get(inner)) for inner, c, done in partial[key]]
                for key, blobs in zip(keys, stored, strict=True)
            ]
            merged = iter(merge([item for change in changes for item in change]))
            shards: list[Blob | None] = []
            for key, blobs in zip(keys, stored, strict=True):
                for inner, _, _ in partial[key]:
                    _put(blobs, inner, next(merged))
                shards.append(self.codec.build(blobs, cps[key]) if blobs else None)
            return shards

        def empty(key: str) -> Blob:
            return self.codec.build({}, cps[key])

        rmw.store_changes(self.store, writes, deletes, list(partial), modify, empty)

    def _covers(self, shard: Coords, items: list[tuple[Coords, Coords, bool]]) -> bool:
        """Whether ``items`` write every inner chunk of ``shard`` (inside the array) whole."""
        inside = self.grid.inside(shard, self.counts)
        return all(done for _, _, done in items) and len({i for i, _, _ in items}) == inside

    def _whole_shards(
        self, shards: dict[Coords, list[tuple[Coords, Coords, bool]]], merge: Merge
    ) -> tuple[list[tuple[str, Blob]], list[str]]:
        """The shards written whole, built without reading: those holding some inner chunk,
        and the keys of those left empty (to remove). A shard inside the array is encoded
        in bulk where ``merge`` can (:meth:`~zarrkit.types.Merge.block`)."""
        built: dict[Coords, bytes | None] = {}
        for shard in shards:
            cps = self.grid.cps(shard)
            if self.grid.inside(shard, self.counts) == math.prod(cps):
                blobs = merge.block(self.grid.block(shard), cps)
                if blobs is not None:
                    stored = any(b is not None for b in blobs)
                    built[shard] = self.codec.build_ordered(blobs, cps) if stored else None
        items = [
            (c, None) for s, changes in shards.items() if s not in built for _, c, _ in changes
        ]
        merged = iter(merge(items) if items else [])
        for shard, changes in shards.items():
            if shard not in built:
                found: dict[Coords, Blob] = {}
                for inner, _, _ in changes:
                    _put(found, inner, next(merged))
                built[shard] = self.codec.build(found, self.grid.cps(shard)) if found else None
        writes: list[tuple[str, Blob]] = [
            (self.shard_key(s), b) for s, b in built.items() if b is not None
        ]
        deletes = [self.shard_key(s) for s, b in built.items() if b is None]
        return writes, deletes


def _put(blobs: dict[Coords, Blob], inner: Coords, blob: Blob | None) -> None:
    if blob is None:
        blobs.pop(inner, None)
    else:
        blobs[inner] = blob


_EMPTY = int(EMPTY)
#: Reads of at most this many inner chunks find their index entries without NumPy.
_FEW_ENTRIES = 8


class _ShardRead:
    """One read of inner chunks ``inner`` of shard ``key`` (``cps`` inner chunks per
    dimension): which byte ranges it needs (from the index), which of them came with the
    index, and the inner chunks at the end."""

    def __init__(
        self,
        access: ShardedChunks,
        key: str,
        cps: tuple[int, ...],
        inner: list[Coords],
        known: CachedIndex | None = None,
    ) -> None:
        self.access, self.key, self.cps, self.inner = access, key, cps, inner
        self.known = known  # the index decoded last time, reused if its bytes are the same
        self.decoded: CachedIndex | None = None  # the index, when decoded by this read
        self.index: Any = None
        self.entries: list[tuple[int, int]] = []
        self.spans: list[tuple[int, int]] = []  # the ranges requested after the index
        self.pieces: dict[tuple[int, int], Blob] = {}

    def then(self, head: bytes, start: int | None) -> list[ByteRequest]:
        """The ranges still needed once the index (and the bytes beside it) are read."""
        access = self.access
        n = access.codec.index_nbytes(self.cps)
        if len(head) < n:
            raise CodecError(
                f"shard is {len(head)} bytes, shorter than its {n}-byte index", key=self.key
            )
        at_end = access.codec.index_location == "end"
        raw = head[-n:] if at_end else head[:n]
        size = None if start is None or not at_end else start + len(head)
        requests = self.plan(self._decode(raw, size))
        if start is None:
            return requests
        data = memoryview(head)[: len(head) - n] if at_end else memoryview(head)[n:]
        first = start if at_end else start + n
        wanted = []
        for span in self.spans:
            if first <= span[0] and span[1] <= first + len(data):
                self._take(span, data[span[0] - first : span[1] - first])
            else:
                wanted.append(span)
        self.spans = wanted
        return [RangeRequest(a, b) for a, b in wanted]

    def _decode(self, raw: bytes, size: int | None) -> Any:
        """The checked index of ``raw`` (of a shard of ``size`` bytes, when known)."""
        codec = self.access.codec
        checked = (self.cps, size, codec)
        if self.known is not None and self.known.decodes(raw, checked):
            return self.known.index
        index = codec.decode_index(raw, self.cps, size, key=self.key)
        self.decoded = CachedIndex(raw, checked, index)
        return index

    def plan(self, index: Any) -> list[ByteRequest]:
        """The coalesced ranges holding the inner chunks, by ``index``."""
        self.index = index
        if not self.cps:  # a 0-d array: one entry
            entries = [tuple(index.tolist())]
        elif len(self.inner) <= _FEW_ENTRIES:  # plain arithmetic: NumPy's calls cost 10 µs
            rows = index.reshape(-1, 2)
            steps = [math.prod(self.cps[d + 1 :]) for d in range(len(self.cps))]
            flat = (sum(map(operator.mul, inner, steps)) for inner in self.inner)
            entries = [tuple(rows[i].tolist()) for i in flat]
        else:  # every entry in one NumPy call
            at = np.ravel_multi_index(np.asarray(self.inner, dtype=np.intp).T, self.cps)
            entries = list(map(tuple, index.reshape(-1, 2)[at].tolist()))
        self.entries = cast(list[tuple[int, int]], entries)
        present = sorted({e for e in self.entries if e[0] != _EMPTY})
        self.spans = _coalesce(present, config.get("coalesce_gap"))
        return [RangeRequest(a, b) for a, b in self.spans]

    def blobs(self, parts: Sequence[bytes]) -> list[Blob | None]:
        """The inner chunks, from the bytes of :attr:`spans` (``parts``) and those taken
        beside the index."""
        for span, data in zip(self.spans, parts, strict=True):
            self._take(span, memoryview(data))
        return [None if e[0] == _EMPTY else self.pieces[e] for e in self.entries]

    def _take(self, span: tuple[int, int], data: memoryview) -> None:
        start, end = span
        if len(data) != end - start:
            raise CodecError(
                f"shard ended early: bytes [{start}, {end}) returned {len(data)} bytes",
                key=self.key,
            )
        for offset, size in self.entries:
            if offset != _EMPTY and start <= offset and offset + size <= end:
                self.pieces[(offset, size)] = data[offset - start : offset - start + size]


def _coalesce(entries: Sequence[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Byte spans ``[start, end)`` covering sorted ``(offset, size)`` entries, those less
    than ``gap`` bytes apart merged into one request."""
    spans: list[list[int]] = []
    for offset, size in entries:
        if spans and offset <= spans[-1][1] + gap:
            spans[-1][1] = max(spans[-1][1], offset + size)
        else:
            spans.append([offset, offset + size])
    return [(a, b) for a, b in spans]
