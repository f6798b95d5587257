"""Zarr v3 metadata (``zarr.json``) for arrays and groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from zarrkit.errors import MetadataError, UnsupportedExtensionError
from zarrkit.metadata.chunk_grid import ChunkGrid, RectilinearChunkGrid, RegularChunkGrid
from zarrkit.metadata.chunk_key import ChunkKeyEncoding, parse_chunk_key_encoding
from zarrkit.metadata.common import (
    JSON,
    ArrayNames,
    DocumentNames,
    check_byte_count,
    located,
    parse_attributes,
    parse_shape,
    require,
)
from zarrkit.metadata.dtypes import (
    ZDType,
    check_dtype_v3,
    check_fill_value,
    dtype_to_v3,
    fill_value_to_json,
    parse_dtype_v3,
    parse_fill_value,
    zdtype_of,
)

if TYPE_CHECKING:
    from zarrkit.metadata.consolidated import ConsolidatedMetadata

_ARRAY_FIELDS = {
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "dimension_names",
    "storage_transformers",
}
_GROUP_FIELDS = {"zarr_format", "node_type", "attributes", "consolidated_metadata"}
_REQUIRED = ("shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs")


def parse_extensions(data: dict[str, JSON], known: set[str], *, key: str | None) -> dict[str, JSON]:
    """Unknown top-level fields: kept if ``must_understand: false``, refused otherwise."""
    extra: dict[str, JSON] = {}
    for name, value in data.items():
        if name in known:
            continue
        if isinstance(value, dict) and value.get("must_understand") is False:
            extra[name] = value
        else:
            raise UnsupportedExtensionError(
                "unknown extension field without 'must_understand: false'", key=key, field=name
            )
    return extra


def _check_header(data: dict[str, JSON], node_type: str, *, key: str | None) -> None:
    if require(data, "zarr_format", key=key) != 3:
        raise MetadataError(
            f"expected 3, got {data['zarr_format']!r}", key=key, field="zarr_format"
        )
    if require(data, "node_type", key=key) != node_type:
        raise MetadataError(
            f"expected {node_type!r}, got {data['node_type']!r}", key=key, field="node_type"
        )


def parse_chunk_grid(data: JSON, *, key: str | None) -> ChunkGrid:
    """The chunk grid of a v3 array: ``regular``, or ``rectilinear`` (``kind: inline``, chunk
    lengths per dimension with ``[length, count]`` runs)."""
    name = data.get("name") if isinstance(data, dict) else None
    if name not in ("regular", "rectilinear"):
        raise UnsupportedExtensionError(
            f"unsupported chunk grid {data!r}; supported: regular, rectilinear",
            key=key,
            field="chunk_grid",
        )
    config = data.get("configuration")
    if not isinstance(config, dict):
        raise MetadataError("configuration is missing", key=key, field="chunk_grid")
    if name == "rectilinear":
        if config.get("kind") != "inline":
            raise UnsupportedExtensionError(
                f"unsupported rectilinear kind {config.get('kind')!r}; supported: inline",
                key=key,
                field="chunk_grid.kind",
            )
        return RectilinearChunkGrid.from_sizes(config.get("chunk_shapes"), key=key)
    return RegularChunkGrid(chunk_shape=require(config, "chunk_shape", key=key))


def parse_codecs(data: JSON, *, key: str | None = None) -> tuple[dict[str, JSON], ...]:
    """The ``codecs`` list: named objects (strings are short for ``{"name": ...}``)."""
    if not isinstance(data, list | tuple) or not data:
        raise MetadataError(f"expected a non-empty list, got {data!r}", key=key, field="codecs")
    codecs = []
    for item in data:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise MetadataError(f"invalid codec entry {item!r}", key=key, field="codecs")
        codecs.append(item)
    return tuple(codecs)


def parse_dimension_names(
    data: JSON, ndim: int, *, key: str | None = None
) -> tuple[str | None, ...] | None:
    """``None`` or one name (or null) per dimension."""
    if data is None:
        return None
    if not isinstance(data, list | tuple) or len(data) != ndim:
        raise MetadataError(
            f"expected {ndim} names, got {data!r}", key=key, field="dimension_names"
        )
    if not all(name is None or isinstance(name, str) for name in data):
        raise MetadataError(
            f"names must be strings or null, got {data!r}", key=key, field="dimension_names"
        )
    return tuple(data)


def _sharding(codecs: tuple[dict[str, JSON], ...]) -> dict[str, JSON] | None:
    """The configuration of a sharded array's codec, else ``None``."""
    first = codecs[0]
    if first.get("name") == "sharding_indexed" and len(codecs) == 1:
        config = first.get("configuration")
        return config if isinstance(config, dict) else None
    return None


