"""Issue 18: object stores ride out transient faults. Window reads under 30% faults give the
right values every time (HTTP with and without ETags, S3), writes under faults lose nothing
and never write twice, what is not transient fails at once, and faults that never end give
one clear error within the deadline. Faults come from zarrkit's own object server and the
fault-injecting proxy in front of moto (``zarrkit.testing``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optional import module_needs

module_needs("obstore")

import numpy as np
import obstore
import obstore.exceptions
import obstore.store
import pytest

import zarrkit
from zarrkit import telemetry
from zarrkit.errors import ConflictError, PartialWriteError, RetriesExhaustedError, StoreError
from zarrkit.storage.object import ObjectStore, transient
from zarrkit.storage.obstore_config import NO_RETRIES
from zarrkit.testing.fault_proxy import FaultProxy
from zarrkit.testing.faults import Fault, FaultKind, FaultPlan
from zarrkit.testing.object_server import ObjectServer
from zarrkit.types import Versioned

DATA = np.arange(256 * 256, dtype="f4").reshape(256, 256)
WINDOW = (slice(40, 200), slice(24, 232))
LAYOUTS = {"sharded": {"chunks": (16, 16), "shards": (64, 64)}, "unsharded": {"chunks": (32, 32)}}
CHUNKS = "*/c/*"
#: 30% of chunk requests fail, each kind of transient fault a share.
THIRTY_PERCENT = [
    Fault(kind="503", rate=0.1, keys=CHUNKS),
    Fault(kind="429", rate=0.05, keys=CHUNKS),
    Fault(kind="reset", rate=0.05, keys=CHUNKS),
    Fault(kind="truncate", rate=0.1, keys=CHUNKS),
]
QUICK = {"retry_backoff": 0.005, "retry_max_backoff": 0.05}


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("arrays")
    for name, layout in LAYOUTS.items():
        zarrkit.create_array(str(root / name), data=DATA, **layout)
    return root


@pytest.fixture(scope="module", params=[True, False], ids=["etags", "no-etags"])
def server(request: pytest.FixtureRequest, arrays: Path) -> Iterator[ObjectServer]:
    with ObjectServer(arrays, etags=request.param) as running:
        yield running


@pytest.fixture
def faulty(server: ObjectServer) -> Iterator[ObjectServer]:
    yield server
    server.configure(faults=[], latency=0.0)
    server.reset_stats()


def open_http(server: ObjectServer, name: str, **options: Any) -> Any:
    return zarrkit.open_array(f"{server.url}/{name}", mode="r", storage_options=options)


@pytest.mark.parametrize("name", LAYOUTS)
def test_window_reads_under_30_percent_faults_are_right_every_time(
    faulty: ObjectServer, name: str
) -> None:
    faulty.configure(faults=THIRTY_PERCENT, seed=18)
    for _ in range(5):
        np.testing.assert_array_equal(open_http(faulty, name, **QUICK)[WINDOW], DATA[WINDOW])
    assert sum(faulty.stats().faults.values()) >= 10  # the faults did happen


def test_each_failed_request_is_tried_again_at_once_then_after_a_backoff(
    faulty: ObjectServer,
) -> None:
    faulty.configure(faults=[Fault(kind="503", rate=0.3, keys=CHUNKS)], seed=3)
    array = open_http(faulty, "unsharded")
    faulty.reset_stats()
    events: list[telemetry.RetryEvent] = []
    with telemetry.subscribed(events.append, telemetry.RetryEvent):
        np.testing.assert_array_equal(array[WINDOW], DATA[WINDOW])
    first = [e.delay for e in events if e.attempt == 1]
    assert len(first) >= 5 and set(first) == {0.0}
    assert all(0 <= e.delay < 0.01 * 3 ** (e.attempt - 2) for e in events if e.attempt > 1)
    chunks = 6 * 8  # the chunks of WINDOW: rows 1-6, columns 0-7
    assert faulty.stats().total == chunks + len(events)  # each retry is one request


def test_answers_slower_than_the_timeout_are_tried_again(faulty: ObjectServer) -> None:
    faulty.configure(faults=[Fault(kind="slow", rate=0.3, keys=CHUNKS)], slow_delay=2.0, seed=1)
    array = open_http(faulty, "unsharded", timeout="0.3s", **QUICK)
    faulty.reset_stats()
    np.testing.assert_array_equal(array[:64, :256], DATA[:64, :256])
    assert faulty.stats().total > 16  # 16 chunks, and the tries after each timeout


def test_faults_that_never_end_raise_one_clear_error_within_the_deadline(
    faulty: ObjectServer,
) -> None:
    array = open_http(faulty, "unsharded", retry_deadline=1.0, retry_backoff=0.05)
    faulty.configure(faults=[Fault(kind="503", rate=1.0, keys=CHUNKS)])
    faulty.reset_stats()
    start = time.monotonic()
    with pytest.raises(RetriesExhaustedError) as raised:
        array[...]  # 64 chunks
    took = time.monotonic() - start
    error = raised.value
    assert took < 1.5, took
    assert error.key.startswith("c/") and error.operation == "get" and error.reason == "503"
    assert error.attempts >= 2 and "retry_deadline=1 s" in str(error)
    # no request of the read goes on after its error
    requests = faulty.stats().total
    time.sleep(0.2)
    assert faulty.stats().total == requests


@pytest.mark.parametrize("name", LAYOUTS)
def test_missing_chunks_and_conflicts_are_not_retried(faulty: ObjectServer, name: str) -> None:
    store = ObjectStore(faulty.url, **QUICK)
    faulty.reset_stats()
    assert store.get(f"{name}/c/99/99") is None  # 404: absent, one request
    assert faulty.stats().total == 1
    if faulty.etag(f"{name}/zarr.json") is None:
        return  # no versions without ETags
    with pytest.raises(ConflictError):  # 412: a conflict, not a fault
        store.get_versioned(f"{name}/zarr.json", if_match='"stale"')
    assert faulty.stats().total == 2


def raw_error(server: ObjectServer, kind: str, call: Any) -> BaseException:
    """The error obstore raises (its retries off) for ``call`` with ``kind`` faults."""
    server.configure(faults=[Fault(kind=kind, rate=1.0)] if kind else [], slow_delay=1.0)
    store = obstore.store.HTTPStore(
        server.url, client_options={"allow_http": True, "timeout": "0.3s"}, retry_config=NO_RETRIES
    )
    with pytest.raises(Exception) as raised:
        call(store)
    return raised.value


@pytest.mark.parametrize(
    ("kind", "call", "reason"),
    [
        ("503", lambda s: obstore.get(s, "unsharded/zarr.json"), "503"),
        ("429", lambda s: obstore.head(s, "unsharded/zarr.json"), "429"),
        (
            "reset",
            lambda s: obstore.get_range(s, "unsharded/c/0/0", start=0, end=8),
            "connection reset",
        ),
        ("truncate", lambda s: obstore.get(s, "unsharded/c/0/0").bytes(), "truncated body"),
        ("slow", lambda s: obstore.get(s, "unsharded/c/0/0"), "timeout"),
        ("checksum", lambda s: obstore.get(s, "unsharded/c/0/0"), "checksum mismatch"),
        ("", lambda s: obstore.get(s, "missing"), None),  # 404
        ("", lambda s: obstore.get(s, "unsharded/c/0/0", options={"if_match": '"x"'}), None),
        (
            "",
            lambda s: obstore.get_range(s, "unsharded/zarr.json", start=10**6, end=10**6 + 1),
            None,
        ),
    ],
    ids=["503", "429", "reset", "truncate", "timeout", "checksum", "404", "412", "416"],
)
def test_what_obstore_raises_is_retried_only_when_transient(
    faulty: ObjectServer, kind: str, call: Any, reason: str | None
) -> None:
    assert transient(raw_error(faulty, kind, call)) == reason


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Server returned error response: <Error><Code>InternalError</Code>", "500"),
        ("Server returned error response: <Error><Code>SlowDown</Code>", "503"),
        ("Server returned error response: <Error><Code>AccessDenied</Code>", None),
        (
            "Server returned non-2xx status code: 400 Bad Request: <Code>BadDigest</Code>",
            "checksum mismatch",
        ),
        (
            "Server returned non-2xx status code: 400 Bad Request: <Code>InvalidArgument</Code>",
            None,
        ),
        ("Error performing GET in 2 s, after 3 retries - status code: 503", None),
    ],
)
def test_obstore_messages_without_a_live_server(message: str, reason: str | None) -> None:
    """200 answers carrying an error (S3 completing a multipart upload), 400s that say a body
    was damaged, and failures obstore already retried."""
    assert transient(obstore.exceptions.GenericError(message)) == reason
    assert transient(FileNotFoundError(message)) is None


def test_what_obstore_retried_already_is_not_retried_again(faulty: ObjectServer) -> None:
    """A store built beforehand with obstore's own retries: its failures are final."""
    faulty.configure(faults=[Fault(kind="503", rate=1.0)])
    inner = obstore.store.HTTPStore(
        faulty.url, client_options={"allow_http": True}, retry_config={"max_retries": 1}
    )
    faulty.reset_stats()
    with pytest.raises(StoreError, match="503"):
        ObjectStore(inner).get("unsharded/zarr.json")
    assert faulty.stats().total == 2  # obstore's two tries, and no more


