"""The C allocator, set once for the memory reads and writes take and give back per chunk.

glibc's ``malloc`` maps every block above its mmap threshold (128 KiB at start) anew and
unmaps it when it is freed, until a program frees such a block: then the threshold becomes
that block's size (up to 32 MiB) and blocks up to it are reused. Reads and writes take
blocks of 128 KiB to a few MiB per chunk (compressed chunks as read, decoded ones, a
window's chunks), so each of them then faults its pages in anew: on this VM, whose host
takes back the memory its guest frees, that cost W9's sample batches 1.1-1.4 s of kernel
time a run against 0.3 s (full runs D7 and D8, 330,000 page faults against none). Until
the compiled writing loop, a write in the same process had freed a window's chunks first;
a process that only reads never had.

:func:`settle` frees one block of :data:`BLOCK` bytes, as the first large free of any NumPy
program does: glibc then reuses blocks up to that size and keeps up to twice as much free
at the top of its heaps. Elsewhere (macOS, musl) it only allocates and frees a block.
"""

from __future__ import annotations

import numpy as np

#: The size of the block :func:`settle` frees: the largest chunk a thread keeps memory for.
BLOCK = 4 << 20


def settle() -> None:
    """Allocate and free a block of :data:`BLOCK` bytes (no page of it is touched)."""
    block = np.empty(BLOCK, np.uint8)
    del block
