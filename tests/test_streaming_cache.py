"""iter_chunks streaming (bounded, ordered or not, progress) and the decoded-chunk cache."""

import threading
import time

import numpy as np
import pytest

import zarrkit
from zarrkit.engine.cache import ChunkCache
from zarrkit.storage import MemoryStore
from zarrkit.storage.wrappers import LoggingStore


@pytest.fixture
def arr():
    a = zarrkit.create_array(MemoryStore(), shape=(10, 9), chunks=(4, 4), dtype="i4", fill_value=-1)
    a[:8, :] = np.arange(72).reshape(8, 9)
    return a


def test_iter_chunks_covers_the_array_in_order(arr):
    data = arr[:]
    seen = list(arr.iter_chunks())
    assert [c for c, _ in seen] == [(i, j) for i in range(3) for j in range(3)]
    for (i, j), block in seen:
        np.testing.assert_array_equal(block, data[i * 4 : (i + 1) * 4, j * 4 : (j + 1) * 4])


def test_iter_chunks_selection_and_unordered(arr):
    data = arr[:]
    got = dict(arr.iter_chunks((slice(2, 9), 5), ordered=False, concurrency=2))
    assert sorted(got) == [(0, 1), (1, 1), (2, 1)]
    np.testing.assert_array_equal(np.concatenate([got[k] for k in sorted(got)]), data[2:9, 5])


def test_iter_chunks_is_bounded():
    class Counting(MemoryStore):
        """Each read takes 20 ms, so reads the engine starts together overlap."""

        def __init__(self):
            super().__init__()
            self.active = self.peak = 0
            self.guard = threading.Lock()

        def _get(self, key, byte_range):
            with self.guard:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                time.sleep(0.02)
                return super()._get(key, byte_range)
            finally:
                with self.guard:
                    self.active -= 1

    store = Counting()
    a = zarrkit.create_array(store, shape=(64,), chunks=(1,), dtype="u1")
    a[:] = 1
    consumed = 0
    with zarrkit.config.set(threads=8):  # more workers than the bound
        for _, block in a.iter_chunks(concurrency=3):
            consumed += int(block.sum())
    assert consumed == 64
    assert 2 <= store.peak <= 3  # reads overlapped, never more than 3


def test_iter_chunks_progress_callback(arr):
    calls = []
    list(arr.iter_chunks(progress=lambda done, total: calls.append((done, total))))
    assert calls == [(i, 9) for i in range(1, 10)]


def test_cache_hits_and_invalidation():
    store = LoggingStore(MemoryStore())
    cache = ChunkCache(10**6)
    a = zarrkit.create_array(store, shape=(100,), chunks=(10,), dtype="f8", cache=cache)
    a[:] = np.arange(100.0)
    store.stats.reset()
    first = a[5:25]
    calls = sum(store.stats.calls.values())
    again = a[5:25]
    np.testing.assert_array_equal(first, again)
    assert sum(store.stats.calls.values()) == calls > 0  # the second read touched no store
    assert cache.hits == 3
    a[7] = -1.0  # our write invalidates the cached chunk
    assert a[7] == -1.0
    assert cache.nbytes <= 10**6


def test_cache_budget_evicts_least_recent():
    cache = ChunkCache(3 * 80)
    a = zarrkit.create_array(MemoryStore(), shape=(100,), chunks=(10,), dtype="f8", cache=40 * 80)
    a[:] = 1.0
    b = zarrkit.open_array(a.store, cache=cache)
    b[:40]
    assert len(cache) == 3 and cache.nbytes == 240
    b[30:40]
    assert cache.hits == 1


def test_cached_chunks_cannot_be_modified_by_callers():
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(4,), dtype="i2", cache=10**4)
    a[:] = 1
    first = a[:]
    first[0] = 99
    assert a[0] == 1
