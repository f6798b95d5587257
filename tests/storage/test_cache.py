"""CacheStore: a slow store's bytes cached in another store, bounded, invalidated by writes."""

import asyncio
import threading
import time

import numpy as np
import pytest

import zarrkit
from zarrkit.experimental.cache_store import CacheStore
from zarrkit.storage import LatencyStore, LocalStore, LoggingStore, MemoryStore, Store
from zarrkit.testing import StoreSuite
from zarrkit.types import RangeRequest, SuffixRequest


class TestCacheStore(StoreSuite):
    shares_data_when_pickled = False  # a MemoryStore underneath: pickled as a snapshot

    @pytest.fixture
    def store(self):
        yield CacheStore(MemoryStore(), cache_store=MemoryStore(), max_size=2**20)


class TestUnboundedCacheStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield CacheStore(LocalStore(tmp_path / "data"), cache_store=LocalStore(tmp_path / "cache"))


def counted(latency: float = 0.0) -> LoggingStore:
    """A store whose calls are counted (``.stats.calls``), each taking ``latency``."""
    return LoggingStore(LatencyStore(MemoryStore(), latency=latency))


def test_saves_requests_on_repeated_reads():
    slow = counted(latency=0.02)
    cached = CacheStore(slow, cache_store=MemoryStore(), cache_set_data=False)
    arr = zarrkit.create_array(cached, shape=(64, 64), chunks=(16, 16), dtype="f8")
    arr[:] = np.random.default_rng(0).random((64, 64))
    slow.stats.reset()
    reader = zarrkit.open_array(cached, mode="r")
    start = time.perf_counter()
    first = reader[:]
    first_seconds = time.perf_counter() - start
    fetched = sum(slow.stats.calls.values())
    assert fetched >= 1
    start = time.perf_counter()
    for _ in range(5):
        np.testing.assert_array_equal(reader[:], first)
    again_seconds = (time.perf_counter() - start) / 5
    assert sum(slow.stats.calls.values()) == fetched  # every chunk came from the cache
    assert again_seconds < first_seconds
    stats = cached.cache_stats()
    assert stats["hits"] >= 5 * 16 and stats["hit_rate"] > 0.5


def test_bounded_in_bytes_least_recently_used_first():
    inner = MemoryStore()
    inner.set_many({f"k{i}": bytes([i]) * 100 for i in range(5)})
    cached = CacheStore(inner, cache_store=MemoryStore(), max_size=300)
    for key in ("k0", "k1", "k2"):
        cached.get(key)
    cached.get("k0")  # k1 is now the least recently used
    cached.get("k3")
    info = cached.cache_info()
    assert info["current_size"] == 300 and info["cached_keys"] == 3
    assert sorted(cached.cache_store.list()) == ["k0", "k2", "k3"]
    assert cached.cache_stats()["evictions"] == 1
    cached.set("big", b"x" * 301)  # larger than the whole budget: not cached
    assert cached.cache_store.get("big") is None and cached.get("big") == b"x" * 301


def test_writes_and_deletes_through_it_invalidate():
    inner = MemoryStore()
    cached = CacheStore(inner, cache_store=MemoryStore(), cache_set_data=False)
    cached.set("a/b", b"one")
    assert cached.get("a/b") == b"one" and cached.cache_store.get("a/b") == b"one"
    assert cached.get("a/b", RangeRequest(0, 2)) == b"on"
    cached.set("a/b", b"two")
    assert cached.cache_store.get("a/b") is None  # cache_set_data=False: not cached
    assert cached.get("a/b") == b"two" and cached.get("a/b", SuffixRequest(2)) == b"wo"
    cached.delete("a/b")
    assert cached.get("a/b") is None
    cached.set_many({"p/1": b"1", "p/2": b"2"})
    assert cached.get_many(["p/1", "p/2"]) == [b"1", b"2"]
    cached.delete_dir("p")
    assert cached.get_many(["p/1", "p/2"]) == [None, None]
    assert cached.cache_info()["current_size"] == 0


def test_cache_set_data_caches_writes():
    slow = counted()
    cached = CacheStore(slow, cache_store=MemoryStore())
    cached.set("k", b"value")
    slow.stats.reset()
    assert cached.get("k") == b"value"
    assert slow.stats.calls["get"] == 0


