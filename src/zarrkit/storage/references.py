"""ReferenceStore: a kerchunk reference set read as a (read-only) Zarr store.

Each key of the set holds inline data or points to a byte range of a file: an HDF5,
NetCDF, GRIB or TIFF file on local disk, in an object store or on a web server, so an
archive of such files reads as Zarr without being converted (see
:mod:`zarrkit.storage.reference_sets` for the formats).

Referenced bytes are fetched through zarrkit's own stores: local paths (and ``file://``)
through :class:`~zarrkit.storage.LocalStore`; ``s3://``, ``gs://``, ``az://`` and
``http(s)://`` through :class:`~zarrkit.storage.object.ObjectStore` (obstore), configured
by ``storage_options`` keyed by URL scheme. Relative paths are relative to the working
directory, as in fsspec. A batch of keys (one read of an array) becomes the fewest
requests: the ranges of one file that lie within ``max_gap`` bytes of each other are
merged into one request of at most ``max_block`` bytes, and the requests of all files run
concurrently.

A key the set does not hold reads as missing (the fill value); a reference that cannot be
resolved (missing file, a range past its end) raises
:class:`~zarrkit.errors.UnresolvedReferenceError` naming the key, never a fill value.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "data.bin")
>>> with open(path, "wb") as f:
...     _ = f.write(b"headerPAYLOAD")
>>> store = ReferenceStore({"version": 1, "refs": {"x": [path, 6, 7], "y": "inline"}})
>>> store.get_many(["x", "y", "z"])
[b'PAYLOAD', b'inline', None]
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from zarrkit.errors import (
    InvalidKeyError,
    MetadataError,
    NodeNotFoundError,
    ReadOnlyError,
    StoreError,
    UnresolvedReferenceError,
)
from zarrkit.keys import validate_key
from zarrkit.storage import make_store
from zarrkit.storage.base import Store, slice_for
from zarrkit.storage.local import LocalStore
from zarrkit.storage.reference_sets import (
    JsonReferences,
    ParquetReferences,
    Reference,
    ReferenceSet,
    Target,
)
from zarrkit.types import Blob, ByteRequest, RangeRequest

T = TypeVar("T")

#: Ranges of one file closer than this are read in one request (the bytes between them
#: cost less than another round trip), as fsspec's reference file system does.
MAX_GAP = 64 * 1024
#: The largest merged request; larger reads are split so they still run concurrently.
MAX_BLOCK = 32 * 2**20
#: Requests in flight at once.
CONCURRENCY = 32
_LOCAL = ("", "file")


@dataclass(frozen=True, slots=True)
class _Piece:
    """Bytes ``[start, end)`` of the file at ``url`` (to its end when ``end`` is None),
    asked for by ``key``."""

    key: str
    url: str
    start: int
    end: int | None


class ReferenceStore(Store):
    """A kerchunk reference set as a read-only store.

    Parameters
    ----------
    references
        A path or URL of a JSON reference file or a Parquet reference directory
        (``.parq``), a reference set as a dict (kerchunk's ``translate()`` output), or a
        :class:`~zarrkit.storage.reference_sets.ReferenceSet`.
    storage_options
        Options of the stores that read the reference set and the referenced files, by
        URL scheme: ``{"s3": {"region": ...}, "https": {"timeout": "30s"}}``.
    concurrency, max_gap, max_block
        Requests in flight at once; merge ranges of a file closer than ``max_gap`` bytes
        into requests of at most ``max_block`` bytes.

    Examples
    --------
    >>> store = ReferenceStore({".zgroup": '{"zarr_format": 2}'})
    >>> store.get(".zgroup")
    b'{"zarr_format": 2}'
    """

    @property
    def native_concurrency(self) -> bool:
        return True

    def __init__(
        self,
        references: str | os.PathLike[str] | Mapping[str, Any] | ReferenceSet,
        *,
        storage_options: Mapping[str, Mapping[str, Any]] | None = None,
        concurrency: int = CONCURRENCY,
        max_gap: int = MAX_GAP,
        max_block: int = MAX_BLOCK,
    ) -> None:
        super().__init__(read_only=True)
        self.storage_options = _check_options(storage_options or {})
        self.concurrency = concurrency
        self.max_gap = max_gap
        self.max_block = max_block
        self._targets: dict[str, Store] = {}
        self._lock = threading.Lock()
        self.source = references if isinstance(references, str | os.PathLike) else None
        self.references = self._load(references)

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = True, **options: Any) -> ReferenceStore:
        """``reference://<path or URL of the reference set>``; ``options`` are the
        storage options by scheme."""
        return cls(url.split("://", 1)[1], storage_options=options)

    def __repr__(self) -> str:
        source = self.source if self.source is not None else type(self.references).__name__
        return f"ReferenceStore({os.fspath(source)!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_targets")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _targets={})

    def _load(self, references: Any) -> ReferenceSet:
        if isinstance(references, ReferenceSet):
            return references
        if isinstance(references, Mapping):
            return JsonReferences(references)
        url = os.fspath(references)
        if url.rstrip("/").endswith((".parq", ".parquet")) or os.path.isdir(url):
            return ParquetReferences(self._open(url, url))
        store, key = self._locate(url, url)
        blob = store.get(key)
        if blob is None:
            raise NodeNotFoundError(f"no reference set at {url!r}")
        try:
            return JsonReferences(json.loads(blob))
        except ValueError as e:
            raise MetadataError(f"reference set {url!r} is not valid JSON: {e}") from e

    # --- resolving targets -------------------------------------------------------------------
    def _locate(self, url: str, key: str) -> tuple[Store, str]:
        """The store holding the file at ``url`` and the file's key in it."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower() if len(parts.scheme) > 1 else ""  # C:\ is a path
        if scheme in _LOCAL:
            path = os.path.abspath(parts.path if scheme else url)
            return self._open(os.path.dirname(path), key), os.path.basename(path)
        if parts.query or parts.fragment:
            raise UnresolvedReferenceError(
                f"target {url!r}: URLs with a query or fragment are not supported", key=key
            )
        path = unquote(parts.path) if scheme in ("http", "https") else parts.path
        try:
            target_key = validate_key(path.lstrip("/"))
        except InvalidKeyError as e:
            raise UnresolvedReferenceError(f"target {url!r}: {e}", key=key) from e
        return self._open(f"{scheme}://{parts.netloc}", key), target_key

    def _open(self, location: str, key: str) -> Store:
        """The store rooted at ``location`` (a directory or ``scheme://host``), made once."""
        with self._lock:
            store = self._targets.get(location)
            if store is None:
                store = self._targets[location] = self._make(location, key)
            return store

    def _make(self, location: str, key: str) -> Store:
        scheme = urlsplit(location).scheme.lower() if "://" in location else ""
        if scheme in _LOCAL:
            return LocalStore(urlsplit(location).path if scheme else location, read_only=True)
        options = dict(self.storage_options.get(scheme, {}))
        try:
            return make_store(location, read_only=True, storage_options=options)
        except (ValueError, ImportError) as e:
            raise UnresolvedReferenceError(f"cannot open {location!r}: {e}", key=key) from e

    # --- reads -------------------------------------------------------------------------------
    def _reference(self, key: str) -> Reference | None:
        return self.references.get(key)

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        reference = self._reference(key)
        if reference is None or isinstance(reference, bytes):
            return None if reference is None else reference[slice_for(byte_range, len(reference))]
        if reference.length is None:
            return self._whole(key, reference.url, byte_range)
        part = slice_for(byte_range, reference.length)
        start = reference.offset + part.start
        return self._fetch([_Piece(key, reference.url, start, reference.offset + part.stop)])[0]

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = []
        pieces: list[tuple[int, _Piece]] = []
        for index, key in enumerate(keys):
            reference = self._reference(key)
            if isinstance(reference, Target):
                end = None if reference.length is None else reference.offset + reference.length
                pieces.append((index, _Piece(key, reference.url, reference.offset, end)))
            found.append(reference if not isinstance(reference, Target) else None)
        for (index, _), data in zip(pieces, self._fetch([p for _, p in pieces]), strict=True):
            found[index] = data
        return found

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        reference = self._reference(key)
        if reference is None or isinstance(reference, bytes):
            return super()._get_ranges(key, ranges)
        if reference.length is None:
            store, target_key = self._locate(reference.url, key)
            parts = self._guard(key, reference.url, lambda: store.get_ranges(target_key, ranges))
            if parts is None:
                raise _missing(key, reference.url)
            return parts
        slices = [slice_for(request, reference.length) for request in ranges]
        offset = reference.offset
        pieces = [_Piece(key, reference.url, offset + s.start, offset + s.stop) for s in slices]
        return self._fetch(pieces)

    def _getsize(self, key: str) -> int | None:
        reference = self._reference(key)
        if reference is None or isinstance(reference, bytes):
            return None if reference is None else len(reference)
        if reference.length is not None:
            return reference.length
        store, target_key = self._locate(reference.url, key)
        if not store.exists(target_key):
            raise _missing(key, reference.url)
        return store.getsize(target_key)

    def _whole(self, key: str, url: str, request: ByteRequest | None) -> bytes:
        store, target_key = self._locate(url, key)
        data = self._guard(key, url, lambda: store.get(target_key, request))
        if data is None:
            raise _missing(key, url)
        return data

    def _fetch(self, pieces: Sequence[_Piece]) -> list[bytes]:
        """The bytes of ``pieces``, read in merged requests that run concurrently."""
        blocks = self._blocks(pieces)
        if len(blocks) < 2:
            results = [self._read_block(block) for block in blocks]
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(blocks))) as pool:
                results = list(pool.map(self._read_block, blocks))
        found: dict[_Piece, bytes] = {}
        for block, data in zip(blocks, results, strict=True):
            start = block[0].start
            for piece in block:
                found[piece] = data[piece.start - start : _minus(piece.end, start)]
        return [found[piece] for piece in pieces]

    def _blocks(self, pieces: Sequence[_Piece]) -> list[list[_Piece]]:
        """``pieces`` grouped into requests: per file, in order, merged across small gaps;
        whole files and empty ranges alone."""
        by_url: dict[str, list[tuple[int, int, _Piece]]] = defaultdict(list)
        blocks: list[list[_Piece]] = []
        for piece in pieces:
            if piece.end is not None and piece.end > piece.start:
                by_url[piece.url].append((piece.start, piece.end, piece))
            else:
                blocks.append([piece])
        for group in by_url.values():
            group.sort(key=lambda item: item[:2])
            first, end, block = group[0][0], group[0][1], [group[0][2]]
            for start, stop, piece in group[1:]:
                if start - end <= self.max_gap and stop - first <= self.max_block:
                    block.append(piece)
                    end = max(end, stop)
                else:
                    blocks.append(block)
                    first, end, block = start, stop, [piece]
            blocks.append(block)
        return blocks

    def _read_block(self, block: list[_Piece]) -> bytes:
        first = block[0]
        if first.end is None:
            return self._whole(first.key, first.url, None)
        start, end = first.start, max(piece.end or 0 for piece in block)
        if end <= start:
            return b""
        store, target_key = self._locate(first.url, first.key)
        data = self._guard(
            first.key, first.url, lambda: store.get(target_key, RangeRequest(start, end))
        )
        if data is None:
            raise _missing(first.key, first.url)
        if len(data) < end - start:
            short = next(p for p in block if (p.end or 0) > start + len(data))
            raise UnresolvedReferenceError(
                f"references bytes [{short.start}, {short.end}) of {first.url!r}, "
                f"which holds only {start + len(data)} bytes",
                key=short.key,
                operation="get",
            )
        return data

    def _guard(self, key: str, url: str, read: Callable[[], T]) -> T:
        """``read()``, with failures of the target store said to be about ``key``."""
        try:
            return read()
        except UnresolvedReferenceError:
            raise
        except StoreError as e:
            raise StoreError(f"reading {url!r}: {e}", key=key, operation="get") from e

    # --- writes and listing ------------------------------------------------------------------
    def _set(self, key: str, value: Blob) -> None:
        raise ReadOnlyError(f"{self!r} is read-only")

    def _delete(self, key: str) -> None:
        raise ReadOnlyError(f"{self!r} is read-only")

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        return self.references.list_keys(prefix)

    def close(self) -> None:
        """Close the stores opened for the referenced files."""
        with self._lock:
            targets, self._targets = list(self._targets.values()), {}
        for store in targets:
            store.close()


def _minus(end: int | None, start: int) -> int | None:
    return None if end is None else end - start


def _missing(key: str, url: str) -> UnresolvedReferenceError:
    return UnresolvedReferenceError(
        f"references {url!r}, which does not exist", key=key, operation="get"
    )


def _check_options(options: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    for scheme, value in options.items():
        if not isinstance(value, Mapping):
            raise ValueError(
                "storage_options of a ReferenceStore are keyed by URL scheme, e.g. "
                f"{{'s3': {{'region': ...}}}}; got {scheme!r}: {value!r}"
            )
    return {scheme.lower(): value for scheme, value in options.items()}
