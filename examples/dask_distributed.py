"""Dask on a local cluster of processes: read a zarrkit array in parallel, compute, write back.

Arrays pickle by their store and path, so each worker opens the array itself: a
``LocalStore`` on a disk every worker sees (or an object store) is all they need to share.
Writes whose Dask blocks straddle storage chunks are rechunked to whole chunks first (the
default), or serialized by a ``distributed.Lock`` per shared chunk (``align="lock"``), so
no block ever overwrites another one's data.

Run: ``python examples/dask_distributed.py``
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster

import zarrkit


def run(directory: Path, client: Client) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(280.0, 10.0, size=(2000, 600))
    source = zarrkit.create_array(
        directory / "source.zarr", shape=data.shape, chunks=(250, 200), dtype="f8"
    )
    source[:] = data

    d = source.to_dask()  # one task per chunk: 8 x 3 blocks
    print(f"{d.npartitions} blocks; mean {d.mean().compute():.3f} (NumPy: {data.mean():.3f})")

    standardized = (d - d.mean(axis=0)) / d.std(axis=0)
    out = zarrkit.from_dask(standardized, directory / "standardized.zarr", chunks=(250, 200))
    expected = (data - data.mean(axis=0)) / data.std(axis=0)
    print("from_dask wrote the same values:", np.allclose(out[:], expected))

    # Blocks of 300 rows share chunks of 250 rows: two workers would each rewrite the
    # shared chunks. With align="lock" each shared chunk is written under its own lock.
    out[:] = 0
    zarrkit.store_dask(standardized.rechunk((300, 600)), out, align="lock")
    print("misaligned blocks, written under locks:", np.allclose(out[:], expected))
    if not np.allclose(out[:], expected):
        raise SystemExit("the written values differ")


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="zarrkit-dask-") as tmp,
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        run(Path(tmp), client)


if __name__ == "__main__":
    main()
