"""Creating and opening arrays and groups (zarr-python 3's functions and signatures)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from zarrkit.arrays import Array, build_pipeline
from zarrkit.cache import ChunkCache
from zarrkit.chunking import normalize_chunks, normalize_shape
from zarrkit.codecs.pipeline import normalize_v2_codecs, normalize_v3_codecs
from zarrkit.consolidated import consolidate, open_group_node
from zarrkit.errors import (
    MetadataError,
    NodeExistsError,
    NodeNotFoundError,
    NodeTypeError,
    ReadOnlyError,
)
from zarrkit.groups import Group, node_from_metadata
from zarrkit.metadata.chunk_grid import RegularChunkGrid, rectilinear_grid
from zarrkit.metadata.chunk_key import DefaultKeyEncoding, parse_chunk_key_encoding
from zarrkit.metadata.dtypes import normalize_dtype, normalize_fill_value
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes import (
    ArrayMetadata,
    delete_node,
    load_node,
    node_exists,
    normalize_path,
    save_node,
)
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


def _prepare_path(store: Store, path: str, *, overwrite: bool, zarr_format: int) -> None:
    """Make room for a new node at ``path``: refuse or clear an existing one, and create
    missing parent groups."""
    if store.read_only:
        raise ReadOnlyError(f"cannot create a node in read-only {store!r}")
    if node_exists(store, path):
        if not overwrite:
            raise NodeExistsError(f"a node already exists at path {path!r} of {store!r}")
        delete_node(store, path)
    parts = path.split("/")[:-1] if path else []
    for depth in range(0 if path else 1, len(parts) + 1):
        parent = "/".join(parts[:depth])
        try:
            meta = load_node(store, parent)
        except NodeNotFoundError:
            save_node(store, parent, _group_metadata(zarr_format, None))
            continue
        if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
            raise NodeTypeError(f"cannot create {path!r}: its parent {parent!r} is an array")


def _group_metadata(zarr_format: int, attributes: dict[str, Any] | None) -> Any:
    cls = GroupMetadataV3 if zarr_format == 3 else GroupMetadataV2
    return cls(attributes=dict(attributes or {}))


def _check_format(zarr_format: Any) -> int:
    if zarr_format not in (2, 3):
        raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}", field="zarr_format")
    return int(zarr_format)


# --- arrays ------------------------------------------------------------------------------------


def array_metadata(
    *,
    shape: Any,
    dtype: Any,
    chunks: Any = "auto",
    filters: Any = "auto",
    compressors: Any = "auto",
    serializer: Any = "auto",
    fill_value: Any = None,
    order: Literal["C", "F"] | None = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Any = None,
    shards: Any = None,
) -> ArrayMetadata:
    """Validated metadata for a new array (no I/O); every argument checked here."""
    zarr_format = _check_format(zarr_format)
    shape = normalize_shape(shape)
    np_dtype = normalize_dtype("float64" if dtype is None else dtype)
    rectilinear = rectilinear_grid(chunks, shape)  # None unless chunks are lists of lengths
    chunk_shape = (
        rectilinear.chunk_shape
        if rectilinear
        else normalize_chunks(chunks, shape, np_dtype.itemsize)
    )
    fill = normalize_fill_value(fill_value, np_dtype)
    if order not in (None, "C", "F"):
        raise MetadataError(f"order must be 'C' or 'F', got {order!r}", field="order")
    if zarr_format == 2:
        if shards is not None:
            raise MetadataError("Zarr v2 arrays cannot be sharded", field="shards")
        if rectilinear:
            raise MetadataError("Zarr v2 arrays have regular chunks only", field="chunks")
        if dimension_names is not None:
            raise MetadataError("Zarr v2 arrays have no dimension names", field="dimension_names")
        v2_filters, compressor = normalize_v2_codecs(filters, compressors, np_dtype)
        separator = _v2_separator(chunk_key_encoding)
        meta: ArrayMetadata = ArrayMetadataV2(
            shape=shape,
            chunks=chunk_shape,
            dtype=np_dtype,
            fill_value=fill_value if fill_value is None else fill,
            order=order or "C",
            compressor=compressor,
            filters=None if not v2_filters else tuple(v2_filters),
            dimension_separator=separator,
            attributes=dict(attributes or {}),
        )
    else:
        native = (
            np_dtype.newbyteorder("=") if np_dtype.byteorder in "<>" or np_dtype.names else np_dtype
        )
        codecs = normalize_v3_codecs(
            filters, serializer, compressors, native, chunk_shape=chunk_shape
        )
        grid_shape = chunk_shape
        if shards is not None and rectilinear:
            raise MetadataError("rectilinear chunk grids cannot be sharded", field="shards")
        if shards is not None:
            grid_shape = _shard_shape(shards, chunk_shape)
            codecs = [_sharding_json(chunk_shape, codecs)]
        meta = ArrayMetadataV3(
            shape=shape,
            dtype=native,
            chunk_grid=rectilinear or RegularChunkGrid(chunk_shape=grid_shape),
            chunk_key_encoding=_v3_key_encoding(chunk_key_encoding),
            fill_value=normalize_fill_value(fill_value, native),
            codecs=tuple(codecs),
            attributes=dict(attributes or {}),
            dimension_names=_dimension_names(dimension_names, len(shape)),
        )
    build_pipeline(meta)
    return meta


def _shard_shape(shards: Any, chunks: tuple[int, ...]) -> tuple[int, ...]:
    """The shard shape from ``shards`` (a tuple, or ``{"shape": ...}`` as zarr-python takes)."""
    if isinstance(shards, dict):
        shards = shards.get("shape")
    shape = normalize_chunks(shards, chunks, 1) if shards != "auto" else None
    if shape is None:
        raise MetadataError("give the shard shape explicitly", field="shards")
    if any(s < c for s, c in zip(shape, chunks, strict=True)):
        raise MetadataError(
            f"shard shape {shape} is smaller than the chunk shape {chunks}", field="shards"
        )
    return shape


def _sharding_json(chunks: tuple[int, ...], inner_codecs: list[Any]) -> dict[str, Any]:
    return {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": list(chunks),
            "codecs": inner_codecs,
            "index_codecs": [
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "crc32c"},
            ],
            "index_location": "end",
        },
    }


def _v3_key_encoding(data: Any) -> Any:
    if data is None:
        return DefaultKeyEncoding()
    if isinstance(data, dict) and "configuration" not in data:
        data = {
            "name": data.get("name"),
            "configuration": {k: v for k, v in data.items() if k != "name"},
        }
    return parse_chunk_key_encoding(data)


def _v2_separator(data: Any) -> Literal[".", "/"]:
    if data is None:
        return "."
    if isinstance(data, dict):
        separator = data.get("separator", data.get("configuration", {}).get("separator", "."))
    else:
        separator = getattr(data, "separator", data)
    if separator not in (".", "/"):
        raise MetadataError(
            f"separator must be '.' or '/', got {separator!r}", field="chunk_key_encoding"
        )
    return separator  # type: ignore[no-any-return]


def _dimension_names(names: Any, ndim: int) -> tuple[str | None, ...] | None:
    if names is None:
        return None
    parsed: tuple[str | None, ...] = tuple(names)
    if len(parsed) != ndim or not all(n is None or isinstance(n, str) for n in parsed):
        raise MetadataError(
            f"expected {ndim} dimension names (str or None), got {parsed!r}",
            field="dimension_names",
        )
    return parsed


def create_array(
    store: StoreLike | None = None,
    *,
    name: str | None = None,
    shape: Any = None,
    dtype: Any = None,
    data: Any = None,
    chunks: Any = "auto",
    shards: Any = None,
    filters: Any = "auto",
    compressors: Any = "auto",
    serializer: Any = "auto",
    fill_value: Any = None,
    order: Literal["C", "F"] | None = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Any = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    write_empty_chunks: bool | None = None,
    cache: ChunkCache | int | None = None,
) -> Array:
    """Create an array (Zarr v3 by default) and return it.

    Parameters mirror ``zarr.create_array``: ``filters`` are array->array codecs (v2:
    numcodecs filters), ``serializer`` the array->bytes codec (v3 only), ``compressors``
    bytes->bytes codecs (v2: one compressor). Codecs may be zarrkit codec objects,
    numcodecs codecs, or their JSON. Nothing is written unless every argument is valid.

    Examples
    --------
    >>> import zarrkit
    >>> a = zarrkit.create_array(shape=(100, 100), chunks=(10, 10), dtype="f4",
    ...                          compressors={"name": "zstd", "configuration": {"level": 3}})
    >>> a.chunks
    (10, 10)
    """
    if data is not None:
        data = np.asanyarray(data)
        shape = data.shape if shape is None else shape
        dtype = data.dtype if dtype is None else dtype
    if shape is None:
        raise MetadataError("shape is required (or pass data=)", field="shape")
    meta = array_metadata(
        shape=shape,
        dtype=dtype,
        chunks=chunks,
        filters=filters,
        compressors=compressors,
        serializer=serializer,
        fill_value=fill_value,
        order=order,
        zarr_format=zarr_format,
        attributes=attributes,
        chunk_key_encoding=chunk_key_encoding,
        dimension_names=dimension_names,
        shards=shards,
    )
    target = make_store(store, storage_options=storage_options)
    path = normalize_path(name)
    _prepare_path(target, path, overwrite=overwrite, zarr_format=meta.zarr_format)
    save_node(target, path, meta)
    array = Array(target, path, meta, write_empty_chunks=write_empty_chunks, cache=_cache(cache))
    if data is not None:
        array[...] = data
    return array


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
        filters, serializer, compressors = _split_v3_codecs(codecs)
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


def _split_v3_codecs(codecs: Any) -> tuple[list[Any], Any, list[Any]]:
    """A full v3 codec list split into (filters, serializer, compressors)."""
    from zarrkit.codecs.pipeline import classify_codecs

    return classify_codecs(codecs)


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
    **kwargs: Any,
) -> Array:
    """Open an array (v2 or v3, auto-detected), creating it in modes ``w``, ``w-`` and
    ``a`` when ``shape`` is given. ``cache`` is a :class:`~zarrkit.cache.ChunkCache` (or a
    byte budget for a new one) keeping decoded chunks for repeated reads.

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
                **kwargs,
            )
        raise
    if not isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
        raise NodeTypeError(
            f"the node at path {node_path!r} of {target!r} is a group, not an array"
        )
    return Array(
        target, node_path, meta, write_empty_chunks=write_empty_chunks, cache=_cache(cache)
    )


def _cache(cache: ChunkCache | int | None) -> ChunkCache | None:
    if isinstance(cache, bool):
        raise TypeError(f"cache must be a ChunkCache or a byte budget, got {cache!r}")
    return ChunkCache(cache) if isinstance(cache, int) else cache


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
    meta = _group_metadata(_check_format(zarr_format), attributes)
    _prepare_path(target, node_path, overwrite=overwrite, zarr_format=meta.zarr_format)
    save_node(target, node_path, meta)
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
