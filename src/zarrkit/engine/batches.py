"""Batches on the shared thread pool: per-chunk overhead is what small chunks pay for, so
work is handed out in contiguous batches, a few per worker, which the workers take in turn."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from zarrkit import config
from zarrkit.retry import settle_taken

#: The batches each worker takes, at least, where there are the items: workers take them
#: one at a time as they finish the last, so they end close together (see
#: :func:`~zarrkit.retry.settle_taken`).
TAKES = 8


def run_batched(
    work: Callable[[int, int], None], count: int, workers: int | None = None, most: int = 0
) -> None:
    """Call ``work(lo, hi)`` over contiguous ranges covering ``range(count)``, on at most
    ``workers`` threads of the shared pool (default: the ``threads`` setting) which take
    the ranges in turn, about :data:`TAKES` each and at most ``most`` items long where
    given: few calls, not one per chunk, since per-chunk overhead is what small chunks pay
    for. Every range taken has ended when an error is raised, and the first error stops
    the taking."""
    workers = min(workers or config.get("threads"), count)
    if workers <= 1:
        if count:
            work(0, count)
        return
    spans = _spans(count, max(workers * TAKES, -(-count // most) if most else 0))
    _, failure = settle_taken(lambda span: work(*span), spans, workers, config.pool())
    if failure is not None:
        raise failure


def _spans(count: int, parts: int) -> list[tuple[int, int]]:
    """At most ``parts`` contiguous ``(lo, hi)`` of near-equal size covering ``count``."""
    bounds = np.linspace(0, count, min(parts, count) + 1).astype(int).tolist()
    return list(itertools.pairwise(bounds))
