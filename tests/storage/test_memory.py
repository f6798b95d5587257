import json

import numpy as np
import pytest
from optional import needs

import zarrkit
from zarrkit.storage import MemoryStore
from zarrkit.testing import StoreSuite


class TestMemoryStore(StoreSuite):
    shares_data_when_pickled = False

    @pytest.fixture
    def store(self):
        yield MemoryStore()


def test_shared_dict_is_visible():
    data = {}
    store = MemoryStore(data)
    store.set("a/b", b"1")
    assert data == {"a/b": b"1"}


def test_shared_dict_holds_buffers_like_zarr_python():
    # zarr-python keeps Buffer objects in a dict store and its users call .to_bytes()
    data = {}
    zarrkit.create_array(store=data, shape=(1,), dtype="i8", zarr_format=2)
    document = json.loads(data[".zarray"].to_bytes())
    assert document["dtype"] == "<i8"
    assert data[".zarray"].as_numpy_array().dtype == np.uint8
    assert MemoryStore().get("missing") is None
    store = MemoryStore()
    store.set("k", b"v")
    assert type(store._data["k"]) is bytes  # the store's own dict holds plain bytes


def test_reads_a_dict_written_by_zarr_python():
    needs("zarr")
    import zarr

    data = {}
    zarr.create_array(store=data, shape=(4,), dtype="i2", chunks=(2,), fill_value=7)[:2] = 1
    assert not isinstance(data["zarr.json"], bytes)  # zarr-python's own Buffer objects
    assert zarrkit.open_array(data)[:].tolist() == [1, 1, 7, 7]


def test_equality_is_the_dict():
    data = {}
    assert MemoryStore(data) == MemoryStore(data).with_read_only(True)
    assert MemoryStore() != MemoryStore()
    assert len({MemoryStore(data), MemoryStore(data)}) == 1
    assert str(MemoryStore(data)) == f"memory://{id(data)}"
