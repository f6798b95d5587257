"""Per-key locks, so concurrent writers of one chunk or shard never lose an update.

A partial chunk write reads the stored chunk, merges the new values in and writes it back.
Two writers doing that at once would each write back their own merge and one update would
be lost, so the engine holds the lock of every key it rewrites, from the read to the write.

A store says what to lock for a key (:meth:`~zarrkit.storage.Store.lock_target`) and
whether that serialises writers in other processes too
(:attr:`~zarrkit.storage.Store.locks_across_processes`); this module does the locking.
:func:`key_lock` is process-wide: every handle on the same stored data (two
:class:`~zarrkit.storage.LocalStore` objects on one directory, a store and its read-only
or prefixed views) names the same target and gets the same lock. A target with a lock file
also holds one byte of it (``fcntl.lockf``), so writers in other processes
(multiprocessing, Dask workers on one machine) are serialised too; the OS releases it at
once if its holder dies.

Examples
--------
>>> from zarrkit.storage import MemoryStore
>>> store = MemoryStore()
>>> with key_lock(store, "c/0"):
...     store.set("c/0", b"merged")
>>> store.locks_across_processes  # no other process writes its data: these locks are all
True
"""

from __future__ import annotations

import errno
import os
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol
from weakref import WeakValueDictionary

from zarrkit import config
from zarrkit.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads only
    fcntl = None  # type: ignore[assignment]

#: Whether lock files work here (``fcntl`` record locks), so locks can span processes.
FILE_LOCKS = fcntl is not None

# Waiting for a lock file polls (a blocking lockf could not time out): short sleeps first,
# since most critical sections are one chunk's read-merge-write.
_FIRST_WAIT, _LONGEST_WAIT = 0.0002, 0.02


@dataclass(frozen=True, slots=True)
class LockTarget:
    """What to lock for one key: ``name`` is equal for every handle on the same stored
    value; other processes see byte ``offset`` of lock file ``path`` (``None``: no file)."""

    name: str
    path: str | None = None
    offset: int = 0


class Lockable(Protocol):
    """What this module needs of a store: the lock target of each key."""

    def lock_target(self, key: str) -> LockTarget: ...


def file_target(path: str, name: str) -> LockTarget:
    """The target of key ``name`` (its last segment) with lock file ``path``: one byte of
    the file, picked by a stable hash (not ``hash()``: it differs between processes); two
    keys sharing a byte are merely serialised together."""
    offset = zlib.crc32(name.encode()) & 0x7FFFFFFF
    return LockTarget(f"{path}#{offset:010d}", path if FILE_LOCKS else None, offset)


class KeyLock:
    """A re-entrant lock of one key: a thread lock, plus (for the outermost acquisition)
    its byte of the lock file when the store has one."""

    __slots__ = ("__weakref__", "_depth", "_file", "_thread_lock", "target")

    def __init__(self, target: LockTarget) -> None:
        self.target = target
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._file: _LockFile | None = None

    def acquire(self) -> None:
        timeout = config.get("lock_timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise _timed_out(self.target.name)
        try:
            if self._depth == 0 and self.target.path is not None:
                self._file = _lock_byte(self.target.path, self.target.offset, deadline)
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._file is not None:
                held, self._file = self._file, None
                held.unlock(self.target.offset)
        finally:
            self._thread_lock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_locks: WeakValueDictionary[str, KeyLock] = WeakValueDictionary()
_guard = threading.Lock()


def key_lock(store: Lockable, key: str) -> KeyLock:
    """The process-wide lock of ``key`` in ``store`` (a context manager, re-entrant)."""
    target = store.lock_target(key)
    with _guard:
        lock = _locks.get(target.name)
        if lock is None:
            lock = _locks[target.name] = KeyLock(target)
        return lock


@contextmanager
def locked(store: Lockable, keys: Iterable[str]) -> Iterator[None]:
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


# --- lock files ------------------------------------------------------------------------
# A directory's lock file exists only while some process locks a key in it: the last
# holder removes it, but only when no other process holds a byte of it (a whole-file lock
# says so). A process that locked a byte of a file that has since been removed has locked
# nothing, so after locking it checks that the path still names its file, and else starts
# again with the new one (TensorStore's file kvstore does the same).


class _LockFile:
    """A lock file open once per process. POSIX record locks belong to the process and
    closing any descriptor of the file drops all of them, so every lock of this process
    on the file goes through this one descriptor, closed when none is held or wanted."""

    __slots__ = ("fd", "path", "users", "verified")

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.users = 0
        # bytes held since a check that the path names this file: while one is held, no
        # process can remove the file (that takes a whole-file lock), so no new check is due
        self.verified = 0

    def try_lock(self, offset: int, length: int = 1) -> bool:
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, offset)
            return True
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise StoreError(f"cannot lock {self.path!r}: {e}", operation="lock") from e

    def names_path(self) -> bool:
        """Whether the path still names this file (no holder removed it meanwhile)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(self.fd)
        return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)

    def unlock(self, offset: int) -> None:
        with _guard:
            self.verified -= 1
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, offset)
        finally:
            self.leave()

    def retire(self) -> None:
        """Stop handing this (removed) file out; the next lock opens the new one."""
        with _guard:
            if _files.get(self.path) is self:
                del _files[self.path]

    def leave(self) -> None:
        with _guard:
            self.users -= 1
            if self.users:
                return
            if _files.get(self.path) is self:
                del _files[self.path]
            try:
                if self.try_lock(0, 0) and self.names_path():  # 0, 0: the whole file
                    os.unlink(self.path)
            except (OSError, StoreError):
                pass  # another process holds it, or it is gone: it is not ours to remove
            finally:
                os.close(self.fd)


_files: dict[str, _LockFile] = {}


def _lock_byte(path: str, offset: int, deadline: float | None) -> _LockFile:
    """Lock byte ``offset`` of lock file ``path``, waiting up to ``deadline``."""
    held = _open_lock_file(path)
    wait = _FIRST_WAIT
    try:
        while True:
            if held.try_lock(offset):
                if held.verified or held.names_path():
                    with _guard:
                        held.verified += 1
                    return held
                fcntl.lockf(held.fd, fcntl.LOCK_UN, 1, offset)
                held.retire()
                held.leave()
                held = _open_lock_file(path)
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise _timed_out(f"{path}#{offset}")
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
    except BaseException:
        held.leave()
        raise


def _open_lock_file(path: str) -> _LockFile:
    with _guard:
        held = _files.get(path)
        if held is None:
            held = _files[path] = _LockFile(path, _open_creating_parents(path))
        held.users += 1
        return held


def _open_creating_parents(path: str) -> int:
    try:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:  # the key's directory does not exist yet
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise StoreError(f"cannot open lock file {path!r}: {e}", operation="lock") from e


def _timed_out(name: str) -> StoreError:
    return StoreError(
        f"another writer held the lock of {name!r} for over lock_timeout = "
        f"{config.get('lock_timeout')} s; raise it with `with zarrkit.config.set("
        "lock_timeout=...)`",
        operation="lock",
    )


def _reset_after_fork() -> None:
    # a forked child inherits thread locks in whatever state other threads left them, and
    # none of the file locks: start afresh
    global _locks, _guard, _files
    for held in _files.values():
        os.close(held.fd)
    _locks, _guard, _files = WeakValueDictionary(), threading.Lock(), {}


os.register_at_fork(after_in_child=_reset_after_fork)
