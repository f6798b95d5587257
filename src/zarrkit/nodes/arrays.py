"""``Array``: a thin facade over metadata, the engine and the store, and
:func:`create_array`, which makes new ones.

Over 400 lines because zarr-python's Array is wide (five selection modes, each with a get
and a set, plus resize, append, info); every member is a few lines calling indexing or the
engine.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any, Literal, Self

import numcodecs
import numpy as np

from zarrkit import config, engine, indexing
from zarrkit.engine.cache import ChunkCache, as_cache
from zarrkit.errors import (
    FormatError,
    IndexingError,
    MetadataError,
    ShapeMismatchError,
    UnsupportedBufferError,
    ZarrDeprecationWarning,
)
from zarrkit.metadata.chunk_key import key_decoder
from zarrkit.metadata.documents import ArrayMetadata, parse_node, prefix_of
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.nodes.array_config import ArrayConfig, array_config
from zarrkit.nodes.chunking import normalize_shape
from zarrkit.nodes.creation import (
    DEFAULT_FILL,
    array_metadata,
    build_pipeline,
    check_format,
    fill_or_default,
    modern_arguments,
)
from zarrkit.nodes.info import ArrayInfo
from zarrkit.nodes.node import Node, load_array, locate, new_node
from zarrkit.progress import Progress, reporter
from zarrkit.storage import StoreLike
from zarrkit.storage.base import Store

NDArray = np.ndarray[Any, Any]
ConfigLike = ArrayConfig | Mapping[str, Any] | None


class Array(Node[ArrayMetadata]):
    """A chunked N-dimensional array in a Zarr store (v2 or v3).

    Obtain one with :func:`zarrkit.create_array` or :func:`zarrkit.open_array`.

    Examples
    --------
    >>> import zarrkit
    >>> a = zarrkit.zeros((4, 4), chunks=(2, 2), dtype="i4")
    >>> a[1:3, 1:3] = 7
    >>> int(a[:].sum())
    28
    """

    node_type = "array"

    def __init__(
        self,
        store: Store,
        path: str,
        metadata: ArrayMetadata,
        *,
        config: ConfigLike = None,
        cache: ChunkCache | None = None,
    ) -> None:
        super().__init__(store, path, metadata)
        self._cache = cache
        parsed = ArrayConfig.from_like(config)
        if isinstance(metadata, ArrayMetadataV2):  # a v2 array's memory order is the stored one
            parsed = dataclasses.replace(parsed, order=metadata.order)
        self._config = parsed
        self._pipeline = build_pipeline(metadata)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by configuration (store + path), so arrays travel to Dask workers; the
        # store pickles its own configuration, never an open handle.
        return (_reopen, (self._store, self._path, self._config))

    def __eq__(self, other: object) -> bool:
        """Arrays are equal when they are the same node (store, path, metadata) seen
        with the same config, as in zarr-python."""
        if not isinstance(other, Array):
            return NotImplemented
        return (self._store, self._path, self._metadata, self._config) == (
            other._store,
            other._path,
            other._metadata,
            other._config,
        )

    def __hash__(self) -> int:
        return hash((type(self._store), self._path))

    # --- opening and creating (zarr-python's classmethods) ------------------------------
    @classmethod
    def open(cls, store: StoreLike) -> Self:
        """The existing array at ``store`` (a store, path, URL or ``StorePath``)."""
        target, path = locate(store)
        return cls(target, path, load_array(target, path))

    @classmethod
    def from_dict(cls, store_path: Any, data: dict[str, Any]) -> Self:
        """An array object for the metadata ``data`` (a ``.zarray`` or ``zarr.json``
        object, attributes included) at ``store_path``; nothing is written."""
        target, path = locate(store_path)
        if data.get("zarr_format") == 3:
            meta = parse_node({"zarr.json": data}, path)
        else:
            attributes = data.get("attributes", {})
            plain = {k: v for k, v in data.items() if k != "attributes"}
            meta = parse_node({".zarray": plain, ".zattrs": attributes}, path)
        if not isinstance(meta, ArrayMetadata):
            raise MetadataError(f"not the metadata of an array: {data!r}", field="node_type")
        return cls(target, path, meta)

    @classmethod
    def create(
        cls,
        store: StoreLike,
        *,
        shape: Any,
        dtype: Any,
        zarr_format: int = 3,
        config: ConfigLike = None,
        **kwargs: Any,
    ) -> Self:
        """zarr-python's deprecated way to create an array (its older keywords such as
        ``chunk_shape``, ``codecs``, ``compressor``); use :func:`create_array`."""
        warnings.warn(
            "Array.create is deprecated: use zarrkit.create_array instead.",
            ZarrDeprecationWarning,
            stacklevel=2,
        )
        fmt = check_format(zarr_format)
        options = modern_arguments(kwargs, fmt)
        array = create_array(
            store, shape=shape, dtype=dtype, zarr_format=fmt, config=config, **options
        )
        return cls(array.store, array.path, array.metadata, config=array.config)

    # --- the array's metadata -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._metadata.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._metadata.dtype

    @property
    def chunks(self) -> tuple[int, ...]:
        return self._metadata.chunks

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape of a sharded array, else ``None``."""
        return self._metadata.shards

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the array's data, uncompressed."""
        return self.size * self.dtype.itemsize

    @property
    def fill_value(self) -> Any:
        return self._metadata.fill_value

    @property
    def order(self) -> str:
        """The memory order of what reads return: a v2 array's stored order, else the
        config's."""
        return self._config.order

    @property
    def config(self) -> ArrayConfig:
        """This array object's runtime settings (memory order, write_empty_chunks)."""
        return self._config

    def with_config(self, config: ConfigLike) -> Self:
        """This array with some settings of its config replaced (a new object)."""
        return type(self)(
            self._store,
            self._path,
            self._metadata,
            config=self._config.merged(config or {}),
            cache=self._cache,
        )

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        return self._metadata.dimension_names

    # The codecs of a (read/write) chunk: a sharded array's inner chunks, as zarr-python
    # reports them.
    @property
    def filters(self) -> tuple[Any, ...]:
        """Array->array codecs (v3) or numcodecs filters (v2)."""
        meta = self._metadata
        if isinstance(meta, ArrayMetadataV2):
            return tuple(numcodecs.get_codec(dict(f)) for f in meta.filters or ())
        return tuple(self._layout.pipeline.array_array)

    @property
    def serializer(self) -> Any:
        """The array->bytes codec (v3); ``None`` for v2."""
        return None if self.zarr_format == 2 else self._layout.pipeline.array_bytes

    @property
    def compressor(self) -> Any:
        """The numcodecs compressor of a v2 array (``None``: uncompressed); deprecated in
        zarr-python for :attr:`compressors`."""
        meta = self._metadata
        if not isinstance(meta, ArrayMetadataV2):
            raise FormatError("`compressor` is not available for Zarr format 3 arrays")
        return None if meta.compressor is None else numcodecs.get_codec(dict(meta.compressor))

    @property
    def compressors(self) -> tuple[Any, ...]:
        """Bytes->bytes codecs (v3) or the numcodecs compressor (v2)."""
        meta = self._metadata
        if isinstance(meta, ArrayMetadataV2):
            return () if meta.compressor is None else (numcodecs.get_codec(dict(meta.compressor)),)
        return tuple(self._layout.pipeline.bytes_bytes)

    @property
    def cdata_shape(self) -> tuple[int, ...]:
        """Number of chunks along each dimension."""
        return tuple(d.nchunks for d in self._layout.dims)

    @property
    def nchunks(self) -> int:
        return math.prod(self.cdata_shape)

    @property
    def read_chunk_sizes(self) -> tuple[tuple[int, ...], ...]:
        """Per dimension, the lengths of the (inner) chunks inside the array, Dask-style."""
        return tuple(_lengths(dim) for dim in self._layout.dims)

    @property
    def write_chunk_sizes(self) -> tuple[tuple[int, ...], ...]:
        """Per dimension, the lengths of the stored objects (shards, else chunks) inside the
        array: the blocks that parallel writers must not share."""
        return tuple(_lengths(dim) for dim in self._metadata.chunk_grid.dims(self.shape))

    @property
    def nchunks_initialized(self) -> int:
        """Number of (inner) chunks that hold stored data (keys that decode to a chunk of
        the grid; stray objects under the array's prefix are not counted)."""
        return self._layout.chunks.count_stored(self.stored_chunk_keys()[0])

    def stored_chunk_keys(self) -> tuple[dict[str, tuple[int, ...]], list[str]]:
        """The stored chunks (shards, when sharded) as ``{key: coords}``, and the keys under
        the array's prefix that are neither chunks of its grid nor its metadata documents."""
        prefix = prefix_of(self._path)
        meta = self._metadata
        grid = tuple(d.nchunks for d in meta.chunk_grid.dims(meta.shape))
        decode = key_decoder(meta.chunk_key_encoding, grid)
        chunks, strays = {}, []
        for key in self._store.list_prefix(prefix):
            coords = decode(key[len(prefix) :])
            if coords is not None:
                chunks[key] = coords
            elif not _is_doc(key):
                strays.append(key)
        return chunks, strays

    def _stored_keys(self) -> list[str]:
        """The keys of the stored chunks (or shards) of the grid."""
        return list(self.stored_chunk_keys()[0])

    def nbytes_stored(self) -> int:
        """Bytes this array occupies in its store (metadata and chunks)."""
        return sum(self._store.getsize(k) for k in self._store.list_prefix(prefix_of(self._path)))

    @property
    def info(self) -> ArrayInfo:
        """A summary of the array (printable)."""
        return ArrayInfo(
            zarr_format=self.zarr_format,
            dtype=str(self.dtype),
            data_type=repr(self._metadata.data_type),
            fill_value=self.fill_value,
            shape=self.shape,
            chunks=self.chunks,
            shards=self.shards,
            order=self.order,
            read_only=self.read_only,
            store_type=type(self.store).__name__,
            filters=self.filters,
            serializer=self.serializer,
            compressors=self.compressors,
            nbytes=self.nbytes,
            nchunks=math.prod(d.nchunks for d in self._metadata.chunk_grid.dims(self.shape)),
        )

    def info_complete(self) -> ArrayInfo:
        """:attr:`info` plus stored bytes, compression ratio and initialized chunks (the
        stored objects: shards of a sharded array, as zarr-python counts them)."""
        return dataclasses.replace(
            self.info,
            nbytes_stored=self.nbytes_stored(),
            nchunks_initialized=len(self._stored_keys()),
        )

    def __repr__(self) -> str:
        return f"<zarrkit.Array {self._store!r}{self.name} shape={self.shape} dtype={self.dtype}>"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray:
        data = np.asarray(self[...])
        return data if dtype is None else data.astype(dtype)

    # --- reading and writing --------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        fields, key = indexing.pop_fields(key)
        return self._read(indexing.normalize(key, self.shape, "auto"), fields=fields)

    def __setitem__(self, key: Any, value: Any) -> None:
        fields, key = indexing.pop_fields(key)
        self._write(indexing.normalize(key, self.shape, "auto"), value, fields)

    def get_basic_selection(
        self,
        selection: Any = Ellipsis,
        *,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        sel = indexing.normalize(selection, self.shape, "basic")
        return self._read(sel, out, fields, prototype)

    def set_basic_selection(
        self, selection: Any, value: Any, *, fields: Any = None, prototype: Any = None
    ) -> None:
        self._write(indexing.normalize(selection, self.shape, "basic"), value, fields, prototype)

    def get_orthogonal_selection(
        self,
        selection: Any,
        *,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        sel = indexing.normalize(selection, self.shape, "orthogonal")
        return self._read(sel, out, fields, prototype)

    def set_orthogonal_selection(
        self, selection: Any, value: Any, *, fields: Any = None, prototype: Any = None
    ) -> None:
        self._write(
            indexing.normalize(selection, self.shape, "orthogonal"), value, fields, prototype
        )

    def get_coordinate_selection(
        self,
        selection: Any,
        *,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        sel = indexing.normalize(selection, self.shape, "coordinate")
        return self._read(sel, out, fields, prototype)

    def set_coordinate_selection(
        self, selection: Any, value: Any, *, fields: Any = None, prototype: Any = None
    ) -> None:
        self._write(
            indexing.normalize(selection, self.shape, "coordinate"), value, fields, prototype
        )

    def get_mask_selection(
        self,
        mask: Any,
        *,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        return self._read(indexing.normalize(mask, self.shape, "mask"), out, fields, prototype)

    def set_mask_selection(
        self, mask: Any, value: Any, *, fields: Any = None, prototype: Any = None
    ) -> None:
        self._write(indexing.normalize(mask, self.shape, "mask"), value, fields, prototype)

    def get_block_selection(
        self,
        selection: Any,
        *,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        sel = indexing.normalize_blocks(selection, self.shape, self._layout.dims)
        return self._read(sel, out, fields, prototype)

    def set_block_selection(
        self, selection: Any, value: Any, *, fields: Any = None, prototype: Any = None
    ) -> None:
        sel = indexing.normalize_blocks(selection, self.shape, self._layout.dims)
        self._write(sel, value, fields, prototype)

    @property
    def oindex(self) -> _Indexer:
        """Orthogonal (outer) indexing: each dimension selected independently."""
        return _Indexer(self.get_orthogonal_selection, self.set_orthogonal_selection)

    @property
    def vindex(self) -> _Indexer:
        """Coordinate (vectorized) indexing, and boolean masks of the array's shape."""
        return _Indexer(self._get_vindex, self._set_vindex)

    @property
    def blocks(self) -> _Indexer:
        """Selection in units of chunks."""
        return _Indexer(self.get_block_selection, self.set_block_selection)

    def _get_vindex(self, selection: Any) -> Any:
        return self._read(indexing.normalize(selection, self.shape, _vindex_mode(selection)))

    def _set_vindex(self, selection: Any, value: Any) -> None:
        self._write(indexing.normalize(selection, self.shape, _vindex_mode(selection)), value)

    def isel(self, **selection: Any) -> Any:
        """Select by dimension name: ``a.isel(time=0, x=slice(0, 10))`` (orthogonal)."""
        names = self.dimension_names or ()
        unknown = sorted(set(selection) - {n for n in names if n is not None})
        if unknown:
            raise IndexingError(
                f"unknown dimension name {unknown[0]!r}; this array's dimensions are {list(names)}"
            )
        key = tuple(selection.get(n, slice(None)) if n else slice(None) for n in names)
        return self.get_orthogonal_selection(key)

    def to_dask(self, chunks: Any = None) -> Any:
        """A lazy Dask array over this array, one block per chunk (or shard) by default."""
        from zarrkit.integrations.dask import to_dask

        return to_dask(self, chunks)

    def iter_chunks(
        self,
        selection: Any = Ellipsis,
        *,
        concurrency: int | None = None,
        ordered: bool = True,
        progress: Progress = False,
    ) -> Iterator[tuple[tuple[int, ...], NDArray]]:
        """Stream ``(chunk_coords, data)`` for every chunk a basic or orthogonal selection
        touches; ``data`` is the selection's part of that chunk. At most ``concurrency``
        chunks are in flight (default: the thread count), so memory stays bounded.
        ``progress`` is True for a progress bar or a callback ``(done, total)``.

        Examples
        --------
        >>> import zarrkit
        >>> a = zarrkit.zeros((4, 4), chunks=(2, 4), dtype="i1")
        >>> [(coords, block.shape) for coords, block in a.iter_chunks()]
        [((0, 0), (2, 4)), ((1, 0), (2, 4))]
        """
        sel = indexing.normalize(selection, self.shape, "orthogonal")
        count = concurrency or config.get("threads")
        total = len(indexing.project(sel, self._layout.dims))
        with reporter(progress, total, f"reading {self.name}") as report:
            for done, item in enumerate(
                engine.iter_chunks(self._layout, sel, concurrency=count, ordered=ordered), 1
            ):
                yield item
                report(done, total)

    def __iter__(self) -> Iterator[Any]:
        """Rows along the first axis, decoding each chunk once, not once per row."""
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        step = self.chunks[0]
        for start in range(0, self.shape[0], step):
            block = self[start : start + step]
            yield from block

    def _read(
        self,
        selection: indexing.Selection,
        out: NDArray | None = None,
        fields: Any = None,
        prototype: Any = None,
    ) -> Any:
        check_prototype(prototype)
        if fields is not None:  # structured arrays: read the records, keep the fields
            indexing.normalize_fields(fields, self.dtype)
            result = engine.read(self._layout, selection)[fields]
            if out is not None:
                out[...] = result
                return out
        else:
            result = engine.read(self._layout, selection, out)
        return result[()] if result.ndim == 0 and out is None else result

    def _write(
        self, selection: indexing.Selection, value: Any, fields: Any = None, prototype: Any = None
    ) -> None:
        check_prototype(prototype)
        self._check_writable()
        if fields is not None:  # write some fields of the records, keeping the others
            indexing.normalize_fields(fields, self.dtype)
            # chunks not yet written are the fill value here, whatever the read policy
            lenient = dataclasses.replace(self._layout, read_missing_chunks=True)
            records = engine.read(lenient, selection)
            records[fields] = value
            value = records
        engine.write(self._layout, selection, value)

    # --- changing the array ---------------------------------------------------------------
    def resize(self, new_shape: Any, *more: int) -> None:
        """Change the shape to ``new_shape`` (or ``resize(rows, cols)``, zarr-python 2's
        form); chunks wholly outside the new shape are deleted."""
        self._check_writable()
        new_shape = normalize_shape((new_shape, *more) if more else new_shape)
        if len(new_shape) != self.ndim:
            raise ShapeMismatchError(
                f"new shape {new_shape} has {len(new_shape)} dimensions, the array has {self.ndim}"
            )
        old_meta, _ = self._change_metadata(lambda m: dataclasses.replace(m, shape=new_shape))
        old_layout, old_shape = self._layout_of(old_meta), old_meta.shape
        new_dims = self._layout.dims
        stale = [
            coords
            for coords in np.ndindex(*(d.nchunks for d in old_layout.dims))
            if any(c >= d.nchunks for c, d in zip(coords, new_dims, strict=True))
        ]
        engine.remove(old_layout, stale)
        self._clear_exposed(old_layout.dims, old_shape)

    def _clear_exposed(self, old_dims: tuple[Any, ...], old_shape: tuple[int, ...]) -> None:
        """After growing, fill the part of the old edge chunks that the new shape exposes:
        it may hold data a shrink cut off, which must not reappear."""
        for axis, (dim, old, new) in enumerate(zip(old_dims, old_shape, self.shape, strict=True)):
            if new <= old or old == 0:
                continue
            last = dim.nchunks - 1
            end = min(new, dim.chunk_start(last) + dim.chunk_len(last))
            if end > old:
                region = tuple(
                    slice(old, end) if i == axis else slice(None) for i in range(self.ndim)
                )
                self[region] = self._layout.fill_value

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Grow along ``axis`` and write ``data`` at the end; returns the new shape."""
        data = np.asanyarray(data)
        if data.ndim != self.ndim:
            raise ShapeMismatchError(
                f"data of shape {data.shape} has {data.ndim} dimensions, the array has {self.ndim}"
            )
        axis = axis + self.ndim if axis < 0 else axis
        others = [d for i, d in enumerate(data.shape) if i != axis]
        if others != [n for i, n in enumerate(self.shape) if i != axis]:
            raise ShapeMismatchError(
                f"data of shape {data.shape} does not match the array's shape {self.shape} "
                f"outside axis {axis}"
            )
        old = self.shape[axis]
        new_shape = tuple(
            n + data.shape[axis] if i == axis else n for i, n in enumerate(self.shape)
        )
        self.resize(new_shape)
        region = tuple(slice(old, None) if i == axis else slice(None) for i in range(self.ndim))
        self[region] = data
        return new_shape

    def _change_metadata(
        self, change: Callable[[ArrayMetadata], ArrayMetadata]
    ) -> tuple[ArrayMetadata, ArrayMetadata]:
        old, new = super()._change_metadata(change)
        self.__dict__.pop("_layout", None)
        return old, new

    # --- internals -------------------------------------------------------------------------
    @cached_property
    def _layout(self) -> engine.Layout:
        return self._layout_of(self._metadata)

    def _layout_of(self, meta: ArrayMetadata) -> engine.Layout:
        return engine.layout_for(
            self._store,
            prefix_of(self._path),
            meta,
            self._pipeline,
            fill_or_default(meta),
            self._config.write_empty_chunks,
            self._cache,
            read_missing_chunks=self._config.read_missing_chunks,
            order=self._config.order,
        )


def check_prototype(prototype: Any) -> None:
    """Accept zarr-python's ``prototype=`` of selections when it is a CPU (NumPy) one, the
    only kind zarrkit reads into."""
    if prototype is None:
        return
    kinds = (getattr(prototype, "buffer", None), getattr(prototype, "nd_buffer", None))
    if not all(kind is not None and ".cpu" in kind.__module__ for kind in kinds):
        raise UnsupportedBufferError(
            f"prototype {prototype!r} is not a CPU buffer prototype: zarrkit reads into and "
            "writes from NumPy arrays only (pass prototype=None)"
        )


def _reopen(store: Store, path: str, config: ArrayConfig) -> Array:
    return Array(store, path, load_array(store, path), config=config)


def _lengths(dim: Any) -> tuple[int, ...]:
    """Lengths of a dimension's chunks, clipped to the array."""
    return tuple(
        min(dim.chunk_start(ix) + dim.chunk_len(ix), dim.length) - dim.chunk_start(ix)
        for ix in range(dim.nchunks)
    )


def _is_doc(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", "zarr.json")


def _vindex_mode(selection: Any) -> Literal["mask", "coordinate"]:
    is_mask = isinstance(selection, np.ndarray) and selection.dtype == bool
    if isinstance(selection, tuple) and len(selection) == 1:
        is_mask = isinstance(selection[0], np.ndarray) and selection[0].dtype == bool
    return "mask" if is_mask else "coordinate"


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
    fill_value: Any = DEFAULT_FILL,
    order: Literal["C", "F"] | None = None,
    zarr_format: int | None = 3,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Any = None,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    config: ConfigLike = None,
    write_data: bool = True,
    write_empty_chunks: bool | None = None,
    cache: ChunkCache | int | None = None,
) -> Array:
    """Create an array (Zarr v3 by default) and return it.

    Parameters mirror ``zarr.create_array``: ``filters`` are array->array codecs (v2:
    numcodecs filters), ``serializer`` the array->bytes codec (v3 only), ``compressors``
    bytes->bytes codecs (v2: one compressor). Codecs may be zarrkit codec objects,
    numcodecs codecs, or their JSON. ``config`` holds the array's memory ``order``,
    ``write_empty_chunks`` and ``read_missing_chunks`` (False: reading a chunk never stored
    raises :class:`~zarrkit.errors.ChunkNotFoundError`); ``order=`` is a v2 array's stored
    order (on v3 it warns and has no effect, as in zarr-python). ``data`` is written
    unless ``write_data`` is False. Nothing is written unless every argument is valid.

    Examples
    --------
    >>> import zarrkit
    >>> a = zarrkit.create_array(shape=(100, 100), chunks=(10, 10), dtype="f4",
    ...                          compressors={"name": "zstd", "configuration": {"level": 3}})
    >>> a.chunks
    (10, 10)
    """
    fmt = check_format(zarr_format)
    parsed = array_config(
        config, write_empty_chunks=write_empty_chunks, order=order, zarr_format=fmt, stacklevel=3
    )
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
        order=parsed.order,
        zarr_format=fmt,
        attributes=attributes,
        chunk_key_encoding=chunk_key_encoding,
        dimension_names=dimension_names,
        shards=shards,
    )
    target, path = locate(store, name, storage_options=storage_options)
    new_node(target, path, meta, overwrite=overwrite)
    array = Array(target, path, meta, config=parsed, cache=as_cache(cache))
    if data is not None and write_data:
        array[...] = data
    return array


class _Indexer:
    """``a.oindex[...]`` style accessors."""

    __slots__ = ("_get", "_set")

    def __init__(self, get: Any, set_: Any) -> None:
        self._get = get
        self._set = set_

    def __getitem__(self, selection: Any) -> Any:
        return self._get(selection)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._set(selection, value)


__all__ = ["Array", "create_array"]