# --- S3 (moto behind the fault proxy) ----------------------------------------------------------
@pytest.fixture
def s3(s3_fault_proxy: tuple[FaultProxy, str, dict]) -> Iterator[tuple[FaultProxy, str, dict]]:
    proxy, bucket, options = s3_fault_proxy
    yield proxy, f"s3://{bucket}/data", {**options, **QUICK}


def test_s3_window_reads_under_30_percent_faults_are_right_every_time(s3) -> None:
    proxy, url, options = s3
    zarrkit.create_array(url, data=DATA, storage_options=options, **LAYOUTS["sharded"])
    proxy.configure(faults=THIRTY_PERCENT, seed=5)
    for _ in range(5):
        array = zarrkit.open_array(url, mode="r", storage_options=options)
        np.testing.assert_array_equal(array[WINDOW], DATA[WINDOW])
    assert sum(proxy.stats().faults.values()) >= 5


def test_s3_writes_under_faults_lose_nothing(s3) -> None:
    proxy, url, options = s3
    kinds: list[FaultKind] = ["503", "429", "reset", "lose-put", "checksum", "truncate"]
    proxy.configure(faults=[Fault(kind=k, rate=0.05) for k in kinds], seed=3)
    array = zarrkit.create_array(
        url, shape=DATA.shape, dtype="f4", storage_options=options, **LAYOUTS["sharded"]
    )
    array[...] = DATA  # whole shards
    array[10:70, 5:90] = -DATA[10:70, 5:90]  # read-modify-writes of shared shards
    proxy.configure(faults=[])
    expected = DATA.copy()
    expected[10:70, 5:90] *= -1
    np.testing.assert_array_equal(zarrkit.open_array(url, storage_options=options)[...], expected)
    assert sum(proxy.stats().faults.values()) >= 5


