"""The ``engine="zarrkit"`` backend: Zarr groups as xarray datasets, lazily.

Reading follows xarray's Zarr encoding: dimension names come from the v3
``dimension_names`` field or the v2 ``_ARRAY_DIMENSIONS`` attribute (a 0-d v3 array needs
none). Zarr's ``fill_value`` masks missing values where ``use_zarr_fill_value_as_mask``
says (by default in v2, where xarray writes ``_FillValue`` there; in v3 only the
``_FillValue`` attribute masks). CF decoding (scale and offset, missing values, times, the
``coordinates`` attribute) is xarray's own, so results match ``xr.open_zarr``.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore, datatree_from_dict_with_io_cleanup
from xarray.backends.store import StoreBackendEntrypoint
from xarray.backends.zarr import FillValueCoder
from xarray.core import indexing

from zarrkit.api import open_group
from zarrkit.api.async_nodes import AsyncArray
from zarrkit.errors import NodeNotFoundError
from zarrkit.integrations.xarray.encoding import DIMENSION_KEY, read_encoding
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.consolidated import ConsolidatedGroup
from zarrkit.nodes.groups import Group
from zarrkit.storage import StoreLike, is_zarr_python_store
from zarrkit.storage.base import Store
from zarrkit.storage.references import ReferenceStore

#: URL schemes of virtual and versioned data this engine claims without a ``.zarr`` suffix.
_VIRTUAL_SCHEMES = ("reference://", "icechunk://", "icechunk+")

#: Where xarray and zarrkit live: warnings name the first caller outside them.
_INTERNAL = (str(Path(xr.__file__).parent), str(Path(__file__).parents[2]))

FALLBACK_WARNING = (
    "Failed to open Zarr store with consolidated metadata, but successfully read with "
    "non-consolidated metadata. This is typically much slower for opening a dataset. To "
    "silence this warning, consolidate the store's metadata (zarrkit.consolidate_metadata), "
    "or pass consolidated=False not to look for it (consolidated=True to require it)."
)


class ZarrkitArrayWrapper(BackendArray):
    """A zarrkit array as xarray's lazily indexed backend array: basic, outer and
    vectorized indexing map onto the array's own, ``oindex`` and ``vindex``.

    The array is kept private (``_array``): xarray follows a public ``.array`` down its
    chain of wrappers.
    """

    __slots__ = ("_array", "dtype", "shape")

    def __init__(self, array: Array) -> None:
        self._array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def get_array(self) -> Array:
        return self._array

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.VECTORIZED, self._read(key)
        )

    async def async_getitem(self, key: indexing.ExplicitIndexer) -> Any:
        """``__getitem__`` through zarrkit's asynchronous API, for ``Dataset.load_async``."""
        return await indexing.async_explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.VECTORIZED, self._read_async(key)
        )

    def _read(self, key: indexing.ExplicitIndexer) -> Any:
        if isinstance(key, indexing.VectorizedIndexer):
            return self._array.vindex.__getitem__
        if isinstance(key, indexing.OuterIndexer):
            return self._array.oindex.__getitem__
        return self._array.__getitem__

    def _read_async(self, key: indexing.ExplicitIndexer) -> Any:
        array = AsyncArray(self._array)
        if isinstance(key, indexing.VectorizedIndexer):
            return array.vindex.getitem
        if isinstance(key, indexing.OuterIndexer):
            return array.oindex.getitem
        return array.getitem


