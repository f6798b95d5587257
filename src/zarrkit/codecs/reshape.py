"""``reshape``: give a chunk another shape, keeping its elements in C order.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/reshape
v3 name: ``reshape``; v2 id: none.
Config: ``{"name": "reshape", "configuration": {"shape": [[0, 1], -1]}}``

Each entry of ``shape`` is an output size: a positive integer, ``-1`` (at most once: what
the element count leaves), or a list of input dimensions whose sizes multiply (so the
codec follows chunks of any shape). The listed input dimensions must increase strictly
across the whole ``shape``, and an output dimension given by input dimensions must sit
where they do: the sizes before it multiply to those of the input dimensions before its
first one (the spec's ``prod(A_shape[input_dims[0]])`` reads ``A_shape[:input_dims[0]]``),
and likewise after its last. Useful before ``zfp``, which takes at most four dimensions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from zarrkit.codecs.base import JSON, ArrayArrayCodec, ChunkSpec
from zarrkit.codecs.parse import parse_int
from zarrkit.errors import CodecError, MetadataError

Entry = int | tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReshapeCodec(ArrayArrayCodec):
    """Reshape chunks to ``shape`` (C order; no transpose).

    Examples
    --------
    >>> codec = ReshapeCodec(shape=([0, 1], -1))
    >>> spec = ChunkSpec(shape=(2, 3, 4), dtype=np.dtype("f4"), fill_value=0)
    >>> codec.resolve(spec).shape
    (6, 4)
    """

    name: ClassVar[str] = "reshape"
    shape: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.shape, Sequence) or isinstance(self.shape, str):
            raise _error(f"shape must be a list, got {self.shape!r}")
        entries = tuple(_parse_entry(entry) for entry in self.shape)
        if sum(entry == -1 for entry in entries) > 1:
            raise _error(f"shape {_json(entries)} has more than one -1")
        dims = [d for entry in entries if isinstance(entry, tuple) for d in entry]
        if any(b <= a for a, b in itertools.pairwise(dims)):
            raise _error(f"the input dimensions in {_json(entries)} must increase strictly")
        object.__setattr__(self, "shape", entries)

    def to_json(self) -> dict[str, JSON]:
        return {"name": self.name, "configuration": {"shape": _json(self.shape)}}

    def validate(self, spec: ChunkSpec) -> None:
        self.output_shape(spec.shape)

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        return replace(spec, shape=self.output_shape(spec.shape))

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The encoded shape of a chunk of ``shape``; MetadataError if there is none."""
        for dim in (d for entry in self.shape if isinstance(entry, tuple) for d in entry):
            if dim >= len(shape):
                raise _error(f"input dimension {dim} does not exist in chunk shape {shape}")
        sizes = [math.prod(shape[d] for d in e) if isinstance(e, tuple) else e for e in self.shape]
        if -1 in sizes:
            known = math.prod(s for s in sizes if s != -1)
            if known == 0 or math.prod(shape) % known:
                raise _error(f"{_json(self.shape)} cannot hold the {math.prod(shape)} elements")
            sizes[sizes.index(-1)] = math.prod(shape) // known
        if math.prod(sizes) != math.prod(shape):
            raise _error(f"{_json(self.shape)} gives {sizes}, not {math.prod(shape)} elements")
        for i, entry in enumerate(self.shape):
            if isinstance(entry, tuple) and entry and not _aligned(shape, sizes, i, entry):
                raise _error(f"output dimension {i} ({list(entry)}) is not where its inputs are")
        return tuple(sizes)

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        return chunk.reshape(self.output_shape(spec.shape))

    def decode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        expected = self.output_shape(spec.shape)
        if chunk.shape != expected:
            raise CodecError(f"reshape: got shape {chunk.shape}, expected {expected}")
        return chunk.reshape(spec.shape)


def _parse_entry(entry: object) -> Entry:
    if isinstance(entry, list | tuple):
        return tuple(parse_int(d, codec="reshape", field="shape", lo=0) for d in entry)
    size = parse_int(entry, codec="reshape", field="shape", lo=-1)
    if size == 0:
        raise _error("an output size must be positive or -1, got 0")
    return size


def _aligned(shape: tuple[int, ...], sizes: list[int], i: int, dims: tuple[int, ...]) -> bool:
    """Whether output dimension ``i`` lines up with its input dimensions ``dims``."""
    before = math.prod(sizes[:i]) == math.prod(shape[: dims[0]])
    return before and math.prod(sizes[i + 1 :]) == math.prod(shape[dims[-1] + 1 :])


def _json(entries: Sequence[Entry]) -> list[JSON]:
    return [list(e) if isinstance(e, tuple) else e for e in entries]


def _error(message: str) -> MetadataError:
    return MetadataError(f"codec 'reshape': {message}", field="shape")
