"""zarrkit.config as zarr-python users write it: dotted keys, set as a call and as a block,
reset, pprint; zarr-python's keys mapped where they mean something, refused where not."""

import io

import numpy as np
import pytest

import zarrkit
from zarrkit import config


@pytest.fixture(autouse=True)
def fresh_settings():
    config.reset()
    yield
    config.reset()


def test_dotted_keys_and_defaults():
    assert config.get("array.order") == "C"
    assert config.get("array.write_empty_chunks") is False
    assert config.get("array") == {
        "order": "C",
        "read_missing_chunks": True,
        "write_empty_chunks": False,
    }
    assert config.get("no.such.key", 7) == 7
    with pytest.raises(KeyError, match=r"unknown setting 'no.such.key'"):
        config.get("no.such.key")


def test_set_as_a_call_lasts_until_reset():
    config.set({"array.order": "F"})
    assert config.get("array.order") == "F"
    assert zarrkit.zeros((2, 3), store={}).order == "F"
    config.reset()
    assert config.get("array.order") == "C"


def test_set_as_a_block_restores():
    config.set(threads=3)
    with config.set({"array.write_empty_chunks": True}, array__order="F"):
        assert config.get("array.write_empty_chunks") is True
        assert config.get("array.order") == "F"
        assert config.get("threads") == 3
    assert config.get("array.write_empty_chunks") is False
    assert config.get("array.order") == "C"


def test_zarr_python_keys_map_onto_zarrkit_settings():
    with config.set({"async.concurrency": 5, "threading.max_workers": 3}):
        assert config.get("io_threads") == 5 and config.get("threads") == 3
        assert config.get("async.concurrency") == 5
    with config.set({"threading.max_workers": None}):  # zarr-python's "the default"
        assert config.get("threads") == config.DEFAULTS["threads"]
    with config.set(write_empty_chunks=True):  # zarrkit's older name
        assert config.get("array.write_empty_chunks") is True


def test_zarr_python_keys_without_meaning_are_refused_not_stored():
    for key in ("codec_pipeline.path", "json_indent", "buffer", "async.timeout"):
        with pytest.raises(KeyError, match="no effect in zarrkit"):
            config.set({key: 1})
    with pytest.raises(KeyError, match=r"unknown setting 'arary.order'"):
        config.set({"arary.order": "F", "array.order": "F"})
    assert config.get("array.order") == "C"  # nothing changed: every key is checked first


def test_default_zarr_format_is_used_where_the_format_is_left_out():
    with config.set(default_zarr_format=2):
        assert zarrkit.create(shape=(2,), store={}).zarr_format == 2
        assert zarrkit.group({}).zarr_format == 2
    assert zarrkit.group({}).zarr_format == 3


def test_pprint_nests_dotted_keys():
    out = io.StringIO()
    config.pprint(stream=out, width=100)
    text = out.getvalue()
    array = "'array': {'order': 'C', 'read_missing_chunks': True, 'write_empty_chunks': False}"
    assert array in text
    assert "'threads':" in text


def test_write_empty_chunks_setting_reaches_new_arrays():
    with config.set({"array.write_empty_chunks": True}):
        a = zarrkit.zeros((4,), chunks=(2,), store={})
    a[:] = 0
    assert a.config.write_empty_chunks is True and a.nchunks_initialized == 2
    np.testing.assert_array_equal(a[:], 0)
