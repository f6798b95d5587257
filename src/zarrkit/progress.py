"""Progress reporting for long jobs (streaming, copying): a bar, a callback, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Callback = Callable[[int, int], None]
Progress = bool | Callback | None


@contextmanager
def reporter(progress: Progress, total: int, description: str = "") -> Iterator[Callback]:
    """A callback ``(done, total)`` for the job: ``progress`` itself when it is callable, a
    rich (or tqdm) bar when it is True, else one that does nothing."""
    if callable(progress):
        yield progress
    elif progress:
        with _bar(total, description) as update:
            yield update
    else:
        yield lambda done, total: None


@contextmanager
def _bar(total: int, description: str) -> Iterator[Callback]:
    try:
        from rich.progress import Progress as RichProgress
    except ImportError:
        with _tqdm_bar(total, description) as update:
            yield update
        return
    from rich.console import Console

    with RichProgress(console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description or "zarrkit", total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def _tqdm_bar(total: int, description: str) -> Iterator[Callback]:
    try:
        from tqdm import tqdm
    except ImportError as e:
        raise ImportError("progress=True needs rich or tqdm: pip install zarrkit[cli]") from e
    bar: Any = tqdm(total=total, desc=description or "zarrkit")
    try:
        yield lambda done, total: bar.update(done - bar.n)
    finally:
        bar.close()
