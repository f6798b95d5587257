import logging
import pickle
import time

import pytest

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.storage import LocalStore, MemoryStore
from zarrkit.storage.wrappers import (
    FaultInjectionStore,
    LatencyStore,
    LoggingStore,
    PrefixStore,
    ReadOnlyStore,
)
from zarrkit.testing import StoreSuite


class _WrapperSuite(StoreSuite):
    # Wrappers only forward calls: the inner LocalStore runs the full-size suite itself.
    many_keys = 200
    large_value_size = 2**20


class TestPrefixStore(_WrapperSuite):
    @pytest.fixture
    def store(self, tmp_path):
        inner = LocalStore(tmp_path)
        inner.set("outside", b"not part of the prefix store")
        yield PrefixStore(inner, "deep/prefix")


class TestLoggingStore(_WrapperSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield LoggingStore(LocalStore(tmp_path))


class TestLatencyStore(_WrapperSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield LatencyStore(LocalStore(tmp_path), latency=0.0)


class TestFaultInjectionStoreWithoutFaults(_WrapperSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield FaultInjectionStore(LocalStore(tmp_path), probability=0.0, seed=1)


def test_prefix_store_maps_keys():
    inner = MemoryStore()
    inner.set("other/k", b"0")
    store = PrefixStore(inner, "a/b/")
    store.set_many({"x": b"1", "y/z": b"2"})
    assert sorted(inner.list()) == ["a/b/x", "a/b/y/z", "other/k"]
    assert sorted(store.list()) == ["x", "y/z"]
    assert sorted(store.list_dir("")) == ["x", "y"]
    store.delete_prefix("")
    assert list(inner.list()) == ["other/k"]


def test_prefix_store_rejects_bad_prefix():
    with pytest.raises(ValueError):
        PrefixStore(MemoryStore(), "../up")


def test_read_only_store():
    inner = MemoryStore()
    inner.set("k", b"v")
    store = ReadOnlyStore(inner)
    assert store.get("k") == b"v"
    with pytest.raises(ReadOnlyError):
        store.set("k", b"w")
    with pytest.raises(ReadOnlyError):
        store.with_read_only(False)
    assert store.with_read_only(True) is store
    assert inner.get("k") == b"v"


def test_read_only_store_pickles(tmp_path):
    LocalStore(tmp_path).set("k", b"v")
    clone = pickle.loads(pickle.dumps(ReadOnlyStore(LocalStore(tmp_path))))
    assert isinstance(clone, ReadOnlyStore)
    assert clone.get("k") == b"v"


def test_logging_store_logs_and_counts(caplog):
    store = LoggingStore(MemoryStore())
    with caplog.at_level(logging.DEBUG, logger="zarrkit"):
        store.set("a/b", b"12345")
        store.get("a/b")
        store.get_many(["a/b", "missing"])
        list(store.list())
    assert store.stats.calls == {"set": 1, "get": 1, "get_many": 1, "list": 1}
    assert store.stats.bytes["set"] == 5
    assert store.stats.bytes["get"] == 5
    assert store.stats.bytes["get_many"] == 5
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("set 'a/b' 5 bytes") and m.endswith("ms") for m in messages)
    assert any(m.startswith("get_many 2 keys 5 bytes") for m in messages)
    store.stats.reset()
    assert store.stats.calls == {}


def test_logging_store_logs_failures(caplog):
    store = LoggingStore(FaultInjectionStore(MemoryStore(), operations={"get"}))
    with caplog.at_level(logging.DEBUG, logger="zarrkit"), pytest.raises(StoreError):
        store.get("k")
    assert "get 'k' failed after" in caplog.text
    assert store.stats.calls["get"] == 0


def test_latency_store_sleeps():
    store = LatencyStore(MemoryStore(), latency=0.02)
    start = time.perf_counter()
    store.set("k", b"v")
    store.get("k")
    assert time.perf_counter() - start >= 0.04
    with pytest.raises(ValueError):
        LatencyStore(MemoryStore(), latency=-1)


def test_fault_on_every_call():
    store = FaultInjectionStore(MemoryStore())
    with pytest.raises(StoreError) as info:
        store.set("a/b", b"x")
    assert info.value.key == "a/b"
    assert info.value.operation == "set"
    with pytest.raises(StoreError):
        store.get("a/b")
    with pytest.raises(StoreError):
        list(store.list())
    assert store.faults == 3


def test_fault_on_chosen_operation_and_key():
    inner = MemoryStore()
    store = FaultInjectionStore(inner, operations={"get", "get_many"}, keys={"c/1"})
    store.set_many({"c/0": b"0", "c/1": b"1"})
    assert store.get("c/0") == b"0"
    with pytest.raises(StoreError) as info:
        store.get("c/1")
    assert info.value.key == "c/1"
    with pytest.raises(StoreError):
        store.get_many(["c/0", "c/1"])
    assert store.get_many(["c/0"]) == [b"0"]
    store.delete("c/1")
    assert inner.get("c/1") is None


def test_fault_probability_is_seeded():
    def failures(seed):
        store = FaultInjectionStore(MemoryStore(), probability=0.3, seed=seed)
        pattern = []
        for i in range(200):
            try:
                store.get(f"k{i}")
                pattern.append(False)
            except StoreError:
                pattern.append(True)
        return pattern, store

    first, store = failures(7)
    again, _ = failures(7)
    other, _ = failures(8)
    assert first == again
    assert first != other
    assert 30 < sum(first) < 90
    assert store.faults == sum(first)
    assert store.stats.calls["get"] == 200 - sum(first)


def test_fault_custom_error_and_counters():
    store = FaultInjectionStore(
        MemoryStore(), operations={"delete"}, error=TimeoutError, latency=0.001
    )
    store.set("k", b"abc")
    store.get("k")
    with pytest.raises(TimeoutError, match="delete 'k': injected fault"):
        store.delete("k")
    assert store.stats.calls == {"set": 1, "get": 1}
    assert store.stats.bytes == {"set": 3, "get": 3}


def test_fault_injection_validates_arguments():
    with pytest.raises(ValueError):
        FaultInjectionStore(MemoryStore(), probability=1.5)
    with pytest.raises(ValueError, match="unknown operations"):
        FaultInjectionStore(MemoryStore(), operations={"put"})


def test_wrappers_pickle(tmp_path):
    LocalStore(tmp_path).set("k", b"v")
    for store in (
        LoggingStore(LocalStore(tmp_path)),
        FaultInjectionStore(LocalStore(tmp_path), probability=0.0, seed=3),
    ):
        clone = pickle.loads(pickle.dumps(store))
        assert clone.get("k") == b"v"
        assert clone.stats.calls["get"] == 1


def test_wrappers_have_the_versions_of_the_store_they_wrap(tmp_path):
    for inner in (MemoryStore(), LocalStore(tmp_path)):
        for wrapper in (PrefixStore(inner, "p"), LoggingStore(inner), ReadOnlyStore(inner)):
            assert wrapper.supports_versions == inner.supports_versions
            assert wrapper.supports_conditional_writes == inner.supports_conditional_writes
            assert wrapper.versions_cacheable == inner.versions_cacheable
    prefixed = PrefixStore(MemoryStore(), "p")
    version = prefixed.set_if("k", b"1", if_match=None)
    assert prefixed.inner.get_versioned("p/k").version == version


def test_injected_conflicts_on_conditional_reads_fall_back_to_the_index():
    import numpy as np

    import zarrkit
    from zarrkit.errors import ConflictError

    inner = MemoryStore()
    a = zarrkit.create_array(inner, shape=(64,), chunks=(4,), shards=(32,), dtype="i4")
    a[...] = np.arange(64)
    store = FaultInjectionStore(inner, operations={"get_ranges_if"}, error=ConflictError)
    reader = zarrkit.open_array(store)
    for start in range(0, 32, 4):  # the cached index's reads always conflict here
        assert reader[start : start + 4].tolist() == list(range(start, start + 4))
    assert store.injected.calls["get_ranges_if"] == 7 and store.stats.calls["get_then"] == 8
