"""Where an array's chunks live and how they are encoded: :class:`Layout`, built once per
array by :func:`layout_for`, and :class:`KeyedChunks`, the chunk access of arrays that
store one key per chunk (sharded arrays get theirs from the sharding codec)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from zarrkit import read_modify_write as rmw
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.engine.cache import ChunkCache
from zarrkit.indexing import GridProjection, Projection
from zarrkit.metadata.chunk_grid import DimGrid
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ChunkAccess, Coords
from zarrkit.types import Merge as MergeProtocol

NDArray = np.ndarray[Any, Any]


class KeyedChunks:
    """One store key per chunk (``prefix`` + the chunk key encoding). ``template``, the
    encoding's ``%``-format of a key, builds a batch of keys in one comprehension."""

    def __init__(
        self,
        store: Store,
        prefix: str,
        chunk_key: Callable[[Coords], str],
        template: str | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.chunk_key = chunk_key
        self.native_concurrency = store.native_concurrency
        self._template = None if template is None else prefix.replace("%", "%%") + template

    def key(self, coords: Coords) -> str:
        if self._template is not None:
            return self._template % coords
        return self.prefix + self.chunk_key(coords)

    def keys(self, coords: Sequence[Coords]) -> list[str]:
        template = self._template
        if template is None:
            return [self.key(c) for c in coords]
        return [template % c for c in coords]

    def fetch_units(self, coords: Sequence[Coords]) -> list[list[int]]:
        return [list(range(len(coords)))]  # one batch: the store fans it out

    def get_chunks(self, coords: Sequence[Coords]) -> list[Blob | None]:
        return list(self.store.get_many(self.keys(coords)))

    def count_stored(self, stored: Mapping[str, Coords]) -> int:
        return len(stored)

    store_keys = keys
    object_key = key

    def objects_along(self, axis: int, ixs: Sequence[int]) -> None:
        return None

    def update_chunks(
        self, coords: Sequence[Coords], complete: Sequence[bool], merge: MergeProtocol
    ) -> None:
        """Whole chunks are written without reading; the others are read-modify-written."""
        whole = [c for c, done in zip(coords, complete, strict=True) if done]
        blobs = merge([(c, None) for c in whole]) if whole else []
        keys = self.keys(whole)
        writes = [(k, b) for k, b in zip(keys, blobs, strict=True) if b is not None]
        deletes = [k for k, b in zip(keys, blobs, strict=True) if b is None]
        partial = [c for c, done in zip(coords, complete, strict=True) if not done]
        by_key = dict(zip(self.keys(partial), partial, strict=True))

        def modify(keys: Sequence[str], olds: Sequence[bytes | None]) -> list[Blob | None]:
            return merge([(by_key[key], old) for key, old in zip(keys, olds, strict=True)])

        def empty(key: str) -> Blob:
            return merge.empty(by_key[key])

        rmw.store_changes(self.store, writes, deletes, list(by_key), modify, empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Everything the engine needs to know of an array: where its chunks live and how
    they are encoded."""

    chunks: ChunkAccess
    dims: tuple[DimGrid, ...]
    pipeline: CodecPipeline
    fill_value: Any
    write_empty_chunks: bool = False
    cache: ChunkCache | None = None
    #: Every chunk is stored with the nominal shape (no rectilinear dimension).
    uniform: bool = True
    #: The array's path in its store (what telemetry reports).
    path: str = ""
    #: False: reading a chunk that is not stored raises instead of giving the fill value.
    read_missing_chunks: bool = True
    #: The memory order of the arrays reads return ("C" or "F").
    order: str = "C"

    @property
    def keyed(self) -> bool:
        """Whether each chunk is stored under a key of its own (not inside a shard)."""
        return isinstance(self.chunks, KeyedChunks)

    def cache_key(self, coords: Coords) -> tuple[int, str]:
        return (id(self.chunks.store), self.chunks.key(coords))

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.pipeline.spec.dtype

    def stored_shape(self, coords: Coords) -> tuple[int, ...]:
        """The shape chunk ``coords`` is stored with: the nominal chunk shape, except along
        dimensions of a grid whose chunks differ in size (rectilinear)."""
        nominal = self.pipeline.spec.shape
        if self.uniform:
            return nominal
        return tuple(
            n if dim.padded else dim.chunk_len(ix)
            for n, dim, ix in zip(nominal, self.dims, coords, strict=True)
        )

    def pipeline_at(self, coords: Coords) -> CodecPipeline:
        """The codec pipeline of chunk ``coords`` (specialised to its stored shape)."""
        if self.uniform:
            return self.pipeline
        shape = self.stored_shape(coords)
        if shape == self.pipeline.spec.shape:
            return self.pipeline
        return self.pipeline.with_shape(shape)

    def object_blocks(self, plan: Projection) -> list[tuple[str, GridProjection]] | None:
        """A grid plan's chunks split by the stored object holding them (a shard), with its
        key, in plan order, without an object per chunk; None where each chunk is stored
        alone (one object per chunk would cost more than listing the chunks) or the plan
        lists its chunks."""
        if not isinstance(plan, GridProjection):
            return None
        access = self.chunks
        along = [access.objects_along(axis, p.ixs) for axis, p in enumerate(plan.plans)]
        if any(a is None for a in along):
            return None
        blocks = plan.blocks(cast(list[Sequence[int]], along))
        return [(access.object_key(index), block) for index, block in blocks]

    def fill_chunk(self, coords: Coords) -> NDArray:
        spec = self.pipeline.spec
        shape = self.stored_shape(coords)
        return np.full(shape, self.fill_value, dtype=spec.dtype, order=spec.order)


def layout_for(
    store: Store,
    prefix: str,
    meta: Any,
    pipeline: CodecPipeline,
    fill_value: Any,
    write_empty_chunks: bool,
    cache: ChunkCache | None = None,
    read_missing_chunks: bool = True,
    order: str = "C",
) -> Layout:
    """The layout of an array: chunk by chunk, or inner chunk by inner chunk when its
    codecs store chunks inside chunks (sharding: reads fetch byte ranges, not whole shards)."""
    dims = meta.chunk_grid.dims(meta.shape)
    template = getattr(meta.chunk_key_encoding, "template", None)
    keyed = KeyedChunks(
        store, prefix, meta.chunk_key, None if template is None else template(len(meta.shape))
    )
    chunks: ChunkAccess = keyed
    inner = pipeline.inner_chunks
    if inner is not None:
        chunks = inner.access(store, keyed.key, dims)
        dims = inner.dims(dims)
        pipeline = inner.pipeline
    return Layout(
        chunks=chunks,
        dims=dims,
        pipeline=pipeline,
        fill_value=fill_value,
        write_empty_chunks=write_empty_chunks,
        cache=cache,
        uniform=all(d.padded for d in dims),
        path=prefix.rstrip("/"),
        read_missing_chunks=read_missing_chunks,
        order=order,
    )
