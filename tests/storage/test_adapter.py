"""ZarrPythonStore: zarr-python 3 stores (its own MemoryStore and LocalStore, Icechunk's
store) used as zarrkit stores, run through the shipped StoreSuite and zarrkit's API."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import threading

from optional import module_needs

module_needs("zarr")

import numpy as np
import pytest
import zarr
import zarr.storage

import zarrkit
from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.storage import RangeRequest, SuffixRequest, make_store
from zarrkit.storage.adapter import ZarrPythonStore, run, to_zarr_request
from zarrkit.testing import StoreSuite


class TestZarrPythonMemoryStore(StoreSuite):
    shares_data_when_pickled = False

    @pytest.fixture
    def store(self):
        yield ZarrPythonStore(zarr.storage.MemoryStore())


class TestZarrPythonLocalStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield ZarrPythonStore(zarr.storage.LocalStore(tmp_path))


def test_zarrkit_does_not_import_zarr_python():
    code = "import sys, zarrkit, zarrkit.storage; print('zarr' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_make_store_wraps_a_zarr_python_store():
    inner = zarr.storage.MemoryStore()
    store = make_store(inner)
    assert isinstance(store, ZarrPythonStore)
    assert store.store is inner
    assert make_store(inner, read_only=True).read_only


def test_zarrkit_api_on_a_zarr_python_store_reads_back_in_zarr_python(tmp_path):
    inner = zarr.storage.LocalStore(tmp_path)
    group = zarrkit.open_group(inner, mode="w", attributes={"title": "t"})
    array = group.create_array("a", shape=(10, 7), chunks=(3, 3), dtype="f4")
    array[...] = np.arange(70, dtype="f4").reshape(10, 7)
    sharded = group.create_array("s", shape=(20,), chunks=(5,), shards=(10,), dtype="i8")
    sharded[...] = np.arange(20)
    peer = zarr.open_group(inner, mode="r")
    np.testing.assert_array_equal(peer["a"][:], array[...])
    np.testing.assert_array_equal(peer["s"][:], np.arange(20))
    assert dict(peer.attrs) == {"title": "t"}


def test_zarr_python_writes_read_in_zarrkit():
    inner = zarr.storage.MemoryStore()
    written = zarr.create_array(inner, name="x", shape=(9,), chunks=(4,), dtype="u2")
    written[:] = np.arange(9)
    np.testing.assert_array_equal(zarrkit.open_array(inner, path="x", mode="r")[...], np.arange(9))


def test_read_only_zarr_python_store_stays_read_only():
    inner = zarr.storage.MemoryStore(read_only=True)
    store = ZarrPythonStore(inner)
    assert store.read_only
    with pytest.raises(ReadOnlyError):
        store.set("a", b"1")


def test_get_many_issues_gets_concurrently():
    store = ZarrPythonStore(_SlowStore())
    store.set_many({f"k{i}": b"v" for i in range(8)})
    assert store.get_many([f"k{i}" for i in range(8)]) == [b"v"] * 8
    assert store.store.most_in_flight == 8


def test_failures_are_store_errors_naming_the_key():
    store = ZarrPythonStore(_BrokenStore())
    with pytest.raises(StoreError, match=r"get 'a/b'.*disk on fire") as caught:
        store.get("a/b")
    assert isinstance(caught.value.__cause__, OSError)


def test_byte_requests_map_to_zarr_python():
    assert to_zarr_request(RangeRequest(2, 5)) == zarr.abc.store.RangeByteRequest(2, 5)
    assert to_zarr_request(SuffixRequest(4)) == zarr.abc.store.SuffixByteRequest(4)
    assert to_zarr_request(None) is None


def test_one_loop_thread_serves_every_thread():
    async def loop_thread():
        return threading.current_thread().name

    names = set()
    workers = [threading.Thread(target=lambda: names.add(run(loop_thread()))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert names == {"zarrkit-async-stores"}


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_adapter_works_in_a_forked_child():
    store = ZarrPythonStore(zarr.storage.MemoryStore())
    store.set("a", b"parent")
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        # Without a fresh loop in the child this would wait forever: bounded by a timeout.
        assert pool.apply_async(store.get, ("a",)).get(timeout=60) == b"parent"


class _SlowStore(zarr.storage.MemoryStore):
    """A MemoryStore whose gets wait a little and count how many overlap."""

    in_flight = 0
    most_in_flight = 0

    async def get(self, key, prototype, byte_range=None):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return await super().get(key, prototype, byte_range)


class _BrokenStore(zarr.storage.MemoryStore):
    async def get(self, key, prototype, byte_range=None):
        raise OSError("disk on fire")


def test_a_value_changed_after_set_stays_as_stored():
    store = ZarrPythonStore(zarr.storage.MemoryStore())
    value = bytearray(b"before")
    store.set("k", value)
    value[:] = b"after!"
    assert store.get("k") == b"before"
