"""tensorstore's zarr3 driver; ``--variant nosync`` turns off its default fsync on write."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

from benchmarks.child import Peer, main
from benchmarks.workloads import Workload, v3_compressor

_BYTES = {"name": "bytes", "configuration": {"endian": "little"}}


def metadata(wl: Workload) -> dict[str, Any]:
    compressor = v3_compressor(wl)
    codecs: list[dict[str, Any]] = [_BYTES] if compressor is None else [_BYTES, compressor]
    if wl.shards is not None:
        sharding = {
            "chunk_shape": list(wl.chunks),
            "codecs": codecs,
            "index_codecs": [_BYTES, {"name": "crc32c"}],
        }
        codecs = [{"name": "sharding_indexed", "configuration": sharding}]
    return {
        "shape": list(wl.shape),
        "chunk_grid": {
            "name": "regular",
            "configuration": {"chunk_shape": list(wl.shards or wl.chunks)},
        },
        "chunk_key_encoding": {"name": "default"},
        "data_type": wl.dtype,
        "fill_value": 0,
        "codecs": codecs,
    }


class TensorStore(Peer):
    def version(self) -> str:
        sync = "no fsync" if self.variant == "nosync" else "fsync (default)"
        return f"tensorstore {importlib.metadata.version('tensorstore')}, {sync}"

    def _spec(self, path: Path) -> dict[str, Any]:
        return {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}

    def _context(self) -> ts.Context:
        return ts.Context({"file_io_sync": self.variant != "nosync"})

    def create(self, path: Path, wl: Workload) -> Any:
        spec = {**self._spec(path), "metadata": metadata(wl)}
        return ts.open(spec, create=True, delete_existing=True, context=self._context()).result()

    def open(self, path: Path, wl: Workload) -> Any:
        return ts.open(self._spec(path), open=True, read=True, context=self._context()).result()

    def write(self, arr: Any, data: np.ndarray) -> None:
        arr.write(data).result()

    def read(self, arr: Any, selection: tuple[Any, ...]) -> np.ndarray:
        return arr[selection].read().result()

    def vindex(self, arr: Any, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        return arr.vindex[coords].read().result()

    def rows(self, arr: Any, rows: np.ndarray) -> np.ndarray:
        return arr.oindex[rows].read().result()


if __name__ == "__main__":
    main(TensorStore)
