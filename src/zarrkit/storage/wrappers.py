"""Stores that wrap another store: read-only, prefix, logging, latency and fault injection.

Each wrapper is itself a :class:`~zarrkit.storage.base.Store` and forwards to the public
methods of the store it wraps, so the inner store's own checks still apply.

Over 400 lines: six small wrappers (read-only, prefix, logging, latency, fault injection)
and the base that forwards versions and conditional writes for all of them.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, Self, TypeVar

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.keys import validate_key
from zarrkit.locking import LockTarget
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ByteRequest, Then, Version, Versioned

T = TypeVar("T")

#: Operation names used by counters, logs and fault selection.
OPERATIONS = (
    "get",
    "get_many",
    "get_ranges",
    "set",
    "set_many",
    "delete",
    "list",
    # versions
    "get_versioned",
    "get_many_versioned",
    "get_ranges_if",
    "get_then",
    "set_if",
    "set_many_if",
)


class WrapperStore(Store):
    """A store that forwards every call to ``inner``.

    Subclasses change behaviour by overriding :meth:`_call`, which sees the operation name,
    the keys involved (the prefix, for listing), the bytes sent, and the call itself.
    """

    def __init__(self, inner: Store, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.inner = inner
        # the versions of the wrapped store
        self.supports_versions = inner.supports_versions
        self.supports_conditional_writes = inner.supports_conditional_writes
        self.versions_cacheable = inner.versions_cacheable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r}, read_only={self.read_only})"

    @property
    def native_concurrency(self) -> bool:
        return self.inner.native_concurrency

    @property
    def locks_across_processes(self) -> bool:
        return self.inner.locks_across_processes

    def lock_targets(self, keys: Sequence[str]) -> list[LockTarget]:
        return self.inner.lock_targets(keys)

    def _call(self, operation: str, keys: Sequence[str], sent: int, call: Callable[[], T]) -> T:
        return call()

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self._call("get", (key,), 0, lambda: self.inner.get(key, byte_range))

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._call("get_many", keys, 0, lambda: self.inner.get_many(keys))

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        return self._call("get_ranges", (key,), 0, lambda: self.inner.get_ranges(key, ranges))

    def _set(self, key: str, value: Blob) -> None:
        self._call("set", (key,), len(memoryview(value)), lambda: self.inner.set(key, value))

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        sent = sum(len(memoryview(value)) for _, value in items)
        keys = [key for key, _ in items]
        self._call("set_many", keys, sent, lambda: self.inner.set_many(items))

    def _delete(self, key: str) -> None:
        self._call("delete", (key,), 0, lambda: self.inner.delete(key))

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        listing = self._call("list", (prefix,), 0, lambda: list(self.inner.list_prefix(prefix)))
        return iter(listing)

    def close(self) -> None:
        self.inner.close()

    # --- versions: those of the wrapped store (see __init__) ----------------------------
    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        def call() -> Versioned:
            return self.inner.get_versioned(key, byte_range, if_match=if_match)

        return self._call("get_versioned", (key,), 0, call)

    def _get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]:
        return self._call(
            "get_many_versioned", keys, 0, lambda: self.inner.get_many_versioned(keys)
        )

    def _get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        call = lambda: self.inner.get_ranges_if(key, ranges, if_match)  # noqa: E731
        return self._call("get_ranges_if", (key,), 0, call)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        return self._call("get_then", (key,), 0, lambda: self.inner.get_then(key, first, then))

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        call = lambda: self.inner.set_if(key, value, if_match=if_match)  # noqa: E731
        return self._call("set_if", (key,), len(memoryview(value)), call)

    def _set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        sent = sum(len(memoryview(value)) for _, value, _ in items)
        keys = [key for key, _, _ in items]
        return self._call("set_many_if", keys, sent, lambda: self.inner.set_many_if(items))


class ReadOnlyStore(WrapperStore):
    """A read-only view of any store.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> ReadOnlyStore(MemoryStore()).read_only
    True
    """

    def __init__(self, inner: Store) -> None:
        super().__init__(inner, read_only=True)

    def with_read_only(self, read_only: bool = True) -> Self:
        if not read_only:
            raise ReadOnlyError(f"{self!r} cannot be made writable; use its .inner store")
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (ReadOnlyStore, (self.inner,))


class PrefixStore(WrapperStore):
    """The keys of ``inner`` under ``prefix``, seen as a store of their own.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> inner = MemoryStore()
    >>> PrefixStore(inner, "group/array").set("zarr.json", b"{}")
    >>> list(inner.list())
    ['group/array/zarr.json']
    """

    def __init__(self, inner: Store, prefix: str, *, read_only: bool = False) -> None:
        super().__init__(inner, read_only=read_only)
        self.prefix = validate_key(prefix.rstrip("/")) + "/"

    def __repr__(self) -> str:
        return f"PrefixStore({self.inner!r}, {self.prefix!r}, read_only={self.read_only})"

    def lock_targets(self, keys: Sequence[str]) -> list[LockTarget]:
        return self.inner.lock_targets([self.prefix + key for key in keys])

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self.inner.get(self.prefix + key, byte_range)

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.inner.get_many([self.prefix + key for key in keys])

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        return self.inner.get_ranges(self.prefix + key, ranges)

    def _set(self, key: str, value: Blob) -> None:
        self.inner.set(self.prefix + key, value)

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        self.inner.set_many([(self.prefix + key, value) for key, value in items])

    def _delete(self, key: str) -> None:
        self.inner.delete(self.prefix + key)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        start = len(self.prefix)
        return (key[start:] for key in self.inner.list_prefix(self.prefix + prefix))

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        return self.inner.get_versioned(self.prefix + key, byte_range, if_match=if_match)

    def _get_many_versioned(self, keys: Sequence[str]) -> list[Versioned]:
        return self.inner.get_many_versioned([self.prefix + key for key in keys])

    def _get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        return self.inner.get_ranges_if(self.prefix + key, ranges, if_match)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        return self.inner.get_then(self.prefix + key, first, then)

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        return self.inner.set_if(self.prefix + key, value, if_match=if_match)

    def _set_many_if(
        self, items: Sequence[tuple[str, Blob, Version | None]]
    ) -> list[Version | None]:
        return self.inner.set_many_if([(self.prefix + k, v, m) for k, v, m in items])


class OperationStats:
    """Thread-safe counters of calls and bytes (sent plus received) per operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, operation: str, nbytes: int) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.bytes[operation] += nbytes

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.bytes.clear()

    def __getstate__(self) -> dict[str, Any]:
        return {"calls": self.calls, "bytes": self.bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())


