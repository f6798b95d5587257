"""``numcodecs.*``: any numcodecs codec as a v3 codec, the way zarr-python 3 writes them.

Spec: none (zarr-python's extension, https://zarr.readthedocs.io/en/stable/api/zarr/codecs/numcodecs/)
v3 names: ``numcodecs.<id>`` for the ids in :data:`KINDS`; v2 id: ``<id>``.
Config: ``{"name": "numcodecs.delta", "configuration": {"dtype": "<i4"}}`` (the numcodecs
config without ``"id"``, kept as given; fields zarr-python fills from the array's dtype
are filled by :meth:`~zarrkit.codecs.base.Codec.evolve`).

A wrapper takes the numcodecs options as keywords, as zarr-python's do:
``numcodecs_class("lzma")(preset=1)``; the ids zarr-python wraps are public in
:mod:`zarrkit.codecs.numcodecs` under its class names (``LZMA``, ``Delta`` ...).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.codecs.base import (
    JSON,
    ArrayArrayCodec,
    ArrayBytesCodec,
    ChunkSpec,
    Codec,
)
from zarrkit.codecs.buffers import as_blob, as_chunk
from zarrkit.codecs.compression import compression
from zarrkit.codecs.compressor import NumcodecBytesBytes, make_numcodec
from zarrkit.errors import CodecError, MetadataError, UnknownCodecError
from zarrkit.types import Blob

_FILTERS = ("delta", "bitround", "fixedscaleoffset", "quantize", "packbits", "astype")
_SERIALIZERS = ("pcodec", "zfpy")
_COMPRESSORS = ("blosc", "lz4", "zstd", "zlib", "gzip", "bz2", "lzma", "shuffle")
_CHECKSUMS = ("crc32", "crc32c", "adler32", "fletcher32", "jenkins_lookup3")

Kind = Literal["array_array", "array_bytes", "bytes_bytes"]

#: How zarr-python 3.1.6 classifies the numcodecs codecs it writes as ``numcodecs.<id>``.
KINDS: dict[str, Kind] = {
    **dict.fromkeys(_FILTERS, "array_array"),
    **dict.fromkeys(_SERIALIZERS, "array_bytes"),
    **dict.fromkeys((*_COMPRESSORS, *_CHECKSUMS), "bytes_bytes"),
}

#: The numcodecs modules of codecs whose library is optional, and what installs it.
_OPTIONAL = {
    "zfpy": ("numcodecs.zfpy", "zarrkit[zfp]"),
    "pcodec": ("numcodecs.pcodec", "pcodec"),
}

#: zarr-python's class names of the wrappers (``zarr.codecs.numcodecs``).
CLASS_NAMES = {
    "delta": "Delta",
    "bitround": "BitRound",
    "fixedscaleoffset": "FixedScaleOffset",
    "quantize": "Quantize",
    "packbits": "PackBits",
    "astype": "AsType",
    "pcodec": "PCodec",
    "zfpy": "ZFPY",
    "blosc": "Blosc",
    "lz4": "LZ4",
    "zstd": "Zstd",
    "zlib": "Zlib",
    "gzip": "GZip",
    "bz2": "BZ2",
    "lzma": "LZMA",
    "shuffle": "Shuffle",
    "crc32": "CRC32",
    "crc32c": "CRC32C",
    "adler32": "Adler32",
    "fletcher32": "Fletcher32",
    "jenkins_lookup3": "JenkinsLookup3",
}

#: Options zarr-python fills from the array's dtype when a configuration leaves them out.
_FROM_DTYPE: dict[str, tuple[str, Any]] = {
    "shuffle": ("elementsize", lambda dtype: dtype.itemsize),
    "fixedscaleoffset": ("dtype", str),
    "quantize": ("dtype", str),
    "astype": ("decode_dtype", str),
}

#: The option holding the dtype an array->array codec encodes to, when it has one.
_OUTPUT_DTYPE = {
    "astype": "encode_dtype",
    "delta": "astype",
    "fixedscaleoffset": "astype",
    "quantize": "astype",
}


@dataclass(frozen=True, slots=True, init=False, repr=False)
class _Wrapped:
    """The state shared by the three wrapper kinds: the config and its numcodecs codec."""

    codec_id: ClassVar[str]
    name: ClassVar[str]
    kind: ClassVar[Kind]
    evolves_with_array_spec: ClassVar[bool] = True  # as zarr-python evolves them
    configuration: dict[str, JSON] = field(default_factory=dict)
    numcodec: Any = field(repr=False, compare=False, default=None)

    def __init__(self, **codec_config: JSON) -> None:
        pending = _FROM_DTYPE.get(self.codec_id, ("", None))[0]
        ready = codec_config.get(pending) is not None or not pending
        codec = make_numcodec(self.codec_id, codec_config) if ready else None
        object.__setattr__(self, "configuration", dict(codec_config))
        object.__setattr__(self, "numcodec", codec)

    @property
    def codec_name(self) -> str:
        """The v3 name (zarr-python's attribute)."""
        return self.name

    @property
    def codec_config(self) -> dict[str, JSON]:
        """The numcodecs config, with its ``"id"`` (zarr-python's attribute)."""
        return {"id": self.codec_id, **self.configuration}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(codec_name={self.name!r}, codec_config={self.configuration!r})"
        )

    @classmethod
    def from_json(cls, configuration: Any) -> Self:
        if not isinstance(configuration, dict):
            raise MetadataError(
                f"codec {cls.name!r}: configuration must be an object, got {configuration!r}",
                field="configuration",
            )
        return cls(**configuration)

    def to_json(self) -> dict[str, JSON]:
        return {"name": self.name, "configuration": dict(self.configuration)}

    def evolve(self, spec: ChunkSpec) -> Self:
        option, from_dtype = _FROM_DTYPE.get(self.codec_id, ("", None))
        if not option or self.configuration.get(option) is not None:
            return self
        return type(self)(**{**self.configuration, option: from_dtype(spec.dtype)})

    def __reduce__(self) -> tuple[Any, ...]:
        # the classes are made at run time, so pickle by id and kind
        return _rebuild, (self.codec_id, self.kind, self.configuration)

    def _codec(self) -> Any:
        if self.numcodec is None:
            option = _FROM_DTYPE[self.codec_id][0]
            raise CodecError(f"codec {self.name!r}: {option!r} is unset (evolve with the spec)")
        return self.numcodec


