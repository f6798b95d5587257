"""The one store interface: keys and bytes only.

A backend subclasses :class:`Store` and implements the ``_get``/``_set``/``_delete``/
``_list_prefix`` primitives; the public methods validate keys and refuse writes on
read-only stores once, here, so no backend can forget to. A missing key reads as ``None``;
any exception means failure, never absence. The public methods emit a
:class:`~zarrkit.telemetry.StoreEvent` each (one per call, batch calls included) while
anyone subscribes.

The public methods also carry zarr-python 3's store names (``get_sync``, ``delete_dir``,
``getsize_prefix``, ``set_if_not_exists``, ``get_partial_values``, the ``supports_*``
flags ...), synchronous here: zarr-python's are coroutines. Values may be given as
zarr-python ``Buffer`` objects, and a zarr-python ``prototype=`` makes reads return them.

Over 400 lines: the one interface of every store, with its optional capabilities
(ranges, listing, versions, conditional writes) and their defaults for backends without
them (writes whose answer was lost included).
"""

from __future__ import annotations

import hashlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Self, overload

from zarrkit.errors import ConflictError, ReadOnlyError, StoreError
from zarrkit.keys import validate_key, validate_keys, validate_prefix
from zarrkit.locking import LockTarget, key_lock
from zarrkit.retry import Classify, partial_write
from zarrkit.telemetry import ConflictEvent, active, emit, observe_listing, observe_store, within
from zarrkit.types import (
    Blob,
    ByteRequest,
    ChunkMemory,
    Decoder,
    Encoder,
    OffsetRequest,
    RangeRequest,
    SuffixRequest,
    Then,
    Version,
    Versioned,
)

if TYPE_CHECKING:
    import numpy as np

#: Reads of a value that keeps changing between its first read and the next, in
#: :meth:`Store.get_then`, before giving up.
CONSISTENT_READ_TRIES = 8


def content_version(value: Blob) -> Version:
    """A version that is the value's content: a 128-bit BLAKE2b hash (for backends that
    keep no version of their own; equal values share it, which read-modify-writes allow)."""
    return hashlib.blake2b(value, digest_size=16).hexdigest()


def check_version(
    key: str, current: Version | None, required: Version | None, operation: str
) -> None:
    """Raise :class:`~zarrkit.errors.ConflictError` unless ``key`` is at version ``required``
    (``None``: absent); ``current`` is its version now (``None``: absent)."""
    if current != required:
        found = "absent" if current is None else f"at version {current}"
        raise ConflictError(f"{found}, not {required or 'absent'}", key=key, operation=operation)


def versioned_part(
    key: str,
    value: bytes | None,
    version: Version | None,
    byte_range: ByteRequest | None,
    if_match: Version | None,
) -> Versioned:
    """The requested part of ``value`` (at ``version``; ``None``: missing), checked
    against ``if_match`` first, for backends that read whole values."""
    if if_match is not None:
        check_version(key, version, if_match, "get")
    if value is None:
        return Versioned(None, None)
    part = slice_for(byte_range, len(value))
    return Versioned(value[part], version, part.start)


def _value(found: Versioned) -> bytes | None:
    return found.value


def _values(found: list[Versioned]) -> list[bytes | None]:
    return [v.value for v in found]


def _found(found: tuple[Versioned, list[bytes]] | None) -> list[bytes | None] | None:
    return None if found is None else [found[0].value, *found[1]]


def slice_for(request: ByteRequest | None, size: int) -> slice:
    """The Python slice of a value of ``size`` bytes that ``request`` names."""
    if request is None:
        return slice(0, size)
    if isinstance(request, RangeRequest):
        return slice(min(request.start, size), min(request.end, size))
    if isinstance(request, OffsetRequest):
        return slice(min(request.offset, size), size)
    return slice(max(size - request.suffix, 0), size)


def check_request(request: ByteRequest | None) -> None:
    """Raise ``ValueError`` for negative or inverted byte requests."""
    if isinstance(request, RangeRequest) and not 0 <= request.start <= request.end:
        raise ValueError(f"invalid byte range [{request.start}, {request.end})")
    if isinstance(request, OffsetRequest) and request.offset < 0:
        raise ValueError(f"invalid byte offset {request.offset}")
    if isinstance(request, SuffixRequest) and request.suffix < 0:
        raise ValueError(f"invalid byte suffix {request.suffix}")


