"""Zstandard: encoded and decoded with ``zstandard`` when installed (the ``fast`` extra), else
with numcodecs.

Spec: RFC 8878 (https://www.rfc-editor.org/rfc/rfc8878); numcodecs id ``zstd``.

Encoding: chunks under :data:`DIRECT_BYTES` with one reused ``ZstdCompressor`` per thread
and setting (numcodecs sets up a context per chunk, as costly as compressing 4 KiB); larger
ones with numcodecs, whose frames are then zarr-python's byte for byte. python-zstandard
0.25 bundles libzstd 1.5.7 and numcodecs 0.16 1.5.6, whose frames differ from 16 KiB up
(other matches, the same data): 1.5.7's are about 1% smaller, and 1.5.6 compresses 256 KiB
and larger chunks 2-7% faster here (W1's data at level 3: 512 KiB in 1.66-1.71 ms against
1.73-1.84 ms; 16 KiB in 70 against 60 µs). ``config.set(encoders="numcodecs")``, or no
``zstandard``, encodes every chunk through numcodecs.

Why a decoder of our own: a chunk of known size whose frame header says so is decoded by
one strict ``ZstdDecompressor.decompress`` call (it raises on truncation, trailing bytes, a
second frame and a content size the frame does not hold), about 20% fewer instructions than
numcodecs for a 4 KiB chunk. Anything else (no content size, several frames, skippable
frames, the errors, no ``zstandard``) first walks the frames (RFC 8878, section 3.1: frame
and block headers only), so a truncated frame, trailing bytes, or a size header no frame
could hold raise before anything is allocated, and a frame without a size header is bounded
by what its blocks can hold; then ``zstandard``'s stream reader (which stops at a bound)
or numcodecs, frame by frame, decodes. One decompressor per thread: sharing one crashes.

Large chunks (:data:`DIRECT_BYTES` and more) of a known size decode into their place
instead, where ``zstandard`` returns new bytes that are then copied (or whose fresh pages
fault): by the compiled loop of :mod:`~zarrkit.codecs.compression.zstd_batch` (which also
decodes batches of small chunks, and keeps a context per thread) where it was built, else
by numcodecs (one ``ZSTD_decompress`` call, setting up a context every call, about 10 µs).
Both are as strict: numcodecs decodes every frame of the data into exactly the size the
first one's header gives, so truncation, trailing bytes, a second frame with content and a
bad checksum raise; the loop decodes only one frame of exactly that size and leaves the
rest to the checked path.

Heads (``decode_head``): a read of the leading rows of a large chunk stops decoding after
the blocks that hold them (zstd decodes block by block, up to 128 KiB each), after walking
the frame as above, so truncation and trailing bytes still raise. A frame with a content
checksum is decoded whole (the checksum covers it all), as is anything but one frame.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrkit import config
from zarrkit.codecs.buffers import as_blob, blob_size, copy_exact
from zarrkit.codecs.compression import encoders, zstd_batch
from zarrkit.codecs.compression.base import Compression, check_header, too_much
from zarrkit.codecs.compression.encoders import Encoder
from zarrkit.compiled import Decoder
from zarrkit.errors import CodecError
from zarrkit.types import Blob

try:
    import zstandard

    #: Whether ``zstandard`` encodes and decodes (else numcodecs does; it decodes frame by
    #: frame).
    USE_ZSTANDARD = True
    #: Whether ``zstandard`` compresses a batch in one call (its C backend does).
    _MULTI = zstandard.backend == "cext"
except ImportError:
    USE_ZSTANDARD = _MULTI = False

#: Chunks of at least this many bytes are encoded by numcodecs and decode with it into their
#: place (see above). Decoding W1's data, per chunk, one thread: 4 KiB 8.3 µs with
#: zstandard against 18.8 µs, 64 KiB 78 against 83 µs, 128 KiB 143 against 139 µs, 512 KiB
#: 548 against 492 µs.
DIRECT_BYTES = 128 << 10

_MAGIC = 0xFD2FB528
_MAX_BLOCK = 128 * 1024  # RFC 8878 3.1.1.2.3: no block decodes to more
_START, _U32 = struct.Struct("<IB"), struct.Struct("<I")
_SIZES = {n: struct.Struct(f"<{code}") for n, code in ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))}
_local = threading.local()


#: A frame in the data: ``(start, end, size, most)``, where ``size`` is what its header
#: gives (-1: nothing) and ``most`` the most its blocks can decode to.
Frame = tuple[int, int, int, int]


class Zstd(Compression):
    entropy_coded = True

    def encode(self, codec: Any, data: Blob) -> Blob:
        if _by_numcodecs(blob_size(data)):
            return super().encode(codec, data)
        return _compressor(codec.level, codec.checksum).compress(data)  # type: ignore[no-any-return]

    def encode_many(
        self, codec: Any, data: memoryview, nbytes: int, keep: Sequence[bool]
    ) -> list[Blob | None] | None:
        # stacked chunks (a shard's inner chunks, a write's small chunks): one call of the
        # compressor for them all where the C backend has it (frames as ``compress``
        # writes them, one release of the GIL), else one call a chunk
        if _by_numcodecs(nbytes):
            return None
        compressor = _compressor(codec.level, codec.checksum)
        kept = [i for i, k in enumerate(keep) if k]
        parts = [data[i * nbytes : (i + 1) * nbytes] for i in kept]
        out: list[Blob | None] = [None] * len(keep)
        if len(parts) > 1 and nbytes and _MULTI:  # (it refuses empty inputs)
            frames = compressor.multi_compress_to_buffer(parts)
            for i, frame in zip(kept, frames, strict=True):
                out[i] = frame.tobytes()  # bytes: no object the garbage collector tracks
        else:
            for i, part in zip(kept, parts, strict=True):
                out[i] = compressor.compress(part)
        return out

    def encoder(self, codec: Any, typesize: int) -> Encoder | None:
        return encoders.zstd(codec)

    def decoder(self) -> Decoder | None:
        return zstd_batch.decoder()

    def decode(self, codec: Any, data: Blob) -> Blob:
        source = _byte_view(data)
        frames, size, most = _frames(source)
        if size >= 0:
            check_header("zstd", size, None)
            out = np.empty(size, np.uint8).data
            _decode_into(codec, source, frames, out)
            return out
        if USE_ZSTANDARD:
            return _read(source, None)
        # numcodecs cannot stop a stream early: refuse one that may decode past the bound
        what = "the most these zstd frames without a size header may hold"
        config.check_limit("max_chunk_bytes", most, what)
        out = np.empty(most, np.uint8).data
        return out[: _decode_frames(codec, source, frames, out)]

    def decode_exact(self, codec: Any, data: Blob, nbytes: int) -> Blob:
        decoded = _one_call(data, nbytes)
        if decoded is None:
            decoded = np.empty(nbytes, np.uint8).data
            _decode_checked(codec, data, decoded)
        return decoded

    def decode_head(self, codec: Any, data: Blob, nbytes: int, head: int) -> Blob | None:
        source = _byte_view(data)
        frames, size, _ = _frames(source)  # truncation and trailing bytes raise here too
        # a content checksum covers the whole frame: such a frame is decoded whole
        if not USE_ZSTANDARD or len(frames) != 1 or size != nbytes or source[4] & 0x04:
            return None
        out = np.empty(head, np.uint8).data
        try:
            _fill(_decompressor().stream_reader(source), out)
        except zstandard.ZstdError as e:  # a corrupt block
            raise CodecError(f"zstd: {e}") from e
        return out

    def decode_into(self, codec: Any, data: Blob, out: memoryview) -> bool:
        if out.nbytes >= DIRECT_BYTES:
            # straight into its place: the compiled loop (a context kept per thread) where
            # it was built, else numcodecs
            if zstd_batch.LIB is not None:
                if not zstd_batch.decode_many([data], out, out.nbytes):
                    return True
            elif _direct(codec, data, out):
                return True
        decoded = _one_call(data, out.nbytes)
        if decoded is None:
            _decode_checked(codec, data, out)
        else:
            out[:] = decoded
        return True

    def decode_many_into(
        self, codec: Any, blobs: Sequence[Blob | None], out: memoryview, nbytes: int
    ) -> bool:
        # the loop of a batch, with as few Python steps per chunk as can be (each one holds
        # the GIL that the other workers wait for): compiled where it was built; chunks it
        # or zstandard's call does not decode take the checked path, which names what is
        # wrong
        if zstd_batch.LIB is not None and nbytes and len(blobs) >= zstd_batch.FEWEST:
            for i in zstd_batch.decode_many(blobs, out, nbytes):
                _decode_checked(codec, blobs[i], out[i * nbytes : (i + 1) * nbytes])  # type: ignore[arg-type]
            return True
        if not USE_ZSTANDARD:
            return False
        if nbytes >= DIRECT_BYTES:  # large chunks: into their place, one by one
            for i, blob in enumerate(blobs):
                if blob is not None:
                    self.decode_into(codec, blob, out[i * nbytes : (i + 1) * nbytes])
            return True
        decompress, content_size = _decompressor().decompress, zstandard.frame_content_size
        at = 0
        for blob in blobs:
            if blob is not None:
                try:
                    if content_size(blob) == nbytes:
                        out[at : at + nbytes] = decompress(blob, allow_extra_data=False)
                        at += nbytes
                        continue
                except zstandard.ZstdError:
                    pass
                _decode_checked(codec, blob, out[at : at + nbytes])
            at += nbytes
        return True


def _by_numcodecs(nbytes: int) -> bool:
    """Whether a chunk of ``nbytes`` is encoded by numcodecs (large ones, or every one
    without ``zstandard`` or under ``encoders="numcodecs"``)."""
    return not USE_ZSTANDARD or nbytes >= DIRECT_BYTES or config.get("encoders") == "numcodecs"


def _compressor(level: int, checksum: bool) -> Any:
    """This thread's compressor for ``level`` and ``checksum`` (reused chunk after chunk:
    setting up a context costs as much as compressing a 4 KiB chunk)."""
    compressors: dict[tuple[int, bool], Any] = _local.__dict__.setdefault("compressors", {})
    found = compressors.get((level, checksum))
    if found is None:
        found = zstandard.ZstdCompressor(level=level, write_checksum=checksum)
        compressors[(level, checksum)] = found
    return found


def _direct(codec: Any, data: Blob, out: memoryview) -> bool:
    """Decode ``data`` with numcodecs straight into ``out`` and return True, if
    ``zstandard`` is installed (to read the header), the first frame's header gives
    ``out``'s size and numcodecs decodes it; else return False: the other paths then decode
    other layouts or name what is wrong. (Without ``zstandard``, the checked path decodes
    into ``out`` with numcodecs anyway.)"""
    try:
        if not USE_ZSTANDARD or zstandard.frame_content_size(data) != out.nbytes:
            return False
        codec.decode(data, out=np.frombuffer(out, np.uint8))
    except (zstandard.ZstdError, RuntimeError, ValueError):
        return False
    return True


def _one_call(data: Blob, nbytes: int) -> Blob | None:
    """``data`` decoded by one strict call when ``zstandard`` is installed and the data is
    one frame whose header gives ``nbytes``; else None."""
    if USE_ZSTANDARD:
        try:
            if zstandard.frame_content_size(data) == nbytes:
                return _decompressor().decompress(data, allow_extra_data=False)  # type: ignore[no-any-return]
        except zstandard.ZstdError:
            pass  # the checked path names what is wrong, or reads what is not one frame
    return None


def _decode_checked(codec: Any, data: Blob, out: memoryview) -> None:
    """Decode into ``out`` after walking the frames, which must fill it exactly."""
    source = _byte_view(data)
    frames, size, most = _frames(source)
    if size >= 0 and size != out.nbytes:
        raise CodecError(f"zstd: frame holds {size} bytes, expected {out.nbytes}")
    if most < out.nbytes:
        raise CodecError(f"zstd: frames hold at most {most} bytes, expected {out.nbytes}")
    _decode_into(codec, source, frames, out)


def _decode_into(codec: Any, source: memoryview, frames: list[Frame], out: memoryview) -> None:
    """Decode into ``out``, which the frames must fill exactly."""
    if USE_ZSTANDARD:
        _read(source, out)
    elif _decode_frames(codec, source, frames, out) != out.nbytes:
        raise CodecError(f"zstd: data holds fewer than the expected {out.nbytes} bytes")


def _decode_frames(codec: Any, source: memoryview, frames: list[Frame], out: memoryview) -> int:
    """Decode frame after frame with numcodecs into ``out``; the bytes written."""
    done = 0
    for start, end, size, most in frames:
        if most == 0:  # skippable, or empty (which numcodecs cannot decode)
            continue
        done += _decode_frame(codec, source[start:end], size, out, done)
    return done


def _decode_frame(codec: Any, frame: memoryview, size: int, out: memoryview, at: int) -> int:
    """Decode one frame (its header gives ``size``; -1: nothing) with numcodecs into
    ``out`` from byte ``at``; the bytes written."""
    try:
        if size >= 0:
            codec.decode(frame, out=np.frombuffer(out[at : at + size], np.uint8))
            return size
        piece = as_blob(codec.decode(frame))
    except RuntimeError as e:  # numcodecs' zstd errors: a corrupt block or checksum
        raise CodecError(f"zstd: {e}") from e
    if at + len(piece) > out.nbytes:
        raise too_much("zstd", out.nbytes)
    copy_exact(piece, out[at : at + len(piece)])
    return len(piece)


def _decompressor() -> Any:
    try:
        return _local.zstd
    except AttributeError:
        _local.zstd = zstandard.ZstdDecompressor()
        return _local.zstd


def _read(source: memoryview, out: memoryview | None) -> Blob:
    """``source`` (its frames walked) decoded by zstandard's stream reader: into ``out``,
    filling it exactly, when given, else up to ``max_chunk_bytes``."""
    reader = _decompressor().stream_reader(source, read_across_frames=True)
    try:
        if out is None:
            return _read_bounded(reader)
        _read_exact(reader, out)
        return out
    except zstandard.ZstdError as e:  # a corrupt block or checksum
        raise CodecError(f"zstd: {e}") from e


def _read_exact(reader: Any, out: memoryview) -> None:
    _fill(reader, out)
    if reader.read(1):
        raise CodecError(f"zstd: data holds more than the expected {out.nbytes} bytes")


def _fill(reader: Any, out: memoryview) -> None:
    """Fill ``out`` from a stream reader, which decodes no more blocks than that takes."""
    done = 0
    while done < out.nbytes:
        count = reader.readinto(out[done:])
        if not count:
            raise CodecError(f"zstd: data holds {done} bytes, expected at least {out.nbytes}")
        done += count


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


def _frames(source: memoryview) -> tuple[list[Frame], int, int]:
    """The frames of ``source`` (which must end where the last one ends), the total size
    their headers give (-1 if one gives none), and the most they can decode to."""
    if not source.nbytes:
        raise CodecError("zstd: no data")
    frames: list[Frame] = []
    pos = size = most = 0
    try:
        while pos < source.nbytes:
            frame = _frame(source, pos)
            frames.append(frame)
            pos = frame[1]
            size = -1 if size < 0 or frame[2] < 0 else size + frame[2]
            most += frame[3]
    except struct.error as e:
        raise CodecError("zstd: data is truncated") from e
    if pos != source.nbytes:
        raise CodecError(f"zstd: {source.nbytes} bytes do not end at a frame boundary")
    return frames, size, most


def _frame(source: memoryview, pos: int) -> Frame:
    """The frame starting at ``pos`` (RFC 8878 3.1.1: header, blocks, optional checksum)."""
    magic, descriptor = _START.unpack_from(source, pos)
    if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame
        return pos, pos + 8 + _U32.unpack_from(source, pos + 4)[0], 0, 0
    if magic != _MAGIC or descriptor & 0x08:
        raise CodecError(f"zstd: no valid frame header at byte {pos}")
    single_segment = descriptor & 0x20
    size_bytes = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    at = pos + 5 + (not single_segment) + (0, 1, 2, 4)[descriptor & 3]  # window, dictionary
    size = -1
    if size_bytes:
        size = _SIZES[size_bytes].unpack_from(source, at)[0] + (256 if size_bytes == 2 else 0)
    end, most = _blocks(source, at + size_bytes)
    if size > most:
        raise CodecError(f"zstd: frame header claims {size} bytes, its blocks hold at most {most}")
    return pos, end + 4 * bool(descriptor & 0x04), size, most  # + the content checksum


def _blocks(source: memoryview, at: int) -> tuple[int, int]:
    """Where the blocks starting at ``at`` end, and the most they decode to."""
    most, last = 0, False
    while not last:
        if at + 3 > source.nbytes:
            raise struct.error("truncated block header")
        header = int.from_bytes(source[at : at + 3], "little")
        last, kind, size = bool(header & 1), (header >> 1) & 3, header >> 3
        if kind == 3 or size > _MAX_BLOCK:
            raise CodecError(f"zstd: invalid block header at byte {at}")
        most += _MAX_BLOCK if kind == 2 else size  # raw and RLE blocks say their size
        at += 3 + (1 if kind == 1 else size)  # an RLE block stores one byte
    return at, most


def _byte_view(data: Blob) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" else view.cast("B")
