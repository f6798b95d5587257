"""The engine settles glibc's allocator when it is imported (engine.allocator), so blocks
of the sizes reads and writes take per chunk are reused, not mapped anew each time."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import resource
import numpy as np
import zarrkit.engine
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for size in range(256 << 10, 2 << 20, 64 << 10):  # chunks of growing sizes
    block = np.ones(size, np.uint8)  # written: new pages fault
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_blocks_of_a_chunk_are_reused_after_the_engine_is_imported():
    """Blocks of 256 KiB to 2 MiB, each larger than the last and freed before the next:
    glibc maps each anew (some 8,000 pages in all) unless its threshold was raised above
    them, as the engine does; then each reuses the last one's pages (about 500 in all)."""
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert int(run.stdout) < 2000
