"""The missing-chunk policy: with ``read_missing_chunks`` False (per array in its
``config``, or zarr-python's global ``array.read_missing_chunks``), reading a chunk that
is not stored raises a ChunkNotFoundError naming it instead of giving the fill value."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from zarrkit import config
from zarrkit.errors import ChunkNotFoundError
from zarrkit.storage import MemoryStore

LAYOUTS = {
    "v2": {"zarr_format": 2},
    "v3": {"zarr_format": 3},
    "v3-sharded": {"zarr_format": 3, "shards": (4, 4)},
}


@pytest.fixture(params=list(LAYOUTS))
def layout(request):
    return LAYOUTS[request.param]


def make(store, layout, **options):
    return zarrkit.create_array(
        store, shape=(8, 8), chunks=(2, 2), dtype="i4", fill_value=-1, **layout, **options
    )


def test_missing_chunks_read_as_fill_by_default(layout):
    a = make(MemoryStore(), layout)
    assert (a[:] == -1).all()


FIRST_MISSING = {"v2": "2.0", "v3": "c/2/0", "v3-sharded": "c/1/0[0,0]"}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_per_array_option_raises_naming_the_key(name):
    store = MemoryStore()
    make(store, LAYOUTS[name])[:4, :4] = 1  # the first shard (sharded), or four chunks
    strict = zarrkit.open_array(store, config={"read_missing_chunks": False})
    assert (strict[:4, :4] == 1).all()
    with pytest.raises(ChunkNotFoundError) as raised:
        strict[4:6, :2]
    key = FIRST_MISSING[name]  # sharded: inner chunk (0, 0) of shard c/1/0
    assert raised.value.keys == (key,) and raised.value.key == key
    assert repr(key) in str(raised.value) and isinstance(raised.value, ValueError)


def test_the_missing_keys_fetched_together_are_listed(layout):
    a = make(MemoryStore(), layout, config={"read_missing_chunks": False})
    with (
        config.set(read_threads=1),
        pytest.raises(ChunkNotFoundError, match="and 3 more") as raised,
    ):
        a[:4, :4]
    assert len(raised.value.keys) == 4


def test_an_absent_inner_chunk_of_a_stored_shard_is_missing():
    a = make(MemoryStore(), LAYOUTS["v3-sharded"], config={"read_missing_chunks": False})
    a[:2, :2] = 5  # one inner chunk of shard (0, 0)
    assert (a[:2, :2] == 5).all()
    with pytest.raises(ChunkNotFoundError) as raised:
        a[:4, :4]
    assert set(raised.value.keys) == {"c/0/0[0,1]", "c/0/0[1,0]", "c/0/0[1,1]"}


def test_the_global_setting_applies_to_arrays_opened_under_it(layout):
    store = MemoryStore()
    make(store, layout)
    with config.set({"array.read_missing_chunks": False}):
        strict = zarrkit.open_array(store)
        lenient = zarrkit.open_array(store, config={"read_missing_chunks": True})
        with pytest.raises(ChunkNotFoundError):
            strict[0, 0]
        assert lenient[0, 0] == -1
    with pytest.raises(ChunkNotFoundError):
        strict[0, 0]  # an array keeps the setting it was opened with, as in zarr-python
    assert zarrkit.open_array(store)[0, 0] == -1
    assert config.get("array.read_missing_chunks") is True


def test_complete_arrays_read_normally(layout):
    a = make(MemoryStore(), layout, config={"read_missing_chunks": False})
    a[:] = np.arange(64).reshape(8, 8)
    assert (a[:] == np.arange(64).reshape(8, 8)).all()


def test_writes_are_not_reads(layout):
    a = make(MemoryStore(), layout, config={"read_missing_chunks": False})
    a[1:3, 1:3] = 7  # partial writes into chunks not yet stored
    a.resize((10, 10))
    assert (a[1:3, 1:3] == 7).all()
    records = zarrkit.create_array(
        MemoryStore(),
        shape=(4,),
        chunks=(2,),
        dtype=[("x", "i2"), ("y", "f4")],
        config={"read_missing_chunks": False},
        **layout if "shards" not in layout else {},
    )
    records["x"] = [1, 2, 3, 4]  # a write of one field reads the records first
    assert list(records[:]["x"]) == [1, 2, 3, 4]


def test_iter_chunks_raises_at_the_missing_chunk(layout):
    a = make(MemoryStore(), layout, config={"read_missing_chunks": False})
    a[:2, :] = 3
    stream = a.iter_chunks((slice(0, 4), slice(None)))
    assert [next(stream)[0][0] for _ in range(4)] == [0, 0, 0, 0]
    with pytest.raises(ChunkNotFoundError):
        list(stream)


def test_empty_chunks_never_written_are_missing(layout):
    """write_empty_chunks=False (the default) stores no chunk equal to the fill value, so
    such a chunk reads as missing: use write_empty_chunks=True with this policy."""
    a = make(MemoryStore(), layout, config={"read_missing_chunks": False})
    a[:] = -1
    with pytest.raises(ChunkNotFoundError):
        a[:]
    kept = make(
        MemoryStore(), layout, config={"read_missing_chunks": False, "write_empty_chunks": True}
    )
    kept[:] = -1
    assert (kept[:] == -1).all()


def test_a_lost_chunk_file_is_found(tmp_path: Path):
    a = zarrkit.create_array(tmp_path / "a.zarr", shape=(6,), chunks=(2,), dtype="f8")
    a[:] = 1.5
    (tmp_path / "a.zarr" / "c" / "1").unlink()
    assert np.isnan(zarrkit.open_array(tmp_path / "a.zarr")[:]).sum() == 0  # fill is 0.0
    with pytest.raises(ChunkNotFoundError, match="'c/1'"):
        zarrkit.open_array(tmp_path / "a.zarr", config={"read_missing_chunks": False})[:]


def test_the_policy_travels_with_a_pickled_array():
    a = make(MemoryStore(), LAYOUTS["v3"], config={"read_missing_chunks": False})
    with pytest.raises(ChunkNotFoundError):
        pickle.loads(pickle.dumps(a))[:]
