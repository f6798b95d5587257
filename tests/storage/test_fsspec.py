"""FsspecStore on fsspec's memory and local file systems, and on s3fs against moto (S3),
both in s3fs's synchronous mode and as an asynchronous file system."""

import uuid

from optional import module_needs, needs

module_needs("fsspec")

import fsspec
import numpy as np
import pytest

import zarrkit
from zarrkit.errors import StoreError
from zarrkit.storage import FsspecStore, LoggingStore, make_store
from zarrkit.testing import StoreSuite
from zarrkit.types import RangeRequest, SuffixRequest


class TestMemoryFileSystem(StoreSuite):
    @pytest.fixture
    def store(self):
        yield FsspecStore(fsspec.filesystem("memory"), path=f"/suite-{uuid.uuid4().hex}")


class TestLocalFileSystem(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield FsspecStore.from_url((tmp_path / "root").as_uri())


def s3fs_options(moto_server: str, asynchronous: bool) -> dict:
    needs("s3fs")
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": moto_server, "region_name": "us-east-1"},
        "asynchronous": asynchronous,
        "skip_instance_cache": True,
    }


class TestS3(StoreSuite):
    many_keys = 300
    large_value_size = 2**20
    thread_count = 4

    @pytest.fixture
    def store(self, s3_options, moto_server):
        bucket, _ = s3_options
        url = f"s3://{bucket}/fsspec-{uuid.uuid4().hex}"
        yield FsspecStore.from_url(url, storage_options=s3fs_options(moto_server, False))


class TestS3Asynchronous(TestS3):
    @pytest.fixture
    def store(self, s3_options, moto_server):
        needs("s3fs")
        import s3fs

        bucket, _ = s3_options
        fs = s3fs.S3FileSystem(**s3fs_options(moto_server, True))
        yield FsspecStore(fs, path=f"{bucket}/fsspec-async-{uuid.uuid4().hex}")


def test_arrays_on_s3_with_batched_requests(s3_options, moto_server):
    bucket, _ = s3_options
    url = f"s3://{bucket}/array-{uuid.uuid4().hex}"
    store = LoggingStore(
        FsspecStore.from_url(url, storage_options=s3fs_options(moto_server, False))
    )
    data = np.arange(400, dtype="i4").reshape(20, 20)
    layout = {"shape": (20, 20), "chunks": (5, 5), "dtype": "i4"}
    zarrkit.create_array(store, name="chunked", **layout)[:] = data
    zarrkit.create_array(store, name="sharded", shards=(10, 10), **layout)[:] = data
    for name, batch, count in (("chunked", "get_many", 1), ("sharded", "get_then", 4)):
        store.stats.reset()
        np.testing.assert_array_equal(zarrkit.open_array(store, path=name, mode="r")[:], data)
        # chunks in one batch; each shard's index and inner chunks in one get_then
        assert store.stats.calls[batch] >= count, name
        assert store.stats.calls["get"] <= 2, name  # the metadata, not a request per chunk


def test_from_url_and_mapper_reach_the_same_files(tmp_path):
    url = (tmp_path / "a.zarr").as_uri()
    zarrkit.create_array(FsspecStore.from_url(url), shape=(3,), dtype="u1", fill_value=9)
    mapped = make_store(fsspec.get_mapper(url))
    assert isinstance(mapped, FsspecStore) and mapped == FsspecStore.from_url(url)
    assert zarrkit.open_array(mapped)[:].tolist() == [9, 9, 9]
    assert zarrkit.open_array(tmp_path / "a.zarr")[:].tolist() == [9, 9, 9]  # plain files


def test_read_only_and_repr():
    store = FsspecStore(fsspec.filesystem("memory"), read_only=True, path="/ro")
    assert store.read_only and repr(store) == "<FsspecStore(MemoryFileSystem, /ro)>"
    assert str(store) == repr(store)  # as zarr-python prints it
    with pytest.raises(PermissionError):
        store.set("k", b"v")


def test_only_allowed_exceptions_mean_missing():
    fs = fsspec.filesystem("memory")
    assert FsspecStore(fs, path="/nothing-here").get("k") is None
    strict = FsspecStore(fs, path="/nothing-here", allowed_exceptions=())
    with pytest.raises(StoreError, match="get 'k'"):
        strict.get("k")
    with pytest.raises(StoreError, match="get_many"):
        strict.get_many(["k"])


def test_ranges_through_cat_ranges():
    store = FsspecStore(fsspec.filesystem("memory"), path=f"/r-{uuid.uuid4().hex}")
    store.set("v", b"0123456789")
    assert store.get_ranges("v", [RangeRequest(1, 3), SuffixRequest(2)]) == [b"12", b"89"]
    assert store.get_ranges("v", [RangeRequest(4, 4), SuffixRequest(0)]) == [b"", b""]
    assert store.get_ranges("missing", [RangeRequest(0, 1)]) is None
