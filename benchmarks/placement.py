"""Where the workloads' files go, so that the file system charges each peer for its own.

On ext4 without a journal (this machine's disk) every file create scans past the inodes of
its block group freed in the last minute (``recently_deleted`` in ``fs/ext4/ialloc.c``), so
a peer's writes cost more when its directory shares a block group with files just removed,
its own or another peer's: W3's overwrite took zarrkit 1.044 s first in the peer order and
0.397 s last (docs/performance.md, "Writes on this disk"). On disk, therefore:

- each workload's directory asks the file system to spread its subdirectories (one per
  peer) over block groups of their own (ext4's top-directory flag), so no peer creates
  files where another removes them;
- a workload's files are kept until the end of the run, not removed before the next
  workload places its peers;
- a run starts at least a minute after the previous one removed its files.

In memory (tmpfs), which has no such scan, files are removed as soon as their workload is
done: a run's files would take several GiB of memory.
"""

from __future__ import annotations

import array
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

#: Seconds ext4 keeps a freed inode from reuse once written back (``RECENTCY_MIN``).
RECENT = 60

# ext4's "top directory" flag (linux/fs.h): the file system spreads the subdirectories of
# a directory with it over its block groups, as it does the root's.
_GETFLAGS, _SETFLAGS, _TOPDIR = 0x80086601, 0x40086602, 0x00020000

#: Touched when a run has removed its files on disk (in the temporary directory).
_REMOVED = "zarrkit-bench-removed"


def workload_dir(name: str, kept: ExitStack, stack: ExitStack, fair: bool = True) -> Path:
    """A new directory for workload ``name``'s files: spread and kept until ``kept`` closes
    when on disk, else (or when not ``fair``: a smoke run) removed when ``stack`` closes."""
    directory = Path(tempfile.mkdtemp(prefix=f"zarrkit-bench-{name}-"))
    if not fair or in_memory(directory):
        stack.callback(shutil.rmtree, directory, True)
    else:
        _spread(directory)
        kept.callback(_remove, directory)
    return directory


def wait_for_removed_files() -> None:
    """Sleep until :data:`RECENT` seconds have passed since a previous run removed its files
    from disk (none: no wait)."""
    try:
        age = time.time() - (Path(tempfile.gettempdir()) / _REMOVED).stat().st_mtime
    except FileNotFoundError:
        return
    if 0 <= age < RECENT:
        print(f"waiting {RECENT - age:.0f} s for the last run's removed files", file=sys.stderr)
        time.sleep(RECENT - age)


def in_memory(directory: Path) -> bool:
    """Whether ``directory`` is on a file system in memory (tmpfs or ramfs; Linux only)."""
    found, kind = "", ""
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                _, point, fstype, *_ = line.split()
                inside = str(directory.resolve()).startswith(point.rstrip("/") + "/")
                if inside and len(point) > len(found):
                    found, kind = point, fstype
    except OSError:
        return False
    return kind in ("tmpfs", "ramfs")


def _spread(directory: Path) -> None:
    """Set the top-directory flag on ``directory`` where the file system has it."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, _GETFLAGS, flags, True)
        flags[0] |= _TOPDIR
        fcntl.ioctl(fd, _SETFLAGS, flags)
    except OSError:
        pass  # not ext2/3/4, or no permission: placement stays the file system's
    finally:
        os.close(fd)


def _remove(directory: Path) -> None:
    shutil.rmtree(directory, True)
    os.sync()  # written back: ext4 counts a freed inode as recent for RECENT s from now
    (Path(tempfile.gettempdir()) / _REMOVED).touch()
