"""Every exception zarrkit raises.

Each class also derives from the built-in exception callers already catch, so
``except KeyError`` / ``except ValueError`` code written for zarr-python keeps working.
Messages say what was wrong, the value, and where (key, field).
"""

from __future__ import annotations


class ZarrkitError(Exception):
    """Base class of every zarrkit error."""


# --- metadata and format -----------------------------------------------------------------


class MetadataError(ZarrkitError, ValueError):
    """A metadata document is malformed or inconsistent.

    ``key`` is the store key of the document (e.g. ``"a/zarr.json"``) and ``field`` the
    offending field, when known.
    """

    def __init__(self, message: str, *, key: str | None = None, field: str | None = None):
        self.key = key
        self.field = field
        where = ", ".join(
            part
            for part in (f"key {key!r}" if key else "", f"field {field!r}" if field else "")
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class UnknownCodecError(MetadataError):
    """A codec name or id is not registered."""


class UnknownDataTypeError(MetadataError):
    """A data type name is not supported."""


class UnsupportedExtensionError(MetadataError):
    """A v3 extension with ``must_understand`` (the default) is not known to zarrkit."""


# --- hierarchy ---------------------------------------------------------------------------


class NodeNotFoundError(ZarrkitError, FileNotFoundError):
    """No array or group exists at a path."""


class MemberNotFoundError(NodeNotFoundError, KeyError):
    """A group has no member of that name (a ``KeyError`` too, like a dict lookup)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NodeExistsError(ZarrkitError, FileExistsError):
    """An array or group already exists where a new one was to be created."""


class NodeTypeError(ZarrkitError, TypeError):
    """A node is an array where a group was expected, or the other way round."""


class ReadOnlyError(ZarrkitError, PermissionError):
    """A write was attempted through a read-only array, group or store."""


# --- indexing ----------------------------------------------------------------------------


class IndexingError(ZarrkitError, IndexError):
    """A selection is not valid for the array (wrong kind, too many indices, bad step)."""


class BoundsError(IndexingError):
    """An index lies outside the array."""


class SelectionTypeError(IndexingError, TypeError):
    """A selection has a type that cannot index an array (float, str, object ...).

    Also an ``IndexError``: NumPy and zarr-python raise ``IndexError`` for these.
    """


class ShapeMismatchError(ZarrkitError, ValueError):
    """A value cannot be broadcast to the shape of the selection it is written to."""


class ChunkAlignmentError(ZarrkitError, ValueError):
    """Parallel writes (e.g. Dask blocks) would share a stored chunk or shard, so they could
    overwrite each other's data."""


# --- codecs and chunks -------------------------------------------------------------------


class CodecError(ZarrkitError, ValueError):
    """Encoding or decoding a chunk failed; ``key`` names the chunk when known."""

    def __init__(self, message: str, *, key: str | None = None):
        self.key = key
        super().__init__(f"chunk {key!r}: {message}" if key else message)


class ChecksumError(CodecError):
    """A stored checksum does not match the data."""


class ChunkNotFoundError(ZarrkitError, ValueError):
    """Chunks read are not stored while missing chunks are errors (zarr-python's
    ``array.read_missing_chunks`` set to False). ``keys`` names those missing among the
    chunks fetched together, ``key`` the first; an inner chunk of a shard is named
    ``shard_key[i,j]`` (its position in the shard)."""

    def __init__(self, message: str, *, keys: tuple[str, ...]):
        self.keys = keys
        self.key = keys[0] if keys else None
        super().__init__(message)


# --- storage -----------------------------------------------------------------------------


class StoreError(ZarrkitError, OSError):
    """A store operation failed for a reason other than a missing key."""

    def __init__(self, message: str, *, key: str | None = None, operation: str | None = None):
        self.key = key
        self.operation = operation
        where = " ".join(part for part in (operation, repr(key) if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


class UnresolvedReferenceError(StoreError):
    """A reference (kerchunk) points to a file that does not exist or to bytes the file does
    not hold; ``key`` is the referencing key."""


class InvalidKeyError(ZarrkitError, ValueError):
    """A store key could escape the store or is not a valid key."""


class UnknownStoreError(ZarrkitError, ValueError):
    """A URL scheme has no registered store."""


class ResourceLimitError(ZarrkitError, ValueError):
    """A configured ceiling (chunk bytes, metadata size, rank ...) would be exceeded."""


__all__ = [
    "BoundsError",
    "ChecksumError",
    "ChunkAlignmentError",
    "ChunkNotFoundError",
    "CodecError",
    "IndexingError",
    "InvalidKeyError",
    "MemberNotFoundError",
    "MetadataError",
    "NodeExistsError",
    "NodeNotFoundError",
    "NodeTypeError",
    "ReadOnlyError",
    "ResourceLimitError",
    "SelectionTypeError",
    "ShapeMismatchError",
    "StoreError",
    "UnknownCodecError",
    "UnknownDataTypeError",
    "UnknownStoreError",
    "UnresolvedReferenceError",
    "UnsupportedExtensionError",
    "ZarrkitError",
]
