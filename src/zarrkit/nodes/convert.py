"""Copying arrays and hierarchies between stores, converting format, chunks and codecs.

:func:`copy` first plans every node of the copy, building and validating each destination
array's metadata without touching the destination, so a codec with no form in the target
format fails before anything is written. Then it writes groups, attributes and arrays;
array data streams through blocks of whole destination chunks (or shards) of bounded size,
each read from the source with ``source[block]`` and written with ``dest[block] = ...``:
an array is never held in memory whole.

Over 400 lines: the plan and the translation of an array's options between formats (grid,
chunk key encoding, codecs) are one step, validated together before anything is written;
apart, the plan would import every translation helper of the other module.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.codecs.base import ArrayArrayCodec, BytesBytesCodec
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.codecs.transpose import TransposeCodec
from zarrkit.errors import MetadataError
from zarrkit.metadata.chunk_grid import RectilinearChunkGrid
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.nodes.arrays import Array, create_array
from zarrkit.nodes.consolidated import ConsolidatedGroup, consolidate, open_node
from zarrkit.nodes.creation import DEFAULT_FILL, build_pipeline
from zarrkit.nodes.groups import Group, create_group
from zarrkit.nodes.node import locate, normalize_path
from zarrkit.progress import Progress, reporter
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store
from zarrkit.storage.memory import MemoryStore

#: ``filters``, ``serializer`` or ``compressors`` value that keeps the source's codecs.
KEEP = "keep"
#: Default bound on the bytes (uncompressed) read and written per block.
BLOCK_BYTES = 64 * 2**20
#: The attribute holding dimension names in Zarr v2 (xarray's convention).
V2_DIMENSIONS = "_ARRAY_DIMENSIONS"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Step:
    """One node of a copy: the source node, its destination path and creation arguments."""

    source: Array | Group
    path: str
    options: dict[str, Any]


def copy(
    source: Array | Group | StoreLike,
    dest: StoreLike | Group,
    *,
    path: str | None = None,
    zarr_format: int | None = None,
    chunks: Any = None,
    shards: Any = None,
    filters: Any = KEEP,
    serializer: Any = KEEP,
    compressors: Any = KEEP,
    overwrite: bool = False,
    progress: Progress = None,
    block_bytes: int | None = None,
) -> Array | Group:
    """Copy an array, or a group with everything below it, to ``dest`` at ``path``.

    Parameters
    ----------
    source
        An Array or Group, or a store (path, URL, Store) whose root node is copied.
    dest
        A store, or a Group to copy into (``path`` then defaults to the source's name).
    path
        Destination path in ``dest`` (default: its root).
    zarr_format
        2 or 3 to convert; ``None`` keeps each node's format (copying into a Group: the
        group's format). Dimension names travel
        between v3 ``dimension_names`` and xarray's v2 ``_ARRAY_DIMENSIONS`` attribute.
    chunks, shards
        New chunk and shard shapes (any ``create_array`` value); ``None`` keeps the
        source's (``shards=False`` drops sharding).
    filters, serializer, compressors
        New codecs (any ``create_array`` value), or ``"keep"`` for the source's, converted
        to the target format; a codec with no form there raises MetadataError before
        anything is written.
    overwrite
        Replace a node already at the destination path.
    progress
        True for a progress bar, or a callback ``(done, total)`` in uncompressed bytes.
    block_bytes
        Bound on the bytes moved per block (default :data:`BLOCK_BYTES`); a block is
        never smaller than one destination chunk (shard, when sharded).

    Examples
    --------
    >>> import zarrkit
    >>> a = zarrkit.create_array(shape=(6, 6), chunks=(2, 2), dtype="i4", zarr_format=2)
    >>> a[:] = 7
    >>> b = zarrkit.copy(a, zarrkit.storage.MemoryStore(), zarr_format=3, chunks=(3, 6))
    >>> b.zarr_format, b.chunks, int(b[:].sum())
    (3, (3, 6), 252)
    """
    node = (
        source if isinstance(source, Array | Group) else open_node(*locate(source, read_only=True))
    )
    store, root = _destination(dest, path, node)
    if store is node.store and _overlaps(root, node.path):
        raise ValueError(
            f"cannot copy {node.name} onto or into itself at {'/' + root} of the same store"
        )
    if zarr_format is None and isinstance(dest, Group):
        zarr_format = dest.zarr_format
    if zarr_format not in (None, 2, 3):
        raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}", field="zarr_format")
    options = {
        "zarr_format": zarr_format,
        "chunks": chunks,
        "shards": shards,
        "filters": filters,
        "serializer": serializer,
        "compressors": compressors,
    }
    steps = [_plan(n, root, rel, options) for rel, n in _nodes(node)]
    total = sum(s.source.nbytes for s in steps if isinstance(s.source, Array))
    done = 0
    with reporter(progress, total, f"copying {node.name}") as report:
        report(0, total)
        for i, step in enumerate(steps):
            replace = overwrite and i == 0
            if isinstance(step.source, Group):
                create_group(store, path=step.path, overwrite=replace, **step.options)
                continue
            target = create_array(store, name=step.path, overwrite=replace, **step.options)
            for moved in _stream(step.source, target, block_bytes or BLOCK_BYTES):
                done += moved
                report(done, total)
    if isinstance(node, ConsolidatedGroup) and node.holder == node.path:
        consolidate(store, root)
    return open_node(store, root)


def from_array(
    store: StoreLike,
    *,
    data: Any,
    write_data: bool = True,
    name: str | None = None,
    chunks: Any = KEEP,
    shards: Any = KEEP,
    filters: Any = KEEP,
    compressors: Any = KEEP,
    serializer: Any = KEEP,
    fill_value: Any = DEFAULT_FILL,
    order: Any = None,
    zarr_format: int | None = None,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Any = None,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    config: Any = None,
) -> Array:
    """A new array like ``data`` (a zarrkit array, or anything NumPy reads) holding its
    values (unless ``write_data`` is False). For a zarrkit array, ``"keep"`` keeps its
    chunks, shards and codecs (converted to ``zarr_format``), and its fill value,
    attributes, dimension names and key encoding stay unless given; for other data
    ``"keep"`` means ``"auto"``.

    Examples
    --------
    >>> import numpy as np, zarrkit
    >>> a = zarrkit.from_array({}, data=np.arange(6).reshape(2, 3), chunks=(1, 3))
    >>> a.chunks, a[1].tolist()
    ((1, 3), [3, 4, 5])
    """
    chosen = {"chunks": chunks, "shards": shards, "filters": filters}
    chosen |= {"compressors": compressors, "serializer": serializer}
    given = {"fill_value": fill_value, "attributes": attributes}
    given |= {"dimension_names": dimension_names, "chunk_key_encoding": chunk_key_encoding}
    given = {k: v for k, v in given.items() if v is not None and v is not DEFAULT_FILL}
    if isinstance(data, Array):
        fmt = data.zarr_format if zarr_format is None else zarr_format
        options = dict(chosen)  # "keep" codecs stay "keep"; kept shapes are None here
        options["chunks"] = None if _is_keep(chunks) else chunks
        options["shards"] = None if _is_keep(shards) else (False if shards is None else shards)
        kwargs = _array_options(data, fmt, options | {"zarr_format": fmt}) | given
    else:
        data = np.asanyarray(data)
        auto = dict.fromkeys(chosen, "auto") | {"shards": None}
        kwargs = {k: auto[k] if _is_keep(v) else v for k, v in chosen.items()}
        kwargs |= given | {"shape": data.shape, "dtype": data.dtype, "zarr_format": zarr_format}
    if order is not None:
        kwargs["order"] = order
    target = create_array(
        store,
        name=name,
        overwrite=overwrite,
        config=config,
        storage_options=storage_options,
        **kwargs,
    )
    if write_data and isinstance(data, Array):
        deque(_stream(data, target, BLOCK_BYTES), maxlen=0)  # run the copy, block by block
    elif write_data:
        target[...] = data
    return target


def _destination(
    dest: StoreLike | Group, path: str | None, node: Array | Group
) -> tuple[Store, str]:
    """The destination store and the path of the copy's root in it."""
    if isinstance(dest, Group):
        rel = normalize_path(path) if path is not None else node.basename
        if not rel:
            raise ValueError(f"copying {node.name} into group {dest.name} needs a path= to copy to")
        return dest.store, "/".join(p for p in (dest.path, rel) if p)
    return make_store(dest), normalize_path(path)


def _overlaps(a: str, b: str) -> bool:
    return a == b or not a or not b or a.startswith(b + "/") or b.startswith(a + "/")


def _nodes(node: Array | Group) -> Iterator[tuple[str, Array | Group]]:
    """``node`` (path '') then, for a group, every node below it, parents first."""
    yield "", node
    if isinstance(node, Group):
        yield from node.members(max_depth=None)


def _plan(node: Array | Group, root: str, rel: str, options: dict[str, Any]) -> _Step:
    """The creation arguments of one destination node, validated (no destination I/O)."""
    path = "/".join(p for p in (root, rel) if p)
    zarr_format = options["zarr_format"] or node.zarr_format
    if isinstance(node, Group):
        attributes = dict(node.attrs)
        return _Step(
            source=node, path=path, options={"zarr_format": zarr_format, "attributes": attributes}
        )
    kwargs = _array_options(node, zarr_format, options)
    # Build the destination array in a scratch store: exactly create_array's validation,
    # and nothing is written to the destination while any node is invalid.
    create_array(MemoryStore(), **kwargs)
    return _Step(source=node, path=path, options=kwargs)


def _for_rank(shape: Any, ndim: int) -> Any:
    """``shape`` when it fits an array of ``ndim`` dimensions (or is not a shape), else None."""
    if isinstance(shape, tuple | list) and len(shape) != ndim:
        return None
    return shape


def _array_options(src: Array, zarr_format: int, options: dict[str, Any]) -> dict[str, Any]:
    """``create_array`` arguments reproducing ``src`` in ``zarr_format`` with ``options``."""
    attributes = dict(src.attrs)
    names = src.dimension_names
    same = zarr_format == src.zarr_format
    if zarr_format == 3 and not same and _is_names(attributes.get(V2_DIMENSIONS), src.ndim):
        names = tuple(attributes.pop(V2_DIMENSIONS))
    if zarr_format == 2 and names is not None and all(isinstance(n, str) for n in names):
        attributes.setdefault(V2_DIMENSIONS, list(names))
    # In a hierarchy, new chunk and shard shapes apply to the arrays of their rank (the
    # data variables), not to 1-d coordinates next to them.
    chunks = _for_rank(options["chunks"], src.ndim)
    shards = _for_rank(options["shards"], src.ndim)
    # a rectilinear grid (of chunks, or of shards) is kept unless new chunks are asked for
    kept = _rectilinear_lengths(src) if zarr_format == 3 and chunks is None else None
    if shards is None and zarr_format == 3:
        shards = kept if kept is not None and src.shards else src.shards
    if chunks is None:
        chunks = kept if kept is not None and not src.shards and not shards else src.chunks
    kwargs: dict[str, Any] = {
        "shape": src.shape,
        "dtype": src.dtype,
        "chunks": chunks,
        "shards": shards or None,
        "fill_value": src.fill_value,
        "order": src.order if zarr_format == 2 else None,
        "zarr_format": zarr_format,
        "attributes": attributes,
        "dimension_names": names if zarr_format == 3 else None,
        "chunk_key_encoding": _key_encoding(src) if same else None,
    }
    return kwargs | _codec_options(src, zarr_format, options)


def _rectilinear_lengths(src: Array) -> list[Any] | None:
    """The chunk (or shard) lengths of a source with a rectilinear grid, kept by a copy to
    Zarr v3 unless new chunks are asked for."""
    grid = src.metadata.chunk_grid
    if not isinstance(grid, RectilinearChunkGrid):
        return None
    lengths: list[Any] = grid.to_json()["configuration"]["chunk_shapes"]
    return lengths


def _is_names(value: Any, ndim: int) -> bool:
    return isinstance(value, list) and len(value) == ndim and all(isinstance(n, str) for n in value)


def _key_encoding(src: Array) -> Any:
    meta = src.metadata
    if isinstance(meta, ArrayMetadataV3):
        return meta.chunk_key_encoding.to_json()
    return {"name": "v2", "separator": meta.dimension_separator}


def _codec_options(src: Array, zarr_format: int, options: dict[str, Any]) -> dict[str, Any]:
    """The filters, serializer and compressors arguments: the user's, or the source's
    converted to ``zarr_format`` where they are kept (with the order and data type that
    keep a v3 source's layout in v2)."""
    chosen = {name: options[name] for name in ("filters", "serializer", "compressors")}
    if zarr_format == 2:
        if chosen["serializer"] not in (KEEP, "auto"):
            raise MetadataError("Zarr v2 arrays have no serializer", field="serializer")
        chosen["serializer"] = "auto"
    kept = [name for name, value in chosen.items() if _is_keep(value)]
    if not kept:
        return chosen
    source = _v2_codecs(src) if zarr_format == 2 else _v3_codecs(src)
    layout = {name: source[name] for name in ("order", "dtype") if name in source}
    return chosen | layout | {name: source[name] for name in kept}


def _v2_codecs(src: Array) -> dict[str, Any]:
    meta = src.metadata
    if isinstance(meta, ArrayMetadataV2):
        compressor = meta.compressor
        return {
            "filters": list(meta.filters or ()),
            "compressors": [compressor] if compressor else [],
        }
    order, dtype, pipeline = _v2_layout(_chunk_pipeline(src))
    filters, compressor = pipeline.to_v2_json()
    return {
        "filters": list(filters or ()),
        "compressors": [compressor] if compressor else [],
        "order": order,
        "dtype": dtype,
    }


def _v3_codecs(src: Array) -> dict[str, Any]:
    pipeline = _chunk_pipeline(src)
    v3 = CodecPipeline.from_v3(pipeline.to_v3_json(), pipeline.spec)
    return {
        "filters": [c for c in v3.codecs if isinstance(c, ArrayArrayCodec)],
        "serializer": v3.array_bytes,
        "compressors": [c for c in v3.codecs if isinstance(c, BytesBytesCodec)],
    }


def _v2_layout(pipeline: CodecPipeline) -> tuple[str, np.dtype[Any], CodecPipeline]:
    """The v2 forms of two v3 layout choices: a leading transpose reversing the dimensions
    is order "F", and the ``bytes`` codec's byte order is the data type's. Returns the
    order, the data type and the pipeline of the codecs left."""
    codecs = list(pipeline.codecs)
    spec = pipeline.spec
    order = "C"
    first = codecs[0]
    if isinstance(first, TransposeCodec) and first.order == tuple(reversed(range(len(spec.shape)))):
        order, spec, codecs = "F", first.resolve(spec), codecs[1:]
    if isinstance(codecs[0], BytesCodec):
        spec = dataclasses.replace(spec, dtype=codecs[0].plain_dtype(spec))
    return order, spec.dtype, CodecPipeline(codecs, spec)


def _is_keep(value: Any) -> bool:
    return isinstance(value, str) and value == KEEP


def _chunk_pipeline(src: Array) -> CodecPipeline:
    """The codecs of the source's (inner, when sharded) chunks: what ``create_array``
    takes as filters, serializer and compressors, next to ``shards``."""
    pipeline = build_pipeline(src.metadata)
    inner = pipeline.inner_chunks
    return pipeline if inner is None else inner.pipeline


def _stream(src: Array, dst: Array, block_bytes: int) -> Iterator[int]:
    """Copy ``src`` into ``dst`` block by block; yields the bytes each block moved."""
    shape = dst.shape
    block = _block_shape(shape, dst.shards or dst.chunks, dst.dtype.itemsize, block_bytes)
    counts = [math.ceil(n / b) if n else 0 for n, b in zip(shape, block, strict=True)]
    for index in itertools.product(*(range(c) for c in counts)):
        region = tuple(
            slice(i * b, min((i + 1) * b, n)) for i, b, n in zip(index, block, shape, strict=True)
        )
        data = src[region]
        dst[region] = data
        yield data.size * src.dtype.itemsize


def _block_shape(
    shape: tuple[int, ...], unit: tuple[int, ...], itemsize: int, budget: int
) -> tuple[int, ...]:
    """Whole ``unit``s (chunks or shards) per block, grown from the last dimension (so
    reads are contiguous) while the block stays within ``budget`` bytes."""
    block = list(unit)
    size = math.prod(unit) * itemsize
    for dim in reversed(range(len(shape))):
        units = math.ceil(shape[dim] / unit[dim]) if shape[dim] else 1
        factor = max(1, min(units, budget // max(size, 1)))
        block[dim] = unit[dim] * factor
        size *= factor
        if factor < units:
            break
    return tuple(block)


__all__ = ["BLOCK_BYTES", "KEEP", "V2_DIMENSIONS", "copy", "from_array"]
