"""Bridges to the scientific Python stack: :mod:`.dask` (lazy arrays, safe parallel writes)
with :mod:`.from_dask` (new arrays from Dask arrays), and :mod:`.xarray` (the
``engine="zarrkit"`` backend and :func:`.xarray.to_zarr`).

Each module imports its library on import, so import them only when that library is
installed (``pip install 'zarrkit[dask]'`` / ``'zarrkit[xarray]'``).
"""
