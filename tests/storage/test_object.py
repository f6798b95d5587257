import datetime
import http.server
import threading
import uuid
from typing import ClassVar

from optional import module_needs

module_needs("obstore")

import numpy as np
import obstore.store
import pytest

import zarrkit
from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.storage import LocalStore, OffsetRequest, RangeRequest, SuffixRequest, make_store
from zarrkit.storage.object import ObjectStore
from zarrkit.storage.obstore_config import build_obstore
from zarrkit.testing import StoreSuite


class TestS3Store(StoreSuite):
    many_keys = 500

    @pytest.fixture
    def store(self, s3_single_options):
        # moto on one thread: conditional writes are atomic there, as on S3
        bucket, options = s3_single_options
        yield ObjectStore(f"s3://{bucket}/{uuid.uuid4().hex}", **options)


class TestAzureStore(StoreSuite):
    many_keys = 500

    @pytest.fixture
    def store(self, azure_options):
        container, options = azure_options
        yield ObjectStore(f"az://{container}/{uuid.uuid4().hex}", **options)


# --- configuration ----------------------------------------------------------------------
def test_s3_options_reach_obstore():
    store = ObjectStore(
        "s3://bucket/a/b",
        region="eu-west-1",
        endpoint="http://127.0.0.1:1",
        allow_http=True,
        timeout="5s",
        skip_signature=True,
    )
    inner = store.obstore
    assert isinstance(inner, obstore.store.S3Store)
    assert inner.prefix == "a/b"
    assert inner.config["bucket"] == "bucket"
    assert inner.config["region"] == "eu-west-1"
    assert inner.config["endpoint"] == "http://127.0.0.1:1"
    assert inner.client_options == {"allow_http": "true", "timeout": "5s"}
    assert inner.retry_config["max_retries"] == 0  # zarrkit.retry retries, not obstore


def test_gcs_url_builds_gcs_store():
    for url in ("gs://bkt/p/q", "gcs://bkt/p/q/"):
        inner = build_obstore(url, {"skip_signature": True})
        assert isinstance(inner, obstore.store.GCSStore)
        assert inner.prefix == "p/q"
        assert inner.config["bucket"] == "bkt"
    store = make_store("gs://bkt", storage_options={"skip_signature": True})
    assert isinstance(store.obstore, obstore.store.GCSStore)
    assert store.obstore.prefix is None


def test_gcs_real_io_is_not_tested():
    print(
        "GCS I/O skipped: no GCS emulator works with obstore here (gcp-storage-emulator lacks "
        "ETag headers, fake-gcs-server rejects obstore's uploads); the gs:// code path shares "
        "everything but the obstore constructor with the S3 and Azure tests."
    )
    pytest.skip("no GCS emulator works with obstore on this machine; see the printed reason")


def test_azure_url_variants():
    for url in ("az://ctr/p", "azure://ctr/p", "abfs://ctr/p"):
        inner = build_obstore(url, {"account_name": "acct", "skip_signature": True})
        assert isinstance(inner, obstore.store.AzureStore)
        assert inner.prefix == "p"
        assert inner.config["container_name"] == "ctr"


def test_obstore_retry_config_is_read_into_zarrkits_policy():
    retry = {
        "max_retries": 1,
        "retry_timeout": datetime.timedelta(seconds=3),
        "backoff": {"init_backoff": datetime.timedelta(milliseconds=20), "base": 3},
    }
    store = ObjectStore("s3://b", retry_config=retry, retry_backoff=0.01, skip_signature=True)
    assert store.retry_options == {
        "retry_attempts": 2,
        "retry_deadline": 3.0,
        "retry_backoff": 0.01,  # zarrkit's name wins
        "retry_multiplier": 3,
    }
    assert store.obstore.retry_config["max_retries"] == 0
    # a store built elsewhere keeps obstore's settings
    inner = build_obstore("s3://b", {"retry_config": retry, "skip_signature": True})
    assert inner.retry_config["max_retries"] == 1