def _inner_chunk_shape(codecs: tuple[dict[str, JSON], ...]) -> tuple[int, ...] | None:
    """A sharded array's inner chunk shape, when its codecs give a well-formed one (the
    sharding codec checks it in full)."""
    shape = (_sharding(codecs) or {}).get("chunk_shape")
    if isinstance(shape, list | tuple) and all(type(n) is int and n > 0 for n in shape):
        return tuple(shape)
    return None


def _check_tiled(grid: RectilinearChunkGrid, inner: tuple[int, ...]) -> None:
    """Refuse rectilinear shards that the inner chunks do not tile (the sharding spec:
    inner chunks evenly divide each shard)."""
    misfit = grid.misfit(inner)
    if misfit is not None:
        axis, length = misfit
        raise MetadataError(
            f"rectilinear shard length {length} along dimension {axis} is not a multiple "
            f"of the inner chunk length {inner[axis]}",
            field="chunk_grid",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayMetadataV3(ArrayNames, DocumentNames):
    """The content of an array's ``zarr.json``, valid however it was built: the constructor
    checks every field (``from_json`` only turns JSON into the fields' types), so
    ``create_array`` and ``open_array`` accept exactly the same arrays. Codecs are checked
    against the data type where they are built (:class:`~zarrkit.codecs.CodecPipeline`).
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunk_grid: ChunkGrid
    chunk_key_encoding: ChunkKeyEncoding
    fill_value: Any
    codecs: tuple[dict[str, JSON], ...]
    attributes: dict[str, JSON] = field(default_factory=dict)
    dimension_names: tuple[str | None, ...] | None = None
    extra_fields: dict[str, JSON] = field(default_factory=dict)

    zarr_format: ClassVar[int] = 3
    order: ClassVar[str] = "C"

    def __post_init__(self) -> None:
        shape = parse_shape(self.shape, field="shape")
        check_dtype_v3(self.dtype)
        codecs = parse_codecs(self.codecs)
        # a rectilinear grid grows with its array (resize, append): one more chunk (one
        # more shard, a multiple of the inner chunks, when sharded)
        inner = _inner_chunk_shape(codecs)
        grid = self.chunk_grid.resized(shape, inner)
        grid.validate(shape, field="chunk_grid.chunk_shape")
        if isinstance(grid, RectilinearChunkGrid) and inner and len(inner) == len(shape):
            _check_tiled(grid, inner)
        check_byte_count(shape, self.dtype.itemsize, field="shape")
        check_byte_count(grid.chunk_shape, self.dtype.itemsize, field="chunk_grid")
        check_fill_value(self.fill_value, self.dtype)
        names = parse_dimension_names(self.dimension_names, len(shape))
        attributes = parse_attributes(self.attributes)
        for name, value in (
            ("shape", shape),
            ("chunk_grid", grid),
            ("codecs", codecs),
            ("dimension_names", names),
            ("attributes", attributes),
        ):
            object.__setattr__(self, name, value)

    @property
    def data_type(self) -> ZDType:
        """The data type as zarr-python's data type object (:mod:`zarrkit.dtype`)."""
        return zdtype_of(self.dtype)

    @property
    def chunks(self) -> tuple[int, ...]:
        """The read/write chunk shape: the inner chunk shape of a sharded array."""
        sharding = self._sharding()
        return tuple(sharding["chunk_shape"]) if sharding else self.chunk_grid.chunk_shape

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape when the array is sharded, else ``None``."""
        return self.chunk_grid.chunk_shape if self._sharding() else None

    @property
    def inner_codecs(self) -> tuple[dict[str, JSON], ...]:
        """The codecs of a (read/write) chunk: a sharded array's inner chunks'."""
        sharding = self._sharding()
        return tuple(sharding["codecs"]) if sharding else self.codecs

    @property
    def storage_transformers(self) -> tuple[dict[str, JSON], ...]:
        """None is supported (reading an array with some raises), so always empty."""
        return ()

    def _sharding(self) -> dict[str, JSON] | None:
        return _sharding(self.codecs)

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of chunk ``coords``, relative to the array."""
        return str(self.chunk_key_encoding.encode(coords))

    @classmethod
    def from_json(cls, data: dict[str, JSON], *, key: str | None = None) -> ArrayMetadataV3:
        """The metadata of a parsed ``zarr.json``; every problem raises MetadataError naming
        the document and the field."""
        _check_header(data, "array", key=key)
        extra = parse_extensions(data, _ARRAY_FIELDS, key=key)
        transformers = data.get("storage_transformers", [])
        if transformers:
            raise UnsupportedExtensionError(
                f"unsupported storage transformers {transformers!r}",
                key=key,
                field="storage_transformers",
            )
        fields = {name: require(data, name, key=key) for name in _REQUIRED}
        with located(key):
            dtype = parse_dtype_v3(fields["data_type"])
            return cls(
                shape=fields["shape"],
                dtype=dtype,
                chunk_grid=parse_chunk_grid(fields["chunk_grid"], key=key),
                chunk_key_encoding=parse_chunk_key_encoding(fields["chunk_key_encoding"]),
                fill_value=parse_fill_value(fields["fill_value"], dtype),
                codecs=fields["codecs"],
                attributes=data.get("attributes", {}),
                dimension_names=data.get("dimension_names"),
                extra_fields=extra,
            )

    def to_json(self) -> dict[str, JSON]:
        """The ``zarr.json`` object, fields in zarr-python's order."""
        doc: dict[str, JSON] = {
            "shape": list(self.shape),
            "data_type": dtype_to_v3(self.dtype),
            "chunk_grid": self.chunk_grid.to_json(),
            "chunk_key_encoding": self.chunk_key_encoding.to_json(),
            "fill_value": fill_value_to_json(self.fill_value, self.dtype),
            "codecs": list(self.codecs),
            "attributes": self.attributes,
        }
        if self.dimension_names is not None:
            doc["dimension_names"] = list(self.dimension_names)
        doc |= {"zarr_format": 3, "node_type": "array", "storage_transformers": []}
        return doc | self.extra_fields


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMetadataV3(DocumentNames):
    """The content of a group's ``zarr.json``.

    ``consolidation_json`` is the consolidated metadata stored in it, as read (validated
    when a group is served from it); ``consolidated_metadata`` is zarr-python's view of the
    consolidation the group is served from (this group's or one above it), else ``None``.
    """

    attributes: dict[str, JSON] = field(default_factory=dict)
    consolidated_metadata: ConsolidatedMetadata | None = None
    consolidation_json: dict[str, JSON] | None = field(default=None, repr=False)
    extra_fields: dict[str, JSON] = field(default_factory=dict)

    zarr_format: ClassVar[int] = 3
    node_type: ClassVar[str] = "group"

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", parse_attributes(self.attributes))
        consolidated = self.consolidation_json
        if consolidated is not None and not isinstance(consolidated, dict):
            raise MetadataError(
                f"expected an object, got {consolidated!r}", field="consolidated_metadata"
            )

    @classmethod
    def from_json(cls, data: dict[str, JSON], *, key: str | None = None) -> GroupMetadataV3:
        _check_header(data, "group", key=key)
        extra = parse_extensions(data, _GROUP_FIELDS, key=key)
        with located(key):
            return cls(
                attributes=data.get("attributes", {}),
                consolidation_json=data.get("consolidated_metadata"),
                extra_fields=extra,
            )

    def to_json(self) -> dict[str, JSON]:
        doc: dict[str, JSON] = {
            "attributes": self.attributes,
            "zarr_format": 3,
            "node_type": "group",
        }
        if self.consolidation_json is not None:
            doc["consolidated_metadata"] = self.consolidation_json
        return doc | self.extra_fields
