"""The "limit": the codec library alone on bare chunk files, with a thread per core.

Full reads and writes run as separate phases with a barrier between them, so their time is the
sum of the components (read: read files + decode + one copy into the output; write: copy
chunks out + encode + write files). Partial reads (windows, slices, points, iter_chunks) are
one fused read->decode->copy pipeline over just the chunks they need.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

from benchmarks.child import Peer, main
from benchmarks.workloads import Workload, blocks, v2_compressor

THREADS = os.cpu_count() or 1
POOL = ThreadPoolExecutor(THREADS)


def parallel(fn: Callable[..., Any], *columns: list[Any]) -> list[Any]:
    """``list(map(fn, *columns))`` on all cores, one contiguous batch per thread.

    Batching keeps the pool's per-task cost (~20 µs) out of small-chunk workloads.
    """
    rows = list(zip(*columns, strict=True))
    size = -(-len(rows) // THREADS) or 1
    batches = [rows[i : i + size] for i in range(0, len(rows), size)]
    done = POOL.map(lambda batch: [fn(*row) for row in batch], batches)
    return [item for batch in done for item in batch]


def codec_functions(wl: Workload) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if wl.codec == "gzip":  # zlib directly: numcodecs.GZip adds a Python file-object layer
        return partial(zlib.compress, level=1, wbits=31), partial(zlib.decompress, wbits=31)
    config = v2_compressor(wl)
    if config is None:
        return memoryview, bytes
    codec = numcodecs.get_codec(config)
    return codec.encode, codec.decode


class Packed:
    """Encoded chunks packed into one file per shard (one per chunk when unsharded).

    The byte length of every chunk goes to ``index.npy`` once, and offsets live in memory,
    so a partial read is one ``pread``: a floor no sharded reader can beat.
    """

    def __init__(self, path: Path, wl: Workload) -> None:
        self.path, self.shape, self.chunks = str(path), wl.shape, wl.chunks
        self.dtype = np.dtype(wl.dtype)
        self.encode, self.decode = codec_functions(wl)
        self.grid_shape = tuple(-(-n // c) for n, c in zip(wl.shape, wl.chunks, strict=True))
        self.grid = list(np.ndindex(*self.grid_shape))
        self.blocks = dict(zip(self.grid, blocks(wl), strict=True))
        outer = wl.shards or wl.chunks
        self.files: dict[str, list[tuple[int, ...]]] = {}
        for ix in self.grid:
            unit = (i * c // o for i, c, o in zip(ix, self.chunks, outer, strict=True))
            self.files.setdefault(os.path.join(self.path, ".".join(map(str, unit))), []).append(ix)
        self.where: dict[tuple[int, ...], tuple[str, int, int]] = {}
        index = os.path.join(self.path, "index.npy")
        if os.path.exists(index):
            self._locate(np.load(index).tolist())

    def _locate(self, lengths: list[int]) -> None:
        size = dict(zip(self.grid, lengths, strict=True))
        for file, members in self.files.items():
            offset = 0
            for ix in members:
                self.where[ix] = (file, offset, size[ix])
                offset += size[ix]

    def _decode(self, ix: tuple[int, ...], blob: Any) -> np.ndarray:
        shape = tuple(s.stop - s.start for s in self.blocks[ix])
        return np.frombuffer(self.decode(blob), dtype=self.dtype).reshape(shape)

    def load(self, ix: tuple[int, ...]) -> np.ndarray:
        file, offset, length = self.where[ix]
        fd = os.open(file, os.O_RDONLY)
        try:
            return self._decode(ix, os.pread(fd, length, offset))
        finally:
            os.close(fd)

    def write(self, data: np.ndarray) -> None:
        pieces = parallel(lambda ix: np.ascontiguousarray(data[self.blocks[ix]]), self.grid)
        blobs = dict(zip(self.grid, parallel(self.encode, pieces), strict=True))
        parallel(
            self._put, list(self.files), [[blobs[ix] for ix in m] for m in self.files.values()]
        )
        lengths = [memoryview(blobs[ix]).nbytes for ix in self.grid]
        np.save(os.path.join(self.path, "index.npy"), np.array(lengths))
        self._locate(lengths)

    @staticmethod
    def _put(file: str, blobs: list[Any]) -> None:
        with open(file, "wb") as f:
            f.writelines(blobs)

    @staticmethod
    def _get(file: str) -> bytes:
        with open(file, "rb") as f:
            return f.read()

    def read_all(self) -> np.ndarray:
        contents = dict(zip(self.files, parallel(self._get, list(self.files)), strict=True))

        def decode(ix: tuple[int, ...]) -> np.ndarray:
            file, offset, length = self.where[ix]
            return self._decode(ix, memoryview(contents[file])[offset : offset + length])

        chunks = parallel(decode, self.grid)
        out = np.empty(self.shape, self.dtype)
        parallel(lambda ix, chunk: np.copyto(out[self.blocks[ix]], chunk), self.grid, chunks)
        return out

    def read_region(self, selection: tuple[Any, ...]) -> np.ndarray:
        sel = selection + (slice(None),) * (len(self.shape) - len(selection))
        bounds = [
            (s, s + 1) if isinstance(s, int) else s.indices(n)[:2]
            for s, n in zip(sel, self.shape, strict=True)
        ]
        out = np.empty([b - a for a, b in bounds], self.dtype)

        def fill(ix: tuple[int, ...]) -> None:
            parts = [
                (max(a, i * c), min(b, (i + 1) * c), i * c, a)
                for (a, b), i, c in zip(bounds, ix, self.chunks, strict=True)
            ]
            chunk = self.load(ix)
            out[tuple(slice(lo - a, hi - a) for lo, hi, _, a in parts)] = chunk[
                tuple(slice(lo - o, hi - o) for lo, hi, o, _ in parts)
            ]

        needed = [
            range(a // c, (b - 1) // c + 1) for (a, b), c in zip(bounds, self.chunks, strict=True)
        ]
        parallel(fill, list(itertools.product(*needed)))
        return out[tuple(0 if isinstance(s, int) else slice(None) for s in sel)]

    def vindex(self, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        out = np.empty(len(coords[0]), self.dtype)

        def fill(ix: tuple[int, ...], points: np.ndarray) -> None:
            local = tuple(
                c[points] - i * k for c, i, k in zip(coords, ix, self.chunks, strict=True)
            )
            out[points] = self.load(ix)[local]

        parallel(fill, *self._by_chunk(coords))
        return out

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Whole rows of an array chunked along its first axis only."""
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        zeros = [np.zeros_like(rows)] * (len(self.shape) - 1)

        def fill(ix: tuple[int, ...], points: np.ndarray) -> None:
            out[points] = self.load(ix)[rows[points] - ix[0] * self.chunks[0]]

        parallel(fill, *self._by_chunk((rows, *zeros)))
        return out

    def _by_chunk(
        self, coords: tuple[np.ndarray, ...]
    ) -> tuple[list[tuple[int, ...]], list[np.ndarray]]:
        """The chunks holding points ``coords``, and which points each holds."""
        ids = np.ravel_multi_index(
            [c // k for c, k in zip(coords, self.chunks, strict=True)], self.grid_shape
        )
        order = np.argsort(ids, kind="stable")
        unique, starts = np.unique(ids[order], return_index=True)
        chunks = [tuple(int(i) for i in np.unravel_index(u, self.grid_shape)) for u in unique]
        return chunks, np.split(order, starts[1:])


class Limit(Peer):
    def version(self) -> str:
        return f"numcodecs {importlib.metadata.version('numcodecs')} + zlib, {THREADS} threads"

    def create(self, path: Path, wl: Workload) -> Packed:
        path.mkdir(parents=True, exist_ok=True)
        return Packed(path, wl)

    def open(self, path: Path, wl: Workload) -> Packed:
        return Packed(path, wl)

    def write(self, arr: Packed, data: np.ndarray) -> None:
        arr.write(data)

    def read(self, arr: Packed, selection: tuple[Any, ...]) -> np.ndarray:
        return arr.read_all() if selection == (Ellipsis,) else arr.read_region(selection)

    def vindex(self, arr: Packed, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        return arr.vindex(coords)

    def rows(self, arr: Packed, rows: np.ndarray) -> np.ndarray:
        return arr.rows(rows)

    def iter_chunks(self, arr: Packed, wl: Workload) -> Iterator[tuple[tuple[slice, ...], Any]]:
        return zip(arr.blocks.values(), parallel(arr.load, arr.grid), strict=True)


if __name__ == "__main__":
    main(Limit)
