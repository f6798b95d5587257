"""A compiled loop that decodes a batch of zstd chunks in one call, with the GIL released once.

Each chunk decoded from Python costs a call, new bytes, a copy into place and two hand-offs
of the GIL, about a third of the decoding of a 4 KiB chunk, all of it under the GIL that
the other read workers wait for. ``decode_batch.c`` runs the batch's loop in C: each chunk
that is exactly one frame whose header gives the chunk's size is decoded straight into its
place, as strictly as ``ZstdDecompressor.decompress(allow_extra_data=False)`` (truncation,
trailing bytes, a second frame, a wrong content size and a bad checksum fail); the rest
are left to the caller's checked path, which decodes them or names what is wrong.
Measured on W3 (256 chunks of 4 KiB a call, files read by :mod:`zarrkit.storage.native`,
two threads, 15 rounds): 6.5 µs a chunk against 7.6 µs with Python's loop, 12.8 against
14.4 µs of CPU.

The libzstd it calls is numcodecs' (a core dependency, whose zstd module exports
libzstd's functions); ``decode_batch.c`` gets them as pointers, so it builds with a bare C
compiler. Where it was not built, or numcodecs' module does not export them, :data:`LIB` is
``None`` and chunks decode in Python.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence

import numcodecs.zstd

from zarrkit.compiled import Decoder, address, decode_batch, load
from zarrkit.types import Blob

#: libzstd 1.4.0: the functions the loop calls have had these signatures since.
_OLDEST = 10400


class _Api(ctypes.Structure):
    """``struct zstd_api`` of ``decode_batch.c``: the libzstd functions it calls."""

    _fields_ = [
        (name, ctypes.c_void_p) for name in ("decompress", "content_size", "frame_size", "is_error")
    ]


def _load() -> tuple[ctypes.CDLL, ctypes.CDLL, _Api] | None:
    """The compiled loop, numcodecs' libzstd and the functions the loop calls, or None."""
    loop = load(__file__, "_decode_batch.so", "zarrkit_zstd_decode_many")
    if loop is None:
        return None
    try:
        libzstd = ctypes.CDLL(numcodecs.zstd.__file__)
        if libzstd.ZSTD_versionNumber() < _OLDEST:
            return None
        names = ("decompressDCtx", "getFrameContentSize", "findFrameCompressedSize", "isError")
        api = _Api(*(ctypes.cast(getattr(libzstd, f"ZSTD_{n}"), ctypes.c_void_p) for n in names))
        libzstd.ZSTD_createDCtx.restype = ctypes.c_void_p
        libzstd.ZSTD_freeDCtx.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return loop, libzstd, api


_LOADED = _load()
#: The compiled loop, or None where it cannot run (then chunks decode in Python).
LIB: ctypes.CDLL | None = None if _LOADED is None else _LOADED[0]

#: Batches of fewer chunks decode in Python: the call's set-up costs about as much as the
#: Python steps it saves for one chunk (4 KiB, one thread: 9.5 against 8.2 µs a chunk
#: alone, 7.6 against 8.1 in fours, 6.7 against 8.0 in batches of 64).
FEWEST = 4

_local = threading.local()


class _Context:
    """A thread's decompression context (one per thread: libzstd's are not thread-safe),
    freed with the thread's locals."""

    def __init__(self, libzstd: ctypes.CDLL) -> None:
        self.libzstd = libzstd
        self.address = ctypes.c_void_p(libzstd.ZSTD_createDCtx())
        if not self.address.value:
            raise MemoryError("libzstd could not create a decompression context")

    def __del__(self) -> None:
        self.libzstd.ZSTD_freeDCtx(self.address)


def decode_many(blobs: Sequence[Blob | None], out: memoryview, nbytes: int) -> list[int]:
    """Decode each of ``blobs`` (``None``: skipped) into its ``nbytes`` of ``out`` (writable,
    ``len(blobs) * nbytes`` bytes); return the indices of those the strict loop did not
    decode, for the caller's checked path. Needs :data:`LIB`."""
    assert _LOADED is not None
    loop, _, api = _LOADED
    leading = (ctypes.byref(api), _context())
    return decode_batch(loop.zarrkit_zstd_decode_many, leading, blobs, out, nbytes)


def _context() -> ctypes.c_void_p:
    """The calling thread's decompression context."""
    assert _LOADED is not None
    context = getattr(_local, "context", None)
    if context is None:
        context = _local.context = _Context(_LOADED[1])
    return context.address


_DECODER = (
    None
    if _LOADED is None
    else Decoder(address(_LOADED[0].zarrkit_zstd_decode_one), _LOADED[2], _context)
)


def decoder() -> Decoder | None:
    """The loop's decoder of one chunk, for a store's loop that decodes files as it reads
    them (as strict as :func:`decode_many`), or None where :data:`LIB` is (cannot run)."""
    return None if LIB is None else _DECODER
