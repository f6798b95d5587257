"""zarr-python 2.18 (runs in .cache/zarr2-venv: numpy, zarr, numcodecs and stdlib only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numcodecs
import zarr

from benchmarks.child import NotSupported, Peer, main
from benchmarks.workloads import Workload, v2_compressor


class ZarrPython2(Peer):
    def version(self) -> str:
        return f"zarr {zarr.__version__}, numcodecs {numcodecs.__version__}"

    def create(self, path: Path, wl: Workload) -> Any:
        if wl.shards is not None:
            raise NotSupported("zarr-python 2 has no sharding")
        config = v2_compressor(wl)
        return zarr.open_array(
            str(path),
            mode="w",
            shape=wl.shape,
            chunks=wl.chunks,
            dtype=wl.dtype,
            compressor=None if config is None else numcodecs.get_codec(config),
            fill_value=0,
        )

    def open(self, path: Path, wl: Workload) -> Any:
        if wl.shards is not None:
            raise NotSupported("zarr-python 2 has no sharding")
        return zarr.open_array(str(path), mode="r")


if __name__ == "__main__":
    main(ZarrPython2)
