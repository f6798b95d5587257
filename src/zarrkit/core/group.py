"""``GroupMetadata`` under the path zarr-python's user guide imports it from
(``from zarr.core.group import GroupMetadata``), for :func:`zarrkit.create_hierarchy`."""

from __future__ import annotations

from typing import Any

from zarrkit.errors import MetadataError
from zarrkit.metadata.documents import GroupMetadata as _GroupMetadata
from zarrkit.nodes.creation import group_metadata


def GroupMetadata(
    attributes: dict[str, Any] | None = None,
    zarr_format: int = 3,
    consolidated_metadata: Any = None,
) -> _GroupMetadata:
    """The metadata of a new group (zarrkit's v3 or v2 class), as zarr-python's
    ``GroupMetadata(attributes=, zarr_format=)`` makes it."""
    if consolidated_metadata is not None:
        raise MetadataError(
            "a new group's consolidated metadata is made by zarrkit.consolidate_metadata",
            field="consolidated_metadata",
        )
    return group_metadata(zarr_format, attributes)


__all__ = ["GroupMetadata"]
