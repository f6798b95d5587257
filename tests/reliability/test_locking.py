"""zarrkit.locking: which handles share a lock, lock files, timeouts, dead holders."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from zarrkit import config, locking
from zarrkit.errors import InvalidKeyError, StoreError
from zarrkit.storage import (
    FaultInjectionStore,
    LocalStore,
    MemoryStore,
    PrefixStore,
    ReadOnlyStore,
    SQLiteStore,
)
from zarrkit.storage.base import Store


def test_every_handle_on_the_same_data_shares_a_lock(tmp_path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    memory = MemoryStore()
    same = [
        (LocalStore(tmp_path / "real"), "c/0"),
        (LocalStore(tmp_path / "link"), "c/0"),  # through a symlink
        (LocalStore(tmp_path / "real").with_read_only(True), "c/0"),
        (ReadOnlyStore(LocalStore(tmp_path / "real")), "c/0"),
        (PrefixStore(LocalStore(tmp_path), "real"), "c/0"),
        (LocalStore(tmp_path / "real" / "c"), "0"),  # a store rooted lower down
    ]
    locks = [locking.key_lock(store, key) for store, key in same]
    assert all(lock is locks[0] for lock in locks)
    assert locking.key_lock(memory, "k") is locking.key_lock(memory.with_read_only(True), "k")
    assert locking.key_lock(memory, "k") is not locking.key_lock(MemoryStore(), "k")
    assert locking.key_lock(memory, "k") is not locking.key_lock(memory, "j")


def test_which_stores_lock_across_processes(tmp_path) -> None:
    assert LocalStore(tmp_path).locks_across_processes
    assert FaultInjectionStore(LocalStore(tmp_path)).locks_across_processes
    assert PrefixStore(LocalStore(tmp_path), "a").locks_across_processes
    # no other process can write a MemoryStore's data: its locks reach every writer
    assert MemoryStore().locks_across_processes
    assert not SQLiteStore(tmp_path / "data.db").locks_across_processes


def test_stores_name_their_lock_targets_and_lock_per_object_by_default() -> None:
    class Plain(MemoryStore):
        def lock_targets(self, keys: Sequence[str]) -> list[locking.LockTarget]:
            return [locking.LockTarget(f"plain:{key}") for key in keys]

    assert locking.key_lock(Plain(), "a") is locking.key_lock(Plain(), "a")

    class Other(Store):
        _get = _set = _delete = _list_prefix = None  # type: ignore[assignment]

    first, second = Other(), Other()
    assert first.lock_targets(["a"]) != second.lock_targets(["a"])
    assert first.lock_targets(["a"])[0].path is None
    assert not first.locks_across_processes


def test_lock_files_are_one_per_directory_hidden_and_removed_after_use(tmp_path) -> None:
    store = LocalStore(tmp_path)
    with locking.locked(store, ["c/0/0", "c/0/1", "zarr.json"]):
        store.set("c/0/0", b"x")
        assert sorted(
            p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob(".zarrkit-lock")
        ) == [
            ".zarrkit-lock",
            "c/0/.zarrkit-lock",
        ]
        assert list(store.list()) == ["c/0/0"]
    assert list(tmp_path.rglob(".zarrkit-lock")) == []
    with pytest.raises(InvalidKeyError, match="reserved"):
        store.set("c/0/.zarrkit-lock", b"x")


def test_a_lock_file_is_checked_once_while_a_byte_of_it_is_held(tmp_path, monkeypatch) -> None:
    # the check that the path still names the open file costs two system calls; a byte
    # held since a check keeps other processes from removing the file, so later keys skip it
    checks = []
    real = locking._LockFile.names_path
    monkeypatch.setattr(
        locking._LockFile, "names_path", lambda held: checks.append(held.path) or real(held)
    )
    store = LocalStore(tmp_path)
    with locking.locked(store, [f"c/0/{i}" for i in range(20)] + ["c/1/0", "c/1/1"]):
        assert len(checks) == 2  # one per directory's lock file
    checks.clear()  # (the last holder checks again before removing a file)
    with locking.locked(store, ["c/0/0"]):  # every byte was let go: checked again
        assert checks == [str(tmp_path / "c" / "0" / ".zarrkit-lock")]


def test_a_lock_file_held_elsewhere_is_not_removed(tmp_path) -> None:
    child = _holder(tmp_path, "1.0")  # holds c/0 in another process
    with locking.locked(LocalStore(tmp_path), ["c/1"]):  # the same directory's file
        pass
    assert (tmp_path / "c" / ".zarrkit-lock").exists()
    child.wait()  # let go: it removed the file
    assert not (tmp_path / "c" / ".zarrkit-lock").exists()
    _holder(tmp_path, "die").wait()  # killed while holding: the file stays
    assert (tmp_path / "c" / ".zarrkit-lock").exists()
    with locking.locked(LocalStore(tmp_path), ["c/0"]):  # reused (the OS freed the lock) ...
        pass
    assert not (tmp_path / "c" / ".zarrkit-lock").exists()  # ... then removed


def test_reentrant_in_one_thread_exclusive_between_threads(tmp_path) -> None:
    store = LocalStore(tmp_path)
    lock = locking.key_lock(store, "c/0")
    with lock, lock:  # re-entrant: the lock file byte is taken once
        assert len(locking._files) == 1
        with config.set(lock_timeout=0.1):
            other = ThreadPoolExecutor(1).submit(lambda: locking.key_lock(store, "c/0").acquire())
            with pytest.raises(StoreError, match="lock_timeout") as caught:
                other.result()
    assert caught.value.operation == "lock"
    assert locking._files == {}  # closed once nobody holds a lock in it


HOLD = """
import sys, time
from zarrkit import locking
from zarrkit.storage import LocalStore
lock = locking.key_lock(LocalStore(sys.argv[1]), sys.argv[3])
lock.acquire()
print("held", flush=True)
if sys.argv[2] == "die":
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def _holder(root: Path, mode: str, key: str = "c/0") -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), mode, key], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_another_process_waits_for_the_lock(tmp_path) -> None:
    child = _holder(tmp_path, "1.0")
    lock = locking.key_lock(LocalStore(tmp_path), "c/0")
    with config.set(lock_timeout=0.2), pytest.raises(StoreError, match="lock_timeout"):
        lock.acquire()
    start = time.monotonic()
    with lock:
        waited = time.monotonic() - start
    child.wait()
    assert waited > 0.3  # it waited for the holder to let go


