"""The base of bytes->bytes codecs encoded by a numcodecs codec and decoded by the fastest
installed library (:mod:`zarrkit.codecs.backends`): gzip, zstd, blosc and ``numcodecs.*``."""

from __future__ import annotations

from typing import Any, ClassVar

import numcodecs

from zarrkit.codecs import backends
from zarrkit.codecs.base import JSON, BytesBytesCodec, ChunkSpec
from zarrkit.errors import MetadataError, UnknownCodecError
from zarrkit.types import Blob


def make_numcodec(codec_id: str, configuration: dict[str, JSON]) -> Any:
    """The numcodecs codec ``{"id": codec_id, **configuration}``; bad configs raise."""
    try:
        return numcodecs.get_codec({"id": codec_id, **configuration})
    except ValueError as e:
        if codec_id not in numcodecs.registry.codec_registry:
            known = ", ".join(sorted(numcodecs.registry.codec_registry))
            raise UnknownCodecError(
                f"unknown numcodecs codec id {codec_id!r}; available: {known}", field="id"
            ) from e
        raise MetadataError(f"codec {codec_id!r}: invalid configuration: {e}") from e
    except (TypeError, KeyError) as e:
        raise MetadataError(f"codec {codec_id!r}: invalid configuration: {e}") from e


class NumcodecBytesBytes(BytesBytesCodec):
    """A bytes->bytes codec encoded by a numcodecs codec and decoded by :mod:`backends`."""

    codec_id: ClassVar[str]
    numcodec: Any

    def _codec(self) -> Any:
        return self.numcodec

    def encode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        return backends.encode(self.codec_id, self._codec(), blob)

    def decode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        return backends.decode(self.codec_id, self._codec(), blob)

    def decode_into(self, blob: Blob, spec: ChunkSpec, out: memoryview) -> bool:
        return backends.decode_into(self.codec_id, self._codec(), blob, out)
