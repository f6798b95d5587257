"""The codec contract: three kinds of codec, each sync and pure.

A chunk is encoded by zero or more array->array codecs, exactly one array->bytes codec and
zero or more bytes->bytes codecs (Zarr v3's model; v2 filters and compressors are mapped
onto it). Codecs encode and decode without seeing stores, and know a chunk only through
its :class:`ChunkSpec`. A codec that stores chunks inside chunks (sharding) also provides
the engine's access to them (:meth:`ArrayBytesCodec.inner_chunks`), which reaches the store
only through :class:`zarrkit.types.ChunkStore`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

import numpy as np

from zarrkit.errors import CodecError, MetadataError
from zarrkit.metadata.chunk_grid import DimGrid
from zarrkit.types import Blob, ChunkAccess, ChunkStore, Coords

if TYPE_CHECKING:
    from zarrkit.codecs.compression.encoders import Encoder
    from zarrkit.codecs.pipeline import CodecPipeline
    from zarrkit.compiled import Decoder

JSON = Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkSpec:
    """What a codec knows of the chunk it encodes: shape, dtype, fill value and order."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    order: Literal["C", "F"] = "C"

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # np.prod costs 6 us a call


class Codec(ABC):
    """Common base: a v3 ``name`` and JSON round trip."""

    name: ClassVar[str]
    #: ``(module, what to install)`` when the codec needs an optional library, else None.
    requires: ClassVar[tuple[str, str] | None] = None
    #: zarr-python's convention, kept for the ``numcodecs.*`` codecs so zarrkit writes what
    #: it writes: the codec evolves with the array's chunk spec, and the codecs after it
    #: evolve as if it did not change the spec.
    evolves_with_array_spec: ClassVar[bool] = False

    @classmethod
    def from_json(cls, configuration: Mapping[str, JSON]) -> Self:
        """Build the codec from its v3 ``configuration`` object (validated)."""
        if not isinstance(configuration, Mapping):
            raise MetadataError(
                f"codec {cls.name!r}: configuration must be an object, got {configuration!r}",
                field="configuration",
            )
        if is_dataclass(cls):
            options = [f for f in fields(cls) if f.init]
            known = sorted(f.name for f in options)
            for name in configuration:
                if name not in known:
                    raise MetadataError(
                        f"codec {cls.name!r} has no option {name!r}; known: {known}", field=name
                    )
            for f in options:
                required = f.default is MISSING and f.default_factory is MISSING
                if required and f.name not in configuration:
                    raise MetadataError(f"codec {cls.name!r} requires {f.name!r}", field=f.name)
        return cls(**configuration)

    @abstractmethod
    def to_json(self) -> dict[str, JSON]:
        """The v3 metadata object: ``{"name": ..., "configuration": {...}}``."""

    def to_dict(self) -> dict[str, JSON]:
        """:meth:`to_json`, by zarr-python's name."""
        return self.to_json()

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Self:
        """The codec of its v3 metadata object (zarr-python's name)."""
        if data.get("name") != cls.name:
            raise MetadataError(f"expected codec {cls.name!r}, got {data!r}", field="name")
        return cls.from_json(data.get("configuration", {}))

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of this codec's output given the spec of its input."""
        return spec

    def evolve(self, spec: ChunkSpec) -> Self:
        """Fill in configuration left to the array (blosc ``typesize``, bytes ``endian`` ...).

        ``spec`` is the array's chunk spec, as zarr-python uses it for every codec.
        """
        return self

    def validate(self, spec: ChunkSpec) -> None:  # noqa: B027 - a hook, empty by default
        """Raise :class:`~zarrkit.errors.MetadataError` if the codec cannot encode ``spec``."""


class ArrayArrayCodec(Codec):
    """Transforms a chunk array into another array (transpose, delta, scale-offset ...)."""

    @abstractmethod
    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]: ...

    @abstractmethod
    def decode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        """Invert :meth:`encode`; ``spec`` is the spec of the decoded (input) chunk."""


class InnerChunks(Protocol):
    """Chunks a codec stores inside each chunk of an array (sharding's inner chunks), which
    the engine reads and writes one by one instead of whole chunks."""

    @property
    def pipeline(self) -> CodecPipeline:
        """The codecs of one inner chunk."""

    def dims(self, chunks: tuple[DimGrid, ...]) -> tuple[DimGrid, ...]:
        """The grid of inner chunks of an array whose chunks are laid out by ``chunks``."""

    def access(
        self, store: ChunkStore, key: Callable[[Coords], str], chunks: tuple[DimGrid, ...]
    ) -> ChunkAccess:
        """The inner chunks of an array whose chunks, laid out by ``chunks``, are stored at
        ``key(coords)``."""


class ArrayBytesCodec(Codec):
    """Serializes a chunk array to bytes (``bytes``, ``vlen-utf8``, ``sharding_indexed``)."""

    @abstractmethod
    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob: ...

    @abstractmethod
    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]: ...

    def plain_dtype(self, spec: ChunkSpec) -> np.dtype[Any] | None:
        """The dtype whose C-order bytes are exactly this codec's output for ``spec``, when
        the codec is a plain memory copy (so a pipeline may decode straight into an output
        array), else None."""
        return None

    def inner_chunks(self, spec: ChunkSpec) -> InnerChunks | None:
        """How to reach the inner chunks this codec stores inside a chunk of ``spec``, when
        it stores chunks inside chunks (sharding), else None."""
        return None

    def view_itemsize(self, spec: ChunkSpec) -> int:
        """The element size of the view :meth:`encode` returns (blosc takes its
        ``typesize`` from it where its settings name none): 1, bytes."""
        return 1


