"""StorePath: a store and a path in it, as zarr-python passes them around.

``StorePath(store, "group") / "array"`` names the node ``group/array`` of ``store``; it is
accepted wherever a store is (:func:`zarrkit.storage.make_store` serves it as the store's
keys under that path). Its I/O methods read and write the one key the path names,
synchronously (zarr-python's are coroutines).
"""

from __future__ import annotations

from typing import Any, Self

from zarrkit.keys import validate_key
from zarrkit.storage.base import Store
from zarrkit.types import Blob, ByteRequest

_MODES = ("r", "r+", "a", "w", "w-")


def join_path(root: str, path: str) -> str:
    """``root/path`` as a node path: no leading, trailing or doubled ``/``."""
    parts = [p for part in (root, path) for p in str(part).split("/") if p]
    return validate_key("/".join(parts)) if parts else ""


class StorePath:
    """A :class:`~zarrkit.storage.base.Store` and a path in it.

    Examples
    --------
    >>> from zarrkit.storage import MemoryStore
    >>> sp = StorePath(MemoryStore(), "a") / "b"
    >>> sp.path
    'a/b'
    >>> sp.set(b"value")
    >>> sp.store.get("a/b")
    b'value'
    """

    def __init__(self, store: Store, path: str = "") -> None:
        if not isinstance(store, Store):
            raise TypeError(f"StorePath needs a Store, got {type(store).__name__}")
        self.store = store
        self.path = join_path("", path)

    @classmethod
    def open(cls, store: Store, path: str, mode: str | None = None) -> Self:
        """A store path readied for ``mode``, as zarr-python's ``StorePath.open``: "r"
        makes it read-only, "w" empties it, "w-" refuses one that holds keys."""
        if mode is not None and mode not in _MODES:
            raise ValueError(f"invalid mode {mode!r}; expected one of {', '.join(_MODES)}")
        if store.read_only and mode not in (None, "r"):
            raise ValueError(f"store {store!r} is read-only, so mode {mode!r} is not possible")
        opened = cls(store.with_read_only(True) if mode == "r" else store, path)
        if mode == "w-" and not opened.is_empty():
            raise FileExistsError(f"cannot create {str(opened)!r} with mode 'w-': it holds data")
        if mode == "w":
            opened.delete_dir()
        return opened

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def get(self, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        """The value at the path (see :meth:`Store.get`)."""
        return self.store.get(self.path, byte_range, prototype=prototype)

    def get_sync(self, *, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        return self.get(prototype, byte_range)

    def set(self, value: Blob) -> None:
        self.store.set(self.path, value)

    set_sync = set

    def set_if_not_exists(self, default: Blob) -> None:
        self.store.set_if_not_exists(self.path, default)

    def delete(self) -> None:
        self.store.delete(self.path)

    delete_sync = delete

    def delete_dir(self) -> None:
        """Remove every key below the path."""
        self.store.delete_dir(self.path)

    def exists(self) -> bool:
        return self.store.exists(self.path)

    def is_empty(self) -> bool:
        """Whether no key lies below the path."""
        return self.store.is_empty(self.path)

    def __truediv__(self, other: str) -> StorePath:
        return StorePath(self.store, join_path(self.path, other))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StorePath) and self.store == other.store and self.path == other.path
        )

    def __hash__(self) -> int:
        return hash((self.store, self.path))

    def __str__(self) -> str:
        return f"{str(self.store).rstrip('/')}/{self.path}"

    def __repr__(self) -> str:
        return f"StorePath({type(self.store).__name__}, {str(self)!r})"
