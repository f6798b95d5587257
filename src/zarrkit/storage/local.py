"""LocalStore: one file per key under a root directory.

Writes go to a temporary file in the destination directory and are renamed into place,
so a reader sees the old value or the new one, never a torn file, even if the writer is
killed. ``durable=True`` also fsyncs the file, then (after the rename) its directory, and
the parents of directories it creates, so acknowledged writes survive power loss too.

Versions: a file's version is its device, inode, modification time (ns) and size, taken on
the open file a read goes through: since a write renames a new file over the key, a
rewrite changes the inode. Two rewrites within one tick of the file system's clock that
reuse an inode and keep the size cannot be told apart, so zarrkit itself serialises
writers with its lock files here (:mod:`zarrkit.locking`), keys no cache by these
versions, and reads a shard's index and its inner chunks through one open file.
``set_if`` holds the key's lock while it compares and replaces.

File names starting with ``.zarrkit-`` are the store's own (temporary files, and the
``.zarrkit-lock`` file :mod:`zarrkit.locking` keeps in a directory where writers lock keys):
listing skips them and no key may name one.

Over 400 lines: the reads (whole files in a batch; ranges, versions and a shard's index
with its inner chunks through one open file) and the writes (atomic, conditional) share
the key-to-file mapping and the store's own file names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

from zarrkit.errors import ConflictError, InvalidKeyError, StoreError
from zarrkit.keys import validate_keys
from zarrkit.locking import FILE_LOCKS, LockTarget, file_target, key_lock
from zarrkit.retry import partial_write
from zarrkit.storage import native
from zarrkit.storage.base import Store, check_version, slice_for
from zarrkit.types import (
    Blob,
    ByteRequest,
    ChunkMemory,
    Decoder,
    Encoder,
    OffsetRequest,
    Then,
    Version,
    Versioned,
)

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
_INTERNAL = ".zarrkit-"
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_TEMP_MARK = _INTERNAL + "tmp-"
_LOCK_NAME = _INTERNAL + "lock"


class LocalStore(Store):
    """A directory on the local file system.

    Examples
    --------
    >>> import tempfile
    >>> store = LocalStore(tempfile.mkdtemp())
    >>> store.set("c/0/0", b"chunk")
    >>> store.get("c/0/0")
    b'chunk'
    """

    def __init__(
        self, root: str | os.PathLike[str], *, read_only: bool = False, durable: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self.root = Path(root).expanduser().absolute()
        self._root_str = str(self.root)
        self.durable = durable

    @classmethod
    def open(
        cls, root: str | os.PathLike[str], *, read_only: bool = False, mode: str | None = None
    ) -> Self:
        """The store at ``root``, made ready as zarr-python's ``LocalStore.open`` does: a
        writable store creates its directory; a read-only one (or ``mode`` "r" or "r+")
        needs it to exist."""
        store = cls(root, read_only=read_only)
        if not read_only and mode not in ("r", "r+"):
            store.root.mkdir(parents=True, exist_ok=True)
        if not store.root.is_dir():
            raise FileNotFoundError(f"LocalStore root {str(store.root)!r} does not exist")
        return store

    def move(self, dest_root: str | os.PathLike[str]) -> None:
        """Move the store's directory to ``dest_root`` (which must not exist) and keep
        using it there."""
        self._check_writable()
        dest = Path(dest_root).expanduser().absolute()
        if dest.exists():
            raise FileExistsError(f"cannot move {str(self.root)!r}: {str(dest)!r} exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.root, dest)
        self.root, self._root_str = dest, str(dest)
        self.__dict__.pop("_resolved_root", None)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r}, read_only={self.read_only})"

    def __str__(self) -> str:
        return self.root.as_uri()

    def __eq__(self, other: object) -> bool:
        """Handles on the same directory are equal (as in zarr-python)."""
        return isinstance(other, LocalStore) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (str(self.root), self.read_only, self.durable))

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_segments(key))

    @property
    def locks_across_processes(self) -> bool:
        return FILE_LOCKS

    def lock_targets(self, keys: Sequence[str]) -> list[LockTarget]:
        """A byte of the lock file for each of ``keys``: one file per directory, beside the
        keys, found through the root's real path so every handle finds the same file."""
        validate_keys(keys)
        for key in keys:
            if _INTERNAL in key:
                _segments(key)  # raises for the store's own names
        root, files = self._real_root(), dict[str, str]()
        targets = []
        for key in keys:
            directory, _, name = key.rpartition("/")
            path = files.get(directory)
            if path is None:
                path = files[directory] = os.path.join(root, directory, _LOCK_NAME)
            targets.append(file_target(path, name))
        return targets

    def _real_root(self) -> str:
        real: str | None = self.__dict__.get("_resolved_root")
        if real is None:
            real = self.__dict__["_resolved_root"] = os.path.realpath(self.root)
        return real

    def _file(self, key: str) -> str:
        """The file of ``key`` as a string: reads build thousands of these, and string
        joins cost a tenth of pathlib's."""
        if _INTERNAL in key:
            _segments(key)  # raises for the store's own names
        return f"{self._root_str}{os.sep}{key}" if os.sep == "/" else str(self._path(key))

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self._read(key, "get", lambda fd: _read_fd(fd, byte_range, os.fstat(fd))[0])

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = []
        guess = _FIRST_READ
        if _native_batch(keys):
            found = self._get_many_native(keys)
            if len(found) == len(keys):
                return found
            guess = 0  # a file filled the first read: the rest by their size
        # The hot loop of a read of many small chunks: no call per file but its three
        # system calls (measured: 3% less CPU per W3 read with one worker, 0.3-0.5 µs a
        # chunk, and faster in 7 of 8 alternating runs with two, than a call per file). Each
        # file is read in one ``read`` of the size guessed, not asked (an ``fstat`` costs a
        # tenth of a small chunk), while files stay smaller than that; then by their size.
        prefix = self._root_str + os.sep
        posix = os.sep == "/"
        open_, read_, close = os.open, os.read, os.close
        for key in keys[len(found) :]:
            # _file raises for the store's own names
            path = prefix + key if posix and _INTERNAL not in key else self._file(key)
            try:
                fd = open_(path, _READ_FLAGS)
            except (FileNotFoundError, NotADirectoryError):
                found.append(None)
                continue
            except OSError as e:
                raise StoreError(str(e), key=key, operation="get_many") from e
            try:
                data = read_(fd, guess) if guess else b""
                if len(data) == guess:  # larger than the guess: by its size from now on
                    guess = 0
                    data += _read_fd(fd, OffsetRequest(len(data)), os.fstat(fd))[0]
            except IsADirectoryError:
                data = None
            except OSError as e:
                raise StoreError(str(e), key=key, operation="get_many") from e
            finally:
                close(fd)
            found.append(data)
        return found

    def _get_many_native(self, keys: Sequence[str]) -> list[bytes | None]:
        """:meth:`_get_many` by the compiled loop (:mod:`zarrkit.storage.native`): the
        values of ``keys``, or of those up to the first file that fills the first read
        (:data:`_FIRST_READ` bytes), which is read again whole (a replacement meanwhile
        gives the new value, whole); :meth:`_get_many` reads the others by their size."""
        prefix = self._root_str + os.sep
        found: list[bytes | None] = []
        read = native.read_files([prefix + key for key in keys], _FIRST_READ)
        for key, data in zip(keys[: len(read)], read, strict=True):
            if isinstance(data, int):
                if -data not in _ABSENT:
                    message = f"[Errno {-data}] {os.strerror(-data)}: {prefix + key!r}"
                    raise StoreError(message, key=key, operation="get_many")
                found.append(None)
            else:
                found.append(data if len(data) < _FIRST_READ else self._get(key, None))
        return found

    @property
    def reads_decoded(self) -> bool:
        return native.LIB is not None and os.sep == "/"

    def get_decoded(
        self, keys: Sequence[str], decoder: Decoder, out: np.ndarray, nbytes: int
    ) -> tuple[list[int], list[int]]:
        """Each chunk read and decoded straight into its place in one compiled loop
        (:func:`~zarrkit.storage.native.read_decoded`), where it was built; those whose
        files are missing, and those it did not decode (larger than its buffer, not what
        the decoder takes, an error), which the caller reads and decodes, or reports."""
        validate_keys(keys)
        if not self.reads_decoded or _INTERNAL in "/".join(keys):
            return [], list(range(len(keys)))
        absent: list[int] = []
        left: list[int] = []
        for i, status in native.read_decoded(self._root_str, keys, decoder, out, nbytes):
            (absent if -status in _ABSENT else left).append(i)
        return absent, left

    def _getsize(self, key: str) -> int | None:
        try:
            return os.stat(self._file(key)).st_size
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise StoreError(str(e), key=key, operation="getsize") from e

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        def read(fd: int) -> list[bytes]:
            st = os.fstat(fd)
            return [_read_fd(fd, r, st)[0] for r in ranges]

        return self._read(key, "get_ranges", read)

    # --- versions ----------------------------------------------------------------------------
    supports_versions = True
    supports_conditional_writes = True

    def _get_versioned(
        self, key: str, byte_range: ByteRequest | None, if_match: Version | None
    ) -> Versioned:
        def read(fd: int) -> Versioned:
            st = os.fstat(fd)
            if if_match is not None:
                check_version(key, _version(st), if_match, "get")
            value, start = _read_fd(fd, byte_range, st)
            return Versioned(value, _version(st), start)

        found = self._read(key, "get", read)
        if found is None and if_match is not None:
            raise ConflictError("deleted", key=key, operation="get")
        return found or Versioned(None, None)

    def _get_ranges_if(
        self, key: str, ranges: Sequence[ByteRequest], if_match: Version
    ) -> list[bytes]:
        def read(fd: int) -> list[bytes]:
            st = os.fstat(fd)
            check_version(key, _version(st), if_match, "get_ranges")
            return [_read_fd(fd, r, st)[0] for r in ranges]

        found = self._read(key, "get_ranges", read)
        if found is None:
            raise ConflictError("deleted", key=key, operation="get_ranges")
        return found

    def _get_then(
        self, key: str, first: ByteRequest, then: Then
    ) -> tuple[Versioned, list[bytes]] | None:
        """Both reads through one open file: one version, whatever renames happen meanwhile."""

        def read(fd: int) -> tuple[Versioned, list[bytes]]:
            st = os.fstat(fd)
            value, start = _read_fd(fd, first, st)
            head = Versioned(value, _version(st), start)
            return head, [_read_fd(fd, r, st)[0] for r in then(value, start)]

        return self._read(key, "get_then", read)

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        path = self._file(key)
        with key_lock(self, key):
            try:
                current = _version(os.stat(path))
            except (FileNotFoundError, NotADirectoryError):
                current = None
            except OSError as e:
                raise StoreError(str(e), key=key, operation="set_if") from e
            check_version(key, current, if_match, "set_if")
            try:
                return self._write_atomic(path, value, _fd_version)
            except OSError as e:
                raise StoreError(str(e), key=key, operation="set_if") from e

    def _read(self, key: str, operation: str, read: Callable[[int], T]) -> T | None:
        """``read(fd)`` on the open file of ``key``; ``None`` when there is no such file."""
        try:
            fd = os.open(self._file(key), _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise StoreError(str(e), key=key, operation=operation) from e
        try:
            return read(fd)
        except IsADirectoryError:
            return None
        except StoreError:  # a ConflictError, already naming the key
            raise
        except OSError as e:
            raise StoreError(str(e), key=key, operation=operation) from e
        finally:
            os.close(fd)

    def _set(self, key: str, value: Blob) -> None:
        path = self._file(key)
        try:
            self._write_atomic(path, value, _no_version)
        except OSError as e:
            raise StoreError(str(e), key=key, operation="set") from e

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        """Batches of :data:`_NATIVE_WRITES` distinct keys and more go to the compiled loop
        (:mod:`zarrkit.storage.native`), where it was built and writes need no ``fsync``;
        those it did not write (a directory to make, a temporary name taken, an error) are
        written again one by one, which makes what is missing or names what is wrong."""
        if native.WRITER is None or self.durable or len(items) < _NATIVE_WRITES:
            return super()._set_many(items)
        paths = [self._file(key) for key, _ in items]
        if len(set(paths)) < len(paths):  # a key twice: in order, so that its last value stays
            return super()._set_many(items)
        temps = [_temp_name(os.path.dirname(path)) for path in paths]
        failed = native.write_files(temps, paths, [value for _, value in items])
        for n, i in enumerate(failed):
            try:
                self._set(*items[i])
            except StoreError as e:
                if n == 0 and len(failed) == len(items):
                    raise  # nothing was written
                raise partial_write(e, [items[j][0] for j in failed[n:]]) from e

    @property
    def writes_encoded(self) -> bool:
        return native.WRITER is not None and not self.durable

    def set_encoded(self, keys: Sequence[str], memory: ChunkMemory, encoder: Encoder) -> list[int]:
        """Each chunk copied out, encoded and written to a new file renamed over its key's
        file in one compiled loop (:func:`~zarrkit.storage.native.encode_files`), where it
        was built and writes need no ``fsync``. Directories missing are made, and their
        chunks written again; the indices of those not written (an encoder's failure,
        another error) are returned, for the caller's checked path to write or report."""
        if not self.writes_encoded:
            return list(range(len(keys)))
        self._check_writable()
        validate_keys(keys)
        paths = [self._file(key) for key in keys]
        temps = [_temp_name(os.path.dirname(path)) for path in paths]
        failed = native.encode_files(temps, paths, memory, encoder)
        missing = [i for i, error in failed if error == errno.ENOENT]
        if missing:
            for directory in dict.fromkeys(os.path.dirname(paths[i]) for i in missing):
                self._make_dirs(directory)
            starts = [memory.starts[i] for i in missing]
            again = native.encode_files(
                [temps[i] for i in missing],
                [paths[i] for i in missing],
                dataclasses.replace(memory, starts=starts),
                encoder,
            )
            failed = [f for f in failed if f[1] != errno.ENOENT]
            failed += [(missing[j], error) for j, error in again]
        return sorted(i for i, _ in failed)

    def _write_atomic(self, path: str, value: Blob, version_of: Callable[[int], T]) -> T:
        """Write ``value`` to a new file renamed over ``path``; returns ``version_of`` its
        descriptor (plain writes ask for no version: an ``fstat`` less a chunk)."""
        directory = os.path.dirname(path)
        fd, tmp = self._create_temp(directory)
        try:
            try:
                _write_all(fd, value)
                if self.durable:
                    os.fsync(fd)
                version = version_of(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if self.durable:
            _fsync_dir(directory)
        return version

    def _create_temp(self, directory: str) -> tuple[int, str]:
        """A new temporary file in ``directory`` (made if missing, again if a concurrent
        delete prunes it), created with the permissions of a normal file."""
        while True:
            tmp = _temp_name(directory)
            try:
                return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
            except FileExistsError:
                continue
            except FileNotFoundError:
                self._make_dirs(directory)

    def _make_dirs(self, directory: str) -> None:
        """Make ``directory`` and its missing parents, the store's root and the folders
        above it included (as zarr-python does for a path that does not exist yet)."""
        missing = []
        while not os.path.isdir(directory) and directory != os.path.dirname(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for created in reversed(missing):
            try:
                os.mkdir(created)
            except FileExistsError:
                continue
            if self.durable:
                _fsync_dir(os.path.dirname(created))

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
            if self.durable:
                _fsync_dir(path.parent)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as e:
            raise StoreError(str(e), key=key, operation="delete") from e
        self._prune_empty_dirs(path.parent)

    def _prune_empty_dirs(self, directory: Path) -> None:
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.startswith(_INTERNAL):
                    continue
                yield name if rel == "." else f"{rel}/{name}"


#: The first read of a file in a batch: a larger one costs a memory map per read.
_FIRST_READ = 1 << 16

#: Batches of at least this many keys are read by the compiled loop where it was built
#: (a call of it costs what reading a few small files in Python does).
_NATIVE_BATCH = 16


#: Batches of at least this many values are written by the compiled loop: in W2b's
#: rewrite (256 chunks of 512 KiB) the write workers store 8 at a time.
_NATIVE_WRITES = 4


def _native_batch(keys: Sequence[str]) -> bool:
    """Whether the compiled loop reads ``keys``: where it was built, for batches of at
    least :data:`_NATIVE_BATCH` keys, none of them a name of the store's own (which
    :meth:`LocalStore._file` refuses, naming the key)."""
    if native.LIB is None or len(keys) < _NATIVE_BATCH or os.sep != "/":
        return False
    return not any(_INTERNAL in key for key in keys)


#: What a read of a missing key fails with: none, a file on the path, a directory.
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR})


def _read_fd(fd: int, request: ByteRequest | None, st: os.stat_result) -> tuple[bytes, int]:
    """The bytes ``request`` names of the open file ``fd`` (positioned reads) and the offset
    they start at; ``st`` is the file's ``fstat``."""
    part = slice_for(request, st.st_size)
    start, end = part.start, part.stop
    data = os.pread(fd, end - start, start)
    if len(data) == end - start:
        return data, part.start
    parts = [data]  # a short read: the kernel caps one read, keep going
    start += len(data)
    while start < end:
        more = os.pread(fd, end - start, start)
        if not more:
            break
        parts.append(more)
        start += len(more)
    return b"".join(parts), part.start


def _fd_version(fd: int) -> Version:
    return _version(os.fstat(fd))


def _no_version(fd: int) -> None:
    return None


def _version(st: os.stat_result) -> Version:
    return f"{st.st_dev:x}-{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _segments(key: str) -> list[str]:
    segments = key.split("/")
    for segment in segments:
        if segment.startswith(_INTERNAL):
            raise InvalidKeyError(
                f"store key {key!r}: names starting with {_INTERNAL!r} are reserved for "
                "LocalStore's temporary and lock files"
            )
    return segments


def _write_all(fd: int, value: Blob) -> None:
    view = memoryview(value).cast("B")
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: str | Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(directory: str) -> str:
    """A new temporary file name in ``directory``, to be created with ``O_EXCL`` (which
    makes it safe): the process id and a counter make it new without asking the system for
    random bytes."""
    return f"{directory}{os.sep}{_TEMP_MARK}{_temp_names.prefix}{next(_temp_names.count)}"


class _TempNames:
    """Temporary file names: this process's id (renewed in a forked child), then a count."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix = f"{os.getpid()}-"
        self.count = itertools.count()


_temp_names = _TempNames()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_temp_names.renew)


def _rebuild(root: str, read_only: bool, durable: bool) -> LocalStore:
    return LocalStore(root, read_only=read_only, durable=durable)
