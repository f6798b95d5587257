"""Compiled loops that read, and write, many files in one call, with the GIL released once.

Python's ``os.open``, ``os.read`` and ``os.close`` each release and take back the GIL.
With two read workers those hand-offs, not the system calls, are what a read of many
small chunks waits for. Measured on W3 (4096 zstd chunks of 4 KiB, two workers, 11 reads
four times): 8.5-11.5 µs a chunk with this loop against 11.1-15.6 µs with Python's, with
98-384 voluntary context switches a read against 777-1355.

Writes hand the GIL over four times a file (``os.open``, ``os.write``, ``os.close``,
``os.replace``). ``writefiles.c`` writes a batch, each file to a new temporary file renamed
over its path, as Python's loop does. Measured, in one process, the two loops alternating
(9 rewrites each, after the array was written once): W3's rewrite (4096 zstd chunks of 4
KiB) 0.433 against 0.481 s with 0.563 against 0.629 s of CPU (a prototype), then 0.994
against 1.058 s and 1.196 against 1.248 s (as built, the machine slower by then); W2b's
fresh writes (256 chunks of 512 KiB, batches of 8) within 5% either way.

Whole chunks of an array being written go further (:func:`encode_files`, called by
:meth:`~zarrkit.storage.LocalStore.set_encoded`): the loop copies each chunk out of the
array, encodes it with numcodecs' library (through an encoder of
``zarrkit/codecs/compression/encoders.c``) and writes its file, so a chunk costs no Python
work, no new bytes and no hand-off of the GIL (see :mod:`zarrkit.engine.direct_writes`).

Whole chunks of a read go further too (:func:`read_decoded`, called by
:meth:`~zarrkit.storage.LocalStore.get_decoded`): the loop decodes each file as it reads it,
with a decoder of ``zarrkit/codecs/compression/decode_batch.c``, straight into its place in
a box of chunks, or reads it straight there where chunks are stored as they are (see
:func:`zarrkit.engine.boxes.read_box`). Measured in one process, alternating with the
batch reads and decodes it replaces (medians of 21-41 full reads): W3 (4096 zstd chunks of
4 KiB) 34.3 against 39.9 ms, W3b (blosc) 23.1 against 27.4 ms, W1 (256 zstd chunks of 512
KiB) 102 against 121 ms, W2n (uncompressed) 27.6 against 39.2 ms.

``readfiles.c`` and ``writefiles.c`` are compiled into ``_readfiles.so`` and
``_writefiles.so`` by the package's build (``hatch_build.py``, with the machine's C
compiler) and loaded with :mod:`ctypes`, which releases the GIL for the call. Where one was
not built (no compiler, not POSIX), :data:`LIB` (reads) or :data:`WRITER` (writes) is
``None`` and :class:`~zarrkit.storage.LocalStore` reads or writes file by file in Python,
with the same results.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from collections.abc import Sequence

import numpy as np

from zarrkit.compiled import blob_pointers, load
from zarrkit.types import Blob, ChunkMemory, Decoder, Encoder

#: The compiled reading loop, or None where it was not built.
LIB = load(__file__, "_readfiles.so", "zarrkit_read_files")
#: The compiled writing loops (``zarrkit_write_files``, ``zarrkit_encode_files``), or None
#: where they were not built.
WRITER = load(__file__, "_writefiles.so", "zarrkit_encode_files")

#: Bytes a thread reads into at a time (its buffer, kept for its next call).
BUFFER = 4 << 20

#: The most axes :func:`encode_files` takes (after merging those that lie in one run).
MOST_AXES = 32

#: The most memory a thread keeps for its next call, each of: its reading buffer, the chunk
#: copied out for encoding and the encoding (larger ones are allocated for the call).
KEPT = 4 << 20

_local = threading.local()


def read_files(paths: Sequence[str], each: int) -> list[bytes | int]:
    """The first ``each`` bytes of the files of ``paths`` (fewer where a file is shorter),
    or ``-errno`` where opening or reading one failed: for all of them, or up to the first
    that fills ``each`` (it may hold more), so the caller reads that one and the rest by
    their size instead. Needs :data:`LIB`."""
    assert LIB is not None
    buffer = _kept("buffer", max(BUFFER, each))  # room for at least one file of ``each``
    found: list[bytes | int] = []
    view = buffer.data
    address = ctypes.c_void_p(buffer.ctypes.data)
    start = 0
    while start < len(paths):
        batch = paths[start:]
        count = len(batch)
        names = (ctypes.c_char_p * count)(*map(os.fsencode, batch))
        sizes = (ctypes.c_long * count)()
        done = LIB.zarrkit_read_files(count, names, address, buffer.nbytes, each, sizes)
        at = 0
        for size in sizes[:done]:
            if size < 0:
                found.append(size)
            else:
                found.append(bytes(view[at : at + size]))
                at += size
        start += done
        if sizes[done - 1] == each:  # a large file: the caller goes on by size
            break
    return found


def read_decoded(
    root: str, keys: Sequence[str], decoder: Decoder, out: np.ndarray, nbytes: int
) -> list[tuple[int, int]]:
    """Read the files of ``keys`` (paths relative to the directory ``root``, with no NUL)
    and decode each with ``decoder`` straight into its ``nbytes`` of ``out`` (C-contiguous,
    ``len(keys) * nbytes`` bytes); the ``(index, status)`` of those not decoded: ``-errno``
    where opening or reading one failed, 1 where it is larger than the reading buffer or
    the decoder did not take it (for the caller's checked path). Needs :data:`LIB`."""
    assert LIB is not None and out.flags.c_contiguous and out.nbytes >= len(keys) * nbytes
    count = len(keys)
    buffer = _kept("buffer", BUFFER) if decoder.function else None
    status = (ctypes.c_long * count)()
    left = LIB.zarrkit_read_decoded(
        os.fsencode(root),
        count,
        os.fsencode("\0".join(keys) + "\0"),
        _address(buffer),
        ctypes.c_long(0 if buffer is None else buffer.nbytes),
        ctypes.c_void_p(decoder.function or None),
        None if decoder.api is None else ctypes.byref(decoder.api),  # type: ignore[arg-type]
        decoder.context(),
        _address(out),
        ctypes.c_long(nbytes),
        status,
    )
    if left < 0:
        return [(i, left) for i in range(count)]
    return [(i, s) for i, s in enumerate(status) if s] if left else []


def write_files(temps: Sequence[str], paths: Sequence[str], values: Sequence[Blob]) -> list[int]:
    """Write each of ``values`` to the new file of ``temps`` (none may exist) and rename it
    over the file of ``paths``; return the indices of those that failed (their temporary
    files removed, their paths untouched), for the caller to write again or report. Needs
    :data:`WRITER`."""
    assert WRITER is not None
    count = len(values)
    data, sizes, _keep = blob_pointers(values)  # _keep: alive through the call
    errors = (ctypes.c_int * count)()
    names = [(ctypes.c_char_p * count)(*map(os.fsencode, p)) for p in (temps, paths)]
    if WRITER.zarrkit_write_files(count, *names, data, sizes, errors):
        return [i for i, error in enumerate(errors) if error]
    return []


class _Layout(ctypes.Structure):
    """``struct layout`` of ``writefiles.c``."""

    _fields_ = [
        ("ndim", ctypes.c_int),
        ("shape", ctypes.POINTER(ctypes.c_long)),
        ("strides", ctypes.POINTER(ctypes.c_long)),
        ("itemsize", ctypes.c_long),
    ]


def encode_files(
    temps: Sequence[str], paths: Sequence[str], memory: ChunkMemory, encoder: Encoder
) -> list[tuple[int, int]]:
    """Copy each chunk of ``memory`` out of it (unless it lies there in C order), encode it
    with ``encoder``, and write it to the new file of ``temps`` (none may exist) renamed over
    the file of ``paths``; the ``(index, error)`` of those that failed: an errno, or -1
    where the encoder failed or the chunks have over :data:`MOST_AXES` axes not in one run
    (their temporary files removed, their paths untouched). Needs :data:`WRITER`."""
    assert WRITER is not None
    count = len(paths)
    shape, strides = _runs(memory.shape, memory.strides, memory.itemsize)
    if len(shape) > MOST_AXES:
        return [(i, -1) for i in range(count)]
    ndim, nbytes = len(shape), math.prod(shape) * memory.itemsize
    layout = _Layout(
        ndim, (ctypes.c_long * ndim)(*shape), (ctypes.c_long * ndim)(*strides), memory.itemsize
    )
    in_order = strides == _c_strides(shape, memory.itemsize)
    scratch = None if in_order else _kept("scratch", nbytes)
    capacity = encoder.capacity(nbytes)
    dest = _kept("dest", capacity) if capacity else None
    context = encoder.context()
    errors = (ctypes.c_int * count)()
    names = [(ctypes.c_char_p * count)(*map(os.fsencode, p)) for p in (temps, paths)]
    failed = WRITER.zarrkit_encode_files(
        count,
        (ctypes.c_void_p * count)(*memory.starts),
        ctypes.byref(layout),
        ctypes.c_long(nbytes),
        _address(scratch),
        ctypes.c_void_p(encoder.function or None),
        None if context is None else ctypes.byref(context),  # type: ignore[arg-type]
        _address(dest),
        ctypes.c_long(capacity),
        *names,
        errors,
    )
    return [(i, error) for i, error in enumerate(errors) if error] if failed else []


def _runs(
    shape: Sequence[int], strides: Sequence[int], itemsize: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``shape`` and ``strides`` (bytes) with the axes of one element dropped and each axis
    merged into the next where their elements lie in one run, so the loop copies longer rows
    (a chunk of whole rows of a C-ordered array becomes one run)."""
    axes = [(n, s) for n, s in zip(shape, strides, strict=True) if n != 1] or [(1, itemsize)]
    merged = [axes[-1]]
    for n, s in reversed(axes[:-1]):
        inner_n, inner_s = merged[-1]
        if s == inner_n * inner_s:
            merged[-1] = (n * inner_n, inner_s)
        else:
            merged.append((n, s))
    merged.reverse()
    return tuple(n for n, _ in merged), tuple(s for _, s in merged)


def _c_strides(shape: Sequence[int], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _kept(name: str, nbytes: int) -> np.ndarray:
    """``nbytes`` of memory for this thread: kept for its next call up to :data:`KEPT` bytes
    (and a compression bound's margin)."""
    buffer: np.ndarray | None = getattr(_local, name, None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(nbytes, np.uint8)
        if nbytes <= KEPT + (KEPT >> 6):
            setattr(_local, name, buffer)
    return buffer


def _address(buffer: np.ndarray | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(None if buffer is None else buffer.ctypes.data)
