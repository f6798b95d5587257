"""What zarrkit's compiled loops share: loading one (built beside its module by
``hatch_build.py``, loaded with :mod:`ctypes`), the address of a function, blobs as the
arrays of addresses and sizes the loops read them by, the call of a batch decoding loop,
and the decoders of one chunk that a store's reading loop calls."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zarrkit.types import Blob


def load(beside: str, name: str, function: str) -> ctypes.CDLL | None:
    """The library ``name`` in the folder of the module file ``beside``, with ``function``
    returning an ``int``; None where it was not built (no C compiler, not POSIX)."""
    if os.name != "posix":
        return None
    try:
        library = ctypes.CDLL(str(Path(beside).with_name(name)))
        getattr(library, function).restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return library


def address(function: Any) -> int:
    """The address of a function of a loaded library."""
    return int(ctypes.cast(function, ctypes.c_void_p).value or 0)


@dataclass(frozen=True, slots=True)
class Decoder:
    """A decoder of one chunk of ``decode_batch.c`` (``zarrkit_zstd_decode_one``, ...), as
    a store's loop that decodes files as it reads them calls it (a
    :class:`zarrkit.types.Decoder`); :data:`STORED` decodes nothing."""

    #: The address of the function; 0: chunks are stored as they lie in memory.
    function: int = 0
    #: The library functions it calls (a ``ctypes`` structure), or None.
    api: ctypes.Structure | None = None
    #: Gives the calling thread's context for it (libzstd's), or None: it needs none.
    contexts: Callable[[], ctypes.c_void_p] | None = None

    def context(self) -> ctypes.c_void_p | None:
        """The context for the calling thread, or None."""
        return None if self.contexts is None else self.contexts()


#: Chunks stored as they lie in memory (no bytes-to-bytes codec): read straight into place.
STORED = Decoder()


#: A C array of addresses: ``char *`` (bytes) or ``void *`` (views) a blob.
Addresses = ctypes.Array[ctypes.c_char_p] | ctypes.Array[ctypes.c_void_p]


def blob_pointers(
    blobs: Sequence[Blob | None],
) -> tuple[Addresses, ctypes.Array[ctypes.c_long], list[np.ndarray]]:
    """``(addresses, sizes, keep)``: the address of each blob's first byte (NULL for
    ``None``), each one's size in bytes, and what must stay alive while C reads them. Bytes
    (what encoders and file reads give) cost about 0.2 µs each; views (a shard's inner
    chunks, uncompressed chunks) about 1.4 µs (NumPy finds their addresses)."""
    count = len(blobs)
    sizes = (ctypes.c_long * count)()
    if all(type(blob) is bytes or blob is None for blob in blobs):
        sizes[:] = [0 if blob is None else len(blob) for blob in blobs]
        return (ctypes.c_char_p * count)(*blobs), sizes, []  # type: ignore[misc]
    views = [np.frombuffer(b"" if blob is None else blob, np.uint8) for blob in blobs]
    sizes[:] = [view.size for view in views]
    pointers = (None if b is None else v.ctypes.data for v, b in zip(views, blobs, strict=True))
    return (ctypes.c_void_p * count)(*pointers), sizes, views


def decode_batch(
    function: Any,
    leading: tuple[Any, ...],
    blobs: Sequence[Blob | None],
    out: memoryview,
    nbytes: int,
) -> list[int]:
    """Call a batch decoding loop of ``decode_batch.c``, ``function(*leading, n, sources,
    sizes, out, nbytes, failed)``, decoding each of ``blobs`` (``None``: skipped) into its
    ``nbytes`` of ``out`` (writable, ``len(blobs) * nbytes`` bytes); the indices of those
    it did not decode, for the caller's checked path."""
    assert nbytes > 0 and out.nbytes >= len(blobs) * nbytes
    count = len(blobs)
    sources, sizes, _keep = blob_pointers(blobs)  # _keep: alive through the call
    failed = (ctypes.c_ubyte * count)()
    target = ctypes.byref(ctypes.c_char.from_buffer(out))
    if function(*leading, count, sources, sizes, target, ctypes.c_long(nbytes), failed):
        return [i for i, bad in enumerate(failed) if bad]
    return []
