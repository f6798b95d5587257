"""An array's runtime settings (``config=`` of zarr-python's creation and open functions):
the memory order reads return, whether chunks equal to the fill value are stored, and
whether reading a chunk that is not stored gives the fill value or raises.

None is stored in a v3 array's metadata: they belong to one opened array object, with
the global settings ``array.order``, ``array.write_empty_chunks`` and
``array.read_missing_chunks`` as defaults. The
older keyword arguments ``write_empty_chunks=`` and (v3) ``order=`` warn as they do in
zarr-python; ``write_empty_chunks=`` still takes effect, ``order=`` does not on v3.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from zarrkit import config
from zarrkit.errors import MetadataError, ZarrRuntimeWarning

MemoryOrder = Literal["C", "F"]


@dataclass(frozen=True, slots=True)
class ArrayConfig:
    """Settings of one opened array (zarr-python's ``ArrayConfig``).

    Examples
    --------
    >>> ArrayConfig.from_like({"order": "F"})
    ArrayConfig(order='F', write_empty_chunks=False)
    >>> ArrayConfig("C", False, read_missing_chunks=False)
    ArrayConfig(order='C', write_empty_chunks=False, read_missing_chunks=False)
    """

    order: MemoryOrder
    write_empty_chunks: bool
    read_missing_chunks: bool = True

    def __repr__(self) -> str:
        """zarr-python's repr; ``read_missing_chunks`` (zarrkit's) only when not default."""
        extra = "" if self.read_missing_chunks else ", read_missing_chunks=False"
        return (
            f"ArrayConfig(order={self.order!r}, write_empty_chunks={self.write_empty_chunks!r}"
            f"{extra})"
        )

    def __post_init__(self) -> None:
        if self.order not in ("C", "F"):
            raise MetadataError(f"order must be 'C' or 'F', got {self.order!r}", field="order")
        for name in _SWITCHES:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise MetadataError(f"{name} must be True or False, got {value!r}", field=name)

    @classmethod
    def from_like(cls, data: ArrayConfig | Mapping[str, Any] | None) -> ArrayConfig:
        """An ArrayConfig from another, or a dict of some of its fields (the others from
        global settings ``array.<field>``)."""
        if isinstance(data, ArrayConfig):
            return data
        given = dict(data or {})
        unknown = sorted(set(given) - set(_FIELDS))
        if unknown:
            expected = ", ".join(map(repr, _FIELDS))
            raise MetadataError(
                f"unknown array config keys {unknown}; expected {expected}", field="config"
            )
        defaults = {name: config.get(f"array.{name}") for name in _FIELDS}
        return cls(**(defaults | given))

    def merged(self, data: ArrayConfig | Mapping[str, Any]) -> ArrayConfig:
        """This config with the fields ``data`` gives replaced."""
        if isinstance(data, ArrayConfig):
            return data
        return dataclasses.replace(self, **dict(data))


_SWITCHES = ("write_empty_chunks", "read_missing_chunks")
_FIELDS = ("order", *_SWITCHES)


def array_config(
    data: ArrayConfig | Mapping[str, Any] | None,
    *,
    write_empty_chunks: bool | None = None,
    order: MemoryOrder | None = None,
    zarr_format: int = 3,
    stacklevel: int = 3,
) -> ArrayConfig:
    """The config of an array from ``config=`` and the older keyword arguments, warning as
    zarr-python does: ``write_empty_chunks=`` is deprecated but honoured; ``order=`` is
    the stored order of a v2 array and has no effect on a v3 one (the config's order is)."""
    parsed = ArrayConfig.from_like(data)
    if order not in (None, "C", "F"):
        raise MetadataError(f"order must be 'C' or 'F', got {order!r}", field="order")
    if write_empty_chunks is not None:
        warnings.warn(
            "The `write_empty_chunks` keyword argument is deprecated: pass "
            "`config={'write_empty_chunks': ...}` or set the global "
            "'array.write_empty_chunks' setting (zarrkit.config).",
            ZarrRuntimeWarning,
            stacklevel=stacklevel,
        )
        parsed = dataclasses.replace(parsed, write_empty_chunks=write_empty_chunks)
    if order is not None and zarr_format == 3:
        warnings.warn(
            "The `order` keyword argument has no effect for Zarr format 3 arrays: pass "
            "`config={'order': ...}` or set the global 'array.order' setting "
            "(zarrkit.config) for the memory order of what reads return.",
            ZarrRuntimeWarning,
            stacklevel=stacklevel,
        )
    elif order is not None:
        parsed = dataclasses.replace(parsed, order=order)
    return parsed
