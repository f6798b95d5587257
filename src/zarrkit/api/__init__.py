"""The public functions: zarr-python 3's names and signatures (:mod:`.synchronous`)."""

from __future__ import annotations

from zarrkit.api.synchronous import (
    array,
    consolidate_metadata,
    create,
    create_array,
    create_group,
    empty,
    empty_like,
    full,
    full_like,
    group,
    ones,
    ones_like,
    open,
    open_array,
    open_consolidated,
    open_group,
    zeros,
    zeros_like,
)

__all__ = [
    "array",
    "consolidate_metadata",
    "create",
    "create_array",
    "create_group",
    "empty",
    "empty_like",
    "full",
    "full_like",
    "group",
    "ones",
    "ones_like",
    "open",
    "open_array",
    "open_consolidated",
    "open_group",
    "zeros",
    "zeros_like",
]
