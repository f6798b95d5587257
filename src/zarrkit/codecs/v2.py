"""Zarr v2 ``filters`` and ``compressor``, mapped onto the v3 codec model.

Spec: https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html#chunks
v3 name: none; v2 ids: any numcodecs id, as ``{"id": "zstd", "level": 1}`` configs.

A v2 chunk is ``compressor(filters(chunk in order C or F))``. A pipeline holds it as
``[transpose (order F only)] -> V2Filters -> [compressor]``: :class:`V2Filters` runs the
numcodecs filters and hands the compressor an array view that keeps its element size (blosc
reads its ``typesize`` from it, as with zarr-python); decoding views the result as the
array's dtype, so filters may change the dtype or length (astype, packbits, quantize ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs.base import JSON, ArrayBytesCodec, BytesBytesCodec, ChunkSpec, Codec
from zarrkit.codecs.blosc import SHUFFLES, BloscCodec
from zarrkit.codecs.buffers import as_blob, as_chunk, typed_view
from zarrkit.codecs.compressor import make_numcodec
from zarrkit.codecs.gzip import GzipCodec
from zarrkit.codecs.numcodec import numcodecs_class
from zarrkit.codecs.zstd import ZstdCodec
from zarrkit.errors import MetadataError
from zarrkit.types import Blob


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Filters(ArrayBytesCodec):
    """A v2 chunk (already in storage order) through its numcodecs ``filters``."""

    name: ClassVar[str] = "zarrkit.v2_filters"
    filters: tuple[Numcodec, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        raise MetadataError("v2 filters have no v3 form of their own; use v2_to_v3")

    def plain_dtype(self, spec: ChunkSpec) -> np.dtype[Any] | None:
        return None if self.filters else spec.dtype

    def view_itemsize(self, spec: ChunkSpec) -> int:
        return spec.dtype.itemsize  # typed_view's (datetimes as int64: the same size)

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        data: Any = np.ascontiguousarray(chunk, dtype=spec.dtype)
        for f in self.filters:
            data = f.encode(data)
        return typed_view(data) if isinstance(data, np.ndarray) else as_blob(data)

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        data: Any = blob
        for f in reversed(self.filters):
            data = f.decode(data)
        return as_chunk(data, spec)


def v2_config(codec: object, *, field: str = "compressor") -> dict[str, JSON]:
    """The normalized v2 config (numcodecs ``get_config()``, as zarr-python writes it, which
    drops zstd's ``checksum: false``) of a numcodecs codec, a v2 config or a v3 codec."""
    if isinstance(codec, Codec):
        return codec_to_v2(codec)
    if isinstance(codec, Numcodec):
        config = dict(codec.get_config())
    elif isinstance(codec, dict) and isinstance(codec.get("id"), str):
        options = {k: v for k, v in codec.items() if k != "id"}
        config = dict(make_numcodec(codec["id"], options).get_config())
    else:
        raise MetadataError(
            f"expected a numcodecs codec or a config with an 'id', got {codec!r}", field=field
        )
    if config["id"] == "zstd" and not config.get("checksum", False):
        config.pop("checksum", None)
    return config


def v2_compressor(config: dict[str, JSON]) -> BytesBytesCodec:
    """A v2 compressor config as the bytes->bytes codec of a v2 pipeline."""
    options = {k: v for k, v in config.items() if k != "id"}
    return cast(BytesBytesCodec, numcodecs_class(config["id"], "bytes_bytes").from_json(options))


def codec_from_v2(config: dict[str, JSON]) -> Codec:
    """The v3 codec equivalent to a v2 config: zstd, gzip and blosc become the v3 codecs
    of those names, everything else ``numcodecs.<id>``."""
    options = {k: v for k, v in config.items() if k != "id"}
    codec_id = config["id"]
    if codec_id == "zstd":
        return ZstdCodec(level=options.get("level", 0), checksum=options.get("checksum", False))
    if codec_id == "gzip":
        return GzipCodec(level=options.get("level", 1))
    if codec_id == "blosc":
        shuffle = options.get("shuffle", 1)
        return BloscCodec(
            cname=options.get("cname", "lz4"),
            clevel=options.get("clevel", 5),
            shuffle=SHUFFLES[shuffle] if shuffle in (0, 1, 2) else None,
            blocksize=options.get("blocksize", 0),
            typesize=options.get("typesize"),
        )
    return numcodecs_class(codec_id).from_json(options)


def codec_to_v2(codec: Codec) -> dict[str, JSON]:
    """The v2 config of a v3 codec that has one (those backed by a numcodecs codec)."""
    numcodec = getattr(codec, "numcodec", None)
    if numcodec is None:
        raise MetadataError(f"codec {codec.name!r} has no Zarr v2 form", field="codecs")
    return v2_config(numcodec)
