"""The soak: writers in two processes and two threads write random runs of their own
elements of a plain and a sharded array (sharing every chunk and shard) while readers read
the plain one, for ``scaled(20, 180)`` seconds. At the end a full read equals the model of
every acknowledged write.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import zarrkit
from reliability.conftest import record, scaled
from reliability.writers import FILL, SOAK_ARRAYS, owner_of, soak_writer
from zarrkit.storage import LocalStore

pytestmark = pytest.mark.slow  # a soak

WRITERS = 4  # writers 0, 1 in processes, 2, 3 in threads


def _reader(root: str, stop: threading.Event, problems: list[Any]) -> int:
    """Read random chunks of the plain array: each element must be unwritten or written by
    its owner (a lost, torn or misplaced write shows), and every chunk must decode."""
    array = zarrkit.open_array(LocalStore(root), path="plain")
    flat = np.arange(48 * 48).reshape(48, 48)
    rng, reads = np.random.default_rng(), 0
    while not stop.is_set():
        r, c = rng.integers(0, 6, 2) * 8
        try:
            block = array[r : r + 8, c : c + 8]
        except Exception as e:
            problems.append(e)
            continue
        owners = owner_of(block)
        written = block != FILL
        if (owners[written] != flat[r : r + 8, c : c + 8][written] % WRITERS).any():
            problems.append(block)
        reads += 1
    return reads


def test_soak_matches_the_model_of_acknowledged_writes(tmp_path) -> None:
    root = str(tmp_path)
    for name, options in SOAK_ARRAYS.items():
        zarrkit.create_array(LocalStore(root), name=name, dtype="i8", fill_value=FILL, **options)
    seconds = scaled(20, 180)
    stop, problems = threading.Event(), []
    started = time.monotonic()
    with (
        multiprocessing.get_context("spawn").Pool(2) as processes,
        ThreadPoolExecutor(4) as threads,
    ):
        far = [processes.apply_async(soak_writer, (root, w, WRITERS, seconds)) for w in (0, 1)]
        near = [threads.submit(soak_writer, root, w, WRITERS, seconds) for w in (2, 3)]
        readers = [threads.submit(_reader, root, stop, problems) for _ in range(2)]
        results = [job.get(timeout=seconds + 120) for job in far] + [job.result() for job in near]
        stop.set()
        reads = sum(reader.result() for reader in readers)
    elapsed = time.monotonic() - started
    lost = 0
    for name in SOAK_ARRAYS:
        final = zarrkit.open_array(LocalStore(root), path=name)[...].reshape(-1)
        for writer, (models, _) in enumerate(results):
            lost += int((final[writer::WRITERS] != models[name]).sum())
    writes = sum(count for _, count in results)
    record(
        "soak",
        {
            "seconds": round(elapsed, 1),
            "writers": "2 processes + 2 threads",
            "acknowledged writes": writes,
            "chunk reads during writes": reads,
            "lost updates": lost,
            "reader problems": len(problems),
        },
    )
    assert writes > 100 and reads > 100
    assert problems == []
    assert lost == 0
