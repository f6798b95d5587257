"""Every exception and warning zarrkit raises.

Each class also derives from the built-in exception callers already catch, so
``except KeyError`` / ``except ValueError`` code written for zarr-python keeps working.
Every class of ``zarr.errors`` exists here under its name and is raised (or warned) where
zarr-python raises it; each also derives from the zarrkit class that means the same, so
``except NodeNotFoundError`` catches an :class:`ArrayNotFoundError`. Messages say what
was wrong, the value, and where (key, field).
"""

from __future__ import annotations

from collections.abc import Sequence


class ZarrkitError(Exception):
    """Base class of every zarrkit error."""


class BaseZarrError(ZarrkitError, ValueError):
    """zarr-python's base error (a ``ValueError``); the zarr-python-named errors below
    derive from it."""


# --- metadata and format -----------------------------------------------------------------


class MetadataError(ZarrkitError, ValueError):
    """A metadata document is malformed or inconsistent.

    ``key`` is the store key of the document (e.g. ``"a/zarr.json"``) and ``field`` the
    offending field, when known.
    """

    def __init__(self, message: str, *, key: str | None = None, field: str | None = None):
        self.key = key
        self.field = field
        self.detail = message  # the message without the key and field
        where = ", ".join(
            part
            for part in (f"key {key!r}" if key else "", f"field {field!r}" if field else "")
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class MetadataTypeError(MetadataError, TypeError):
    """A value has the wrong type, e.g. a float in a shape (a ``TypeError`` too, as NumPy
    and zarr-python raise)."""


class MetadataValidationError(MetadataError, BaseZarrError):
    """zarr-python's name for invalid metadata (e.g. ``zarr_format="3.0"``)."""


class NodeTypeValidationError(MetadataValidationError):
    """A node's type is not the one asked for: a group where an array was opened."""


class UnknownCodecError(MetadataError):
    """A codec name or id is not registered."""


class UnknownDataTypeError(MetadataError):
    """A data type name is not supported."""


class DataTypeValidationError(UnknownDataTypeError):
    """A data type (or its JSON, or a scalar of it) is not what a data type class of
    :mod:`zarrkit.dtype` stands for (zarr-python's ``zarr.dtype.DataTypeValidationError``)."""


class UnsupportedExtensionError(MetadataError):
    """A v3 extension with ``must_understand`` (the default) is not known to zarrkit."""


# --- hierarchy ---------------------------------------------------------------------------


class NodeNotFoundError(ZarrkitError, FileNotFoundError):
    """No array or group exists at a path."""


class MemberNotFoundError(NodeNotFoundError, KeyError):
    """A group has no member of that name (a ``KeyError`` too, like a dict lookup)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ArrayNotFoundError(NodeNotFoundError, BaseZarrError):
    """No array exists at a path (zarr-python's name)."""


class GroupNotFoundError(NodeNotFoundError, BaseZarrError):
    """No group exists at a path (zarr-python's name)."""


class NodeExistsError(ZarrkitError, FileExistsError):
    """An array or group already exists where a new one was to be created."""


class ContainsArrayError(NodeExistsError, BaseZarrError):
    """An array exists where a new node was to be created (zarr-python's name)."""


class ContainsGroupError(NodeExistsError, BaseZarrError):
    """A group exists where a new node was to be created (zarr-python's name)."""


class ContainsArrayAndGroupError(MetadataError, BaseZarrError):
    """Both array and group documents (v2 ``.zarray`` and ``.zgroup``) exist at one path."""


class NodeTypeError(ZarrkitError, TypeError):
    """A node is an array where a group was expected, or the other way round."""


class ExpectedArrayError(NodeTypeError, NodeTypeValidationError):
    """A group exists where an array was opened."""


class ExpectedGroupError(NodeTypeError, ContainsArrayError):
    """An array exists where a group was opened (zarr-python: ContainsArrayError)."""


class FormatError(ZarrkitError, TypeError):
    """A feature of one Zarr format was asked of a node of the other (e.g. ``compressor``,
    a v2 property, of a v3 array)."""


class UnsupportedBufferError(ZarrkitError, NotImplementedError):
    """A buffer kind zarrkit does not read into was asked for (zarr-python's GPU buffer
    prototypes): zarrkit reads into NumPy arrays."""


class ReadOnlyError(ZarrkitError, PermissionError):
    """A write was attempted through a read-only array, group or store."""


# --- indexing ----------------------------------------------------------------------------


class IndexingError(ZarrkitError, IndexError):
    """A selection is not valid for the array (wrong kind, too many indices, bad step)."""


class BoundsError(IndexingError):
    """An index lies outside the array."""


class BoundsCheckError(BoundsError):
    """An integer index lies outside its dimension (zarr-python's name)."""


class NegativeStepError(IndexingError):
    """A slice has a negative step (zarr-python's name)."""


class VindexInvalidSelectionError(IndexingError):
    """A selection cannot be used with ``vindex`` (zarr-python's name)."""


class ArrayIndexError(IndexingError):
    """An index array is not valid for the array (zarr-python's name)."""


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


class ConflictError(StoreError):
    """A conditional read or write found ``key`` at another version than it required (another
    writer changed it), or a read-modify-write kept meeting such conflicts until its retries
    ran out."""


class RetriesExhaustedError(StoreError):
    """A remote store kept failing transiently (5xx or 429 answers, resets, timeouts, bodies
    cut short) until the retry policy gave up: ``attempts`` tries in ``elapsed`` seconds,
    the last one failing for ``reason`` (e.g. "503", "timeout", "truncated body")."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None,
        operation: str,
        attempts: int,
        reason: str,
        elapsed: float,
    ):
        self.attempts = attempts
        self.reason = reason
        self.elapsed = elapsed
        super().__init__(message, key=key, operation=operation)


class PartialWriteError(StoreError):
    """A write of several keys failed part way: the keys in ``unwritten`` keep their old
    values (or stay absent), every other key holds its new value, whole. ``error`` is the
    failure that stopped the write (also the ``__cause__``); ``key`` and ``operation`` are
    its own."""

    def __init__(self, unwritten: Sequence[str], *, error: StoreError):
        self.unwritten = tuple(unwritten)
        self.error = error
        shown = ", ".join(map(repr, self.unwritten[:5]))
        more = f" and {len(self.unwritten) - 5} more" if len(self.unwritten) > 5 else ""
        message = f"{len(self.unwritten)} keys not written ({shown}{more}); {error}"
        super().__init__(message)
        self.key, self.operation = error.key, error.operation


class InvalidKeyError(ZarrkitError, ValueError):
    """A store key could escape the store or is not a valid key."""


class UnknownStoreError(ZarrkitError, ValueError):
    """A URL scheme has no registered store."""


class ResourceLimitError(ZarrkitError, ValueError):
    """A configured ceiling (chunk bytes, metadata size, rank ...) would be exceeded."""


# --- warnings ----------------------------------------------------------------------------


class ZarrkitWarning(Warning):
    """Base class of every warning zarrkit gives."""


class ZarrUserWarning(ZarrkitWarning, UserWarning):
    """A problem in the caller's code or data, e.g. an argument zarrkit ignores."""


class ZarrRuntimeWarning(ZarrkitWarning, RuntimeWarning):
    """Dubious runtime behaviour, e.g. an argument that only takes effect through config."""


class ZarrDeprecationWarning(ZarrkitWarning, DeprecationWarning):
    """A zarr-python name kept for old code; it says which name to use instead."""


class ZarrFutureWarning(ZarrkitWarning, FutureWarning):
    """A behaviour that will change."""


class UnstableSpecificationWarning(ZarrFutureWarning):
    """A feature outside the Zarr specification (e.g. v3 consolidated metadata)."""


__all__ = [
    "ArrayIndexError",
    "ArrayNotFoundError",
    "BaseZarrError",
    "BoundsCheckError",
    "BoundsError",
    "ContainsArrayAndGroupError",
    "ContainsArrayError",
    "ContainsGroupError",
    "ExpectedArrayError",
    "ExpectedGroupError",
    "FormatError",
    "GroupNotFoundError",
    "MetadataTypeError",
    "MetadataValidationError",
    "NegativeStepError",
    "NodeTypeValidationError",
    "UnstableSpecificationWarning",
    "UnsupportedBufferError",
    "VindexInvalidSelectionError",
    "ZarrDeprecationWarning",
    "ZarrFutureWarning",
    "ZarrRuntimeWarning",
    "ZarrUserWarning",
    "ZarrkitWarning",
    "ChecksumError",
    "ChunkAlignmentError",
    "ChunkNotFoundError",
    "CodecError",
    "ConflictError",
    "DataTypeValidationError",
    "IndexingError",
    "InvalidKeyError",
    "MemberNotFoundError",
    "MetadataError",
    "NodeExistsError",
    "NodeNotFoundError",
    "NodeTypeError",
    "PartialWriteError",
    "ReadOnlyError",
    "ResourceLimitError",
    "RetriesExhaustedError",
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
