"""ZarrPythonStore: any zarr-python 3 store (``zarr.abc.store.Store``) used as a zarrkit store.

zarr-python's stores are asynchronous; zarrkit's are synchronous. This adapter runs the
wrapped store's coroutines on one private event loop, on a daemon thread started on first
use (one per process; a forked child starts its own), and issues the keys of a batch
concurrently with :func:`asyncio.gather`. Store plugins written for zarr-python (Icechunk's
``IcechunkStore``, its ``MemoryStore``, ``LocalStore``, ``FsspecStore`` ...) so work with
zarrkit's whole API, and :func:`zarrkit.storage.make_store` wraps them without being asked.

zarr-python is imported by this module only: zarrkit itself does not need it.

Examples
--------
>>> import zarr.storage, zarrkit
>>> store = ZarrPythonStore(zarr.storage.MemoryStore())
>>> store.set("a", b"bytes")
>>> store.get("a")
b'bytes'
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import zarr.abc.store
from zarr.core.buffer import default_buffer_prototype

from zarrkit.errors import StoreError
from zarrkit.keys import validate_key, validate_prefix
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest

T = TypeVar("T")


class _LoopThread:
    """One asyncio event loop running forever on a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result in the calling thread."""
        loop = self._start()
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a zarrkit store was called from its own event loop thread")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="zarrkit-async-stores", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def forget(self) -> None:
        """After a fork: the child has no loop thread, so start afresh on next use."""
        self._lock = threading.Lock()
        self._loop = self._thread = None


_LOOP = _LoopThread()
os.register_at_fork(after_in_child=_LOOP.forget)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on zarrkit's private event loop thread and return its result."""
    return _LOOP.run(coroutine)


def to_zarr_request(request: ByteRequest | None) -> zarr.abc.store.ByteRequest | None:
    """zarrkit's byte request as zarr-python's."""
    if request is None:
        return None
    if isinstance(request, RangeRequest):
        return zarr.abc.store.RangeByteRequest(request.start, request.end)
    if isinstance(request, OffsetRequest):
        return zarr.abc.store.OffsetByteRequest(request.offset)
    return zarr.abc.store.SuffixByteRequest(request.suffix)


class ZarrPythonStore(Store):
    """A zarr-python 3 store (``zarr.abc.store.Store``) as a zarrkit :class:`Store`.

    Parameters
    ----------
    store
        The zarr-python store; it stays the caller's: closing the adapter leaves it open.
    read_only
        Refuse writes here too; a read-only zarr-python store is always read-only.

    Failures of the wrapped store raise :class:`~zarrkit.errors.StoreError` naming the key
    and the operation, with the original exception chained.
    """

    def __init__(self, store: zarr.abc.store.Store, *, read_only: bool = False) -> None:
        if not isinstance(store, zarr.abc.store.Store):
            raise TypeError(f"expected a zarr-python store, got {type(store).__name__}")
        super().__init__(read_only=read_only or store.read_only)
        self.store = store
        self.supports_listing = store.supports_listing
        self._prototype = default_buffer_prototype()

    def __repr__(self) -> str:
        return f"ZarrPythonStore({self.store!r}, read_only={self.read_only})"

    @property
    def native_concurrency(self) -> bool:
        return True

    def with_read_only(self, read_only: bool = False) -> ZarrPythonStore:
        """A handle with another ``read_only`` flag; never writable over a read-only store."""
        clone = super().with_read_only(read_only)
        clone._read_only = read_only or self.store.read_only
        return clone

    def _run(self, operation: str, key: str, work: Awaitable[T]) -> T:
        async def call() -> T:
            await self.store._ensure_open()
            return await work

        try:
            return run(call())
        except Exception as e:
            raise StoreError(f"{type(e).__name__}: {e}", key=key, operation=operation) from e

    # --- reads -----------------------------------------------------------------------------
    async def _fetch(self, key: str, request: ByteRequest | None) -> bytes | None:
        if isinstance(request, RangeRequest) and request.start == request.end:
            # Stores disagree on empty ranges (Icechunk refuses them): existence decides.
            return b"" if await self.store.exists(key) else None
        value = await self.store.get(key, self._prototype, to_zarr_request(request))
        return None if value is None else value.to_bytes()

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self._run("get", key, self._fetch(key, byte_range))

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return self._run("get_many", keys[0], _all([self._fetch(key, None) for key in keys]))

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        parts = self._run("get_ranges", key, _all([self._fetch(key, r) for r in ranges]))
        if any(part is None for part in parts):
            return None
        return [part for part in parts if part is not None]

    def _getsize(self, key: str) -> int | None:
        async def size() -> int | None:
            try:
                nbytes: int = await self.store.getsize(key)
                return nbytes
            except (FileNotFoundError, KeyError):
                return None

        return self._run("getsize", key, size())

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value (one ``exists`` call on the wrapped store)."""
        found: bool = self._run("exists", key, self.store.exists(validate_key(key)))
        return found

    # --- writes ----------------------------------------------------------------------------
    def _set(self, key: str, value: Blob) -> None:
        self._run("set", key, self._put(key, value))

    async def _put(self, key: str, value: Blob) -> None:
        # Stores may keep the buffer (zarr-python's MemoryStore does): give them bytes,
        # which no caller can change afterwards.
        data = value if isinstance(value, bytes) else bytes(value)
        await self.store.set(key, self._prototype.buffer.from_bytes(data))

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        if items:
            self._run("set_many", items[0][0], _all([self._put(k, v) for k, v in items]))

    def _delete(self, key: str) -> None:
        self._run("delete", key, self._remove(key))

    async def _remove(self, key: str) -> None:
        if await self.store.exists(key):  # some stores refuse to delete a missing key
            await self.store.delete(key)

    def _delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            self._run("delete_many", keys[0], _all([self._remove(key) for key in keys]))

    def _delete_prefix(self, prefix: str) -> None:
        self._run("delete_prefix", prefix, self.store.delete_dir(prefix.rstrip("/")))

    # --- listing ---------------------------------------------------------------------------
    def _list_prefix(self, prefix: str) -> Iterator[str]:
        return iter(self._run("list", prefix, _gather_keys(self.store.list_prefix(prefix))))

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Names directly under ``prefix``, from the wrapped store's own ``list_dir``."""
        prefix = validate_prefix(prefix)
        listing = self.store.list_dir(prefix.rstrip("/"))
        names = self._run("list", prefix, _gather_keys(listing))
        return iter(sorted({name.rstrip("/") for name in names}))


async def _all(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """The results of ``coroutines``, run concurrently."""
    return list(await asyncio.gather(*coroutines))


async def _gather_keys(keys: AsyncIterator[str]) -> list[str]:
    return [key async for key in keys]
