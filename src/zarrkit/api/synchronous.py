"""Creating and opening arrays and groups: zarr-python 3's functions, with its signatures.

New nodes are made by :mod:`zarrkit.creation`, which :class:`~zarrkit.groups.Group` shares.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from zarrkit.arrays import Array
from zarrkit.cache import ChunkCache, as_cache
from zarrkit.codecs.pipeline import classify_codecs
from zarrkit.consolidated import consolidate, open_group_node
from zarrkit.creation import create_array as create_array  # one of the functions here
from zarrkit.creation import group_metadata, new_node
from zarrkit.errors import NodeNotFoundError, NodeTypeError
from zarrkit.groups import Group, node_from_metadata
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.nodes import load_node, normalize_path
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store

Mode = Literal["r", "r+", "a", "w", "w-"]
_MODES = ("r", "r+", "a", "w", "w-")


def _open_store(
    store: StoreLike | None, mode: str, storage_options: dict[str, Any] | None
) -> Store:
    if mode not in _MODES:
        raise ValueError(f"invalid mode {mode!r}; expected one of {', '.join(_MODES)}")
    return make_store(store, read_only=mode == "r", storage_options=storage_options)


def create(
    shape: Any,
    *,
    chunks: Any = True,
    dtype: Any = None,
    compressor: Any = "auto",
    fill_value: Any = None,
    order: Literal["C", "F"] | None = None,
    store: StoreLike | None = None,
    overwrite: bool = False,
    path: str | None = None,
    filters: Any = "auto",
    zarr_format: int | None = None,
    attributes: dict[str, Any] | None = None,
    dimension_separator: Literal[".", "/"] | None = None,
    codecs: Any = None,
    dimension_names: Any = None,
    storage_options: dict[str, Any] | None = None,
    write_empty_chunks: bool | None = None,
    **kwargs: Any,
) -> Array:
    """zarr-python's older ``create`` signature, mapped onto :func:`create_array`."""
    if kwargs:
        raise TypeError(f"create() got unexpected arguments: {', '.join(sorted(kwargs))}")
    fmt = 3 if zarr_format is None else zarr_format
    serializer: Any = "auto"
    compressors: Any = compressor
    if codecs is not None:
        filters, serializer, compressors = classify_codecs(codecs)
    key_encoding = None
    if dimension_separator is not None:
        name = "v2" if fmt == 2 else "default"
        key_encoding = {"name": name, "separator": dimension_separator}
    return create_array(
        store,
        name=path,
        shape=shape,
        dtype=dtype,
        chunks="auto" if chunks is True else chunks,
        filters=filters,
        compressors=compressors,
        serializer=serializer,
        fill_value=fill_value,
        order=order,
        zarr_format=fmt,
        attributes=attributes,
        chunk_key_encoding=key_encoding,
        dimension_names=dimension_names,
        overwrite=overwrite,
        storage_options=storage_options,
        write_empty_chunks=write_empty_chunks,
    )


def zeros(shape: Any, **kwargs: Any) -> Array:
    """A new array filled with zeros."""
    return create(shape, fill_value=0, **kwargs)


def ones(shape: Any, **kwargs: Any) -> Array:
    """A new array filled with ones."""
    return create(shape, fill_value=1, **kwargs)


def full(shape: Any, fill_value: Any, **kwargs: Any) -> Array:
    """A new array filled with ``fill_value``."""
    return create(shape, fill_value=fill_value, **kwargs)


def empty(shape: Any, **kwargs: Any) -> Array:
    """A new array; unwritten chunks read as the default fill value."""
    return create(shape, **kwargs)


def array(data: Any, **kwargs: Any) -> Array:
    """A new array holding a copy of ``data``."""
    data = np.asanyarray(data)
    kwargs.setdefault("dtype", data.dtype)
    result = create(data.shape, **kwargs)
    result[...] = data
    return result


