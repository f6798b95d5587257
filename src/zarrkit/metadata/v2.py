"""Zarr v2 metadata (``.zarray``, ``.zgroup``; attributes live in ``.zattrs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.errors import MetadataError
from zarrkit.metadata.chunk_grid import RegularChunkGrid
from zarrkit.metadata.chunk_key import V2KeyEncoding
from zarrkit.metadata.common import JSON, ArrayNames, check_byte_count, parse_shape, require

if TYPE_CHECKING:
    from zarrkit.metadata.consolidated import ConsolidatedMetadata
from zarrkit.metadata.dtypes import (
    ZDType,
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


def _check_format(data: dict[str, JSON], *, key: str | None) -> None:
    if require(data, "zarr_format", key=key) != 2:
        raise MetadataError(
            f"expected 2, got {data['zarr_format']!r}", key=key, field="zarr_format"
        )


def _parse_codec_config(data: JSON, *, key: str | None, field: str) -> dict[str, JSON]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise MetadataError(f"expected an object with an 'id', got {data!r}", key=key, field=field)
    return data


def parse_filters(data: JSON, *, key: str | None) -> tuple[dict[str, JSON], ...] | None:
    """``None`` or a list of numcodecs configs."""
    if data is None:
        return None
    if not isinstance(data, list):
        raise MetadataError(f"expected a list or null, got {data!r}", key=key, field="filters")
    return tuple(_parse_codec_config(item, key=key, field="filters") for item in data)


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
    """The content of ``.zarray`` plus the attributes from ``.zattrs``."""

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
        """Validate a parsed ``.zarray``; every problem raises MetadataError naming it."""
        _check_format(data, key=key)
        unknown = sorted(set(data) - _ARRAY_FIELDS)
        if unknown:
            raise MetadataError("unknown field in v2 array metadata", key=key, field=unknown[0])
        shape = parse_shape(require(data, "shape", key=key), key=key, field="shape")
        chunks = parse_shape(require(data, "chunks", key=key), key=key, field="chunks")
        RegularChunkGrid(chunk_shape=chunks).validate(shape, key=key)
        filters = parse_filters(data.get("filters"), key=key)
        dtype = parse_dtype_v2(require(data, "dtype", key=key), key=key, filters=filters)
        check_byte_count(shape, dtype.itemsize, key=key, field="shape")
        check_byte_count(chunks, dtype.itemsize, key=key, field="chunks")
        order = data.get("order", "C")
        if order not in ("C", "F"):
            raise MetadataError(f"expected 'C' or 'F', got {order!r}", key=key, field="order")
        separator = data.get("dimension_separator", ".")
        if separator not in (".", "/"):
            raise MetadataError(
                f"expected '.' or '/', got {separator!r}", key=key, field="dimension_separator"
            )
        compressor = require(data, "compressor", key=key)
        return cls(
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            fill_value=parse_fill_value(
                require(data, "fill_value", key=key), dtype, key=key, zarr_format=2
            ),
            order=order,
            compressor=None
            if compressor is None
            else _parse_codec_config(compressor, key=key, field="compressor"),
            filters=filters,
            dimension_separator=separator,
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
