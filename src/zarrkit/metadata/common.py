"""Reading and writing metadata documents, and validators shared by v2 and v3."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Self

from zarrkit import config
from zarrkit.errors import MetadataError, ResourceLimitError

JSON = Any


def _no_duplicates(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    result: dict[str, JSON] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate field {name!r}")
        result[name] = value
    return result


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # json reads 1e400 as infinity
        raise ValueError(f"number {text} is too large for a 64-bit float")
    return value


def parse_document(raw: bytes, *, key: str) -> dict[str, JSON]:
    """A JSON object from stored bytes; rejects non-objects, duplicates, numbers no float
    holds, and oversized input."""
    config.check_limit("max_document_bytes", len(raw), f"the size of metadata document {key!r}")
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicates, parse_float=_finite)
    except RecursionError as e:
        raise MetadataError("document is nested too deeply", key=key) from e
    except ValueError as e:
        raise MetadataError(f"not valid JSON: {e}", key=key) from e
    if not isinstance(data, dict):
        raise MetadataError(f"expected a JSON object, got {type(data).__name__}", key=key)
    return data


def dump_document(data: dict[str, JSON]) -> bytes:
    """Bytes of a metadata document, formatted as zarr-python writes it."""
    return json.dumps(data, indent=2, allow_nan=False).encode()


@contextmanager
def located(key: str | None) -> Iterator[None]:
    """Name the document ``key`` in the errors raised inside (by the metadata constructors,
    which do not know where their fields come from)."""
    try:
        yield
    except MetadataError as e:
        if key is None or e.key is not None:
            raise
        raise type(e)(e.detail, key=key, field=e.field) from e
    except ResourceLimitError as e:
        if key is None:
            raise
        raise ResourceLimitError(f"metadata document {key!r}: {e}") from e


def parse_shape(
    data: JSON, *, key: str | None = None, field: str, positive: bool = False
) -> tuple[int, ...]:
    """A tuple of non-negative (or positive) ints below 2**63, at most ``max_rank``."""
    if not isinstance(data, list | tuple):
        raise MetadataError(f"expected a list of integers, got {data!r}", key=key, field=field)
    where = f"{key!r} field {field!r}" if key else f"field {field!r}"
    config.check_limit("max_rank", len(data), f"the number of dimensions in {where}")
    for item in data:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise MetadataError(
                f"expected non-negative integers, got {item!r} in {list(data)!r}",
                key=key,
                field=field,
            )
        if item >= 2**63:
            raise MetadataError(f"{item} does not fit in int64", key=key, field=field)
    return tuple(data)


def parse_attributes(data: JSON, *, key: str | None = None) -> dict[str, JSON]:
    """User attributes: a JSON object."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError(f"expected an object, got {data!r}", key=key, field="attributes")
    return data


def require(data: dict[str, JSON], field: str, *, key: str | None) -> JSON:
    """``data[field]``, or a MetadataError saying it is missing."""
    if field not in data:
        raise MetadataError("required field is missing", key=key, field=field)
    return data[field]


def check_byte_count(
    shape: tuple[int, ...], itemsize: int, *, key: str | None = None, field: str
) -> None:
    """Refuse shapes whose byte count overflows int64."""
    total = itemsize
    for n in shape:
        total *= n
    if total >= 2**63:
        raise MetadataError(
            f"{list(shape)} elements of {itemsize} bytes overflow int64", key=key, field=field
        )


class ArrayNames:
    """zarr-python's names for what both array metadata classes have."""

    __slots__ = ()
    node_type: ClassVar[str] = "array"
    shape: tuple[int, ...]
    attributes: dict[str, JSON]

    if TYPE_CHECKING:

        def chunk_key(self, coords: tuple[int, ...]) -> str: ...

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def encode_chunk_key(self, chunk_coords: tuple[int, ...]) -> str:
        """:meth:`chunk_key`, by zarr-python's name."""
        return self.chunk_key(chunk_coords)

    def update_shape(self, shape: tuple[int, ...]) -> Self:
        """A copy with another shape."""
        return dataclasses.replace(self, shape=tuple(shape))  # type: ignore[type-var]

    def update_attributes(self, attributes: dict[str, JSON]) -> Self:
        """A copy with other attributes."""
        return dataclasses.replace(self, attributes=dict(attributes))  # type: ignore[type-var]


class DocumentNames:
    """zarr-python's names for the JSON round trip of a metadata class."""

    __slots__ = ()

    if TYPE_CHECKING:

        def to_json(self) -> dict[str, JSON]: ...

        @classmethod
        def from_json(cls, data: dict[str, JSON]) -> Self: ...

    def to_dict(self) -> dict[str, JSON]:
        """:meth:`to_json`, by zarr-python's name."""
        return self.to_json()

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        """:meth:`from_json`, by zarr-python's name."""
        return cls.from_json(data)
