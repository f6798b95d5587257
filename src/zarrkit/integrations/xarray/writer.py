"""``to_zarr``: ``Dataset.to_zarr``'s equal, written by zarrkit.

The keywords and their meaning are ``Dataset.to_zarr``'s; the variables are encoded by
xarray's own Zarr rules (``xarray.backends.zarr``: CF encoding, strings, the chunks and
codecs ``encoding`` asks for), so the store is the one xarray would write. The data goes
through zarrkit: NumPy data at once, Dask data block by block with
:func:`zarrkit.store_dask`, which never lets two blocks write parts of one stored chunk at
the same time (``safe_chunks=False`` locks such chunks instead of risking them).
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from xarray import conventions
from xarray.backends.zarr import (
    FillValueCoder,
    encode_zarr_variable,
    extract_zarr_variable_encoding,
)
from xarray.coding.strings import check_vlen_dtype

from zarrkit.api import open_array, open_group
from zarrkit.integrations.xarray import checks
from zarrkit.integrations.xarray.backend import ZarrkitDataStore, supports_consolidation
from zarrkit.integrations.xarray.encoding import (
    DIMENSION_KEY,
    create_arguments,
    json_attributes,
)
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.consolidated import consolidate
from zarrkit.nodes.groups import Group
from zarrkit.storage import StoreLike

#: xarray's name for the variable called ``None`` in a store.
NONE_NAME = "__values__"

# xarray 2026.9 encodes for the target format (native bool, StringDType in v3)
_FORMAT_AWARE = "zarr_format" in inspect.signature(encode_zarr_variable).parameters

Region = tuple[slice, ...]
Shape = tuple[int, ...]


def to_zarr(
    dataset: xr.Dataset,
    store: StoreLike | None = None,
    mode: str | None = None,
    group: str | None = None,
    encoding: Mapping[Hashable, Any] | None = None,
    *,
    compute: bool = True,
    consolidated: bool | None = None,
    append_dim: Hashable | None = None,
    region: Mapping[Hashable, Any] | str | None = None,
    safe_chunks: bool = True,
    align_chunks: bool = False,
    storage_options: dict[str, Any] | None = None,
    zarr_format: int | None = None,
    write_empty_chunks: bool | None = None,
    chunkmanager_store_kwargs: dict[str, Any] | None = None,
) -> Any:
    """Write ``dataset`` to a Zarr group, as ``Dataset.to_zarr`` does (same keywords).

    ``mode`` is ``"w"`` (replace), ``"w-"`` (create; the default), ``"a"`` (add and
    overwrite variables; the default with ``append_dim``), ``"a-"`` (append only the
    variables along ``append_dim``) or ``"r+"`` (write the values of existing variables
    only; the default with ``region``). ``region`` maps dimensions to slices of the stored
    arrays or ``"auto"`` (found from the coordinates). ``encoding`` gives per-variable
    encodings (``chunks``, ``shards``, ``compressors``, ``filters``, ``serializer``,
    ``dtype``, ``_FillValue``/``fill_value``, ``scale_factor``, ``units`` ...).

    Dask blocks that would share a stored chunk (or shard) raise ``ValueError`` unless
    ``align_chunks`` (rechunk them onto the chunks first) or ``safe_chunks=False`` (write
    them, holding a lock per shared chunk). ``compute=False`` writes the metadata (and
    NumPy data) now and returns a ``dask.delayed.Delayed`` that writes the Dask data.
    ``chunkmanager_store_kwargs`` go to ``dask.compute``. Returns the written group.
    """
    checks.check_names(dataset)
    checks.check_storage_options(store, storage_options)
    mode = checks.choose_mode(mode, append_dim, region)
    root = open_group(
        store,
        mode="a" if mode == "a-" else mode,  # type: ignore[arg-type]
        path=group,
        zarr_format=zarr_format,
        storage_options=storage_options,
        use_consolidated=False,  # what is stored now, not what a consolidation says
    )
    writer = _Writer(
        root,
        mode=mode,
        append_dim=append_dim,
        safe_chunks=safe_chunks and not align_chunks,
        align="rechunk" if align_chunks else "lock",
        write_empty=write_empty_chunks,
    )
    writer.write_dataset(_empty_loaded(dataset), region, encoding or {})
    if mode != "r+" and consolidated is not False and supports_consolidation(store):
        consolidate(root.store)  # at the store's root, where readers look (no v3 warning)
    return writer.finish(compute, chunkmanager_store_kwargs or {})


def _empty_loaded(dataset: xr.Dataset) -> xr.Dataset:
    """``dataset`` with its empty variables in memory: Dask chunks of length 0 make no
    Zarr chunks."""
    dataset = dataset.copy()
    for variable in dataset.variables.values():
        if variable.size == 0:
            variable.load()
    return dataset


class _Writer:
    """One ``to_zarr`` call: the group written, the arrays it held, the Dask writes pending."""

    def __init__(
        self,
        root: Group,
        *,
        mode: str,
        append_dim: Hashable | None,
        safe_chunks: bool,
        align: str,
        write_empty: bool | None,
    ) -> None:
        self.root = root
        self.mode = mode
        self.append_dim = append_dim
        self.safe_chunks = safe_chunks
        self.align = align
        self.write_empty = write_empty
        self.zarr_format: Literal[2, 3] = 2 if root.zarr_format == 2 else 3
        self.reader = ZarrkitDataStore(root)
        self.existing = {} if mode == "w" else dict(root.arrays())
        self.region: dict[Hashable, slice] = {}
        self.pending: list[tuple[Any, Array, Region]] = []

    def write_dataset(
        self, dataset: xr.Dataset, region: Any, encoding: Mapping[Hashable, Any]
    ) -> None:
        """Check, encode and write ``dataset`` (its Dask data is queued for :meth:`finish`)."""
        if region is not None:
            self.region = checks.resolve_region(
                dataset,
                region,
                mode=self.mode,
                append_dim=self.append_dim,
                stored_index=self._index,
            )
            dataset = dataset.drop_vars(dataset.indexes)  # region writes leave indexes alone
        for name in encoding:
            if self.mode in ("a", "a-", "r+") and name in self.existing:
                raise ValueError(f"variable {name!r} already exists, but encoding was provided")
        variables, attributes = conventions.encode_dataset_coordinates(dataset)
        for name, requested in encoding.items():
            variables[name].encoding = requested
        self._write(variables, attributes, checked=set(encoding))

    def finish(self, compute: bool, store_kwargs: dict[str, Any]) -> Any:
        """Write the Dask data (or, with ``compute=False``, return a Delayed that will)."""
        if not self.pending and compute:
            return self.root
        from dask.base import compute as dask_compute
        from dask.delayed import delayed

        from zarrkit.integrations.dask import store_dask

        writes = [
            store_dask(data, array, region=region, align=self.align, compute=False)  # type: ignore[arg-type]
            for data, array, region in self.pending
        ]
        if not compute:
            return delayed(_written)(writes)
        dask_compute(*writes, **store_kwargs)
        return self.root

    # --- checking and encoding ------------------------------------------------------------

    def _write(
        self,
        variables: Mapping[Hashable, xr.Variable],
        attributes: Mapping[Hashable, Any],
        *,
        checked: set[Hashable],
    ) -> None:
        old = [name for name in variables if _stored_name(name) in self.existing]
        new = [name for name in variables if name not in old]
        if self.mode == "r+" and new:
            raise ValueError(
                f"dataset contains non-pre-existing variables {new!r}, which is not allowed "
                "in ``xarray.Dataset.to_zarr()`` with ``mode='r+'``. To allow writing new "
                "variables, set ``mode='a'``."
            )
        self._check_append_dim()
        encoded = {name: self._encode(variables[name], name) for name in new}
        encoded.update(self._encode_like_stored(variables, old))
        if self.mode != "r+":
            group_attributes = json_attributes(attributes)
            checks.check_json(group_attributes)
            self.root.attrs.put(group_attributes)
        for name, variable in encoded.items():
            if self._leaves_alone(name in old, variable):
                continue
            self._write_variable(name, variable, check=name in checked)

    def _leaves_alone(self, stored: bool, variable: xr.Variable) -> bool:
        """Mode ``"a-"`` writes no stored variable off the append dimension."""
        along = self.append_dim is not None and self.append_dim in variable.dims
        return self.mode == "a-" and self.append_dim is not None and stored and not along

    def _check_append_dim(self) -> None:
        if self.append_dim is None or self.append_dim in self.existing:
            return
        dims = self.reader.get_dimensions()
        if self.append_dim not in dims:
            raise ValueError(
                f"append_dim={self.append_dim!r} does not match any existing dataset "
                f"dimensions {dims}"
            )

    def _encode(self, variable: xr.Variable, name: Hashable) -> xr.Variable:
        options = {"zarr_format": self.zarr_format} if _FORMAT_AWARE else {}
        encoded: xr.Variable = encode_zarr_variable(variable, name=name, **options)
        return encoded

    def _encode_like_stored(
        self, variables: Mapping[Hashable, xr.Variable], names: list[Hashable]
    ) -> dict[Hashable, xr.Variable]:
        """Variables that exist, encoded exactly as the stored ones (units, dtype, scale)."""
        raw = {name: self._stored_variable(name) for name in names}
        stored, _, _ = conventions.decode_cf_variables(raw, {})
        encoded = {}
        for name in names:
            checks.check_append_dtype(name, stored[name], variables[name])
            variable = variables[name].copy(deep=False)
            variable.encoding = stored[name].encoding
            encoded[name] = checks.match_dims(
                name, self._encode(variable, name), stored[name], self.region, self.append_dim
            )
        return encoded

    def _stored_variable(self, name: Hashable) -> xr.Variable:
        key = _stored_name(name)
        return self.reader.variable(key, self.existing[key])

    def _index(self, dim: str) -> pd.Index:
        """The stored coordinate of ``dim``, decoded (for ``region="auto"``)."""
        stored = self.reader.variable(dim, self._array(dim)).compute()
        return pd.Index(conventions.decode_cf_variable(dim, stored).values)

    # --- arrays ---------------------------------------------------------------------------

    def _write_variable(self, name: Hashable, variable: xr.Variable, *, check: bool) -> None:
        attributes = dict(variable.attrs)
        fill_value = self._fill_value(variable, attributes)
        if variable.encoding.pop("_FillValue", None) is not None:
            raise ValueError("Zarr does not support _FillValue in encoding.")
        encoding = extract_zarr_variable_encoding(
            variable, raise_on_invalid=check, name=name, zarr_format=self.zarr_format
        )
        checks.check_shards(name, encoding["chunks"], encoding.get("shards"))
        key = _stored_name(name)
        array = self._array(key) if key in self.existing else None
        region, shape = self._placement(variable, array)
        unit = encoding.get("shards") or encoding["chunks"]
        if self.safe_chunks and variable.chunks and isinstance(unit, tuple):
            checks.check_alignment(
                name, variable.chunks, unit, region, shape, whole_chunks=self.mode == "r+"
            )
        if array is None:
            array = self._create(key, variable, attributes, fill_value, encoding)
        elif array.shape != shape:
            array.resize(shape)  # after the checks, so a refused append changes nothing
        self._add(variable.data, array, region)

    def _placement(self, variable: xr.Variable, array: Array | None) -> tuple[Region, Shape]:
        """Where ``variable`` goes in its array, and the array's shape after the write
        (grown along ``append_dim``)."""
        where = {dim: self.region.get(dim, slice(None)) for dim in variable.dims}
        if array is None:
            return tuple(where.values()), variable.shape
        shape = array.shape
        if self.append_dim in variable.dims:
            axis = variable.dims.index(self.append_dim)
            where[self.append_dim] = slice(shape[axis], None)
            shape = tuple(n + variable.shape[axis] * (i == axis) for i, n in enumerate(shape))
        return tuple(where.values()), shape

    def _fill_value(self, variable: xr.Variable, attributes: dict[str, Any]) -> Any:
        """The array's fill value, with ``_FillValue`` where xarray's Zarr encoding keeps
        it: the fill value itself in v2, an attribute (base64 for floats) in v3."""
        if self.reader.use_fill_value_as_mask:
            return attributes.pop("_FillValue", None)
        fill = variable.encoding.pop("fill_value", None)
        if fill is None and variable.dtype.kind == "f":
            fill = np.nan  # xarray's default for floats, not zero (pydata/xarray#10646)
        missing = attributes.pop("_FillValue", None)
        if missing is not None:
            attributes["_FillValue"] = FillValueCoder.encode(missing, variable.dtype)
        return fill

    def _create(
        self,
        key: str,
        variable: xr.Variable,
        attributes: dict[str, Any],
        fill_value: Any,
        encoding: dict[str, Any],
    ) -> Array:
        stored_attributes = json_attributes(attributes)
        # as zarr-python: no dimension names for a 0-d array
        names: dict[str, Any] = {"dimension_names": variable.dims or None}
        if self.zarr_format == 2:
            stored_attributes[DIMENSION_KEY] = list(variable.dims)
            names = {}
        checks.check_json(stored_attributes)
        vlen_str = check_vlen_dtype(variable.dtype) is str  # type: ignore[no-untyped-call]
        return self.root.create_array(
            key,
            shape=variable.shape,
            dtype=str if vlen_str else variable.dtype,
            fill_value=fill_value,
            attributes=stored_attributes,
            overwrite=self.mode == "w",
            **names,
            **create_arguments(encoding, self.write_empty),
        )

    def _array(self, key: str) -> Array:
        found = self.existing[key] if key in self.existing else self.root[key]
        if not isinstance(found, Array):
            raise KeyError(f"{key!r} in {self.root!r} is a group, not an array")
        if self.write_empty is None:
            return found
        return open_array(
            found.store, mode="r+", path=found.path, write_empty_chunks=self.write_empty
        )

    def _add(self, data: Any, array: Array, region: Region) -> None:
        if _is_dask(data) and data.size:
            self.pending.append((data, array, region))
        else:  # NumPy data is written now, whatever compute says (as xarray does)
            array[region] = np.asarray(data)


def _written(writes: Any) -> None:
    """The end of a delayed ``to_zarr`` (its argument makes it wait for the writes)."""
    del writes


def _stored_name(name: Hashable) -> str:
    return NONE_NAME if name is None else str(name)


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask.")