class ZarrkitDataStore(AbstractDataStore):
    """The arrays of one zarrkit group, as xarray variables (not yet CF-decoded)."""

    __slots__ = ("close_store", "group", "use_fill_value_as_mask")

    def __init__(
        self,
        group: Group,
        *,
        close_store: bool = False,
        use_zarr_fill_value_as_mask: bool | None = None,
    ) -> None:
        self.group = group
        self.close_store = close_store
        self.use_fill_value_as_mask = (
            group.zarr_format == 2
            if use_zarr_fill_value_as_mask is None
            else use_zarr_fill_value_as_mask
        )

    @classmethod
    def open(
        cls,
        store: StoreLike,
        *,
        group: str | None = None,
        mode: str = "r",
        zarr_format: int | None = None,
        consolidated: bool | None = None,
        storage_options: dict[str, Any] | None = None,
        use_zarr_fill_value_as_mask: bool | None = None,
    ) -> ZarrkitDataStore:
        """Open the group ``group`` of ``store`` (a path, URL, Store, zarr-python store or
        kerchunk references as a dict); see :func:`open_zarr_group`."""
        close = not isinstance(store, Store)  # a store zarrkit opens here closes with it
        store, storage_options = _target(store, storage_options)
        found = open_zarr_group(
            store,
            group=group,
            mode=mode,
            zarr_format=zarr_format,
            consolidated=consolidated,
            storage_options=storage_options,
        )
        return cls(
            found,
            close_store=close,
            use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
        )

    def stores_below(self) -> Iterator[tuple[str, ZarrkitDataStore]]:
        """This store and one for every group below its group, by path (``"/"``, ``"/a"``)."""
        for path, found in walk_groups(self.group):
            below = ZarrkitDataStore(found, use_zarr_fill_value_as_mask=self.use_fill_value_as_mask)
            yield path, self if path == "/" else below

    def get_variables(self) -> dict[str, xr.Variable]:
        return {name: self.variable(name, array) for name, array in self.group.arrays()}

    def get_attrs(self) -> dict[str, Any]:
        return {k: v for k, v in self.group.attrs.items() if not k.lower().startswith("_nc")}

    def get_dimensions(self) -> dict[str, int]:
        """The length of every dimension of the group's arrays."""
        lengths: dict[str, int] = {}
        for name, array in self.group.arrays():
            for dim, length in zip(dimensions(name, array), array.shape, strict=True):
                if lengths.setdefault(dim, length) != length:
                    raise ValueError(
                        f"found conflicting lengths for dimension {dim} "
                        f"({length} != {lengths[dim]})"
                    )
        return lengths

    def close(self) -> None:
        if self.close_store:  # only a store opened here, from a path or URL
            self.group.store.close()

    def variable(self, name: str, array: Array) -> xr.Variable:
        """The variable stored in ``array``, with xarray's Zarr attributes and encoding."""
        dims = dimensions(name, array)
        attributes = {
            k: v
            for k, v in array.attrs.items()
            if k != DIMENSION_KEY and not (array.zarr_format == 2 and k.lower().startswith("_nc"))
        }  # NCZarr's own attributes stay hidden in v2, as xarray hides them
        encoding = read_encoding(array, dims)
        if self.use_fill_value_as_mask:
            encoding.pop("fill_value", None)
            if array.fill_value is not None:
                attributes["_FillValue"] = array.fill_value
        elif "_FillValue" in attributes:
            attributes["_FillValue"] = FillValueCoder.decode(attributes["_FillValue"], array.dtype)
        data = indexing.LazilyIndexedArray(ZarrkitArrayWrapper(array))
        return xr.Variable(dims, data, attributes, encoding)


def dimensions(name: str, array: Array) -> tuple[str, ...]:
    """The dimension names of ``array``, as xarray's Zarr encoding stores them."""
    names = array.dimension_names
    if names is not None and all(n is not None for n in names):
        return tuple(str(n) for n in names)
    stored = array.attrs.get(DIMENSION_KEY)
    if isinstance(stored, list) and len(stored) == array.ndim:
        return tuple(str(n) for n in stored)
    if array.ndim == 0 and array.zarr_format == 3:  # zarr-python writes no names for 0-d
        return ()
    field = (
        "the v3 `dimension_names` metadata"
        if array.zarr_format == 3
        else (f"the attribute `{DIMENSION_KEY}`")
    )
    raise KeyError(
        f"Zarr array {name!r} is missing {field}, which is required for xarray to "
        f"determine variable dimensions ({array.ndim} names)."
    )


def open_zarr_group(
    store: StoreLike,
    *,
    group: str | None = None,
    mode: str = "r",
    zarr_format: int | None = None,
    consolidated: bool | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """The group ``group`` of ``store``, opened as ``xr.open_zarr`` opens it: from the
    consolidated metadata at the store's root when there is some and ``consolidated`` is
    not False (True: it must be there; None: without it, warn and read the group itself;
    stores without consolidated metadata, as Icechunk's, are read as they are).
    A missing store or group raises :class:`~zarrkit.errors.NodeNotFoundError` (a
    ``FileNotFoundError``)."""
    where = dict(mode=mode, zarr_format=zarr_format, storage_options=storage_options)
    if not supports_consolidation(store):
        consolidated = False
    try:
        if consolidated is False:
            return open_group(store, path=group, use_consolidated=False, **where)  # type: ignore[arg-type]
        root = open_group(store, use_consolidated=consolidated, **where)  # type: ignore[arg-type]
    except NodeNotFoundError as e:
        raise NodeNotFoundError(f"{_describe(store)} does not exist: {e}") from e
    if consolidated is None and not isinstance(root, ConsolidatedGroup):
        warn_user(FALLBACK_WARNING, RuntimeWarning)
    if not group or group.strip("/") == "":
        return root
    found = root[group.strip("/")]
    if not isinstance(found, Group):
        raise NodeNotFoundError(f"{group!r} in {_describe(store)} is an array, not a group")
    return found


def supports_consolidation(store: Any) -> bool:
    """False for stores that say they keep no consolidated metadata (Icechunk's)."""
    return bool(getattr(store, "supports_consolidated_metadata", True))


def _describe(store: Any) -> str:
    return repr(os.fspath(store)) if isinstance(store, str | os.PathLike) else repr(store)


def warn_user(message: str, category: type[Warning]) -> None:
    """Warn, naming the first caller outside xarray and zarrkit (as xarray's own do)."""
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)