def test_byte_ranges_are_cached_in_memory():
    slow = counted()
    slow.set("shard", bytes(range(100)))
    cached = CacheStore(slow, cache_store=MemoryStore(), max_size=1000)
    ranges = [RangeRequest(0, 4), SuffixRequest(16)]
    first = cached.get_ranges("shard", ranges)
    assert cached.get_ranges("shard", ranges) == first
    assert cached.get("shard", RangeRequest(0, 4)) == bytes(range(4))
    assert slow.stats.calls["get_ranges"] == 1 and slow.stats.calls["get"] == 0
    assert cached.cache_store.get("shard") is None  # ranges never reach the cache store
    assert cached.cache_info()["current_size"] == 20


def test_entries_expire():
    slow = counted()
    slow.set("k", b"v")
    cached = CacheStore(slow, cache_store=MemoryStore(), max_age_seconds=0.05)
    cached.get("k")
    cached.get("k")
    assert slow.stats.calls["get"] == 1
    time.sleep(0.1)
    cached.get("k")
    assert slow.stats.calls["get"] == 2


def test_info_and_clear_like_zarr_python():
    cached = CacheStore(MemoryStore(), cache_store=MemoryStore(), max_size=10**6)
    cached.set("a", b"12345")
    info = cached.cache_info()
    assert info == {
        "cache_store_type": "MemoryStore",
        "max_age_seconds": "infinity",
        "max_size": 10**6,
        "current_size": 5,
        "cache_set_data": True,
        "tracked_keys": 1,
        "cached_keys": 1,
    }
    asyncio.run(cached.clear_cache())
    assert cached.cache_info()["tracked_keys"] == 0 and cached.cache_info()["current_size"] == 0
    assert cached.cache_store.is_empty() and cached.get("a") == b"12345"


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="max_age_seconds"):
        CacheStore(MemoryStore(), cache_store=MemoryStore(), max_age_seconds="forever")
    with pytest.raises(ValueError, match="cache_store"):
        CacheStore(MemoryStore(), cache_store=MemoryStore().with_read_only(True))


def test_a_persistent_cache_is_reused(tmp_path):
    slow = counted()
    slow.set("c/0", b"chunk")
    CacheStore(slow, cache_store=LocalStore(tmp_path)).get("c/0")
    later = CacheStore(slow, cache_store=LocalStore(tmp_path), max_size=100)
    slow.stats.reset()
    assert later.get("c/0") == b"chunk" and slow.stats.calls["get"] == 0
    assert later.cache_info()["current_size"] == 5


class GatedStore(MemoryStore):
    """A store whose reads wait at a gate, so a test can write while a read is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()
        self.gate = threading.Event()

    def _get(self, key, byte_range):
        value = super()._get(key, byte_range)
        self.reading.set()
        self.gate.wait(5)
        return value


def test_a_fetch_overlapping_a_write_is_not_cached():
    inner = GatedStore()
    inner.gate.set()
    inner.set("k", b"old")
    cached = CacheStore(inner, cache_store=MemoryStore(), cache_set_data=False)
    inner.gate.clear()
    reader = threading.Thread(target=cached.get, args=("k",))
    reader.start()
    inner.reading.wait(5)  # the read has fetched b"old" and waits
    writer = threading.Thread(target=cached.set, args=("k", b"new"))
    writer.start()
    writer.join(5)
    inner.gate.set()
    reader.join(5)
    assert cached.get("k") == b"new"


def test_threads_reading_and_writing():
    inner: Store = MemoryStore()
    cached = CacheStore(inner, cache_store=MemoryStore(), max_size=4000)
    errors = []

    def work(t: int) -> None:
        try:
            for i in range(200):
                key = f"k{(t + i) % 20}"
                if i % 3 == 0:
                    cached.set(key, f"{t}:{i}".encode() * 10)
                else:
                    cached.get(key)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [f"k{i}" for i in range(20)]
    assert cached.get_many(keys) == inner.get_many(keys)
    assert cached.cache_info()["current_size"] <= 4000
