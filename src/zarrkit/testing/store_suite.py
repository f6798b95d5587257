"""StoreSuite: the conformance tests every store backend runs.

Subclass it in a test module and provide a ``store`` fixture that yields an empty,
writable store; pytest collects the inherited tests.

Examples
--------
>>> import pytest
>>> from zarrkit.storage import MemoryStore
>>> class TestMyStore(StoreSuite):
...     @pytest.fixture
...     def store(self):
...         yield MemoryStore()

Over 400 lines: one test per store behaviour and capability, which every backend's test
module inherits.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from zarrkit.errors import ConflictError, InvalidKeyError, ReadOnlyError, StoreError
from zarrkit.storage.base import Store
from zarrkit.types import ByteRequest, OffsetRequest, RangeRequest, SuffixRequest, Versioned

INVALID_KEYS = ["", "..", ".", "a/../b", "a//b", "a/", "/a", "a\\b", "C:", "C:/x", "a\x00b"]
UNICODE_KEYS = ["données/été", "数据/块/0", "emoji/🧊", "space key/x y"]
#: Requests on the value b"0123456789" and what they must return (past the end clips).
BYTE_RANGES: list[tuple[ByteRequest, bytes]] = [
    (RangeRequest(2, 5), b"234"),
    (RangeRequest(0, 10), b"0123456789"),
    (RangeRequest(0, 0), b""),
    (RangeRequest(7, 100), b"789"),
    (RangeRequest(10, 20), b""),
    (RangeRequest(50, 60), b""),
    (OffsetRequest(0), b"0123456789"),
    (OffsetRequest(6), b"6789"),
    (OffsetRequest(10), b""),
    (OffsetRequest(99), b""),
    (SuffixRequest(3), b"789"),
    (SuffixRequest(0), b""),
    (SuffixRequest(10), b"0123456789"),
    (SuffixRequest(25), b"0123456789"),
]


class StoreSuite:
    """Conformance tests for a :class:`~zarrkit.storage.base.Store` backend.

    Class attributes tune the suite to what a backend can promise:

    - ``shares_data_when_pickled``: an unpickled handle sees writes made after pickling
      (true for stores that name shared, persistent data; false for snapshot-like ones).
    - ``large_value_size`` and ``many_keys``: sizes of the large-value and many-keys tests.

    The version tests run on stores that claim versions (``supports_versions``) or
    conditional writes (``supports_conditional_writes``) and are skipped on the others;
    ``get_then`` works on every store.
    """

    shares_data_when_pickled: ClassVar[bool] = True
    large_value_size: ClassVar[int] = 20 * 2**20
    many_keys: ClassVar[int] = 2000
    thread_count: ClassVar[int] = 8

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """An empty writable store; subclasses must override this fixture."""
        raise NotImplementedError("a StoreSuite subclass must provide a 'store' fixture")

    def read_only_handle(self, store: Store) -> Store:
        """A read-only handle on the data of ``store``."""
        return store.with_read_only(True)

    # --- get / set / delete ----------------------------------------------------------------
    def test_missing_key_is_none(self, store: Store) -> None:
        assert store.get("missing") is None
        assert store.get("missing/deeper/key", RangeRequest(0, 4)) is None
        assert store.get("missing", SuffixRequest(3)) is None
        assert not store.exists("missing")

    def test_set_get_roundtrip(self, store: Store) -> None:
        store.set("a", b"one")
        store.set("b/c", bytearray(b"two"))
        store.set("b/d/e", memoryview(b"three"))
        store.set("empty", b"")
        assert store.get("a") == b"one"
        assert store.get("b/c") == b"two"
        assert store.get("b/d/e") == b"three"
        assert store.get("empty") == b""
        assert store.exists("empty")
        assert isinstance(store.get("a"), bytes)

    def test_overwrite_replaces_whole_value(self, store: Store) -> None:
        store.set("k", b"a long first value")
        store.set("k", b"short")
        assert store.get("k") == b"short"

    def test_delete(self, store: Store) -> None:
        store.set("x/y", b"1")
        store.set("x/z", b"2")
        store.delete("x/y")
        assert store.get("x/y") is None
        assert store.get("x/z") == b"2"
        store.delete("x/y")  # deleting a missing key is not an error
        store.delete("never/there")
        store.delete_many(["x/z", "nothing"])
        assert list(store.list()) == []

    # --- byte ranges -----------------------------------------------------------------------
    def test_byte_ranges(self, store: Store) -> None:
        store.set("r/value", b"0123456789")
        for request, expected in BYTE_RANGES:
            assert store.get("r/value", request) == expected, request

    @pytest.mark.parametrize("bad", [RangeRequest(5, 2), RangeRequest(-1, 3), OffsetRequest(-1)])
    def test_invalid_byte_range_rejected(self, store: Store, bad: object) -> None:
        store.set("r", b"0123")
        with pytest.raises(ValueError):
            store.get("r", bad)  # type: ignore[call-overload]

    def test_get_ranges(self, store: Store) -> None:
        store.set("shard", bytes(range(100)))
        ranges: list[ByteRequest] = [
            RangeRequest(0, 4),
            RangeRequest(10, 12),
            OffsetRequest(97),
            SuffixRequest(2),
        ]
        assert store.get_ranges("shard", ranges) == [
            bytes([0, 1, 2, 3]),
            bytes([10, 11]),
            bytes([97, 98, 99]),
            bytes([98, 99]),
        ]
        assert store.get_ranges("shard", [RangeRequest(95, 200), RangeRequest(150, 160)]) == [
            bytes(range(95, 100)),
            b"",
        ]
        assert store.get_ranges("no/shard", [RangeRequest(0, 4)]) is None

    # --- many ------------------------------------------------------------------------------
    def test_get_many_keeps_order_and_reports_missing(self, store: Store) -> None:
        store.set_many({"m/0": b"zero", "m/1": b"one", "m/2": b"two"})
        keys = ["m/2", "missing", "m/0", "m/1", "m/0"]
        assert store.get_many(keys) == [b"two", None, b"zero", b"one", b"zero"]
        assert store.get_many([]) == []

    def test_set_many_accepts_pairs(self, store: Store) -> None:
        store.set_many([("p/a", b"1"), ("p/b", memoryview(b"2"))])
        assert store.get_many(["p/a", "p/b"]) == [b"1", b"2"]

    def test_many_keys(self, store: Store) -> None:
        items = {f"c/{i // 100}/{i % 100}": i.to_bytes(4, "little") for i in range(self.many_keys)}
        store.set_many(items)
        assert set(store.list()) == set(items)
        keys = sorted(items)
        assert store.get_many(keys) == [items[k] for k in keys]

    def test_large_value(self, store: Store) -> None:
        n = self.large_value_size
        value = bytes(range(256)) * (n // 256)
        store.set("big", value)
        assert store.get("big") == value
        assert store.get("big", SuffixRequest(5)) == value[-5:]
        assert (
            store.get("big", RangeRequest(n // 2, n // 2 + 1000)) == value[n // 2 : n // 2 + 1000]
        )

    # --- listing ---------------------------------------------------------------------------
    def _fill_tree(self, store: Store) -> None:
        store.set_many(
            {
                "zarr.json": b"{}",
                "a/zarr.json": b"{}",
                "a/c/0/0": b"x",
                "a/c/0/1": b"x",
                "a/c/1/0": b"x",
                "ab/zarr.json": b"{}",
                "b/c": b"x",
            }
        )

    def test_list(self, store: Store) -> None:
        assert list(store.list()) == []
        assert store.is_empty()
        self._fill_tree(store)
        assert sorted(store.list()) == [
            "a/c/0/0",
            "a/c/0/1",
            "a/c/1/0",
            "a/zarr.json",
            "ab/zarr.json",
            "b/c",
            "zarr.json",
        ]
        assert not store.is_empty()

    def test_list_prefix(self, store: Store) -> None:
        self._fill_tree(store)
        assert sorted(store.list_prefix("a/")) == ["a/c/0/0", "a/c/0/1", "a/c/1/0", "a/zarr.json"]
        assert sorted(store.list_prefix("a/c/0/")) == ["a/c/0/0", "a/c/0/1"]
        assert list(store.list_prefix("nothing/")) == []
        assert len(list(store.list_prefix(""))) == 7
        assert store.is_empty("nothing/")
        assert not store.is_empty("ab/")

    def test_list_dir(self, store: Store) -> None:
        self._fill_tree(store)
        assert sorted(store.list_dir("")) == ["a", "ab", "b", "zarr.json"]
        assert sorted(store.list_dir("a/")) == ["c", "zarr.json"]
        assert sorted(store.list_dir("a/c/")) == ["0", "1"]
        assert sorted(store.list_dir("a/c/0/")) == ["0", "1"]
        assert list(store.list_dir("zzz/")) == []

    def test_prefix_must_end_with_slash(self, store: Store) -> None:
        with pytest.raises(InvalidKeyError):
            list(store.list_prefix("a"))

    def test_delete_prefix(self, store: Store) -> None:
        self._fill_tree(store)
        store.delete_prefix("a/c/")
        assert sorted(store.list()) == ["a/zarr.json", "ab/zarr.json", "b/c", "zarr.json"]
        store.delete_prefix("a/")
        assert store.get("ab/zarr.json") == b"{}"
        store.delete_prefix("missing/")
        store.delete_prefix("")
        assert list(store.list()) == []

    # --- zarr-python's names ------------------------------------------------------------------
    def test_capability_flags(self, store: Store) -> None:
        flags = ("supports_writes", "supports_deletes", "supports_listing")
        assert all(getattr(store, flag) is True for flag in flags)
        assert store.supports_partial_writes is False
        assert isinstance(store.supports_consolidated_metadata, bool)

    def test_sync_aliases(self, store: Store) -> None:
        store.set_sync("s/k", b"value")
        assert store.get_sync("s/k") == b"value"
        assert store.get_sync("s/k", byte_range=RangeRequest(1, 3)) == b"al"
        store.delete_sync("s/k")
        assert store.get_sync("s/k") is None

    def test_set_if_not_exists(self, store: Store) -> None:
        store.set_if_not_exists("n/k", b"first")
        store.set_if_not_exists("n/k", b"second")
        assert store.get("n/k") == b"first"

    def test_delete_dir_and_clear(self, store: Store) -> None:
        self._fill_tree(store)
        store.delete_dir("a")  # a node path, without the '/'
        assert sorted(store.list()) == ["ab/zarr.json", "b/c", "zarr.json"]
        store.delete_dir("b/")
        assert sorted(store.list()) == ["ab/zarr.json", "zarr.json"]
        store.clear()
        assert store.is_empty()

    def test_getsize_prefix(self, store: Store) -> None:
        store.set_many({"g/a": b"12345", "g/b/c": b"678", "gh": b"90", "h": b"1"})
        assert store.getsize_prefix("g") == store.getsize_prefix("g/") == 8
        assert store.getsize_prefix("") == 11
        assert store.getsize_prefix("missing") == 0
        assert not store.is_empty("g") and store.is_empty("gx")

    def test_get_partial_values(self, store: Store) -> None:
        store.set_many({"p/0": b"0123456789", "p/1": b"abc"})
        pairs = [("p/0", RangeRequest(2, 4)), ("p/1", None), ("missing", None)]
        assert store.get_partial_values(None, pairs) == [b"23", b"abc", None]

    def test_buffer_prototype_and_values(self, store: Store) -> None:
        class Buffer:  # what zarr-python's buffers offer a store, nothing more
            def __init__(self, data: bytes) -> None:
                self.data = data

            @classmethod
            def from_bytes(cls, data: bytes) -> Buffer:
                return cls(data)

            def as_buffer_like(self) -> memoryview:
                return memoryview(self.data)

        class Prototype:
            buffer = Buffer

        store.set("b/k", Buffer(b"from a buffer"))  # type: ignore[arg-type]
        got = store.get("b/k", SuffixRequest(6), prototype=Prototype())
        assert isinstance(got, Buffer) and got.data == b"buffer"
        assert store.get("missing", prototype=Prototype()) is None
        with pytest.raises(TypeError):
            store.set("b/k", "text")  # type: ignore[arg-type]

    # --- keys ------------------------------------------------------------------------------
    def test_unicode_keys(self, store: Store) -> None:
        for key in UNICODE_KEYS:
            store.set(key, key.encode())
            assert store.get(key) == key.encode(), key
            parent = key.rsplit("/", 1)[0] + "/"
            assert list(store.list_prefix(parent)) == [key], key
        assert sorted(store.list()) == sorted(UNICODE_KEYS)

    def test_invalid_keys_rejected(self, store: Store) -> None:
        for key in INVALID_KEYS:
            with pytest.raises(InvalidKeyError):
                store.set(key, b"x")
            with pytest.raises(InvalidKeyError):
                store.get(key)
            with pytest.raises(InvalidKeyError):
                store.delete(key)
            with pytest.raises(InvalidKeyError):
                store.get_many(["ok", key])
            with pytest.raises(InvalidKeyError):
                store.set_many({"ok": b"1", key: b"2"})
            with pytest.raises(InvalidKeyError):
                store.get_many_versioned(["ok", key])
            with pytest.raises(InvalidKeyError):
                store.set_many_if([("ok", b"1", None), (key, b"2", None)])
        assert store.get("ok") is None
        assert list(store.list()) == []

    def test_non_string_key_rejected(self, store: Store) -> None:
        with pytest.raises(InvalidKeyError):
            store.get(b"bytes-key")  # type: ignore[call-overload]

    # --- read-only -------------------------------------------------------------------------
    def test_read_only_refuses_writes(self, store: Store) -> None:
        store.set("a/b", b"kept")
        reader = self.read_only_handle(store)
        assert reader.read_only
        assert reader.get("a/b") == b"kept"
        assert list(reader.list()) == ["a/b"]
        writes: list[Callable[[], None]] = [
            lambda: reader.set("a/b", b"new"),
            lambda: reader.set("c", b"new"),
            lambda: reader.set_many({"d": b"new"}),
            lambda: reader.delete("a/b"),
            lambda: reader.delete_many(["a/b"]),
            lambda: reader.delete_prefix("a/"),
            lambda: reader.delete_prefix(""),
            lambda: reader.delete_dir("a"),
            lambda: reader.clear(),
            lambda: reader.set_if_not_exists("z", b"new"),
            lambda: reader.set_sync("a/b", b"new"),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyError):
                write()
        assert store.get("a/b") == b"kept"
        assert sorted(store.list()) == ["a/b"]

    # --- pickling --------------------------------------------------------------------------
    def test_pickle(self, store: Store) -> None:
        store.set("p/k", b"before")
        clone = pickle.loads(pickle.dumps(store))
        assert type(clone) is type(store)
        assert clone.read_only == store.read_only
        assert clone.get("p/k") == b"before"
        if self.shares_data_when_pickled:
            store.set("p/later", b"after")
            assert clone.get("p/later") == b"after"

    def test_pickle_keeps_read_only(self, store: Store) -> None:
        store.set("p/k", b"v")
        clone = pickle.loads(pickle.dumps(self.read_only_handle(store)))
        assert clone.read_only
        with pytest.raises(ReadOnlyError):
            clone.set("p/k", b"w")

    # --- concurrency -----------------------------------------------------------------------
    def test_threads_write_disjoint_keys(self, store: Store) -> None:
        per_thread = 25
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(per_thread):
                    store.set(f"t{t}/{i}", f"{t}:{i}".encode())
                    assert store.get(f"t{t}/{i}") == f"{t}:{i}".encode()
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(self.thread_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        expected = {f"t{t}/{i}" for t in range(self.thread_count) for i in range(per_thread)}
        assert set(store.list()) == expected
        keys = sorted(expected)
        assert store.get_many(keys) == [f"{k[1:].replace('/', ':')}".encode() for k in keys]

    # --- versions ----------------------------------------------------------------------------
    def _needs(self, store: Store, capability: str) -> None:
        if not getattr(store, capability):
            pytest.skip(f"{type(store).__name__} does not claim {capability}")

    def test_stores_without_versions_say_so(self, store: Store) -> None:
        store.set("k", b"v")
        if not store.supports_versions:
            with pytest.raises(StoreError):
                store.get_versioned("k")
        if not store.supports_conditional_writes:
            with pytest.raises(StoreError):
                store.set_if("k", b"w", if_match=None)
            assert store.get("k") == b"v"

    def test_versions_name_values(self, store: Store) -> None:
        self._needs(store, "supports_versions")
        assert store.get_versioned("v/missing") == Versioned(None, None)
        store.set("v/k", b"first value")
        first = store.get_versioned("v/k")
        assert first.value == b"first value" and first.version
        assert store.get_versioned("v/k").version == first.version  # a read changes nothing
        store.set("v/k", b"second")
        second = store.get_versioned("v/k")
        assert second.value == b"second" and second.version not in (None, first.version)
        assert store.get_many_versioned(["v/k", "v/missing"]) == [second, Versioned(None, None)]

    def test_versioned_byte_ranges_say_where_they_start(self, store: Store) -> None:
        self._needs(store, "supports_versions")
        store.set("v/r", b"0123456789")
        whole = store.get_versioned("v/r")
        for request, expected in BYTE_RANGES:
            part = store.get_versioned("v/r", request)
            assert part.value == expected and part.version == whole.version, request
            if expected:
                assert b"0123456789"[part.start :].startswith(expected), request

    def test_reads_can_require_a_version(self, store: Store) -> None:
        self._needs(store, "supports_versions")
        store.set("v/r", b"0123456789")
        version = store.get_versioned("v/r").version
        assert version is not None
        ranges: list[ByteRequest] = [RangeRequest(1, 3), SuffixRequest(2)]
        assert store.get_ranges_if("v/r", ranges, version) == [b"12", b"89"]
        assert store.get_versioned("v/r", RangeRequest(0, 2), if_match=version).value == b"01"
        store.set("v/r", b"abcdefghij")
        with pytest.raises(ConflictError):
            store.get_ranges_if("v/r", ranges, version)
        with pytest.raises(ConflictError):
            store.get_versioned("v/r", if_match=version)
        store.delete("v/r")
        with pytest.raises(ConflictError):
            store.get_ranges_if("v/r", ranges, version)

    def test_get_then_reads_one_version(self, store: Store) -> None:
        store.set("t/shard", b"payload-INDEX")
        seen: list[tuple[bytes, int | None]] = []

        def then(head: bytes, start: int | None) -> list[ByteRequest]:
            seen.append((head, start))
            return [RangeRequest(0, 7)]

        found = store.get_then("t/shard", SuffixRequest(5), then)
        assert found is not None
        assert found[0].value == b"INDEX" and found[1] == [b"payload"]
        assert seen[0][0] == b"INDEX" and seen[0][1] in (8, None)
        assert store.get_then("t/missing", SuffixRequest(5), then) is None

    def test_set_if_creates_and_replaces_only_as_asked(self, store: Store) -> None:
        self._needs(store, "supports_conditional_writes")
        created = store.set_if("w/k", b"one", if_match=None)
        with pytest.raises(ConflictError):
            store.set_if("w/k", b"again", if_match=None)  # exists already
        assert store.get("w/k") == b"one"
        if store.supports_versions:
            assert store.get_versioned("w/k").version == created
        replaced = store.set_if("w/k", b"two", if_match=created)
        with pytest.raises(ConflictError):
            store.set_if("w/k", b"stale", if_match=created)
        assert store.get("w/k") == b"two"
        store.delete("w/k")
        with pytest.raises(ConflictError):
            store.set_if("w/k", b"gone", if_match=replaced)  # no longer there
        assert store.get("w/k") is None
        results = store.set_many_if([("w/a", b"1", None), ("w/b", b"2", "no-such-version")])
        assert results[0] is not None and results[1] is None
        assert store.get_many(["w/a", "w/b"]) == [b"1", None]

    def test_read_only_refuses_conditional_writes(self, store: Store) -> None:
        self._needs(store, "supports_conditional_writes")
        with pytest.raises(ReadOnlyError):
            self.read_only_handle(store).set_if("w/k", b"x", if_match=None)
        assert store.get("w/k") is None

    def test_conditional_increments_from_threads_lose_none(self, store: Store) -> None:
        # TensorStore's TestConcurrentWrites: each thread owns a slot of one value and
        # increments it with read-version / set_if loops; a lost update shows as a short slot.
        self._needs(store, "supports_conditional_writes")
        self._needs(store, "supports_versions")
        threads, increments = 4, 5
        store.set("w/counter", bytes(threads))
        errors: list[BaseException] = []

        def work(slot: int) -> None:
            try:
                for _ in range(increments):
                    while True:
                        current = store.get_versioned("w/counter")
                        value = bytearray(current.value or b"")
                        value[slot] += 1
                        try:
                            store.set_if("w/counter", value, if_match=current.version)
                            break
                        except ConflictError:
                            continue
            except BaseException as e:
                errors.append(e)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        assert store.get("w/counter") == bytes([increments] * threads)
