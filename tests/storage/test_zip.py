import os
import pickle
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.storage.zip import ZipStore
from zarrkit.testing import StoreSuite


class TestZipStore(StoreSuite):
    shares_data_when_pickled = False

    @pytest.fixture
    def store(self, tmp_path):
        store = ZipStore(tmp_path / "data.zip", mode="w")
        yield store
        store.close()


class TestZipStoreFlushed(StoreSuite):
    """The same contract when the values come from the archive, not the staging area."""

    shares_data_when_pickled = False
    large_value_size = 2**20
    many_keys = 200  # each set rewrites the archive

    @pytest.fixture
    def store(self, tmp_path):
        store = _FlushingZipStore(tmp_path / "data.zip", mode="w")
        yield store
        store.close()


class _FlushingZipStore(ZipStore):
    def _set(self, key, value):
        super()._set(key, value)
        self.flush()

    def _set_many(self, items):
        for key, value in items:
            super()._set(key, value)
        self.flush()


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def test_rewrite_leaves_no_duplicate_members(tmp_path):
    path = tmp_path / "a.zip"
    with ZipStore(path, mode="w") as store:
        store.set("k", b"1")
        store.set("j", b"x")
    for value in (b"2", b"3"):
        with ZipStore(path, mode="a") as store:
            store.set("k", value)
    assert sorted(_members(path)) == ["j", "k"]
    assert ZipStore(path).get("k") == b"3"
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]


def test_archive_gets_a_normal_files_mode_and_keeps_its_own(tmp_path):
    """A new archive is made as any file (0666 less the umask, as zarr-python's), not
    with a temporary file's 0600; a rewritten one keeps the mode it had."""
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "a.zip"
        with ZipStore(path, mode="w") as store:
            store.set("k", b"1")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)
        with ZipStore(path, mode="a") as store:
            store.set("k", b"2")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert ZipStore(path).get("k") == b"2"
    finally:
        os.umask(old_umask)


def test_delete_and_flush(tmp_path):
    path = tmp_path / "a.zip"
    with ZipStore(path, mode="w") as store:
        store.set_many({"a/0": b"0", "a/1": b"1", "b": b"b"})
    with ZipStore(path, mode="a") as store:
        store.delete_prefix("a/")
        assert list(store.list()) == ["b"]
        assert sorted(_members(path)) == ["a/0", "a/1", "b"]  # not flushed yet
        store.flush()
        assert _members(path) == ["b"]
        store.set("a/0", b"again")
    assert sorted(_members(path)) == ["a/0", "b"]


def test_mode_semantics(tmp_path):
    path = tmp_path / "a.zip"
    with pytest.raises(StoreError):
        ZipStore(path)  # mode "r" needs an archive
    with ZipStore(path, mode="x") as store:
        store.set("k", b"v")
    with pytest.raises(StoreError, match="already exists"):
        ZipStore(path, mode="x")
    reader = ZipStore(path)
    assert reader.read_only
    with pytest.raises(ReadOnlyError):
        reader.set("k", b"w")
    with pytest.raises(ValueError):
        ZipStore(path, mode="q")
    with pytest.raises(ValueError):
        ZipStore(path, mode="w", read_only=True)
    assert ZipStore(tmp_path / "none.zip", mode="a", read_only=True).get("k") is None
    with ZipStore(path, mode="w"):
        pass  # mode "w" replaces the archive with an empty one
    assert _members(path) == []


def test_mode_r_made_writable_updates_the_existing_archive(tmp_path):
    # zarr-python accepts ZipStore(path, mode="r", read_only=False); with_read_only(False)
    # gives the same handle here, so the constructor takes it too.
    path = tmp_path / "a.zip"
    with pytest.raises(StoreError):
        ZipStore(path, mode="r", read_only=False)  # mode "r" still needs an archive
    with ZipStore(path, mode="w") as store:
        store.set("k", b"old")
    with ZipStore(path, mode="r", read_only=False) as store:
        assert not store.read_only
        assert store.get("k") == b"old"
        store.set("j", b"new")
    assert sorted(_members(path)) == ["j", "k"]


def test_closed_store_raises(tmp_path):
    store = ZipStore(tmp_path / "a.zip", mode="w")
    store.set("k", b"v")
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.get("k")
    with pytest.raises(StoreError, match="closed"):
        store.set("k", b"v")
    assert ZipStore(tmp_path / "a.zip").get("k") == b"v"


