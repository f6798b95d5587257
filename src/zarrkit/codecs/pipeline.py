"""The codec pipeline: a chunk array <-> its stored bytes, for v3 and v2 arrays.

Zarr v3's model (array->array codecs, one array->bytes codec, bytes->bytes codecs) holds
both formats; v2 filters and compressor are mapped onto it by :mod:`zarrkit.codecs.v2`.
When the codecs before the serializer are only transposes, the serializer is a plain memory
copy and the output is contiguous in stored order, the innermost compressor decodes
straight into the output array's memory.

Over 400 lines: encoding and decoding, one chunk or a batch, whole or its leading rows, into
new memory or the output's, are one class's, each checking what the others assume.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence
from functools import cached_property, partial
from typing import Any, NoReturn

import numcodecs
import numpy as np

from zarrkit import compiled, config
from zarrkit.codecs.base import (
    JSON,
    ArrayArrayCodec,
    ChunkSpec,
    Codec,
    InnerChunks,
    evolve_all,
)
from zarrkit.codecs.buffers import blob_size, byte_view, copy_exact, copy_rows
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.compression import encoders
from zarrkit.codecs.compression.encoders import Encoder
from zarrkit.codecs.registry import classify_codecs, get_codec
from zarrkit.codecs.transpose import TransposeCodec
from zarrkit.codecs.v2 import V2Filters, codec_from_v2, codec_to_v2, v2_compressor, v2_config
from zarrkit.compiled import Decoder
from zarrkit.errors import CodecError, MetadataError, ResourceLimitError, ZarrkitError
from zarrkit.telemetry import active, observe_codec, within
from zarrkit.types import Blob

CodecLike = Any  # v3 JSON, v2 JSON, a Codec or a numcodecs codec
_ENDIAN = {"<": "little", ">": "big"}
_VLEN_IDS = ("vlen-utf8", "vlen-bytes")


class CodecPipeline:
    """Encode and decode the chunks of one array (thread-safe: codecs are immutable).

    Examples
    --------
    >>> spec = ChunkSpec(shape=(2, 3), dtype=np.dtype("f8"), fill_value=0.0)
    >>> pipeline = CodecPipeline.from_v3(["bytes", {"name": "zstd"}], spec)
    >>> pipeline.to_v3_json()[1]
    {'name': 'zstd', 'configuration': {'level': 0, 'checksum': False}}
    >>> chunk = np.arange(6.0).reshape(2, 3)
    >>> bool((pipeline.decode(pipeline.encode(chunk)) == chunk).all())
    True
    """

    def __init__(
        self,
        codecs: Sequence[Codec],
        spec: ChunkSpec,
        *,
        v2: tuple[list[dict[str, JSON]] | None, dict[str, JSON] | None] | None = None,
    ) -> None:
        self.spec = spec
        self.array_array, self.array_bytes, self.bytes_bytes = classify_codecs(codecs)
        self._v2 = v2
        self._reshaped: dict[tuple[int, ...], CodecPipeline] = {}
        self._specs: list[ChunkSpec] = []
        for codec in self.array_array:
            codec.validate(spec)
            self._specs.append(spec)
            spec = codec.resolve(spec)
        self._inner = spec
        self._undo = list(zip(self.array_array, self._specs, strict=True))[::-1]
        for later in (self.array_bytes, *self.bytes_bytes):
            later.validate(spec)
        self._perm: tuple[int, ...] | None = tuple(range(len(self.spec.shape)))
        for codec in self.array_array:
            if not isinstance(codec, TransposeCodec):
                self._perm = None
                break
            self._perm = tuple(self._perm[i] for i in codec.order)
        plain = self.array_bytes.plain_dtype(spec)
        self._plain = plain if self._perm is not None and plain == spec.dtype else None
        self._nbytes = spec.nbytes
        #: The axes order of the stored chunk, None when it is the array's (no view needed).
        self._transpose = None if self._perm == tuple(range(len(spec.shape))) else self._perm
        #: Whether :meth:`decode_into` a C-contiguous array of ``spec``'s shape and dtype
        #: decodes into its memory (no copy), so a reader may reuse one such scratch array.
        self.decodes_in_place = self._plain is not None and self._transpose is None
        # fixed-size serialized bytes: decoders then check size headers against it
        self._serial = plain if plain is not None and plain.kind not in "OT" else None
        #: The inner chunks the engine reads and writes instead of whole chunks, when the
        #: only codec stores chunks inside chunks (sharding).
        self.inner_chunks: InnerChunks | None = (
            None
            if self.array_array or self.bytes_bytes
            else self.array_bytes.inner_chunks(self.spec)
        )
        #: The bytes of a row (first axis) when a chunk is stored as its C-order bytes behind
        #: one compressor, which may then decode just the leading rows; else 0.
        heads = self._plain is not None and not self.array_array and len(self.bytes_bytes) == 1
        rows = spec.shape[0] if spec.shape else 0
        self._row_bytes = self._nbytes // rows if heads and rows else 0
        self._check_size()

    @classmethod
    def from_v3(cls, codecs: Sequence[CodecLike], spec: ChunkSpec) -> CodecPipeline:
        """The pipeline of a v3 ``codecs`` list, each codec evolved with the spec it encodes."""
        return cls(evolve_all([get_codec(codec) for codec in codecs], spec), spec)

    @classmethod
    def from_v2(
        cls, filters: Sequence[CodecLike] | None, compressor: CodecLike | None, spec: ChunkSpec
    ) -> CodecPipeline:
        """The pipeline of a v2 array's ``filters`` and ``compressor`` (order from ``spec``)."""
        configs = [v2_config(f, field="filters") for f in filters or ()]
        compressor_config = None if compressor is None else v2_config(compressor)
        ndim = len(spec.shape)
        codecs: list[Codec] = []
        if spec.order == "F" and ndim > 1:
            codecs.append(TransposeCodec(order=tuple(reversed(range(ndim)))))
        codecs.append(V2Filters(filters=tuple(numcodecs.get_codec(dict(c)) for c in configs)))
        if compressor_config is not None:
            codecs.append(v2_compressor(compressor_config))
        return cls(codecs, spec, v2=(configs or None, compressor_config))

    @property
    def codecs(self) -> tuple[Codec, ...]:
        return (*self.array_array, self.array_bytes, *self.bytes_bytes)

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The names of the codecs, in order (as telemetry reports them)."""
        return tuple(codec.name for codec in self.codecs)

    @cached_property
    def entropy_coded(self) -> bool:
        """Whether a bytes->bytes codec entropy-codes (its encoding is CPU-bound)."""
        return any(codec.entropy_codes() for codec in self.bytes_bytes)

    @cached_property
    def encoder(self) -> Encoder | None:
        """The compiled encoder that makes a chunk's stored bytes from its C-order memory
        (:data:`~zarrkit.codecs.compression.encoders.STORED` where no codec changes them),
        or None where there is none (filters, transposes, a byte order to swap, checksums
        ..., or the compiled encoders were not built): then chunks encode in Python."""
        if self._plain is None or self.array_array or len(self.bytes_bytes) > 1:
            return None
        if not self.bytes_bytes:
            return encoders.STORED
        return self.bytes_bytes[0].encoder(self.array_bytes.view_itemsize(self._inner))

    @cached_property
    def decoder(self) -> Decoder | None:
        """The compiled decoder of one chunk that gives its C-order memory from its stored
        bytes (:data:`~zarrkit.compiled.STORED` where no codec changes them), or None where
        there is none (what :attr:`encoder` has none for, or the decoding loops were not
        built): then chunks decode in Python."""
        if self._plain is None or self._transpose is not None or len(self.bytes_bytes) > 1:
            return None
        return self.bytes_bytes[0].decoder() if self.bytes_bytes else compiled.STORED

    def with_shape(self, shape: tuple[int, ...]) -> CodecPipeline:
        """This pipeline for chunks of another shape (grids whose chunks differ in size)."""
        cached = self._reshaped.get(shape)
        if cached is None:
            spec = dataclasses.replace(self.spec, shape=shape)
            cached = CodecPipeline(evolve_all(self.codecs, spec), spec, v2=self._v2)
            self._reshaped[shape] = cached
        return cached

    def encode(self, chunk: np.ndarray[Any, Any]) -> Blob:
        """The stored bytes of ``chunk`` (shape ``spec.shape``, any memory layout)."""
        if active.codec and not within("codec"):
            call = partial(self.encode, chunk)
            return observe_codec("encode", self.names, chunk.nbytes, call, _blob_nbytes)
        if chunk.shape != self.spec.shape:
            raise CodecError(
                f"cannot encode a chunk of shape {chunk.shape}, expected {self.spec.shape}"
            )
        try:
            data = chunk
            for codec, spec in zip(self.array_array, self._specs, strict=True):
                data = codec.encode(data, spec)
            blob = self.array_bytes.encode(data, self._inner)
            for bytes_codec in self.bytes_bytes:
                blob = bytes_codec.encode(blob, self._inner)
            return blob
        except Exception as e:
            _raise_encoding(e)

    def encode_many(self, chunks: np.ndarray[Any, Any], keep: Sequence[bool]) -> list[Blob | None]:
        """The stored bytes of each of ``chunks`` (stacked: shape ``(n, *spec.shape)``)
        whose ``keep`` is true, None for the others: in one loop of the compressor where
        chunks are stored as they lie in memory, else chunk by chunk."""
        plain = self._plain is not None and not self.array_array and chunks.dtype == self._plain
        plain = plain and chunks.flags.c_contiguous and chunks.shape[1:] == self.spec.shape
        if not plain or len(self.bytes_bytes) != 1 or (active.codec and not within("codec")):
            return [self.encode(c) if k else None for c, k in zip(chunks, keep, strict=True)]
        try:
            return self.bytes_bytes[0].encode_many(
                byte_view(chunks), self._inner, self._nbytes, keep
            )
        except Exception as e:
            _raise_encoding(e)

    def decode(
        self, blob: Blob, *, key: str | None = None, writable: bool = True
    ) -> np.ndarray[Any, Any]:
        """The chunk stored as ``blob`` (an array of ``spec``'s shape and dtype); with
        ``writable=False`` it may be a read-only view of the decoded bytes (no copy)."""
        if active.codec and not within("codec"):
            call = partial(self.decode, blob, key=key, writable=writable)
            return observe_codec(
                "decode", self.names, _blob_nbytes(blob), call, _array_nbytes, key=key
            )
        try:
            if self._plain is None:
                return self._decode(blob)
            if writable:
                chunk = np.empty(self._inner.shape, self._plain)
                self._decode_plain(blob, chunk)
            else:
                chunk = self._plain_chunk(blob)
            for codec, spec in self._undo:
                chunk = codec.decode(chunk, spec)
            return chunk
        except Exception as e:
            raise_keyed(e, key)

    def decode_head(self, blob: Blob, rows: int, *, key: str | None = None) -> np.ndarray[Any, Any]:
        """The chunk stored as ``blob`` (possibly read-only), or only its first ``rows`` rows
        (along the first axis) where the codecs can stop decoding there (partial reads)."""
        if not self._row_bytes or rows >= self.spec.shape[0] or active.codec:
            return self.decode(blob, key=key, writable=False)  # telemetry sees whole decodes
        head = rows * self._row_bytes
        try:
            data = self.bytes_bytes[0].decode_head(blob, self._inner, self._nbytes, head)
        except Exception as e:
            raise_keyed(e, key)
        if data is None:
            return self.decode(blob, key=key, writable=False)
        return np.frombuffer(data, self._plain).reshape(rows, *self._inner.shape[1:])

    def decode_into(self, blob: Blob, out: np.ndarray[Any, Any], *, key: str | None = None) -> None:
        """Decode ``blob`` into ``out`` (a view of shape ``spec.shape``): straight into its
        memory when it is contiguous in stored order, else with one copy of the decoded
        bytes into it."""
        if active.codec and not within("codec"):
            call = partial(self.decode_into, blob, out, key=key)
            return observe_codec(
                "decode", self.names, _blob_nbytes(blob), call, out.nbytes, key=key
            )
        if self._plain is None or out.dtype != self._plain or out.shape != self.spec.shape:
            out[...] = self.decode(blob, key=key, writable=False)
            return
        target = out if self._transpose is None else out.transpose(self._transpose)
        try:
            if target.flags.c_contiguous:
                self._decode_plain(blob, target)
            else:  # a block of a larger output
                target[...] = self._plain_chunk(blob)
        except Exception as e:
            raise_keyed(e, key)

    def decode_many(self, blobs: Sequence[Blob | None], out: np.ndarray[Any, Any]) -> None:
        """Decode ``blobs`` into ``out`` (C-contiguous, shape ``(len(blobs), *spec.shape)``),
        leaving the rows of ``None`` as they are: in one loop (the compressor's, or a copy
        where there is none) where the chunks are stored as they lie in memory, else chunk
        by chunk."""
        plain = self._plain is not None and self._transpose is None and out.dtype == self._plain
        plain = plain and out.flags.c_contiguous
        if not plain or len(self.bytes_bytes) > 1 or (active.codec and not within("codec")):
            for blob, chunk in zip(blobs, out, strict=True):
                if blob is not None:
                    self.decode_into(blob, chunk)
            return
        rows = byte_view(out)
        try:
            if self.bytes_bytes:
                self.bytes_bytes[0].decode_many_into(blobs, self._inner, rows, self._nbytes)
            else:  # stored as they lie in memory (measured: 1 µs a 4 KiB chunk less)
                copy_rows(blobs, rows, self._nbytes)
        except Exception as e:
            raise_keyed(e, None)

    def to_v3_json(self) -> list[dict[str, JSON]]:
        """The v3 ``codecs`` field (a v2 pipeline is converted where it can be)."""
        if self._v2 is None:
            return [codec.to_json() for codec in self.codecs]
        filters, compressor = self._v2
        filters = list(filters or ())
        serializer: Codec
        if filters and filters[-1].get("id") in _VLEN_IDS:
            # v2's object filters (the last one, turning objects to bytes) are v3 serializers
            serializer = get_codec(filters.pop()["id"])
        else:
            byteorder = self._inner.dtype.byteorder
            endian = None if byteorder == "|" else _ENDIAN.get(byteorder, sys.byteorder)
            serializer = BytesCodec(endian=endian)
        converted = [codec_from_v2(f) for f in filters]
        # filters that act on bytes (shuffle ...) can follow the serializer in v3
        n = next(
            (i for i, c in enumerate(converted) if not isinstance(c, ArrayArrayCodec)),
            len(converted),
        )
        codecs = [
            *self.array_array,
            *converted[:n],
            serializer,
            *converted[n:],
            *([codec_from_v2(compressor)] if compressor else []),
        ]
        return CodecPipeline(evolve_all(codecs, self.spec), self.spec).to_v3_json()

    def to_v2_json(self) -> tuple[list[dict[str, JSON]] | None, dict[str, JSON] | None]:
        """The v2 ``filters`` and ``compressor`` (a v3 pipeline is converted where it can be)."""
        if self._v2 is not None:
            filters, compressor = self._v2
            return [dict(f) for f in filters] if filters else None, compressor and dict(compressor)
        if any(isinstance(codec, TransposeCodec) for codec in self.array_array):
            raise MetadataError(
                "transpose has no v2 form (v2 has only order 'C' or 'F')", field="codecs"
            )
        serializer = self.array_bytes
        vlen = serializer.name in _VLEN_IDS
        if not vlen and (
            not isinstance(serializer, BytesCodec)
            or serializer.plain_dtype(self._inner) != self._inner.dtype
        ):
            raise MetadataError(
                f"{serializer.to_json()} has no v2 form for {self._inner.dtype}", field="codecs"
            )
        if len(self.bytes_bytes) > 1:
            raise MetadataError("v2 allows one compressor", field="codecs")
        filters = [codec_to_v2(codec) for codec in self.array_array]
        if vlen:  # v3's vlen serializers are v2 object filters
            filters.append({"id": serializer.name})
        compressor = codec_to_v2(self.bytes_bytes[0]) if self.bytes_bytes else None
        return filters or None, compressor

    def _check_size(self) -> None:
        """Refuse chunks over ``max_chunk_bytes`` before any is allocated (a shard read
        inner chunk by inner chunk is exempt: its inner pipeline is checked)."""
        if self.inner_chunks is not None:
            return
        nbytes = math.prod(self.spec.shape) * self.spec.dtype.itemsize
        what = f"the size of a chunk of shape {self.spec.shape} and data type {self.spec.dtype}"
        config.check_limit("max_chunk_bytes", nbytes, what)

    def _decode(self, blob: Blob) -> np.ndarray[Any, Any]:
        if self._serial is not None and self.bytes_bytes:
            # the serialized size is known: decompress into it, checking size headers
            stored = np.empty(self._inner.shape, self._serial)
            self._decode_plain(blob, stored)
            data: Blob = byte_view(stored)
        else:
            data = blob
            for bytes_codec in reversed(self.bytes_bytes):
                data = bytes_codec.decode(data, self._inner)
        chunk = self.array_bytes.decode(data, self._inner)
        for codec, spec in self._undo:
            chunk = codec.decode(chunk, spec)
        if chunk.shape != self.spec.shape or chunk.dtype != self.spec.dtype:
            raise CodecError(
                f"decoded {chunk.shape} {chunk.dtype}, expected {self.spec.shape} {self.spec.dtype}"
            )
        return chunk if chunk.flags.writeable else chunk.copy()

    def _decode_plain(self, blob: Blob, target: np.ndarray[Any, Any]) -> None:
        """Decode into ``target``, C-contiguous in stored layout."""
        out = byte_view(target)
        data = blob
        for bytes_codec in self.bytes_bytes[:0:-1]:
            data = bytes_codec.decode(data, self._inner)
        if self.bytes_bytes:
            innermost = self.bytes_bytes[0]
            if innermost.decode_into(data, self._inner, out):
                return
            data = innermost.decode(data, self._inner)
        copy_exact(data, out)

    def _plain_chunk(self, blob: Blob) -> np.ndarray[Any, Any]:
        """The chunk in stored layout, as a read-only view of its decoded bytes."""
        data = blob
        for bytes_codec in self.bytes_bytes[:0:-1]:
            data = bytes_codec.decode(data, self._inner)
        if self.bytes_bytes:
            data = self.bytes_bytes[0].decode_exact(data, self._inner, self._nbytes)
        elif blob_size(data) != self._nbytes:
            raise CodecError(f"chunk holds {blob_size(data)} bytes, expected {self._nbytes}")
        return np.frombuffer(data, self._plain).reshape(self._inner.shape)


def _blob_nbytes(blob: Blob) -> int:
    return memoryview(blob).nbytes


def _array_nbytes(chunk: np.ndarray[Any, Any]) -> int:
    return int(chunk.nbytes)


def _raise_encoding(error: Exception) -> NoReturn:
    """``error``, raised while encoding, as a :class:`CodecError` unless it is one of ours."""
    if isinstance(error, ZarrkitError):
        raise error
    raise CodecError(f"cannot encode: {type(error).__name__}: {error}") from error


def raise_keyed(error: Exception, key: str | None) -> NoReturn:
    """Raise ``error`` (raised while decoding chunk ``key``) as a CodecError naming ``key``;
    other zarrkit errors as they are (a resource limit with the key in its message)."""
    if isinstance(error, CodecError):
        if error.key is not None or key is None:
            raise error
        raise type(error)(error.args[0], key=key) from error
    if isinstance(error, ResourceLimitError) and key is not None:
        raise ResourceLimitError(f"chunk {key!r}: {error}") from error
    if isinstance(error, ZarrkitError):
        raise error
    raise CodecError(f"cannot decode: {type(error).__name__}: {error}", key=key) from error
