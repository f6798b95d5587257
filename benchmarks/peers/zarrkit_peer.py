"""zarrkit, measured through its public API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import zarrkit
import zarrkit.api  # see below
from benchmarks.child import NotSupported, Peer, main
from benchmarks.workloads import Workload, block, v3_compressor
from zarrkit.errors import MetadataError

# `import zarrkit` defers its API (with NumPy, about 270 modules) to first use, where the
# other peers import theirs with the package. Imported here, outside the timings: the first
# timed write of each child paid 0.2-0.4 s for it (more where Python may not cache bytecode,
# as with PYTHONDONTWRITEBYTECODE=1 on the benchmark machine), which no later run pays.


class ZarrkitPeer(Peer):
    def version(self) -> str:
        return f"zarrkit {zarrkit.__version__}"

    def create(self, path: Path, wl: Workload) -> Any:
        try:
            return zarrkit.create_array(
                str(path),
                shape=wl.shape,
                chunks=wl.chunks,
                shards=wl.shards,
                dtype=wl.dtype,
                compressors=v3_compressor(wl),
                fill_value=0,
                zarr_format=3,
                overwrite=True,
            )
        except MetadataError as e:
            if wl.shards is not None and "shard" in str(e):
                raise NotSupported(str(e)) from e
            raise

    def open(self, path: Path, wl: Workload) -> Any:
        return zarrkit.open_array(str(path), mode="r")

    def iter_chunks(self, arr: Any, wl: Workload) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
        if not hasattr(arr, "iter_chunks"):
            raise NotSupported("zarrkit.Array has no iter_chunks yet")
        return ((block(wl, coords), data) for coords, data in arr.iter_chunks())


if __name__ == "__main__":
    main(ZarrkitPeer)
