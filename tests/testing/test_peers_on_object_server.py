"""The object server as the clients we build on and measure against see it.

zarrkit, zarr-python 3 (its ObjectStore over obstore) and tensorstore (http kvstore) read a
sharded array from it; and what obstore's HTTPStore does there is pinned down, since the
object-store work builds on it: conditional reads map onto If-Match / If-None-Match, conditional
puts are not implemented for HTTP, transient errors and cut-short bodies are retried with
obstore's own backoff (Retry-After is not read), and an unconditional PUT whose response was lost
is sent again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from optional import module_needs

module_needs("obstore", "zarr", "tensorstore")

import numpy as np
import obstore
import obstore.exceptions
import pytest
import tensorstore as ts
import zarr
from obstore.store import HTTPStore
from storage.servers import fast_retry  # tests/ is on sys.path (tests/conftest.py)
from zarr.storage import ObjectStore as ZarrObjectStore

import zarrkit
from zarrkit.testing.faults import Fault
from zarrkit.testing.object_server import ObjectServer

DATA = np.arange(64 * 64, dtype="float32").reshape(64, 64)
BIG = bytes(range(256)) * 4096  # 1 MiB
RETRY = fast_retry(3)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectServer]:
    root = tmp_path_factory.mktemp("objects")
    zarr.create_array(
        str(root / "arr"),
        data=DATA,
        chunks=(16, 16),
        shards=(32, 32),
        compressors={"name": "zstd", "configuration": {"level": 3}},
    )
    with ObjectServer(root) as running:
        running.put("big", BIG)
        yield running


@pytest.fixture
def store(server: ObjectServer) -> HTTPStore:
    server.configure(faults=[])
    server.reset_stats()
    return HTTPStore.from_url(server.url, client_options={"allow_http": True}, retry_config=RETRY)


def test_zarrkit_reads_the_sharded_array_with_ranges(server: ObjectServer) -> None:
    array = zarrkit.open_array(f"{server.url}/arr", mode="r")
    server.reset_stats()
    np.testing.assert_array_equal(array[:16, :16], DATA[:16, :16])
    assert server.stats().statuses.get(206, 0) >= 1  # ranged, not whole shards
    np.testing.assert_array_equal(array[...], DATA)


def test_zarr_python_object_store_reads_it(server: ObjectServer) -> None:
    http = HTTPStore.from_url(server.url, client_options={"allow_http": True})
    array = zarr.open_array(ZarrObjectStore(http, read_only=True), path="arr", mode="r")
    np.testing.assert_array_equal(array[...], DATA)
    np.testing.assert_array_equal(array[5:20, 40:50], DATA[5:20, 40:50])


def test_tensorstore_http_kvstore_reads_it(server: ObjectServer) -> None:
    spec = {"driver": "zarr3", "kvstore": {"driver": "http", "base_url": server.url}}
    spec["kvstore"]["path"] = "arr/"
    array = ts.open(spec, read=True, context=ts.Context()).result()
    np.testing.assert_array_equal(array.read().result(), DATA)
    np.testing.assert_array_equal(array[5:20, 40:50].read().result(), DATA[5:20, 40:50])


def test_obstore_reads_ranges_and_metadata(server: ObjectServer, store: HTTPStore) -> None:
    assert bytes(obstore.get(store, "big").bytes()) == BIG
    assert bytes(obstore.get_range(store, "big", start=10, end=20)) == BIG[10:20]
    parts = obstore.get_ranges(store, "big", starts=[0, 1000], ends=[5, 1010])
    assert [bytes(p) for p in parts] == [BIG[:5], BIG[1000:1010]]
    suffix = obstore.get(store, "big", options={"range": {"suffix": 3}}).bytes()
    assert bytes(suffix) == BIG[-3:]
    meta = obstore.head(store, "big")
    assert (meta["size"], meta["e_tag"]) == (len(BIG), server.etag("big"))


def test_obstore_conditional_reads_map_onto_the_server(
    server: ObjectServer, store: HTTPStore
) -> None:
    etag = server.etag("big")
    got = obstore.get(store, "big", options={"if_match": etag, "range": (0, 4)})
    assert bytes(got.bytes()) == BIG[:4] and got.meta["e_tag"] == etag
    with pytest.raises(obstore.exceptions.PreconditionError):
        obstore.get(store, "big", options={"if_match": '"stale"', "range": (0, 4)})
    with pytest.raises(obstore.exceptions.PreconditionError):
        obstore.get(store, "big", options={"if_match": '"stale"', "head": True})
    with pytest.raises(obstore.exceptions.NotModifiedError):
        obstore.get(store, "big", options={"if_none_match": etag})
    assert server.stats().statuses == {206: 1, 412: 2, 304: 1}


@pytest.mark.parametrize("mode", ["create", {"e_tag": '"v1"'}])
def test_obstore_http_store_has_no_conditional_puts(store: HTTPStore, mode: object) -> None:
    with pytest.raises(NotImplementedError, match="PutMode::Overwrite"):
        obstore.put(store, "new", b"x", mode=mode)  # type: ignore[arg-type]


def test_obstore_retries_transient_statuses_ignoring_retry_after(
    server: ObjectServer, store: HTTPStore
) -> None:
    server.configure(faults=[Fault(kind="503", rate=0.25), Fault(kind="429", rate=0.15)], seed=2)
    server.configure(retry_after=30)
    start = time.perf_counter()
    for start_byte in range(0, 40, 4):
        got = obstore.get_range(store, "big", start=start_byte, end=start_byte + 4)
        assert bytes(got) == BIG[start_byte : start_byte + 4]
    assert time.perf_counter() - start < 10  # a 30 s Retry-After was not waited for
    assert sum(server.stats().faults.values()) >= 5


def test_obstore_resumes_a_cut_short_body(server: ObjectServer, store: HTTPStore) -> None:
    """With an ETag in the response, a body that ends early is re-requested from where it
    stopped (a Range request, checked against the ETag); without retries left it raises."""
    server.configure(faults=[Fault(kind="truncate", rate=0.5)], seed=1)
    for _ in range(4):
        assert bytes(obstore.get(store, "big").bytes()) == BIG
    stats = server.stats()
    assert stats.faults["truncate"] >= 2 and stats.statuses.get(206, 0) >= 2
    server.configure(faults=[Fault(kind="truncate", rate=1.0)])
    server.reset_stats()
    with pytest.raises(obstore.exceptions.GenericError, match="response body error"):
        obstore.get(store, "big").bytes()
    assert server.stats().requests == {"GET": 4}  # 1 + max_retries


def test_obstore_cannot_resume_a_body_without_an_etag() -> None:
    """The hole issue 18 names: a server that sends no ETag gets no resumption."""
    faults = [Fault(kind="truncate", rate=1.0)]
    with ObjectServer(etags=False, faults=faults) as server:
        server.put("big", BIG)
        store = HTTPStore.from_url(
            server.url, client_options={"allow_http": True}, retry_config=RETRY
        )
        with pytest.raises(obstore.exceptions.GenericError, match="response body error"):
            obstore.get(store, "big").bytes()
        assert server.stats().requests == {"GET": 1}  # not retried at all


def test_obstore_sends_an_unconditional_put_again_after_a_lost_response(
    server: ObjectServer, store: HTTPStore
) -> None:
    server.configure(faults=[Fault(kind="lose-put", rate=1.0)])
    with pytest.raises(obstore.exceptions.GenericError, match="after 3 retries"):
        obstore.put(store, "lost", b"applied")
    assert server.stats().requests == {"PUT": 4}
    assert server.get("lost") == b"applied"


def test_obstore_gives_up_on_slow_responses_after_its_timeout(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="slow", rate=1.0)], slow_delay=2)
    retry = fast_retry(1)
    options = {"allow_http": True, "timeout": "300ms"}
    store = HTTPStore.from_url(server.url, client_options=options, retry_config=retry)
    start = time.perf_counter()
    with pytest.raises(obstore.exceptions.GenericError, match="after 1 retries"):
        obstore.get(store, "big").bytes()
    assert time.perf_counter() - start < 1.5


def test_truncation_error_names_no_status(server: ObjectServer) -> None:
    """How obstore reports a body cut short: a GenericError about the body, no HTTP status."""
    server.configure(faults=[Fault(kind="truncate", rate=1.0)])
    store = HTTPStore.from_url(
        server.url, client_options={"allow_http": True}, retry_config=fast_retry(0)
    )
    with pytest.raises(obstore.exceptions.GenericError) as info:
        obstore.get(store, "big").bytes()
    message = str(info.value)
    assert "request or response body error" in message and "Interrupted" in message
