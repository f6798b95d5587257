"""A writer killed with SIGKILL at random moments (``scaled(25, 200)`` times) leaves every
chunk, shard and metadata document whole: a fresh reader decodes everything, each chunk
holds its old or its new content, every acknowledged write is there, and the next writer
is not blocked by the locks the dead one held.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import zarrkit
from reliability.conftest import record, scaled
from reliability.writers import KILL_ARRAYS, kill_writer, version_pattern, versions_in
from zarrkit.storage import LocalStore

pytestmark = pytest.mark.slow  # kills writers hundreds of times (about a minute)

CONTEXT = multiprocessing.get_context("forkserver")  # a fresh process per kill, quickly


def _column_parts(
    observed: np.ndarray, model: np.ndarray, column: int, pending: int, rows: int
) -> bool:
    """Whether ``observed`` is ``model`` except that column ``column`` may hold ``pending``
    in whole parts of ``rows`` rows (what one chunk or shard stores)."""
    others = np.ones(model.shape, bool)
    others[:, column] = False
    if not (observed[others] == model[others]).all():
        return False
    for start in range(0, model.shape[0], rows):
        part = observed[start : start + rows, column]
        if not ((part == model[start : start + rows, column]).all() or (part == pending).all()):
            return False
    return True


def _acknowledged(model: np.ndarray, base: int, last: int) -> np.ndarray:
    expected = model.copy()
    for version in range(base, last + 1):
        expected[:, version % 8] = version
    return expected


def test_killed_writer_leaves_whole_old_or_new_data(tmp_path) -> None:
    CONTEXT.set_forkserver_preload(["zarrkit", "reliability.writers"])
    store = LocalStore(tmp_path)
    for name, options in KILL_ARRAYS.items():
        zarrkit.create_array(store, name=name, dtype="i8", fill_value=0, **options)
    zarrkit.open_array(store, path="full")[...] = version_pattern((16, 16), 0)
    models = {name: np.zeros(KILL_ARRAYS[name]["shape"], np.int64) for name in ("cols", "shard")}
    attr, base, rng = None, 1, random.Random(0)
    kills, waits = scaled(25, 200), []
    for _ in range(kills):
        acks = CONTEXT.Array("q", [-1] * 4, lock=False)
        writer = CONTEXT.Process(target=kill_writer, args=(str(tmp_path), base, acks))
        start = time.monotonic()
        writer.start()
        while acks[0] < base:  # progress: no lock left behind by a killed writer blocks it
            assert time.monotonic() - start < 60, "the writer made no progress"
            time.sleep(0.001)
        waits.append(time.monotonic() - start)
        time.sleep(rng.uniform(0, 0.1))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        acked = list(acks)
        reader = LocalStore(tmp_path)  # a fresh handle, as after a restart
        full = zarrkit.open_array(reader, path="full")
        data = full[...]
        for r in range(0, 16, 4):
            for c in range(0, 16, 4):
                block = (slice(r, r + 4), slice(c, c + 4))
                found = versions_in(data[block], np.arange(256).reshape(16, 16)[block])
                assert found in ({acked[0]}, {acked[0] + 1}), (found, acked)
        for index, name in ((1, "cols"), (2, "shard")):
            observed = zarrkit.open_array(reader, path=name)[...]
            expected = _acknowledged(models[name], base, acked[index])
            pending = max(acked[index], base - 1) + 1
            assert _column_parts(observed, expected, pending % 8, pending, 4), (name, acked)
            models[name] = observed
        seen = full.attrs.get("v")
        allowed = {acked[3], acked[3] + 1} if acked[3] >= base else {attr, base}
        assert seen in allowed, (seen, allowed)
        attr = seen
        base = max(acked) + 2
    strays = list(tmp_path.rglob(".zarrkit-tmp-*"))
    record(
        "kill test",
        {
            "kills": kills,
            "torn or undecodable": 0,
            "acknowledged writes lost": 0,
            "stray temp files": len(strays),
            "writer start s (mean, max)": [round(np.mean(waits), 3), round(max(waits), 3)],
        },
    )
    assert not [key for key in LocalStore(tmp_path).list() if ".zarrkit-" in key]  # hidden
