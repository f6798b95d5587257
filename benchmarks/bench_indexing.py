"""Time the indexing layer: ``normalize()`` and ``project()`` on large selections.

Run with ``python benchmarks/bench_indexing.py``; prints the median of 5 runs per case.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from zarrkit.indexing import normalize, project
from zarrkit.metadata.chunk_grid import DimGrid

RUNS = 5


def median_ms(f: Callable[[], Any]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def case(name: str, key: Any, shape: tuple[int, ...], chunks: tuple[int, ...], mode: Any) -> None:
    dims = tuple(DimGrid(n, c) for n, c in zip(shape, chunks, strict=True))
    selection = normalize(key, shape, mode)
    nchunks = len(project(selection, dims))
    t_normalize = median_ms(lambda: normalize(key, shape, mode))
    t_project = median_ms(lambda: project(selection, dims))
    print(
        f"{name:<46} normalize {t_normalize:8.2f} ms   project {t_project:8.2f} ms   "
        f"{nchunks:5d} chunks   {t_project * 1e3 / max(nchunks, 1):6.2f} us/chunk"
    )


def main() -> None:
    rng = np.random.default_rng(42)
    shape = (4096, 4096)
    points = (rng.integers(0, 4096, 100_000), rng.integers(0, 4096, 100_000))
    rows = rng.integers(0, 4096, 1_000)
    print(f"median of {RUNS} runs")
    case("coordinate: 100,000 scattered points, 256^2", points, shape, (256, 256), "coordinate")
    case(
        "orthogonal: 1,000 rows x all columns, 256^2",
        (rows, slice(None)),
        shape,
        (256, 256),
        "orthogonal",
    )
    case(
        "orthogonal: 1,000 rows x 1,000 columns, 256^2",
        (rows, rows),
        shape,
        (256, 256),
        "orthogonal",
    )
    case("basic: everything, 64^2 (4,096 chunks)", Ellipsis, shape, (64, 64), "basic")
    case("basic: strided, 64^2 (4,096 chunks)", (slice(1, None, 3), 5), shape, (64, 64), "basic")
    mask = rng.random(shape) < 0.01
    case("mask: 1% of 4096^2, 256^2", mask, shape, (256, 256), "mask")


if __name__ == "__main__":
    main()