def _describe(keys: Sequence[str]) -> str:
    return repr(keys[0]) if len(keys) == 1 else f"{len(keys)} keys"


def _size(result: object) -> int:
    """Bytes received in a result: a value, a list of values, or nothing."""
    if isinstance(result, bytes | bytearray | memoryview):
        return len(result)
    if isinstance(result, Versioned):
        return _size(result.value)
    if isinstance(result, list | tuple):
        return sum(_size(item) for item in result)
    return 0


class LoggingStore(WrapperStore):
    """Logs every call (operation, key, bytes, milliseconds) and counts them in ``stats``.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> store = LoggingStore(MemoryStore())
    >>> store.set("a", b"xyz")
    >>> store.stats.calls["set"], store.stats.bytes["set"]
    (1, 3)
    """

    def __init__(
        self,
        inner: Store,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.DEBUG,
        read_only: bool = False,
    ) -> None:
        super().__init__(inner, read_only=read_only)
        self.logger = logger or logging.getLogger("zarrkit")
        self.level = level
        self.stats = OperationStats()

    def _call(self, operation: str, keys: Sequence[str], sent: int, call: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            result = call()
        except Exception as e:
            elapsed = (time.perf_counter() - start) * 1000
            self.logger.log(
                self.level, "%s %s failed after %.2f ms: %s", operation, _describe(keys), elapsed, e
            )
            raise
        nbytes = sent + _size(result)
        self.stats.record(operation, nbytes)
        elapsed = (time.perf_counter() - start) * 1000
        self.logger.log(
            self.level, "%s %s %d bytes %.2f ms", operation, _describe(keys), nbytes, elapsed
        )
        return result


class LatencyStore(WrapperStore):
    """Adds ``latency`` seconds before every call, to make a local store behave like a remote one.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> LatencyStore(MemoryStore(), latency=0.001).get("missing") is None
    True
    """

    def __init__(self, inner: Store, *, latency: float = 0.0, read_only: bool = False) -> None:
        super().__init__(inner, read_only=read_only)
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency}")
        self.latency = latency

    def _call(self, operation: str, keys: Sequence[str], sent: int, call: Callable[[], T]) -> T:
        if self.latency:
            time.sleep(self.latency)
        return call()