def test_fsspec_option_names_as_zarr_python_users_give_them():
    # zarr-python sends s3:// URLs to s3fs: its user guide opens public data with
    # storage_options={"anon": True}
    public = build_obstore("s3://noaa-nwm-retro-v2-zarr-pds", {"anon": True})
    assert public.config["skip_signature"] in (True, "true")
    assert "skip_signature" not in build_obstore("s3://b", {"anon": False}).config
    s3fs_style = build_obstore(
        "s3://b/p",
        {
            "key": "AK",
            "secret": "SK",
            "token": "ST",
            "client_kwargs": {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:1"},
        },
    )
    assert s3fs_style.config["access_key_id"] == "AK"
    assert s3fs_style.config["secret_access_key"] == "SK"
    assert s3fs_style.config["session_token"] == "ST"
    assert s3fs_style.config["region"] == "eu-west-1"
    assert s3fs_style.config["endpoint"] == "http://127.0.0.1:1"
    assert s3fs_style.client_options == {"allow_http": "true"}  # an http:// endpoint
    assert build_obstore("s3://b", {"endpoint_url": "https://x"}).config["endpoint"] == "https://x"
    assert build_obstore("gs://b", {"token": "anon"}).config["skip_signature"] in (True, "true")
    azure = build_obstore("az://c", {"account_name": "acct", "anon": True})
    assert azure.config["skip_signature"] in (True, "true")
    with pytest.raises(ValueError, match="'key' and 'access_key_id'"):
        build_obstore("s3://b", {"key": "AK", "access_key_id": "AK2"})
    with pytest.raises(ValueError, match="client_kwargs"):
        build_obstore("s3://b", {"client_kwargs": {"verify": False}})


@pytest.mark.parametrize(
    ("url", "options", "match"),
    [
        ("s3://b", {"not_an_option": 1}, "not_an_option"),
        ("s3://", {}, "no bucket"),
        ("ftp://x/y", {}, "unsupported object store URL"),
        ("http://127.0.0.1/x", {"region": "x"}, "HTTP stores take only"),
    ],
)
def test_bad_configuration(url, options, match):
    with pytest.raises(ValueError, match=match):
        build_obstore(url, options)


def test_existing_obstore_store_is_accepted(s3_options):
    bucket, options = s3_options
    inner = build_obstore(f"s3://{bucket}/wrapped-{uuid.uuid4().hex}", options)
    store = ObjectStore(inner)
    store.set("k", b"v")
    assert ObjectStore(inner, read_only=True).get("k") == b"v"
    import pickle

    assert pickle.loads(pickle.dumps(store)).get("k") == b"v"


def test_obstore_store_given_by_keyword_as_zarr_python_names_it():
    # zarr-python's user guide: zarr.storage.ObjectStore(store=s3_store, read_only=True)
    inner = obstore.store.MemoryStore()
    zarrkit.create_array(ObjectStore(store=inner), shape=(3,), dtype="i2", fill_value=4)
    reader = ObjectStore(store=inner, read_only=True)
    assert reader.read_only and reader.obstore is inner
    np.testing.assert_array_equal(zarrkit.open_array(reader, mode="r")[:], [4, 4, 4])
    by_url = ObjectStore(store="s3://bucket/data.zarr", region="eu-west-1", skip_signature=True)
    assert by_url.url == "s3://bucket/data.zarr"


def test_make_store_s3(s3_options):
    bucket, options = s3_options
    url = f"s3://{bucket}/made-{uuid.uuid4().hex}"
    store = make_store(url, storage_options=options)
    store.set("a/zarr.json", b"{}")
    reader = make_store(url, read_only=True, storage_options=options)
    assert reader.read_only
    assert reader.get("a/zarr.json") == b"{}"


def test_s3_list_dir_uses_delimiter(s3_options):
    bucket, options = s3_options
    store = ObjectStore(f"s3://{bucket}/{uuid.uuid4().hex}", **options)
    store.set_many({"a/zarr.json": b"{}", "a/c/0": b"0", "a/c/1": b"1", "b": b"2"})
    assert sorted(store.list_dir("")) == ["a", "b"]
    assert sorted(store.list_dir("a/")) == ["c", "zarr.json"]
    store.delete_many(["a/c/0", "missing"])
    assert sorted(store.list()) == ["a/c/1", "a/zarr.json", "b"]


@pytest.mark.parametrize("kind", ["s3", "az"])
def test_missing_bucket_is_an_error_not_a_missing_key(kind, request):
    _, options = request.getfixturevalue("s3_options" if kind == "s3" else "azure_options")
    store = ObjectStore(f"{kind}://no-such-container/x", **options)
    reads = [
        lambda: store.get("c/0"),
        lambda: store.get("c/0", RangeRequest(0, 4)),
        lambda: store.get("c/0", RangeRequest(0, 0)),
        lambda: store.get_ranges("c/0", [RangeRequest(0, 4)]),
        lambda: store.get_many(["c/0", "c/1"]),
        lambda: list(store.list()),
    ]
    for read in reads:
        with pytest.raises(StoreError):
            read()


# --- zarr-python interoperability at the key level -----------------------------------------
def test_zarr_python_writes_we_read(s3_options):
    import zarr
    import zarr.storage

    bucket, options = s3_options
    prefix = f"zarr-writes-{uuid.uuid4().hex}"
    inner = build_obstore(f"s3://{bucket}/{prefix}", options)
    arr = zarr.create_array(
        zarr.storage.ObjectStore(inner), shape=(8,), chunks=(4,), dtype="uint16"
    )
    arr[:] = np.arange(8, dtype="uint16")
    store = ObjectStore(f"s3://{bucket}/{prefix}", read_only=True, **options)
    assert sorted(store.list()) == ["c/0", "c/1", "zarr.json"]
    assert b'"zarr_format": 3' in store.get("zarr.json")
    assert sorted(store.list_dir("")) == ["c", "zarr.json"]


def test_we_write_zarr_python_reads(s3_options):
    import zarr
    import zarr.storage

    source: dict = {}
    arr = zarr.create_array(
        zarr.storage.MemoryStore(source), shape=(5, 3), chunks=(2, 2), dtype="int64"
    )
    data = np.arange(15).reshape(5, 3)
    arr[:] = data
    bucket, options = s3_options
    prefix = f"we-write-{uuid.uuid4().hex}"
    ObjectStore(f"s3://{bucket}/{prefix}", **options).set_many(
        {key: value.to_bytes() for key, value in source.items()}
    )
    zstore = zarr.storage.ObjectStore(
        build_obstore(f"s3://{bucket}/{prefix}", options), read_only=True
    )
    np.testing.assert_array_equal(zarr.open_array(zstore, mode="r")[:], data)


# --- HTTP -------------------------------------------------------------------------------
def test_http_store_reads(http_root):
    root, url = http_root
    LocalStore(root / "arr").set_many({"zarr.json": b"{}", "c/0": b"0123456789"})
    store = make_store(f"{url}/arr")
    assert isinstance(store, ObjectStore)
    assert store.read_only
    assert store.get("zarr.json") == b"{}"
    assert store.get("missing") is None
    assert store.get("c/0", RangeRequest(2, 5)) == b"234"
    assert store.get("c/0", OffsetRequest(8)) == b"89"
    assert store.get("c/0", SuffixRequest(3)) == b"789"
    assert store.get("c/0", RangeRequest(20, 30)) == b""
    assert store.get_many(["c/0", "nope"]) == [b"0123456789", None]
    assert store.get_ranges("c/0", [RangeRequest(0, 2), SuffixRequest(1)]) == [b"01", b"9"]
    with pytest.raises(ReadOnlyError):
        store.set("x", b"y")
    with pytest.raises(StoreError) as info:
        list(store.list())
    assert info.value.operation == "list"


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers GET /ok after two 503s, /forbidden with 403, /broken always with 500."""

    calls: ClassVar[dict] = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        with self.lock:
            count = self.calls[self.path] = self.calls.get(self.path, 0) + 1
        if self.path.endswith("/ok") and count > 2:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        status = 403 if self.path.endswith("/forbidden") else 503 if "ok" in self.path else 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def flaky_url():
    _Flaky.calls = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data"
    server.shutdown()
    server.server_close()


FAST_RETRY = {
    "max_retries": 3,
    "backoff": {
        "init_backoff": datetime.timedelta(milliseconds=5),
        "max_backoff": datetime.timedelta(milliseconds=20),
        "base": 2,
    },
    "retry_timeout": datetime.timedelta(seconds=5),
}


def test_transient_errors_are_retried(flaky_url):
    store = ObjectStore(flaky_url, retry_config=FAST_RETRY)
    assert store.get("ok") == b"ok"
    assert _Flaky.calls["/data/ok"] == 3


def test_persistent_errors_raise_store_error(flaky_url):
    store = ObjectStore(flaky_url, retry_config=FAST_RETRY)
    with pytest.raises(StoreError) as info:
        store.get("c/broken")
    assert info.value.key == "c/broken"
    assert info.value.operation == "get"
    assert "Debug source" not in str(info.value)
    assert _Flaky.calls["/data/c/broken"] == 1 + FAST_RETRY["max_retries"]


def test_forbidden_is_an_error_not_missing(flaky_url):
    store = ObjectStore(flaky_url, retry_config=FAST_RETRY)
    with pytest.raises(StoreError) as info:
        store.get_many(["a/forbidden", "b/forbidden"])
    assert info.value.operation == "get"
    with pytest.raises(StoreError):
        store.get("forbidden", RangeRequest(0, 4))


# --- versions ------------------------------------------------------------------------------
@pytest.mark.parametrize("etags", [True, False])
def test_sharded_reads_over_http_use_etags_when_the_server_sends_them(etags, tmp_path):
    from zarrkit import config
    from zarrkit.testing.object_server import ObjectServer

    data = np.arange(256 * 256, dtype="f4").reshape(256, 256)
    written = zarrkit.create_array(
        str(tmp_path / "a"), shape=data.shape, chunks=(16, 16), shards=(128, 128), dtype="f4"
    )
    written[...] = data
    with ObjectServer(tmp_path, etags=etags) as server, config.set(shard_read_ahead=0):
        remote = zarrkit.open_array(f"{server.url}/a", mode="r")
        np.testing.assert_array_equal(remote[0:16, 0:16], data[0:16, 0:16])
        server.reset_stats()
        np.testing.assert_array_equal(remote[16:32, 0:16], data[16:32, 0:16])
        requests = server.stats().total
    # with ETags: one conditional ranged GET through the cached index; without: the index,
    # the ranges (after a HEAD for the size) and the index again, to prove one version
    assert requests == (1 if etags else 4)


def test_object_versions_carry_the_gcs_generation():
    from zarrkit.storage.object import _etag, _update_version, _version_of

    assert _version_of({"e_tag": '"abc"', "version": None}) == '"abc"'
    gcs = _version_of({"e_tag": '"abc"', "version": "1712"})
    assert _etag(gcs) == '"abc"' and _update_version(gcs) == {"e_tag": '"abc"', "version": "1712"}
    assert _version_of({"e_tag": None, "version": None}) is None
