"""G5: a corrupt, truncated or undecodable chunk is an error naming its key, never the fill
value, and a partial write over it fails without touching the stored bytes; a failed read
from the store is an error too. (The corpus runs every codec family, plain and sharded, in
child processes; these tests look at the messages and at what still works.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import zarrkit
from reliability.corpus import FAMILIES, Family
from zarrkit.errors import CodecError, StoreError
from zarrkit.storage import FaultInjectionStore, MemoryStore


def _corrupt(family: Family) -> tuple[MemoryStore, Any, str, bytes]:
    store = MemoryStore()
    chunks = (8, 8) if "shards" in family.options else (16, 16)
    array = zarrkit.create_array(
        store, name="a", shape=(16, 16), chunks=chunks, dtype="<i4", **family.options
    )
    array[...] = np.arange(256).reshape(16, 16) + 1
    key = family.key()
    bad = store.get(key)[:-3]
    store.set(key, bad)
    return store, array, key, bad


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_corrupt_chunk_errors_name_the_key_and_writes_leave_it(family: Family) -> None:
    store, array, key, bad = _corrupt(family)
    with pytest.raises(CodecError, match=key.split("/", 1)[1].replace(".", r"\.")) as caught:
        array[...]
    assert caught.value.key is not None and caught.value.key.startswith(key)
    with pytest.raises(CodecError):
        array[0, 0] = 7  # read-modify-write of the corrupt chunk
    assert store.get(key) == bad
    array[...] = 5  # a whole overwrite needs no read: it repairs the chunk
    assert (array[...] == 5).all()


@pytest.mark.parametrize("shards", [None, (16,)])
def test_failed_chunk_reads_are_errors_not_fill_values(shards: Any) -> None:
    store = MemoryStore()
    array = zarrkit.create_array(
        store, shape=(16,), chunks=(4,), shards=shards, dtype="i2", fill_value=-1
    )
    array[...] = np.arange(16)
    chunk_keys = {key for key in store.list() if key.startswith("c/")}
    failing = FaultInjectionStore(
        store,
        operations={"get", "get_many", "get_ranges", "get_then", "get_ranges_if"},
        keys=chunk_keys,
    )
    reopened = zarrkit.open_array(failing)  # metadata still reads
    with pytest.raises(StoreError, match="injected") as caught:
        reopened[...]
    assert caught.value.key in chunk_keys
    with pytest.raises(StoreError):
        reopened[1] = 5  # a partial write must read first: it fails too
    assert failing.faults >= 2
    assert zarrkit.open_array(store)[...].tolist() == list(range(16))


def test_partial_write_over_corrupt_shard_index_keeps_the_shard() -> None:
    store = MemoryStore()
    array = zarrkit.create_array(store, shape=(16,), chunks=(4,), shards=(16,), dtype="i2")
    array[...] = np.arange(16)
    shard = bytearray(store.get("c/0"))
    shard[-1] ^= 0xFF  # the index checksum
    store.set("c/0", bytes(shard))
    with pytest.raises(CodecError, match="c/0"):
        array[1] = 9
    assert store.get("c/0") == bytes(shard)
