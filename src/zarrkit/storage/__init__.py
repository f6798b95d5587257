"""Stores: keys and bytes only, chosen by URL scheme from a registry users can extend."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zarrkit.keys import validate_key
from zarrkit.registry import register_store, stores
from zarrkit.storage.base import Store
from zarrkit.storage.cache import CacheStore
from zarrkit.storage.local import LocalStore
from zarrkit.storage.memory import BytesBuffer, MemoryStore
from zarrkit.storage.path import StorePath
from zarrkit.storage.wrappers import (
    FaultInjectionStore,
    LatencyStore,
    LoggingStore,
    PrefixStore,
    ReadOnlyStore,
    WrapperStore,
)
from zarrkit.types import ByteRequest, OffsetRequest, RangeRequest, SuffixRequest

StoreLike = Store | StorePath | str | os.PathLike[str] | MutableMapping[str, bytes]


def _open_file(url: str, *, read_only: bool = False, **options: Any) -> Store:
    return LocalStore(urlsplit(url).path, read_only=read_only, **options)


_memory_stores: dict[str, MemoryStore] = {}


def _open_memory(url: str, *, read_only: bool = False, **options: Any) -> Store:
    """``memory://name`` names one process-wide MemoryStore; ``memory://`` a new one."""
    name = url.split("://", 1)[1]
    if not name:
        return MemoryStore(read_only=read_only)
    store = _memory_stores.setdefault(name, MemoryStore())
    return store.with_read_only(read_only)


#: Backends with optional dependencies: class (or opener) name -> (module, pip extra or None).
_BACKENDS: dict[str, tuple[str, str | None]] = {
    "ZipStore": ("zip", None),
    "SQLiteStore": ("sqlite", None),
    "LMDBStore": ("lmdb", "db"),
    "RedisStore": ("redis", "db"),
    "PostgresStore": ("postgres", "db"),
    "ObjectStore": ("object", "s3"),
    "FsspecStore": ("fsspec_store", "fsspec"),
    "ReferenceStore": ("references", None),
    "ZarrPythonStore": ("adapter", None),
    "open_icechunk": ("icechunk", None),
}


def _backend(name: str) -> Any:
    """Import the backend class ``name``, saying which extra to install when it cannot."""
    module, extra = _BACKENDS[name]
    try:
        return getattr(importlib.import_module(f"zarrkit.storage.{module}"), name)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.startswith("zarrkit"):
            raise
        hint = f": pip install 'zarrkit[{extra}]'" if extra else ""
        raise ImportError(f"{name} needs the {e.name!r} package{hint}", name=e.name) from e


class _LazyFactory:
    """Opens a scheme's URLs with a backend imported on first use."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def __call__(self, url: str, *, read_only: bool = False, **options: Any) -> Store:
        store: Store = _backend(self.backend).from_url(url, read_only=read_only, **options)
        return store

    def __repr__(self) -> str:
        return f"<{self.backend}.from_url>"


def _open_icechunk(url: str, *, read_only: bool = False, **options: Any) -> Store:
    """``icechunk://`` URLs: a read-only version of an Icechunk repository."""
    store: Store = _backend("open_icechunk")(url, read_only=read_only, **options)
    return store


stores.register_builtin("file", _open_file)
stores.register_builtin("memory", _open_memory)
for _scheme in ("icechunk", "icechunk+s3", "icechunk+gs"):
    stores.register_builtin(_scheme, _open_icechunk)
for _scheme, _name in [
    ("zip", "ZipStore"),
    ("sqlite", "SQLiteStore"),
    ("lmdb", "LMDBStore"),
    ("redis", "RedisStore"),
    ("postgresql", "PostgresStore"),
    ("postgres", "PostgresStore"),
    ("s3", "ObjectStore"),
    ("s3a", "ObjectStore"),
    ("gs", "ObjectStore"),
    ("gcs", "ObjectStore"),
    ("az", "ObjectStore"),
    ("azure", "ObjectStore"),
    ("abfs", "ObjectStore"),
    ("abfss", "ObjectStore"),
    ("http", "ObjectStore"),
    ("https", "ObjectStore"),
    ("reference", "ReferenceStore"),
]:
    stores.register_builtin(_scheme, _LazyFactory(_name))


def __getattr__(name: str) -> Any:
    if name in _BACKENDS:
        return _backend(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_zarr_python_store(store: object) -> bool:
    """Whether ``store`` is a zarr-python 3 store (without importing zarr-python)."""
    module = sys.modules.get("zarr.abc.store")
    return module is not None and isinstance(store, module.Store)


def make_store(
    store: StoreLike | None,
    *,
    read_only: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> Store:
    """Turn a path, URL, dict, store or :class:`StorePath` into a :class:`Store` (``None``
    or a dict gives a MemoryStore; a dict is used as its backing mapping; a StorePath gives
    the keys of its store under its path).

    A zarr-python 3 store object (an Icechunk session's ``store`` ...) is wrapped in a
    :class:`~zarrkit.storage.adapter.ZarrPythonStore`.

    Examples
    --------
    >>> make_store("memory://")
    MemoryStore(<0 keys>, read_only=False)
    """
    if isinstance(store, StorePath):
        inner = store.store if not store.path else PrefixStore(store.store, store.path)
        return make_store(inner, read_only=read_only)
    if isinstance(store, Store):
        return store.with_read_only(True) if read_only and not store.read_only else store
    if is_zarr_python_store(store):
        adapted: Store = _backend("ZarrPythonStore")(store, read_only=read_only)
        return adapted
    if store is None:
        return MemoryStore(read_only=read_only)
    if isinstance(store, MutableMapping) and hasattr(store, "fs"):  # an fsspec mapper
        mapped: Store = _backend("FsspecStore").from_mapper(store, read_only=read_only)
        return mapped
    if isinstance(store, MutableMapping):  # zarr-python takes a dict as a memory store
        return MemoryStore(store, read_only=read_only)
    text = os.fspath(store)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        opened: Store = stores.get(scheme)(text, read_only=read_only, **(storage_options or {}))
        return opened
    return LocalStore(Path(text), read_only=read_only, **(storage_options or {}))


__all__ = [
    "ByteRequest",
    "BytesBuffer",
    "CacheStore",
    "FaultInjectionStore",
    "FsspecStore",
    "LatencyStore",
    "LocalStore",
    "LoggingStore",
    "MemoryStore",
    "OffsetRequest",
    "PrefixStore",
    "RangeRequest",
    "ReadOnlyStore",
    "ReferenceStore",
    "SQLiteStore",
    "Store",
    "StoreLike",
    "StorePath",
    "SuffixRequest",
    "is_zarr_python_store",
    "make_store",
    "register_store",
    "stores",
    "WrapperStore",
    "ZipStore",
    "validate_key",
]
