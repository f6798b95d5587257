"""xarray with zarrkit: write a dataset, open it lazily, compute with Dask, convert formats.

``engine="zarrkit"`` reads stores that ``Dataset.to_zarr`` writes (Zarr v2 and v3,
consolidated or not) with xarray's own CF decoding; ``to_zarr`` writes the layout
``xr.open_zarr`` reads; ``zarrkit.copy`` converts a v2 store to sharded v3.

Run: ``python examples/xarray_example.py``
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import zarrkit
from zarrkit.integrations.xarray import to_zarr


def sample_dataset() -> xr.Dataset:
    time = pd.date_range("2020-01-01", periods=4 * 365, freq="D")
    lat = np.linspace(-89.5, 89.5, 90)
    summer = -np.cos(2 * np.pi * time.day_of_year.to_numpy() / 365.25)[:, None]
    t2m = 280 + 15 * summer * np.cos(np.deg2rad(lat))[None, :]
    ds = xr.Dataset(
        {"t2m": (("time", "lat"), t2m.astype("f4"), {"units": "K"})},
        coords={"time": time, "lat": lat},
        attrs={"title": "synthetic temperatures"},
    )
    # Stored as int16 hundredths of a kelvin, decoded back to floats on reading.
    ds["t2m"].encoding = {
        "dtype": "int16",
        "scale_factor": 0.01,
        "add_offset": 280.0,
        "_FillValue": -32768,
    }
    return ds


def run(directory: Path) -> None:
    ds = sample_dataset()
    to_zarr(ds, directory / "t2m_v2.zarr", zarr_format=2)  # the layout older tools write

    lazy = xr.open_dataset(directory / "t2m_v2.zarr", engine="zarrkit", chunks={})
    print(lazy["t2m"].encoding["scale_factor"], lazy["t2m"].chunks is not None)
    climatology = lazy["t2m"].groupby("time.month").mean().compute()
    print(
        "July mean at the equator:", float(climatology.sel(month=7).sel(lat=0.5, method="nearest"))
    )

    # Convert to Zarr v3 with sharding: shards of one year, chunks of one month.
    zarrkit.copy(directory / "t2m_v2.zarr", directory / "t2m_v3.zarr", zarr_format=3)
    zarrkit.copy(
        zarrkit.open_array(directory / "t2m_v2.zarr", path="t2m", mode="r"),
        directory / "t2m_v3.zarr",
        path="t2m",
        zarr_format=3,
        chunks=(31, 90),
        shards=(372, 90),
        overwrite=True,
    )
    v3 = xr.open_dataset(directory / "t2m_v3.zarr", engine="zarrkit")
    print("shards:", v3["t2m"].encoding["shards"])
    xr.testing.assert_identical(v3, xr.open_dataset(directory / "t2m_v2.zarr", engine="zarrkit"))
    xr.testing.assert_identical(v3, xr.open_zarr(directory / "t2m_v3.zarr"))
    print("zarrkit and zarr-python read the converted store identically")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="zarrkit-xarray-") as tmp:
        run(Path(tmp))


if __name__ == "__main__":
    main()
