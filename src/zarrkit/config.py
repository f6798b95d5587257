"""Runtime settings: threads for decoding, defaults for new arrays.

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

_settings: dict[str, Any] = {
    # Codec libraries release the GIL, so one decoding thread per core is the sweet spot.
    "threads": max(os.cpu_count() or 1, 1),
    # Like zarr-python 3: chunks equal to the fill value everywhere are not stored.
    "write_empty_chunks": False,
}
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
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


def pool() -> ThreadPoolExecutor:
    """The shared thread pool chunk decoding and encoding run on."""
    global _pool, _pool_size
    threads = get("threads")
    with _lock:
        if _pool is None or _pool_size != threads:
            _pool = ThreadPoolExecutor(threads, thread_name_prefix="zarrkit")
            _pool_size = threads
        return _pool