class FaultInjectionStore(WrapperStore):
    """Makes chosen calls fail, to test how callers handle store errors.

    A call is eligible when its operation is in ``operations`` and its key in ``keys``
    (``None`` means all); an eligible call fails with probability ``probability`` (1.0:
    every time), drawn from a generator seeded with ``seed``. The error raised is
    ``error(message)`` (a :class:`~zarrkit.errors.StoreError` naming key and operation by
    default); ``errno`` makes it the error a disk fault gives (``errno.ENOSPC``, ``EIO``,
    ``EROFS`` ...) as :class:`~zarrkit.storage.LocalStore` reports it: a ``StoreError``
    naming key and operation, with that ``errno``. ``latency`` seconds are added to every
    call. ``stats`` counts calls and bytes
    per operation that went through, ``injected.calls`` the failures injected per operation
    and ``faults`` their total. Read-only handles made by :meth:`with_read_only` (as
    ``open_array(store, mode="r")`` does) share these counters.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> store = FaultInjectionStore(MemoryStore(), operations={"set"})
    >>> store.set("a", b"1")
    Traceback (most recent call last):
    ...
    zarrkit.errors.StoreError: set 'a': injected fault
    """

    def __init__(
        self,
        inner: Store,
        *,
        probability: float = 1.0,
        seed: int | None = None,
        operations: Collection[str] | None = None,
        keys: Collection[str] | None = None,
        error: Callable[..., Exception] | None = None,
        errno: int | None = None,
        latency: float = 0.0,
        read_only: bool = False,
    ) -> None:
        super().__init__(inner, read_only=read_only)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        unknown = set(operations or ()) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown operations {sorted(unknown)}; known: {list(OPERATIONS)}")
        self.probability = probability
        self.operations = None if operations is None else frozenset(operations)
        self.keys = None if keys is None else frozenset(keys)
        self.error = error
        self.errno = errno
        self.latency = latency
        self.stats = OperationStats()
        self.injected = OperationStats()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    @property
    def faults(self) -> int:
        """How many failures were injected."""
        return sum(self.injected.calls.values())

    def _call(self, operation: str, keys: Sequence[str], sent: int, call: Callable[[], T]) -> T:
        if self.latency:
            time.sleep(self.latency)
        chosen = self._chosen(operation, keys)
        if chosen is not None:
            self.injected.record(operation, 0)
            raise self._make_error(operation, chosen)
        result = call()
        self.stats.record(operation, sent + _size(result))
        return result

    def _chosen(self, operation: str, keys: Sequence[str]) -> str | None:
        """The key a fault is injected for, or ``None`` when this call succeeds."""
        if self.operations is not None and operation not in self.operations:
            return None
        if self.keys is None:
            target: str | None = keys[0] if keys else ""
        else:
            target = next((key for key in keys if key in self.keys), None)
            if target is None:
                return None
        with self._lock:
            fail = self.probability >= 1.0 or self._random.random() < self.probability
        return target if fail else None

    def _make_error(self, operation: str, key: str) -> Exception:
        if self.error is not None:
            return self.error(f"{operation} {key!r}: injected fault")
        if self.errno is None:
            return StoreError("injected fault", key=key or None, operation=operation)
        message = f"[Errno {self.errno}] {os.strerror(self.errno)} (injected fault)"
        error = StoreError(message, key=key or None, operation=operation)
        error.errno = self.errno
        return error
