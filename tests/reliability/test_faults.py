"""Faults: a store call or an OS call that fails reports a StoreError naming the key and
the operation, leaves every key with its old or its new value (no temp file behind), and
later writes work.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import numpy as np
import pytest

import zarrkit
from reliability.conftest import record, scaled
from reliability.writers import version_pattern, versions_in
from zarrkit.errors import PartialWriteError, StoreError
from zarrkit.storage import FaultInjectionStore, LocalStore, MemoryStore

SHAPE, CHUNKS = (12, 12), (4, 4)
FLAT = np.arange(144).reshape(SHAPE)
BLOCKS = [(slice(r, r + 4), slice(c, c + 4)) for r in range(0, 12, 4) for c in range(0, 12, 4)]


@pytest.mark.parametrize("shards", [None, (8, 8)])
def test_injected_store_faults_leave_old_or_new_chunks(shards: Any) -> None:
    inner = MemoryStore()
    zarrkit.create_array(
        inner, shape=SHAPE, chunks=CHUNKS, shards=shards, dtype="i8", fill_value=-1
    )
    faulty = FaultInjectionStore(
        inner, probability=0.3, seed=7, operations={"set", "set_many", "get_many", "get_ranges"}
    )
    array = zarrkit.open_array(faulty)
    model = {i: {-1} for i in range(len(BLOCKS))}  # versions each chunk may hold
    failures = 0
    for version in range(scaled(60, 600)):
        region = BLOCKS[version % len(BLOCKS)] if version % 3 else (slice(None), slice(None))
        try:
            array[region] = version_pattern(SHAPE, version)[region]
            ok = True
        except StoreError as e:
            assert e.key and e.operation in {"set", "set_many", "get_many", "get_ranges"}
            failures, ok = failures + 1, False
        truth = zarrkit.open_array(inner)[...]
        for i, block in enumerate(BLOCKS):
            found = versions_in(truth[block], FLAT[block]) if (truth[block] != -1).all() else {-1}
            touched = region == (slice(None), slice(None)) or region == block
            allowed = {version} if ok and touched else model[i] | ({version} if touched else set())
            assert len(found) == 1 and found <= allowed, (version, i, found, allowed)
            model[i] = found
    record(
        f"injected store faults shards={shards}",
        {"writes": version + 1, "failed": failures, "torn": 0},
    )
    assert failures > 5
    array = zarrkit.open_array(inner)
    array[...] = 1  # later writes work
    assert (array[...] == 1).all()


def _failing(call: str, code: int, after: int = 0) -> Any:
    """``os.<call>`` failing with ``code`` from its ``after``-th use on a zarrkit temp file
    (os.write: after writing part of the value)."""
    real = getattr(os, call)
    uses = [0]

    def fake(*args: Any, **kwargs: Any) -> Any:
        if call == "open" and ".zarrkit-tmp-" not in str(args[0]):
            return real(*args, **kwargs)
        uses[0] += 1
        if uses[0] <= after:
            if call == "write":
                return real(args[0], args[1][:3])  # a short write: the loop goes on
            return real(*args, **kwargs)
        raise OSError(code, os.strerror(code))

    return fake


CALLS = [("open", 0), ("write", 0), ("write", 1), ("fsync", 0), ("replace", 0), ("close", 0)]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES, errno.EROFS])
@pytest.mark.parametrize(("call", "after"), CALLS)
def test_os_failures_keep_the_old_value(
    call: str, after: int, code: int, tmp_path, monkeypatch
) -> None:
    store = LocalStore(tmp_path, durable=True)
    store.set("c/0", b"old value")
    monkeypatch.setattr(os, call, _failing(call, code, after))
    with pytest.raises(StoreError, match=rf"set 'c/0': .*{os.strerror(code)}") as caught:
        store.set("c/0", b"new value")
    monkeypatch.undo()
    assert caught.value.key == "c/0" and caught.value.operation == "set"
    assert store.get("c/0") == b"old value"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["0", "c"]  # no temp file left
    store.set("c/0", b"new value")
    assert store.get("c/0") == b"new value"


def test_failed_directory_fsync_after_rename_leaves_the_new_value(tmp_path, monkeypatch) -> None:
    store = LocalStore(tmp_path, durable=True)
    store.set("c/0", b"old")
    real = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: real(fd) if os.path.isfile(f"/proc/self/fd/{fd}") else _eio()
    )
    with pytest.raises(StoreError, match="set 'c/0'"):
        store.set("c/0", b"new")
    monkeypatch.undo()
    assert store.get("c/0") == b"new"  # renamed: the caller is told it may not be durable


def _eio() -> None:
    raise OSError(errno.EIO, os.strerror(errno.EIO))


@pytest.mark.parametrize("shards", [None, (8, 8)])
def test_partial_write_failing_on_disk_keeps_chunks_and_releases_locks(
    shards: Any, tmp_path, monkeypatch
) -> None:
    array = zarrkit.create_array(
        LocalStore(tmp_path), shape=SHAPE, chunks=CHUNKS, shards=shards, dtype="i8"
    )
    array[...] = version_pattern(SHAPE, 1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setattr(os, "replace", _failing("replace", errno.ENOSPC))
    with pytest.raises(StoreError, match="No space left"):
        array[1:3, 1:6] = 0  # read-modify-write of two chunks (or one shard)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    array[1:3, 1:6] = 0  # the locks were released: no deadlock, and it works
    expected = version_pattern(SHAPE, 1)
    expected[1:3, 1:6] = 0
    assert (zarrkit.open_array(LocalStore(tmp_path))[...] == expected).all()


def test_lock_file_failure_is_a_store_error_and_writes_nothing(tmp_path, monkeypatch) -> None:
    array = zarrkit.create_array(LocalStore(tmp_path), shape=(8,), chunks=(4,), dtype="i1")
    real = os.open

    def no_lock_files(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".zarrkit-lock"):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_lock_files)
    with pytest.raises(StoreError, match="lock") as caught:
        array[1] = 5
    assert caught.value.operation == "lock"
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["zarr.json"]


# --- disk faults through FaultInjectionStore (issue 18) -----------------------------------------
DISK_FAULTS = [errno.ENOSPC, errno.EIO, errno.EROFS]


def _snapshot(root: Any) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("code", DISK_FAULTS, ids=errno.errorcode.get)
@pytest.mark.parametrize("shards", [None, (8, 8)])
def test_disk_faults_are_typed_errors_that_keep_the_previous_data(
    code: int, shards: Any, tmp_path
) -> None:
    """A full disk, an I/O error or a read-only file system under the store: the write fails
    once (a local disk is not retried), names key, operation and errno, changes nothing."""
    inner = LocalStore(tmp_path)
    zarrkit.create_array(inner, shape=SHAPE, chunks=CHUNKS, shards=shards, dtype="i8")[...] = 1
    before = _snapshot(tmp_path)
    faulty = FaultInjectionStore(inner, operations={"set", "set_many"}, errno=code)
    array = zarrkit.open_array(faulty)
    for region in [(slice(None), slice(None)), (slice(1, 3), slice(2, 6))]:  # whole, partial
        with pytest.raises(StoreError) as caught:
            array[region] = 2
        error = caught.value
        assert error.errno == code and os.strerror(code) in str(error)
        assert error.key.startswith("c/") and error.operation == "set_many"
        assert _snapshot(tmp_path) == before
    assert faulty.faults == faulty.injected.calls["set_many"] <= 2 * len(BLOCKS)  # no retries
    np.testing.assert_array_equal(zarrkit.open_array(inner)[...], 1)


def test_a_write_whose_batches_fail_in_part_names_the_chunks_not_written(tmp_path) -> None:
    inner = LocalStore(tmp_path)
    zarrkit.create_array(inner, shape=SHAPE, chunks=CHUNKS, dtype="i8")[...] = 1
    faulty = FaultInjectionStore(inner, operations={"set_many"}, keys={"c/1/1"}, errno=28)
    with zarrkit.config.set(threads=3), pytest.raises(PartialWriteError) as caught:
        zarrkit.open_array(faulty)[...] = 2  # 9 chunks in 3 batches; one batch fails
    unwritten = set(caught.value.unwritten)
    assert "c/1/1" in unwritten and 0 < len(unwritten) < len(BLOCKS)
    stored = zarrkit.open_array(inner)
    for i, block in enumerate(BLOCKS):
        key = f"c/{i // 3}/{i % 3}"
        assert (stored[block] == (1 if key in unwritten else 2)).all(), key
