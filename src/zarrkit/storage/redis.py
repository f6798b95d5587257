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
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from zarrkit.errors import StoreError
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest

# Keys per MGET, so one huge request does not block the server for long.
_BATCH = 1000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisStore(Store):
    """A store in a Redis database.

    Parameters
    ----------
    url
        ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).
    namespace
        A string put before every key, so several stores can share one database.
    **client_options
        Passed to ``redis.Redis.from_url`` (``socket_timeout``, ``retry`` ...).

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
        self.client = redis.Redis.from_url(url, **client_options)

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
        try:
            return command(*args)
        except redis.RedisError as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation=operation) from e

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        name = self._name(key)
        if byte_range is None:
            value: bytes | None = self._call("get", key, self.client.get, name)
            return value
        pipe = self.client.pipeline(transaction=True)
        pipe.exists(name)
        span = _inclusive_span(byte_range)
        if span is not None:
            pipe.getrange(name, *span)
        exists, *part = self._call("get", key, pipe.execute)
        if not exists:
            return None
        return bytes(part[0]) if part else b""

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

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.namespace + prefix) + "*"
        start = len(self.namespace.encode())
        scan = self.client.scan_iter(match=pattern.encode(), count=_BATCH)
        names = self._call("list", prefix, list, scan)
        return (name[start:].decode() for name in names)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


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
