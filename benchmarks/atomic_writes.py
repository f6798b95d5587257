"""What one small-file write costs on this file system, atomic and not, in several ways.

Writes ``--files`` files of ``--size`` bytes (W3: 4096 chunks, about 2.4 KB each after
zstd) into 64 directories, as a chunk store does, into fresh directories and then over the
existing files, on ``--threads`` threads; ``--rounds`` times, the ways interleaved. Run it
where the benchmarks write (``python -m benchmarks.atomic_writes --dir /tmp/aw``); Linux
only (O_TMPFILE, renameat2 and linkat through ctypes).

Ways: ``temp+rename`` (what LocalStore does: a random temp name, O_CREAT|O_EXCL, write,
close, rename), ``counter-name`` (the same with a counter instead of random bytes),
``fallocate+rename`` (allocate the temp file's blocks before writing, so ext4 has no
delayed allocation to force at the rename), ``exchange+unlink`` (renameat2 with
RENAME_EXCHANGE, then unlink the old data), ``tmpfile+link`` (O_TMPFILE, then linkat to a
temp name and rename; straight to the key when it is new), ``in-place`` (O_TRUNC and write:
not atomic, what zarrs does), and ``temp+fsync+rename`` (the durable mode).
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import itertools
import os
import secrets
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


def _write(fd: int, data: bytes) -> None:
    os.write(fd, data)
    os.close(fd)


def temp_rename(path: str, data: bytes) -> None:
    tmp = f"{os.path.dirname(path)}/.tmp-{secrets.token_hex(8)}"
    _write(os.open(tmp, _CREATE, 0o666), data)
    os.replace(tmp, path)


def _temp_name(path: str) -> str:
    return f"{os.path.dirname(path)}/.tmp-{os.getpid()}-{threading.get_ident()}-{next(_counter)}"


def counter_name(path: str, data: bytes) -> None:
    tmp = _temp_name(path)
    _write(os.open(tmp, _CREATE, 0o666), data)
    os.replace(tmp, path)


def fallocate_rename(path: str, data: bytes) -> None:
    tmp = _temp_name(path)
    fd = os.open(tmp, _CREATE, 0o666)
    os.posix_fallocate(fd, 0, len(data))
    _write(fd, data)
    os.replace(tmp, path)


def exchange_unlink(path: str, data: bytes) -> None:
    tmp = _temp_name(path)
    _write(os.open(tmp, _CREATE, 0o666), data)
    if _libc.renameat2(_AT_FDCWD, tmp.encode(), _AT_FDCWD, path.encode(), _RENAME_EXCHANGE):
        os.replace(tmp, path)  # no old file to exchange with
    else:
        os.unlink(tmp)


def _link(fd: int, path: str) -> bool:
    """linkat the open unnamed file ``fd`` to ``path``; False when ``path`` exists (os.link
    would call link(), which does not follow /proc's magic link)."""
    source = f"/proc/self/fd/{fd}".encode()
    if not _libc.linkat(_AT_FDCWD, source, _AT_FDCWD, path.encode(), _AT_SYMLINK_FOLLOW):
        return True
    if ctypes.get_errno() == errno.EEXIST:
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), path)


def tmpfile_link(path: str, data: bytes) -> None:
    fd = os.open(os.path.dirname(path), os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, data)
        if not _link(fd, path):
            tmp = _temp_name(path)
            _link(fd, tmp)
            os.replace(tmp, path)
    finally:
        os.close(fd)


def in_place(path: str, data: bytes) -> None:
    _write(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666), data)


def temp_fsync_rename(path: str, data: bytes) -> None:
    tmp = _temp_name(path)
    fd = os.open(tmp, _CREATE, 0o666)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, path)


WAYS: dict[str, Callable[[str, bytes], None]] = {
    "temp+rename": temp_rename,
    "counter-name": counter_name,
    "fallocate+rename": fallocate_rename,
    "exchange+unlink": exchange_unlink,
    "tmpfile+link": tmpfile_link,
    "in-place": in_place,
    "temp+fsync+rename": temp_fsync_rename,
}


def one_pass(
    way: Callable[[str, bytes], None], paths: list[str], data: bytes, threads: int
) -> tuple[float, float]:
    """Wall and CPU seconds (user and system, all threads) to write every path."""
    size = -(-len(paths) // threads)
    batches = [paths[i : i + size] for i in range(0, len(paths), size)]
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda batch: [way(p, data) for p in batch], batches))
    return time.perf_counter() - start, time.process_time() - cpu


def measure(name: str, root: Path, files: int, data: bytes, threads: int) -> list[float]:
    """Per file: fresh wall and CPU, then overwrite wall and CPU (seconds)."""
    shutil.rmtree(root, ignore_errors=True)
    side = int(files**0.5)
    for i in range(side):
        (root / "c" / str(i)).mkdir(parents=True)
    paths = [f"{root}/c/{i}/{j}" for i in range(side) for j in range(files // side)]
    way = WAYS[name]
    times = [*one_pass(way, paths, data, threads), *one_pass(way, paths, data, threads)]
    return [t / len(paths) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--files", type=int, default=4096)
    parser.add_argument("--size", type=int, default=2400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ways", default=",".join(WAYS))
    args = parser.parse_args()
    data = os.urandom(args.size)
    names = args.ways.split(",")
    runs: dict[str, list[list[float]]] = {name: [] for name in names}
    for _ in range(args.rounds):  # ways interleaved, so load changes hit them alike
        for name in names:
            runs[name].append(measure(name, args.dir, args.files, data, args.threads))
    shutil.rmtree(args.dir, ignore_errors=True)
    print(
        f"{args.files} files of {args.size} bytes, {args.threads} thread(s), {args.rounds} "
        "rounds; us per file into fresh directories, then over the files: median wall "
        "and median CPU (user + system; the steadier on a shared machine)"
    )
    header = ["way", "fresh wall", "fresh CPU", "overwrite wall", "overwrite CPU"]
    print("  ".join(h.rjust(18 if i == 0 else 14) for i, h in enumerate(header)))
    for name, rounds in runs.items():
        cells = [statistics.median(r[column] for r in rounds) * 1e6 for column in range(4)]
        print(name.rjust(18), *(f"{c:14.0f}" for c in cells), sep="  ")


if __name__ == "__main__":
    main()
