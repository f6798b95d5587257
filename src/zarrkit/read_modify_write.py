"""Read-modify-write of stored objects (chunks, shards, metadata documents) that no
concurrent writer can undo.

Callers hold zarrkit's per-key locks (:mod:`zarrkit.locking`) around a rewrite. Where those
reach every writer of the data (the threads of one process; :class:`LocalStore`'s lock files
across processes) that suffices. Where other processes may write the data beyond their reach
(object stores, databases), each object is written only if it still holds the version that
was read (:meth:`~zarrkit.storage.Store.set_if`); objects whose write met a conflict are
read, modified and written again after a jittered backoff, up to the ``conflict_retries``
setting, and then :class:`~zarrkit.errors.ConflictError` names the key.

Retrying is safe because ``modify`` derives the new value from the value read alone, so a
conditional write whose outcome is unknown (its response lost) may also be reported as a
conflict: the retry reads what is there, the write's own value included, and applies the
change again. (Stores resolve most such writes themselves, by reading the key again.)

A write of several keys that fails part way raises the failure itself when it wrote
nothing, else a :class:`~zarrkit.errors.PartialWriteError` naming exactly the keys it did
not write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from zarrkit import config, locking
from zarrkit.errors import ConflictError, PartialWriteError, StoreError
from zarrkit.retry import not_written, partial_write
from zarrkit.telemetry import ConflictEvent, active, emit
from zarrkit.types import Blob, ChunkStore, Version, Versioned

#: New values of ``keys`` from their old ones (``None``: missing); ``None`` removes a key.
Modify = Callable[[Sequence[str], Sequence[bytes | None]], list[Blob | None]]

# Backoff before retry n: a uniform draw from [0, min(cap, first * 2**n)) ("full jitter"),
# so writers that collided spread out instead of colliding again.
_FIRST_BACKOFF, _LONGEST_BACKOFF = 0.005, 1.0


def needs_conditional_writes(store: ChunkStore) -> bool:
    """Whether read-modify-writes on ``store`` must write conditionally: it can, and its
    locks do not reach writers in other processes."""
    return store.supports_conditional_writes and not store.locks_across_processes


def rewrite(
    store: ChunkStore, keys: Sequence[str], modify: Modify, empty: Callable[[str], Blob]
) -> dict[str, Version]:
    """Replace the value of each of ``keys`` by ``modify(keys, old values)``.

    On stores that need conditional writes, a key that ``modify`` removes but that existed
    gets ``empty(key)`` instead (a removal cannot be conditional there), and the new
    versions are returned; elsewhere the values are plainly written (the caller's locks
    make that safe) and nothing is returned.
    """
    if not keys:
        return {}
    if not needs_conditional_writes(store):
        _write(store, keys, modify(keys, store.get_many(list(keys))))
        return {}
    written: dict[str, Version] = {}
    pending = list(keys)
    tries = config.get("conflict_retries") + 1
    try:
        for attempt in range(tries):
            if attempt:
                time.sleep(random.uniform(0, min(_LONGEST_BACKOFF, _FIRST_BACKOFF * 2**attempt)))
            pending = _rewrite_once(store, pending, modify, empty, written)
            if not pending:
                return written
            if active.conflict:
                _report(store, pending, attempt + 1, "retry" if attempt + 1 < tries else "gave up")
    except StoreError as e:
        if not written:
            raise
        raise partial_write(e, not_written(e, pending)) from e
    error = ConflictError(
        f"other writers changed it during each of {tries} "
        "read-modify-writes; raise the conflict_retries setting or write whole chunks",
        key=pending[0],
        operation="set_if",
    )
    if written:
        raise partial_write(error, pending) from error
    raise error


def _rewrite_once(
    store: ChunkStore,
    keys: list[str],
    modify: Modify,
    empty: Callable[[str], Blob],
    written: dict[str, Version],
) -> list[str]:
    """One round of :func:`rewrite`: the new versions go into ``written``; returns the keys
    whose write met a conflict."""
    olds = store.get_many_versioned(keys)
    news = modify(keys, [old.value for old in olds])
    writes = _conditional_writes(keys, olds, news, empty)
    versions = store.set_many_if(writes) if writes else []
    written.update((w[0], v) for w, v in zip(writes, versions, strict=True) if v is not None)
    return [w[0] for w, v in zip(writes, versions, strict=True) if v is None]


def store_changes(
    store: ChunkStore,
    writes: Sequence[tuple[str, Blob]],
    deletes: Sequence[str],
    keys: Sequence[str],
    modify: Modify,
    empty: Callable[[str], Blob],
) -> None:
    """Store whole values ``writes``, remove ``deletes``, then :func:`rewrite` ``keys``."""
    write_in_steps(
        [
            ([key for key, _ in writes], lambda: store.set_many(writes)),
            (list(deletes), lambda: store.delete_many(deletes)),
            (list(keys), lambda: rewrite(store, keys, modify, empty)),
        ]
    )


def write_in_steps(steps: Sequence[tuple[list[str], Callable[[], object]]]) -> None:
    """Run each ``(keys, write)`` step that has keys, in order; when one fails, the keys of
    the later ones are not written either, and the error says so once an earlier step
    (or part of this one) was written."""
    for i, (step_keys, run) in enumerate(steps):
        if not step_keys:
            continue
        try:
            run()
        except StoreError as e:
            later = [key for keys_after, _ in steps[i + 1 :] for key in keys_after]
            done_before = any(keys_before for keys_before, _ in steps[:i])
            if not done_before and not isinstance(e, PartialWriteError):
                raise
            raise partial_write(e, [*not_written(e, step_keys), *later]) from e


def rewrite_locked(store: ChunkStore, keys: Sequence[str], modify: Modify) -> dict[str, Version]:
    """:func:`rewrite` of values that ``modify`` never removes (metadata documents), under
    the keys' locks."""
    with locking.locked(store, keys):
        return rewrite(store, keys, modify, _never_removed)


def _never_removed(key: str) -> Blob:
    raise AssertionError(f"a document rewrite removed {key!r}")  # pragma: no cover


def _report(store: ChunkStore, keys: Sequence[str], attempt: int, resolution: str) -> None:
    """A :class:`~zarrkit.telemetry.ConflictEvent` for each key whose write met a conflict."""
    for key in keys:
        emit(
            ConflictEvent,
            op="set_if",
            store=repr(store),
            key=key,
            attempt=attempt,
            resolution=resolution,
        )


def _conditional_writes(
    keys: Sequence[str],
    olds: Sequence[Versioned],
    news: Sequence[Blob | None],
    empty: Callable[[str], Blob],
) -> list[tuple[str, Blob, Version | None]]:
    """``(key, value, version read)`` to write; a key that was and stays missing needs none."""
    writes = []
    for key, old, new in zip(keys, olds, news, strict=True):
        if new is None and old.value is None:
            continue
        writes.append((key, empty(key) if new is None else new, old.version))
    return writes


def _write(store: ChunkStore, keys: Sequence[str], news: Sequence[Blob | None]) -> None:
    writes = [(key, new) for key, new in zip(keys, news, strict=True) if new is not None]
    deletes = [key for key, new in zip(keys, news, strict=True) if new is None]
    write_in_steps(
        [
            ([key for key, _ in writes], lambda: store.set_many(writes)),
            (deletes, lambda: store.delete_many(deletes)),
        ]
    )