class NumcodecsArrayArrayCodec(_Wrapped, ArrayArrayCodec):
    """A numcodecs filter (delta, quantize, packbits ...) as an array->array codec."""

    __slots__ = ()
    kind = "array_array"

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        if self.codec_id == "packbits":
            size = 1 + math.ceil(math.prod(spec.shape) / 8)
            return replace(spec, shape=(size,), dtype=np.dtype(np.uint8))
        dtype = self.configuration.get(_OUTPUT_DTYPE.get(self.codec_id, ""))
        return replace(spec, dtype=np.dtype(dtype)) if dtype else spec

    def validate(self, spec: ChunkSpec) -> None:
        if self.codec_id == "packbits" and spec.dtype != np.bool_:
            raise MetadataError(f"codec {self.name!r} needs a bool array, got {spec.dtype}")

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        return as_chunk(self._codec().encode(np.ascontiguousarray(chunk)), self.resolve(spec))

    def decode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        try:
            return as_chunk(self._codec().decode(np.ascontiguousarray(chunk)), spec)
        except CodecError:
            raise
        except Exception as e:
            raise CodecError(f"{self.name}: cannot decode: {type(e).__name__}: {e}") from e


class NumcodecsBytesBytesCodec(_Wrapped, NumcodecBytesBytes):
    """A numcodecs compressor or checksum as a bytes->bytes codec."""

    __slots__ = ()
    kind = "bytes_bytes"


class NumcodecsArrayBytesCodec(_Wrapped, ArrayBytesCodec):
    """A numcodecs serializer (pcodec, zfpy) as an array->bytes codec."""

    __slots__ = ()
    kind = "array_bytes"

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        return as_blob(self._codec().encode(np.ascontiguousarray(chunk)))

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        try:
            return as_chunk(self._codec().decode(blob), spec)
        except CodecError:
            raise
        except Exception as e:
            raise CodecError(f"{self.name}: cannot decode: {type(e).__name__}: {e}") from e


_BASES: dict[Kind, type[_Wrapped]] = {
    "array_array": NumcodecsArrayArrayCodec,
    "array_bytes": NumcodecsArrayBytesCodec,
    "bytes_bytes": NumcodecsBytesBytesCodec,
}
_classes: dict[tuple[str, Kind], type[Codec]] = {}
_lock = threading.Lock()


def numcodecs_class(codec_id: str, kind: Kind | None = None) -> type[Codec]:
    """The v3 codec class ``numcodecs.<codec_id>``; ``kind`` is needed only for ids
    zarr-python does not classify (a v2 compressor is ``"bytes_bytes"``)."""
    kind = kind or KINDS.get(codec_id)
    if kind is None:
        raise UnknownCodecError(
            f"unknown codec 'numcodecs.{codec_id}'; available: "
            + ", ".join(f"numcodecs.{name}" for name in sorted(KINDS)),
            field="name",
        )
    with _lock:
        if (codec_id, kind) not in _classes:
            base = _BASES[kind]
            attrs: dict[str, Any] = {
                "__slots__": (),
                "codec_id": codec_id,
                "name": f"numcodecs.{codec_id}",
                "requires": _OPTIONAL.get(codec_id),
            }
            if kind == "bytes_bytes":
                attrs["compression"] = compression(codec_id)
            name = CLASS_NAMES.get(codec_id, f"Numcodecs_{codec_id}")
            _classes[codec_id, kind] = type(name, (base,), attrs)
            public = KINDS.get(codec_id) == kind
            _classes[codec_id, kind].__module__ = "zarrkit.codecs.numcodecs" if public else __name__
        return _classes[codec_id, kind]


def _rebuild(codec_id: str, kind: Kind, configuration: dict[str, JSON]) -> Codec:
    return numcodecs_class(codec_id, kind)(**configuration)