def as_blob(value: Any) -> Blob:
    """A value to store: bytes-like as is, a zarr-python ``Buffer`` as its bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return value
    as_buffer_like = getattr(value, "as_buffer_like", None)
    if as_buffer_like is None:
        raise TypeError(f"expected bytes or a zarr-python Buffer, got {type(value).__name__}")
    blob: Blob = as_buffer_like()
    return blob


def as_prototype(value: bytes | None, prototype: Any) -> Any:
    """``value`` as a buffer of zarr-python's ``prototype`` (``None``: plain bytes)."""
    if prototype is None or value is None:
        return value
    return prototype.buffer.from_bytes(value)


def dir_prefix(prefix: str) -> str:
    """A node path or prefix (``"a"``, ``"a/"``, ``""``) as a listing prefix (``"a/"``)."""
    return validate_prefix(prefix.rstrip("/") + "/" if prefix.strip("/") else "")


class Store(ABC):
    """A flat mapping of ``/``-separated string keys to bytes.

    Subclasses implement the underscored primitives. ``read_only`` stores refuse every
    mutation with :class:`~zarrkit.errors.ReadOnlyError`. The ``supports_*`` flags say what
    the backend can do, with zarr-python's names (a read-only handle still *supports*
    writes: ``read_only`` says whether this handle may make them).
    """

    supports_writes: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    supports_listing: bool = True
    supports_consolidated_metadata: ClassVar[bool] = True
    #: zarr-python no longer writes parts of values; neither does any zarrkit store.
    supports_partial_writes: ClassVar[bool] = False

    def __init__(self, *, read_only: bool = False) -> None:
        self._read_only = read_only

    @classmethod
    def open(cls, *args: Any, **kwargs: Any) -> Self:
        """zarr-python's way to make a store (``await Store.open(...)`` there): here a
        synchronous constructor."""
        return cls(*args, **kwargs)

    @property
    def read_only(self) -> bool:
        """Whether this handle refuses writes."""
        return self._read_only

    # --- primitives for backends ---------------------------------------------------------
    @abstractmethod
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None: ...

    @abstractmethod
    def _set(self, key: str, value: Blob) -> None: ...

    @abstractmethod
    def _delete(self, key: str) -> None:
        """Delete ``key``; a missing key is not an error."""

    @abstractmethod
    def _list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix`` (full keys)."""

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._get(key, None) for key in keys]

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        for i, (key, value) in enumerate(items):
            try:
                self._set(key, value)
            except StoreError as e:
                if i == 0:
                    raise
                raise partial_write(e, [k for k, _ in items[i:]]) from e

    def _delete_many(self, keys: Sequence[str]) -> None:
        for i, key in enumerate(keys):
            try:
                self._delete(key)
            except StoreError as e:
                if i == 0:
                    raise
                raise partial_write(e, keys[i:]) from e

    def _delete_prefix(self, prefix: str) -> None:
        self._delete_many(list(self._list_prefix(prefix)))

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        whole = self._get(key, None)
        if whole is None:
            return None
        return [whole[slice_for(r, len(whole))] for r in ranges]

    def _getsize(self, key: str) -> int | None:
        value = self._get(key, None)
        return None if value is None else len(value)

    def _set_if_not_exists(self, key: str, value: Blob) -> bool:
        """Store ``value`` unless ``key`` holds one; whether it did. The default holds the
        key's writer lock (:mod:`zarrkit.locking`) between the check and the write, so
        zarrkit writers of this store's data cannot race it."""
        with key_lock(self, key):
            if self._get(key, RangeRequest(0, 0)) is not None:
                return False
            self._set(key, value)
            return True

    @property
    def native_concurrency(self) -> bool:
        """True when ``get_many``/``set_many`` fan out concurrently themselves (object
        stores): the engine then sends all chunks of a read or write in one call. Otherwise
        each of the engine's workers sends its own batch, overlapping I/O with decoding."""
        return False

    # --- locking (see zarrkit.locking) ---------------------------------------------------------
    @property
    def locks_across_processes(self) -> bool:
        """Whether the locks of :meth:`lock_targets` serialise every writer of the data:
        those of other processes too (lock files), or there are none (memory); otherwise
        only the threads of this process are serialised."""
        return False

    def lock_targets(self, keys: Sequence[str]) -> list[LockTarget]:
        """What a writer locks to rewrite each of ``keys``: by default a lock of this
        process, one per store object; a backend whose handles share their data names the
        data instead."""
        space = f"{type(self).__qualname__}@{id(self):x}:"
        return [LockTarget(space + key) for key in keys]

    # --- versions: optional capabilities (issue 13) ----------------------------------------
    # A version names one value of a key (an ETag, a generation, a content hash). Stores
    # that have them say so; wrappers pass them through. Read-modify-writes use them to
    # detect concurrent writers (zarrkit.read_modify_write), sharded reads to read an
    # index and its byte ranges from one version, and caches to key what they keep.

    #: Whether reads can return the version they read (:meth:`get_versioned`) and can
    #: require one (``if_match``, :meth:`get_ranges_if`).
    supports_versions: bool = False
    #: Whether :meth:`set_if` can replace a value only at a given version, or create it only
    #: when absent, atomically against every other writer of the data.
    supports_conditional_writes: bool = False
    #: Whether caches may key data by version: checking one costs no read of the value,
    #: and two different values of a key never share a version.
    versions_cacheable: bool = False

    @property
    def identity(self) -> str:
        """A name of this handle's data in process-wide caches (handles made by
        :meth:`with_read_only` share it; every other store object has its own)."""
        name: str | None = self.__dict__.get("_identity")
        if name is None:
            name = self.__dict__.setdefault("_identity", uuid.uuid4().hex)
        return name

    def get_versioned(
        self, key: str, byte_range: ByteRequest | None = None, *, if_match: Version | None = None
    ) -> Versioned:
        """The value of ``key`` (or the requested bytes of it) and its version; with
        ``if_match``, :class:`~zarrkit.errors.ConflictError` unless the key is at that version."""
        if active.store and not within("store"):
            call = partial(self.get_versioned, key, byte_range, if_match=if_match)
            return observe_store(self, "get_versioned", call, key=key, read=_value)
        check_request(byte_range)
        self._require_versions("get_versioned")
        return self._get_versioned(validate_key(key), byte_range, if_match)

    def get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]:
        """Values of ``keys`` with their versions, in order (concurrently where possible)."""
        if active.store and not within("store"):
            call = partial(self.get_many_versioned, keys)
            return observe_store(self, "get_many_versioned", call, count=len(keys), read=_values)
        validate_keys(keys)
        self._require_versions("get_many_versioned")
        return self._get_many_versioned(keys)

    def get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        """Byte ranges of the value of ``key`` at version ``if_match``;
        :class:`~zarrkit.errors.ConflictError` when the key holds another version (or none)."""
        if active.store and not within("store"):
            call = partial(self.get_ranges_if, key, ranges, if_match)
            return observe_store(self, "get_ranges_if", call, key=key, count=len(ranges))
        for request in ranges:
            check_request(request)
        self._require_versions("get_ranges_if")
        return self._get_ranges_if(validate_key(key), ranges, if_match)

    def get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        """Bytes ``first`` of ``key``, then the ranges ``then(those bytes, their offset)``
        names, all from one version of the value (a shard's index, then its inner chunks);
        ``None`` when the key is missing. Works on every store: through one open file or
        transaction where the backend has one, else by conditional reads, else by reading
        ``first`` again and retrying when it changed."""
        if active.store and not within("store"):
            call = partial(self.get_then, key, first, then)
            return observe_store(self, "get_then", call, key=key, read=_found)
        check_request(first)
        return self._get_then(validate_key(key), first, then)

    def set_if(self, key: str, value: Blob, *, if_match: Version | None) -> Version:
        """Store ``value`` only if ``key`` is at version ``if_match`` (``None``: only if it is
        absent); returns the new version, raises :class:`~zarrkit.errors.ConflictError`
        otherwise."""
        if active.store and not within("store"):
            call = partial(self.set_if, key, value, if_match=if_match)
            return observe_store(self, "set_if", call, key=key, sent=memoryview(value).nbytes)
        self._check_writable()
        self._require_conditional_writes("set_if")
        return self._set_if(validate_key(key), value, if_match)

    def set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        """:meth:`set_if` for several ``(key, value, if_match)``: the new version of each,
        ``None`` where the condition failed (concurrently where possible)."""
        if active.store and not within("store"):
            sent = sum(memoryview(value).nbytes for _, value, _ in items)
            call = partial(self.set_many_if, items)
            return observe_store(self, "set_many_if", call, count=len(items), sent=sent)
        self._check_writable()
        validate_keys([key for key, _, _ in items])
        self._require_conditional_writes("set_many_if")
        return self._set_many_if(items)

    # primitives: backends with versions override _get_versioned (and _get_ranges_if,
    # _get_then where they can do better), those with conditional writes _set_if.
    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        raise NotImplementedError

    def _get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]:
        return [self._get_versioned(key, None, None) for key in keys]

    def _get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        whole = self._get_versioned(key, None, if_match).value or b""
        return [whole[slice_for(r, len(whole))] for r in ranges]

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        raise NotImplementedError

    def _set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        done: list[Version | None] = []
        for i, (key, value, if_match) in enumerate(items):
            try:
                done.append(self._set_if(key, value, if_match))
            except ConflictError:
                done.append(None)
            except StoreError as e:
                if all(version is None for version in done):
                    raise
                raise partial_write(e, [item[0] for item in items[i:]]) from e
        return done

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        for attempt in range(1, CONSISTENT_READ_TRIES + 1):
            head, start = self._head(key, first)
            if head.value is None:
                return None
            requests = then(head.value, start)
            try:
                parts = self._read_after(key, head, first, requests)
            except ConflictError:
                parts = None
            if parts is not None:
                return head, parts
            if active.conflict:  # a writer replaced the value between the reads
                outcome = "retry" if attempt < CONSISTENT_READ_TRIES else "gave up"
                store, op = repr(self), "get_then"
                emit(
                    ConflictEvent, op=op, store=store, key=key, attempt=attempt, resolution=outcome
                )
        raise ConflictError(
            f"the value changed during each of {CONSISTENT_READ_TRIES} reads",
            key=key,
            operation="get_then",
        )

    def _head(self, key: str, first: ByteRequest) -> tuple[Versioned, int | None]:
        """The first read of :meth:`get_then` and the offset of its bytes, when known."""
        if self.supports_versions:
            head = self._get_versioned(key, first, None)
            return head, head.start
        value = self._get(key, first)
        if isinstance(first, SuffixRequest):
            return Versioned(value, None), None
        start = first.start if isinstance(first, RangeRequest) else first.offset
        return Versioned(value, None, start), start

    def _read_after(
        self, key: str, head: Versioned, first: ByteRequest, requests: Sequence[ByteRequest]
    ) -> list[bytes] | None:
        """The ``requests`` of the version ``head`` came from; ``None`` when it changed.
        Without a version, ``first`` is read again afterwards to tell (the index of a shard
        changes with every rewrite)."""
        if head.version is not None:
            return self._get_ranges_if(key, requests, head.version) if requests else []
        parts = self._get_ranges(key, requests) if requests else []
        if parts is None or self._get(key, first) != head.value:
            return None
        return parts

    def _write_once(
        self,
        write: Callable[[], Version],
        transient: Classify,
        key: str,
        value: Blob,
        if_match: Version | None,
    ) -> Version:
        """One try of a conditional write (``write()``, raising ConflictError when its
        condition fails). One that failed transiently may have been applied, only its
        answer lost: the key is read again before it is tried again (as Icechunk does),
        so that it never reports a false conflict or writes twice. Written: the key's
        version. Still at ``if_match`` (absent, for a create): the failure, to retry.
        Another value: :class:`~zarrkit.errors.ConflictError`."""
        try:
            return write()
        except Exception as e:
            if transient(e) is None:
                raise
            current = self._get_versioned(key, None, None)
            if current.value is not None and current.value == memoryview(value):
                return current.version or ""
            if current.version == if_match:
                raise
            raise ConflictError(
                f"the answer to its write was lost, and another value is there "
                f"(version {current.version})",
                key=key,
                operation="set_if",
            ) from e

    def _require_versions(self, operation: str) -> None:
        if not self.supports_versions:
            raise StoreError(f"{self!r} has no versions", operation=operation)

    def _require_conditional_writes(self, operation: str) -> None:
        if not self.supports_conditional_writes:
            raise StoreError(f"{self!r} cannot write conditionally", operation=operation)

    # --- public interface ------------------------------------------------------------------
    @overload
    def get(
        self, key: str, byte_range: ByteRequest | None = None, *, prototype: None = None
    ) -> bytes | None: ...

    @overload
    def get(self, key: str, byte_range: ByteRequest | None = None, *, prototype: Any) -> Any: ...

    def get(self, key: str, byte_range: ByteRequest | None = None, *, prototype: Any = None) -> Any:
        """The value of ``key`` (or the requested bytes of it), ``None`` when missing; a
        zarr-python buffer ``prototype`` returns a buffer of that kind instead of bytes."""
        if active.store and not within("store"):
            value = observe_store(self, "get", partial(self.get, key, byte_range), key=key)
            return as_prototype(value, prototype)
        check_request(byte_range)
        return as_prototype(self._get(validate_key(key), byte_range), prototype)

    def get_sync(
        self, key: str, *, prototype: Any = None, byte_range: ByteRequest | None = None
    ) -> Any:
        """:meth:`get`, by zarr-python's name for its synchronous read."""
        return self.get(key, byte_range, prototype=prototype)

    def get_partial_values(
        self, prototype: Any, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Any]:
        """zarr-python's batch read: the value (or byte range) of each ``(key, range)``
        pair, ``None`` for missing keys; ``prototype`` as in :meth:`get`."""
        return [self.get(key, request, prototype=prototype) for key, request in key_ranges]

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of ``keys`` in order; backends fetch them concurrently where they can."""
        if active.store and not within("store"):
            return observe_store(self, "get_many", partial(self.get_many, keys), count=len(keys))
        validate_keys(keys)
        return self._get_many(keys)

    def get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        """Several byte ranges of one value (coalesced by backends that can), or ``None``."""
        if active.store and not within("store"):
            call = partial(self.get_ranges, key, ranges)
            return observe_store(self, "get_ranges", call, key=key, count=len(ranges))
        for request in ranges:
            check_request(request)
        return self._get_ranges(validate_key(key), ranges)

    def set(self, key: str, value: Blob) -> None:
        """Store ``value`` under ``key``, replacing any old value whole."""
        if active.store and not within("store"):
            blob = as_blob(value)
            call = partial(self.set, key, blob)
            return observe_store(self, "set", call, key=key, sent=memoryview(blob).nbytes)
        self._check_writable()
        self._set(validate_key(key), as_blob(value))

    def set_sync(self, key: str, value: Blob) -> None:
        """:meth:`set`, by zarr-python's name for its synchronous write."""
        self.set(key, value)

    def set_if_not_exists(self, key: str, value: Blob) -> None:
        """Store ``value`` under ``key`` unless the key already holds a value."""
        if active.store and not within("store"):
            blob = as_blob(value)
            call = partial(self.set_if_not_exists, key, blob)
            sent = memoryview(blob).nbytes
            return observe_store(self, "set_if_not_exists", call, key=key, sent=sent)
        self._check_writable()
        self._set_if_not_exists(validate_key(key), as_blob(value))

    def set_many(self, items: Mapping[str, Blob] | Iterable[tuple[str, Blob]]) -> None:
        """Store several values; backends write them concurrently where they can."""
        if active.store and not within("store"):
            pairs = items.items() if isinstance(items, Mapping) else items
            items = [(key, as_blob(value)) for key, value in pairs]
            sent = sum(memoryview(value).nbytes for _, value in items)
            call = partial(self.set_many, items)
            return observe_store(self, "set_many", call, count=len(items), sent=sent)
        self._check_writable()
        pairs = [
            (key, as_blob(value))
            for key, value in (items.items() if isinstance(items, Mapping) else items)
        ]
        validate_keys([key for key, _ in pairs])
        self._set_many(pairs)

    @property
    def writes_encoded(self) -> bool:
        """Whether :meth:`set_encoded` stores chunks here (a compiled loop does)."""
        return False

    def set_encoded(self, keys: Sequence[str], memory: ChunkMemory, encoder: Encoder) -> list[int]:
        """Encode whole chunks with ``encoder`` straight from the memory of the array being
        written, and store them under ``keys`` (distinct), where :attr:`writes_encoded`;
        the indices of those it did not store, which the caller encodes and stores with
        :meth:`set_many` (here, all)."""
        return list(range(len(keys)))

    @property
    def reads_decoded(self) -> bool:
        """Whether :meth:`get_decoded` reads chunks here (a compiled loop does)."""
        return False

    def get_decoded(
        self, keys: Sequence[str], decoder: Decoder, out: np.ndarray, nbytes: int
    ) -> tuple[list[int], list[int]]:
        """Read the chunks of ``keys`` and decode each with ``decoder`` straight into its
        ``nbytes`` of ``out`` (C-contiguous), where :attr:`reads_decoded`; the indices of
        those not stored, and of those it did not decode, which the caller reads with
        :meth:`get_many` and decodes (here, all)."""
        return [], list(range(len(keys)))

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        if active.store and not within("store"):
            return observe_store(self, "delete", partial(self.delete, key), key=key, sent=0)
        self._check_writable()
        self._delete(validate_key(key))

    def delete_sync(self, key: str) -> None:
        """:meth:`delete`, by zarr-python's name for its synchronous delete."""
        self.delete(key)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove several keys (in one transaction or request where the backend can)."""
        if active.store and not within("store"):
            keys = list(keys)
            call = partial(self.delete_many, keys)
            return observe_store(self, "delete_many", call, count=len(keys), sent=0)
        self._check_writable()
        keys = list(keys)
        validate_keys(keys)
        self._delete_many(keys)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every key under ``prefix`` ('' removes everything)."""
        if active.store and not within("store"):
            call = partial(self.delete_prefix, prefix)
            return observe_store(self, "delete_prefix", call, key=prefix, sent=0)
        self._check_writable()
        self._delete_prefix(validate_prefix(prefix))

    def delete_dir(self, prefix: str) -> None:
        """Remove every key below the node path ``prefix`` (``"a"`` or ``"a/"``; ``""``:
        everything), as zarr-python names it."""
        self.delete_prefix(dir_prefix(prefix))

    def clear(self) -> None:
        """Remove every key."""
        self.delete_prefix("")

    def getsize(self, key: str) -> int:
        """Size in bytes of the value of ``key``; 0 when missing."""
        if active.store and not within("store"):
            return observe_store(self, "getsize", partial(self.getsize, key), key=key)
        return self._getsize(validate_key(key)) or 0

    def getsize_prefix(self, prefix: str) -> int:
        """Total size in bytes of the values below the node path ``prefix``."""
        if active.store and not within("store"):
            call = partial(self.getsize_prefix, prefix)
            return observe_store(self, "getsize_prefix", call, key=prefix)
        return sum(self._getsize(key) or 0 for key in self._list_prefix(dir_prefix(prefix)))

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        return self.get(key, RangeRequest(0, 0)) is not None

    def list(self) -> Iterator[str]:
        """Every key in the store."""
        if active.store and not within("store"):
            return observe_listing(self, "", self.list)
        return self._list_prefix("")

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix`` ('' or ending in '/')."""
        if active.store and not within("store"):
            return observe_listing(self, prefix, partial(self.list_prefix, prefix))
        return self._list_prefix(validate_prefix(prefix))

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Names directly under ``prefix``: keys, and sub-prefixes without their '/'."""
        prefix = validate_prefix(prefix)
        seen: set[str] = set()
        for key in self.list_prefix(prefix):
            name = key[len(prefix) :].split("/", 1)[0]
            if name not in seen:
                seen.add(name)
                yield name

    def is_empty(self, prefix: str = "") -> bool:
        """Whether no key lies below the node path ``prefix`` (``"a"`` or ``"a/"``)."""
        return next(iter(self.list_prefix(dir_prefix(prefix))), None) is None

    def with_read_only(self, read_only: bool = False) -> Self:
        """A handle on the same data with another ``read_only`` flag (zarr-python's
        default: writable)."""
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone._read_only = read_only
        return clone

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release resources; the default store holds none."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self!r} is read-only")


# The byte types and key checks are part of the store interface, so they are exported here
# too (they live in zarrkit.types and zarrkit.keys, which codecs can import).
__all__ = [
    "Blob",
    "ByteRequest",
    "OffsetRequest",
    "RangeRequest",
    "Store",
    "SuffixRequest",
    "Version",
    "Versioned",
    "check_request",
    "check_version",
    "content_version",
    "slice_for",
    "validate_key",
    "validate_prefix",
    "versioned_part",
]
