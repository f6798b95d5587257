"""``Array``: a thin facade over metadata, the engine and the store.

Over 400 lines because zarr-python's Array is wide (five selection modes, each with a get
and a set, plus resize, append, info); every member is a few lines calling indexing or the
engine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from functools import cached_property
from typing import Any, Literal

import numcodecs
import numpy as np

from zarrkit import config, engine, indexing
from zarrkit.cache import ChunkCache
from zarrkit.chunking import normalize_shape
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.errors import IndexingError, NodeTypeError, ShapeMismatchError
from zarrkit.info import ArrayInfo
from zarrkit.metadata.chunk_key import key_decoder
from zarrkit.metadata.documents import ArrayMetadata, prefix_of
from zarrkit.metadata.dtypes import default_fill_value
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.nodes import Node, load_node
from zarrkit.progress import Progress, reporter
from zarrkit.storage.base import Store

NDArray = np.ndarray[Any, Any]


def build_pipeline(meta: ArrayMetadata) -> CodecPipeline:
    """The codec pipeline of an array (validates its codecs)."""
    spec = ChunkSpec(
        shape=meta.chunk_grid.chunk_shape,
        dtype=meta.dtype,
        fill_value=fill_or_default(meta),
        order=meta.order,  # type: ignore[arg-type]
    )
    if meta.zarr_format == 3:
        return CodecPipeline.from_v3(meta.codecs, spec)  # type: ignore[union-attr]
    return CodecPipeline.from_v2(meta.filters, meta.compressor, spec)  # type: ignore[union-attr]


def fill_or_default(meta: ArrayMetadata) -> Any:
    """The value missing chunks read as (v2 ``null`` fill reads as zero, as in zarr-python 3)."""
    return default_fill_value(meta.dtype) if meta.fill_value is None else meta.fill_value


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
        write_empty_chunks: bool | None = None,
        cache: ChunkCache | None = None,
        read_missing_chunks: bool | None = None,
    ) -> None:
        super().__init__(store, path, metadata)
        self._cache = cache
        self._write_empty_chunks = (
            config.get("write_empty_chunks") if write_empty_chunks is None else write_empty_chunks
        )
        self._read_missing_chunks = (
            config.get("array.read_missing_chunks")
            if read_missing_chunks is None
            else read_missing_chunks
        )
        self._pipeline = build_pipeline(metadata)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by configuration (store + path), so arrays travel to Dask workers; the
        # store pickles its own configuration, never an open handle.
        options = (self._write_empty_chunks, self._read_missing_chunks)
        return (_reopen, (self._store, self._path, *options))

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
        return self._metadata.order

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        return self._metadata.dimension_names

    @property
    def filters(self) -> tuple[Any, ...]:
        """Array->array codecs (v3) or numcodecs filters (v2)."""
        meta = self._metadata
        if isinstance(meta, ArrayMetadataV2):
            return tuple(numcodecs.get_codec(dict(f)) for f in meta.filters or ())
        return tuple(self._pipeline.array_array)

    @property
    def serializer(self) -> Any:
        """The array->bytes codec (v3); ``None`` for v2."""
        return None if self.zarr_format == 2 else self._pipeline.array_bytes

    @property
    def compressors(self) -> tuple[Any, ...]:
        """Bytes->bytes codecs (v3) or the numcodecs compressor (v2)."""
        meta = self._metadata
        if isinstance(meta, ArrayMetadataV2):
            return () if meta.compressor is None else (numcodecs.get_codec(dict(meta.compressor)),)
        return tuple(self._pipeline.bytes_bytes)

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

    def nbytes_stored(self) -> int:
        """Bytes this array occupies in its store (metadata and chunks)."""
        return sum(self._store.getsize(k) for k in self._store.list_prefix(prefix_of(self._path)))

    @property
    def info(self) -> ArrayInfo:
        """A summary of the array (printable)."""
        return ArrayInfo(
            zarr_format=self.zarr_format,
            dtype=str(self.dtype),
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
            nchunks=self.nchunks,
        )

    def info_complete(self) -> ArrayInfo:
        """:attr:`info` plus stored bytes, compression ratio and initialized chunks."""
        return dataclasses.replace(
            self.info,
            nbytes_stored=self.nbytes_stored(),
            nchunks_initialized=self.nchunks_initialized,
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
        self, selection: Any = Ellipsis, *, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        return self._read(indexing.normalize(selection, self.shape, "basic"), out, fields)

    def set_basic_selection(self, selection: Any, value: Any, *, fields: Any = None) -> None:
        self._write(indexing.normalize(selection, self.shape, "basic"), value, fields)

    def get_orthogonal_selection(
        self, selection: Any, *, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        return self._read(indexing.normalize(selection, self.shape, "orthogonal"), out, fields)

    def set_orthogonal_selection(self, selection: Any, value: Any, *, fields: Any = None) -> None:
        self._write(indexing.normalize(selection, self.shape, "orthogonal"), value, fields)

    def get_coordinate_selection(
        self, selection: Any, *, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        return self._read(indexing.normalize(selection, self.shape, "coordinate"), out, fields)

    def set_coordinate_selection(self, selection: Any, value: Any, *, fields: Any = None) -> None:
        self._write(indexing.normalize(selection, self.shape, "coordinate"), value, fields)

    def get_mask_selection(
        self, mask: Any, *, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        return self._read(indexing.normalize(mask, self.shape, "mask"), out, fields)

    def set_mask_selection(self, mask: Any, value: Any, *, fields: Any = None) -> None:
        self._write(indexing.normalize(mask, self.shape, "mask"), value, fields)

    def get_block_selection(
        self, selection: Any, *, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        sel = indexing.normalize_blocks(selection, self.shape, self._layout.dims)
        return self._read(sel, out, fields)

    def set_block_selection(self, selection: Any, value: Any, *, fields: Any = None) -> None:
        sel = indexing.normalize_blocks(selection, self.shape, self._layout.dims)
        self._write(sel, value, fields)

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
        self, selection: indexing.Selection, out: NDArray | None = None, fields: Any = None
    ) -> Any:
        if fields is not None:  # structured arrays: read the records, keep the fields
            indexing.normalize_fields(fields, self.dtype)
            result = engine.read(self._layout, selection)[fields]
            if out is not None:
                out[...] = result
                return out
        else:
            result = engine.read(self._layout, selection, out)
        return result[()] if result.ndim == 0 and out is None else result

    def _write(self, selection: indexing.Selection, value: Any, fields: Any = None) -> None:
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
    def resize(self, *shape: Any) -> None:
        """Change the shape; chunks wholly outside the new shape are deleted."""
        self._check_writable()
        new_shape = normalize_shape(shape[0] if len(shape) == 1 else shape)
        if len(new_shape) != self.ndim:
            raise ShapeMismatchError(
                f"new shape {new_shape} has {len(new_shape)} dimensions, the array has {self.ndim}"
            )
        old_layout, old_shape = self._layout, self.shape
        self._update_metadata(shape=new_shape)
        new_dims = self._layout.dims
        stale = [
            coords
            for coords in np.ndindex(*(d.nchunks for d in old_layout.dims))
            if any(c >= d.nchunks for c, d in zip(coords, new_dims, strict=True))
        ]
        if stale:
            old_layout.chunks.put_chunks([(coords, None) for coords in stale])
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

    def _update_metadata(self, **changes: Any) -> None:
        super()._update_metadata(**changes)
        self.__dict__.pop("_layout", None)

    # --- internals -------------------------------------------------------------------------
    @cached_property
    def _layout(self) -> engine.Layout:
        meta = self._metadata
        return engine.layout_for(
            self._store,
            prefix_of(self._path),
            meta,
            self._pipeline,
            fill_or_default(meta),
            self._write_empty_chunks,
            self._cache,
            self._read_missing_chunks,
        )


def _reopen(
    store: Store, path: str, write_empty_chunks: bool, read_missing_chunks: bool = True
) -> Array:
    meta = load_node(store, path)
    if not isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
        raise NodeTypeError(f"the node at path {path!r} of {store!r} is no longer an array")
    return Array(
        store,
        path,
        meta,
        write_empty_chunks=write_empty_chunks,
        read_missing_chunks=read_missing_chunks,
    )


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


__all__ = ["Array"]
