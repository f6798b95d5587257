import errno
import os

import pytest
from compiled import both_loops

from zarrkit.errors import InvalidKeyError, ReadOnlyError, StoreError
from zarrkit.storage import LocalStore, local, native
from zarrkit.testing import StoreSuite


class TestLocalStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        yield LocalStore(tmp_path / "root")


class TestDurableLocalStore(StoreSuite):
    many_keys = 200
    large_value_size = 2**20

    @pytest.fixture
    def store(self, tmp_path):
        yield LocalStore(tmp_path / "root", durable=True)


def _all_files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_atomic_write_leaves_no_temp_files(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(5):
        store.set("a/b", bytes([i]) * 1000)
    store.set_many({f"c/{i}": b"x" for i in range(10)})
    assert _all_files(tmp_path) == ["a/b", *sorted(f"c/{i}" for i in range(10))]


def test_failed_write_keeps_old_value_and_no_temp(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    store.set("k", b"old")

    def half_then_full_disk(fd: int, value: object) -> None:
        os.write(fd, b"ne")  # the temporary file holds part of the new value
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local, "_write_all", half_then_full_disk)
    with pytest.raises(StoreError, match="No space left"):
        store.set("k", b"new value")
    assert store.get("k") == b"old"
    assert _all_files(tmp_path) == ["k"]


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/passwd", "..\\x", "C:/x"])
def test_key_cannot_escape_root(tmp_path, key):
    root = tmp_path / "root"
    store = LocalStore(root)
    with pytest.raises(InvalidKeyError):
        store.set(key, b"x")
    assert not (tmp_path / "escape").exists()
    assert list(tmp_path.iterdir()) == []


def test_read_only_missing_root_reads_empty(tmp_path):
    store = LocalStore(tmp_path / "nothing", read_only=True)
    assert store.get("a") is None
    assert list(store.list()) == []
    assert not (tmp_path / "nothing").exists()


# durable: the file, its directory, and the directory "a" it created (fsynced in its parent)
@pytest.mark.parametrize(("durable", "expected"), [(False, 0), (True, 3)])
def test_durable_fsyncs_file_and_directory(tmp_path, monkeypatch, durable, expected):
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
    LocalStore(tmp_path, durable=durable).set("a/b", b"x")
    assert len(calls) == expected


def test_get_many_reads_every_size_whole(tmp_path, monkeypatch):
    # one read per small file (no fstat); a file as large as the first read or larger is
    # read whole, and later files in the batch then ask their size first
    store = LocalStore(tmp_path)
    first = local._FIRST_READ
    values = {
        "small": b"s" * 100,
        "empty": b"",
        "exact": bytes(range(256)) * (first // 256),
        "large": b"L" * (3 * first + 7),
        "after": b"a" * 10,
    }
    store.set_many(values)
    (tmp_path / "dir").mkdir()
    fstats = []
    real_fstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: fstats.append(fd) or real_fstat(fd))
    keys = ["small", "empty", "missing", "dir", "exact", "large", "after"]
    got = store.get_many(keys)
    assert got == [values.get(k) for k in keys]
    assert len(fstats) == 3  # "exact" (it filled the first read), "large", "after"
    fstats.clear()
    assert store.get_many(["small", "empty", "after"]) == [b"s" * 100, b"", b"a" * 10]
    assert fstats == []


file_loop = both_loops(native, "LIB", "file-reading loop")


def test_batches_read_the_same_by_either_loop(tmp_path, monkeypatch, file_loop):
    store = LocalStore(tmp_path)
    first = local._FIRST_READ
    values = {f"c/{i}": bytes([i]) * (i * 37) for i in range(24)}  # c/0 is empty
    values |= {"exact": bytes(range(256)) * (first // 256), "large": b"L" * (3 * first + 7)}
    store.set_many(values)
    (tmp_path / "dir").mkdir()
    keys = [*values, "missing", "dir", "c/3/under-a-file", "c/missing/x"]
    calls = []
    read_files = native.read_files
    monkeypatch.setattr(native, "read_files", lambda *a: calls.append(a) or read_files(*a))
    assert len(keys) >= local._NATIVE_BATCH
    assert store.get_many(keys) == [values.get(k) for k in keys]
    assert len(calls) == (file_loop == "compiled")
    # a file that cannot be read raises, naming its key (a symbolic link to itself: ELOOP)
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(StoreError, match="'loop'") as raised:
        store.get_many(["loop", *keys])
    assert "Too many levels of symbolic links" in str(raised.value)


def test_large_files_in_a_batch_are_read_once_by_their_size(tmp_path, monkeypatch, file_loop):
    # the compiled loop stops at the first file that fills the first read; that one is read
    # again whole, the rest by their size, as Python's loop reads them: no file read twice
    store = LocalStore(tmp_path)
    first = local._FIRST_READ
    values = {f"s/{i}": b"x" * 100 for i in range(4)}
    values |= {f"b/{i}": bytes([i]) * (first + 1000) for i in range(20)}
    store.set_many(values)
    again, fstats = [], []
    get, fstat = LocalStore._get, os.fstat
    monkeypatch.setattr(LocalStore, "_get", lambda self, k, r: again.append(k) or get(self, k, r))
    monkeypatch.setattr(os, "fstat", lambda fd: fstats.append(fd) or fstat(fd))
    assert store.get_many(list(values)) == list(values.values())
    assert again == (["b/0"] if file_loop == "compiled" else [])
    assert len(fstats) == 20  # each large file's size asked once


def test_compiled_loop_fills_its_buffer_and_goes_on(tmp_path, monkeypatch):
    if native.LIB is None:
        pytest.skip("the compiled file-reading loop was not built here (no C compiler)")
    monkeypatch.setattr(native, "BUFFER", 3000)  # room for four of these files a call
    monkeypatch.setattr(native, "_local", type(native._local)())
    files = [tmp_path / f"f{i}" for i in range(9)]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i]) * 600)
    paths = [*map(str, files), str(tmp_path / "missing")]
    assert native.read_files(paths, 1000) == [bytes([i]) * 600 for i in range(9)] + [-errno.ENOENT]
    # a file that fills the read ends the batch there: the caller reads it and the rest
    files[3].write_bytes(b"L" * 1000)
    assert native.read_files(paths, 1000) == [bytes([i]) * 600 for i in range(3)] + [b"L" * 1000]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_temp_names_are_new_in_a_forked_child(tmp_path):
    assert local._temp_names.prefix == f"{os.getpid()}-"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix, write a key, leave at once
        try:
            os.write(write, local._temp_names.prefix.encode())
            LocalStore(tmp_path).set("k", b"child")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        prefix = pipe.read().decode()
    os.waitpid(pid, 0)
    assert prefix == f"{pid}-"
    assert LocalStore(tmp_path).get("k") == b"child"
    assert _all_files(tmp_path) == ["k"]


