"""FsspecStore: any fsspec file system as a store (``pip install 'zarrkit[fsspec]'``).

zarr-python's ``FsspecStore``, with its constructors: ``FsspecStore(fs, path=...)``,
``FsspecStore.from_url(url, storage_options=...)``, ``from_mapper`` and ``from_upath``.
Keys are files under ``path``. Batches use fsspec's own: ``cat`` for many keys and
``cat_ranges`` for the ranges of one, which asynchronous file systems (s3fs, gcsfs ...)
send concurrently. A file system made with ``asynchronous=True`` is driven through its
coroutines on fsspec's I/O loop; any other through its synchronous methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self

import fsspec
from fsspec.asyn import get_loop, sync

from zarrkit.errors import StoreError
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ByteRequest, OffsetRequest, RangeRequest

#: Exceptions that mean a key is missing, as zarr-python's FsspecStore takes them.
MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


class FsspecStore(Store):
    """The files under ``path`` of the fsspec file system ``fs``.

    Examples
    --------
    >>> import fsspec
    >>> store = FsspecStore(fsspec.filesystem("memory"), path="/doc-example")
    >>> store.set("a/b", b"xyz")
    >>> store.get("a/b"), list(store.list())
    (b'xyz', ['a/b'])
    """

    def __init__(
        self,
        fs: Any,
        read_only: bool = False,
        path: str = "/",
        allowed_exceptions: tuple[type[Exception], ...] = MISSING,
    ) -> None:
        super().__init__(read_only=read_only)
        self.fs = fs
        self.path = path.rstrip("/")
        self.allowed_exceptions = allowed_exceptions

    @classmethod
    def from_url(
        cls,
        url: str,
        storage_options: dict[str, Any] | None = None,
        read_only: bool = False,
        allowed_exceptions: tuple[type[Exception], ...] = MISSING,
    ) -> Self:
        """The store at ``url`` (``s3://bucket/prefix``, ``memory://x``, ``file:///tmp/x``
        ...), its file system made with ``storage_options``."""
        fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        return cls(fs, read_only=read_only, path=path, allowed_exceptions=allowed_exceptions)

    @classmethod
    def from_mapper(
        cls,
        fs_map: Any,
        read_only: bool = False,
        allowed_exceptions: tuple[type[Exception], ...] = MISSING,
    ) -> Self:
        """The store of an fsspec mapper (``fsspec.get_mapper(url)``)."""
        return cls(
            fs_map.fs, read_only=read_only, path=fs_map.root, allowed_exceptions=allowed_exceptions
        )

    @classmethod
    def from_upath(
        cls,
        upath: Any,
        read_only: bool = False,
        allowed_exceptions: tuple[type[Exception], ...] = MISSING,
    ) -> Self:
        """The store of a ``universal_pathlib`` path."""
        return cls(
            upath.fs, read_only=read_only, path=upath.path, allowed_exceptions=allowed_exceptions
        )

    def __repr__(self) -> str:
        return f"<FsspecStore({type(self.fs).__name__}, {self.path or '/'})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FsspecStore) and (other.fs, other.path) == (self.fs, self.path)

    def __hash__(self) -> int:
        return hash((self.fs, self.path))

    @property
    def native_concurrency(self) -> bool:
        return bool(getattr(self.fs, "async_impl", False))

    # --- calling the file system ----------------------------------------------------------
    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``fs.<method>(...)``, through its coroutine when the file system is asynchronous."""
        if getattr(self.fs, "asynchronous", False):
            return sync(get_loop(), getattr(self.fs, f"_{method}"), *args, **kwargs)
        return getattr(self.fs, method)(*args, **kwargs)

    def _file(self, key: str) -> str:
        return f"{self.path}/{key}"

    def _failed(self, error: BaseException, key: str, operation: str) -> StoreError:
        return StoreError(f"{type(error).__name__}: {error}", key=key, operation=operation)

    # --- primitives -----------------------------------------------------------------------
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        start, end = _bounds(byte_range)
        if start is not None and start == end:  # an empty range: only whether the key exists
            return b"" if self._getsize(key) is not None else None
        try:
            data: bytes = self._call("cat_file", self._file(key), start=start, end=end)
        except self.allowed_exceptions:
            return None
        except Exception as e:
            if self._past_end(key, start):
                return b""
            raise self._failed(e, key, "get") from e
        return data

    def _past_end(self, key: str, start: int | None) -> bool:
        """Whether a range starting at ``start`` begins past the end of the value (object
        stores refuse such ranges; a store returns no bytes for them)."""
        size = self._getsize(key) if start is not None and start > 0 else None
        return size is not None and start is not None and start >= size

    def _get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        files = [self._file(key) for key in keys]
        try:
            found = self._call("cat", files, on_error="return") if files else {}
        except Exception as e:
            raise self._failed(e, keys[0], "get_many") from e
        return [self._value(found.get(file), key) for file, key in zip(files, keys, strict=True)]

    def _value(self, result: Any, key: str) -> bytes | None:
        """One result of a batch: bytes, or an exception meaning missing or failure."""
        if isinstance(result, self.allowed_exceptions):
            return None
        if isinstance(result, BaseException):
            raise self._failed(result, key, "get_many")
        return result if result is None else bytes(result)

    def _get_ranges(self, key: str, ranges: Sequence[ByteRequest]) -> list[bytes] | None:
        bounds = [_bounds(request) for request in ranges]
        if any(start is not None and start == end for start, end in bounds):
            return super()._get_ranges(key, ranges)  # empty ranges: one whole read
        file = self._file(key)
        try:
            results = self._call(
                "cat_ranges",
                [file] * len(ranges),
                [start for start, _ in bounds],
                [end for _, end in bounds],
                on_error="return",
            )
        except self.allowed_exceptions:
            return None
        except Exception as e:
            raise self._failed(e, key, "get_ranges") from e
        values = [
            b"" if isinstance(result, Exception) and self._past_end(key, start) else result
            for result, (start, _) in zip(results, bounds, strict=True)
        ]
        found = [self._value(value, key) for value in values]
        if any(value is None for value in found):
            return None
        return found  # type: ignore[return-value]

    def _getsize(self, key: str) -> int | None:
        try:
            size: int = self._call("size", self._file(key))
        except self.allowed_exceptions:
            return None
        except Exception as e:
            raise self._failed(e, key, "getsize") from e
        return size

    def _set(self, key: str, value: Blob) -> None:
        self._set_many([(key, value)])

    def _set_many(self, items: Sequence[tuple[str, Blob]]) -> None:
        files = {self._file(key): bytes(value) for key, value in items}
        try:
            try:
                self._call("pipe", files)
            except FileNotFoundError:  # local-like file systems need the folders first
                for parent in {file.rsplit("/", 1)[0] for file in files}:
                    self._call("makedirs", parent, exist_ok=True)
                self._call("pipe", files)
        except Exception as e:
            raise self._failed(e, items[0][0], "set") from e

    def _delete(self, key: str) -> None:
        self._delete_many([key])

    def _delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                self._call("rm_file", self._file(key))
            except self.allowed_exceptions:
                continue
            except Exception as e:
                raise self._failed(e, key, "delete") from e

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        root = self.path.lstrip("/")
        start = len(root) + 1 if root else 0
        base = self._file(prefix.rstrip("/")) if prefix else self.path or "/"
        try:
            found = self._call("find", base, withdirs=False)
        except self.allowed_exceptions:
            return iter(())
        except Exception as e:
            raise self._failed(e, prefix, "list") from e
        keys = (path.lstrip("/")[start:] for path in found)
        return iter(sorted(key for key in keys if key.startswith(prefix)))


def _bounds(request: ByteRequest | None) -> tuple[int | None, int | None]:
    """fsspec's ``start``/``end`` of a request (a negative start counts from the end)."""
    if request is None:
        return None, None
    if isinstance(request, RangeRequest):
        return request.start, request.end
    if isinstance(request, OffsetRequest):
        return request.offset, None
    return (-request.suffix, None) if request.suffix else (0, 0)
