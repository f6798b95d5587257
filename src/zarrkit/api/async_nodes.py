"""``AsyncArray`` and ``AsyncGroup``: arrays and groups for asyncio code, with zarr-python's
names (``await arr.getitem(sel)``, ``async for name, node in group.members()``).

A thin layer: each wraps the synchronous object (``._sync``), reads its metadata from it,
and runs each call that does I/O in a worker thread (:func:`run`, the event loop's default
executor), so awaits on one loop overlap their I/O while the engine stays synchronous.
Exceptions propagate unchanged. The members that only forward are made from the names in
the tables at the end, for each name the synchronous class has.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial, wraps
from typing import Any

from zarrkit.metadata.v2 import GroupMetadataV2
from zarrkit.metadata.v3 import GroupMetadataV3
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.groups import Group
from zarrkit.storage import StorePath


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a worker thread; arrays and groups it returns come
    back as :class:`AsyncArray` / :class:`AsyncGroup`."""
    return asynchronous(await asyncio.to_thread(partial(function, *args, **kwargs)))


def asynchronous(value: Any) -> Any:
    """The asynchronous twin of an array or group; anything else as is."""
    if isinstance(value, Array):
        return AsyncArray(value)
    if isinstance(value, Group):
        return AsyncGroup(value)
    return value


def lifted(function: Callable[..., Any]) -> Callable[..., Any]:
    """The coroutine function running ``function`` in a worker thread (its name, docs and
    parameters kept)."""

    @wraps(function)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await run(function, *args, **kwargs)

    return _unannotated(call, function)


def lift_all(module: Any, names: Iterable[str]) -> dict[str, Callable[..., Any]]:
    """The coroutine twin of each function ``names`` of ``module``."""
    return {name: lifted(getattr(module, name)) for name in names}


def _unannotated(twin: Callable[..., Any], of: Callable[..., Any]) -> Callable[..., Any]:
    """``twin`` showing the parameters of ``of`` but not its (synchronous) return type."""
    twin.__signature__ = inspect.signature(of).replace(  # type: ignore[attr-defined]
        return_annotation=inspect.Signature.empty
    )
    return twin