class BytesBytesCodec(Codec):
    """Transforms bytes into bytes (compressors, checksums)."""

    @abstractmethod
    def encode(self, blob: Blob, spec: ChunkSpec) -> Blob: ...

    @abstractmethod
    def decode(self, blob: Blob, spec: ChunkSpec) -> Blob: ...

    def entropy_codes(self) -> bool:
        """Whether this codec's encoding entropy-codes (zstd, deflate ...), so costs far
        more CPU than storing its output: no for checksums and byte-level coders."""
        return False

    def encoder(self, typesize: int) -> Encoder | None:
        """This codec as an encoder of the compiled writing loop (for data of elements of
        ``typesize`` bytes), or None where it has none."""
        return None

    def decoder(self) -> Decoder | None:
        """The compiled decoder of one chunk of this codec, for a store's reading loop, or
        None where it has none."""
        return None

    def decode_exact(self, blob: Blob, spec: ChunkSpec, nbytes: int) -> Blob:
        """:meth:`decode`, checked to give ``nbytes`` bytes (the result may be read-only);
        codecs that can bound their output by ``nbytes`` override it."""
        data = self.decode(blob, spec)
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if size != nbytes:
            raise CodecError(f"{self.name}: decoded {size} bytes, expected {nbytes}")
        return data

    def decode_head(self, blob: Blob, spec: ChunkSpec, nbytes: int, head: int) -> Blob | None:
        """The first ``head`` of the ``nbytes`` bytes ``blob`` decodes to, decoding no
        further than needed (partial reads of large chunks), or None when this codec cannot
        stop early (the caller then decodes it whole)."""
        return None

    def decode_into(self, blob: Blob, spec: ChunkSpec, out: memoryview) -> bool:
        """Decode straight into ``out`` (sized for the result) and return True, or return
        False when this codec cannot (the caller then uses :meth:`decode`)."""
        return False

    def encode_many(
        self, data: memoryview, spec: ChunkSpec, nbytes: int, keep: Sequence[bool]
    ) -> list[Blob | None]:
        """Encode the ``nbytes`` of ``data`` of each chunk whose ``keep`` is true (the
        others give None): chunk after chunk, or in one tighter loop where a codec
        overrides it."""
        return [
            self.encode(data[i * nbytes : (i + 1) * nbytes], spec) if k else None
            for i, k in enumerate(keep)
        ]

    def decode_many_into(
        self, blobs: Sequence[Blob | None], spec: ChunkSpec, out: memoryview, nbytes: int
    ) -> None:
        """Decode each of ``blobs`` into its ``nbytes`` of ``out`` (blob ``i`` into bytes
        ``i * nbytes`` on), skipping ``None``: chunk after chunk, or in one tighter loop
        where a codec overrides it."""
        for i, blob in enumerate(blobs):
            if blob is not None:
                part = out[i * nbytes : (i + 1) * nbytes]
                if not self.decode_into(blob, spec, part):
                    decoded = self.decode_exact(blob, spec, nbytes)
                    np.copyto(np.frombuffer(part, np.uint8), np.frombuffer(decoded, np.uint8))


def evolve_all(codecs: Sequence[Codec], spec: ChunkSpec) -> list[Codec]:
    """Each codec evolved with the spec it encodes: the array's chunk spec, as the
    array->array codecs before it resolve it (``cast_value`` before ``bytes`` gives
    ``bytes`` the cast type's byte order to fill in); see ``evolves_with_array_spec``."""
    evolved, array_spec = [], spec
    for codec in codecs:
        as_zarr_python = codec.evolves_with_array_spec
        evolved.append(codec.evolve(array_spec if as_zarr_python else spec))
        if isinstance(evolved[-1], ArrayArrayCodec) and not as_zarr_python:
            evolved[-1].validate(spec)  # resolving needs a spec the codec accepts
            spec = evolved[-1].resolve(spec)
    return evolved


def all_fill(chunk: np.ndarray[Any, Any], fill_value: Any) -> bool:
    """Whether every element of ``chunk`` equals ``fill_value`` (NaN equals NaN, NaT NaT).
    Records, raw bytes and ml_dtypes types (kinds ``V``, ``W``) compare bit for bit."""
    kind = chunk.dtype.kind
    if kind in "VW":
        fill = np.asarray(fill_value, dtype=chunk.dtype).reshape(1).view(np.uint8)
        stored = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8)
        return bool((stored.reshape(-1, fill.size) == fill).all())
    missing = np.isnat if kind in "mM" else np.isnan if kind in "fc" else None
    if missing is not None and missing(fill_value):
        return bool(missing(chunk).all())
    if kind in "biufc" and chunk.size and chunk.item(0) != fill_value:
        return False  # one comparison rejects most chunks of real data (measured: 0.06 µs, not 5)
    return bool((chunk == fill_value).all())
