"""Where users start: fresh nested folders, relative paths, `~`, URLs, a dict, a bare import.

Every test here began as a first-minute failure seen from the outside.
"""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_docs import ROOT, code_blocks, run_cli_lines, run_python

import zarrkit

#: A store name in the docs' code, quoted or on a command line: ``"example.zarr"``.
STORE_NAME = re.compile(r"""(["'\s])([\w-]+\.zarr)\b""")


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


# --- every kind of location, both formats ------------------------------------------------


def locations(tmp_path):
    """The same fresh, nested location spelled as users spell it."""
    target = tmp_path / "a" / "b" / "c.zarr"
    return {
        "relative str": "a/b/c.zarr",
        "pathlib.Path": Path("a/b/c.zarr"),
        "absolute str": str(target),
        "file:// URL": f"file://{target}",
        "~": "~/a/b/c.zarr",
    }


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize(
    "spelling", ["relative str", "pathlib.Path", "absolute str", "file:// URL", "~"]
)
def test_every_spelling_of_a_fresh_nested_location(tmp_path, monkeypatch, fmt, spelling):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    where = locations(tmp_path)[spelling]
    root = zarrkit.open_group(where, mode="w", zarr_format=fmt)
    root.create_array("x", shape=(3,), dtype="i2")[:] = [1, 2, 3]
    zarrkit.save_array(where, np.arange(4), path="saved", zarr_format=fmt)
    assert (tmp_path / "a/b/c.zarr").is_dir()
    again = zarrkit.open(where, mode="r")
    assert again.zarr_format == fmt and sorted(again) == ["saved", "x"]
    assert again["x"][:].tolist() == [1, 2, 3] and zarrkit.load(where, path="saved").size == 4


def folder_with_a_file(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    return folder


def folder_with_a_node(tmp_path, kind, fmt):
    folder = tmp_path / "existing"
    if kind == "array":
        zarrkit.create_array(folder, shape=(2,), dtype="i1", zarr_format=fmt)[:] = 7
    else:
        zarrkit.open_group(folder, mode="w", zarr_format=fmt, attributes={"old": True})
    (folder / "notes.txt").write_text("mine")
    return folder


def open_kind(kind, folder, mode, fmt):
    if kind == "array":
        return zarrkit.open_array(folder, mode=mode, shape=(2,), dtype="i1", zarr_format=fmt)
    return zarrkit.open_group(folder, mode=mode, zarr_format=fmt)


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("kind", ["array", "group"])
@pytest.mark.parametrize("mode", ["r", "r+", "a", "w", "w-"])
def test_an_existing_folder_without_a_node(tmp_path, fmt, kind, mode):
    folder = folder_with_a_file(tmp_path)
    if mode in ("r", "r+"):
        with pytest.raises(FileNotFoundError):
            open_kind(kind, folder, mode, fmt)
    else:  # created beside the file, which stays (docs/migrating.md)
        assert open_kind(kind, folder, mode, fmt).zarr_format == fmt
    assert (folder / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("kind", ["array", "group"])
@pytest.mark.parametrize("mode", ["r", "r+", "a", "w", "w-"])
def test_an_existing_folder_with_a_node(tmp_path, fmt, kind, mode):
    folder = folder_with_a_node(tmp_path, kind, fmt)
    if mode == "w-":
        with pytest.raises(FileExistsError):
            open_kind(kind, folder, mode, fmt)
        return
    node = open_kind(kind, folder, mode, fmt)
    assert node.read_only == (mode == "r")
    replaced = mode == "w"
    if kind == "array":
        assert node[:].tolist() == ([0, 0] if replaced else [7, 7])
    else:
        assert dict(node.attrs) == ({} if replaced else {"old": True})
    # "w" replaces the node and everything under it, files included; other modes keep them
    assert (folder / "notes.txt").exists() == (not replaced)


def test_a_dict_for_groups_and_both_formats():
    backing: dict = {}
    g = zarrkit.group(backing, zarr_format=2)
    g["a"] = np.arange(3)
    assert ".zgroup" in backing and "a/.zarray" in backing
    assert zarrkit.open_group(backing, mode="r")["a"][:].tolist() == [0, 1, 2]


@pytest.mark.parametrize("doc", ["README.md", "docs/migrating.md"])
def test_the_docs_quick_start_into_fresh_nested_folders(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in code_blocks((ROOT / doc).read_text()):
        if not block.tested:
            continue
        moved = dataclasses.replace(block, code=STORE_NAME.sub(r"\1fresh/nested/\2", block.code))
        if block.language == "python":
            run_python(moved, ROOT / doc, namespace)
        elif block.language == "bash":
            run_cli_lines(moved, ROOT / doc)
    assert list(tmp_path.glob("*.zarr")) == []
    assert list((tmp_path / "fresh/nested").glob("*.zarr"))