def _seed_where(plan: list[tuple[str, str, bool]], faults: list[Fault]) -> int:
    """A seed whose fault draws give the requests ``(method, key, faulted)`` in order."""
    for seed in range(10_000):
        draws = FaultPlan(faults, seed)
        if all((draws.choose(m, k) is not None) == hit for m, k, hit in plan):
            return seed
    raise AssertionError("no seed found")  # pragma: no cover


@pytest.mark.parametrize("create", [True, False], ids=["create", "replace"])
def test_a_conditional_write_whose_answer_was_lost_is_written_once(s3, create: bool) -> None:
    proxy, url, options = s3
    store = ObjectStore(url, **options)
    version = None if create else store.set_if("k", b"old", if_match=None)
    proxy.configure(faults=[Fault(kind="lose-put", rate=1.0)])
    proxy.reset_stats()
    new = store.set_if("k", b"new", if_match=version)  # applied; its answer lost
    assert proxy.stats().requests == {"PUT": 1, "GET": 1}  # read again, not written twice
    proxy.configure(faults=[])
    assert store.get_versioned("k") == Versioned(b"new", new)


def test_a_conditional_write_that_was_not_applied_is_sent_again(s3) -> None:
    proxy, url, options = s3
    store = ObjectStore(url, **options)
    version = store.set_if("k", b"old", if_match=None)
    key = url.removeprefix("s3://") + "/k"
    faults = [Fault(kind="503", rate=0.5)]
    plan = [("PUT", key, True), ("GET", key, False), ("PUT", key, False)]
    proxy.configure(faults=faults, seed=_seed_where(plan, faults))
    proxy.reset_stats()
    new = store.set_if("k", b"new", if_match=version)
    assert proxy.stats().requests == {"PUT": 2, "GET": 1}
    assert store.get_versioned("k") == Versioned(b"new", new)