def test_not_a_zip_raises(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(StoreError, match="cannot open zip archive"):
        ZipStore(path)


def test_duplicate_and_unsafe_members(tmp_path):
    path = tmp_path / "odd.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "w") as zf:
        zf.writestr("k", b"first")
        zf.writestr("k", b"last")
        zf.writestr("../escape", b"x")
        zf.writestr("dir/", b"")
    assert ZipStore(path).get("k") == b"last"
    assert list(ZipStore(path).list()) == ["k"]
    with ZipStore(path, mode="a") as store:
        store.set("new", b"n")
    assert sorted(_members(path)) == ["../escape", "dir/", "k", "new"]
    assert ZipStore(path).get("k") == b"last"


def test_deflated_archive_and_ranges(tmp_path):
    path = tmp_path / "d.zip"
    value = bytes(range(256)) * 100
    with ZipStore(path, mode="w", compression=zipfile.ZIP_DEFLATED) as store:
        store.set("v", value)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("v").compress_type == zipfile.ZIP_DEFLATED
    store = ZipStore(path)
    from zarrkit.storage import RangeRequest, SuffixRequest

    assert store.get("v", RangeRequest(1000, 1010)) == value[1000:1010]
    assert store.get("v", SuffixRequest(7)) == value[-7:]


def test_pickle_flushes_writer(tmp_path):
    path = tmp_path / "a.zip"
    store = ZipStore(path, mode="w")
    store.set("k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert _members(path) == ["k"]
    assert clone.get("k") == b"v"
    clone.close()
    store.close()


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_unclosed_writer_is_flushed_at_exit(tmp_path):
    path = tmp_path / "a.zip"
    result = _run(
        "import warnings; warnings.simplefilter('always')\n"
        "from zarrkit.storage.zip import ZipStore\n"
        f"store = ZipStore({str(path)!r}, mode='w')\n"
        "store.set('k', b'acknowledged')\n"
    )
    assert result.returncode == 0, result.stderr
    assert ZipStore(path).get("k") == b"acknowledged"
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]


def test_unclosed_writer_garbage_collected_warns(tmp_path):
    path = tmp_path / "a.zip"
    store = ZipStore(path, mode="w")
    store.set("k", b"v")
    with pytest.warns(ResourceWarning, match="was not closed"):
        del store
        import gc

        gc.collect()
    assert ZipStore(path).get("k") == b"v"


@pytest.mark.parametrize("ending", ["del store; import gc; gc.collect()", "pass"])
def test_unclosed_writer_is_flushed_when_warnings_are_errors(tmp_path, ending):
    # Under -W error the ResourceWarning raises inside the finalizer: the values must be
    # written before it does, whether the store is collected or left open at exit.
    path = tmp_path / "a.zip"
    result = _run(
        "import warnings; warnings.simplefilter('error')\n"
        "from zarrkit.storage.zip import ZipStore\n"
        f"store = ZipStore({str(path)!r}, mode='w')\n"
        "store.set('k', b'acknowledged')\n"
        f"{ending}\n"
    )
    assert "was not closed" in result.stderr
    assert ZipStore(path).get("k") == b"acknowledged"
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]


def test_crash_keeps_archive_and_staged_values(tmp_path):
    path = tmp_path / "a.zip"
    with ZipStore(path, mode="w") as store:
        store.set("old", b"flushed")
    result = _run(
        "import os\n"
        "from zarrkit.storage.zip import ZipStore\n"
        f"store = ZipStore({str(path)!r}, mode='a')\n"
        "store.set('c/0', b'staged')\n"
        "os._exit(0)\n"
    )
    assert result.returncode == 0, result.stderr
    assert list(ZipStore(path).list()) == ["old"]
    (staging,) = [p for p in tmp_path.iterdir() if p.name != "a.zip"]
    assert staging.name.startswith(".a.zip.staging-")
    assert (staging / "c" / "0").read_bytes() == b"staged"


def test_zarr_python_writes_we_read(tmp_path):
    import zarr

    path = tmp_path / "zarr.zip"
    zstore = zarr.storage.ZipStore(path, mode="w")
    arr = zarr.create_array(zstore, shape=(10, 10), chunks=(5, 5), dtype="int32")
    arr[:] = np.arange(100, dtype="int32").reshape(10, 10)
    zstore.close()
    ours = ZipStore(path)
    with zipfile.ZipFile(path) as zf:
        expected = {name: zf.read(name) for name in zf.namelist()}
    assert sorted(ours.list()) == sorted(expected)
    assert "zarr.json" in expected
    assert "c/1/1" in expected
    assert ours.get_many(sorted(expected)) == [expected[k] for k in sorted(expected)]


def test_we_write_zarr_python_reads(tmp_path):
    import zarr

    source: dict = {}
    arr = zarr.create_array(
        zarr.storage.MemoryStore(source), shape=(6, 4), chunks=(3, 2), dtype="float64"
    )
    data = np.linspace(0, 1, 24).reshape(6, 4)
    arr[:] = data
    path = tmp_path / "ours.zip"
    with ZipStore(path, mode="w") as store:
        store.set_many({key: value.to_bytes() for key, value in source.items()})
    zstore = zarr.storage.ZipStore(path, mode="r")
    back = zarr.open_array(zstore, mode="r")
    np.testing.assert_array_equal(back[:], data)
    zstore.close()


def test_equal_on_the_same_archive(tmp_path):
    with ZipStore(tmp_path / "a.zip", mode="w") as first, ZipStore(tmp_path / "b", mode="w") as b:
        assert first == first.with_read_only(True)
        assert first != b
        assert str(first) == f"zip://{tmp_path / 'a.zip'}"
