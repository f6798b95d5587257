"""Printable summaries of arrays and groups (``Array.info``, ``Group.info``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayInfo:
    """The facts ``print(array.info)`` shows, as zarr-python prints them."""

    zarr_format: int
    dtype: str
    #: The Zarr data type as zarr-python shows it (``Float32(endianness='little')``).
    data_type: str
    fill_value: Any
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    order: str
    read_only: bool
    store_type: str
    filters: tuple[Any, ...]
    serializer: Any
    compressors: tuple[Any, ...]
    nbytes: int
    nbytes_stored: int | None = None
    #: Stored objects (shards of a sharded array, else chunks) with data.
    nchunks_initialized: int | None = None
    #: Stored objects in all (not shown; ``zarrkit info --json`` reports it).
    nchunks: int = 0

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs in display order."""
        rows = [
            ("Type", "Array"),
            ("Zarr format", str(self.zarr_format)),
            ("Data type", self.data_type),
            ("Fill value", repr(getattr(self.fill_value, "item", lambda: self.fill_value)())),
            ("Shape", str(self.shape)),
        ]
        if self.shards is not None:
            rows.append(("Shard shape", str(self.shards)))
        rows += [
            ("Chunk shape", str(self.chunks)),
            ("Order", self.order),
            ("Read-only", str(self.read_only)),
            ("Store type", self.store_type),
            ("Filters", repr(self.filters)),
        ]
        if self.serializer is not None:
            rows.append(("Serializer", repr(self.serializer)))
        rows += [("Compressors", repr(self.compressors)), ("No. bytes", _count(self.nbytes))]
        if self.nbytes_stored is not None:
            rows.append(("No. bytes stored", _count(self.nbytes_stored)))
            if self.nbytes_stored:
                rows.append(("Storage ratio", f"{self.nbytes / self.nbytes_stored:.1f}"))
        if self.nchunks_initialized is not None:
            label = "Chunks Initialized" if self.shards is None else "Shards Initialized"
            rows.append((label, str(self.nchunks_initialized)))
        return rows

    def __repr__(self) -> str:
        return "\n".join(f"{label:<19}: {value}" for label, value in self.rows())


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupInfo:
    """The facts ``print(group.info)`` shows, laid out like zarr-python's; the member
    counts (of the whole hierarchy below) only in ``info_complete()``."""

    name: str
    zarr_format: int
    read_only: bool
    store_type: str
    count_members: int | None = None
    count_arrays: int | None = None
    count_groups: int | None = None

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs in display order."""
        rows = [
            ("Name", self.name),
            ("Type", "Group"),
            ("Zarr format", str(self.zarr_format)),
            ("Read-only", str(self.read_only)),
            ("Store type", self.store_type),
        ]
        counts = [
            ("No. members", self.count_members),
            ("No. arrays", self.count_arrays),
            ("No. groups", self.count_groups),
        ]
        return rows + [(label, str(n)) for label, n in counts if n is not None]

    def __repr__(self) -> str:
        return "\n".join(f"{label:<12}: {value}" for label, value in self.rows())


def _count(nbytes: int) -> str:
    """A byte count as zarr-python's ``info`` shows it: ``1000`` under 1 KiB, else
    ``8000 (7.8K)``."""
    if nbytes < 1024:
        return str(nbytes)
    size = nbytes / 1024
    for unit in "KMGT":
        if size < 1024:
            return f"{nbytes} ({size:.1f}{unit})"
        size /= 1024
    return f"{nbytes} ({size:.1f}P)"


def human_bytes(nbytes: int) -> str:
    """``nbytes`` in B, KiB, MiB ... (one decimal)."""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{nbytes} B"
