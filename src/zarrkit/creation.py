"""Creating nodes: user arguments normalized into validated metadata, and room made for a
new node. Shared by :mod:`zarrkit.api` and :meth:`zarrkit.groups.Group.create_array` /
:meth:`~zarrkit.groups.Group.create_group`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from zarrkit.arrays import Array, build_pipeline
from zarrkit.cache import ChunkCache, as_cache
from zarrkit.chunking import normalize_chunks, normalize_shape
from zarrkit.codecs.normalize import normalize_v2_codecs, normalize_v3_codecs
from zarrkit.errors import (
    MetadataError,
    NodeExistsError,
    NodeNotFoundError,
    NodeTypeError,
    ReadOnlyError,
)
from zarrkit.metadata.chunk_grid import ChunkGrid, RegularChunkGrid, rectilinear_grid
from zarrkit.metadata.chunk_key import DefaultKeyEncoding, parse_chunk_key_encoding
from zarrkit.metadata.documents import ArrayMetadata, GroupMetadata, NodeMetadata
from zarrkit.metadata.dtypes import normalize_dtype, normalize_fill_value
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes import delete_node, load_node, node_exists, normalize_path, save_node
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store


def check_format(zarr_format: Any) -> int:
    """``zarr_format`` if it is 2 or 3, else raise."""
    if zarr_format not in (2, 3):
        raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}", field="zarr_format")
    return int(zarr_format)


def group_metadata(zarr_format: Any, attributes: dict[str, Any] | None) -> GroupMetadata:
    """Validated metadata for a new group (no I/O)."""
    cls = GroupMetadataV3 if check_format(zarr_format) == 3 else GroupMetadataV2
    return cls(attributes=dict(attributes or {}))


def new_node(store: Store, path: str, meta: NodeMetadata, *, overwrite: bool) -> None:
    """Write the new node ``meta`` at ``path``, making room for it first: an existing node
    is refused (or, with ``overwrite``, deleted) and missing parent groups are created."""
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
            found = load_node(store, parent)
        except NodeNotFoundError:
            save_node(store, parent, group_metadata(meta.zarr_format, None))
            continue
        if isinstance(found, ArrayMetadataV2 | ArrayMetadataV3):
            raise NodeTypeError(f"cannot create {path!r}: its parent {parent!r} is an array")
    save_node(store, path, meta)


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
    zarr_format = check_format(zarr_format)
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
        grid: ChunkGrid = rectilinear or RegularChunkGrid(chunk_shape=chunk_shape)
        if shards is not None:
            grid = _shard_grid(shards, chunk_shape, shape, rectilinear is not None)
            codecs = [_sharding_json(chunk_shape, codecs)]
        meta = ArrayMetadataV3(
            shape=shape,
            dtype=native,
            chunk_grid=grid,
            chunk_key_encoding=_v3_key_encoding(chunk_key_encoding),
            fill_value=normalize_fill_value(fill_value, native),
            codecs=tuple(codecs),
            attributes=dict(attributes or {}),
            dimension_names=_dimension_names(dimension_names, len(shape)),
        )
    build_pipeline(meta)
    return meta


def _shard_grid(
    shards: Any, chunks: tuple[int, ...], shape: tuple[int, ...], rectilinear_chunks: bool
) -> ChunkGrid:
    """The grid of the shards: regular (a shard shape), or rectilinear (lists of shard
    lengths, as zarr-python 3.2 takes them) whose every length the inner chunks tile."""
    if rectilinear_chunks:
        raise MetadataError(
            "inner chunks must be regular: give rectilinear shards (lists of shard lengths) "
            "with a regular chunk shape",
            field="chunks",
        )
    grid = rectilinear_grid(shards, shape)
    if grid is None:
        return RegularChunkGrid(chunk_shape=_shard_shape(shards, chunks))
    misfit = grid.misfit(chunks)
    if misfit is not None:
        axis, length = misfit
        raise MetadataError(
            f"shard length {length} along dimension {axis} is not a multiple of the inner "
            f"chunk length {chunks[axis]}",
            field="shards",
        )
    return grid


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
    read_missing_chunks: bool | None = None,
) -> Array:
    """Create an array (Zarr v3 by default) and return it.

    Parameters mirror ``zarr.create_array``: ``filters`` are array->array codecs (v2:
    numcodecs filters), ``serializer`` the array->bytes codec (v3 only), ``compressors``
    bytes->bytes codecs (v2: one compressor). Codecs may be zarrkit codec objects,
    numcodecs codecs, or their JSON. Nothing is written unless every argument is valid.
    ``read_missing_chunks=False`` makes reads of chunks never stored raise
    :class:`~zarrkit.errors.ChunkNotFoundError` (default: the ``array.read_missing_chunks``
    setting, True).

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
    new_node(target, path, meta, overwrite=overwrite)
    array = Array(
        target,
        path,
        meta,
        write_empty_chunks=write_empty_chunks,
        cache=as_cache(cache),
        read_missing_chunks=read_missing_chunks,
    )
    if data is not None:
        array[...] = data
    return array
