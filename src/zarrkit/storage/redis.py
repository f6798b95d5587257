"""RedisStore: one Redis string per key, optionally under a namespace.

Durability: exactly what the server is configured for. A write Redis acknowledged lives in
its memory; it reaches disk only with RDB snapshots or the append-only file
(``appendonly yes``; ``appendfsync always`` for every write, ``everysec`` loses up to a
second). Run with ``maxmemory-policy noeviction``: an evicted chunk would read as missing,
that is, as the fill value.

Atomicity: ``set`` and ``delete`` are single commands; ``set_many`` is one ``MSET`` and
``delete_many`` one ``DEL``, both atomic; byte-range reads check existence and read the
range in one ``MULTI``/``EXEC``. Concurrency: the client's connection pool is thread-safe;
any number of processes and hosts may share the server.

Faults: commands that fail on a dropped connection or a timeout (and ``LOADING``,
``TRYAGAIN`` answers) are tried again under zarrkit's retry policy (``retry_*`` options,
:mod:`zarrkit.retry`) on a fresh connection; redis-py's own retries are off. A ``set_if``
whose answer was lost is resolved by reading the key again (see
:meth:`~zarrkit.storage.base.Store._write_once`).

Versions: a value's version is the SHA-1 of its bytes (Redis' own ``redis.sha1hex``), so
nothing but the value is stored; ``set_if`` compares and writes in one Lua script, atomic
on the server. Checking a version reads the whole value, so caches do not key by it;
``get_then`` reads the value once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from zarrkit import retry
from zarrkit.errors import ConflictError, StoreError
from zarrkit.storage.base import Store, slice_for, versioned_part
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest, Then, Version, Versioned

# Keys per MGET, so one huge request does not block the server for long.
_BATCH = 1000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
# SET KEYS[1] to ARGV[1] if it is at version ARGV[2] ('': if it is absent); 1 when written.
_SET_IF = """
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '' then
    if current then return 0 end
elseif not current or redis.sha1hex(current) ~= ARGV[2] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


class RedisStore(Store):
    """A store in a Redis database.

    Parameters
    ----------
    url
        ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).
    namespace
        A string put before every key, so several stores can share one database.
    **client_options
        Passed to ``redis.Redis.from_url`` (``socket_timeout``, ``socket_connect_timeout``
        ...), except the retry options (``retry_attempts``, ``retry_deadline`` ...).

    Examples
    --------
    >>> store = RedisStore("redis://127.0.0.1:6379/0", namespace="arrays/a/")  # doctest: +SKIP
    >>> store.set("zarr.json", b"{}")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        read_only: bool = False,
        namespace: str = "",
        **client_options: Any,
    ) -> None:
        super().__init__(read_only=read_only)
        self.url = url
        self.namespace = namespace
        self.client_options = client_options
        options = dict(client_options)
        self.retry_options = retry.split_options(options)
        if "retry" in options or "retry_on_error" in options:
            raise ValueError(
                "RedisStore retries through zarrkit's retry_* options; redis-py's own "
                "`retry`/`retry_on_error` would retry on top of them"
            )
        self.client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> RedisStore:
        """Open ``redis://host:port/db``; ``namespace`` and client options as keywords."""
        return cls(url, read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, namespace={self.namespace!r}, read_only={self.read_only})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_reopen, (self.url, self.read_only, self.namespace, self.client_options))

    def _name(self, key: str) -> bytes:
        return (self.namespace + key).encode()

    def _call(self, operation: str, key: str, command: Any, *args: Any) -> Any:
        """``command(*args)``, tried again while it fails transiently."""
        try:
            return retry.call(
                lambda: command(*args),
                transient,
                self.retry_options,
                key=key,
                operation=operation,
                store=self,
            )
        except StoreError:
            raise
        except redis.RedisError as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation=operation) from e

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        name = self._name(key)
        if byte_range is None:
            value: bytes | None = self._call("get", key, self.client.get, name)
            return value
        exists, *part = self._call("get", key, self._get_range, name, byte_range)
        if not exists:
            return None
        return bytes(part[0]) if part else b""

    def _get_range(self, name: bytes, byte_range: ByteRequest) -> list[Any]:
        """Whether ``name`` exists and the requested bytes, in one transaction (a pipeline
        is emptied by its execution, so each try builds its own)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.exists(name)
        span = _inclusive_span(byte_range)
        if span is not None:
            pipe.getrange(name, *span)
        result: list[Any] = pipe.execute()
        return result

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = []
        for start in range(0, len(keys), _BATCH):
            names = [self._name(key) for key in keys[start : start + _BATCH]]
            values += self._call("get_many", keys[start], self.client.mget, names)
        return values

    def _set(self, key: str, value: Blob) -> None:
        self._call("set", key, self.client.set, self._name(key), bytes(value))

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        if items:
            mapping = {self._name(key): bytes(value) for key, value in items}
            self._call("set_many", items[0][0], self.client.mset, mapping)

    def _delete(self, key: str) -> None:
        self._call("delete", key, self.client.delete, self._name(key))

    def _delete_many(self, keys: Sequence[str]) -> None:
        names = [self._name(key) for key in keys]
        if names:
            self._call("delete_many", names[0].decode(), self.client.delete, *names)

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        value: bytes | None = self._call("get", key, self.client.get, self._name(key))
        version = None if value is None else _version(value)
        return versioned_part(key, value, version, byte_range, if_match)

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        whole = self._get_versioned(key, None, None)  # one GET: one version
        if whole.value is None:
            return None
        value = whole.value
        part = slice_for(first, len(value))
        head = Versioned(value[part], whole.version, part.start)
        return head, [value[slice_for(r, len(value))] for r in then(head.value or b"", part.start)]

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        data = bytes(value)

        def write() -> Version:
            if not self.client.eval(_SET_IF, 1, self._name(key), data, if_match or ""):
                found = "exists" if if_match is None else f"is not at version {if_match}"
                raise ConflictError(found, key=key, operation="set_if")
            return _version(data)

        version: Version = self._call(
            "set_if", key, self._write_once, write, transient, key, data, if_match
        )
        return version

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.namespace + prefix) + "*"
        start = len(self.namespace.encode())

        def scan() -> list[bytes]:  # a scan that failed part way starts again
            return list(self.client.scan_iter(match=pattern.encode(), count=_BATCH))

        names = self._call("list", prefix, scan)
        return (name[start:].decode() for name in names)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def transient(error: BaseException) -> str | None:
    """Why a redis-py error is worth another try ("timeout", "connection reset",
    "loading", "try again"), or ``None``."""
    if isinstance(error, redis.exceptions.TimeoutError):
        return "timeout"
    if isinstance(error, redis.exceptions.BusyLoadingError):
        return "loading"
    if isinstance(error, redis.exceptions.ConnectionError):
        return "connection reset"
    if isinstance(error, redis.exceptions.TryAgainError):
        return "try again"
    return None


def _version(value: bytes) -> Version:
    return hashlib.sha1(value).hexdigest()  # what redis.sha1hex computes in scripts


def _inclusive_span(request: ByteRequest) -> tuple[int, int] | None:
    """GETRANGE's inclusive (start, end) for ``request``, ``None`` when it selects nothing."""
    if isinstance(request, RangeRequest):
        return (request.start, request.end - 1) if request.end > request.start else None
    if isinstance(request, OffsetRequest):
        return (request.offset, -1)
    return (-request.suffix, -1) if request.suffix else None


def _reopen(
    url: str, read_only: bool, namespace: str, client_options: dict[str, Any]
) -> RedisStore:
    return RedisStore(url, read_only=read_only, namespace=namespace, **client_options)
