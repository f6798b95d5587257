"""Zarr v2 metadata (``.zarray``, ``.zgroup``; attributes live in ``.zattrs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.errors import MetadataError
from zarrkit.metadata.chunk_grid import RegularChunkGrid
from zarrkit.metadata.chunk_key import V2KeyEncoding
from zarrkit.metadata.common import (
    JSON,
    ArrayNames,
    check_byte_count,
    located,
    parse_attributes,
    parse_shape,
    require,
)

if TYPE_CHECKING:
    from zarrkit.metadata.consolidated import ConsolidatedMetadata
from zarrkit.metadata.dtypes import (
    ZDType,
    check_dtype_v2,
    check_fill_value,
    dtype_to_v2,
    fill_value_to_json,
    parse_dtype_v2,
    parse_fill_value,
    zdtype_of,
)

_ARRAY_FIELDS = {
    "zarr_format",
    "shape",
    "chunks",
    "dtype",
    "compressor",
    "fill_value",
    "order",
    "filters",
    "dimension_separator",
}
_REQUIRED = ("shape", "chunks", "dtype", "fill_value", "compressor")


def _check_format(data: dict[str, JSON], *, key: str | None) -> None:
    if require(data, "zarr_format", key=key) != 2:
        raise MetadataError(
            f"expected 2, got {data['zarr_format']!r}", key=key, field="zarr_format"
        )


def parse_codec_config(data: JSON, *, field: str) -> dict[str, JSON]:
    """A numcodecs config: an object with an ``id``."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise MetadataError(f"expected an object with an 'id', got {data!r}", field=field)
    return data


def parse_filters(data: JSON) -> tuple[dict[str, JSON], ...] | None:
    """``None`` or a list of numcodecs configs."""
    if data is None:
        return None
    if not isinstance(data, list | tuple):
        raise MetadataError(f"expected a list or null, got {data!r}", field="filters")
    return tuple(parse_codec_config(item, field="filters") for item in data)


class _V2Names:
    """zarr-python's JSON round trip of a v2 node: its document with ``attributes``."""

    __slots__ = ()
    attributes: dict[str, JSON]

    if TYPE_CHECKING:

        def to_json(self) -> dict[str, JSON]: ...

        @classmethod
        def from_json(cls, data: dict[str, JSON], attributes: dict[str, JSON] | None) -> Self: ...

    def to_dict(self) -> dict[str, JSON]:
        return {**self.to_json(), "attributes": self.attributes}

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        document = {k: v for k, v in data.items() if k != "attributes"}
        return cls.from_json(document, data.get("attributes"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayMetadataV2(ArrayNames, _V2Names):
    """The content of ``.zarray`` plus the attributes from ``.zattrs``, valid however it
    was built: the constructor checks every field (see :class:`~zarrkit.metadata.v3.
    ArrayMetadataV3`)."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    order: Literal["C", "F"] = "C"
    compressor: dict[str, JSON] | None = None
    filters: tuple[dict[str, JSON], ...] | None = None
    dimension_separator: Literal[".", "/"] = "."
    attributes: dict[str, JSON] = field(default_factory=dict)

    zarr_format: ClassVar[int] = 2
    dimension_names: ClassVar[None] = None
    shards: ClassVar[None] = None

    def __post_init__(self) -> None:
        shape = parse_shape(self.shape, field="shape")
        chunks = parse_shape(self.chunks, field="chunks", positive=True)
        RegularChunkGrid(chunk_shape=chunks).validate(shape)
        filters = parse_filters(self.filters)
        check_dtype_v2(self.dtype, filters)
        check_byte_count(shape, self.dtype.itemsize, field="shape")
        check_byte_count(chunks, self.dtype.itemsize, field="chunks")
        if self.order not in ("C", "F"):
            raise MetadataError(f"expected 'C' or 'F', got {self.order!r}", field="order")
        if self.dimension_separator not in (".", "/"):
            raise MetadataError(
                f"expected '.' or '/', got {self.dimension_separator!r}",
                field="dimension_separator",
            )
        check_fill_value(self.fill_value, self.dtype, zarr_format=2)
        compressor = self.compressor
        for name, value in (
            ("shape", shape),
            ("chunks", chunks),
            ("filters", filters),
            (
                "compressor",
                None if compressor is None else parse_codec_config(compressor, field="compressor"),
            ),
            ("attributes", parse_attributes(self.attributes)),
        ):
            object.__setattr__(self, name, value)

    @property
    def chunk_grid(self) -> RegularChunkGrid:
        return RegularChunkGrid(chunk_shape=self.chunks)

    @property
    def chunk_key_encoding(self) -> V2KeyEncoding:
        return V2KeyEncoding(separator=self.dimension_separator)

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of chunk ``coords``, relative to the array."""
        return self.chunk_key_encoding.encode(coords)

    @property
    def data_type(self) -> ZDType:
        """The data type as zarr-python's data type object (:mod:`zarrkit.dtype`)."""
        return zdtype_of(self.dtype)

    @classmethod
    def from_json(
        cls,
        data: dict[str, JSON],
        attributes: dict[str, JSON] | None = None,
        *,
        key: str | None = None,
    ) -> ArrayMetadataV2:
        """The metadata of a parsed ``.zarray``; every problem raises MetadataError naming
        the document and the field."""
        _check_format(data, key=key)
        unknown = sorted(set(data) - _ARRAY_FIELDS)
        if unknown:
            raise MetadataError("unknown field in v2 array metadata", key=key, field=unknown[0])
        fields = {name: require(data, name, key=key) for name in _REQUIRED}
        with located(key):
            filters = parse_filters(data.get("filters"))
            dtype = parse_dtype_v2(fields["dtype"], filters=filters)
            return cls(
                shape=fields["shape"],
                chunks=fields["chunks"],
                dtype=dtype,
                fill_value=parse_fill_value(fields["fill_value"], dtype, zarr_format=2),
                order=data.get("order", "C"),
                compressor=fields["compressor"],
                filters=filters,
                dimension_separator=data.get("dimension_separator", "."),
                attributes=attributes or {},
            )

    def to_json(self) -> dict[str, JSON]:
        """The ``.zarray`` object, fields in zarr-python's order."""
        return {
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "dtype": dtype_to_v2(self.dtype),
            "fill_value": fill_value_to_json(self.fill_value, self.dtype, zarr_format=2),
            "order": self.order,
            "filters": None if self.filters is None else list(self.filters),
            "dimension_separator": self.dimension_separator,
            "compressor": self.compressor,
            "zarr_format": 2,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMetadataV2(_V2Names):
    """A v2 group: ``.zgroup`` plus the attributes from ``.zattrs``; ``consolidated_metadata``
    as for :class:`~zarrkit.metadata.v3.GroupMetadataV3` (from a ``.zmetadata`` document)."""

    attributes: dict[str, JSON] = field(default_factory=dict)
    consolidated_metadata: ConsolidatedMetadata | None = None

    zarr_format: ClassVar[int] = 2
    node_type: ClassVar[str] = "group"

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", parse_attributes(self.attributes))

    @classmethod
    def from_json(
        cls,
        data: dict[str, JSON],
        attributes: dict[str, JSON] | None = None,
        *,
        key: str | None = None,
    ) -> GroupMetadataV2:
        _check_format(data, key=key)
        return cls(attributes=attributes or {})

    def to_json(self) -> dict[str, JSON]:
        return {"zarr_format": 2}
