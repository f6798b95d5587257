"""How fast pure Python and NumPy can run the hot loops: one fused loop per batch of chunks.

A yardstick for the engine's rewrite, not a reader: it knows the layout of zarrkit's W3
and W5 arrays (zstd, C order, no edge chunks), checks only what the engine must check
(sizes, trailing bytes, the shard index's CRC32C; it assumes no empty inner chunks), and
has no objects per chunk beyond the bytes. Reads use one ``ZstdDecompressor.decompress``
call per chunk and one NumPy assignment into a block view of the output; writes one reused
``ZstdCompressor`` and an atomic temp-file + rename per file. Arrays come from
``benchmarks.hotspots --setup``::

    python -m benchmarks.floor --workload W3 --op read --dir /tmp/w3 --threads 1
    python -m benchmarks.floor --workload W5 --op read --dir /tmp/w5 --threads 2

Prints wall and CPU microseconds per chunk (median of ``--repeat``) and checks the result.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import google_crc32c
import numpy as np
import zstandard

from benchmarks import workloads
from benchmarks.workloads import Workload

_local = threading.local()
_names = itertools.count()


def _decompressor() -> zstandard.ZstdDecompressor:
    if not hasattr(_local, "zstd"):
        _local.zstd = zstandard.ZstdDecompressor()
    return _local.zstd  # type: ignore[no-any-return]


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=3)
    return _local.compressor  # type: ignore[no-any-return]


def _read_file(path: str, cap: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, cap)
        if len(data) == cap:  # longer than expected: read the rest
            data += b"".join(iter(lambda: os.read(fd, 1 << 20), b""))
        return data
    finally:
        os.close(fd)


def _decode(blob: bytes | memoryview, nbytes: int) -> bytes:
    if zstandard.frame_content_size(blob) != nbytes:
        raise ValueError(f"zstd frame does not hold {nbytes} bytes")
    return _decompressor().decompress(blob, allow_extra_data=False)


def blocks(out: np.ndarray, chunks: tuple[int, int]) -> np.ndarray:
    """``out`` as a 4-d view: [chunk row, row in chunk, chunk column, column in chunk]."""
    rows, cols = out.shape[0] // chunks[0], out.shape[1] // chunks[1]
    return out.reshape(rows, chunks[0], cols, chunks[1])


def read_chunks(wl: Workload, root: str, out: np.ndarray, lo: int, hi: int) -> None:
    """Chunks ``lo:hi`` (C order) of a W3-style array, one file each."""
    view, cols = blocks(out, wl.chunks), wl.shape[1] // wl.chunks[1]
    nbytes = wl.chunks[0] * wl.chunks[1] * out.itemsize
    keys = [f"{root}/c/{n // cols}/{n % cols}" for n in range(lo, hi)]
    for n, key in zip(range(lo, hi), keys, strict=True):
        data = _decode(_read_file(key, nbytes + 1024), nbytes)
        view[n // cols, :, n % cols, :] = np.frombuffer(data, out.dtype).reshape(wl.chunks)


def read_shards(wl: Workload, root: str, out: np.ndarray, lo: int, hi: int) -> None:
    """Shards ``lo:hi`` (C order) of a W5-style array: each file read once, its index
    checked and decoded once, its inner chunks decoded in one loop."""
    shard_shape = wl.shards or wl.chunks
    per = (shard_shape[0] // wl.chunks[0], shard_shape[1] // wl.chunks[1])
    cols = wl.shape[1] // shard_shape[1]
    nbytes = wl.chunks[0] * wl.chunks[1] * out.itemsize
    index_nbytes = per[0] * per[1] * 16 + 4
    for n in range(lo, hi):
        i, j = divmod(n, cols)
        shard = memoryview(_read_file(f"{root}/c/{i}/{j}", 1 << 24))
        raw = shard[len(shard) - index_nbytes :]
        if google_crc32c.value(bytes(raw[:-4])) != int.from_bytes(raw[-4:], "little"):
            raise ValueError(f"shard {i}/{j}: index checksum mismatch")
        index = np.frombuffer(raw[:-4], np.uint64).reshape(per[0], per[1], 2)
        ends = index[..., 0] + index[..., 1]
        if int(ends.max()) > len(shard) - index_nbytes:
            raise ValueError(f"shard {i}/{j}: index points past the data")
        rows = slice(i * shard_shape[0], (i + 1) * shard_shape[0])
        region = blocks(out[rows, j * shard_shape[1] : (j + 1) * shard_shape[1]], wl.chunks)
        entries = index.reshape(-1, 2).tolist()
        for (a, b), (offset, size) in zip(np.ndindex(*per), entries, strict=True):
            data = _decode(shard[offset : offset + size], nbytes)
            region[a, :, b, :] = np.frombuffer(data, out.dtype).reshape(wl.chunks)


def write_chunks(wl: Workload, root: str, data: np.ndarray, lo: int, hi: int) -> None:
    """Chunks ``lo:hi`` of a W3-style array, each encoded and replaced atomically."""
    view, cols = blocks(data, wl.chunks), wl.shape[1] // wl.chunks[1]
    compress, prefix = _compressor().compress, f"{os.getpid()}-{threading.get_ident()}"
    for n in range(lo, hi):
        i, j = divmod(n, cols)
        blob = compress(np.ascontiguousarray(view[i, :, j, :]))
        directory = f"{root}/c/{i}"
        tmp = f"{directory}/.zarrkit-tmp-{prefix}-{next(_names)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            os.write(fd, blob)
        finally:
            os.close(fd)
        os.replace(tmp, f"{directory}/{j}")


def timed(work: Callable[[int, int], None], count: int, threads: int) -> tuple[float, float]:
    bounds = np.linspace(0, count, threads + 1).astype(int).tolist()
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, bounds[:-1], bounds[1:]))
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("W3", "W5"), required=True)
    parser.add_argument("--op", choices=("read", "write"), required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    wl = workloads.get(args.workload)
    data = workloads.make_data(wl)
    root = str(args.dir)
    out = np.empty(wl.shape, wl.dtype)
    chunks = (wl.shape[0] // wl.chunks[0]) * (wl.shape[1] // wl.chunks[1])
    if args.op == "write":
        if wl.shards is not None:
            raise SystemExit("the write floor covers unsharded arrays (W3) only")
        work: Callable[[int, int], None] = lambda lo, hi: write_chunks(wl, root, data, lo, hi)  # noqa: E731
        units = chunks
    elif wl.shards is None:
        work, units = (lambda lo, hi: read_chunks(wl, root, out, lo, hi)), chunks
    else:
        shards = (wl.shape[0] // wl.shards[0]) * (wl.shape[1] // wl.shards[1])
        work, units = (lambda lo, hi: read_shards(wl, root, out, lo, hi)), shards
    runs = [timed(work, units, args.threads) for _ in range(args.repeat)]
    if args.op == "read" and not np.array_equal(out, data):
        raise SystemExit("WRONG DATA")
    wall = statistics.median(r[0] for r in runs) / chunks * 1e6
    cpu = statistics.median(r[1] for r in runs) / chunks * 1e6
    print(
        f"{wl.name} {args.op} floor, {args.threads} thread(s): {wall:.1f} us wall, "
        f"{cpu:.1f} us CPU per chunk ({chunks} chunks; median of {args.repeat})"
    )


if __name__ == "__main__":
    main()
