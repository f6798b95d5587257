"""The asynchronous API: zarr-python's names, a thin layer over the synchronous engine whose
awaits overlap their I/O on one event loop."""

import asyncio
import inspect
import time

import numpy as np
import pytest

import zarrkit
from zarrkit import AsyncArray, AsyncGroup, api
from zarrkit.api import asynchronous
from zarrkit.errors import BoundsError, NodeNotFoundError, ReadOnlyError
from zarrkit.storage import LatencyStore, MemoryStore, StorePath


def test_every_function_has_its_coroutine_twin():
    for name in api.__all__:
        twin, original = getattr(asynchronous, name), getattr(api, name)
        assert inspect.iscoroutinefunction(twin), name
        ours = inspect.signature(twin).parameters
        assert list(ours) == list(inspect.signature(original).parameters), name


def test_twins_are_named_after_their_async_class():
    # the name shows in tracebacks and in "coroutine ... was never awaited"
    coroutine = AsyncGroup.from_store(MemoryStore())
    assert coroutine.__qualname__ == "AsyncGroup.from_store"
    coroutine.close()
    assert AsyncArray.get_basic_selection.__qualname__ == "AsyncArray.get_basic_selection"
    assert AsyncArray.with_config.__qualname__ == "AsyncArray.with_config"
    assert AsyncGroup.create_hierarchy.__qualname__ == "AsyncGroup.create_hierarchy"


def test_concurrent_reads_overlap_their_io():
    latency, count = 0.2, 6
    store = LatencyStore(MemoryStore(), latency=latency)
    zarrkit.create_array(store, shape=(count,), chunks=(1,), dtype="i4")[:] = np.arange(count)

    async def main():
        arr = await asynchronous.open_array(store, mode="r")
        start = time.perf_counter()
        values = await asyncio.gather(*(arr.getitem(i) for i in range(count)))
        return values, time.perf_counter() - start

    values, seconds = asyncio.run(main())
    assert values == list(range(count))
    # one read takes `latency`; in turn they would take count * latency
    assert seconds < count * latency / 2, seconds


def test_exceptions_keep_their_types():
    async def main():
        arr = await asynchronous.create_array({}, shape=(3,), dtype="u1")
        with pytest.raises(BoundsError):
            await arr.getitem(7)
        with pytest.raises(NodeNotFoundError):
            await asynchronous.open_array({}, mode="r")
        reader = await asynchronous.open_array(arr.store, mode="r")
        with pytest.raises(ReadOnlyError):
            await reader.setitem(0, 1)

    asyncio.run(main())


def test_arrays():
    async def main():
        arr = await asynchronous.zeros((4, 4), chunks=(2, 2), dtype="i2")
        assert isinstance(arr, AsyncArray) and isinstance(arr._sync, zarrkit.Array)
        assert (arr.shape, arr.chunks, arr.dtype, arr.ndim) == ((4, 4), (2, 2), np.int16, 2)
        await arr.setitem((slice(0, 2), slice(None)), 1)
        assert await arr.nchunks_initialized() == 2
        await arr.oindex.setitem(([3], [0, 3]), 5)
        assert (await arr.vindex.getitem(([3, 3], [0, 3]))).tolist() == [5, 5]
        assert (await arr.get_orthogonal_selection((slice(None), 0))).tolist() == [1, 1, 0, 5]
        await arr.resize((6, 4))
        assert arr.shape == (6, 4)
        await arr.update_attributes({"k": "v"})
        assert arr.attrs["k"] == "v"
        assert await arr.nbytes_stored() > 0

    asyncio.run(main())


def test_groups():
    async def main():
        root = await asynchronous.group(MemoryStore())
        assert isinstance(root, AsyncGroup)
        child = await root.create_group("child", attributes={"a": 1})
        await child.create_array("x", shape=(2,), dtype="f4")
        await root.create_array("y", shape=(3,), dtype="i1")
        assert [name async for name in root.keys()] == ["child", "y"]  # noqa: SIM118
        assert [name async for name in root.array_keys()] == ["y"]
        assert [name async for name, _ in root.groups()] == ["child"]
        assert await root.nmembers(max_depth=None) == 3
        x = await root.getitem("child/x")
        assert isinstance(x, AsyncArray) and x.shape == (2,)
        assert await root.contains("y") and not await root.contains("z")
        await root.delitem("y")
        assert await root.get("y") is None
        found = await asynchronous.open_group(root.store, mode="r")
        assert isinstance(found, AsyncGroup) and found.read_only
        assert [name async for name in found.keys()] == ["child"]  # noqa: SIM118

    asyncio.run(main())


@pytest.mark.parametrize(
    "data",
    [
        {"zarr_format": 3, "node_type": "group", "attributes": {"a": 1}},
        {"zarr_format": 2, "attributes": {"a": 1}},
    ],
)
def test_group_from_dict(data):
    store = MemoryStore()
    group = AsyncGroup.from_dict(StorePath(store, "g"), data)
    assert (group.metadata.zarr_format, group.metadata.attributes, group.path) == (
        data["zarr_format"],
        {"a": 1},
        "g",
    )
    assert store.is_empty()  # nothing written


def test_array_from_dict():
    metadata = zarrkit.create_array({}, shape=(3,), dtype="i2").metadata
    arr = AsyncArray.from_dict(StorePath(MemoryStore(), "a"), metadata.to_dict())
    assert arr.shape == (3,) and arr.metadata == metadata
    assert asyncio.run(arr.getitem(slice(None))).tolist() == [0, 0, 0]
