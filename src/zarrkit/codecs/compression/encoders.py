"""Compression formats as encoders of ``encoders.c``, for the compiled loop that copies
whole chunks out of the array being written, encodes them and writes them to files
(:mod:`zarrkit.engine.direct_writes`).

Each encoder calls numcodecs' own library function (its blosc and zstd modules export
them) with the settings numcodecs' ``encode`` uses, so its bytes are numcodecs'
(zarr-python's): blosc 1's ``blosc_compress_ctx`` on the calling thread, libzstd's
``ZSTD_compress2`` on a context each thread keeps with the level and checksum flag set (where
numcodecs makes one per chunk). Where ``_encoders.so`` was not built, or numcodecs' modules do
not export the functions, there are no encoders and chunks are encoded in Python.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any

import numcodecs.blosc
import numcodecs.zstd

from zarrkit.compiled import address, load

_LIB = load(__file__, "_encoders.so", "zarrkit_blosc_encode")

# numcodecs' blosc shuffles (AUTOSHUFFLE: bit-shuffle single bytes, else byte-shuffle)
_AUTOSHUFFLE, _SHUFFLE, _BITSHUFFLE = -1, 1, 2
_BLOSC_OVERHEAD = 16  # BLOSC_MAX_OVERHEAD: numcodecs' room for a chunk stored uncompressed
_ZSTD_LEVEL, _ZSTD_CHECKSUM = 100, 201  # ZSTD_c_compressionLevel, ZSTD_c_checksumFlag
_OLDEST_ZSTD = 10400  # ZSTD_compress2 and ZSTD_CCtx_setParameter: libzstd 1.4.0


class _BloscSettings(ctypes.Structure):
    """``struct blosc_encoder`` of ``encoders.c``."""

    _fields_ = [
        ("compress", ctypes.c_void_p),
        ("clevel", ctypes.c_int),
        ("shuffle", ctypes.c_int),
        ("typesize", ctypes.c_size_t),
        ("cname", ctypes.c_char_p),
        ("blocksize", ctypes.c_size_t),
    ]


class _ZstdSettings(ctypes.Structure):
    """``struct zstd_encoder`` of ``encoders.c``."""

    _fields_ = [
        ("compress", ctypes.c_void_p),
        ("is_error", ctypes.c_void_p),
        ("cctx", ctypes.c_void_p),
    ]


@dataclass(frozen=True, slots=True)
class Encoder:
    """A function of ``encoders.c`` and the settings it encodes a chunk with (a
    :class:`zarrkit.types.Encoder`); :data:`STORED` encodes nothing."""

    #: The address of the function (0: none, chunks are stored as they are).
    function: int
    #: The settings, the same for every thread (blosc); None: none, or each thread's own
    #: (zstd's, made for ``codec``).
    settings: ctypes.Structure | None = None
    #: The numcodecs codec whose settings each thread makes (zstd), or None.
    codec: Any = None

    def context(self) -> ctypes.Structure | None:
        """The settings for this thread."""
        return self.settings if self.codec is None else _zstd_context(self.codec)

    def capacity(self, nbytes: int) -> int:
        """The room the encoding of ``nbytes`` bytes may need."""
        if not self.function:
            return 0
        if self.codec is None:
            return nbytes + _BLOSC_OVERHEAD
        assert _ZSTD is not None
        return int(_ZSTD.ZSTD_compressBound(nbytes))


#: Chunks stored as they are (no bytes-to-bytes codec).
STORED = Encoder(0)


def _blosc_function() -> int | None:
    try:
        blosc = ctypes.CDLL(numcodecs.blosc.__file__)
        blosc.blosc_get_version_string.restype = ctypes.c_char_p
        if not blosc.blosc_get_version_string().startswith(b"1."):
            return None  # the settings are c-blosc 1's
        return address(blosc.blosc_compress_ctx)
    except (OSError, AttributeError):
        return None


def _zstd_library() -> ctypes.CDLL | None:
    try:
        libzstd = ctypes.CDLL(numcodecs.zstd.__file__)
        if libzstd.ZSTD_versionNumber() < _OLDEST_ZSTD:
            return None
        libzstd.ZSTD_createCCtx.restype = ctypes.c_void_p
        libzstd.ZSTD_freeCCtx.argtypes = [ctypes.c_void_p]
        libzstd.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        libzstd.ZSTD_CCtx_setParameter.restype = ctypes.c_size_t
        libzstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
        libzstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
        libzstd.ZSTD_compressBound.restype = ctypes.c_size_t
        libzstd.ZSTD_compress2  # noqa: B018 - raises AttributeError where it is missing
    except (OSError, AttributeError):
        return None
    return libzstd


_BLOSC = None if _LIB is None else _blosc_function()
_ZSTD = None if _LIB is None else _zstd_library()


def blosc(codec: Any, typesize: int) -> Encoder | None:
    """The encoder of numcodecs' ``Blosc`` ``codec`` for data whose element size is
    ``typesize`` (where the codec sets none), or None."""
    if _LIB is None or _BLOSC is None or not hasattr(codec, "_typesize"):
        return None  # (numcodecs 0.16 keeps the typesize it was given there, or None)
    typesize = codec._typesize or typesize
    shuffle = codec.shuffle
    if shuffle == _AUTOSHUFFLE:
        shuffle = _BITSHUFFLE if typesize == 1 else _SHUFFLE
    cname = codec.cname.encode() if isinstance(codec.cname, str) else codec.cname
    settings = _BloscSettings(_BLOSC, codec.clevel, shuffle, typesize, cname, codec.blocksize)
    return Encoder(address(_LIB.zarrkit_blosc_encode), settings)


def zstd(codec: Any) -> Encoder | None:
    """The encoder of numcodecs' ``Zstd`` ``codec``, or None."""
    if _LIB is None or _ZSTD is None:
        return None
    return Encoder(address(_LIB.zarrkit_zstd_encode), codec=codec)


_local = threading.local()


class _Context:
    """A thread's compression context with one level and checksum flag, freed with the
    thread's locals (libzstd's contexts are not thread-safe)."""

    def __init__(self, level: int, checksum: bool) -> None:
        assert _ZSTD is not None
        self.address = _ZSTD.ZSTD_createCCtx()
        if not self.address:
            raise MemoryError("libzstd could not create a compression context")
        for parameter, value in ((_ZSTD_LEVEL, level), (_ZSTD_CHECKSUM, int(checksum))):
            if _ZSTD.ZSTD_isError(_ZSTD.ZSTD_CCtx_setParameter(self.address, parameter, value)):
                raise ValueError(f"zstd: cannot set parameter {parameter} to {value}")
        functions = (_ZSTD.ZSTD_compress2, _ZSTD.ZSTD_isError)
        self.settings = _ZstdSettings(*map(address, functions), self.address)

    def __del__(self) -> None:
        if _ZSTD is not None and getattr(self, "address", None):
            _ZSTD.ZSTD_freeCCtx(self.address)


def _zstd_context(codec: Any) -> ctypes.Structure:
    key = (codec.level, bool(codec.checksum))
    contexts: dict[tuple[int, bool], _Context] | None = getattr(_local, "zstd", None)
    if contexts is None:
        contexts = _local.zstd = {}
    context = contexts.get(key)
    if context is None:
        context = contexts[key] = _Context(*key)
    return context.settings
