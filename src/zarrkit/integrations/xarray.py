"""xarray on zarrkit: the ``engine="zarrkit"`` backend, and :func:`to_zarr` to write.

Reading follows xarray's Zarr encoding: dimension names come from the v3
``dimension_names`` field or the v2 ``_ARRAY_DIMENSIONS`` attribute; a v2 array's fill
value is its ``_FillValue`` (as ``xr.open_zarr`` does), while v3 stores keep ``_FillValue``
as an attribute. CF decoding (scale and offset, missing values, times, the ``coordinates``
attribute) is xarray's own, so results match ``xr.open_zarr``. Variables stay lazy until
indexed.

Examples
--------
>>> import numpy as np, tempfile, xarray as xr
>>> path = tempfile.mkdtemp() + "/example.zarr"
>>> ds = xr.Dataset({"t": (("x",), np.arange(3.0))}, coords={"x": [10, 20, 30]})
>>> _ = to_zarr(ds, path)
>>> xr.open_dataset(path, engine="zarrkit")["t"].values.tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from xarray import conventions
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore
from xarray.backends.store import StoreBackendEntrypoint
from xarray.backends.zarr import FillValueCoder
from xarray.core import indexing

from zarrkit.api import consolidate_metadata, open_group
from zarrkit.arrays import Array
from zarrkit.errors import MetadataError, UnknownDataTypeError
from zarrkit.groups import Group
from zarrkit.storage import StoreLike, is_zarr_python_store
from zarrkit.storage.base import Store
from zarrkit.storage.references import ReferenceStore

log = logging.getLogger(__name__)

#: URL schemes of virtual and versioned data this engine claims without a ``.zarr`` suffix.
_VIRTUAL_SCHEMES = ("reference://", "icechunk://", "icechunk+")

#: The attribute in which xarray keeps the dimension names of v2 arrays.
DIMENSION_KEY = "_ARRAY_DIMENSIONS"


class ZarrkitArrayWrapper(BackendArray):
    """A zarrkit array as xarray's lazily indexed backend array."""

    __slots__ = ("array", "dtype", "shape")

    def __init__(self, array: Array) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        if isinstance(key, indexing.VectorizedIndexer):
            method = self.array.vindex.__getitem__
        elif isinstance(key, indexing.OuterIndexer):
            method = self.array.get_orthogonal_selection
        else:
            method = self.array.__getitem__
        return indexing.explicit_indexing_adapter(
            key,
            self.shape,
            indexing.IndexingSupport.VECTORIZED,
            lambda raw_key: np.asarray(method(raw_key)),
        )


