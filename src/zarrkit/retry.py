"""Riding out faults of remote stores: one retry policy, one retry loop, and batches that
stop at their first failure and say exactly what they did not do.

A request to a remote store (an object store, Redis, PostgreSQL) that fails transiently (a
5xx or 429 answer, a connection reset or refused, a timeout, a body shorter than announced,
a checksum mismatch in transfer) is tried again at once, then after exponential backoffs
with full jitter, up to ``retry_attempts`` tries, none starting later than
``retry_deadline`` seconds after the first (the last backoff is cut short to try once more
at the deadline). What is not transient (a missing key, a refusal, a conflict) is raised at
once. Each backend says which of its errors are transient (its ``Classify`` function); a
request that still fails raises :class:`~zarrkit.errors.RetriesExhaustedError` naming the
key, the operation, the tries made and the last reason.

Batches (:func:`fan_out`, :func:`settle`) run on a pool (their first call in the caller's
thread); the first failure cancels the rest of the batch and of every batch nested in it
(the requests of one array read): requests not yet started never start, and those backing
off give up at once. A batch of writes then names exactly the keys it did not write
(:func:`write_all`, :func:`write_taken`).

Examples
--------
>>> from zarrkit import config
>>> with config.set(retry_attempts=3):
...     RetryPolicy.from_options({"retry_deadline": 5}).attempts
3
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

from zarrkit import config
from zarrkit.errors import PartialWriteError, RetriesExhaustedError, StoreError
from zarrkit.telemetry import RetryEvent, active, emit

T = TypeVar("T")
T0 = TypeVar("T0")

#: The reason an error is transient ("503", "timeout", "truncated body" ...), or ``None``
#: when it is not (then it is raised at once).
Classify = Callable[[BaseException], str | None]

#: The settings (and storage options) of the policy, by field.
SETTINGS = {
    "attempts": "retry_attempts",
    "deadline": "retry_deadline",
    "backoff": "retry_backoff",
    "max_backoff": "retry_max_backoff",
    "multiplier": "retry_multiplier",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how long a failing request is tried (defaults: the ``retry_*``
    settings of :mod:`zarrkit.config`)."""

    attempts: int = 10
    deadline: float = 60.0
    backoff: float = 0.01
    max_backoff: float = 5.0
    multiplier: float = 3.0

    def __post_init__(self) -> None:
        if not (isinstance(self.attempts, int) and self.attempts >= 1):
            raise ValueError(f"retry_attempts must be an integer >= 1, got {self.attempts!r}")
        for name in ("deadline", "backoff", "max_backoff"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"retry_{name} must be >= 0 seconds, got {getattr(self, name)!r}")
        if not self.multiplier >= 1:
            raise ValueError(f"retry_multiplier must be >= 1, got {self.multiplier!r}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """The policy of the current settings, with ``retry_*`` ``options`` of a store over
        them."""
        return cls(**{f: options.get(name, config.get(name)) for f, name in SETTINGS.items()})

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (1 for the first): none before the first,
        since a read of many objects waits for its slowest request and the failure itself
        took a round trip; then a uniform draw below an exponentially growing ceiling
        ("full jitter"), so clients that keep failing together spread out."""
        if retry == 1:
            return 0.0
        ceiling = min(self.max_backoff, self.backoff * self.multiplier ** (retry - 2))
        return random.uniform(0, ceiling)


def split_options(options: dict[str, Any]) -> dict[str, Any]:
    """Remove the ``retry_*`` entries from a store's ``options`` and return them."""
    return {name: options.pop(name) for name in SETTINGS.values() if name in options}


def call(
    request: Callable[[], T],
    classify: Classify,
    options: Mapping[str, Any],
    *,
    key: str | None,
    operation: str,
    store: object = None,
) -> T:
    """``request()``, tried again while it fails transiently (see the module docstring);
    ``options`` are the store's ``retry_*`` options."""
    policy = RetryPolicy.from_options(options)
    start = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return request()
        except Exception as error:
            reason = classify(error)
            if reason is None:
                raise
            elapsed = time.monotonic() - start
            if attempt == policy.attempts or elapsed >= policy.deadline:
                raise _exhausted(error, reason, attempt, elapsed, policy, key, operation) from error
            delay = min(policy.delay(attempt), policy.deadline - elapsed)
        _report_retry(store, operation, key, attempt, delay, reason)
        _pause(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises


def _exhausted(
    error: Exception,
    reason: str,
    attempts: int,
    elapsed: float,
    policy: RetryPolicy,
    key: str | None,
    operation: str,
) -> RetriesExhaustedError:
    limit = (
        f"retry_attempts={policy.attempts}"
        if attempts == policy.attempts
        else f"retry_deadline={policy.deadline:g} s"
    )
    detail = str(error).split("\n", 1)[0]
    return RetriesExhaustedError(
        f"failed {attempts} times in {elapsed:.2f} s ({limit} reached); last: {reason}: {detail}",
        key=key,
        operation=operation,
        attempts=attempts,
        reason=reason,
        elapsed=elapsed,
    )


def _report_retry(
    store: object, operation: str, key: str | None, attempt: int, delay: float, reason: str
) -> None:
    """Announce a retry to telemetry (:class:`~zarrkit.telemetry.RetryEvent`), where
    subscribers count retries and their causes."""
    if active.retry:
        fields = {"op": operation, "store": repr(store), "key": key, "attempt": attempt}
        emit(RetryEvent, **fields, delay=delay, reason=reason)


# --- batches and their cancellation ---------------------------------------------------------
class Cancelled(BaseException):
    """A request given up because another one of its batch failed for good. A
    ``BaseException`` (as ``asyncio.CancelledError``), so no ``except Exception`` of a
    backend mistakes it for a failure of its own; :func:`settle` stops it."""


class _Scope:
    """The requests of one batch and the batches nested in it (one array read or write)."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.failure: BaseException | None = None
        self._lock = threading.Lock()

    def fail(self, failure: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = failure
        self.cancelled.set()


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "zarrkit_retry_scope", default=None
)


def _pause(seconds: float) -> None:
    """Wait ``seconds`` before a retry, unless the batch gives up meanwhile."""
    scope = _scope.get()
    if scope is None:
        time.sleep(seconds)
    elif scope.cancelled.wait(seconds):
        raise Cancelled


def settle(
    call: Callable[[T0], T], items: Sequence[T0], pool: Executor
) -> tuple[list[T | BaseException], BaseException | None]:
    """``call(item)`` for every item: the first in this thread (which would only wait
    otherwise: a hand-off to a pool thread less), the others on ``pool``. Each one's
    result or exception, and the failure that stopped the batch (``None``: none failed).
    After the first failure the others are cancelled (see the module docstring); every
    call has ended when this returns."""
    if len(items) < 2:
        outcomes = [_outcome(call, item) for item in items]
        return outcomes, next((o for o in outcomes if isinstance(o, BaseException)), None)
    scope = _scope.get() or _Scope()
    token = _scope.set(scope)
    futures: list[Future[T]] = []
    try:
        # a failing call cancels the batch at once, even while this thread runs its own
        watched = partial(_watched, scope, call)
        futures = [pool.submit(contextvars.copy_context().run, watched, i) for i in items[1:]]
        first = contextvars.copy_context().run(_outcome, watched, items[0], Cancelled)
    except BaseException as e:  # KeyboardInterrupt, SystemExit: stop the others, re-raise
        scope.fail(e)
        _cancel(futures)
        raise
    finally:
        _scope.reset(token)
    failed = first if isinstance(first, BaseException) else None
    if failed is None:
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f.exception() for f in futures if f.done() and f.exception()), None)
    if failed is None:
        return [first, *(f.result() for f in futures)], None
    _cancel(futures)
    return [first, *(_result(f) for f in futures)], scope.failure


def _watched(scope: _Scope, call: Callable[[T0], T], item: T0) -> T:
    """``call(item)``, failing ``scope`` when it raises."""
    try:
        return call(item)
    except BaseException as e:
        scope.fail(e)
        raise


def _cancel(futures: Sequence[Future[Any]]) -> None:
    """Cancel the futures not started and wait for the others."""
    for future in futures:
        future.cancel()
    wait(futures)


def fan_out(call: Callable[[T0], T], items: Sequence[T0], pool: Executor) -> list[T]:
    """:func:`settle`, raising the batch's failure once (never one per item)."""
    outcomes, failure = settle(call, items, pool)
    if failure is not None:
        raise failure
    return cast(list[T], outcomes)


def write_all(
    call: Callable[[T0], T], items: Sequence[T0], keys: Sequence[Sequence[str]], pool: Executor
) -> list[T]:
    """:func:`fan_out` of writes, ``call(items[i])`` writing ``keys[i]``: a failure
    names exactly the keys not written: the failure itself when none was written, else a
    :class:`~zarrkit.errors.PartialWriteError`."""
    outcomes, failure = settle(call, items, pool)
    _raise_unwritten(failure, outcomes, keys)
    return cast(list[T], outcomes)


def settle_taken(
    call: Callable[[T0], T], items: Sequence[T0], workers: int, pool: Executor
) -> tuple[list[T | BaseException], BaseException | None]:
    """:func:`settle` by ``workers`` loops (the first in this thread), each taking the
    items of its own contiguous share in order, then, its share done, the last item left
    of the share with the most left: a loop slowed down (a busy core, a slow file) leaves
    part of its share to the others, so the loops end close together, each still working
    in its own part of the items. After the first failure none is taken
    (:class:`Cancelled`: an item never taken)."""
    outcomes: list[T | BaseException] = [Cancelled()] * len(items)
    loops = min(workers, len(items))
    shares = [[len(items) * w // loops, len(items) * (w + 1) // loops] for w in range(loops)]
    lock = threading.Lock()

    def next_item(share: list[int]) -> int | None:
        with lock:
            if share[0] == share[1]:  # done: take from the end of the largest share left
                share = max(shares, key=lambda left: left[1] - left[0])
                if share[0] == share[1]:
                    return None
                share[1] -= 1
                return share[1]
            share[0] += 1
            return share[0] - 1

    def take(loop: int) -> None:
        scope = _scope.get()
        while (scope is None or not scope.cancelled.is_set()) and (
            i := next_item(shares[loop])
        ) is not None:
            try:
                outcomes[i] = call(items[i])
            except BaseException as e:
                outcomes[i] = e
                raise

    _, failure = settle(take, range(loops), pool)
    return outcomes, failure


def write_taken(
    call: Callable[[T0], object],
    items: Sequence[T0],
    keys: Sequence[Sequence[str]],
    workers: int,
    pool: Executor,
) -> None:
    """:func:`write_all` of items taken in turn (:func:`settle_taken`)."""
    outcomes, failure = settle_taken(call, items, workers, pool)
    _raise_unwritten(failure, outcomes, keys)


def _raise_unwritten(
    failure: BaseException | None, outcomes: Sequence[object], keys: Sequence[Sequence[str]]
) -> None:
    """Raise the failure of a batch of writes (none: return), naming the keys not written
    (see :func:`write_all`): ``outcomes[i]`` is what writing ``keys[i]`` gave."""
    if failure is None:
        return
    if not isinstance(failure, StoreError):
        raise failure
    unwritten = [
        missed
        for key, outcome in zip(keys, outcomes, strict=True)
        if isinstance(outcome, BaseException)
        for missed in not_written(outcome, key)
    ]
    wrote_some = any(
        not isinstance(o, BaseException) or isinstance(o, PartialWriteError) for o in outcomes
    )
    if not wrote_some:
        raise failure
    raise partial_write(failure, unwritten) from failure


def _outcome(
    call: Callable[[T0], T], item: T0, also: type[BaseException] = Exception
) -> T | BaseException:
    """``call(item)``, or the exception it raised (an ``Exception``, or ``also``)."""
    try:
        return call(item)
    except (Exception, also) as e:
        return e


def _result(future: Future[Any]) -> Any:
    """A finished future's result, or its exception (:class:`Cancelled` if it never ran)."""
    if future.cancelled():
        return Cancelled()
    error = future.exception()
    return future.result() if error is None else error


# --- what a failed write did not do ---------------------------------------------------------
def not_written(error: BaseException, keys: Sequence[str]) -> list[str]:
    """The keys of a failed write of ``keys`` that were not written: those the error names
    (a :class:`~zarrkit.errors.PartialWriteError`), else all of them."""
    if isinstance(error, PartialWriteError):
        return list(error.unwritten)
    return list(keys)


def partial_write(error: StoreError, unwritten: Sequence[str]) -> PartialWriteError:
    """The error of a write that wrote some keys, then failed with ``error`` and did not
    write ``unwritten`` (raise it ``from error``)."""
    root = error.error if isinstance(error, PartialWriteError) else error
    return PartialWriteError(unwritten, error=root)


__all__ = [
    "SETTINGS",
    "Cancelled",
    "Classify",
    "RetryPolicy",
    "call",
    "fan_out",
    "not_written",
    "partial_write",
    "settle",
    "settle_taken",
    "split_options",
    "write_all",
    "write_taken",
]
