"""Where users start: fresh nested folders, relative paths, `~`, URLs, a dict, a bare import.

Every test here began as a first-minute failure seen from the outside.
"""

import subprocess
import sys

import numpy as np
import pytest

import zarrkit


@pytest.mark.parametrize("fmt", [2, 3])
def test_create_into_missing_nested_folders(tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    a = zarrkit.create_array(
        store="data/deeper/example.zarr", shape=(10,), chunks=(5,), dtype="i4", zarr_format=fmt
    )
    a[:] = np.arange(10)
    assert (tmp_path / "data/deeper/example.zarr").is_dir()
    np.testing.assert_array_equal(zarrkit.open_array("data/deeper/example.zarr", mode="r")[:], a[:])


def test_group_and_url_into_missing_folders(tmp_path):
    root = zarrkit.group(f"file://{tmp_path}/a/b/c.zarr")
    root.create_array("x", shape=(2,), dtype="u1")[:] = 7
    assert zarrkit.open_group(tmp_path / "a/b/c.zarr", mode="r")["x"][:].tolist() == [7, 7]


def test_home_relative_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    zarrkit.create_array("~/new/home.zarr", shape=(3,), dtype="f4", fill_value=1.5)
    assert (tmp_path / "new/home.zarr/zarr.json").is_file()
    assert zarrkit.open_array("~/new/home.zarr")[:].tolist() == [1.5] * 3


def test_submodules_are_attributes_right_after_import():
    script = (
        "import zarrkit as zarr\n"
        "print(type(zarr.storage.MemoryStore()).__name__, zarr.codecs.BytesCodec.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["MemoryStore", "BytesCodec"]


def test_dict_as_store():
    backing: dict = {}
    a = zarrkit.create_array(store=backing, shape=(4,), chunks=(2,), dtype="f8")
    a[:] = 1.0
    assert "zarr.json" in backing and "c/0" in backing
    np.testing.assert_array_equal(zarrkit.open_array(backing, mode="r")[:], np.ones(4))