class _Same:
    """A property read from the synchronous object (metadata: no I/O)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, node: Any, owner: type | None = None) -> Any:
        return self if node is None else getattr(node._sync, self.name)


def _twin(method: Callable[..., Any]) -> Callable[..., Any]:
    """A method calling the synchronous ``method`` (no I/O) and returning async twins."""

    @wraps(method)
    def call(self: _AsyncNode, *args: Any, **kwargs: Any) -> Any:
        return asynchronous(getattr(self._sync, method.__name__)(*args, **kwargs))

    return _unannotated(call, method)


def _generator(method: Callable[..., Any]) -> Callable[..., Any]:
    """An async generator of what the synchronous ``method`` iterates, as async twins."""

    @wraps(method)
    async def call(self: _AsyncNode, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        items = await asyncio.to_thread(lambda: list(method(self._sync, *args, **kwargs)))
        for item in items:
            yield (
                asynchronous(item)
                if not isinstance(item, tuple)
                else (
                    *item[:-1],
                    asynchronous(item[-1]),
                )
            )

    return _unannotated(call, method)


def _coroutine(method: Callable[..., Any]) -> Callable[..., Any]:
    """An async method running the synchronous ``method`` (same name and parameters)."""

    @wraps(method)
    async def call(self: _AsyncNode, *args: Any, **kwargs: Any) -> Any:
        return await run(getattr(self._sync, method.__name__), *args, **kwargs)

    return _unannotated(call, method)


class _AsyncNode:
    _sync: Any

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._sync == self._sync

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._sync!r}>"


class AsyncArray(_AsyncNode):
    """An :class:`~zarrkit.Array` whose reads and writes are coroutines.

    Examples
    --------
    >>> import asyncio, zarrkit
    >>> arr = AsyncArray(zarrkit.zeros((4,), dtype="i2"))
    >>> asyncio.run(arr.setitem(slice(0, 2), 7))
    >>> asyncio.run(arr.getitem(slice(None)))
    array([7, 7, 0, 0], dtype=int16)
    """

    def __init__(self, array: Array) -> None:
        self._sync = array

    @classmethod
    def from_dict(cls, store_path: StorePath, data: dict[str, Any]) -> AsyncArray:
        """The array whose metadata is ``data`` (as ``metadata.to_dict()`` gives it) at
        ``store_path``; nothing is read or written."""
        return cls(Array.from_dict(store_path, data))

    async def getitem(self, selection: Any, *, prototype: Any = None) -> Any:
        """``array[selection]`` (``prototype``: zarr-python's, host memory only here)."""
        return await run(self._sync.__getitem__, selection)

    async def setitem(self, selection: Any, value: Any, prototype: Any = None) -> None:
        """``array[selection] = value``."""
        await run(self._sync.__setitem__, selection, value)

    async def resize(self, new_shape: Any, delete_outside_chunks: bool = True) -> AsyncArray:
        """Change the shape; chunks wholly outside it are deleted (zarr-python can keep
        them: zarrkit refuses ``delete_outside_chunks=False``, which would let stale data
        reappear when the array grows again)."""
        if not delete_outside_chunks:
            raise ValueError(
                "delete_outside_chunks=False is not supported: stale chunks could reappear"
            )
        await run(self._sync.resize, new_shape)
        return self

    async def nchunks_initialized(self) -> int:
        """How many chunks hold data (a coroutine: it lists the store)."""
        count: int = await run(getattr, self._sync, "nchunks_initialized")
        return count

    @property
    def oindex(self) -> AsyncIndexer:
        return AsyncIndexer(self._sync.oindex)

    @property
    def vindex(self) -> AsyncIndexer:
        return AsyncIndexer(self._sync.vindex)


class AsyncIndexer:
    """``await arr.oindex.getitem(sel)`` / ``await arr.vindex.setitem(sel, value)``."""

    def __init__(self, indexer: Any) -> None:
        self._sync = indexer

    async def getitem(self, selection: Any) -> Any:
        return await run(self._sync.__getitem__, selection)

    async def setitem(self, selection: Any, value: Any) -> None:
        await run(self._sync.__setitem__, selection, value)


class AsyncGroup(_AsyncNode):
    """A :class:`~zarrkit.Group` whose lookups and changes are coroutines and whose
    listings are async iterators.

    Examples
    --------
    >>> import asyncio, zarrkit
    >>> async def main():
    ...     root = AsyncGroup(zarrkit.group())
    ...     await root.create_array("a", shape=(2,), dtype="u1")
    ...     return [name async for name in root.array_keys()]
    >>> asyncio.run(main())
    ['a']
    """

    synchronizer = None  # zarr-python's attribute, always None there too

    def __init__(self, group: Group) -> None:
        self._sync = group

    @classmethod
    def from_dict(cls, store_path: StorePath, data: dict[str, Any]) -> AsyncGroup:
        """The group whose metadata is ``data`` (as ``metadata.to_dict()`` gives it) at
        ``store_path``; nothing is read or written."""
        meta = (GroupMetadataV3 if data.get("zarr_format") == 3 else GroupMetadataV2).from_dict(
            data
        )
        return cls(Group(store_path.store, store_path.path, meta))

    async def getitem(self, key: str) -> Any:
        return await run(self._sync.__getitem__, key)

    async def get(self, key: str, default: Any = None) -> Any:
        return await run(self._sync.get, key, default)

    async def contains(self, member: str) -> bool:
        found: bool = await run(self._sync.__contains__, member)
        return found

    async def delitem(self, key: str) -> None:
        await run(self._sync.__delitem__, key)

    async def members(
        self, max_depth: int | None = 0, *, use_consolidated_for_children: bool = True
    ) -> AsyncIterator[tuple[str, Any]]:
        """``(name, node)`` of the members (see :meth:`Group.members`); a group served
        from consolidated metadata serves its children from it too, whatever
        ``use_consolidated_for_children`` says."""
        for name, node in await run(self._sync.members, max_depth):
            yield name, asynchronous(node)

    async def nmembers(self, max_depth: int | None = 0) -> int:
        return len(await run(self._sync.members, max_depth))

    async def keys(self) -> AsyncIterator[str]:
        async for name, _ in self.members():
            yield name

    async def arrays(self) -> AsyncIterator[tuple[str, AsyncArray]]:
        async for name, node in self.members():
            if isinstance(node, AsyncArray):
                yield name, node

    async def groups(self) -> AsyncIterator[tuple[str, AsyncGroup]]:
        async for name, node in self.members():
            if isinstance(node, AsyncGroup):
                yield name, node

    async def array_keys(self) -> AsyncIterator[str]:
        async for name, _ in self.arrays():
            yield name

    async def group_keys(self) -> AsyncIterator[str]:
        async for name, _ in self.groups():
            yield name

    async def array_values(self) -> AsyncIterator[AsyncArray]:
        async for _, node in self.arrays():
            yield node

    async def group_values(self) -> AsyncIterator[AsyncGroup]:
        async for _, node in self.groups():
            yield node


_NODE_PROPERTIES = (
    *("attrs", "basename", "metadata", "name", "path", "read_only", "store", "store_path"),
    *("zarr_format", "info"),
)
_ARRAY_PROPERTIES = (
    *_NODE_PROPERTIES,
    *("cdata_shape", "chunks", "compressor", "compressors", "config", "dtype", "fill_value"),
    *("filters", "nbytes", "nchunks", "ndim", "order", "serializer", "shape", "shards", "size"),
)
_ARRAY_COROUTINES = (
    *("get_basic_selection", "get_orthogonal_selection", "get_coordinate_selection"),
    *("get_mask_selection", "get_block_selection", "append", "update_attributes"),
    *("nbytes_stored", "info_complete"),
)
_GROUP_COROUTINES = (
    *("create_array", "create_group", "require_array", "require_group", "require_groups"),
    *("create_dataset", "require_dataset", "update_attributes", "tree", "info_complete"),
    *("zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like"),
    *("move", "setitem"),
)
#: Classmethods that open or make a node (the synchronous class's, as coroutines).
_OPENERS = ("open", "create", "from_store")
#: Methods without I/O (their nodes returned as async twins), and listings.
_PLAIN = ("with_config",)
_GENERATORS = ("create_hierarchy",)


def _mirror(twin: type, sync: type, properties: Iterable[str], coroutines: Iterable[str]) -> None:
    """Give ``twin`` the ``properties``, coroutine methods and openers ``sync`` has."""
    for name in properties:
        if hasattr(sync, name):
            setattr(twin, name, _Same(name))
    made = ((coroutines, _coroutine), (_PLAIN, _twin), (_GENERATORS, _generator))
    for names, make in made:
        for name in names:
            method = getattr(sync, "__setitem__" if name == "setitem" else name, None)
            if method is not None:
                setattr(twin, name, _named(make(method), twin, name))
    for name in _OPENERS:
        if hasattr(sync, name):
            opener = _named(lifted(getattr(sync, name)), twin, name)
            setattr(twin, name, staticmethod(opener))


def _named(member: Callable[..., Any], owner: type, name: str) -> Callable[..., Any]:
    """``member`` named as ``owner``'s (tracebacks and "never awaited" warnings say so)."""
    member.__name__, member.__qualname__ = name, f"{owner.__name__}.{name}"
    return member


_mirror(AsyncArray, Array, _ARRAY_PROPERTIES, _ARRAY_COROUTINES)
_mirror(AsyncGroup, Group, _NODE_PROPERTIES, _GROUP_COROUTINES)
