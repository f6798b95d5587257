"""zstd frames made by hand (RFC 8878, section 3.1.1), for tests that run without the
``fast`` extra: numcodecs always writes a content size, these may leave it out or lie."""

from __future__ import annotations

import struct

MAGIC = struct.pack("<I", 0xFD2FB528)
BLOCK = 128 * 1024  # the largest block
WINDOW_128K = bytes((7 << 3,))  # a window descriptor: 2**(10 + 7) bytes


def _header(size: int | None, window: bytes = WINDOW_128K) -> bytes:
    """Magic, descriptor and window (never single-segment), then an 8-byte size if any."""
    if size is None:
        return MAGIC + b"\x00" + window
    return MAGIC + b"\xc0" + window + struct.pack("<Q", size)


def _block(kind: int, size: int, payload: bytes, last: bool) -> bytes:
    return (size << 3 | kind << 1 | last).to_bytes(3, "little") + payload


def raw(data: bytes, *, size: int | None = None) -> bytes:
    """A frame storing ``data`` in raw blocks; its header gives ``size`` (None: no size)."""
    pieces = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)] or [b""]
    blocks = [_block(0, len(p), p, i == len(pieces) - 1) for i, p in enumerate(pieces)]
    return _header(size) + b"".join(blocks)


def zeros(nbytes: int, *, size: int | None = None) -> bytes:
    """A frame of RLE blocks decoding to ``nbytes`` zeros, 4 bytes per 128 KiB; its header
    gives ``size`` (None: no size)."""
    counts = [min(BLOCK, nbytes - i) for i in range(0, nbytes, BLOCK)] or [0]
    blocks = [_block(1, n, b"\x00", i == len(counts) - 1) for i, n in enumerate(counts)]
    return _header(size) + b"".join(blocks)


def unsized(frame: bytes) -> bytes:
    """``frame`` (a numcodecs frame) without its size header: the same blocks, under a
    window large enough for them."""
    descriptor = frame[4]
    if descriptor & 0x03:
        raise ValueError("frames with a dictionary id are not supported here")
    single_segment = bool(descriptor & 0x20)
    size_bytes = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    at = 5 + (not single_segment)
    size = int.from_bytes(frame[at : at + size_bytes], "little") + (256 if size_bytes == 2 else 0)
    if single_segment:  # the window was the content size: say it explicitly
        window = bytes((max(max(size - 1, 1).bit_length() - 10, 0) << 3,))
    else:
        window = frame[5:6]
    return MAGIC + bytes((descriptor & 0x04,)) + window + frame[at + size_bytes :]
