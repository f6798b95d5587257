"""Reads in a process that has written nothing reuse the memory of their chunks instead of
mapping it anew for each (engine.allocator)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zarrkit

READS = """
import resource, sys
import numpy as np
import zarrkit
arr = zarrkit.open_array(sys.argv[1], mode="r")
rows = np.random.default_rng(1).choice(100_000, 256, replace=False)
arr.oindex[rows]  # the first read maps what it needs
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    arr.oindex[rows]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_rows_read_again_fault_no_new_pages(tmp_path: Path):
    """Each read of 256 rows takes blocks of 128 KiB and more per chunk (the compressed
    chunk, the rows decoded) for about 90 chunks: without the allocator settled, glibc gave
    them back and took them anew, 1,087 pages over these 5 reads against 11."""
    data = np.random.default_rng(0).integers(0, 1024, (100_000, 128)).astype("<f4")
    arr = zarrkit.create_array(tmp_path / "a", shape=data.shape, chunks=(1000, 128), dtype="<f4")
    arr[...] = data
    faults = subprocess.run(
        [sys.executable, "-c", READS, str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(faults) < 300
