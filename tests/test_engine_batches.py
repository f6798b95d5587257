"""Batches on the shared pool (zarrkit.engine.batches): contiguous ranges, taken in turn."""

import threading
import time

import pytest

from zarrkit import config
from zarrkit.engine.batches import TAKES, run_batched


def ranges_called(count: int, workers: int, most: int = 0) -> list[tuple[int, int]]:
    called: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(lo: int, hi: int) -> None:
        with lock:
            called.append((lo, hi))

    with config.set(threads=4):
        run_batched(work, count, workers, most)
    return sorted(called)


@pytest.mark.parametrize(("count", "workers", "most"), [(1000, 2, 0), (1000, 3, 7), (5, 2, 0)])
def test_ranges_cover_every_item_once_a_few_per_worker(count, workers, most) -> None:
    ranges = ranges_called(count, workers, most)
    covered = [i for lo, hi in ranges for i in range(lo, hi)]
    assert covered == list(range(count))
    assert len(ranges) == min(count, max(workers * TAKES, -(-count // most) if most else 0))
    if most:
        assert max(hi - lo for lo, hi in ranges) <= most


def test_one_worker_makes_one_call_and_none_for_no_items() -> None:
    assert ranges_called(1000, 1) == [(0, 1000)]
    assert ranges_called(0, 2) == []


def test_the_first_error_is_raised_after_every_range_taken_has_ended() -> None:
    both_started = threading.Barrier(2, timeout=10)
    ended = []

    def work(lo: int, hi: int) -> None:
        if lo in (0, 50):  # the first range of each worker's share (16 ranges of 100)
            both_started.wait()
        if lo == 0:
            raise ValueError("range 0")
        time.sleep(0.05)  # the failure is recorded meanwhile
        ended.append(lo)

    with config.set(threads=4), pytest.raises(ValueError, match="range 0"):
        run_batched(work, 100, 2)
    assert ended == [50]  # it had been taken; nothing was after the failure
