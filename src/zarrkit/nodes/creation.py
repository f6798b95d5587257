"""New nodes' metadata: user arguments normalized into validated metadata (no I/O), and
the codec pipeline an array's metadata implies. Shared by :func:`zarrkit.create_array`,
:class:`~zarrkit.nodes.arrays.Array` and :class:`~zarrkit.nodes.groups.Group`.
"""

from __future__ import annotations

from typing import Any, Literal

from zarrkit import config
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.normalize import normalize_v2_codecs, normalize_v3_codecs
from zarrkit.codecs.pipeline import CodecPipeline
from zarrkit.codecs.registry import classify_codecs
from zarrkit.errors import MetadataError, MetadataValidationError
from zarrkit.metadata.chunk_grid import ChunkGrid, RegularChunkGrid, rectilinear_grid
from zarrkit.metadata.chunk_key import DefaultKeyEncoding, parse_chunk_key_encoding
from zarrkit.metadata.documents import ArrayMetadata, GroupMetadata
from zarrkit.metadata.dtypes import default_fill_value, normalize_dtype, normalize_fill_value
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes.chunking import normalize_chunks, normalize_shape


class _DefaultFill:
    """The type of :data:`DEFAULT_FILL`."""

    def __repr__(self) -> str:
        return "<default fill value>"


#: ``fill_value`` left out: the data type's default (zero, ``False``, ``""``, NaT ...), also
#: stored in v2 metadata as zarr-python 3 does; an explicit ``None`` stores v2's ``null``.
DEFAULT_FILL: Any = _DefaultFill()


def check_format(zarr_format: Any) -> int:
    """``zarr_format`` if it is 2 or 3 (``None``: the ``default_zarr_format`` setting),
    else raise."""
    if zarr_format is None:
        return int(config.get("default_zarr_format"))
    if zarr_format not in (2, 3) or isinstance(zarr_format, bool):
        raise MetadataValidationError(
            f"Invalid value for 'zarr_format'. Expected 2, 3, or None. Got '{zarr_format}'.",
            field="zarr_format",
        )
    return int(zarr_format)


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


def group_metadata(zarr_format: Any, attributes: dict[str, Any] | None) -> GroupMetadata:
    """Validated metadata for a new group (no I/O)."""
    cls = GroupMetadataV3 if check_format(zarr_format) == 3 else GroupMetadataV2
    return cls(attributes=dict(attributes or {}))


def array_metadata(
    *,
    shape: Any,
    dtype: Any,
    chunks: Any = "auto",
    filters: Any = "auto",
    compressors: Any = "auto",
    serializer: Any = "auto",
    fill_value: Any = DEFAULT_FILL,
    order: Literal["C", "F"] | None = None,
    zarr_format: int | None = 3,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Any = None,
    shards: Any = None,
) -> ArrayMetadata:
    """Validated metadata for a new array (no I/O); every argument checked here. ``order``
    is a v2 array's stored order (v3 arrays store none)."""
    zarr_format = check_format(zarr_format)
    shape = normalize_shape(shape)
    np_dtype = normalize_dtype("float64" if dtype is None else dtype)
    rectilinear = rectilinear_grid(chunks, shape)  # None unless chunks are lists of lengths
    chunk_shape = (
        rectilinear.chunk_shape
        if rectilinear
        else normalize_chunks(chunks, shape, np_dtype.itemsize)
    )
    given = None if fill_value is DEFAULT_FILL else fill_value
    fill = normalize_fill_value(given, np_dtype)
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
        if np_dtype.kind == "O" and not v2_filters:  # readers take the first filter as its codec
            raise MetadataError(
                "a v2 object array needs an object codec (vlen-utf8, vlen-bytes, json2 ...) "
                "as its first filter; for text or bytes pass dtype=str or dtype=bytes",
                field="filters",
            )
        separator = _v2_separator(chunk_key_encoding)
        meta: ArrayMetadata = ArrayMetadataV2(
            shape=shape,
            chunks=chunk_shape,
            dtype=np_dtype,
            fill_value=None if fill_value is None else fill,
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
            fill_value=normalize_fill_value(given, native),
            codecs=tuple(codecs),
            attributes=dict(attributes or {}),
            dimension_names=dimension_names,
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
    grid = rectilinear_grid(shards, shape)  # its metadata checks that inner chunks tile it
    return grid or RegularChunkGrid(chunk_shape=_shard_shape(shards, chunks))


def _shard_shape(shards: Any, chunks: tuple[int, ...]) -> tuple[int, ...]:
    """The shard shape from ``shards`` (a tuple, or ``{"shape": ...}`` as zarr-python takes)."""
    if isinstance(shards, dict):
        shards = shards.get("shape")
    if shards == "auto":
        raise MetadataError("give the shard shape explicitly", field="shards")
    return normalize_chunks(shards, chunks, 1)


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


def _v2_separator(data: Any) -> Any:
    """The separator of a ``chunk_key_encoding`` argument (JSON, an object, or a string)."""
    if data is None:
        return "."
    if isinstance(data, dict):
        return data.get("separator", data.get("configuration", {}).get("separator", "."))
    return getattr(data, "separator", data)


#: zarr-python's older creation keywords, which :func:`modern_arguments` translates.
LEGACY_KEYWORDS = ("chunk_shape", "codecs", "compressor", "dimension_separator")


def modern_arguments(kwargs: dict[str, Any], zarr_format: int) -> dict[str, Any]:
    """``create_array``'s keywords from a mix with zarr-python's older ones (``create``,
    ``Array.create``, ``Group.zeros``...): ``chunk_shape`` for ``chunks``, ``codecs`` (a
    whole v3 list) or ``compressor`` for ``filters``/``serializer``/``compressors``,
    ``dimension_separator`` or a ``("default", "/")`` tuple for ``chunk_key_encoding``."""
    out = dict(kwargs)
    chunk_shape = out.pop("chunk_shape", None)
    if out.get("chunks") is None or out.get("chunks") is True:
        out["chunks"] = "auto" if chunk_shape is None else chunk_shape
    if "compressor" in out:
        if "compressors" in out:
            raise MetadataError("give compressor or compressors, not both", field="compressor")
        out["compressors"] = out.pop("compressor")
    codecs = out.pop("codecs", None)
    if codecs is not None:
        out["filters"], out["serializer"], out["compressors"] = classify_codecs(codecs)
    separator = out.pop("dimension_separator", None)
    if separator is not None:
        name = "v2" if zarr_format == 2 else "default"
        out["chunk_key_encoding"] = {"name": name, "separator": separator}
    elif isinstance(out.get("chunk_key_encoding"), tuple):
        names = ("name", "separator")
        out["chunk_key_encoding"] = dict(zip(names, out["chunk_key_encoding"], strict=False))
    return out


def like_arguments(a: Any) -> dict[str, Any]:
    """Creation keywords copying an array-like template ``a`` (a zarrkit, NumPy or Dask
    array): its shape, chunks, dtype and, for a zarrkit array, format and v2 order."""
    found: dict[str, Any] = {}
    for name in ("shape", "chunks", "dtype", "zarr_format"):
        value = getattr(a, name, None)
        if value is not None:
            found[name] = value
    chunks = found.get("chunks")
    if chunks and isinstance(chunks[0], tuple):  # Dask: the lengths of every block
        found["chunks"] = tuple(max(lengths, default=0) for lengths in chunks)
    if found.get("zarr_format") == 2:
        found["order"] = a.order
    return found
