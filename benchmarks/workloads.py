"""The workloads of the performance issue: arrays, codecs, operations and their selections.

Shared by the driver and every peer child (including the zarr-python 2 one), so it imports
only numpy and the standard library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

# Operations and how they are measured. A "selections" op reads a fixed list of basic
# selections (all timed together); the others are one call over the whole array.
OPS = {
    "write": "full write (fresh array)",
    "overwrite": "full write (overwrite in place)",
    "read": "full read",
    "windows": "random unaligned 64x64 windows",
    "inner": "random single-inner-chunk reads",
    "zslice": "one z-slice [n/2]",
    "column": "one column [:, y, x]",
    "vindex": "scattered vindex points",
    "chunks": "iter_chunks pass",
    "batches": "random 256-row sample batches",
}
SELECTION_OPS = ("windows", "inner", "zslice", "column")
WRITE_OPS = ("write", "overwrite")
QUICK_FACTOR = 4  # --quick divides every dimension and count by this
BATCH_ROWS = 256  # rows per sample batch (the "batches" op)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    name: str
    title: str
    dtype: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    codec: str  # "zstd" | "blosc" | "none" | "gzip"
    ops: tuple[str, ...]
    shards: tuple[int, ...] | None = None
    count: int = 1000  # selections for windows/inner, points for vindex, batches
    write_repeat: int | None = None  # cap on repetitions of a slow write (stated in the table)

    def quick(self) -> Workload:
        def shrink(dims: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(max(d // QUICK_FACTOR, c) for d, c in zip(dims, self.chunks, strict=True))

        shards = None if self.shards is None else shrink(self.shards)
        return dataclasses.replace(
            self, shape=shrink(self.shape), shards=shards, count=self.count // QUICK_FACTOR
        )

    def repeat(self, op: str, requested: int) -> int:
        if op in WRITE_OPS and self.write_repeat is not None:
            return min(requested, self.write_repeat)
        return requested


_W1 = Workload(
    name="W1",
    title="f64 4096² chunks 256² zstd-3",
    dtype="float64",
    shape=(4096, 4096),
    chunks=(256, 256),
    codec="zstd",
    ops=("write", "read"),
)
_W3 = Workload(
    name="W3",
    title="f32 2048² chunks 32² (4096) zstd-3",
    dtype="float32",
    shape=(2048, 2048),
    chunks=(32, 32),
    codec="zstd",
    ops=("overwrite", "read"),
)
_W9 = Workload(
    name="W9",
    title="f32 1,000,000x128 chunks 1000x128 zstd-3, batches of 256 random rows",
    dtype="float32",
    shape=(1_000_000, 128),
    chunks=(1000, 128),
    codec="zstd",
    ops=("batches",),
    count=40,
)
WORKLOADS = {
    w.name: w
    for w in (
        _W1,
        dataclasses.replace(_W1, name="W2b", title="f64 4096² blosc-lz4 shuffle", codec="blosc"),
        dataclasses.replace(_W1, name="W2n", title="f64 4096² no compression", codec="none"),
        _W3,
        dataclasses.replace(  # zarr-python 2's default compressor, on W3's small chunks
            _W3,
            name="W3b",
            title="f32 2048² chunks 32² (4096) blosc-lz4 shuffle",
            codec="blosc",
            ops=("read",),
        ),
        dataclasses.replace(
            _W1, name="W4", title="1000 random 64² windows of W1", ops=("windows",)
        ),
        Workload(
            name="W5",
            title="f32 8192² shards 1024² inner 64² zstd-3",
            dtype="float32",
            shape=(8192, 8192),
            chunks=(64, 64),
            shards=(1024, 1024),
            codec="zstd",
            ops=("write", "read", "inner"),
        ),
        Workload(
            name="W6",
            title="int16 256x512² chunks 64³ gzip-1",
            dtype="int16",
            shape=(256, 512, 512),
            chunks=(64, 64, 64),
            codec="gzip",
            ops=("write", "zslice", "column"),
            write_repeat=3,
        ),
        dataclasses.replace(
            _W1, name="W7", title="100,000 vindex points of W1", ops=("vindex",), count=100_000
        ),
        dataclasses.replace(_W1, name="W8", title="iter_chunks over W1", ops=("chunks",)),
        _W9,
        dataclasses.replace(
            _W9,
            name="W9s",
            title="W9 in shards of 100,000 rows (inner chunks 1000 rows)",
            shards=(100_000, 128),
        ),
    )
}
ALIASES = {"W2": ("W2b", "W2n")}


def get(name: str, *, quick: bool = False) -> Workload:
    workload = WORKLOADS[name]
    return workload.quick() if quick else workload


def make_data(wl: Workload) -> np.ndarray:
    """Integers 0..1023 (fixed seed) stored as the dtype, so compression ratios are comparable."""
    rng = np.random.default_rng(20240601)
    return rng.integers(0, 1024, size=wl.shape, dtype=np.int16).astype(wl.dtype)


def selections(wl: Workload, op: str) -> list[tuple[Any, ...]]:
    """The basic selections a selections op reads, from a fixed seed."""
    rng = np.random.default_rng(7)
    if op == "windows":
        starts = [rng.integers(0, n - 64 + 1, wl.count) for n in wl.shape]
        return [
            tuple(slice(int(s), int(s) + 64) for s in start) for start in zip(*starts, strict=True)
        ]
    if op == "inner":
        starts = [
            rng.integers(0, n // c, wl.count) * c for n, c in zip(wl.shape, wl.chunks, strict=True)
        ]
        return [
            tuple(slice(int(s), int(s) + c) for s, c in zip(start, wl.chunks, strict=True))
            for start in zip(*starts, strict=True)
        ]
    if op == "zslice":
        return [(wl.shape[0] // 2,)]
    if op == "column":
        return [(slice(None), wl.shape[1] * 200 // 512, wl.shape[2] * 300 // 512)]
    raise ValueError(f"op {op!r} has no selections; expected one of {SELECTION_OPS}")


def points(wl: Workload) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(11)
    return tuple(rng.integers(0, n, wl.count) for n in wl.shape)


def batches(wl: Workload) -> list[np.ndarray]:
    """``wl.count`` batches of row indices, each ``BATCH_ROWS`` distinct rows in random
    order, as a machine-learning loader draws samples (fixed seed)."""
    rng = np.random.default_rng(13)
    return [rng.choice(wl.shape[0], BATCH_ROWS, replace=False) for _ in range(wl.count)]


def block(wl: Workload, coords: tuple[int, ...]) -> tuple[slice, ...]:
    """The region of the array that chunk ``coords`` covers."""
    return tuple(
        slice(i * c, min((i + 1) * c, n))
        for i, c, n in zip(coords, wl.chunks, wl.shape, strict=True)
    )


def blocks(wl: Workload) -> list[tuple[slice, ...]]:
    """The chunk-aligned blocks of the array, C order."""
    grid = (-(-n // c) for n, c in zip(wl.shape, wl.chunks, strict=True))
    return [block(wl, coords) for coords in np.ndindex(*grid)]


def v3_compressor(wl: Workload) -> dict[str, Any] | None:
    itemsize = np.dtype(wl.dtype).itemsize
    return {
        "zstd": {"name": "zstd", "configuration": {"level": 3, "checksum": False}},
        "blosc": {
            "name": "blosc",
            "configuration": {
                "cname": "lz4",
                "clevel": 5,
                "shuffle": "shuffle",
                "typesize": itemsize,
                "blocksize": 0,
            },
        },
        "gzip": {"name": "gzip", "configuration": {"level": 1}},
        "none": None,
    }[wl.codec]


def v2_compressor(wl: Workload) -> dict[str, Any] | None:
    return {
        "zstd": {"id": "zstd", "level": 3},
        "blosc": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
        "gzip": {"id": "gzip", "level": 1},
        "none": None,
    }[wl.codec]