def _like(a: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("dtype", a.dtype)
    if isinstance(a, Array):
        kwargs.setdefault("chunks", a.chunks)
        kwargs.setdefault("zarr_format", a.zarr_format)
        kwargs.setdefault("order", a.order)
    return kwargs


def zeros_like(a: Any, **kwargs: Any) -> Array:
    return zeros(a.shape, **_like(a, kwargs))


def ones_like(a: Any, **kwargs: Any) -> Array:
    return ones(a.shape, **_like(a, kwargs))


def full_like(a: Any, fill_value: Any = None, **kwargs: Any) -> Array:
    if fill_value is None:
        fill_value = getattr(a, "fill_value", None)
    return full(a.shape, fill_value, **_like(a, kwargs))


def empty_like(a: Any, **kwargs: Any) -> Array:
    return empty(a.shape, **_like(a, kwargs))


def open_array(
    store: StoreLike | None = None,
    *,
    mode: Mode = "a",
    path: str | None = None,
    zarr_format: int | None = None,
    storage_options: dict[str, Any] | None = None,
    write_empty_chunks: bool | None = None,
    cache: ChunkCache | int | None = None,
    read_missing_chunks: bool | None = None,
    **kwargs: Any,
) -> Array:
    """Open an array (v2 or v3, auto-detected), creating it in modes ``w``, ``w-`` and
    ``a`` when ``shape`` is given. ``cache`` is a :class:`~zarrkit.cache.ChunkCache` (or a
    byte budget for a new one) keeping decoded chunks for repeated reads.
    ``read_missing_chunks=False`` makes reads of chunks never stored raise
    :class:`~zarrkit.errors.ChunkNotFoundError` (default: the ``array.read_missing_chunks``
    setting).

    Examples
    --------
    >>> import zarrkit, tempfile
    >>> where = tempfile.mkdtemp()
    >>> _ = zarrkit.create_array(where, shape=(3,), dtype="i2")
    >>> zarrkit.open_array(where, mode="r").shape
    (3,)
    """
    target = _open_store(store, mode, storage_options)
    node_path = normalize_path(path)
    if mode in ("w", "w-"):
        return create_array(
            target,
            name=node_path,
            zarr_format=zarr_format or 3,
            overwrite=mode == "w",
            write_empty_chunks=write_empty_chunks,
            cache=cache,
            read_missing_chunks=read_missing_chunks,
            **kwargs,
        )
    try:
        meta = load_node(target, node_path, zarr_format)
    except NodeNotFoundError:
        if mode == "a" and "shape" in kwargs:
            return create_array(
                target,
                name=node_path,
                zarr_format=zarr_format or 3,
                write_empty_chunks=write_empty_chunks,
                cache=cache,
                read_missing_chunks=read_missing_chunks,
                **kwargs,
            )
        raise
    if not isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
        raise NodeTypeError(
            f"the node at path {node_path!r} of {target!r} is a group, not an array"
        )
    return Array(
        target,
        node_path,
        meta,
        write_empty_chunks=write_empty_chunks,
        cache=as_cache(cache),
        read_missing_chunks=read_missing_chunks,
    )


# --- groups ------------------------------------------------------------------------------------


def create_group(
    store: StoreLike | None = None,
    *,
    path: str | None = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """Create a group and return it."""
    target = make_store(store, storage_options=storage_options)
    node_path = normalize_path(path)
    meta = group_metadata(zarr_format, attributes)
    new_node(target, node_path, meta, overwrite=overwrite)
    return Group(target, node_path, meta)


def open_group(
    store: StoreLike | None = None,
    *,
    mode: Mode = "a",
    path: str | None = None,
    zarr_format: int | None = None,
    attributes: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    use_consolidated: bool | None = None,
) -> Group:
    """Open a group (v2 or v3, auto-detected), creating it in modes ``w``, ``w-``, ``a``.

    An existing group holding consolidated metadata serves its members from it, without
    listing the store, unless ``use_consolidated`` is False (True: it must have some).

    Examples
    --------
    >>> import zarrkit
    >>> store = zarrkit.group().store
    >>> _ = zarrkit.consolidate_metadata(store)
    >>> type(zarrkit.open_group(store, use_consolidated=True)).__name__
    'ConsolidatedGroup'
    """
    target = _open_store(store, mode, storage_options)
    node_path = normalize_path(path)
    if mode in ("w", "w-"):
        return create_group(
            target,
            path=node_path,
            zarr_format=zarr_format or 3,
            attributes=attributes,
            overwrite=mode == "w",
        )
    try:
        meta = load_node(target, node_path, zarr_format)
    except NodeNotFoundError:
        if mode == "a":
            return create_group(
                target, path=node_path, zarr_format=zarr_format or 3, attributes=attributes
            )
        raise
    if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
        raise NodeTypeError(
            f"the node at path {node_path!r} of {target!r} is an array, not a group"
        )
    return open_group_node(target, node_path, meta, use_consolidated)


def group(
    store: StoreLike | None = None,
    *,
    overwrite: bool = False,
    path: str | None = None,
    zarr_format: int | None = None,
    attributes: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    use_consolidated: bool | None = None,
) -> Group:
    """Open the group at ``path``, creating it if missing (``overwrite`` replaces it)."""
    return open_group(
        store,
        mode="w" if overwrite else "a",
        path=path,
        zarr_format=zarr_format,
        attributes=attributes,
        storage_options=storage_options,
        use_consolidated=use_consolidated,
    )


def consolidate_metadata(
    store: StoreLike,
    path: str | None = None,
    zarr_format: int | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """Gather the metadata of every node below the group at ``path`` into that group
    (v3: inline in its ``zarr.json``; v2: a ``.zmetadata`` document) and return the group.

    zarrkit keeps it current as nodes below are created, changed or deleted through
    zarrkit; :func:`zarrkit.consolidated.check` finds changes made by other tools.

    Examples
    --------
    >>> import zarrkit
    >>> root = zarrkit.group()
    >>> _ = root.create_array("a", shape=(2,), dtype="i1")
    >>> zarrkit.consolidate_metadata(root.store).metadata.consolidated_metadata["metadata"].keys()
    dict_keys(['a'])
    """
    target = make_store(store, storage_options=storage_options)
    return consolidate(target, normalize_path(path), zarr_format)


def open_consolidated(
    store: StoreLike | None = None, *, use_consolidated: bool = True, **kwargs: Any
) -> Group:
    """Open a group from its consolidated metadata (:func:`open_group` with
    ``use_consolidated=True``)."""
    return open_group(store, use_consolidated=use_consolidated, **kwargs)


def open(
    store: StoreLike | None = None,
    *,
    mode: Mode = "a",
    path: str | None = None,
    zarr_format: int | None = None,
    storage_options: dict[str, Any] | None = None,
    use_consolidated: bool | None = None,
    **kwargs: Any,
) -> Array | Group:
    """Open an array or a group, whichever is there (format auto-detected); when nothing
    is, create an array if ``shape`` is given, else a group. ``use_consolidated`` applies
    to a group, as in :func:`open_group`."""
    target = _open_store(store, mode, storage_options)
    node_path = normalize_path(path)
    if mode not in ("w", "w-"):
        try:
            meta = load_node(target, node_path, zarr_format)
        except NodeNotFoundError:
            if mode in ("r", "r+"):
                raise
        else:
            if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
                return node_from_metadata(target, node_path, meta)
            return open_group_node(target, node_path, meta, use_consolidated)
    if "shape" in kwargs:
        return open_array(target, mode=mode, path=node_path, zarr_format=zarr_format, **kwargs)
    return open_group(target, mode=mode, path=node_path, zarr_format=zarr_format, **kwargs)