def test_open_like_zarr_python(tmp_path):
    made = LocalStore.open(tmp_path / "new" / "root")
    assert made.root.is_dir() and not made.read_only
    with pytest.raises(FileNotFoundError):
        LocalStore.open(tmp_path / "absent", read_only=True)
    with pytest.raises(FileNotFoundError):
        LocalStore.open(tmp_path / "absent", mode="r+")
    assert LocalStore.open(tmp_path / "new" / "root", read_only=True).read_only


def test_move_keeps_using_the_store(tmp_path):
    store = LocalStore(tmp_path / "src")
    store.set("a/b", b"1")
    store.move(tmp_path / "elsewhere" / "dst")
    assert not (tmp_path / "src").exists()
    assert store.get("a/b") == b"1" and store.root == tmp_path / "elsewhere" / "dst"
    store.set("c", b"2")
    assert (tmp_path / "elsewhere" / "dst" / "c").read_bytes() == b"2"
    with pytest.raises(FileExistsError):
        store.move(tmp_path)
    with pytest.raises(ReadOnlyError):
        store.with_read_only(True).move(tmp_path / "third")


def test_equal_on_the_same_directory(tmp_path):
    assert LocalStore(tmp_path) == LocalStore(str(tmp_path)).with_read_only(True)
    assert LocalStore(tmp_path / "a") != LocalStore(tmp_path / "b")
    assert len({LocalStore(tmp_path), LocalStore(tmp_path)}) == 1
    assert str(LocalStore(tmp_path)) == tmp_path.as_uri()


write_loop = both_loops(native, "WRITER", "file-writing loop")


def test_batches_write_the_same_by_either_loop(tmp_path, write_loop):
    store = LocalStore(tmp_path)
    store.set_many({f"c/{i}": b"old" for i in range(0, 24, 3)})  # some replaced, some new
    values = {f"c/{i}": bytes([i]) * (i * 37) for i in range(24)}  # c/0 is empty
    values |= {"new/dir/a": memoryview(b"view"), "new/dir/b": bytearray(b"bytearray")}
    values |= {"large": memoryview(bytes(range(256)) * 4096)[10:]}  # a view, not at its start
    store.set_many(values)
    assert {key: store.get(key) for key in values} == {k: bytes(v) for k, v in values.items()}
    assert [f for f in _all_files(tmp_path) if ".zarrkit" in f] == []  # no temporary left


def test_a_key_given_twice_keeps_its_last_value(tmp_path, write_loop):
    store = LocalStore(tmp_path)
    store.set_many([(f"c/{i % 5}", bytes([i])) for i in range(10)])
    assert [store.get(f"c/{i}") for i in range(5)] == [bytes([i]) for i in range(5, 10)]


def test_the_compiled_loop_leaves_what_it_cannot_write(tmp_path):
    if native.WRITER is None:
        pytest.skip("the compiled file-writing loop was not built here (no C compiler)")
    (tmp_path / "taken").write_bytes(b"a temporary file of that name exists")
    (tmp_path / "dir").mkdir()
    (tmp_path / "kept").write_bytes(b"old")
    temps = [str(tmp_path / n) for n in ("t1", "taken", "t3", "missing/t4", "t5")]
    paths = [str(tmp_path / n) for n in ("a", "kept", "b", "missing/c", "dir")]
    failed = native.write_files(temps, paths, [b"A", b"K", memoryview(b"B"), b"C", b"D"])
    assert failed == [1, 3, 4]  # the name taken, a missing directory, a directory's path
    assert (tmp_path / "a").read_bytes() == b"A" and (tmp_path / "b").read_bytes() == b"B"
    assert (tmp_path / "kept").read_bytes() == b"old" and (tmp_path / "dir").is_dir()
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "dir", "kept", "taken"]  # none left


def test_a_failed_write_in_a_batch_names_the_keys_not_written(tmp_path, write_loop):
    store = LocalStore(tmp_path)
    (tmp_path / "c" / "3").mkdir(parents=True)  # a directory where a chunk goes
    (tmp_path / "c" / "3" / "x").write_bytes(b"x")
    values = {f"c/{i}": bytes([i]) for i in range(8)}
    with pytest.raises(StoreError) as caught:
        store.set_many(values)
    unwritten = getattr(caught.value, "unwritten", None)
    assert unwritten is not None and "c/3" in unwritten
    if write_loop == "compiled":  # every other file was written
        assert unwritten == ("c/3",)
    for key, value in values.items():
        assert (store.get(key) == value) == (key not in unwritten), key
