"""zarr-python's ``zarr.api.asynchronous``: every public function of
:mod:`zarrkit.api.synchronous` as a coroutine function of the same name and signature.

Each runs its synchronous twin in a worker thread (the event loop's default executor) and
returns arrays and groups as :class:`AsyncArray` / :class:`AsyncGroup`; no logic is
written twice and the engine has no event loop.

Examples
--------
>>> import asyncio
>>> async def main():
...     arr = await open_array({}, mode="w", shape=(3,), dtype="i1")
...     await arr.setitem(slice(None), 5)
...     return await arr.getitem(slice(None))
>>> asyncio.run(main())
array([5, 5, 5], dtype=int8)
"""

from __future__ import annotations

from zarrkit.api import __all__ as _SYNCHRONOUS
from zarrkit.api import synchronous
from zarrkit.api.async_nodes import AsyncArray, AsyncGroup, lift_all

globals().update(lift_all(synchronous, _SYNCHRONOUS))

__all__ = [*_SYNCHRONOUS, "AsyncArray", "AsyncGroup"]
