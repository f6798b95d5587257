"""The arrays, operations and selections of the object-store (latency-bound) suite.

Shared by the driver (``benchmarks.remote``) and the peer children, so it imports only numpy,
the standard library and the harness's own workload helpers.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.workloads import QUICK_FACTOR

Selection = tuple[slice, ...]

READ_OPS = ("cold", "warm", "window", "read")  # on the HTTP object server
WRITE_OPS = ("write", "concurrent")  # on moto's S3
OPS = (*READ_OPS, *WRITE_OPS)
WARM_READS = 32  # timed single inner-chunk reads per run of "warm" (8 with --quick)
WARM_SHARDS = 4  # shards read before "warm" is timed
WRITERS = 4  # processes of "concurrent"
TILE = 40  # edge of a "concurrent" tile: not a divisor of the chunk edge, so tiles share chunks


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """One array of the suite: float32, zstd level 3, written once and read by every peer."""

    name: str
    shape: tuple[int, int]
    chunks: tuple[int, int]  # inner chunks when sharded
    shards: tuple[int, int] | None = None
    warm_reads: int = WARM_READS

    @property
    def title(self) -> str:
        outer = f"shards {self.shards[0]}², inner chunks " if self.shards else "chunks "
        return f"f32 {self.shape[0]}x{self.shape[1]}, {outer}{self.chunks[0]}², zstd"

    @property
    def units(self) -> tuple[int, int]:
        """The shape of a stored object: a shard, or a chunk when unsharded."""
        return self.shards or self.chunks

    def quick(self) -> Layout:
        def shrink(dims: tuple[int, int]) -> tuple[int, int]:
            a, b = (max(d // QUICK_FACTOR, c) for d, c in zip(dims, self.chunks, strict=True))
            return a, b

        shards = None if self.shards is None else shrink(self.shards)
        return dataclasses.replace(
            self,
            shape=shrink(self.shape),
            shards=shards,
            warm_reads=self.warm_reads // QUICK_FACTOR,
        )

    def tiles(self) -> Layout:
        """The smaller array that ``concurrent`` writes (1/4 of each edge), so it takes seconds."""

        def quarter(dims: tuple[int, int]) -> tuple[int, int]:
            a, b = (max(d // 4, c) for d, c in zip(dims, self.chunks, strict=True))
            return a, b

        shards = None if self.shards is None else quarter(self.shards)
        return dataclasses.replace(self, shape=quarter(self.shape), shards=shards)


LAYOUTS = {
    "sharded": Layout(name="sharded", shape=(4096, 4096), chunks=(64, 64), shards=(1024, 1024)),
    "unsharded": Layout(name="unsharded", shape=(4096, 4096), chunks=(64, 64)),
}
CODECS: dict[str, Any] = {"name": "zstd", "configuration": {"level": 3, "checksum": False}}


def creation_options(lay: Layout) -> dict[str, Any]:
    """How to create ``lay``, in the argument names zarrkit and zarr-python share."""
    return {
        "shape": lay.shape,
        "chunks": lay.chunks,
        "shards": lay.shards,
        "dtype": "float32",
        "compressors": CODECS,
        "fill_value": 0,
        "zarr_format": 3,
    }


def layout(name: str, *, quick: bool = False) -> Layout:
    found = LAYOUTS[name]
    return found.quick() if quick else found


def make_data(lay: Layout) -> np.ndarray:
    """Integers 0..1023 from a fixed seed, as float32 (as the local suite's data)."""
    rng = np.random.default_rng(20240601)
    return rng.integers(0, 1024, size=lay.shape, dtype=np.int16).astype("float32")


def chunk(lay: Layout, coords: tuple[int, int]) -> Selection:
    return tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, lay.chunks, strict=True))


def _chunks_in(lay: Layout, unit: tuple[int, int]) -> list[tuple[int, int]]:
    """The chunk coordinates inside one stored object (shard), C order."""
    per = [u // c for u, c in zip(lay.units, lay.chunks, strict=True)]
    ranges = (range(k * p, (k + 1) * p) for k, p in zip(unit, per, strict=True))
    return [(a, b) for a, b in itertools.product(*ranges)]


def _units(lay: Layout) -> list[tuple[int, int]]:
    grid = [n // u for n, u in zip(lay.shape, lay.units, strict=True)]
    return [(a, b) for a, b in itertools.product(*map(range, grid))]


def cold_chunks(lay: Layout, runs: int) -> list[Selection]:
    """One inner chunk per run, each in a different stored object (nothing of it read before)."""
    rng = np.random.default_rng(3)
    units = _units(lay)
    if len(units) < runs:
        raise ValueError(f"{lay.name}: {runs} cold runs need {runs} objects, it has {len(units)}")
    picked = [_chunks_in(lay, units[int(i)]) for i in rng.permutation(len(units))[:runs]]
    return [chunk(lay, inside[len(inside) // 2]) for inside in picked]


def warm_plan(lay: Layout, runs: int) -> tuple[list[Selection], list[list[Selection]]]:
    """``(primer, per_run)``: one chunk in each of 4 objects, then 32 other chunks per run.

    Sharded, the per-run chunks come from those 4 shards, so a run gains from what is known of
    them (their index) but never from having read the chunk itself; chunks never repeat.
    Unsharded, they are other chunks of the array.
    """
    rng = np.random.default_rng(5)
    units = [_units(lay)[int(i)] for i in rng.permutation(len(_units(lay)))]
    primer_units, rest = units[:WARM_SHARDS], units[WARM_SHARDS:]
    pools = [_chunks_in(lay, u) for u in primer_units] if lay.shards else [rest]
    pools = [[pool[int(i)] for i in rng.permutation(len(pool))] for pool in pools]
    primer = [chunk(lay, _chunks_in(lay, u)[0]) for u in primer_units]
    taken = {p for u in primer_units for p in _chunks_in(lay, u)[:1]}
    mixed = [c for c in itertools.chain.from_iterable(zip(*pools, strict=True)) if c not in taken]
    n = lay.warm_reads
    if len(mixed) < runs * n:
        raise ValueError(f"{lay.name}: {runs} warm runs need {runs * n} chunks, found {len(mixed)}")
    return primer, [[chunk(lay, c) for c in mixed[r * n : (r + 1) * n]] for r in range(runs)]


def title(op: str, lay: Layout) -> str:
    """What ``op`` does on ``lay``, with this run's sizes."""
    edges = "x".join(str(s.stop - s.start) for s in window(lay))
    tile_array = "x".join(map(str, lay.tiles().shape))
    return {
        "cold": "open + one inner chunk (cold)",
        "warm": f"{lay.warm_reads} single inner-chunk reads, {WARM_SHARDS} objects already read",
        "window": f"{edges} window",
        "read": "whole array",
        "write": "full write (fresh array)",
        "concurrent": f"{WRITERS} processes writing {TILE}² tiles of a {tile_array} array",
    }[op]


def window(lay: Layout) -> Selection:
    """Half the array's edge, starting a quarter in: 9 shards and 1024 inner chunks at full size."""
    return tuple(slice(n // 8, n // 8 + n // 2) for n in lay.shape)


def tiles(lay: Layout) -> list[Selection]:
    """``TILE``-square tiles covering the array, C order; tile i belongs to writer i % 4."""
    starts = [range(0, n, TILE) for n in lay.shape]
    return [
        (slice(a, min(a + TILE, lay.shape[0])), slice(b, min(b + TILE, lay.shape[1])))
        for a, b in itertools.product(*starts)
    ]


def tile_value(index: int) -> float:
    return float(index + 1)  # never the fill value 0
