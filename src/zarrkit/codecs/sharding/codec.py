"""``sharding_indexed``: many inner chunks in one stored object, found through an index.

Spec: https://zarr-specs.readthedocs.io/en/latest/v3/codecs/sharding-indexed/index.html
v3 name: ``sharding_indexed``; v2 id: none.
Config: ``{"name": "sharding_indexed", "configuration": {"chunk_shape": [64, 64],
"codecs": [{"name": "bytes"}], "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}],
"index_location": "end"}}``

This codec encodes and decodes whole shards (used when a shard is itself an inner chunk,
or when other codecs surround it). Arrays whose only codec is sharding read and write inner
chunks through the chunk access it provides (:meth:`ShardingCodec.inner_chunks`,
:mod:`zarrkit.codecs.sharding.access`), which fetches just the index and the byte ranges it
needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

import numpy as np

from zarrkit.codecs.base import JSON, ArrayBytesCodec, ChunkSpec, Codec, all_fill, evolve_all
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.crc32c import Crc32cCodec
from zarrkit.codecs.parse import parse_choice
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.codecs.registry import get_codec
from zarrkit.codecs.sharding.access import Shards
from zarrkit.codecs.sharding.layout import EMPTY, morton_order
from zarrkit.errors import CodecError, MetadataError
from zarrkit.types import Blob, Coords


class ShardingCodecIndexLocation(StrEnum):
    """Where a shard keeps its index, as zarr-python names it (strings work too)."""

    start = "start"
    end = "end"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardingCodec(ArrayBytesCodec):
    """Inner chunks of ``chunk_shape`` encoded with ``codecs``, plus an index of
    ``(offset, nbytes)`` pairs encoded with ``index_codecs`` at the start or end. Codecs
    may be given as codec objects or their JSON, as in zarr-python.

    Examples
    --------
    >>> ShardingCodec(chunk_shape=[2, 2]).to_json()["configuration"]["index_codecs"]
    [{'name': 'bytes', 'configuration': {'endian': 'little'}}, {'name': 'crc32c'}]
    """

    chunk_shape: tuple[int, ...]
    codecs: tuple[Codec, ...] = (BytesCodec(),)
    index_codecs: tuple[Codec, ...] = (BytesCodec(endian="little"), Crc32cCodec())
    index_location: ShardingCodecIndexLocation | str = "end"
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    name: ClassVar[str] = "sharding_indexed"

    def __post_init__(self) -> None:
        shape = self.chunk_shape
        if not isinstance(shape, list | tuple) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape
        ):
            raise MetadataError(
                f"chunk_shape must be positive integers, got {shape!r}",
                field="sharding_indexed.chunk_shape",
            )
        for name in ("codecs", "index_codecs"):
            if not getattr(self, name):
                raise MetadataError("expected a non-empty list", field=f"sharding_indexed.{name}")
        object.__setattr__(self, "chunk_shape", tuple(shape))
        object.__setattr__(self, "codecs", _codecs(self.codecs))
        object.__setattr__(self, "index_codecs", _codecs(self.index_codecs))
        location = parse_choice(
            self.index_location,
            tuple(ShardingCodecIndexLocation),
            codec=self.name,
            field="index_location",
        )
        object.__setattr__(self, "index_location", ShardingCodecIndexLocation(location))

    @classmethod
    def from_json(cls, configuration: Mapping[str, JSON]) -> Self:
        shape: Any = configuration.get("chunk_shape")  # the constructor checks the fields
        codecs = configuration.get("codecs", [{"name": "bytes"}])
        index_codecs = configuration.get("index_codecs", [{"name": "bytes"}, {"name": "crc32c"}])
        for name, value in (("codecs", codecs), ("index_codecs", index_codecs)):
            if not isinstance(value, list):
                raise MetadataError(
                    f"expected a list of codecs, got {value!r}", field=f"sharding_indexed.{name}"
                )
        return cls(
            chunk_shape=shape,
            codecs=tuple(codecs),
            index_codecs=tuple(index_codecs),
            index_location=configuration.get("index_location", "end"),
        )

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "configuration": {
                "chunk_shape": list(self.chunk_shape),
                "codecs": [c.to_json() for c in self.codecs],
                "index_codecs": [c.to_json() for c in self.index_codecs],
                "index_location": str(self.index_location),
            },
        }

    def evolve(self, spec: ChunkSpec) -> Self:
        inner = self.inner_spec(spec)
        return type(self)(
            chunk_shape=self.chunk_shape,
            codecs=tuple(evolve_all(self.codecs, inner)),
            index_codecs=self.index_codecs,
            index_location=self.index_location,
        )

    def validate(self, spec: ChunkSpec) -> None:
        if len(self.chunk_shape) != len(spec.shape):
            raise MetadataError(
                f"inner chunk shape {self.chunk_shape} and shard shape {spec.shape} differ in rank",
                field="sharding_indexed.chunk_shape",
            )
        if any(s % c for s, c in zip(spec.shape, self.chunk_shape, strict=True)):
            raise MetadataError(  # the spec: inner chunks evenly divide the shard
                f"inner chunk shape {self.chunk_shape} does not divide the shard shape "
                f"{spec.shape}",
                field="sharding_indexed.chunk_shape",
            )
        self.inner_pipeline(spec)

    def inner_chunks(self, spec: ChunkSpec) -> Shards:
        return Shards(self, spec)

    # --- the shard layout -------------------------------------------------------------
    def inner_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return ChunkSpec(
            shape=self.chunk_shape, dtype=spec.dtype, fill_value=spec.fill_value, order=spec.order
        )

    def chunks_per_shard(self, shard_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(s // c for s, c in zip(shard_shape, self.chunk_shape, strict=True))

    def inner_pipeline(self, spec: ChunkSpec) -> CodecPipeline:
        key = ("inner", spec)
        if key not in self._cache:
            self._cache[key] = CodecPipeline(list(self.codecs), self.inner_spec(spec))
        pipeline: CodecPipeline = self._cache[key]
        return pipeline

    def index_pipeline(self, cps: tuple[int, ...]) -> CodecPipeline:
        key = ("index", cps)
        if key not in self._cache:
            spec = ChunkSpec(shape=(*cps, 2), dtype=np.dtype("uint64"), fill_value=EMPTY)
            self._cache[key] = CodecPipeline([c.evolve(spec) for c in self.index_codecs], spec)
        pipeline: CodecPipeline = self._cache[key]
        return pipeline

    def index_nbytes(self, cps: tuple[int, ...]) -> int:
        """Bytes of the encoded index (index codecs must have a fixed size)."""
        key = ("index_nbytes", cps)
        if key not in self._cache:
            empty = np.full((*cps, 2), EMPTY, dtype=np.uint64)
            self._cache[key] = len(memoryview(self.index_pipeline(cps).encode(empty)).cast("B"))
        return int(self._cache[key])

    def decode_index(
        self, blob: Blob, cps: tuple[int, ...], shard_size: int | None, *, key: str | None = None
    ) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """The ``(*cps, 2)`` index, checked: every entry empty or inside the shard's data
        (its end is only checked when ``shard_size`` is known), no two entries overlapping."""
        index = np.asarray(self.index_pipeline(cps).decode(blob, key=key), dtype=np.uint64)
        flat = index.reshape(-1, 2)
        used = flat[flat[:, 0] != EMPTY]
        n = self.index_nbytes(cps)
        lo = n if self.index_location == "start" else 0
        hi = 2**63 if shard_size is None else shard_size - (0 if lo else n)
        if len(used):
            starts, ends = used[:, 0], used[:, 0] + used[:, 1]
            if (starts < lo).any() or (ends > hi).any() or (ends < starts).any():
                raise CodecError(
                    f"shard index points outside the shard's data bytes [{lo}, {hi})", key=key
                )
            order = np.argsort(starts, kind="stable")
            if (starts[order][1:] < ends[order][:-1]).any():
                raise CodecError("shard index has overlapping byte ranges", key=key)
        return index

    def build(self, blobs: Mapping[Coords, Blob], cps: tuple[int, ...]) -> bytes:
        """A shard holding ``blobs`` (inner coords -> encoded inner chunk), inner chunks in
        Morton order, as zarr-python writes them."""
        parts: list[Blob] = []
        where: list[int] = []
        for coords, position in zip(*self._morton(cps), strict=True):
            blob = blobs.get(coords)
            if blob is not None:
                parts.append(blob)
                where.append(position)
        return self._assemble(parts, where, cps)

    def build_ordered(self, blobs: Sequence[Blob | None], cps: tuple[int, ...]) -> bytes:
        """:meth:`build` of ``blobs`` given in C order of the shard's inner chunks (``None``:
        not stored)."""
        where = [p for p in self._morton(cps)[1] if blobs[p] is not None]
        return self._assemble([blobs[p] for p in where], where, cps)  # type: ignore[misc]

    def _assemble(self, parts: list[Blob], where: list[int], cps: tuple[int, ...]) -> bytes:
        """The shard of ``parts`` (in order) with its index, ``where[i]`` being the C-order
        position of ``parts[i]``."""
        # the index in a few NumPy calls: per-entry assignments cost more than the encode
        sizes = np.fromiter((memoryview(p).nbytes for p in parts), np.uint64, len(parts))
        first = self.index_nbytes(cps) if self.index_location == "start" else 0
        index = np.full((math.prod(cps), 2), EMPTY, dtype=np.uint64)
        index[where, 0] = np.cumsum(sizes) - sizes + np.uint64(first)
        index[where, 1] = sizes
        encoded_index = self.index_pipeline(cps).encode(index.reshape(*cps, 2))
        if self.index_location == "start":
            parts.insert(0, encoded_index)
        else:
            parts.append(encoded_index)
        return b"".join(parts)

    def _morton(self, cps: tuple[int, ...]) -> tuple[list[Coords], list[int]]:
        """The inner chunks of a shard in Morton order: their coords, and their positions
        in the C-ordered index."""
        key = ("morton", cps)
        if key not in self._cache:
            order = morton_order(cps)
            flat = np.ravel_multi_index(tuple(order.T), cps) if cps else np.zeros(1, np.intp)
            self._cache[key] = (list(map(tuple, order.tolist())), flat.tolist())
        found: tuple[list[Coords], list[int]] = self._cache[key]
        return found

    def split(
        self, shard: Blob, cps: tuple[int, ...], *, key: str | None = None
    ) -> dict[Coords, memoryview]:
        """The inner chunks of a whole shard, by inner coords."""
        data = memoryview(shard).cast("B")
        n = self.index_nbytes(cps)
        if len(data) < n:
            raise CodecError(
                f"shard of {len(data)} bytes is shorter than its {n}-byte index", key=key
            )
        raw = data[:n] if self.index_location == "start" else data[len(data) - n :]
        index = self.decode_index(raw, cps, len(data), key=key)
        found = {}
        for coords in np.argwhere(index[..., 0] != EMPTY):
            offset, size = (int(v) for v in index[tuple(coords)])
            found[tuple(int(c) for c in coords)] = data[offset : offset + size]
        return found

    # --- whole-shard encode and decode (nested sharding, or codecs around the shard) -----
    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        pipeline = self.inner_pipeline(spec)
        cps = self.chunks_per_shard(spec.shape)
        blobs: dict[Coords, Blob] = {}
        for coords in np.ndindex(*cps):
            inner = chunk[self._region(coords)]
            if not all_fill(inner, spec.fill_value):
                blobs[coords] = pipeline.encode(inner)
        return self.build(blobs, cps)

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        pipeline = self.inner_pipeline(spec)
        cps = self.chunks_per_shard(spec.shape)
        out = np.full(spec.shape, spec.fill_value, dtype=spec.dtype)
        for coords, inner in self.split(blob, cps).items():
            if len(inner):
                out[self._region(coords)] = pipeline.decode(inner)
        return out

    def _region(self, coords: Coords) -> tuple[slice, ...]:
        """Where inner chunk ``coords`` lies in its shard."""
        return tuple(
            slice(i * c, (i + 1) * c) for i, c in zip(coords, self.chunk_shape, strict=True)
        )


def _codecs(items: Iterable[Any]) -> tuple[Codec, ...]:
    """Codecs given as objects or JSON, as codec objects."""
    return tuple(get_codec(item) for item in items)
