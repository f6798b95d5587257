"""xarray on zarrkit: the ``engine="zarrkit"`` backend, :func:`to_zarr` to write, and the
``ds.zarrkit`` / ``da.zarrkit`` accessors.

- :mod:`.backend`: ``xr.open_dataset(path, engine="zarrkit")`` (and ``open_datatree``,
  ``open_groups``) reads what ``xr.open_zarr`` reads, with the same keywords and results.
- :mod:`.writer`: :func:`to_zarr`, ``Dataset.to_zarr``'s equal (modes, ``append_dim``,
  ``region``, ``encoding``, ``compute=False`` ...), writing through zarrkit.
- :mod:`.encoding`: what a variable's ``encoding`` holds, read and written.
- :mod:`.checks`: what ``to_zarr`` refuses, with xarray's messages.

Examples
--------
>>> import numpy as np, tempfile, xarray as xr
>>> path = tempfile.mkdtemp() + "/example.zarr"
>>> ds = xr.Dataset({"t": (("x",), np.arange(3.0))}, coords={"x": [10, 20, 30]})
>>> _ = to_zarr(ds, path)
>>> xr.open_dataset(path, engine="zarrkit")["t"].values.tolist()
[0.0, 1.0, 2.0]
"""

from zarrkit.integrations.xarray.accessor import DataArrayAccessor, DatasetAccessor
from zarrkit.integrations.xarray.backend import (
    ZarrkitArrayWrapper,
    ZarrkitBackendEntrypoint,
    ZarrkitDataStore,
)
from zarrkit.integrations.xarray.writer import to_zarr

__all__ = [
    "DataArrayAccessor",
    "DatasetAccessor",
    "ZarrkitArrayWrapper",
    "ZarrkitBackendEntrypoint",
    "ZarrkitDataStore",
    "to_zarr",
]
