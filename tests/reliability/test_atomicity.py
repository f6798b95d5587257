"""G1 (readers see chunks, shards and metadata whole), G2 (a failed create leaves no node or
the old one) and G8 (durable LocalStore writes fsync file, then directory).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import threading
import time
from typing import Any

import numpy as np
import pytest

import zarrkit
from reliability.conftest import record, scaled
from reliability.writers import rewrite_loop, version_pattern, versions_in
from zarrkit import config
from zarrkit.codecs.sharding.index_cache import INDEXES
from zarrkit.errors import NodeNotFoundError, StoreError
from zarrkit.storage import FaultInjectionStore, LocalStore, MemoryStore, Store
from zarrkit.storage.wrappers import WrapperStore

SHAPE, CHUNKS = (32, 32), (8, 8)
FLAT = np.arange(SHAPE[0] * SHAPE[1]).reshape(SHAPE)


def _blocks() -> list[tuple[slice, slice]]:
    return [
        (slice(r, r + 8), slice(c, c + 8))
        for r in range(0, SHAPE[0], 8)
        for c in range(0, SHAPE[1], 8)
    ]


def _read_chunks_until(array: Any, stop: threading.Event, torn: list[Any]) -> int:
    """Read chunk after chunk until ``stop``; each must come from one version."""
    reads = 0
    while not stop.is_set():
        for block in _blocks():
            found = versions_in(array[block], FLAT[block])
            if len(found) != 1:
                torn.append(found)
            reads += 1
    return reads


@pytest.mark.parametrize("kind", ["memory", "local"])
@pytest.mark.parametrize("compressors", [None, "auto"])
def test_readers_never_see_a_torn_chunk_threads(kind: str, compressors: Any, tmp_path) -> None:
    store: Store = MemoryStore() if kind == "memory" else LocalStore(tmp_path)
    array = zarrkit.create_array(
        store, shape=SHAPE, chunks=CHUNKS, dtype="i8", compressors=compressors
    )
    array[...] = version_pattern(SHAPE, 0)
    stop, torn, reads = threading.Event(), [], []
    readers = [
        threading.Thread(
            target=lambda: reads.append(_read_chunks_until(zarrkit.open_array(store), stop, torn))
        )
        for _ in range(2)
    ]
    for reader in readers:
        reader.start()
    deadline, version = time.monotonic() + scaled(1, 10), 0
    while time.monotonic() < deadline or version < 20:
        version += 1
        array[...] = version_pattern(SHAPE, version)
    stop.set()
    for reader in readers:
        reader.join()
    record(
        f"torn reads threads {kind} {compressors}",
        {"versions": version, "chunk reads": sum(reads), "torn": len(torn)},
    )
    assert sum(reads) > 0
    assert torn == []


def test_readers_never_see_a_torn_chunk_processes(tmp_path) -> None:
    array = zarrkit.create_array(
        LocalStore(tmp_path), shape=SHAPE, chunks=CHUNKS, dtype="i8", compressors=None
    )
    array[...] = version_pattern(SHAPE, 0)
    seconds = scaled(2, 20)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        writer = pool.apply_async(rewrite_loop, (str(tmp_path), "", seconds))
        stop, torn = threading.Event(), []
        threading.Timer(seconds, stop.set).start()
        reads = _read_chunks_until(zarrkit.open_array(LocalStore(tmp_path)), stop, torn)
        versions = writer.get(timeout=seconds + 60)
    record("torn reads processes", {"versions": versions, "chunk reads": reads, "torn": len(torn)})
    assert versions > 3
    assert torn == []


def test_metadata_is_read_whole_while_rewritten(tmp_path) -> None:
    store = LocalStore(tmp_path)
    array = zarrkit.create_array(
        store, name="a", shape=(4,), dtype="i1", attributes={"v": 0, "pad": ""}
    )
    stop, errors, opened = threading.Event(), [], [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                attrs = dict(zarrkit.open_array(LocalStore(tmp_path), path="a").attrs)
                if len(attrs["pad"]) != attrs["v"] % 997:
                    errors.append(attrs)
                opened[0] += 1
            except Exception as e:  # a half-written document would land here
                errors.append(e)

    thread = threading.Thread(target=reader)
    thread.start()
    for v in range(1, scaled(300, 3000)):
        array.update_attributes({"v": v, "pad": "x" * (v % 997)})
    stop.set()
    thread.join()
    record("metadata rewrites", {"rewrites": v, "opens": opened[0], "torn": len(errors)})
    assert opened[0] > 0 and errors == []


class _RewriteBetween(WrapperStore):
    """Replaces a shard with ``replacement`` after its index was read, before its data is:
    what a concurrent writer can do to a reader. It reads as a store with versions (then
    its byte ranges require the index's version) or without (then the index is read again
    after them), through the generic :meth:`Store.get_then`, as an object store does."""

    native_concurrency = True  # requests are round trips: shards come with their index

    def __init__(self, inner: Store, key: str, replacement: bytes, versions: bool) -> None:
        super().__init__(inner)
        self.key, self.replacement = key, replacement
        self.supports_versions = self.versions_cacheable = versions
        self.replaced = 0

    def _get_then(self, key: str, first: Any, then: Any) -> Any:
        return Store._get_then(self, key, first, then)

    def _race(self, key: str) -> None:
        if key == self.key and self.replacement:
            self.inner.set(key, self.replacement)
            self.replacement = b""
            self.replaced += 1

    def _get_ranges(self, key: str, ranges: Any) -> Any:
        self._race(key)
        return self.inner.get_ranges(key, ranges)

    def _get_ranges_if(self, key: str, ranges: Any, if_match: Any) -> Any:
        self._race(key)
        return self.inner.get_ranges_if(key, ranges, if_match)


def _two_shards() -> tuple[MemoryStore, bytes]:
    """A store whose shard ``c/0`` holds 0..15, and the bytes of another version of it
    (104..115 from element 4 on, inner chunks at other offsets)."""
    store = MemoryStore()
    array = zarrkit.create_array(
        store, shape=(16,), chunks=(4,), shards=(16,), dtype="i8", compressors=None
    )
    array[...] = np.arange(16)
    array[0:4] = 0  # the fill value: inner chunk 0 is dropped, the others move
    array[4:16] = np.arange(104, 116)
    new_shard = store.get("c/0")
    array[...] = np.arange(16)
    return store, new_shard


@pytest.mark.parametrize("versions", [True, False], ids=["if-match", "index-read-again"])
def test_inner_chunk_read_is_whole_when_its_shard_is_replaced_meanwhile(versions: bool) -> None:
    store, new_shard = _two_shards()
    racing = _RewriteBetween(store, "c/0", new_shard, versions)
    INDEXES.clear()
    with config.set(shard_read_ahead=0):
        got = zarrkit.open_array(racing)[4:8]
    # the ranges of the first try came from another version: it was retried on the new one
    assert racing.replaced == 1
    np.testing.assert_array_equal(got, np.arange(104, 108))


def test_cached_index_of_a_replaced_shard_is_read_again() -> None:
    store, new_shard = _two_shards()
    racing = _RewriteBetween(store, "c/0", new_shard, versions=True)
    array = zarrkit.open_array(racing)
    INDEXES.clear()
    np.testing.assert_array_equal(array[8:12], np.arange(8, 12))  # caches the index
    np.testing.assert_array_equal(array[4:8], np.arange(104, 108))  # replaced, read again
    assert racing.replaced == 1


# --- G2 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_failed_create_leaves_no_node(zarr_format: int) -> None:
    inner = MemoryStore()
    doc = "a/zarr.json" if zarr_format == 3 else "a/.zarray"
    store = FaultInjectionStore(inner, operations={"set", "set_many"}, keys={doc})
    with pytest.raises(StoreError, match="injected"):
        zarrkit.create_array(store, name="a", shape=(4,), dtype="i1", zarr_format=zarr_format)
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(inner, path="a")


def test_failed_overwrite_leaves_no_node_or_the_old_one() -> None:
    inner = MemoryStore()
    old = zarrkit.create_array(inner, name="a", shape=(4,), chunks=(2,), dtype="i1")
    old[...] = [1, 2, 3, 4]
    store = FaultInjectionStore(inner, operations={"set", "set_many"}, keys={"a/zarr.json"})
    with pytest.raises(StoreError):
        zarrkit.create_array(store, name="a", shape=(9,), dtype="f8", overwrite=True)
    try:
        survivor = zarrkit.open_array(inner, path="a")
    except NodeNotFoundError:
        assert list(inner.list_prefix("a/")) == []  # no orphan chunks either
    else:
        assert survivor.shape == (4,) and survivor[...].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("call", ["replace", "write", "open"])
def test_failed_create_on_disk_leaves_no_node_and_no_temp_file(
    call: str, tmp_path, monkeypatch
) -> None:
    real = getattr(os, call)

    def failing(*args: Any, **kwargs: Any) -> Any:
        if call == "open" and ".zarrkit-tmp-" not in str(args[0]):
            return real(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    zarrkit.create_group(LocalStore(tmp_path))
    monkeypatch.setattr(os, call, failing)
    with pytest.raises(StoreError, match=r"set 'a/zarr.json'.*No space left"):
        zarrkit.create_array(LocalStore(tmp_path), name="a", shape=(4,), dtype="i1")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.rglob("*")) in (["zarr.json"], ["a", "zarr.json"])
    with pytest.raises(NodeNotFoundError):
        zarrkit.open_array(LocalStore(tmp_path), path="a")
    zarrkit.create_array(LocalStore(tmp_path), name="a", shape=(4,), dtype="i1")  # works now


# --- G8 -----------------------------------------------------------------------------------------
def _trace(monkeypatch) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_durable_write_fsyncs_file_then_renames_then_fsyncs_directories(
    tmp_path, monkeypatch
) -> None:
    events = _trace(monkeypatch)
    LocalStore(tmp_path, durable=True).set("a/b/c", b"x")
    assert events[:2] == [("fsync", str(tmp_path)), ("fsync", str(tmp_path / "a"))]  # new dirs
    assert events[2][0] == "fsync" and ".zarrkit-tmp-" in events[2][1]  # data, before the rename
    assert events[3:] == [("replace", str(tmp_path / "a/b/c")), ("fsync", str(tmp_path / "a/b"))]
    events.clear()
    LocalStore(tmp_path, durable=True).set("a/b/c", b"y")  # directories exist now
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    events.clear()
    LocalStore(tmp_path, durable=True).delete("a/b/c")
    assert events == [("fsync", str(tmp_path / "a/b"))]


def test_default_write_is_atomic_without_fsync(tmp_path, monkeypatch) -> None:
    events = _trace(monkeypatch)
    LocalStore(tmp_path).set("a/b", b"x")
    assert events == [("replace", str(tmp_path / "a/b"))]
