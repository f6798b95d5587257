"""Registries of named extensions (codecs, data types, chunk key encodings, grids, stores).

Built-ins are registered in one visible list in their package's ``__init__``; third-party
packages add theirs at runtime with ``register`` or through an entry-point group, which is
loaded lazily on the first lookup that misses.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from zarrkit.errors import MetadataError, UnknownCodecError, UnknownStoreError, ZarrkitError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects, with entry points as a fallback.

    Examples
    --------
    >>> r: Registry[int] = Registry("zarrkit.example", "example")
    >>> r.register("one", 1)
    >>> r.get("one")
    1
    """

    def __init__(
        self,
        group: str,
        kind: str,
        error: Callable[[str], ZarrkitError] | None = None,
    ) -> None:
        self.group = group
        self.kind = kind
        self._error = error
        self._items: dict[str, T] = {}
        self._entry_points_loaded = False

    def register(self, name: str, item: T) -> None:
        """Add ``item`` under ``name``, replacing any earlier one."""
        self._items[name] = item

    def register_builtin(self, name: str, item: T) -> None:
        """Add the built-in ``item`` under ``name``, unless a registration came first (a
        user's, made before the package listing the built-ins was imported, wins)."""
        self._items.setdefault(name, item)

    def unregister(self, name: str) -> None:
        """Remove ``name`` if present."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        """The item registered as ``name``; unknown names raise and list what exists."""
        if name not in self._items:
            self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            message = f"unknown {self.kind} {name!r}; available: {known}"
            if self._error is not None:
                raise self._error(message) from None
            raise KeyError(message) from None

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self._load_entry_points()
        return name in self._items

    def names(self) -> list[str]:
        """Every registered name, entry points included."""
        self._load_entry_points()
        return sorted(self._items)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            self._items.setdefault(ep.name, ep.load())


#: v3 codec name -> codec class (a subclass of :class:`zarrkit.codecs.ArrayArrayCodec`,
#: ``ArrayBytesCodec`` or ``BytesBytesCodec``); built-ins are listed in :mod:`zarrkit.codecs`.
codecs: Registry[type[Any]] = Registry("zarrkit.codecs", "codec", UnknownCodecError)

#: v3 chunk key encoding name -> ``factory(configuration, key=None)`` returning an object with
#: ``encode(coords) -> str`` and ``to_json() -> dict``; built-ins in
#: :mod:`zarrkit.metadata.chunk_key`.
chunk_key_encodings: Registry[Any] = Registry(
    "zarrkit.chunk_key_encodings", "chunk key encoding", MetadataError
)

#: URL scheme -> ``factory(url, read_only=..., **storage_options) -> Store``; built-ins are
#: listed in :mod:`zarrkit.storage`.
stores: Registry[Any] = Registry("zarrkit.stores", "store scheme", UnknownStoreError)


def register_codec(name: str, cls: type[Any]) -> None:
    """Make the v3 codec ``name`` encode and decode with ``cls`` (a subclass of
    :class:`zarrkit.codecs.ArrayArrayCodec`, ``ArrayBytesCodec`` or ``BytesBytesCodec``).

    Packages can instead declare an entry point in the ``zarrkit.codecs`` group.
    """
    codecs.register(name, cls)


def register_chunk_key_encoding(name: str, factory: Callable[..., Any]) -> None:
    """Make the v3 chunk key encoding ``name`` build with ``factory(configuration, key=None)``,
    which returns an object with ``encode(coords) -> str``, ``to_json() -> dict`` and, so
    that listing and checks find its chunks fast, ``decode(key, ndim) -> coords | None``
    (None for keys that are not its chunk keys; without it, keys are matched against every
    chunk's encoded key).

    Packages can instead declare an entry point in the ``zarrkit.chunk_key_encodings`` group.
    """
    chunk_key_encodings.register(name, factory)


def register_store(scheme: str, factory: Callable[..., Any]) -> None:
    """Make ``scheme://...`` URLs open with ``factory(url, read_only=..., **options)``.

    Packages can instead declare an entry point in the ``zarrkit.stores`` group.
    """
    stores.register(scheme, factory)