def test_a_lost_answer_behind_another_writer_is_a_conflict(
    s3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write was not applied, and before it is read again another writer's value
    arrived: a conflict (the read-modify-write above reads and applies its change again)."""
    _, url, options = s3
    store = ObjectStore(url, **options)
    version = store.set_if("k", b"old", if_match=None)
    put = obstore.put

    def another_writer_first(target: Any, key: str, value: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(obstore, "put", put)
        put(target, key, b"another writer's")
        raise obstore.exceptions.GenericError("HTTP error: error sending request kind: Request")

    monkeypatch.setattr(obstore, "put", another_writer_first)
    with pytest.raises(ConflictError, match="answer to its write was lost"):
        store.set_if("k", b"new", if_match=version)
    assert store.get("k") == b"another writer's"


def test_a_batch_write_failing_part_way_names_exactly_the_keys_not_written(s3) -> None:
    proxy, url, options = s3
    store = ObjectStore(url, **{**options, "retry_attempts": 2})
    keys = [f"{kind}/{i}" for i in range(12) for kind in ("good", "bad")]
    store.set_many({key: b"old" for key in keys})
    proxy.configure(faults=[Fault(kind="503", rate=1.0, keys="*/bad/*")])
    with pytest.raises(PartialWriteError) as raised:
        store.set_many({key: b"new" for key in keys})
    error = raised.value
    proxy.configure(faults=[])
    assert error.key.split("/")[0] == "bad" and isinstance(error.error, RetriesExhaustedError)
    assert {key for key in keys if store.get(key) == b"old"} == set(error.unwritten)
    assert {key for key in keys if "bad" in key} <= set(error.unwritten)


def test_an_array_write_failing_part_way_names_the_chunks_not_written(s3) -> None:
    proxy, url, options = s3
    array = zarrkit.create_array(
        url, data=DATA, chunks=(64, 64), storage_options={**options, "retry_attempts": 2}
    )
    proxy.configure(faults=[Fault(kind="503", rate=1.0, keys="*/c/1/*")])
    with pytest.raises(PartialWriteError) as raised:
        array[...] = -DATA
    proxy.configure(faults=[])
    unwritten = set(raised.value.unwritten)
    assert {f"c/1/{j}" for j in range(4)} <= unwritten
    stored = zarrkit.open_array(url, storage_options=options)
    for i in range(4):
        for j in range(4):
            block = (slice(i * 64, i * 64 + 64), slice(j * 64, j * 64 + 64))
            sign = 1 if f"c/{i}/{j}" in unwritten else -1
            np.testing.assert_array_equal(stored[block], sign * DATA[block])
