"""The base of bytes->bytes codecs encoded by a numcodecs codec and decoded by the fastest
installed library (:mod:`zarrkit.codecs.compression`): gzip, zstd, blosc and ``numcodecs.*``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numcodecs

from zarrkit.codecs.base import JSON, BytesBytesCodec, ChunkSpec
from zarrkit.codecs.compression import Compression
from zarrkit.codecs.compression.encoders import Encoder
from zarrkit.compiled import Decoder
from zarrkit.errors import CodecError, MetadataError, ResourceLimitError, UnknownCodecError
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
    """A bytes->bytes codec encoded by a numcodecs codec and decoded by its
    :class:`~zarrkit.codecs.compression.Compression`."""

    codec_id: ClassVar[str]
    #: How the format of ``codec_id`` is encoded and decoded.
    compression: ClassVar[Compression]
    numcodec: Any

    def _codec(self) -> Any:
        return self.numcodec

    def encode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        return self.compression.encode(self._codec(), blob)

    def entropy_codes(self) -> bool:
        return self.compression.entropy_codes(self._codec())

    def encoder(self, typesize: int) -> Encoder | None:
        return self.compression.encoder(self._codec(), typesize)

    def decoder(self) -> Decoder | None:
        return self.compression.decoder()

    def encode_many(
        self, data: memoryview, spec: ChunkSpec, nbytes: int, keep: Sequence[bool]
    ) -> list[Blob | None]:
        found = self.compression.encode_many(self._codec(), data, nbytes, keep)
        return super().encode_many(data, spec, nbytes, keep) if found is None else found

    # the error handling is written out in each decoder: a helper taking a callable costs a
    # closure and a call per chunk
    def decode(self, blob: Blob, spec: ChunkSpec) -> Blob:
        try:
            return self.compression.decode(self._codec(), blob)
        except (CodecError, ResourceLimitError):
            raise
        except Exception as e:
            raise self._cannot_decode(e) from e

    def decode_exact(self, blob: Blob, spec: ChunkSpec, nbytes: int) -> Blob:
        try:
            return self.compression.decode_exact(self._codec(), blob, nbytes)
        except (CodecError, ResourceLimitError):
            raise
        except Exception as e:
            raise self._cannot_decode(e) from e

    def decode_head(self, blob: Blob, spec: ChunkSpec, nbytes: int, head: int) -> Blob | None:
        try:
            return self.compression.decode_head(self._codec(), blob, nbytes, head)
        except (CodecError, ResourceLimitError):
            raise
        except Exception as e:
            raise self._cannot_decode(e) from e

    def decode_into(self, blob: Blob, spec: ChunkSpec, out: memoryview) -> bool:
        try:
            return self.compression.decode_into(self._codec(), blob, out)
        except (CodecError, ResourceLimitError):
            raise
        except Exception as e:
            raise self._cannot_decode(e) from e

    def decode_many_into(
        self, blobs: Sequence[Blob | None], spec: ChunkSpec, out: memoryview, nbytes: int
    ) -> None:
        try:
            done = self.compression.decode_many_into(self._codec(), blobs, out, nbytes)
        except (CodecError, ResourceLimitError):
            raise
        except Exception as e:
            raise self._cannot_decode(e) from e
        if not done:
            super().decode_many_into(blobs, spec, out, nbytes)

    def _cannot_decode(self, error: Exception) -> CodecError:
        """A failure of the library as a :class:`CodecError` naming the format."""
        return CodecError(f"{self.codec_id}: cannot decode: {type(error).__name__}: {error}")
