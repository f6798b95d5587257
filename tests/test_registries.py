"""Extension registries: the examples, runtime registration, entry points, unknown names."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from zarrkit.codecs import codecs, get_codec
from zarrkit.errors import MetadataError, UnknownCodecError, UnknownStoreError
from zarrkit.metadata.chunk_key import chunk_key_encodings
from zarrkit.registry import Registry, register_chunk_key_encoding, register_codec
from zarrkit.storage import MemoryStore, make_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str, monkeypatch: pytest.MonkeyPatch):
    """Import ``examples/<name>.py`` (which registers its extension)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def xor(monkeypatch):
    module = load_example("custom_codec", monkeypatch)
    yield module.XorCodec
    codecs.unregister(module.XorCodec.name)


@pytest.fixture
def flat(monkeypatch):
    module = load_example("custom_chunk_key_encoding", monkeypatch)
    yield module.FlatKeyEncoding
    chunk_key_encodings.unregister(module.FlatKeyEncoding.name)


@pytest.mark.parametrize(
    ("script", "lines"),
    [
        (
            "custom_codec.py",
            ["codecs: ['bytes', 'example.xor']", "stored chunk c/0/0: [255, 254, 251, 250]"],
        ),
        (
            "custom_chunk_key_encoding.py",
            ["keys: ['c_0_0', 'c_0_1', 'c_1_0', 'c_1_1', 'zarr.json']", "decoded: (1, 0) None"],
        ),
    ],
)
def test_example_scripts_run(script, lines):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout.splitlines()
    assert [line for line in lines if line not in output] == []
    assert "round trip: True" in output


def test_registered_codec_round_trips_and_reopens(xor):
    store = MemoryStore()
    data = np.arange(30, dtype="i2").reshape(5, 6)
    zarrkit.create_array(
        store, name="x", data=data, chunks=(5, 6), compressors={"name": "example.xor"}
    )
    assert store.get("x/c/0/0") == bytes(b ^ 0x5A for b in data.astype("<i2").tobytes())
    reopened = zarrkit.open_array(store, path="x", mode="r")
    np.testing.assert_array_equal(reopened[...], data)
    assert reopened.compressors == (xor(key=0x5A),)
    with pytest.raises(MetadataError, match=r"0\.\.255"):
        get_codec({"name": "example.xor", "configuration": {"key": 256}})
    with pytest.raises(MetadataError, match="no option 'salt'"):
        get_codec({"name": "example.xor", "configuration": {"salt": 1}})


def test_registered_chunk_key_encoding(flat):
    store = MemoryStore()
    array = zarrkit.create_array(
        store, shape=(4, 4), dtype="u1", chunks=(2, 2), chunk_key_encoding={"name": "example.flat"}
    )
    array[...] = 1
    assert sorted(k for k in store.list() if k != "zarr.json") == [
        "c_0_0",
        "c_0_1",
        "c_1_0",
        "c_1_1",
    ]
    array.resize((2, 2))  # deleting chunks goes through the encoding too
    assert sorted(k for k in store.list() if k != "zarr.json") == ["c_0_0"]
    assert zarrkit.open_array(store).metadata.chunk_key_encoding == flat()
    with pytest.raises(MetadataError, match="no configuration"):
        zarrkit.create_array(
            MemoryStore(),
            shape=(1,),
            dtype="u1",
            chunk_key_encoding={"name": "example.flat", "configuration": {"x": 1}},
        )


def test_convenience_functions_use_the_built_in_registries():
    class Marker:
        pass

    register_codec("test.marker", Marker)  # type: ignore[arg-type]
    register_chunk_key_encoding("test.marker", Marker)
    try:
        assert codecs.get("test.marker") is Marker
        assert chunk_key_encodings.get("test.marker") is Marker
    finally:
        codecs.unregister("test.marker")
        chunk_key_encodings.unregister("test.marker")


def test_registrations_made_before_the_built_ins_are_imported_win():
    # zarrkit.registry imports no package of built-ins, so a user can register first
    script = textwrap.dedent(
        """
        import zarrkit.registry as registry
        registry.register_codec("gzip", int)
        registry.register_store("memory", str)
        import zarrkit.codecs, zarrkit.storage
        assert registry.codecs.get("gzip") is int, registry.codecs.get("gzip")
        assert registry.stores.get("memory") is str
        assert registry.codecs.get("zstd").__name__ == "ZstdCodec"
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


PLUGIN = """
from dataclasses import dataclass
from typing import ClassVar

from zarrkit.codecs import BytesBytesCodec


@dataclass(frozen=True, slots=True, kw_only=True)
class ReverseCodec(BytesBytesCodec):
    name: ClassVar[str] = "test.reverse"

    def to_json(self):
        return {"name": self.name}

    def encode(self, blob, spec):
        return bytes(blob)[::-1]

    decode = encode


@dataclass(frozen=True)
class Dashed:
    name = "test.dashed"

    def encode(self, coords):
        return "-".join(map(str, coords)) or "0"

    def to_json(self):
        return {"name": self.name}


def dashed(configuration, key=None):
    return Dashed()
"""

ENTRY_POINTS = """
[zarrkit.codecs]
test.reverse = fake_zarrkit_plugin:ReverseCodec

[zarrkit.chunk_key_encodings]
test.dashed = fake_zarrkit_plugin:dashed
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A distribution on sys.path that declares a codec and a chunk key encoding."""
    (tmp_path / "fake_zarrkit_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "fake_zarrkit_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-zarrkit-plugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    for registry in (codecs, chunk_key_encodings):  # forget earlier lookups; restored after
        monkeypatch.setattr(registry, "_items", dict(registry._items))
        monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield
    sys.modules.pop("fake_zarrkit_plugin", None)


def test_entry_points_load_on_first_miss(plugin):
    fresh: Registry[type] = Registry("zarrkit.codecs", "codec")
    assert "test.reverse" in fresh.names()
    store = MemoryStore()
    data = np.arange(8, dtype="u1")
    zarrkit.create_array(
        store,
        data=data,
        chunks=(4,),
        compressors={"name": "test.reverse"},
        chunk_key_encoding={"name": "test.dashed"},
    )
    assert store.get("1") == bytes([7, 6, 5, 4])
    np.testing.assert_array_equal(zarrkit.open_array(store, mode="r")[...], data)


def test_unknown_names_list_the_available_ones():
    with pytest.raises(UnknownCodecError, match=r"unknown codec 'nope'; available: .*zstd"):
        get_codec({"name": "nope"})
    with pytest.raises(
        MetadataError, match=r"unknown chunk key encoding 'nope'; available: default, v2"
    ):
        zarrkit.create_array(shape=(1,), dtype="u1", chunk_key_encoding={"name": "nope"})
    with pytest.raises(
        UnknownStoreError, match=r"unknown store scheme 'nope'; available: .*memory"
    ):
        make_store("nope://somewhere")