def walk_groups(group: Group, path: str = "/") -> Iterator[tuple[str, Group]]:
    """``group`` and every group below it, with their paths (``"/"``, ``"/a"``, ``"/a/b"``)."""
    yield path, group
    for name, child in group.groups():
        yield from walk_groups(child, f"{path.rstrip('/')}/{name}")


class ZarrkitBackendEntrypoint(BackendEntrypoint):
    """``xr.open_dataset(path, engine="zarrkit")``: Zarr v2 and v3 stores through zarrkit;
    ``xr.open_datatree`` and ``xr.open_groups`` read a whole hierarchy.

    ``filename_or_obj`` is a path, a URL zarrkit knows (``s3://``, ``zip://``,
    ``reference://refs.json`` ...), a zarrkit ``Store``, a zarr-python store (an Icechunk
    session's ``store``) or a kerchunk reference set as a dict; ``group`` selects a group
    inside it. The keywords are ``engine="zarr"``'s.
    """

    description = "Open Zarr v2 and v3 stores with zarrkit"
    url = "https://github.com/zarrkit/zarrkit"
    supports_groups = True

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
        decode_times: Any = True,
        concat_characters: bool = True,
        decode_coords: Any = True,
        drop_variables: str | Iterable[str] | None = None,
        use_cftime: bool | None = None,
        decode_timedelta: Any = None,
        group: str | None = None,
        mode: str = "r",
        consolidated: bool | None = None,
        storage_options: dict[str, Any] | None = None,
        zarr_format: int | None = None,
        store: ZarrkitDataStore | None = None,
        engine: Any = None,
        use_zarr_fill_value_as_mask: bool | None = None,
        cache_members: bool = True,
    ) -> xr.Dataset:
        """``store`` is an opened :class:`ZarrkitDataStore` to read instead; ``engine`` and
        ``cache_members`` are accepted for ``engine="zarr"``'s signature (zarrkit reads a
        group's members once either way)."""
        if store is None:
            store = ZarrkitDataStore.open(
                filename_or_obj,
                group=group,
                mode=mode,
                zarr_format=zarr_format,
                consolidated=consolidated,
                storage_options=storage_options,
                use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
            )
        return _dataset(
            store,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            drop_variables=drop_variables,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )

    def open_groups_as_dict(
        self,
        filename_or_obj: Any,
        *,
        group: str | None = None,
        mode: str = "r",
        consolidated: bool | None = None,
        storage_options: dict[str, Any] | None = None,
        zarr_format: int | None = None,
        use_zarr_fill_value_as_mask: bool | None = None,
        **decoding: Any,
    ) -> dict[str, xr.Dataset]:
        """Every group at and below ``group`` as a dataset, keyed by its path relative to
        ``group`` (``"/"``, ``"/a"`` ...); ``decoding`` takes ``open_dataset``'s CF keywords."""
        top = ZarrkitDataStore.open(
            filename_or_obj,
            group=group,
            mode=mode,
            zarr_format=zarr_format,
            consolidated=consolidated,
            storage_options=storage_options,
            use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
        )
        return {path: _dataset(store, **decoding) for path, store in top.stores_below()}

    def open_datatree(self, filename_or_obj: Any, **kwargs: Any) -> xr.DataTree:
        """The groups of :meth:`open_groups_as_dict` as a ``DataTree``."""
        return datatree_from_dict_with_io_cleanup(
            self.open_groups_as_dict(filename_or_obj, **kwargs)
        )


def _target(filename_or_obj: Any, storage_options: Any) -> tuple[Any, Any]:
    """What zarrkit opens for ``filename_or_obj`` (kerchunk references become a store)."""
    if isinstance(filename_or_obj, os.PathLike):
        return os.fspath(filename_or_obj), storage_options
    if isinstance(filename_or_obj, Mapping):  # kerchunk references, as engine="kerchunk"
        return ReferenceStore(filename_or_obj, storage_options=storage_options), None
    return filename_or_obj, storage_options


def _dataset(store: ZarrkitDataStore, **decoding: Any) -> xr.Dataset:
    try:
        return StoreBackendEntrypoint().open_dataset(store, **decoding)
    except BaseException:
        store.close()
        raise


__all__ = [
    "FALLBACK_WARNING",
    "ZarrkitArrayWrapper",
    "ZarrkitBackendEntrypoint",
    "ZarrkitDataStore",
    "dimensions",
    "open_zarr_group",
    "supports_consolidation",
    "walk_groups",
    "warn_user",
]