class ZarrkitDataStore(AbstractDataStore):
    """The arrays of one zarrkit group, as xarray variables (not yet CF-decoded)."""

    __slots__ = ("close_store", "group")

    def __init__(self, group: Group, *, close_store: bool = False) -> None:
        self.group = group
        self.close_store = close_store

    @classmethod
    def open(
        cls,
        store: StoreLike,
        *,
        group: str | None = None,
        zarr_format: int | None = None,
        consolidated: bool | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> ZarrkitDataStore:
        """Open the group ``group`` of ``store`` (a path, URL or Store) read-only; its
        consolidated metadata is used when present unless ``consolidated`` is False
        (True: it must be present)."""
        root = open_group(
            store,
            mode="r",
            path=group,
            zarr_format=zarr_format,
            use_consolidated=consolidated,
            storage_options=storage_options,
        )
        return cls(root, close_store=not isinstance(store, Store))

    def get_variables(self) -> dict[str, xr.Variable]:
        return {name: self._variable(name, array) for name, array in self.group.arrays()}

    def get_attrs(self) -> dict[str, Any]:
        return {k: v for k, v in self.group.attrs.items() if not k.lower().startswith("_nc")}

    def close(self) -> None:
        if self.close_store:  # only a store opened here, from a path or URL
            self.group.store.close()

    def _variable(self, name: str, array: Array) -> xr.Variable:
        attributes = dict(array.attrs)
        dims = _dimensions(name, array, attributes.pop(DIMENSION_KEY, None))
        encoding: dict[str, Any] = {
            "chunks": array.chunks,
            "preferred_chunks": dict(zip(dims, array.chunks, strict=True)),
            "shards": array.shards,
            "compressors": array.compressors,
            "filters": array.filters,
        }
        if array.zarr_format == 2:
            # xarray's Zarr encoding: a v2 array's fill value is its missing-value marker.
            if array.fill_value is not None:
                attributes["_FillValue"] = array.fill_value
        else:
            encoding["serializer"] = array.serializer
            encoding["fill_value"] = array.fill_value
            if "_FillValue" in attributes:
                attributes["_FillValue"] = FillValueCoder.decode(
                    attributes["_FillValue"], array.dtype
                )
        data = indexing.LazilyIndexedArray(ZarrkitArrayWrapper(array))
        return xr.Variable(dims, data, attributes, encoding)


def _dimensions(name: str, array: Array, from_attribute: Any) -> tuple[str, ...]:
    names = array.dimension_names
    if names is not None and all(n is not None for n in names):
        return tuple(str(n) for n in names)
    if isinstance(from_attribute, list) and len(from_attribute) == array.ndim:
        return tuple(str(n) for n in from_attribute)
    raise MetadataError(
        f"array {name!r} has no dimension names: xarray needs the v3 'dimension_names' "
        f"field or the {DIMENSION_KEY!r} attribute with {array.ndim} names",
        field="dimension_names",
    )


class ZarrkitBackendEntrypoint(BackendEntrypoint):
    """``xr.open_dataset(path, engine="zarrkit")``: Zarr v2 and v3 stores through zarrkit.

    ``filename_or_obj`` is a path, a URL zarrkit knows (``s3://``, ``zip://``,
    ``reference://refs.json`` ...), a zarrkit ``Store``, a zarr-python store (an Icechunk
    session's ``store``) or a kerchunk reference set as a dict; ``group`` selects a group
    inside it.
    """

    description = "Open Zarr v2 and v3 stores with zarrkit"
    url = "https://github.com/zarrkit/zarrkit"

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        if isinstance(filename_or_obj, Store) or is_zarr_python_store(filename_or_obj):
            return True
        if isinstance(filename_or_obj, str) and filename_or_obj.startswith(_VIRTUAL_SCHEMES):
            return True
        if isinstance(filename_or_obj, str | os.PathLike):
            return os.path.splitext(os.fspath(filename_or_obj).rstrip("/"))[1] == ".zarr"
        return False

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        concat_characters: bool = True,
        decode_coords: bool = True,
        drop_variables: str | Iterable[str] | None = None,
        use_cftime: bool | None = None,
        decode_timedelta: bool | None = None,
        group: str | None = None,
        zarr_format: int | None = None,
        consolidated: bool | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> xr.Dataset:
        if isinstance(filename_or_obj, os.PathLike):
            filename_or_obj = os.fspath(filename_or_obj)
        if isinstance(filename_or_obj, Mapping):  # kerchunk references, as engine="kerchunk"
            filename_or_obj = ReferenceStore(filename_or_obj, storage_options=storage_options)
            storage_options = None
        store = ZarrkitDataStore.open(
            filename_or_obj,
            group=group,
            zarr_format=zarr_format,
            consolidated=consolidated,
            storage_options=storage_options,
        )
        return StoreBackendEntrypoint().open_dataset(
            store,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            drop_variables=drop_variables,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )


# --- writing ------------------------------------------------------------------------------


def to_zarr(
    dataset: xr.Dataset,
    store: StoreLike,
    *,
    group: str | None = None,
    zarr_format: int = 3,
    mode: str = "w-",
    consolidated: bool = True,
) -> Group:
    """Write ``dataset`` in xarray's Zarr layout, so ``xr.open_zarr`` reads it back.

    Variables are CF-encoded by xarray (times, ``_FillValue``, scale and offset, the
    ``coordinates`` attribute). Dask-backed variables are written block by block with
    :func:`zarrkit.store_dask` (aligned to the chunks); ``mode="w"`` replaces an existing
    group, ``"w-"`` refuses to. Each variable's ``encoding["chunks"]`` is honoured.
    ``consolidated`` also consolidates the store's metadata, as ``Dataset.to_zarr`` does.
    Returns the written group.
    """
    variables, attributes = conventions.encode_dataset_coordinates(dataset)
    variables, attributes = conventions.cf_encoder(variables, attributes)
    root = open_group(
        store,
        mode=mode,  # type: ignore[arg-type]
        path=group,
        zarr_format=zarr_format,
        attributes=_json_attributes(attributes),
    )
    for name, variable in variables.items():
        _write_variable(root, str(name), variable)
    log.info("wrote %d variables to %r", len(variables), root)
    if consolidated:  # at the store's root, where xarray looks for it
        consolidate_metadata(root.store)
    return root


def _write_variable(root: Group, name: str, variable: xr.Variable) -> None:
    attributes = dict(variable.attrs)
    fill_value = _fill_value(variable, attributes, root.zarr_format)
    names: dict[str, Any] = {"dimension_names": variable.dims}
    if root.zarr_format == 2:
        attributes[DIMENSION_KEY] = list(variable.dims)
        names = {}
    try:
        array = root.create_array(
            name,
            shape=variable.shape,
            dtype=variable.dtype,
            chunks=_chunks(variable),
            fill_value=fill_value,
            attributes=_json_attributes(attributes),
            **names,
        )
    except UnknownDataTypeError as e:
        raise UnknownDataTypeError(f"variable {name!r}: {e}") from e
    if _is_dask(variable.data):
        from zarrkit.integrations.dask import store_dask  # data in Dask: the extra is there

        store_dask(variable.data, array)
    else:
        array[...] = np.asarray(variable.values)


def _fill_value(variable: xr.Variable, attributes: dict[str, Any], zarr_format: int) -> Any:
    """The array's fill value, moving ``_FillValue`` where xarray's Zarr encoding keeps it."""
    if zarr_format == 2:
        return attributes.pop("_FillValue", None)
    missing = attributes.pop("_FillValue", None)
    if missing is not None:
        attributes["_FillValue"] = FillValueCoder.encode(missing, variable.dtype)
    fill = variable.encoding.get("fill_value")
    # xarray's default for floats is NaN, not zero (pydata/xarray#10646).
    return np.nan if fill is None and variable.dtype.kind == "f" else fill


def _chunks(variable: xr.Variable) -> Any:
    if "chunks" in variable.encoding:
        return tuple(variable.encoding["chunks"])
    if variable.chunks:
        return tuple(max(c[0], 1) for c in variable.chunks)
    return "auto"


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask.")


def _json_attributes(attributes: Mapping[Hashable, Any]) -> dict[str, Any]:
    """Attribute values as JSON-ready Python values (arrays to lists, scalars unwrapped)."""
    return {str(k): _json_value(v) for k, v in attributes.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["ZarrkitArrayWrapper", "ZarrkitBackendEntrypoint", "ZarrkitDataStore", "to_zarr"]
