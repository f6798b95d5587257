"""What each store handle knows of consolidated metadata, process-wide.

Per store object: the consolidations seen (kept current by zarrkit's own writes, see
:mod:`zarrkit.nodes.consolidated_writes`) and the groups known to hold none, so a write does not
probe them again. A consolidation made anywhere in this process makes every handle forget
the groups it knew to hold none (one made by another process is found by
:func:`zarrkit.nodes.consolidated.check`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from zarrkit.metadata.consolidated import Consolidated
from zarrkit.storage.base import Store


@dataclass
class Handle:
    """Per store handle: the consolidations seen, by group path, and the ``(zarr_format,
    path)`` of groups known to hold none. Writes through one handle hold ``lock``."""

    generation: int
    lock: threading.RLock = field(default_factory=threading.RLock)
    views: dict[str, Consolidated] = field(default_factory=dict)
    absent: set[tuple[int, str]] = field(default_factory=set)


_handles: weakref.WeakKeyDictionary[Store, Handle] = weakref.WeakKeyDictionary()
_handles_lock = threading.Lock()
# Bumped whenever zarrkit consolidates anywhere in this process, so that no handle trusts
# an earlier "no consolidation here".
_generation = 0


def handle(store: Store) -> Handle:
    """What ``store`` (this object) knows."""
    with _handles_lock:
        found = _handles.get(store)
        if found is None:
            found = _handles[store] = Handle(generation=_generation)
        elif found.generation != _generation:
            found.absent.clear()
            found.generation = _generation
        return found


def consolidated_somewhere() -> None:
    """Record that a consolidation was written: no handle may trust what it knew absent."""
    global _generation
    with _handles_lock:
        _generation += 1
