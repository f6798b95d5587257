"""Ceilings (zarrkit.config): safe defaults, a ResourceLimitError naming the setting and how
to raise it, and raising it lets the operation through."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import zstd_frames

import zarrkit
from zarrkit import config
from zarrkit.errors import ResourceLimitError
from zarrkit.storage import MemoryStore


def test_defaults() -> None:
    assert config.get("max_chunk_bytes") == 2**31
    assert config.get("max_document_bytes") == 64 * 2**20
    assert config.get("max_rank") == 64
    assert config.get("lock_timeout") == 600


def _raises_naming(setting: str) -> Any:
    return pytest.raises(ResourceLimitError, match=rf"{setting} limit .*config\.set\({setting}=")


def test_max_chunk_bytes_on_create_and_open() -> None:
    store = MemoryStore()
    with config.set(max_chunk_bytes=2**20), _raises_naming("max_chunk_bytes"):
        zarrkit.create_array(store, shape=(1024, 1024), chunks=(512, 512), dtype="f8")
    assert list(store.list()) == []
    zarrkit.create_array(store, shape=(1024, 1024), chunks=(512, 512), dtype="f8")
    with config.set(max_chunk_bytes=2**20), _raises_naming("max_chunk_bytes"):
        zarrkit.open_array(store)
    with config.set(max_chunk_bytes=2**21):
        assert zarrkit.open_array(store).chunks == (512, 512)


def test_shards_may_exceed_max_chunk_bytes_inner_chunks_may_not() -> None:
    with config.set(max_chunk_bytes=2**16):
        array = zarrkit.create_array(
            MemoryStore(), shape=(256, 256), chunks=(64, 64), shards=(256, 256), dtype="f8"
        )
        array[...] = 1.0
        assert array[...].sum() == 256 * 256
        with _raises_naming("max_chunk_bytes"):
            zarrkit.create_array(
                MemoryStore(), shape=(256, 256), chunks=(128, 128), shards=(256, 256), dtype="f8"
            )


def test_max_chunk_bytes_bounds_decoding_of_unknown_size() -> None:
    store = MemoryStore()
    array = zarrkit.create_array(store, shape=(2,), chunks=(2,), dtype=str)
    array[...] = np.array(["a", "b"])
    store.set("c/0", zstd_frames.zeros(2**21))  # a frame without a size header
    with (
        config.set(max_chunk_bytes=2**20),
        pytest.raises(ResourceLimitError, match=r"max_chunk_bytes"),
    ):
        array[...]


def test_max_document_bytes() -> None:
    store = MemoryStore()
    zarrkit.create_array(store, shape=(2,), dtype="i1", attributes={"note": "x" * 1000})
    with config.set(max_document_bytes=500), _raises_naming("max_document_bytes"):
        zarrkit.open_array(store)
    assert zarrkit.open_array(store).attrs["note"] == "x" * 1000


def test_max_rank() -> None:
    store = MemoryStore()
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [1] * 65,
        "data_type": "int8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1] * 65}},
        "chunk_key_encoding": {"name": "default"},
        "fill_value": 0,
        "codecs": [{"name": "bytes"}],
    }
    store.set("zarr.json", json.dumps(doc).encode())
    with _raises_naming("max_rank"):
        zarrkit.open_array(store)
    with config.set(max_rank=65):
        assert zarrkit.open_array(store).ndim == 65


def test_check_limit() -> None:
    config.check_limit("max_rank", 64, "rank")
    with pytest.raises(ResourceLimitError, match="rank is 65, over the max_rank limit of 64"):
        config.check_limit("max_rank", 65, "rank")
