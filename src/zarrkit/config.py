"""Runtime settings: threads for decoding, defaults for new arrays, and ceilings.

Used as zarr-python users write it: dotted keys (``config.get("array.order")``), and
``config.set({...})`` (or keywords, ``a__b`` for ``"a.b"``) both as a plain call, which
changes the settings until :func:`reset`, and as a ``with`` block, which restores them at
its end. zarr-python's keys that mean something here are accepted (``async.concurrency``
sets ``io_threads``, ``threading.max_workers`` sets ``threads``); its other keys raise a
``KeyError`` saying so, rather than being stored and ignored.

The ceilings bound what untrusted metadata and stored chunks can make zarrkit allocate or
wait for; going over one raises :class:`~zarrkit.errors.ResourceLimitError` naming it.

Examples
--------
>>> from zarrkit import config
>>> with config.set({"array.order": "F"}, threads=1):
...     config.get("array.order"), config.get("threads")
('F', 1)
>>> config.get("array.order")
'C'
"""

from __future__ import annotations

import os
import pprint as _pprint
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from zarrkit.errors import ResourceLimitError
from zarrkit.telemetry import ObservedPool

DEFAULTS: dict[str, Any] = {
    # Defaults for new arrays, zarr-python's keys: the memory order of the arrays reads
    # return (v3 arrays store no order), and whether chunks equal to the fill value
    # everywhere are stored (like zarr-python 3: not).
    "array.order": "C",
    "array.write_empty_chunks": False,
    # zarr-python's key: False makes reading a chunk that is not stored raise
    # ChunkNotFoundError instead of giving the fill value.
    "array.read_missing_chunks": True,
    # The format of new nodes when a function's zarr_format is left to None.
    "default_zarr_format": 3,
    # Workers for chunk I/O and codecs. Codec libraries and file I/O release the GIL, and
    # while one worker waits on the file system another computes, so one more worker than
    # cores pays off; more only contend for the GIL (measured on 2 cores, writes followed by
    # a sync: W3's 4096 small chunks rewritten in 0.41 s with 4 workers, 0.49 s with 8,
    # which made 36 futex calls a chunk; later, batched zstd, 0.114 s with 3 and 0.122 s
    # with 4 on tmpfs, medians of 16 alternating rewrites, and alike on disk, 0.67 s).
    # Chunks of 64 KiB and more use ``write_threads``.
    "threads": max(3, (os.cpu_count() or 1) + 1),
    # Reads: one worker per core. Cached file reads are cheap, so a read is bound by
    # decoding and by per-chunk Python work, and extra workers only contend for the GIL
    # (measured: 4096 small chunks read in 0.056 s with 1 worker, 0.107 s with 8).
    "read_threads": os.cpu_count() or 1,
    # Writes that encoding bounds (shards, and chunks of 64 KiB and more an entropy coder
    # such as zstd or gzip compresses): one worker per core, since extra workers only
    # contend for the GIL and the caches (measured: W5's sharded write used 3-20% less CPU
    # with 2 workers than with 8, and took 4-25% less time). Other writes use ``threads``:
    # file creates, writes and renames wait on the file system (see
    # ``engine.writing.write_workers`` for the figures).
    "write_threads": os.cpu_count() or 1,
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
    # zarrkit.retry). The first retry goes at once; the backoff before retry n >= 2 is a
    # uniform draw from [0, min(retry_max_backoff, retry_backoff * retry_multiplier**(n-2)))
    # seconds. Each can be set per store in storage_options. Ten tries: at 30% of requests
    # failing, one request in 170 000 still fails. Quick first retries, then fast growth: a
    # read of a thousand chunks waits for its slowest request (measured, window reads under
    # 10% faults, 20 ms per request: +21-23% with a first backoff below 10 ms, +13-14%
    # sharded and +17-19% unsharded retrying at once, then below 10 ms), while lasting
    # throttling still spreads the tries over ~7 s (ceilings 0, 0.01, 0.03 ... 5 s).
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
    # inner chunks beside the index (or a whole small shard) come with it; only on stores
    # whose requests are round trips (native_concurrency: object stores).
    "shard_read_ahead": 64 * 2**10,
    # How compressors encode. "fast": zstd chunks under 128 KiB through one reused
    # python-zstandard context per thread (numcodecs makes a context per chunk: 43 against
    # 26 us per 4 KiB chunk), larger ones through numcodecs (faster there), gzip
    # through isal (9x faster than zlib at level 1, and smaller). "numcodecs": what
    # zarr-python writes with the same numcodecs, byte for byte (gzip: zlib, zero time).
    # Either way every peer reads the chunks: the formats do not fix the bytes. Without the
    # ``fast`` extra (no python-zstandard, no isal), "fast" encodes as "numcodecs" does.
    "encoders": "fast",
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

#: Other names of settings: zarr-python's where they mean the same, and zarrkit's older ones.
ALIASES = {
    "async.concurrency": "io_threads",
    "threading.max_workers": "threads",
    "write_empty_chunks": "array.write_empty_chunks",
}

#: zarr-python settings with no meaning in zarrkit, and why.
UNSUPPORTED = {
    "async.timeout": "zarrkit has no event loop; stores time out by their own settings",
    "array.target_shard_size_bytes": "give shards explicitly",
    "buffer": "zarrkit reads into NumPy arrays only",
    "ndbuffer": "zarrkit reads into NumPy arrays only",
    "codec_pipeline": "zarrkit has one codec pipeline",
    "codecs": "register codecs with zarrkit.registry.codecs",
    "json_indent": "zarrkit writes metadata documents with a fixed indent of 2",
}

_settings: dict[str, Any] = dict(DEFAULTS)
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_lock = threading.Lock()
_MISSING = object()


def _name(key: str) -> str:
    """The canonical name of setting ``key``; raises ``KeyError`` for unknown keys."""
    key = ALIASES.get(key, key)
    if key in _settings:
        return key
    known = ", ".join(sorted({*_settings, *ALIASES}))
    for prefix, reason in UNSUPPORTED.items():
        if key == prefix or key.startswith(prefix + "."):
            raise KeyError(f"zarr-python's setting {key!r} has no effect in zarrkit: {reason}")
    raise KeyError(f"unknown setting {key!r}; known: {known}")


#: Settings that take one of a few words.
_CHOICES = {"encoders": ("fast", "numcodecs")}


def get(key: str, default: Any = _MISSING) -> Any:
    """The current value of setting ``key`` (a dotted name); a prefix such as ``"array"``
    gives its settings as a dict. ``default`` is returned for unknown keys, if given."""
    try:
        return _settings[ALIASES.get(key, key)]
    except KeyError:
        pass
    nested = {k[len(key) + 1 :]: v for k, v in _settings.items() if k.startswith(key + ".")}
    if nested:
        return nested
    if default is not _MISSING:
        return default
    return _settings[_name(key)]  # raises a KeyError saying why


class set:
    """Change settings now; as a ``with`` block, restore them at its end.

    ``config.set({"array.order": "F"})``, ``config.set(threads=4)`` and
    ``config.set(array__order="F")`` are the same kind of change. Every key is checked
    before any is changed. Settings are process-wide.
    """

    def __init__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        changes = {**(values or {}), **{k.replace("__", "."): v for k, v in kwargs.items()}}
        named = {_name(key): _value(_name(key), value) for key, value in changes.items()}
        with _lock:
            self._old = {name: _settings[name] for name in named}
            _settings.update(named)

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with _lock:
            _settings.update(self._old)


def _value(name: str, value: Any) -> Any:
    """``value`` for setting ``name``: ``None`` gives a pool size its default (zarr-python's
    ``threading.max_workers=None``)."""
    if value is None and name in ("threads", "read_threads", "write_threads", "io_threads"):
        return DEFAULTS[name]
    choices = _CHOICES.get(name)
    if choices is not None and value not in choices:
        raise ValueError(f"setting {name!r} takes one of {choices}, got {value!r}")
    return value


def reset() -> None:
    """Every setting back to its default."""
    with _lock:
        _settings.clear()
        _settings.update(DEFAULTS)


def to_dict() -> dict[str, Any]:
    """The settings as a nested dict (``{"array": {"order": "C", ...}, ...}``)."""
    nested: dict[str, Any] = {}
    for key, value in sorted(_settings.items()):
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def pprint(**options: Any) -> None:
    """Print the settings, nested by their dotted names (``options`` as for
    :func:`pprint.pprint`: ``stream``, ``width`` ...)."""
    _pprint.pprint(to_dict(), **options)


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
    next. Tasks carry the submitter's telemetry span while anyone subscribes."""
    size = get(_POOL_SIZES[kind])
    with _lock:
        current = _pools.get(kind)
        if current is None or current[0] != size:
            if current is not None:
                current[1].shutdown(wait=False)  # running tasks finish; no new ones start
            current = (size, ObservedPool(size, thread_name_prefix=f"zarrkit-{kind}"))
            _pools[kind] = current
        return current[1]
