"""Runtime settings: threads for decoding, defaults for new arrays, and ceilings.

The ceilings bound what untrusted metadata and stored chunks can make zarrkit allocate or
wait for; going over one raises :class:`~zarrkit.errors.ResourceLimitError` naming it.

Examples
--------
>>> from zarrkit import config
>>> with config.set(threads=1):
...     config.get("threads")
1
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from zarrkit.errors import ResourceLimitError
from zarrkit.telemetry import ObservedPool

_settings: dict[str, Any] = {
    # Workers for chunk I/O and codecs. Codec libraries and file I/O release the GIL, and a
    # worker waits on the file system as often as it decodes, so more workers than cores
    # pay off: atomic file writes cost ~0.25 ms each here, overlapped 8-wide.
    "threads": max(8, os.cpu_count() or 1),
    # Reads: one worker per core. Cached file reads are cheap, so a read is bound by
    # decoding and by per-chunk Python work, and extra workers only contend for the GIL
    # (measured: 4096 small chunks read in 0.056 s with 1 worker, 0.107 s with 8).
    "read_threads": os.cpu_count() or 1,
    # Requests in flight when a layer fans out network or shard reads by itself.
    "io_threads": 32,
    # Like zarr-python 3: chunks equal to the fill value everywhere are not stored.
    "write_empty_chunks": False,
    # zarr-python's key: False makes reading a chunk that is not stored raise
    # ChunkNotFoundError instead of giving the fill value (for arrays opened afterwards
    # without their own read_missing_chunks=).
    "array.read_missing_chunks": True,
    # --- limits ---------------------------------------------------------------------------
    # Bytes of one decoded chunk (an inner chunk for sharded arrays): Blosc's own ceiling is
    # 2 GiB, and a size header is never trusted beyond this.
    "max_chunk_bytes": 2**31,
    # Bytes of one metadata document (zarr.json, .zarray ...), checked before parsing.
    "max_document_bytes": 64 * 2**20,
    # Dimensions of an array.
    "max_rank": 64,
    # Seconds a write waits for the lock of a chunk or shard another writer holds (None:
    # no limit). A lock whose holder died is released by the OS at once.
    "lock_timeout": 600.0,
}
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_lock = threading.Lock()


def get(name: str) -> Any:
    """The current value of setting ``name``."""
    if name not in _settings:
        raise KeyError(f"unknown setting {name!r}; known: {', '.join(sorted(_settings))}")
    return _settings[name]


@contextmanager
def set(settings: Mapping[str, Any] | None = None, /, **values: Any) -> Iterator[None]:
    """Change settings inside a ``with`` block (process-wide): given as a dict (dotted
    names such as ``{"array.read_missing_chunks": False}``) and/or as keywords."""
    values = {**(settings or {}), **values}
    for name in values:
        get(name)
    old = {name: _settings[name] for name in values}
    _settings.update(values)
    try:
        yield
    finally:
        _settings.update(old)


def check_limit(name: str, value: int, what: str) -> None:
    """Raise :class:`ResourceLimitError` when ``value`` (the size of ``what``) is over the
    ceiling setting ``name``, saying how to raise it."""
    limit = get(name)
    if value > limit:
        raise ResourceLimitError(
            f"{what} is {value}, over the {name} limit of {limit}; raise it with "
            f"`with zarrkit.config.set({name}=...)`"
        )


def pool(kind: str = "threads") -> ThreadPoolExecutor:
    """The shared pool of ``kind``: "threads" (chunk I/O and codecs) or "io_threads"
    (requests a layer fans out itself). Two pools, so a task on one may wait on the other.
    Tasks carry the submitter's telemetry span while anyone subscribes."""
    size = get(kind)
    with _lock:
        current = _pools.get(kind)
        if current is None or current[0] != size:
            if current is not None:
                current[1].shutdown(wait=False)  # running tasks finish; no new ones start
            current = (size, ObservedPool(size, thread_name_prefix=f"zarrkit-{kind}"))
            _pools[kind] = current
        return current[1]
