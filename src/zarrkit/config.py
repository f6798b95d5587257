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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from zarrkit.errors import ResourceLimitError

_settings: dict[str, Any] = {
    # Workers for chunk I/O and codecs. Codec libraries and file I/O release the GIL, and a
    # worker waits on the file system as often as it decodes, so more workers than cores
    # pay off: atomic file writes cost ~0.25 ms each here, overlapped 8-wide.
    "threads": max(8, os.cpu_count() or 1),
    # Reads: one worker per core. Cached file reads are cheap, so a read is bound by
    # decoding and by per-chunk Python work, and extra workers only contend for the GIL
    # (measured: 4096 small chunks read in 0.056 s with 1 worker, 0.107 s with 8).
    "read_threads": os.cpu_count() or 1,
    # Requests in flight at once when a read or write fans out by itself (the shards of a
    # sharded read, the objects of an object store's batch): object stores reward
    # concurrency far beyond the core count, since each request mostly waits on the network.
    "io_threads": 64,
    # Conditional writes that met a concurrent writer are re-read, merged and retried up to
    # this many times (with jittered backoff), then raise ConflictError.
    "conflict_retries": 32,
    # Requests to remote stores (object stores, Redis, PostgreSQL) that fail transiently
    # (5xx, 429, resets, timeouts, bodies cut short) are tried again, up to this many tries
    # in all, none starting later than retry_deadline seconds after the first (see
    # zarrkit.retry). Backoff before retry n: a uniform draw from [0, min(retry_max_backoff,
    # retry_backoff * retry_multiplier**(n-1))) seconds. Each can be set per store in
    # storage_options. Ten tries: at 30% of requests failing, one request in 170 000
    # still fails. A small first backoff that grows fast: a read of a thousand chunks
    # waits for its slowest request, so the first retries must be quick (measured: an
    # unsharded window read under 10% faults cost +47% with 50 ms, +0-16% with 10-20 ms),
    # while lasting throttling still spreads the tries over ~9 s (ceilings 0.01, 0.03,
    # 0.09 ... 5 s).
    "retry_attempts": 10,
    "retry_deadline": 60.0,
    "retry_backoff": 0.01,
    "retry_max_backoff": 5.0,
    "retry_multiplier": 3.0,
    # Decoded shard indexes kept (bytes), so that a warm inner-chunk read of an object
    # store is one request; entries are checked against the shard's version on every use.
    "shard_index_cache_bytes": 64 * 2**20,
    # Byte ranges of one shard closer than this are fetched in one request: the bytes in
    # between cost less than another round trip.
    "coalesce_gap": 256 * 2**10,
    # A cold shard read fetches this much beyond the index in the same request, so the
    # inner chunks beside the index (or a whole small shard) come with it.
    "shard_read_ahead": 64 * 2**10,
    # Like zarr-python 3: chunks equal to the fill value everywhere are not stored.
    "write_empty_chunks": False,
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
def set(**values: Any) -> Iterator[None]:
    """Change settings inside a ``with`` block (process-wide)."""
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


#: The shared pools and the setting that sizes each.
_POOL_SIZES = {"threads": "threads", "io_threads": "io_threads", "requests": "io_threads"}


def pool(kind: str = "threads") -> ThreadPoolExecutor:
    """The shared pool of ``kind``: "threads" (chunk I/O and codecs), "io_threads" (the
    per-object tasks a layer fans out, such as the shards of a read) or "requests" (the
    single requests a store fans out). Separate pools, so a task on one may wait on the
    next."""
    size = get(_POOL_SIZES[kind])
    with _lock:
        current = _pools.get(kind)
        if current is None or current[0] != size:
            if current is not None:
                current[1].shutdown(wait=False)  # running tasks finish; no new ones start
            current = (size, ThreadPoolExecutor(size, thread_name_prefix=f"zarrkit-{kind}"))
            _pools[kind] = current
        return current[1]
