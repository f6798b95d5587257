"""``AsyncArray`` and ``AsyncGroup``: arrays and groups for asyncio code, with zarr-python's
names (``await arr.getitem(sel)``, ``async for name, node in group.members()``).

A thin layer: each wraps the synchronous object (``._sync``), reads its metadata from it,
and runs each call that does I/O in a worker thread (:func:`run`, the event loop's default
executor), so awaits on one loop overlap their I/O while the engine stays synchronous.
Exceptions propagate unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial, wraps
from typing import Any

from zarrkit.arrays import Array
from zarrkit.groups import Group


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


class _Same:
    """A property read from the synchronous object (metadata: no I/O)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, node: Any, owner: type | None = None) -> Any:
        return self if node is None else getattr(node._sync, self.name)


def _coroutine(method: Callable[..., Any]) -> Callable[..., Any]:
    """An async method running the synchronous ``method`` (same name and parameters)."""

    @wraps(method)
    async def call(self: _AsyncNode, *args: Any, **kwargs: Any) -> Any:
        return await run(getattr(self._sync, method.__name__), *args, **kwargs)

    return _unannotated(call, method)


def _unannotated(twin: Callable[..., Any], of: Callable[..., Any]) -> Callable[..., Any]:
    """``twin`` showing the parameters of ``of`` but not its (synchronous) return type."""
    twin.__signature__ = inspect.signature(of).replace(  # type: ignore[attr-defined]
        return_annotation=inspect.Signature.empty
    )
    return twin


class _AsyncNode:
    _sync: Any

    attrs = _Same()
    basename = _Same()
    metadata = _Same()
    name = _Same()
    path = _Same()
    read_only = _Same()
    store = _Same()
    zarr_format = _Same()

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

    cdata_shape = _Same()
    chunks = _Same()
    compressors = _Same()
    dtype = _Same()
    fill_value = _Same()
    filters = _Same()
    info = _Same()
    nbytes = _Same()
    nchunks = _Same()
    ndim = _Same()
    order = _Same()
    serializer = _Same()
    shape = _Same()
    shards = _Same()
    size = _Same()

    async def getitem(self, selection: Any, *, prototype: Any = None) -> Any:
        """``array[selection]``."""
        return await run(self._sync.__getitem__, selection)

    async def setitem(self, selection: Any, value: Any) -> None:
        """``array[selection] = value``."""
        await run(self._sync.__setitem__, selection, value)

    get_basic_selection = _coroutine(Array.get_basic_selection)
    get_orthogonal_selection = _coroutine(Array.get_orthogonal_selection)
    get_coordinate_selection = _coroutine(Array.get_coordinate_selection)
    get_mask_selection = _coroutine(Array.get_mask_selection)
    get_block_selection = _coroutine(Array.get_block_selection)
    resize = _coroutine(Array.resize)
    append = _coroutine(Array.append)
    update_attributes = _coroutine(Array.update_attributes)
    nbytes_stored = _coroutine(Array.nbytes_stored)
    info_complete = _coroutine(Array.info_complete)

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

    def __init__(self, group: Group) -> None:
        self._sync = group

    info = _Same()
    synchronizer = None  # zarr-python's attribute, always None there too

    getitem = _coroutine(Group.__getitem__)
    get = _coroutine(Group.get)
    contains = _coroutine(Group.__contains__)
    delitem = _coroutine(Group.__delitem__)
    create_array = _coroutine(Group.create_array)
    create_group = _coroutine(Group.create_group)
    require_array = _coroutine(Group.require_array)
    require_group = _coroutine(Group.require_group)
    update_attributes = _coroutine(Group.update_attributes)
    tree = _coroutine(Group.tree)

    async def members(self, max_depth: int | None = 0) -> AsyncIterator[tuple[str, Any]]:
        """``(name, node)`` of the members (see :meth:`Group.members`)."""
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


def lifted(function: Callable[..., Any]) -> Callable[..., Any]:
    """The coroutine function running ``function`` in a worker thread (its name, docs and
    signature kept)."""

    @wraps(function)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await run(function, *args, **kwargs)

    return _unannotated(call, function)


def lift_all(module: Any, names: Iterable[str]) -> dict[str, Callable[..., Any]]:
    """The coroutine twin of each function ``names`` of ``module``."""
    return {name: lifted(getattr(module, name)) for name in names}
