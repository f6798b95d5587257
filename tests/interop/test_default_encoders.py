"""Chunks as zarrkit's default encoders write them (gzip by isal, zstd by one reused
python-zstandard context) are read by every peer, at the sizes where their bytes differ
from zarr-python's: the matrix's arrays are small, where they do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
from optional import available

import zarrkit

from . import peers
from .subject import require_subject

require_subject()

COMPRESSORS = [
    ("gzip-1", 3, {"name": "gzip", "configuration": {"level": 1}}),
    ("gzip-6", 3, {"name": "gzip", "configuration": {"level": 6}}),
    ("gzip-9", 2, {"id": "gzip", "level": 9}),
    ("zstd-3", 3, {"name": "zstd", "configuration": {"level": 3, "checksum": False}}),
    ("zstd-1-checksum", 3, {"name": "zstd", "configuration": {"level": 1, "checksum": True}}),
    ("zstd-5", 2, {"id": "zstd", "level": 5}),
]
READS = [(peer, c) for c in COMPRESSORS for peer in ("zarr3", "zarr2", "tensorstore")]


def data() -> np.ndarray[Any, Any]:
    """int16 values 0..1023 (as W6), three chunks of 32 x 64 x 64 (256 KiB each)."""
    rng = np.random.default_rng(15)
    return rng.integers(0, 1024, size=(96, 64, 64)).astype("<i2")


@pytest.mark.parametrize(
    ("peer", "compressor"),
    [r for r in READS if not (r[0] == "zarr2" and r[1][1] == 3)],
    ids=lambda x: x if isinstance(x, str) else x[0],
    indirect=["peer"],
)
def test_peer_reads_default_encoded_chunks(
    peer: str, compressor: tuple[str, int, dict[str, Any]], workdir: Path
) -> None:
    _, zarr_format, config = compressor
    values = data()
    array = zarrkit.create_array(
        workdir,
        shape=values.shape,
        chunks=(32, 64, 64),
        dtype=values.dtype,
        compressors=[config],
        zarr_format=zarr_format,
    )
    array[...] = values
    if "gzip" in str(config) and available("isal"):  # not zlib's stream: the test covers isal's
        chunk = array.store.get("c/0/0/0" if zarr_format == 3 else "0.0.0")
        level = config["configuration"]["level"] if "configuration" in config else config["level"]
        theirs = numcodecs.GZip(level=level).encode(values[:32])
        assert chunk is not None and chunk[10:] != theirs[10:]
    got, _ = peers.read(peer, workdir)
    np.testing.assert_array_equal(got, values)
