"""Batches on the shared thread pool: per-chunk overhead is what small chunks pay for, so
work is handed out in contiguous batches, one task per worker."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from zarrkit import config
from zarrkit.retry import fan_out


def run_batched(work: Callable[[int, int], None], count: int, workers: int | None = None) -> None:
    """Call ``work(lo, hi)`` over contiguous ranges covering ``range(count)`` on the shared
    pool, in at most ``workers`` batches (default: the ``threads`` setting): one task per
    batch, not per chunk, since per-chunk overhead is what small chunks pay for. Every
    batch has ended when an error is raised, and the first error stops those not started."""
    spans = batch_spans(count, workers)
    if len(spans) == 1:
        work(*spans[0])
    elif spans:
        fan_out(lambda span: work(*span), spans, config.pool())


def batch_spans(count: int, workers: int | None = None) -> list[tuple[int, int]]:
    """At most ``workers`` (default: ``threads``) contiguous ``(lo, hi)`` covering ``count``."""
    batches = min(workers or config.get("threads"), count)
    if batches <= 1:
        return [(0, count)] if count else []
    bounds = np.linspace(0, count, batches + 1).astype(int).tolist()
    return list(itertools.pairwise(bounds))
