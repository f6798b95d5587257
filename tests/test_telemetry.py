"""Telemetry: the events of array, store, codec and cache boundaries, and their subscribers."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import numpy as np
import pytest
from optional import optional

import zarrkit
from zarrkit import config, telemetry
from zarrkit.engine.cache import ChunkCache
from zarrkit.errors import ConflictError, StoreError
from zarrkit.storage import MemoryStore, RangeRequest, Store
from zarrkit.storage.wrappers import FaultInjectionStore, LoggingStore, WrapperStore
from zarrkit.telemetry import (
    ArrayEvent,
    CacheEvent,
    CodecEvent,
    ConflictEvent,
    RetryEvent,
    StoreEvent,
)

zarr_buffers = optional("zarr.core.buffer")


@pytest.fixture
def events():
    """Every event emitted inside the test."""
    found: list[telemetry.Event] = []
    with telemetry.subscribed(found.append):
        yield found


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def store_calls(events):
    """(op, key, count, nbytes, missing, outcome) of each store event."""
    return [(e.op, e.key, e.count, e.nbytes, e.missing, e.outcome) for e in of(events, StoreEvent)]


def test_reads_and_writes_emit_array_events(events):
    a = zarrkit.create_array(MemoryStore(), name="g/t", shape=(10, 10), chunks=(4, 4), dtype="f8")
    a[:6, :5] = 1.0
    a[2:9, 3]
    writes, reads = ([e for e in of(events, ArrayEvent) if e.op == op] for op in ("write", "read"))
    assert [(e.path, e.shape, e.chunks, e.nbytes) for e in writes] == [("g/t", (6, 5), 4, 240)]
    assert [(e.path, e.shape, e.chunks, e.nbytes) for e in reads] == [("g/t", (7,), 3, 56)]
    assert reads[0].error is None and reads[0].duration > 0 and "MemoryStore" in reads[0].store


def test_work_in_worker_threads_carries_the_span_of_its_array_operation(events):
    a = zarrkit.create_array(MemoryStore(), shape=(64,), chunks=(1,), dtype="u1")
    with config.set(threads=4, read_threads=4):
        a[:] = 7
        a[:]
    write, read = of(events, ArrayEvent)
    for parent in (write, read):
        children = [e for e in events if e.span == parent.span and e is not parent]
        assert Counter(type(e) for e in children)[CodecEvent] == 64
        assert of(children, StoreEvent)  # the batches of the workers
        assert all(parent.start <= e.start <= parent.end for e in children)
    assert len({write.span, read.span}) == 2


def test_failed_reads_say_so(events):
    inner = MemoryStore()
    zarrkit.create_array(inner, shape=(4,), chunks=(2,), dtype="i2")[:] = 1
    broken = zarrkit.open_array(FaultInjectionStore(inner, operations={"get_many"}, keys={"c/0"}))
    with pytest.raises(StoreError):
        broken[:]
    failed = [e for e in of(events, ArrayEvent) if e.error]
    assert [(e.op, e.error, e.shape) for e in failed] == [("read", "StoreError", ())]
    store_failures = [e for e in of(events, StoreEvent) if e.outcome == "error"]
    assert store_failures and all(e.error == "StoreError" for e in store_failures)


def test_store_events_one_per_call_with_bytes_and_outcome(events):
    store = MemoryStore()
    store.set("a", b"12345")
    store.set_many({"b": b"xy", "c": b"z"})
    store.get("a")
    store.get("nothing")
    store.get_many(["a", "b", "nothing"])
    store.delete_many(["b", "c"])
    assert sorted(store.list()) == ["a"]
    assert store_calls(events) == [
        ("set", "a", 1, 5, 0, "ok"),
        ("set_many", None, 2, 3, 0, "ok"),
        ("get", "a", 1, 5, 0, "ok"),
        ("get", "nothing", 1, 0, 1, "missing"),
        ("get_many", None, 3, 7, 1, "ok"),
        ("delete_many", None, 2, 0, 0, "ok"),
        ("list", "", 1, 0, 0, "ok"),
    ]


def test_zarr_python_store_names_report_bytes_not_buffers(events):
    prototype = zarr_buffers.default_buffer_prototype()
    store = MemoryStore()
    store.set_sync("a/x", prototype.buffer.from_bytes(b"1234"))
    store.set_if_not_exists("a/y", b"56")
    assert store.get("a/x", prototype=prototype).to_bytes() == b"1234"
    assert store.getsize_prefix("a") == 6
    store.delete_dir("a")
    got = [(e.op, e.key, e.nbytes) for e in of(events, StoreEvent)]
    assert got == [
        ("set", "a/x", 4),
        ("set_if_not_exists", "a/y", 2),
        ("get", "a/x", 4),
        ("getsize_prefix", "a", 0),
        ("delete_prefix", "a/", 0),
    ]


def test_a_wrapped_store_counts_once_as_the_store_called(events):
    inner = MemoryStore()
    outer = LoggingStore(inner)
    outer.set("k", b"v")
    outer.get_many(["k"])
    list(outer.list_prefix(""))
    assert [(e.op, e.store.startswith("LoggingStore")) for e in of(events, StoreEvent)] == [
        ("set", True),
        ("get_many", True),
        ("list", True),
    ]
    assert outer.stats.calls["set"] == 1  # the wrapper still sees its calls


def test_an_abandoned_listing_is_still_reported(events):
    store = MemoryStore()
    store.set_many({"a": b"", "b": b"", "c": b""})
    assert not store.is_empty()
    listing = of(events, StoreEvent)[-1]
    assert (listing.op, listing.count, listing.outcome) == ("list", 1, "ok")


def test_store_errors_are_events_with_the_error(events):
    store = FaultInjectionStore(MemoryStore(), operations={"set"})
    with pytest.raises(StoreError):
        store.set("a", b"x")
    (event,) = of(events, StoreEvent)
    assert (event.op, event.key, event.outcome, event.error) == ("set", "a", "error", "StoreError")


def test_the_version_methods_are_store_events_with_keys_and_bytes(events):
    store = MemoryStore()
    version = store.set_if("a", b"12345", if_match=None)
    store.set_many_if([("b", b"xy", None), ("a", b"no", None)])  # "a" exists: not written
    store.get_versioned("a", RangeRequest(1, 3))
    store.get_versioned("nothing")
    store.get_many_versioned(["a", "b", "nothing"])
    store.get_ranges_if("a", [RangeRequest(0, 1), RangeRequest(4, 5)], version)
    store.get_then("a", RangeRequest(0, 1), lambda head, start: [RangeRequest(1, 5)])
    assert store_calls(events) == [
        ("set_if", "a", 1, 5, 0, "ok"),
        ("set_many_if", None, 2, 4, 0, "ok"),
        ("get_versioned", "a", 1, 2, 0, "ok"),
        ("get_versioned", "nothing", 1, 0, 1, "missing"),
        ("get_many_versioned", None, 3, 7, 1, "ok"),
        ("get_ranges_if", "a", 2, 2, 0, "ok"),
        ("get_then", "a", 1, 5, 0, "ok"),
    ]
    assert all(e.duration > 0 for e in of(events, StoreEvent))


def test_a_failed_condition_is_a_store_error_event(events):
    store = MemoryStore()
    with pytest.raises(ConflictError):
        store.set_if("a", b"x", if_match="no such version")
    (event,) = of(events, StoreEvent)
    assert (event.op, event.outcome, event.error) == ("set_if", "error", "ConflictError")


class RewriteBetweenReads(WrapperStore):
    """Reads through the base :meth:`Store.get_then` (a first read, then the ranges checked
    against it) and runs ``rewrite`` once right after the first read of ``key``: a writer
    replacing the shard while a reader is between its index and its ranges. With
    ``versions=False``, as a store without versions (the first read is checked by reading
    it again)."""

    _get_then = Store._get_then

    def __init__(self, inner, key, rewrite, *, versions):
        super().__init__(inner)
        self.key, self.rewrite = key, [rewrite]
        self.supports_versions = self.versions_cacheable = versions

    def _call(self, operation, keys, sent, call):
        result = call()
        if self.key in keys and self.rewrite:
            self.rewrite.pop()()
        return result


@pytest.mark.parametrize("versions", [True, False], ids=["versions", "no-versions"])
def test_a_shard_replaced_during_a_read_is_a_conflict_then_read_again(events, versions):
    inner = MemoryStore()
    a = zarrkit.create_array(inner, shape=(4, 4), chunks=(2, 2), shards=(4, 4), dtype="i4")
    a[:] = 1
    rewrite = lambda: a.__setitem__((slice(2, None), slice(2, None)), 0)  # noqa: E731
    store = RewriteBetweenReads(inner, "c/0/0", rewrite, versions=versions)
    reader = zarrkit.open_array(store)
    with config.set(shard_read_ahead=0):  # the inner chunk is read apart from the index
        assert (reader[:2, :2] == 1).all()
    (conflict,) = of(events, ConflictEvent)
    assert (conflict.op, conflict.key, conflict.attempt) == ("get_then", "c/0/0", 1)
    assert conflict.resolution == "retry" and conflict.span == of(events, ArrayEvent)[-1].span


def test_a_read_through_a_stale_cached_index_is_a_conflict_then_read_again(events):
    store = MemoryStore()
    a = zarrkit.create_array(store, shape=(8,), chunks=(2,), shards=(8,), dtype="i4")
    a[:] = 1
    assert a[:2].tolist() == [1, 1]  # caches the shard's index with its version
    zarrkit.open_array(MemoryStore(store._data))[6:] = 5  # another writer: a new version
    assert a[:2].tolist() == [1, 1]
    (conflict,) = of(events, ConflictEvent)
    assert (conflict.op, conflict.key, conflict.resolution) == ("get_ranges_if", "c/0", "retry")
    assert conflict.span == of(events, ArrayEvent)[-1].span


def test_codec_events_name_the_codecs_and_the_bytes(events):
    a = zarrkit.create_array(
        MemoryStore(), shape=(8,), chunks=(8,), dtype="i4", compressors={"name": "zstd"}
    )
    a[:] = np.arange(8)
    a[:]
    a[:3]  # a part of a chunk: decoded whole, with its key known
    encode, whole, part = of(events, CodecEvent)
    assert (encode.op, encode.codecs, encode.nbytes_in) == ("encode", ("bytes", "zstd"), 32)
    assert (whole.op, whole.nbytes_in, whole.nbytes_out) == ("decode", encode.nbytes_out, 32)
    assert (whole.key, part.key) == (None, "c/0")


def test_sharded_arrays_report_inner_chunks(events):
    a = zarrkit.create_array(MemoryStore(), shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="u1")
    a[:] = 1
    events.clear()
    a[:2, :2]
    (read,) = of(events, ArrayEvent)
    assert read.chunks == 1
    ops = [e.op for e in of(events, StoreEvent)]
    assert "get_then" in ops and all(e.span == read.span for e in of(events, StoreEvent))
    index_and_chunk = [e.codecs for e in of(events, CodecEvent) if e.op == "decode"]
    assert sorted(index_and_chunk) == [("bytes", "crc32c"), ("bytes", "zstd")]


def test_iter_chunks_reads_chunk_by_chunk(events):
    a = zarrkit.create_array(MemoryStore(), shape=(6,), chunks=(2,), dtype="u1")
    a[:] = 3
    events.clear()
    assert len(list(a.iter_chunks())) == 3
    reads = of(events, ArrayEvent)
    assert [(e.op, e.chunks, e.shape, e.nbytes) for e in reads] == [("read", 1, (2,), 2)] * 3


def test_cache_hits_misses_and_evictions(events):
    cache = ChunkCache(16)
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="i8", cache=cache)
    a[:] = 5
    events.clear()
    a[:2]  # miss, then cached
    a[:2]  # hit
    a[2:]  # miss; the 16-byte budget evicts the first chunk
    got = [(e.op, e.nbytes) for e in of(events, CacheEvent)]
    assert got == [("miss", 0), ("hit", 16), ("miss", 0), ("evict", 16)]


def test_nothing_is_computed_without_subscribers(monkeypatch):
    class NoClock:
        def time_ns(self):
            raise AssertionError("timed without a subscriber")

        perf_counter = time_ns

    monkeypatch.setattr(telemetry, "time", NoClock())
    assert not telemetry.active.any
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="u1")
    a[:] = 1
    assert list(a[:]) == [1] * 4
    with telemetry.subscribed(lambda e: None), pytest.raises(AssertionError, match="timed"):
        a[:]


def test_subscribers_may_be_objects_with_a_method_per_kind():
    class Bytes:
        def __init__(self):
            self.read = Counter()

        def on_array(self, event):
            if event.op == "read":
                self.read[event.path] += event.nbytes

    a = zarrkit.create_array(MemoryStore(), name="x", shape=(100,), chunks=(10,), dtype="f4")
    with telemetry.subscribed(Bytes()) as tally:
        a[:50]
        a[:]
        assert telemetry.active.array and not telemetry.active.store  # only what it wants
    a[:]
    assert tally.read == {"x": 600}


def test_a_callable_may_ask_for_some_event_types():
    seen = []
    with telemetry.subscribed(seen.append, StoreEvent):
        MemoryStore().get("k")
        zarrkit.create_array(MemoryStore(), shape=(1,), dtype="u1")[:]
    assert seen and all(isinstance(e, StoreEvent) for e in seen)


def test_subscribe_and_unsubscribe():
    seen = []
    telemetry.subscribe(seen.append)
    try:
        MemoryStore().get("k")
    finally:
        telemetry.unsubscribe(seen.append)
    telemetry.unsubscribe(seen.append)  # twice is fine
    MemoryStore().get("k")
    assert len(seen) == 1 and not telemetry.active.any


def test_a_failing_subscriber_is_dropped_and_logged(caplog):
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("subscriber bug")

    telemetry.subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="zarrkit.telemetry"):
        a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="u1")
        a[:] = 1
    assert len(calls) == 1 and "subscriber bug" in caplog.text
    assert not telemetry.active.any
    assert list(a[:]) == [1] * 4


def test_bad_subscribers_are_refused():
    with pytest.raises(TypeError, match="on_array"):
        telemetry.subscribe(object())
    with pytest.raises(TypeError, match="event type"):
        telemetry.subscribe(print, int)


def test_emit_builds_an_event_only_for_listeners():
    telemetry.emit(RetryEvent, op="get", store="s", key="k", attempt=1, reason="503")
    seen = []
    with telemetry.subscribed(seen.append, RetryEvent, ConflictEvent):
        telemetry.emit(RetryEvent, op="get", store="s", key="k", attempt=2, delay=0.5, reason="503")
        telemetry.emit(ConflictEvent, op="set_if", store="s", key="k", resolution="gave up")
    assert [(type(e).__name__, e.attempt) for e in seen] == [
        ("RetryEvent", 2),
        ("ConflictEvent", 1),
    ]
    assert seen[0].span is None


def test_emit_inside_an_array_operation_carries_its_span():
    class RetryingStore(MemoryStore):
        def _get_many(self, keys):
            telemetry.emit(RetryEvent, op="get_many", store=repr(self), attempt=1, reason="test")
            return super()._get_many(keys)

    a = zarrkit.create_array(RetryingStore(), shape=(2,), chunks=(2,), dtype="u1")
    seen = []
    with telemetry.subscribed(seen.append, RetryEvent, ArrayEvent):
        a[:]
    retry, read = seen
    assert retry.span == read.span is not None


def test_what_a_subscriber_does_emits_nothing():
    """A subscriber recording its figures in a Zarr array does not feed itself."""
    log = zarrkit.create_array(MemoryStore(), shape=(100,), chunks=(10,), dtype="f8")
    cache = ChunkCache(1000)
    cached = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="u1", cache=cache)
    seen = []

    def record(event):
        seen.append(event)
        log[len(seen) % 100] = event.duration if isinstance(event, ArrayEvent) else 0.0
        cached[:]  # cache lookups inside a subscriber: no events either

    with telemetry.subscribed(record):
        zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="u1")[:] = 1
    assert seen and len(seen) < 20
    assert not any(isinstance(e, CacheEvent) for e in seen)


def test_events_are_frozen():
    event = StoreEvent(op="get", store="s")
    with pytest.raises(AttributeError):
        event.op = "set"  # type: ignore[misc]


def test_summary_counts_requests_bytes_and_codec_time():
    a = zarrkit.create_array(MemoryStore(), shape=(16,), chunks=(4,), dtype="u1", compressors=None)
    with (
        config.set(threads=1, read_threads=1),
        telemetry.subscribed(telemetry.Summary()) as summary,
    ):
        a[:] = 1
        a[:]
    assert summary.requests == {"set_many": 1, "get_many": 1}
    assert summary.bytes_written == summary.bytes_read == 16
    assert set(summary.codec_seconds) == {"encode", "decode"} and summary.duration > 0
    assert dict(summary.rows())["Store requests"] == "2 (get_many 1, set_many 1)"


def test_subscribing_is_thread_safe():
    seen = []
    lock = threading.Lock()

    def count(event):
        with lock:
            seen.append(event)

    a = zarrkit.create_array(MemoryStore(), shape=(8,), chunks=(1,), dtype="u1")
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            with telemetry.subscribed(lambda e: None):
                pass

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        with telemetry.subscribed(count, ArrayEvent):
            for _ in range(50):
                a[:] = 1
    finally:
        stop.set()
        worker.join()
    assert len(seen) == 50
