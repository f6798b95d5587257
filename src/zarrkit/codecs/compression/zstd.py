"""Zstandard: decoded with ``zstandard`` when installed, else by numcodecs.

Spec: RFC 8878 (https://www.rfc-editor.org/rfc/rfc8878); numcodecs id ``zstd``.

Encoding: one reused ``ZstdCompressor`` per thread and setting (numcodecs sets up a context
per chunk). Its frames are numcodecs' byte for byte where both libraries bundle the same
libzstd; python-zstandard 0.25 bundles 1.5.7 and numcodecs 0.16 1.5.6, whose frames differ
for some chunks of 64 KiB and more (the same frames either way, only different matches).
``config.set(encoders="numcodecs")`` encodes through numcodecs.

Why a decoder of our own: a chunk of known size whose frame header says so is decoded by
one strict ``ZstdDecompressor.decompress`` call (it raises on truncation, trailing bytes, a
second frame and a content size the frame does not hold), about 20% fewer instructions than
numcodecs for a 4 KiB chunk. Anything else (no content size, several frames, skippable
frames, the errors) goes through a stream reader after a walk of the frame headers in
Python, which checks what the reader would not (a truncated frame, trailing bytes, a size
header no frame could hold) and bounds what a frame without a size may produce. One
decompressor per thread: sharing one across threads crashes.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.codecs.compression.base import Compression, check_header, too_much
from zarrkit.errors import CodecError
from zarrkit.types import Blob

try:
    import zstandard
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    zstandard = None  # type: ignore[assignment]

# A zstd block of 3 header bytes and 1 RLE byte expands to at most 128 KiB, so no frame
# can hold more than 32768 bytes per input byte: a larger size header is corrupt.
_MAX_RATIO = 32768
_local = threading.local()


class Zstd(Compression):
    def encode(self, codec: Any, data: Blob) -> Blob:
        if zstandard is None or config.get("encoders") == "numcodecs":
            return super().encode(codec, data)
        return _compressor(codec.level, codec.checksum).compress(data)  # type: ignore[no-any-return]

    def decode(self, codec: Any, data: Blob) -> Blob:
        if zstandard is None:
            return super().decode(codec, data)
        return _zstd(data, None)

    def decode_exact(self, codec: Any, data: Blob, nbytes: int) -> Blob:
        if zstandard is None:
            return super().decode_exact(codec, data, nbytes)
        try:
            if zstandard.frame_content_size(data) == nbytes:
                return _decompressor().decompress(data, allow_extra_data=False)  # type: ignore[no-any-return]
        except zstandard.ZstdError:
            pass  # the checked path below names what is wrong, or reads what is not
        return _zstd(data, np.empty(nbytes, np.uint8).data)

    def decode_into(self, codec: Any, data: Blob, out: memoryview) -> bool:
        if zstandard is None:
            return False
        out[:] = self.decode_exact(codec, data, out.nbytes)
        return True


def _compressor(level: int, checksum: bool) -> Any:
    """This thread's compressor for ``level`` and ``checksum`` (reused chunk after chunk:
    setting up a context costs as much as compressing a 4 KiB chunk)."""
    compressors: dict[tuple[int, bool], Any] = _local.__dict__.setdefault("compressors", {})
    found = compressors.get((level, checksum))
    if found is None:
        found = zstandard.ZstdCompressor(level=level, write_checksum=checksum)
        compressors[(level, checksum)] = found
    return found


def _decompressor() -> Any:
    try:
        return _local.zstd
    except AttributeError:
        _local.zstd = zstandard.ZstdDecompressor()
        return _local.zstd


def _zstd(data: Blob, out: memoryview | None) -> Blob:
    """``data`` decoded, into ``out`` when given (its size is then the expected size)."""
    try:
        return _checked(data, out)
    except (zstandard.ZstdError, struct.error) as e:
        raise CodecError(f"zstd: {e}") from e


def _checked(data: Blob, out: memoryview | None) -> Blob:
    # the reader stops quietly at the end of its input, so truncation is checked first
    source = _byte_view(data)
    if not source.nbytes:
        raise CodecError("zstd: no data")
    end, size = _zstd_frames(source)
    if end != source.nbytes:
        raise CodecError(f"zstd: {source.nbytes} bytes do not end at a frame boundary")
    reader = _decompressor().stream_reader(source, read_across_frames=True)
    if out is None:
        if size < 0:
            return _read_bounded(reader)
        if size > _MAX_RATIO * source.nbytes:
            raise CodecError(f"zstd: frame header claims {size} bytes from {source.nbytes}")
        check_header("zstd", size, None)
        out = np.empty(size, np.uint8).data
    elif size >= 0 and size != out.nbytes:
        raise CodecError(f"zstd: frame holds {size} bytes, expected {out.nbytes}")
    done = 0
    while done < out.nbytes:
        count = reader.readinto(out[done:])
        if not count:
            raise CodecError(f"zstd: data holds {done} bytes, expected {out.nbytes}")
        done += count
    if reader.read(1):
        raise CodecError(f"zstd: data holds more than the expected {out.nbytes} bytes")
    return out


def _read_bounded(reader: Any) -> bytes:
    """All a zstd stream reader yields, up to ``max_chunk_bytes`` (frames without a
    content size)."""
    limit = config.get("max_chunk_bytes")
    parts, total = [], 0
    while piece := reader.read(min(1 << 20, limit + 1 - total)):
        parts.append(piece)
        total += len(piece)
        if total > limit:
            raise too_much("zstd", None)
    return b"".join(parts)


def _zstd_frames(source: memoryview) -> tuple[int, int]:
    """Where the zstd frames in ``source`` end (walking frame and block headers), and the
    total size they hold (-1 when a frame does not say)."""
    pos, total = 0, 0
    while pos < source.nbytes:
        magic = struct.unpack_from("<I", source, pos)[0]
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame
            pos += 8 + struct.unpack_from("<I", source, pos + 4)[0]
            continue
        size = zstandard.frame_content_size(source[pos:])
        total = -1 if size < 0 or total < 0 else total + size
        has_checksum = zstandard.get_frame_parameters(source[pos:]).has_checksum
        pos += zstandard.frame_header_size(source[pos:])
        last = False
        while not last:
            if pos + 3 > source.nbytes:
                return source.nbytes + 1, total  # truncated inside the frame
            header = int.from_bytes(source[pos : pos + 3], "little")
            last, kind, size = bool(header & 1), (header >> 1) & 3, header >> 3
            pos += 3 + (1 if kind == 1 else size)  # an RLE block stores one byte
        pos += 4 * has_checksum
    return pos, total


def _byte_view(data: Blob) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" else view.cast("B")
