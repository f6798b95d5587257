"""Per-key locks, so concurrent writers of one chunk or shard never lose an update.

A partial chunk write reads the stored chunk, merges the new values in and writes it back.
Two writers doing that at once would each write back their own merge and one update would
be lost, so the engine holds the lock of every key it rewrites from the read to the write.

:func:`key_lock` is process-wide: every handle on the same stored data (two
:class:`~zarrkit.storage.LocalStore` objects on one directory, a store and its read-only
or prefixed views) gets the same lock. Where a store keeps its data in local files it also
takes an OS lock (``fcntl.lockf``) on a lock file next to the key, so writers in other
processes (multiprocessing, Dask workers on one machine) are serialised too. Which stores
can do that is a registry by store type (:func:`register_locking`);
:func:`supports_process_locks` tells.

Examples
--------
>>> from zarrkit.storage import MemoryStore
>>> store = MemoryStore()
>>> with key_lock(store, "c/0"):
...     store.set("c/0", b"merged")
>>> supports_process_locks(store)
False
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakValueDictionary

from zarrkit import config
from zarrkit.errors import StoreError
from zarrkit.storage.base import Store
from zarrkit.storage.local import LocalStore
from zarrkit.storage.memory import MemoryStore
from zarrkit.storage.wrappers import PrefixStore, WrapperStore

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads only
    fcntl = None  # type: ignore[assignment]

# Waiting for a lock file polls (a blocking lockf could not time out): short sleeps first,
# since most critical sections are one chunk's read-merge-write.
_FIRST_WAIT, _LONGEST_WAIT = 0.0002, 0.02


@dataclass(frozen=True, slots=True)
class LockTarget:
    """What to lock for one key: ``name`` is equal for every handle on the same stored
    value; ``path`` is the lock file other processes see, ``None`` when there is none."""

    name: str
    path: Path | None = None


Resolver = Callable[[Any, str], LockTarget]
_resolvers: dict[type, Resolver] = {}


def register_locking(store_type: type[Store], resolver: Resolver) -> None:
    """Make stores of ``store_type`` (and subclasses) lock ``resolver(store, key)``."""
    _resolvers[store_type] = resolver


def lock_target(store: Store, key: str) -> LockTarget:
    """The lock of ``key`` in ``store``; stores without a resolver lock per object."""
    for cls in type(store).__mro__:
        resolver = _resolvers.get(cls)
        if resolver is not None:
            return resolver(store, key)
    return LockTarget(f"{type(store).__qualname__}@{id(store):x}:{key}")


def supports_process_locks(store: Store) -> bool:
    """Whether writers in other processes are serialised with this one on ``store``
    (otherwise only threads of this process are)."""
    return lock_target(store, "zarr.json").path is not None


class KeyLock:
    """A re-entrant lock of one key: a thread lock, plus the lock file of the key held by
    the outermost acquisition when the store has one."""

    __slots__ = ("__weakref__", "_depth", "_fd", "_thread_lock", "target")

    def __init__(self, target: LockTarget) -> None:
        self.target = target
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self) -> None:
        timeout = config.get("lock_timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise _timed_out(self.target.name)
        try:
            if self._depth == 0 and self.target.path is not None:
                self._fd = _lock_file(self.target.path, self.target.name, deadline)
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and self.target.path is not None:
                fd, self._fd = self._fd, None
                _unlock_file(self.target.path, fd)
        finally:
            self._thread_lock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_locks: WeakValueDictionary[str, KeyLock] = WeakValueDictionary()
_locks_guard = threading.Lock()


def key_lock(store: Store, key: str) -> KeyLock:
    """The process-wide lock of ``key`` in ``store`` (a context manager, re-entrant)."""
    target = lock_target(store, key)
    with _locks_guard:
        lock = _locks.get(target.name)
        if lock is None:
            lock = _locks[target.name] = KeyLock(target)
        return lock


@contextmanager
def locked(store: Store, keys: Iterable[str]) -> Iterator[None]:
    """Hold the locks of all ``keys`` (taken in one global order, so two writers locking
    overlapping sets cannot deadlock)."""
    locks = {}
    for key in keys:
        lock = key_lock(store, key)
        locks[lock.target.name] = lock
    with ExitStack() as held:
        for name in sorted(locks):
            held.enter_context(locks[name])
        yield


def _reset_after_fork() -> None:
    # a forked child inherits the parent's thread locks in whatever state other threads
    # left them, but none of its file locks: start afresh
    global _locks, _locks_guard
    _locks = WeakValueDictionary()
    _locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


# --- lock files ------------------------------------------------------------------------
def _lock_file(path: Path, name: str, deadline: float | None) -> int:
    """Open and lock ``path``; return the descriptor that holds the lock.

    The holder removes the lock file when it is done, so a waiter that locked a file
    that has since been removed (or replaced) has locked nothing: it checks that the path
    still names the file it locked, and tries again otherwise.
    """
    wait = _FIRST_WAIT
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:  # a new directory, or one just pruned by a delete
            _make_parent(path)
            continue
        except OSError as e:
            raise StoreError(f"cannot open lock file {str(path)!r}: {e}", operation="lock") from e
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                raise StoreError(f"cannot lock {str(path)!r}: {e}", operation="lock") from e
            if deadline is not None and time.monotonic() > deadline:
                raise _timed_out(name) from None
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
            continue
        if _names(path, fd):
            return fd
        os.close(fd)


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` is the file open as ``fd``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def _unlock_file(path: Path, fd: int) -> None:
    """Remove the lock file (while still holding it, so no waiter can take it for
    locked), then release it."""
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"cannot create the directory of lock file {str(path)!r}: {e}", operation="lock"
        ) from e


def _timed_out(name: str) -> StoreError:
    return StoreError(
        f"another writer held the lock of {name!r} for over lock_timeout = "
        f"{config.get('lock_timeout')} s; raise it with `with zarrkit.config.set("
        "lock_timeout=...)`",
        operation="lock",
    )


# --- the built-in resolvers ----------------------------------------------------------------
def _local(store: LocalStore, key: str) -> LockTarget:
    path = store.lock_path(key)
    return LockTarget(str(path), path if fcntl is not None else None)


def _memory(store: MemoryStore, key: str) -> LockTarget:
    # handles made by with_read_only share the dict, so it names the data
    return LockTarget(f"MemoryStore@{id(store._data):x}:{key}")


def _wrapper(store: WrapperStore, key: str) -> LockTarget:
    return lock_target(store.inner, key)


def _prefixed(store: PrefixStore, key: str) -> LockTarget:
    return lock_target(store.inner, store.prefix + key)


for _type, _resolver in (
    (LocalStore, _local),
    (MemoryStore, _memory),
    (WrapperStore, _wrapper),
    (PrefixStore, _prefixed),
):
    register_locking(_type, _resolver)
