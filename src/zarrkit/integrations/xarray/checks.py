"""What ``to_zarr`` refuses before it writes, and how it says so: the rules and messages
of ``Dataset.to_zarr`` (names, modes, regions, appends, chunk alignment, attributes)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from zarrkit.metadata.common import dump_document

#: ``to_zarr``'s modes (``"a-"`` appends only the variables along ``append_dim``).
MODES = ("w", "w-", "a", "a-", "r+")


def check_names(dataset: xr.Dataset) -> None:
    """Variable names must be non-empty strings (or None)."""
    for name in dataset.variables:
        if isinstance(name, str) and not name:
            raise ValueError(
                f"Invalid name {name!r} for DataArray or Dataset key: string must be "
                "length 1 or greater for serialization to netCDF or zarr files"
            )
        if not isinstance(name, str) and name is not None:
            raise TypeError(
                f"Invalid name {name!r} for DataArray or Dataset key: must be either a "
                "string or None for serialization to netCDF or zarr files"
            )


def choose_mode(mode: str | None, append_dim: Hashable | None, region: Any) -> str:
    """``mode``, defaulting to ``"a"`` with ``append_dim``, ``"r+"`` with ``region``,
    else ``"w-"``; checked against them."""
    if mode is None:
        mode = "a" if append_dim is not None else "r+" if region is not None else "w-"
    if mode not in ("a", "a-") and append_dim is not None:
        raise ValueError("cannot set append_dim unless mode='a' or mode=None")
    if mode not in ("a", "a-", "r+") and region is not None:
        raise ValueError("cannot set region unless mode='a', mode='a-', mode='r+' or mode=None")
    if mode not in MODES:
        raise ValueError(
            f"The only supported options for mode are 'w', 'w-', 'a', 'a-', and 'r+', "
            f"but mode={mode!r}"
        )
    return mode


def check_storage_options(store: Any, storage_options: Mapping[str, Any] | None) -> None:
    """``storage_options`` configure a store zarrkit opens from a path or URL only."""
    if storage_options is not None and not isinstance(store, str | os.PathLike):
        raise ValueError(f"store must be a string to use storage_options. Got {type(store)}")


def check_json(attributes: Mapping[str, Any]) -> None:
    """Attributes must be JSON."""
    try:
        dump_document(dict(attributes))
    except (TypeError, ValueError) as e:
        raise TypeError(f"Invalid attribute in Dataset.attrs.: {e}") from e


def resolve_region(
    dataset: xr.Dataset,
    region: Any,
    *,
    mode: str,
    append_dim: Hashable | None,
    stored_index: Callable[[str], pd.Index],
) -> dict[Hashable, slice]:
    """``region`` as slices per dimension, ``"auto"`` found by matching ``dataset``'s
    coordinates against the stored ones (``stored_index(dim)``)."""
    if isinstance(region, str) and region == "auto":
        region = dict.fromkeys(dataset.dims, "auto")
    slices: dict[Hashable, Any]
    if not isinstance(region, dict):
        raise TypeError(f"``region`` must be a dict, got {type(region)}")
    if any(isinstance(v, str) and v == "auto" for v in region.values()):
        if mode not in ("r+", "a"):
            raise ValueError(
                f"``mode`` must be 'r+' or 'a' when using ``region='auto'``, got {mode!r}"
            )
        slices = {
            dim: _auto_slice(dataset, dim, stored_index) if _is_auto(where) else where
            for dim, where in region.items()
        }
    else:
        slices = dict(region)
    _check_region(dataset, slices, append_dim)
    return slices


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def _auto_slice(dataset: xr.Dataset, dim: Hashable, stored: Callable[[str], pd.Index]) -> slice:
    if dim not in dataset.variables:  # a dimension without coordinate: all of it
        return slice(0, dataset.sizes[dim])
    positions = stored(str(dim)).get_indexer(dataset[dim].values)
    if (positions == -1).any():
        raise KeyError(
            f"Not all values of coordinate {str(dim)!r} in the new array were found in the "
            "original store. Writing to a zarr region slice requires that no dimensions or "
            "metadata are changed by the write."
        )
    if (np.diff(positions) != 1).any():
        raise ValueError(
            f"The auto-detected region of coordinate {str(dim)!r} for writing new data to "
            "the original store had non-contiguous indices. Writing to a zarr region slice "
            "requires that the new data constitute a contiguous subset of the original store."
        )
    return slice(int(positions[0]), int(positions[-1]) + 1)


def _check_region(
    dataset: xr.Dataset, region: dict[Hashable, Any], append_dim: Hashable | None
) -> None:
    for where in region.values():
        if not isinstance(where, slice):
            raise TypeError(f"all values in ``region`` must be slice objects, got region={region}")
        if where.step not in (1, None):
            raise ValueError(
                f"step on all slices in ``region`` must be 1 or None, got region={region}"
            )
    if not set(region) <= set(dataset.dims):
        raise ValueError(
            f"all keys in ``region`` are not in Dataset dimensions, got {list(region)} "
            f"and {list(dataset.dims)}"
        )
    apart = [k for k, v in dataset.variables.items() if not set(region) & set(v.dims)]
    if region and apart:
        raise ValueError(
            "when setting `region` explicitly in to_zarr(), all variables in the dataset to "
            "write must have at least one dimension in common with the region's dimensions "
            f"{list(region)}, but that is not the case for some variables here. To drop "
            f"these variables from this dataset before exporting to zarr, write: "
            f".drop_vars({apart!r})"
        )
    if append_dim is not None and append_dim in region:
        raise ValueError(
            "cannot list the same dimension in both ``append_dim`` and ``region`` with "
            f"to_zarr(), got {append_dim} in both"
        )


def check_shards(name: Hashable, chunks: Any, shards: Any) -> None:
    """Shards must hold whole chunks (zarr-python reads no other sharded array)."""
    if not isinstance(shards, tuple) or not isinstance(chunks, tuple):
        return
    if len(shards) != len(chunks) or any(s % c for s, c in zip(shards, chunks, strict=False)):
        raise ValueError(
            f"variable {name!r}: encoding['shards']={shards!r} must be whole multiples of "
            f"encoding['chunks']={chunks!r}"
        )


def check_append_dtype(name: Hashable, stored: xr.Variable, new: xr.Variable) -> None:
    """Appending must not truncate: fixed-length strings need the stored dtype exactly."""
    kind = new.dtype.kind
    if kind in "biufcmM" or kind == "O" or (kind in "SU" and stored.dtype.kind == "O"):
        return
    if new.dtype != stored.dtype:
        raise ValueError(
            f"Mismatched dtypes for variable {name} between Zarr store on disk and dataset "
            f"to append. Store has dtype {stored.dtype} but dataset to append has dtype "
            f"{new.dtype}."
        )


def match_dims(
    name: Hashable,
    new: xr.Variable,
    stored: xr.Variable,
    region: Mapping[Hashable, slice],
    append_dim: Hashable | None,
) -> xr.Variable:
    """``new`` with ``stored``'s dimension order; its sizes must match the stored ones (in
    ``region``), but along ``append_dim``."""
    if new.dims != stored.dims:
        if set(new.dims) != set(stored.dims):
            raise ValueError(
                f"variable {name!r} already exists with different dimension names "
                f"{stored.dims} != {new.dims}, but changing variable dimensions is not "
                "supported by to_zarr()."
            )
        new = new.transpose(*stored.dims)
    expected = {
        dim: len(range(*region[dim].indices(size))) if dim in region else size
        for dim, size in stored.sizes.items()
        if dim != append_dim
    }
    given = {dim: size for dim, size in new.sizes.items() if dim != append_dim}
    if expected != given:
        raise ValueError(
            f"variable {name!r} already exists with different dimension sizes: {expected} "
            f"!= {given}. to_zarr() only supports changing dimension sizes when explicitly "
            f"appending, but append_dim={append_dim!r}. If you are attempting to write to a "
            "subset of the existing store without changing dimension sizes, consider using "
            "the region argument in to_zarr()."
        )
    return new


def check_alignment(
    name: Hashable,
    blocks: Sequence[Sequence[int]],
    unit: Sequence[int],
    region: Sequence[slice],
    shape: Sequence[int],
    *,
    whole_chunks: bool,
) -> None:
    """Dask blocks writing ``region`` of an array of ``shape`` must not share a stored
    chunk (``unit``: chunk or shard shape): every boundary between two blocks falls on a
    chunk boundary. ``whole_chunks`` (mode ``"r+"``): the region's ends too, where not
    the array's end."""
    for axis, (lengths, size, where, n) in enumerate(zip(blocks, unit, region, shape, strict=True)):
        start, stop, _ = where.indices(n)
        bounds = [start + b for b in itertools.accumulate(lengths)][:-1]
        if whole_chunks:
            bounds = [start, *bounds] + ([stop] if stop != n else [])
        bad = [b for b in bounds if b % size]
        if bad:
            raise ValueError(
                f"Specified Zarr chunks encoding['chunks']={tuple(unit)!r} for variable named "
                f"{name!r} would overlap multiple Dask chunks: on axis {axis}, Dask chunks "
                f"{tuple(lengths)} written to the region {where} start or end inside the "
                f"Zarr chunks at {bad}. Writing them in parallel could corrupt data. Rechunk "
                "with `chunk()`, change or delete `encoding['chunks']`, pass "
                "`align_chunks=True` to rechunk before writing, or `safe_chunks=False` "
                "(zarrkit then locks each shared chunk while writing)."
            )
