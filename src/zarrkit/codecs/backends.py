"""The fastest installed library for each compression format, with numcodecs as fallback.

Encoding goes through numcodecs, so the bytes match zarr-python's, except gzip: numcodecs
stamps the current time into the gzip header, so we write its exact header with ``mtime=0``
and the same zlib deflate stream, which makes chunks reproducible. isal is not used to
encode: at a given level it writes different (valid) streams than zlib. Decoding uses
``zstandard`` (one decompressor per thread: sharing one across threads crashes) and
``isal`` when installed.
Decoders are strict: truncated data, trailing garbage and size mismatches raise
:class:`~zarrkit.errors.CodecError`. They never allocate from a size header they have not
checked: against the expected size when the caller knows it (``decode_into``), otherwise
against the ``max_chunk_bytes`` setting (:class:`~zarrkit.errors.ResourceLimitError`), and
streams stop one byte past that bound.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import threading
import zlib
from typing import Any

import numcodecs.blosc
import numpy as np

from zarrkit import config
from zarrkit.codecs.buffers import as_blob, blob_size, copy_exact
from zarrkit.errors import CodecError, ResourceLimitError
from zarrkit.types import Blob

try:
    import zstandard
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    zstandard = None  # type: ignore[assignment]
try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover
    isal_zlib = None  # type: ignore[assignment]

# zarrkit decodes chunks on its own thread pool; blosc's threads would only compete.
numcodecs.blosc.use_threads = False

# A zstd block of 3 header bytes and 1 RLE byte expands to at most 128 KiB, so no frame
# can hold more than 32768 bytes per input byte: a larger size header is corrupt.
_ZSTD_MAX_RATIO = 32768
# An LZ4 sequence of 1 token + 2 offset bytes copies at most ~255 bytes per input byte.
_LZ4_MAX_RATIO = 256
#: Formats decoded by a streaming decompressor that can stop at a bound.
_STREAMS = ("gzip", "zlib", "bz2", "lzma")
_local = threading.local()


def encode(codec_id: str, codec: Any, data: Blob) -> Blob:
    """Encode ``data`` with the numcodecs ``codec`` (gzip: reproducible header)."""
    if codec_id == "gzip":
        return _gzip(np.frombuffer(data, np.uint8).data, codec.level)
    return as_blob(codec.encode(data))


def decode(codec_id: str, codec: Any, data: Blob) -> Blob:
    """Decode ``data`` with the fastest installed library for ``codec_id`` (at most
    ``max_chunk_bytes`` bytes)."""
    try:
        if codec_id == "zstd" and zstandard is not None:
            return _zstd(data, None)
        if codec_id in _STREAMS:
            return _stream(codec_id, codec, data, None)
        if codec_id == "blosc":
            _check_header("blosc", _blosc_nbytes(data), None)
        if codec_id == "lz4":
            _check_header("lz4", _lz4_nbytes(data), None)
        return as_blob(codec.decode(data))
    except (CodecError, ResourceLimitError):
        raise
    except Exception as e:
        raise CodecError(f"{codec_id}: cannot decode: {type(e).__name__}: {e}") from e


def decode_into(codec_id: str, codec: Any, data: Blob, out: memoryview) -> bool:
    """Decode straight into ``out`` (exactly its size) and return True, or return False
    when no installed library can for ``codec_id``."""
    try:
        if codec_id == "zstd" and zstandard is not None:
            _zstd(data, out)
        elif codec_id in ("blosc", "lz4"):
            nbytes = _blosc_nbytes(data) if codec_id == "blosc" else _lz4_nbytes(data)
            _check_header(codec_id, nbytes, out.nbytes)
            codec.decode(data, out=np.frombuffer(out, np.uint8))
        elif codec_id in _STREAMS:
            copy_exact(_stream(codec_id, codec, data, out.nbytes), out)
        else:
            return False
        return True
    except (CodecError, ResourceLimitError):
        raise
    except Exception as e:
        raise CodecError(f"{codec_id}: cannot decode: {type(e).__name__}: {e}") from e


def _check_header(name: str, nbytes: int, expected: int | None) -> None:
    """Refuse a decoded size read from a header: not ``expected``, or (unknown expected
    size) over ``max_chunk_bytes``."""
    if expected is None:
        config.check_limit("max_chunk_bytes", nbytes, f"the decoded size in a {name} header")
    elif nbytes != expected:
        raise CodecError(f"{name}: header holds {nbytes} bytes, expected {expected}")


def _too_much(name: str, expected: int | None) -> Exception:
    """The error for a stream that decodes to more than its bound."""
    if expected is not None:
        return CodecError(f"{name}: data holds more than the expected {expected} bytes")
    limit = config.get("max_chunk_bytes")
    return ResourceLimitError(
        f"{name}: data decodes to more than the max_chunk_bytes limit of {limit} bytes; "
        "raise it with `with zarrkit.config.set(max_chunk_bytes=...)`"
    )


def _decompressor() -> Any:
    try:
        return _local.zstd
    except AttributeError:
        _local.zstd = zstandard.ZstdDecompressor()
        return _local.zstd


def _zstd(data: Blob, out: memoryview | None) -> Blob:
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
        if size > _ZSTD_MAX_RATIO * source.nbytes:
            raise CodecError(f"zstd: frame header claims {size} bytes from {source.nbytes}")
        _check_header("zstd", size, None)
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
            raise _too_much("zstd", None)
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


def _gzip(data: memoryview, level: int) -> bytes:
    """What ``gzip.GzipFile`` (used by numcodecs) writes, with a zero timestamp."""
    extra_flags = 2 if level == 9 else 4 if level == 1 else 0
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((extra_flags, 255))
    trailer = struct.pack("<II", zlib.crc32(data), data.nbytes & 0xFFFFFFFF)
    deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
    return b"".join((header, deflater.compress(data), deflater.flush(), trailer))


def _stream(codec_id: str, codec: Any, data: Blob, expected: int | None) -> Blob:
    """Decompress gzip, zlib, bz2 or lzma data, stopping one byte past ``expected`` (or
    past ``max_chunk_bytes`` when it is unknown), so a bomb cannot fill memory."""
    bound = config.get("max_chunk_bytes") if expected is None else expected
    if codec_id == "bz2":  # the stdlib's bz2/lzma.decompress ignore trailing garbage
        result = _one_stream(bz2.BZ2Decompressor(), data, codec_id, bound)
    elif codec_id == "lzma":
        decompressor = lzma.LZMADecompressor(format=codec.format, filters=codec.filters)
        result = _one_stream(decompressor, data, codec_id, bound)
    else:
        result = _inflate(data, codec_id == "gzip", bound)
    if blob_size(result) > bound:
        raise _too_much(codec_id, expected)
    return result


def _inflate(data: Blob, gzip: bool, bound: int) -> Blob:
    inflate = isal_zlib if isal_zlib is not None else zlib
    if not gzip:
        return _one_stream(inflate.decompressobj(15), data, "zlib", bound)
    parts, total = [], 0
    rest: Blob = data
    while True:  # concatenated gzip members, then optional NUL padding (as GzipFile reads)
        inflater = inflate.decompressobj(31)
        parts.append(inflater.decompress(rest, bound + 1 - total))
        total += len(parts[-1])
        if total > bound:
            break
        if not inflater.eof:
            raise CodecError("gzip: data is truncated")
        rest = inflater.unused_data
        if not bytes(rest).strip(b"\x00"):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _one_stream(decompressor: Any, data: Blob, name: str, bound: int) -> Blob:
    """Decompress exactly one complete stream (truncation and trailing bytes raise), or
    stop once it holds more than ``bound`` bytes."""
    result: Blob = decompressor.decompress(data, bound + 1)
    if len(result) > bound:
        return result
    if not decompressor.eof:
        raise CodecError(f"{name}: data is truncated")
    if decompressor.unused_data:
        raise CodecError(f"{name}: {len(decompressor.unused_data)} bytes of trailing data")
    return result


def _blosc_nbytes(data: Blob) -> int:
    """The decoded size from a blosc header, after checking it against the blob."""
    size = blob_size(data)
    if size < 16:
        raise CodecError(f"blosc: {size} bytes is shorter than the 16-byte header")
    nbytes, _, cbytes = struct.unpack_from("<III", data, 4)
    if cbytes != size:
        raise CodecError(f"blosc: header says {cbytes} compressed bytes, blob has {size}")
    return int(nbytes)


def _lz4_nbytes(data: Blob) -> int:
    """The decoded size from numcodecs' LZ4 size prefix, after checking it is possible."""
    size = blob_size(data)
    if size < 4:
        raise CodecError(f"lz4: {size} bytes is shorter than the 4-byte size prefix")
    nbytes = int(struct.unpack_from("<I", data, 0)[0])
    if nbytes > _LZ4_MAX_RATIO * size:
        raise CodecError(f"lz4: size prefix claims {nbytes} bytes from {size}")
    return nbytes
