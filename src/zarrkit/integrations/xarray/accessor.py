"""``ds.zarrkit`` and ``da.zarrkit``: zarrkit's writer as a method of xarray's objects.

Registered when :mod:`zarrkit.integrations.xarray` is imported (xarray imports it itself
when it lists its engines, on the first ``xr.open_dataset``).
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from zarrkit.integrations.xarray.writer import to_zarr

#: xarray's names for a DataArray stored as a dataset (``DataArray.to_zarr``'s).
DATAARRAY_VARIABLE = "__xarray_dataarray_variable__"
DATAARRAY_NAME = "__xarray_dataarray_name__"


@xr.register_dataset_accessor("zarrkit")  # type: ignore[no-untyped-call]
class DatasetAccessor:
    """``ds.zarrkit.to_zarr(store, ...)``: :func:`~zarrkit.integrations.xarray.to_zarr`.

    Examples
    --------
    >>> import numpy as np, tempfile, xarray as xr
    >>> path = tempfile.mkdtemp() + "/a.zarr"
    >>> _ = xr.Dataset({"t": ("x", np.arange(3.0))}).zarrkit.to_zarr(path)
    >>> xr.open_zarr(path)["t"].values.tolist()
    [0.0, 1.0, 2.0]
    """

    def __init__(self, dataset: xr.Dataset) -> None:
        self._dataset = dataset

    def to_zarr(self, store: Any = None, **kwargs: Any) -> Any:
        """Write the dataset with zarrkit; the keywords are ``Dataset.to_zarr``'s."""
        return to_zarr(self._dataset, store, **kwargs)


@xr.register_dataarray_accessor("zarrkit")  # type: ignore[no-untyped-call]
class DataArrayAccessor:
    """``da.zarrkit.to_zarr(store, ...)``: the array as a one-variable dataset, named as
    ``DataArray.to_zarr`` names it (so ``xr.open_dataarray`` reads it back)."""

    def __init__(self, array: xr.DataArray) -> None:
        self._array = array

    def to_zarr(self, store: Any = None, **kwargs: Any) -> Any:
        """Write the array with zarrkit; the keywords are ``DataArray.to_zarr``'s."""
        array = self._array
        if array.name is None:
            dataset = array.to_dataset(name=DATAARRAY_VARIABLE)
        elif array.name in array.coords or array.name in array.dims:
            dataset = array.to_dataset(name=DATAARRAY_VARIABLE)
            dataset.attrs[DATAARRAY_NAME] = array.name
        else:
            dataset = array.to_dataset()
        return to_zarr(dataset, store, **kwargs)
