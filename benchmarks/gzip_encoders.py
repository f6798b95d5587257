"""gzip encoders on W6's chunks: speed, size, and whether every peer decodes their output.

For each encoder and level, the 256 chunks of W6 (int16 64³, integers 0..1023) are encoded
on one thread (least CPU time of ``--repeat`` passes); then the encoded chunks are dropped
into a W6-shaped gzip array written by zarr-python 3 and read back with zarr-python 3,
zarr-python 3 + zarrs and tensorstore, and (v2) decoded with numcodecs' GZip, which is what
zarr-python 2 uses. Encoders whose package is not installed are left out; install them with
``uv pip install isal zlib-ng deflate``. Run ``python -m benchmarks.gzip_encoders``.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import tensorstore as ts
import zarr

from benchmarks import workloads

Encoder = Callable[[bytes], bytes]
GZIP = 31  # zlib's wbits for a gzip container


def _zarrkit_gzip(level: int) -> Encoder:
    """What zarrkit writes today: zlib's deflate in numcodecs' header, timestamp zero."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((4 if level == 1 else 0, 255))

    def encode(data: bytes) -> bytes:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
        body = deflater.compress(data) + deflater.flush()
        return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)

    return encode


def _zlib(level: int) -> Encoder:
    return lambda data: zlib.compress(data, level, GZIP)


def encoders() -> dict[str, Encoder]:
    """Every installed encoder, by "library level"."""
    found: dict[str, Encoder] = {
        "zarrkit today (zlib) 1": _zarrkit_gzip(1),
        "numcodecs GZip 1": numcodecs.GZip(level=1).encode,
        **{f"zlib {lv}": _zlib(lv) for lv in (1, 5, 9)},
    }
    libraries: dict[str, tuple[str, Callable[[Any, int], Encoder], tuple[int, ...]]] = {
        "isal": ("isal.isal_zlib", lambda m, lv: lambda d: m.compress(d, lv, GZIP), (0, 1, 2, 3)),
        "zlib-ng": ("zlib_ng.zlib_ng", lambda m, lv: lambda d: m.compress(d, lv, GZIP), (1, 2)),
        "libdeflate": ("deflate", lambda m, lv: lambda d: m.gzip_compress(d, lv), (1, 2, 4, 6)),
    }
    for name, (module, make, levels) in libraries.items():
        try:
            imported = importlib.import_module(module)
        except ImportError:
            continue
        for level in levels:
            found[f"{name} {level}"] = make(imported, level)
    return found


def least_cpu(encode: Encoder, chunks: list[bytes], repeat: int) -> tuple[float, list[bytes]]:
    best, out = float("inf"), []
    for _ in range(repeat):
        start = time.process_time()
        out = [encode(c) for c in chunks]
        best = min(best, time.process_time() - start)
    return best, out


def decoders(root: Path, wl: workloads.Workload) -> dict[str, Callable[[], np.ndarray]]:
    """Readers of the gzip array at ``root`` (written by zarr-python 3), by peer."""

    def zarr_python(pipeline: str) -> np.ndarray:
        with zarr.config.set({"codec_pipeline.path": pipeline}):
            return np.asarray(zarr.open_array(str(root), mode="r")[...])

    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(root)}}
    return {
        "zp3": lambda: zarr_python("zarr.core.codec_pipeline.BatchedCodecPipeline"),
        "zarrs": lambda: zarr_python("zarrs.ZarrsCodecPipeline"),
        "ts": lambda: ts.open(spec, open=True, read=True).result().read().result(),
    }


def chunk_files(root: Path, wl: workloads.Workload) -> list[Path]:
    grid = [-(-n // c) for n, c in zip(wl.shape, wl.chunks, strict=True)]
    return [root.joinpath("c", *map(str, ix)) for ix in np.ndindex(*grid)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    wl = workloads.get("W6")
    data = workloads.make_data(wl)
    blocks = workloads.blocks(wl)
    chunks = [np.ascontiguousarray(data[b]).tobytes() for b in blocks]
    mib = sum(map(len, chunks)) / 2**20
    root = Path(tempfile.mkdtemp(prefix="gzip-encoders-")) / "a"
    array = zarr.create_array(
        store=str(root),
        shape=wl.shape,
        chunks=wl.chunks,
        dtype=wl.dtype,
        compressors=workloads.v3_compressor(wl),
        fill_value=0,
    )
    array[...] = data
    readers = decoders(root, wl)
    print(f"W6: {len(chunks)} chunks, {mib:.0f} MiB, one thread, least CPU of {args.repeat}")
    print(f"{'encoder level':<24} {'MiB/s':>7} {'ratio':>6}  decoded by")
    try:
        for name, encode in encoders().items():
            seconds, encoded = least_cpu(encode, chunks, args.repeat)
            ratio = sum(map(len, chunks)) / sum(map(len, encoded))
            for path, blob in zip(chunk_files(root, wl), encoded, strict=True):
                path.write_bytes(blob)
            v2 = numcodecs.GZip()
            same = all(v2.decode(b) == c for b, c in zip(encoded, chunks, strict=True))
            ok = ["v2" if same else "v2 FAIL"]
            for peer, read in readers.items():
                ok.append(peer if np.array_equal(read(), data) else f"{peer} FAIL")
            print(f"{name:<24} {mib / seconds:7.0f} {ratio:6.3f}  {' '.join(ok)}")
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
