"""Where the benchmark puts the workloads' files (``benchmarks.placement``)."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks import placement

SHM = Path("/dev/shm")


def test_files_on_disk_are_kept_until_the_run_ends(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(placement, "in_memory", lambda directory: False)
    with ExitStack() as kept:
        with ExitStack() as stack:
            directory = placement.workload_dir("W0", kept, stack)
            (directory / "chunk").write_bytes(b"x")
        assert directory.exists()  # the workload is done, its files stay
    assert not directory.exists()
    assert (tmp_path / "zarrkit-bench-removed").exists()  # for the next run's wait


@pytest.mark.parametrize("fair", [True, False])
def test_files_in_memory_or_of_a_smoke_run_go_with_their_workload(monkeypatch, tmp_path, fair):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(placement, "in_memory", lambda directory: fair)
    with ExitStack() as kept:
        with ExitStack() as stack:
            directory = placement.workload_dir("W0", kept, stack, fair=fair)
        assert not directory.exists()


def test_a_run_waits_a_minute_after_the_last_removed_its_files(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    slept: list[float] = []
    monkeypatch.setattr(placement.time, "sleep", slept.append)
    placement.wait_for_removed_files()  # no run before: no wait
    mark = tmp_path / "zarrkit-bench-removed"
    mark.touch()
    placement.wait_for_removed_files()
    old = mark.stat().st_mtime - placement.RECENT - 1
    os.utime(mark, (old, old))
    placement.wait_for_removed_files()
    assert len(slept) == 1 and placement.RECENT - 2 < slept[0] <= placement.RECENT


@pytest.mark.skipif(not SHM.is_dir(), reason="no /dev/shm here")
def test_tmpfs_is_in_memory_and_the_temp_dir_is_what_the_machine_says(tmp_path) -> None:
    assert placement.in_memory(SHM / "x")
    assert placement.in_memory(tmp_path) == (os.statvfs(tmp_path).f_fsid == os.statvfs(SHM).f_fsid)