def test_a_dead_holder_releases_the_lock_at_once(tmp_path) -> None:
    _holder(tmp_path, "die").wait()
    start = time.monotonic()
    with config.set(lock_timeout=10.0), locking.key_lock(LocalStore(tmp_path), "c/0"):
        waited = time.monotonic() - start
    assert waited < 1.0  # not the timeout: the OS released the dead holder's lock


def test_chunk_indices_are_their_own_bytes_other_names_hashed(tmp_path) -> None:
    targets = LocalStore(tmp_path).lock_targets(["c/0/7", "c/0/12", "c/0/zarr.json", "7"])
    assert [t.offset for t in targets[:2]] == [7, 12]
    assert targets[2].offset >= locking._HASHED  # never a chunk index's byte
    assert targets[0].path == targets[2].path != targets[3].path  # one file a directory
    assert targets[3].offset == 7


def test_a_directory_of_chunks_is_one_lockf_call(tmp_path, monkeypatch) -> None:
    calls = []
    real = locking.fcntl.lockf

    def lockf(fd: int, op: int, n: int, at: int) -> None:
        calls.append((op, n, at))
        real(fd, op, n, at)

    monkeypatch.setattr(locking.fcntl, "lockf", lockf)
    keys = [f"c/{i}/{j}" for i in range(3) for j in range(64)] + ["c/0/99"]
    with locking.locked(LocalStore(tmp_path), keys):
        taken = [(n, at) for op, n, at in calls if op != locking.fcntl.LOCK_UN]
        assert taken == [(64, 0), (1, 99), (64, 0), (64, 0)]  # files in order, runs
    assert [(n, at) for op, n, at in calls if op == locking.fcntl.LOCK_UN][:2] == [(64, 0), (1, 99)]


def test_a_batch_waits_for_a_key_held_in_another_process_and_gives_all_back(tmp_path) -> None:
    child = _holder(tmp_path, "1.0", key="c/2")
    store = LocalStore(tmp_path)
    with locking.key_lock(store, "c/1"):  # held before: kept when the batch fails
        with (
            config.set(lock_timeout=0.2),
            pytest.raises(StoreError, match="lock_timeout"),
            locking.locked(store, ["c/0", "c/1", "c/2", "c/3"]),
        ):
            pass
        assert [(k.offset, h.depth) for k, h in locking._held.items()] == [(1, 1)]
        with locking.locked(store, ["c/0", "c/1", "c/3"]):  # the others were let go
            start = time.monotonic()
            with locking.locked(store, ["c/2"]):  # waits for the other process
                waited = time.monotonic() - start
    child.wait()
    assert waited > 0.3
    assert locking._held == {} and locking._files == {}


def test_a_batch_keeps_the_keys_it_has_while_it_waits_for_the_next(tmp_path) -> None:
    """Keys are taken in one order (so a large batch is not starved by small ones): while
    the batch waits for c/5, it holds c/4 and has not taken c/6."""
    store = LocalStore(tmp_path)
    holding, order = threading.Event(), []

    def hold_c5() -> None:
        with locking.locked(store, ["c/5"]):
            holding.set()
            time.sleep(0.5)
            order.append("c/5 let go")

    def batch() -> None:
        with locking.locked(store, ["c/6", "c/5", "c/4"]):
            order.append("batch")

    def take(key: str) -> None:
        with config.set(lock_timeout=0.1), locking.locked(store, [key]):
            order.append(key)

    with ThreadPoolExecutor(3) as pool:
        holder = pool.submit(hold_c5)
        holding.wait()
        waiting = pool.submit(batch)
        time.sleep(0.1)
        with pytest.raises(StoreError, match="lock_timeout"):
            pool.submit(take, "c/4").result()
        pool.submit(take, "c/6").result()
        holder.result(), waiting.result()
    assert order == ["c/6", "c/5 let go", "batch"]


def test_overlapping_key_sets_do_not_deadlock(tmp_path) -> None:
    stores = [LocalStore(tmp_path), MemoryStore()]
    keys = [f"c/{i}/{j}" for i in range(3) for j in range(3)]

    def work(seed: int) -> int:
        rng = random.Random(seed)
        for _ in range(200):
            store = stores[seed % 2]
            with locking.locked(store, rng.sample(keys, rng.randrange(1, len(keys)))):
                pass
        return seed

    with config.set(lock_timeout=30), ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))


def test_locks_are_released_after_errors(tmp_path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(RuntimeError), locking.locked(store, ["a", "b/c"]):
        raise RuntimeError("inside")
    assert locking._files == {}

    def take() -> bool:
        with locking.locked(store, ["a", "b/c"]):
            return True

    with config.set(lock_timeout=0.5), ThreadPoolExecutor(1) as other:
        assert other.submit(take).result()


def test_fork_starts_with_fresh_locks(tmp_path) -> None:
    store = LocalStore(tmp_path)
    with locking.key_lock(store, "c/0"):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the parent's lock must not look held by this process
            ok = not locking._files and not locking._held
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
