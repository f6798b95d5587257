"""Writers and oracles shared by the concurrency, kill and soak tests (importable by
spawned processes).

Every value a writer stores says who wrote it and when: ``stamp(writer, seq)``. Two oracles
check the final array:

* ownership: writer ``w`` owns the elements ``i`` with ``i % writers == w`` (so all
  writers share every chunk and shard) and keeps a model of its own elements; the array
  must equal the union of the models exactly. Any lost update shows.
* linearizability: writers write overlapping ranges and log when each write started and
  ended; each element must hold the value of a write that covered it, and no write that
  covered it may have started after that write ended.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import zarrkit
from zarrkit.storage import LocalStore, Store

FILL = -1


def stamp(writer: int, seq: int) -> int:
    return writer * 1_000_000 + seq


def owner_of(value: np.ndarray) -> np.ndarray:
    return value // 1_000_000


LAYOUTS: dict[str, dict[str, Any]] = {
    # one chunk holds all 64 elements
    "chunk": {"shape": (64,), "chunks": (64,)},
    # one shard holds all 64 elements, in 8 inner chunks
    "shard": {"shape": (64,), "chunks": (8,), "shards": (64,)},
    # many chunks, many shards, 2-d
    "grid": {"shape": (24, 40), "chunks": (5, 7), "shards": (10, 14)},
}


def create(store: Store, layout: str, path: str = "a") -> Any:
    return zarrkit.create_array(
        store, name=path, dtype="i8", fill_value=FILL, overwrite=True, **LAYOUTS[layout]
    )


@dataclass(frozen=True)
class Write:
    writer: int
    seq: int
    lo: int  # flat element range [lo, hi)
    hi: int
    start: float
    end: float


def own_elements(
    array: Any, writer: int, writers: int, writes: int, seed: int, pause: float = 0.0
) -> np.ndarray:
    """Write random runs of this writer's own elements (flat index ``% writers ==
    writer``); return the model of its elements (``FILL`` where never written)."""
    rng = random.Random(seed)
    flat = np.arange(int(np.prod(array.shape)))
    mine = flat[flat % writers == writer]
    model = np.full(len(mine), FILL, dtype=np.int64)
    for seq in range(writes):
        lo = rng.randrange(len(mine))
        hi = rng.randrange(lo, len(mine)) + 1
        _write_flat(array, mine[lo:hi], stamp(writer, seq))
        model[lo:hi] = stamp(writer, seq)
        if pause:
            time.sleep(pause * rng.random())
    return model


def _write_flat(array: Any, flat: np.ndarray, value: int) -> None:
    """Write ``value`` at flat indexes ``flat`` (a strided run: a[start:stop:step] in 1-d,
    coordinate selection in n-d)."""
    if array.ndim == 1:
        step = int(flat[1] - flat[0]) if len(flat) > 1 else 1
        array[int(flat[0]) : int(flat[-1]) + 1 : step] = value
    else:
        array.vindex[np.unravel_index(flat, array.shape)] = value


def check_ownership(array: Any, models: dict[int, np.ndarray], writers: int) -> int:
    """How many elements differ from the writers' models (lost updates)."""
    flat = np.asarray(array[...]).reshape(-1)
    index = np.arange(len(flat))
    lost = 0
    for writer, model in models.items():
        lost += int((flat[index % writers == writer] != model).sum())
    return lost


