import importlib.util
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from zarrkit.errors import ReadOnlyError
from zarrkit.storage import RangeRequest, SuffixRequest, make_store, stores

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_store.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("custom_store_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    stores.unregister("tar")


def test_example_script_runs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "keys: ['c/0', 'zarr.json']" in result.stdout
    assert "c/0[2:5]: b'234'" in result.stdout


def test_registered_tar_store(example, tmp_path):
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tar:
        for name, value in {"g/zarr.json": b"{}", "g/a/c/0": b"abcdef"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(value)
            tar.addfile(info, io.BytesIO(value))
    store = make_store(f"tar://{archive}")
    assert isinstance(store, example.TarStore)
    assert sorted(store.list_dir("g/")) == ["a", "zarr.json"]
    assert store.get("g/a/c/0", SuffixRequest(2)) == b"ef"
    assert store.get_ranges("g/a/c/0", [RangeRequest(0, 1), RangeRequest(4, 9)]) == [b"a", b"ef"]
    assert store.get("missing") is None
    with pytest.raises(ReadOnlyError):
        store.set("g/x", b"1")
    store.close()
