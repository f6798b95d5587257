"""Read-modify-writes on stores that other processes write: conditional on the version read,
re-read and re-applied on conflict, then ConflictError naming the key.

``Shared`` is a memory store seen as one that other processes write (its locks do not reach
them), and ``meddle`` is such another writer, changing a key between our read and our write.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
import pytest

import zarrkit
from zarrkit import config, telemetry
from zarrkit import read_modify_write as rmw
from zarrkit.errors import ConflictError
from zarrkit.storage import MemoryStore
from zarrkit.telemetry import ArrayEvent, ConflictEvent
from zarrkit.types import Blob, Version


class Shared(MemoryStore):
    """Before each of its next ``conflicts`` conditional writes, ``meddle(key)`` runs: the
    write of another process that lands between this one's read and write."""

    def __init__(self) -> None:
        super().__init__()
        self.meddle: Callable[[str], None] = lambda key: None
        self.conflicts = 0
        self.conditional_writes = 0

    @property
    def locks_across_processes(self) -> bool:
        return False

    def _set_if(self, key: str, value: Blob, if_match: Version | None) -> Version:
        self.conditional_writes += 1
        if self.conflicts > 0:
            self.conflicts -= 1
            self.meddle(key)
        return super()._set_if(key, value, if_match)


def other_writer(store: Shared, path: str = "") -> zarrkit.Array:
    """A handle on the same data through a store zarrkit does not know as the same."""
    return zarrkit.open_array(MemoryStore(store._data), path=path)


@pytest.mark.parametrize("shards", [None, (8,)], ids=["chunk", "shard"])
def test_a_conflicting_partial_write_is_reapplied_on_the_new_value(shards) -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(4,), shards=shards, dtype="i4")
    a[...] = 1
    store.meddle, store.conflicts = lambda key: other_writer(store).__setitem__(3, 30), 1
    a[0] = 10  # read, the other writer changes element 3, our conditional write fails: again
    assert store.conditional_writes == 2
    assert zarrkit.open_array(store)[...].tolist() == [10, 1, 1, 30, 1, 1, 1, 1]


def test_conflicts_that_never_end_raise_conflict_error_naming_the_key() -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(4,), dtype="i4")
    a[...] = 1
    store.meddle, store.conflicts = lambda key: other_writer(store).__setitem__(3, 30), 100
    with config.set(conflict_retries=2), pytest.raises(ConflictError, match="'c/0'") as raised:
        a[0] = 10
    assert raised.value.key == "c/0" and store.conditional_writes == 3


@pytest.mark.parametrize(
    ("conflicts", "resolutions"),
    [(1, ["retry"]), (100, ["retry", "retry", "gave up"])],
    ids=["resolved", "gave-up"],
)
def test_each_conflict_is_a_conflict_event(conflicts: int, resolutions: list[str]) -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(4,), dtype="i4")
    a[...] = 1
    store.meddle = lambda key: other_writer(store).__setitem__(3, 30)
    store.conflicts = conflicts
    events: list[telemetry.Event] = []
    gives_up = pytest.raises(ConflictError) if resolutions[-1] == "gave up" else nullcontext()
    with telemetry.subscribed(events.append), config.set(conflict_retries=2), gives_up:
        a[0] = 10
    found = [e for e in events if isinstance(e, ConflictEvent)]
    assert [(e.op, e.key, e.attempt, e.resolution) for e in found] == [
        ("set_if", "c/0", n, resolution) for n, resolution in enumerate(resolutions, 1)
    ]
    (write,) = [e for e in events if isinstance(e, ArrayEvent)]
    assert all(e.span == write.span for e in found)


def test_whole_chunk_writes_need_no_read_and_no_condition() -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(4,), dtype="i4")
    a[0:4] = 5
    assert store.conditional_writes == 0 and a[...].tolist() == [5] * 4 + [0] * 4


def test_a_partial_write_that_empties_a_chunk_keeps_it_as_fill_values() -> None:
    # a removal cannot be conditional: the chunk is written all fill value instead
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(4,), dtype="i4")
    a[0] = 7
    a[0] = 0
    assert store.get("c/0") is not None and a[...].tolist() == [0] * 8
    plain = zarrkit.create_array(MemoryStore(), shape=(8,), chunks=(4,), dtype="i4")
    plain[0] = 7
    plain[0] = 0
    assert plain.store.get("c/0") is None  # where locks suffice, it is removed


def test_attribute_changes_keep_what_another_writer_changed_meanwhile() -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(4,), dtype="i1", attributes={"a": 1})
    other_writer(store).attrs["b"] = 2  # this handle's view still says {"a": 1}
    store.meddle, store.conflicts = lambda key: other_writer(store).attrs.update(c=3), 1
    a.attrs["d"] = 4
    assert zarrkit.open_array(store).attrs.asdict() == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert a.attrs.asdict() == {"a": 1, "b": 2, "c": 3, "d": 4}
    del a.attrs["b"]
    assert zarrkit.open_array(store).attrs.asdict() == {"a": 1, "c": 3, "d": 4}


def test_resize_keeps_attributes_changed_meanwhile_and_uses_the_stored_shape() -> None:
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(2,), dtype="i4")
    a[...] = np.arange(1, 9)
    other_writer(store).attrs["kept"] = True
    a.resize(4)
    reopened = zarrkit.open_array(store)
    assert reopened.shape == (4,) and reopened.attrs["kept"] is True
    assert sorted(k for k in store.list() if k.startswith("c/")) == ["c/0", "c/1"]


def test_rewrite_writes_plainly_where_locks_suffice() -> None:
    store = MemoryStore()
    store.set("k", b"1")
    assert not rmw.needs_conditional_writes(store) and rmw.needs_conditional_writes(Shared())
    written = rmw.rewrite(store, ["k", "new"], lambda keys, olds: [b"2", b"3"], lambda k: b"")
    assert written == {} and store.get_many(["k", "new"]) == [b"2", b"3"]


@pytest.mark.parametrize("shards", [None, (4,)], ids=["chunk", "shard"])
def test_a_whole_write_landing_between_read_and_create_is_kept(shards) -> None:
    # The chunk (or shard) is absent when the partial writer reads it; another writer then
    # writes it whole, without reading: the partial writer's create-if-absent fails, and
    # it merges into what the other one wrote.
    store = Shared()
    a = zarrkit.create_array(store, shape=(8,), chunks=(2,), shards=shards, dtype="i4")
    store.meddle, store.conflicts = lambda key: other_writer(store).__setitem__(slice(0, 4), 7), 1
    a[1] = 10
    assert zarrkit.open_array(store)[...].tolist() == [7, 10, 7, 7, 0, 0, 0, 0]
    assert store.conditional_writes == 2
