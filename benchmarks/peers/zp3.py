"""zarr-python 3; ``--variant zarrs`` swaps in the zarrs (Rust) codec pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zarr

from benchmarks.child import Peer, main
from benchmarks.workloads import Workload, v3_compressor


class ZarrPython3(Peer):
    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        if variant == "zarrs":
            zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})

    def version(self) -> str:
        if self.variant == "zarrs":
            import zarrs

            return f"zarr {zarr.__version__} + zarrs {zarrs.__version__}"
        return f"zarr {zarr.__version__}"

    def create(self, path: Path, wl: Workload) -> Any:
        return zarr.create_array(
            store=str(path),
            shape=wl.shape,
            chunks=wl.chunks,
            shards=wl.shards,
            dtype=wl.dtype,
            compressors=v3_compressor(wl),
            fill_value=0,
            zarr_format=3,
            overwrite=True,
        )

    def open(self, path: Path, wl: Workload) -> Any:
        return zarr.open_array(str(path), mode="r")


if __name__ == "__main__":
    main(ZarrPython3)
