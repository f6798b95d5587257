"""What every compression format does: numcodecs encodes, and decoders are bounded.

A :class:`Compression` encodes with the numcodecs codec (the bytes zarr-python writes) and
decodes with the fastest installed library. Decoders are strict: truncated data, trailing
garbage and size mismatches raise :class:`~zarrkit.errors.CodecError`. They never allocate
from a size header they have not checked: against the expected size when the caller knows
it (``decode_exact``, ``decode_into``), otherwise against the ``max_chunk_bytes`` setting
(:class:`~zarrkit.errors.ResourceLimitError`), and streams stop one byte past that bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from zarrkit import config
from zarrkit.codecs.buffers import as_blob, blob_size, copy_exact
from zarrkit.codecs.compression.encoders import Encoder
from zarrkit.compiled import Decoder
from zarrkit.errors import CodecError, ResourceLimitError
from zarrkit.types import Blob


class Compression:
    """A format decoded by its numcodecs codec alone (no bound on its output); the formats
    zarrkit knows override the decoders."""

    #: Whether the format entropy-codes (Huffman, FSE or arithmetic coding after its
    #: matching): its encoding then costs far more CPU than storing the result.
    entropy_coded: ClassVar[bool] = False

    def entropy_codes(self, codec: Any) -> bool:
        """Whether encoding with the numcodecs ``codec`` entropy-codes."""
        return self.entropy_coded

    def encode(self, codec: Any, data: Blob) -> Blob:
        """``data`` encoded with the numcodecs ``codec``."""
        return as_blob(codec.encode(data))

    def encode_many(
        self, codec: Any, data: memoryview, nbytes: int, keep: Sequence[bool]
    ) -> list[Blob | None] | None:
        """Each ``nbytes`` of ``data`` whose ``keep`` is true encoded (the others None) in
        one loop, or None when this format has no such loop."""
        return None

    def encoder(self, codec: Any, typesize: int) -> Encoder | None:
        """The compiled encoder of the numcodecs ``codec`` for data of elements of
        ``typesize`` bytes (:mod:`~zarrkit.codecs.compression.encoders`), or None."""
        return None

    def decoder(self) -> Decoder | None:
        """The compiled decoder of one chunk of this format (a store's reading loop calls
        it on each file it reads), or None."""
        return None

    def decode(self, codec: Any, data: Blob) -> Blob:
        """``data`` decoded (at most ``max_chunk_bytes`` bytes where the format is known)."""
        return as_blob(codec.decode(data))

    def decode_exact(self, codec: Any, data: Blob, nbytes: int) -> Blob:
        """``data`` decoded, exactly ``nbytes`` bytes of it (possibly read-only)."""
        return exact(self.decode(codec, data), nbytes)

    def decode_head(self, codec: Any, data: Blob, nbytes: int, head: int) -> Blob | None:
        """The first ``head`` of the ``nbytes`` bytes ``data`` decodes to, or None when this
        format cannot stop early."""
        return None

    def decode_into(self, codec: Any, data: Blob, out: memoryview) -> bool:
        """Decode straight into ``out`` (exactly its size) and return True, or return False
        when this format cannot."""
        return False

    def decode_many_into(
        self, codec: Any, blobs: Sequence[Blob | None], out: memoryview, nbytes: int
    ) -> bool:
        """Decode each of ``blobs`` (``None``: skipped) into its ``nbytes`` of ``out`` in
        one loop and return True, or return False when this format has no such loop."""
        return False


class Stream(Compression, ABC):
    """A format decoded by a streaming decompressor that can stop at a bound."""

    #: The numcodecs id, naming the format in errors.
    name: ClassVar[str]

    @abstractmethod
    def decompress(self, codec: Any, data: Blob, bound: int) -> Blob:
        """The decoded bytes, stopping once there are more than ``bound``."""

    def decode(self, codec: Any, data: Blob) -> Blob:
        return self._bounded(codec, data, None)

    def decode_exact(self, codec: Any, data: Blob, nbytes: int) -> Blob:
        return exact(self._bounded(codec, data, nbytes), nbytes)

    def decode_into(self, codec: Any, data: Blob, out: memoryview) -> bool:
        copy_exact(self._bounded(codec, data, out.nbytes), out)
        return True

    def _bounded(self, codec: Any, data: Blob, expected: int | None) -> Blob:
        """Decompress, stopping one byte past ``expected`` (or past ``max_chunk_bytes``
        when it is unknown), so a bomb cannot fill memory."""
        bound = config.get("max_chunk_bytes") if expected is None else expected
        result = self.decompress(codec, data, bound)
        if blob_size(result) > bound:
            raise too_much(self.name, expected)
        return result


class SizeHeader(Compression, ABC):
    """A format whose data starts with its decoded size, checked before numcodecs decodes."""

    #: The numcodecs id, naming the format in errors.
    name: ClassVar[str]

    @abstractmethod
    def decoded_size(self, data: Blob) -> int:
        """The decoded size the header holds, after checking that the data can hold it."""

    @abstractmethod
    def decompress_into(self, data: Blob, out: memoryview) -> None:
        """Decode ``data`` into ``out`` (its size checked) with numcodecs' function for
        the format: the codec's ``decode`` without the wrapper's buffer checks, which cost
        more than decoding a small chunk."""

    def decode(self, codec: Any, data: Blob) -> Blob:
        check_header(self.name, self.decoded_size(data), None)
        return super().decode(codec, data)

    def decode_exact(self, codec: Any, data: Blob, nbytes: int) -> Blob:
        check_header(self.name, self.decoded_size(data), nbytes)
        return exact(super().decode(codec, data), nbytes)

    def decode_into(self, codec: Any, data: Blob, out: memoryview) -> bool:
        check_header(self.name, self.decoded_size(data), out.nbytes)
        self.decompress_into(data, out)
        return True


def exact(data: Blob, nbytes: int) -> Blob:
    """``data``, checked to hold ``nbytes`` bytes."""
    if blob_size(data) != nbytes:
        raise CodecError(f"decoded {blob_size(data)} bytes, expected {nbytes}")
    return data


def one_stream(decompressor: Any, data: Blob, name: str, bound: int) -> Blob:
    """Decompress exactly one complete stream (truncation and trailing bytes raise), or
    stop once it holds more than ``bound`` bytes."""
    result: Blob = decompressor.decompress(data, bound + 1)
    if len(result) > bound:
        return result
    if not decompressor.eof:
        raise CodecError(f"{name}: data is truncated")
    if decompressor.unused_data:
        raise CodecError(f"{name}: {len(decompressor.unused_data)} bytes of trailing data")
    return result


def check_header(name: str, nbytes: int, expected: int | None) -> None:
    """Refuse a decoded size read from a header: not ``expected``, or (unknown expected
    size) over ``max_chunk_bytes``."""
    if expected is None:
        config.check_limit("max_chunk_bytes", nbytes, f"the decoded size in a {name} header")
    elif nbytes != expected:
        raise CodecError(f"{name}: header holds {nbytes} bytes, expected {expected}")


def too_much(name: str, expected: int | None) -> Exception:
    """The error for a stream that decodes to more than its bound."""
    if expected is not None:
        return CodecError(f"{name}: data holds more than the expected {expected} bytes")
    limit = config.get("max_chunk_bytes")
    return ResourceLimitError(
        f"{name}: data decodes to more than the max_chunk_bytes limit of {limit} bytes; "
        "raise it with `with zarrkit.config.set(max_chunk_bytes=...)`"
    )
