"""ZipStore: a whole store in one ZIP archive, compatible with zarr-python's ZipStore.

A ZIP file cannot replace or remove a member in place, and appending a second member of
the same name leaves duplicates. So writes are staged and the archive is rewritten whole:

- ``set`` writes the value to a staging directory next to the archive
  (``.NAME.zip.staging-XXXX/``, one file per key, written atomically); ``delete`` records
  the key as removed. Reads see staged values and deletions at once.
- ``flush()`` and ``close()`` write a fresh archive to a temporary file in the same
  directory (unchanged members copied, staged ones added, deleted ones left out), fsync it
  and rename it over the old one, so the archive on disk is always the old one or the new
  one, never torn, and never has duplicate members. Then the staging directory is removed.
- A writer that is garbage-collected or still open at interpreter exit is flushed then,
  with a ``ResourceWarning``. If the process dies before that, the archive on disk is the
  last flushed one and the values written since are still in the staging directory as
  plain files (a :class:`~zarrkit.storage.local.LocalStore` layout); deletions since the
  last flush are lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import warnings
import weakref
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self

from zarrkit.errors import InvalidKeyError, StoreError
from zarrkit.keys import validate_key
from zarrkit.storage.base import Store, slice_for
from zarrkit.storage.local import LocalStore, _fsync_dir, _temp_name
from zarrkit.types import Blob, ByteRequest

ZipMode = Literal["r", "w", "a", "x"]
_COPY_CHUNK = 2**20


class _Archive:
    """The state behind one open ZipStore, shared with its read-only handles."""

    def __init__(
        self, path: Path, mode: ZipMode, compression: int, allow_zip64: bool, durable: bool
    ) -> None:
        self.path = path
        self.compression = compression
        self.allow_zip64 = allow_zip64
        self.lock = threading.RLock()
        self.reader: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.others: dict[str, zipfile.ZipInfo] = {}
        self.deleted: set[str] = set()
        self.staging: LocalStore | None = None
        self.durable = durable
        self.closed = False
        self.dirty = mode in ("w", "x")
        if mode == "x" and path.exists():
            raise StoreError(
                f"zip archive {str(path)!r} already exists (mode 'x')", operation="open"
            )
        if mode == "r" or (mode == "a" and path.exists()):
            self._open_reader()

    def _open_reader(self) -> None:
        try:
            self.reader = zipfile.ZipFile(self.path, "r", allowZip64=self.allow_zip64)
        except (OSError, zipfile.BadZipFile) as e:
            raise StoreError(
                f"cannot open zip archive {str(self.path)!r}: {e}", operation="open"
            ) from e
        self.members = {}
        self.others = {}
        for info in self.reader.infolist():
            # Later members of a duplicated name win, as in zipfile; names that are not
            # valid keys (directories, '../x', absolute) are kept but never exposed.
            (self.members if _is_key(info.filename) else self.others)[info.filename] = info

    def check_open(self, operation: str, key: str | None = None) -> None:
        if self.closed:
            raise StoreError(
                f"zip archive {str(self.path)!r} is closed", key=key, operation=operation
            )

    def get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        with self.lock:
            self.check_open("get", key)
            if key in self.deleted:
                return None
            if self.staging is not None:
                value = self.staging.get(key, byte_range)
                if value is not None:
                    return value
            info = self.members.get(key)
            if info is None or self.reader is None:
                return None
            return self._read_member(info, byte_range)

    def _read_member(self, info: zipfile.ZipInfo, byte_range: ByteRequest | None) -> bytes:
        part = slice_for(byte_range, info.file_size)
        try:
            with self.reader.open(info) as f:  # type: ignore[union-attr]
                f.seek(part.start)
                return f.read(part.stop - part.start)
        except (OSError, zipfile.BadZipFile) as e:
            raise StoreError(str(e), key=info.filename, operation="get") from e

    def set(self, key: str, value: Blob) -> None:
        with self.lock:
            self.check_open("set", key)
            if self.staging is None:
                parent = self.path.parent
                parent.mkdir(parents=True, exist_ok=True)
                stage = tempfile.mkdtemp(prefix=f".{self.path.name}.staging-", dir=parent)
                self.staging = LocalStore(stage, durable=self.durable)
            self.staging.set(key, value)
            self.deleted.discard(key)
            self.dirty = True

    def delete(self, key: str) -> None:
        with self.lock:
            self.check_open("delete", key)
            if self.staging is not None:
                self.staging.delete(key)
            if key in self.members:
                self.deleted.add(key)
                self.dirty = True

    def keys(self, prefix: str) -> list[str]:
        with self.lock:
            self.check_open("list", prefix)
            keys = {k for k in self.members if k.startswith(prefix)} - self.deleted
            if self.staging is not None:
                keys.update(self.staging.list_prefix(prefix))
            return sorted(keys)

    def flush(self) -> None:
        with self.lock:
            self.check_open("flush")
            if not self.dirty:
                return
            try:
                self._rewrite()
            except (OSError, zipfile.BadZipFile) as e:
                raise StoreError(
                    f"rewriting {str(self.path)!r} failed: {e}", operation="flush"
                ) from e
            self._open_reader()
            self.deleted.clear()
            if self.staging is not None:
                shutil.rmtree(self.staging.root, ignore_errors=True)
                self.staging = None
            self.dirty = False

    def _rewrite(self) -> None:
        staged = set(self.staging.list()) if self.staging is not None else set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_name(str(self.path.parent))
        # a normal file's mode (0666 less the umask), not mkstemp's 0600; a rewrite keeps
        # the archive's own
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            with os.fdopen(fd, "wb") as raw:
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(raw.fileno(), stat.S_IMODE(os.stat(self.path).st_mode))
                with zipfile.ZipFile(raw, "w", self.compression, self.allow_zip64) as out:
                    for name, info in (self.others | self.members).items():
                        if name not in self.deleted and name not in staged:
                            self._copy_member(info, out)
                    for key in sorted(staged):
                        source = self.staging.root.joinpath(*key.split("/"))  # type: ignore[union-attr]
                        out.write(source, arcname=key)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _copy_member(self, info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
        copy = zipfile.ZipInfo(info.filename, info.date_time)
        copy.compress_type = info.compress_type
        copy.external_attr = info.external_attr
        copy.file_size = info.file_size
        with self.reader.open(info) as src, out.open(copy, "w") as dst:  # type: ignore[union-attr]
            shutil.copyfileobj(src, dst, _COPY_CHUNK)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.flush()
            if self.reader is not None:
                self.reader.close()
            self.closed = True

    def close_abandoned(self) -> None:
        # Write first: under ``-W error`` the warning raises, and the values must not be lost.
        pending = self.dirty and not self.closed
        self.close()
        if pending:
            warnings.warn(
                f"ZipStore {str(self.path)!r} was not closed; its pending changes were written",
                ResourceWarning,
                stacklevel=1,
            )


def _is_key(name: str) -> bool:
    try:
        validate_key(name)
    except InvalidKeyError:
        return False
    return True


class ZipStore(Store):
    """A store in one ZIP archive (read, write, append), readable by zarr-python and back.

    Parameters
    ----------
    path
        The ``.zip`` file.
    mode
        ``"r"`` read an existing archive; ``"w"`` start a new one (replacing any old one on
        close); ``"a"`` read and update an existing archive or start one; ``"x"`` start a
        new one, failing if the file exists.
    read_only
        Defaults to ``mode == "r"``. Mode ``"r"`` with ``read_only=False`` opens an existing
        archive and writes changes as mode ``"a"`` does.
    compression
        For new members: ``zipfile.ZIP_STORED`` (default: chunks are compressed already,
        and stored members allow cheap byte-range reads), ``ZIP_DEFLATED``, ...
    allowZip64
        Allow archives and members over 2 GiB (default).
    durable
        Fsync each staged value (the rewritten archive is always fsynced).

    Notes
    -----
    Writes are staged next to the archive and the archive is rewritten on ``flush()`` and
    ``close()`` (see the module docstring). Use it as a context manager, or call
    ``close()``: an unclosed writer is flushed when garbage-collected or at interpreter exit
    with a ``ResourceWarning``, and after a crash the unflushed values remain in the staging
    directory. After ``close()`` every operation raises :class:`~zarrkit.errors.StoreError`.
    Pickling flushes pending changes first; never write one archive through two handles, since
    each rewrite replaces the whole file.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "data.zip")
    >>> with ZipStore(path, mode="w") as store:
    ...     store.set("zarr.json", b"{}")
    >>> ZipStore(path).get("zarr.json")
    b'{}'
    """

    _owner: ZipStore | None = None

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: ZipMode = "r",
        read_only: bool | None = None,
        compression: int = zipfile.ZIP_STORED,
        allowZip64: bool = True,
        durable: bool = False,
    ) -> None:
        if mode not in ("r", "w", "a", "x"):
            raise ValueError(f"ZipStore mode must be 'r', 'w', 'a' or 'x', got {mode!r}")
        read_only = mode == "r" if read_only is None else read_only
        if mode in ("w", "x") and read_only:
            raise ValueError(f"ZipStore mode {mode!r} creates an archive; it cannot be read-only")
        super().__init__(read_only=read_only)
        self.path = Path(path).expanduser().absolute()
        self.mode = mode
        self.compression = compression
        self.allowZip64 = allowZip64
        self._archive = _Archive(self.path, mode, compression, allowZip64, durable)
        self._finalizer = weakref.finalize(self, self._archive.close_abandoned)

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **options: Any) -> ZipStore:
        """Open ``zip://path.zip`` (mode ``"r"`` when read-only, else ``"a"``)."""
        mode = options.pop("mode", "r" if read_only else "a")
        return cls(url.split("://", 1)[1], mode=mode, read_only=read_only, **options)

    def __repr__(self) -> str:
        return f"ZipStore({str(self.path)!r}, mode={self.mode!r}, read_only={self.read_only})"

    def __str__(self) -> str:
        return f"zip://{self.path}"

    def __eq__(self, other: object) -> bool:
        """Handles on the same archive are equal (as in zarr-python)."""
        return isinstance(other, ZipStore) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __reduce__(self) -> tuple[object, ...]:
        if self._archive.dirty:
            self.flush()
        mode = "r" if self.read_only else "a"
        return (
            _reopen,
            (type(self), str(self.path), mode, self.read_only, self.compression, self.allowZip64),
        )

    def with_read_only(self, read_only: bool = False) -> Self:
        clone = super().with_read_only(read_only)
        clone._owner = self  # keeps the finalizer of the owning handle from firing early
        return clone

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        return self._archive.get(key, byte_range)

    def _set(self, key: str, value: Blob) -> None:
        self._archive.set(key, value)

    def _delete(self, key: str) -> None:
        self._archive.delete(key)

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        return iter(self._archive.keys(prefix))

    def flush(self) -> None:
        """Write pending changes into a fresh archive now."""
        self._archive.flush()

    def close(self) -> None:
        """Flush pending changes and close the archive; the store is unusable afterwards."""
        self._finalizer.detach()
        self._archive.close()


def _reopen(
    cls: type[ZipStore],
    path: str,
    mode: ZipMode,
    read_only: bool,
    compression: int,
    allow_zip64: bool,
) -> ZipStore:
    return cls(
        path, mode=mode, read_only=read_only, compression=compression, allowZip64=allow_zip64
    )
