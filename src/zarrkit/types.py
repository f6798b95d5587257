"""The plain types every layer shares: encoded bytes, byte requests and chunk coordinates.

They live below codecs and storage so that neither imports the other for a type alias.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Encoded bytes, as codecs produce and stores hold them.
Blob = bytes | bytearray | memoryview

#: A chunk's index in its grid, one integer per dimension.
Coords = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """Bytes ``[start, end)`` of a value."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OffsetRequest:
    """Bytes from ``offset`` to the end of a value."""

    offset: int


@dataclass(frozen=True, slots=True)
class SuffixRequest:
    """The last ``suffix`` bytes of a value."""

    suffix: int


ByteRequest = RangeRequest | OffsetRequest | SuffixRequest