def overlapping(array: Any, writer: int, writes: int, seed: int) -> list[Write]:
    """Write random overlapping flat ranges; log each write's interval."""
    rng = random.Random(seed)
    size = int(np.prod(array.shape))
    log = []
    for seq in range(writes):
        lo = rng.randrange(size)
        hi = rng.randrange(lo, min(size, lo + size // 2)) + 1
        start = time.monotonic()
        _write_flat(array, np.arange(lo, hi), stamp(writer, seq))
        log.append(Write(writer, seq, lo, hi, start, time.monotonic()))
    return log


def check_linearizable(array: Any, log: list[Write]) -> int:
    """How many elements hold a value no serial order of the logged writes explains."""
    flat = np.asarray(array[...]).reshape(-1)
    by_value = {stamp(w.writer, w.seq): w for w in log}
    bad = 0
    for index, value in enumerate(flat.tolist()):
        covering = [w for w in log if w.lo <= index < w.hi]
        if value == FILL:
            bad += bool(covering)
            continue
        held = by_value.get(value)
        if held is None or not held.lo <= index < held.hi:
            bad += 1
        elif any(w.start > held.end for w in covering):
            bad += 1  # a write that began after this one ended was lost
    return bad


# --- entry points of spawned processes -------------------------------------------------------
def process_own_elements(root: str, layout: str, writer: int, writers: int, writes: int) -> Any:
    array = zarrkit.open_array(LocalStore(root), path=layout)
    return own_elements(array, writer, writers, writes, seed=writer)


def process_own_elements_at(
    start: Any, url: str, layout: str, writer: int, writers: int, writes: int
) -> Any:
    """:func:`own_elements` on the array ``layout`` of the store at ``url`` (any backend),
    once every writer has opened it (``start``: a barrier)."""
    array = zarrkit.open_array(url, path=layout)
    start.wait()
    return own_elements(array, writer, writers, writes, seed=writer)


def process_overlapping(root: str, layout: str, writer: int, writes: int) -> list[Write]:
    array = zarrkit.open_array(LocalStore(root), path=layout)
    return overlapping(array, writer, writes, seed=100 + writer)


# --- whole-chunk versions, for torn-read checks ---------------------------------------------
def version_pattern(shape: tuple[int, ...], version: int) -> np.ndarray:
    """Version ``version`` of an array: element ``i`` holds ``version * 10**6 + i``, so a
    chunk read back names the one version it came from, or shows it is torn."""
    return version * 1_000_000 + np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


def versions_in(block: np.ndarray, flat_index: np.ndarray) -> set[int]:
    """The versions the elements of ``block`` (at flat indexes ``flat_index``) come from."""
    return set(((block - flat_index) // 1_000_000).reshape(-1).tolist())


def rewrite_loop(root: str, path: str, seconds: float) -> int:
    """Rewrite the whole array with new versions for ``seconds``; return the last one."""
    array = zarrkit.open_array(LocalStore(root), path=path)
    deadline = time.monotonic() + seconds
    version = 0
    while time.monotonic() < deadline:
        version += 1
        array[...] = version_pattern(array.shape, version)
    return version


# --- the kill test's writer ------------------------------------------------------------------
KILL_ARRAYS: dict[str, dict[str, Any]] = {
    "full": {"shape": (16, 16), "chunks": (4, 4)},  # whole-array rewrites (zstd)
    "cols": {"shape": (8, 8), "chunks": (4, 4), "compressors": None},  # column RMW
    "shard": {"shape": (8, 8), "chunks": (2, 2), "shards": (4, 4)},  # column RMW of shards
}


def kill_writer(root: str, base: int, acks: Any) -> None:
    """Write versions ``base, base + 1, ...`` until killed, acknowledging each operation in
    ``acks`` (full, cols, shard, attrs) once it has returned."""
    store = LocalStore(root)
    full, cols, shard = (zarrkit.open_array(store, path=name) for name in KILL_ARRAYS)
    version = base
    while True:
        full[...] = version_pattern(full.shape, version)
        acks[0] = version
        cols[:, version % 8] = version
        acks[1] = version
        shard[:, version % 8] = version
        acks[2] = version
        full.update_attributes({"v": version})
        acks[3] = version
        version += 1


# --- the soak ----------------------------------------------------------------------------------
SOAK_ARRAYS: dict[str, dict[str, Any]] = {
    "plain": {"shape": (48, 48), "chunks": (8, 8)},
    "sharded": {"shape": (48, 48), "chunks": (4, 4), "shards": (16, 16)},
}


def soak_writer(root: str, writer: int, writers: int, seconds: float) -> tuple[dict[str, Any], int]:
    """For ``seconds``, write random runs of this writer's own elements of the soak arrays;
    return its model of each array and the number of writes."""
    rng = random.Random(writer)
    arrays = {name: zarrkit.open_array(LocalStore(root), path=name) for name in SOAK_ARRAYS}
    flat = np.arange(48 * 48)
    mine = flat[flat % writers == writer]
    models = {name: np.full(len(mine), FILL, dtype=np.int64) for name in arrays}
    deadline, seq = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        name = rng.choice(list(arrays))
        lo = rng.randrange(len(mine))
        hi = min(len(mine), lo + rng.randrange(1, 200))
        _write_flat(arrays[name], mine[lo:hi], stamp(writer, seq))
        models[name][lo:hi] = stamp(writer, seq)
        seq += 1
    return models, seq
