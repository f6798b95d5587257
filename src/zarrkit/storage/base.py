"""The one store interface: keys and bytes only.

A backend subclasses :class:`Store` and implements the ``_get``/``_set``/``_delete``/
``_list_prefix`` primitives; the public methods validate keys and refuse writes on
read-only stores once, here, so no backend can forget to. A missing key reads as ``None``;
any exception means failure, never absence. The public methods emit a
:class:`~zarrkit.telemetry.StoreEvent` each (one per call, batch calls included) while
anyone subscribes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Self

from zarrkit.errors import ReadOnlyError
from zarrkit.keys import validate_key, validate_prefix
from zarrkit.locking import LockTarget
from zarrkit.telemetry import active, observe_listing, observe_store, within
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest, SuffixRequest


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


class Store(ABC):
    """A flat mapping of ``/``-separated string keys to bytes.

    Subclasses implement the underscored primitives. ``read_only`` stores refuse every
    mutation with :class:`~zarrkit.errors.ReadOnlyError`.
    """

    supports_listing: bool = True

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only

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
        for key, value in items:
            self._set(key, value)

    def _delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._delete(key)

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

    @property
    def native_concurrency(self) -> bool:
        """True when ``get_many``/``set_many`` fan out concurrently themselves (object
        stores): the engine then sends all chunks of a read or write in one call. Otherwise
        each of the engine's workers sends its own batch, overlapping I/O with decoding."""
        return False

    # --- locking (see zarrkit.locking) ---------------------------------------------------------
    @property
    def locks_across_processes(self) -> bool:
        """Whether the locks of :meth:`lock_target` serialise writers in other processes too
        (lock files); otherwise only the threads of this process are serialised."""
        return False

    def lock_target(self, key: str) -> LockTarget:
        """What a writer locks to rewrite ``key``: by default a lock of this process, one per
        store object; a backend whose handles share their data names the data instead."""
        return LockTarget(f"{type(self).__qualname__}@{id(self):x}:{key}")

    # --- public interface ------------------------------------------------------------------
    def get(self, key: str, byte_range: ByteRequest | None = None) -> bytes | None:
        """The value of ``key`` (or the requested bytes of it), ``None`` when missing."""
        if active.store and not within("store"):
            return observe_store(self, "get", partial(self.get, key, byte_range), key=key)
        check_request(byte_range)
        return self._get(validate_key(key), byte_range)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of ``keys`` in order; backends fetch them concurrently where they can."""
        if active.store and not within("store"):
            return observe_store(self, "get_many", partial(self.get_many, keys), count=len(keys))
        for key in keys:
            validate_key(key)
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
            sent = memoryview(value).nbytes
            return observe_store(self, "set", partial(self.set, key, value), key=key, sent=sent)
        self._check_writable()
        self._set(validate_key(key), value)

    def set_many(self, items: Mapping[str, Blob] | Iterable[tuple[str, Blob]]) -> None:
        """Store several values; backends write them concurrently where they can."""
        if active.store and not within("store"):
            items = list(items.items() if isinstance(items, Mapping) else items)
            sent = sum(memoryview(value).nbytes for _, value in items)
            call = partial(self.set_many, items)
            return observe_store(self, "set_many", call, count=len(items), sent=sent)
        self._check_writable()
        pairs = list(items.items() if isinstance(items, Mapping) else items)
        for key, _ in pairs:
            validate_key(key)
        self._set_many(pairs)

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        if active.store and not within("store"):
            return observe_store(self, "delete", partial(self.delete, key), key=key, sent=0)
        self._check_writable()
        self._delete(validate_key(key))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove several keys (in one transaction or request where the backend can)."""
        if active.store and not within("store"):
            keys = list(keys)
            call = partial(self.delete_many, keys)
            return observe_store(self, "delete_many", call, count=len(keys), sent=0)
        self._check_writable()
        self._delete_many([validate_key(key) for key in keys])

    def delete_prefix(self, prefix: str) -> None:
        """Remove every key under ``prefix`` ('' removes everything)."""
        if active.store and not within("store"):
            call = partial(self.delete_prefix, prefix)
            return observe_store(self, "delete_prefix", call, key=prefix, sent=0)
        self._check_writable()
        self._delete_prefix(validate_prefix(prefix))

    def getsize(self, key: str) -> int:
        """Size in bytes of the value of ``key``; 0 when missing."""
        if active.store and not within("store"):
            return observe_store(self, "getsize", partial(self.getsize, key), key=key)
        return self._getsize(validate_key(key)) or 0

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
        """Whether no key starts with ``prefix``."""
        return next(iter(self.list_prefix(prefix)), None) is None

    def with_read_only(self, read_only: bool = True) -> Self:
        """A handle on the same data with another ``read_only`` flag."""
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.read_only = read_only
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
    "check_request",
    "slice_for",
    "validate_key",
    "validate_prefix",
]
