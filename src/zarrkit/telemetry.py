"""Telemetry: structured events from the layer boundaries, delivered to subscribers.

Array reads and writes (:mod:`zarrkit.engine`), store calls (the public methods of
:class:`zarrkit.storage.Store`, so every backend), codec pipeline calls and the decoded-chunk
cache each emit a frozen event to whoever subscribed. With no subscriber nothing is computed,
timed or allocated: a store call, codec call or cache lookup costs one check (``if
active.store:``), an array read or write two (the second to count its chunks).

A subscriber is a callable taking one event (given every event, or only the types named when
subscribing), or an object with methods named after the kinds it wants: ``on_array``,
``on_store``, ``on_codec``, ``on_cache``, ``on_retry``, ``on_conflict``. A subscriber that
raises is unsubscribed and the error logged, so telemetry never breaks a read or a write.

Store and codec calls nested in another of their kind (a wrapper store calling the store it
wraps, a shard's codecs inside the sharding codec) emit nothing of their own: events count
the calls made from above. Events of the work done for one array read or write carry its
``span``, also in the worker threads that do it.

Over 400 lines: the events, the subscriber registry and the observers that build events at
the boundaries share the context variables (span, nesting) and the ``active`` record that
keep the no-subscriber path to one check; split, each part would reach into the others'.

Examples
--------
>>> import zarrkit
>>> from zarrkit import telemetry
>>> a = zarrkit.zeros((4, 4), chunks=(2, 2), dtype="i4")
>>> events = []
>>> with telemetry.subscribed(events.append, telemetry.ArrayEvent):
...     a[:3] = 1
>>> [(e.op, e.shape, e.chunks) for e in events]
[('write', (3, 4), 4)]
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

T = TypeVar("T")
Outcome = Literal["ok", "missing", "error"]
E = TypeVar("E", bound="Event")
log = logging.getLogger("zarrkit.telemetry")


# --- events ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What every event carries: ``span``, the id of the array read or write it happened in
    (``None`` outside any)."""

    kind: ClassVar[str]
    span: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Timed(Event):
    """An event of a call: when it started (ns since the epoch) and how long it took (s)."""

    start: int = 0
    duration: float = 0.0

    @property
    def end(self) -> int:
        """When the call ended, in ns since the epoch."""
        return self.start + int(self.duration * 1e9)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayEvent(Timed):
    """An array read or write: ``shape`` of the selection, ``chunks`` it touched (inner
    chunks, for sharded arrays), ``nbytes`` of data read or written, and ``error`` (the
    exception's type name) when it failed (then shape and bytes are unknown: empty and 0).
    ``span`` is this operation's own id. Streaming (``Array.iter_chunks``) reads each chunk
    as an operation of its own."""

    kind: ClassVar[str] = "array"
    op: Literal["read", "write"]
    path: str
    store: str
    shape: tuple[int, ...]
    chunks: int = 0
    nbytes: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreEvent(Timed):
    """A call of a store's public method: ``op`` is its name (``get``, ``get_many``,
    ``get_ranges``, ``getsize``, ``getsize_prefix``, ``set``, ``set_if_not_exists``,
    ``set_many``, ``delete``, ``delete_many``, ``delete_prefix``, ``list``, and those of
    versions: ``get_versioned``, ``get_many_versioned``, ``get_ranges_if``, ``get_then``,
    ``set_if``, ``set_many_if``; zarr-python's other names, such as ``get_sync``, report as
    the call they make). ``key`` is the key
    (or prefix) of single-key calls, ``count`` the keys (or ranges) asked for, ``nbytes``
    the bytes read or written, ``missing`` the keys that held nothing. ``outcome`` is
    "ok", "missing" (a single key that holds nothing) or "error" (then ``error`` is the
    exception's type name)."""

    kind: ClassVar[str] = "store"
    op: str
    store: str
    key: str | None = None
    count: int = 1
    nbytes: int = 0
    missing: int = 0
    outcome: Outcome = "ok"
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecEvent(Timed):
    """One chunk through a codec pipeline: ``codecs`` are the names of its codecs in order
    (e.g. ``("bytes", "zstd")``), ``key`` the chunk's key when the caller knows it."""

    kind: ClassVar[str] = "codec"
    op: Literal["encode", "decode"]
    codecs: tuple[str, ...]
    nbytes_in: int = 0
    nbytes_out: int = 0
    key: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheEvent(Event):
    """A lookup in a :class:`~zarrkit.engine.cache.ChunkCache` ("hit" or "miss"), or a chunk it
    dropped to stay in budget ("evict"); ``nbytes`` of the chunk (0 for a miss)."""

    kind: ClassVar[str] = "cache"
    op: Literal["hit", "miss", "evict"]
    key: Hashable
    nbytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryEvent(Event):
    """A store call about to be tried again: ``attempt`` (1 for the first retry) after
    ``delay`` seconds, because of ``reason`` (e.g. "503", "timeout", "truncated body")."""

    kind: ClassVar[str] = "retry"
    op: str
    store: str
    key: str | None = None
    attempt: int = 1
    delay: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConflictEvent(Event):
    """A conditional write (or read) that found another version of ``key`` than the one
    it required: a read-modify-write's ``set_if``, a ``get_then`` whose value changed between
    its reads, a ``get_ranges_if`` through a cached shard index. ``attempt`` counts from 1,
    ``resolution`` says what follows ("retry", "gave up")."""

    kind: ClassVar[str] = "conflict"
    op: str
    store: str
    key: str
    attempt: int = 1
    resolution: str = "retry"


EVENT_TYPES: tuple[type[Event], ...] = (
    ArrayEvent,
    StoreEvent,
    CodecEvent,
    CacheEvent,
    RetryEvent,
    ConflictEvent,
)
KINDS = tuple(t.kind for t in EVENT_TYPES)
Handler = Callable[[Any], None]


# --- subscribers -------------------------------------------------------------------------------
class Active:
    """The handlers of each kind of event, as tuples (empty: nobody listens). Boundaries
    test one attribute, e.g. ``if active.store:``."""

    __slots__ = ("any", "array", "cache", "codec", "conflict", "retry", "store")

    def __init__(self) -> None:
        self.array: tuple[Handler, ...] = ()
        self.store: tuple[Handler, ...] = ()
        self.codec: tuple[Handler, ...] = ()
        self.cache: tuple[Handler, ...] = ()
        self.retry: tuple[Handler, ...] = ()
        self.conflict: tuple[Handler, ...] = ()
        self.any = False


#: Who listens to what; read by every boundary, replaced (never mutated) on (un)subscribe.
active = Active()

_subscriptions: list[tuple[Any, dict[str, Handler]]] = []
_lock = threading.Lock()


def subscribe(subscriber: Any, *types: type[Event]) -> Any:
    """Send events to ``subscriber`` (a callable, or an object with ``on_<kind>``
    methods) until :func:`unsubscribe`; ``types`` limits which events a callable gets.
    Returns ``subscriber``."""
    handlers = _handlers(subscriber, types)
    with _lock:
        _drop(subscriber)
        _subscriptions.append((subscriber, handlers))
        _refresh()
    return subscriber


def unsubscribe(subscriber: Any) -> None:
    """Stop sending events to ``subscriber`` (nothing happens if it was not subscribed)."""
    with _lock:
        _drop(subscriber)
        _refresh()


@contextmanager
def subscribed(subscriber: Any, *types: type[Event]) -> Iterator[Any]:
    """``subscriber`` receives events inside the ``with`` block (from every thread)."""
    subscribe(subscriber, *types)
    try:
        yield subscriber
    finally:
        unsubscribe(subscriber)


def _handlers(subscriber: Any, types: tuple[type[Event], ...]) -> dict[str, Handler]:
    methods = {k: getattr(subscriber, f"on_{k}") for k in KINDS if hasattr(subscriber, f"on_{k}")}
    if methods:
        return methods
    if not callable(subscriber):
        names = ", ".join(f"on_{k}" for k in KINDS)
        raise TypeError(f"a subscriber is a callable or has methods among {names}: {subscriber!r}")
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise TypeError(f"not an event type: {unknown[0]!r}")
    return {t.kind: subscriber for t in types or EVENT_TYPES}


def _drop(subscriber: Any) -> None:
    # equality, not identity: each `events.append` is a new bound method, equal to the last
    _subscriptions[:] = [
        s for s in _subscriptions if not (s[0] is subscriber or s[0] == subscriber)
    ]


def _refresh() -> None:
    for kind in KINDS:
        found = tuple(
            _guarded(subscriber, handlers[kind])
            for subscriber, handlers in _subscriptions
            if kind in handlers
        )
        setattr(active, kind, found)
    active.any = bool(_subscriptions)


def _guarded(subscriber: Any, handler: Handler) -> Handler:
    """``handler``, unsubscribing its subscriber (and logging why) when it raises."""

    def call(event: Event) -> None:
        try:
            handler(event)
        except Exception:
            log.exception("telemetry subscriber %r failed; unsubscribed", subscriber)
            unsubscribe(subscriber)

    return call


# The array operation being observed, and the kinds of calls being observed (bits), in this
# context: set by the observers below, carried into worker threads by ObservedPool.
_span: contextvars.ContextVar[int | None] = contextvars.ContextVar("zarrkit_span", default=None)
_inside: contextvars.ContextVar[int] = contextvars.ContextVar("zarrkit_inside", default=0)
_BITS = {kind: 1 << i for i, kind in enumerate(KINDS)}
_DELIVERING = 1 << len(KINDS)
_SUBSCRIBER = (_DELIVERING << 1) - 1  # within every kind, and delivering
_ids = itertools.count(1)


# --- emitting ----------------------------------------------------------------------------------
def deliver(event: Event) -> None:
    """Hand ``event`` to its subscribers (callers check ``active.<kind>`` first). What a
    subscriber does with zarrkit meanwhile emits nothing, so a subscriber storing its
    figures in a Zarr array cannot feed itself."""
    token = _inside.set(_SUBSCRIBER)
    try:
        for handler in getattr(active, event.kind):
            handler(event)
    finally:
        _inside.reset(token)


def emit(event_type: type[E], /, **fields: Any) -> None:
    """Emit an event of ``event_type`` with ``fields`` (and the current ``span``) if anyone
    listens: one line where it happens, e.g. ``telemetry.emit(RetryEvent, op="get",
    store=repr(store), key=key, attempt=2, delay=0.1, reason="503")``."""
    if getattr(active, event_type.kind) and not _inside.get() & _DELIVERING:
        deliver(event_type(span=_span.get(), **fields))


def within(kind: str) -> bool:
    """Whether this context is already inside an observed call of ``kind`` (whose events
    then cover the nested call)."""
    return bool(_inside.get() & _BITS[kind])


def current_span() -> int | None:
    """The id of the array read or write this context works for, if any."""
    return _span.get()


class Clock:
    """Times an observed call (``with Clock("store") as clock:``): when it started (ns since
    the epoch), how long it took, and the type name of the exception it raised, if any.
    Inside the block this context counts as within a call of its kind."""

    __slots__ = ("_bit", "_t0", "_token", "duration", "error", "start")

    def __init__(self, kind: str) -> None:
        self._bit = _BITS[kind]
        self.start = 0
        self.duration = 0.0
        self.error: str | None = None

    def __enter__(self) -> Clock:
        self.start = time.time_ns()
        self._t0 = time.perf_counter()
        self._token = _inside.set(_inside.get() | self._bit)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, trace: object) -> None:
        self.duration = time.perf_counter() - self._t0
        _inside.reset(self._token)
        if kind is not None and not issubclass(kind, GeneratorExit):
            self.error = kind.__name__


class Call:
    """What an observed array read or write learns while it runs."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks


_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar("zarrkit_call", default=None)


def note_chunks(count: int) -> None:
    """Tell the array read or write being observed how many chunks it touches."""
    current = _call.get()
    if current is not None:
        current.chunks = count


def observe_array(
    op: Literal["read", "write"],
    path: str,
    store: object,
    call: Callable[[], T],
    measure: Callable[[T], tuple[tuple[int, ...], int]],
    *,
    chunks: int = 0,
) -> T:
    """Run ``call`` (an array read or write) as a new span and emit its :class:`ArrayEvent`;
    ``measure(result)`` gives the shape and bytes of the data read or written, ``chunks``
    the chunks touched (unless the call notes them, :func:`note_chunks`)."""
    span, record, clock = next(_ids), Call(chunks), Clock("array")
    shape: tuple[int, ...] = ()
    nbytes = 0
    tokens = _span.set(span), _call.set(record)
    try:
        with clock:
            result = call()
        shape, nbytes = measure(result)
        return result
    finally:
        _span.reset(tokens[0])
        _call.reset(tokens[1])
        if active.array:
            deliver(
                ArrayEvent(
                    span=span,
                    start=clock.start,
                    duration=clock.duration,
                    op=op,
                    path=path,
                    store=repr(store),
                    shape=shape,
                    chunks=record.chunks,
                    nbytes=nbytes,
                    error=clock.error,
                )
            )


def observe_store(
    store: object,
    op: str,
    call: Callable[[], T],
    *,
    key: str | None = None,
    count: int = 1,
    sent: int | None = None,
    read: Callable[[T], object] | None = None,
) -> T:
    """Run ``call`` and emit its :class:`StoreEvent`: a write sends ``sent`` bytes; for a
    read, a result of bytes or a list of them is bytes read (``None``: missing), or what
    ``read(result)`` gives of a result of another shape."""
    clock, nbytes, missing = Clock("store"), sent or 0, 0
    received: object = None
    try:
        with clock:
            result = call()
        if sent is None:
            received = result if read is None else read(result)
            nbytes, missing = _received(received)
        return result
    finally:
        if active.store:
            outcome: Outcome = "missing" if sent is None and received is None else "ok"
            deliver(
                StoreEvent(
                    span=_span.get(),
                    start=clock.start,
                    duration=clock.duration,
                    op=op,
                    store=repr(store),
                    key=key,
                    count=count,
                    nbytes=nbytes,
                    missing=missing,
                    outcome="error" if clock.error else outcome,
                    error=clock.error,
                )
            )


def _received(result: object) -> tuple[int, int]:
    """Bytes read and keys missing in the result of a read."""
    if result is None:
        return 0, 1
    if isinstance(result, list):
        values = [memoryview(v).nbytes for v in result if v is not None]
        return sum(values), len(result) - len(values)
    if isinstance(result, bytes | bytearray | memoryview):
        return memoryview(result).nbytes, 0
    return 0, 0


def observe_listing(store: object, prefix: str, keys: Callable[[], Iterator[str]]) -> Iterator[str]:
    """The keys of ``keys()`` (called now, so bad prefixes raise at once), emitting a
    ``list`` :class:`StoreEvent` once they are exhausted or the iteration is abandoned: its
    duration spans the whole listing, the consumer's time between keys included."""
    span, start, t0 = _span.get(), time.time_ns(), time.perf_counter()

    def done(count: int, error: str | None) -> None:
        if active.store:
            deliver(
                StoreEvent(
                    span=span,
                    start=start,
                    duration=time.perf_counter() - t0,
                    op="list",
                    store=repr(store),
                    key=prefix,
                    count=count,
                    outcome="error" if error else "ok",
                    error=error,
                )
            )

    clock = Clock("store")
    try:
        with clock:
            found = keys()
    finally:
        if clock.error:
            done(0, clock.error)
    return _listing(found, done)


def _listing(found: Iterator[str], done: Callable[[int, str | None], None]) -> Iterator[str]:
    clock, count = Clock("store"), 0
    try:
        while True:
            with clock:
                key = next(found, None)
            if key is None:
                return
            count += 1
            yield key
    finally:
        done(count, clock.error)


def observe_codec(
    op: Literal["encode", "decode"],
    codecs: tuple[str, ...],
    nbytes_in: int,
    call: Callable[[], T],
    nbytes_out: int | Callable[[T], int],
    *,
    key: str | None = None,
) -> T:
    """Run ``call`` (one chunk through a codec pipeline) and emit its :class:`CodecEvent`;
    ``nbytes_out`` is the size of what it makes, or measures it from the result."""
    clock, made = Clock("codec"), 0
    try:
        with clock:
            result = call()
        made = nbytes_out if isinstance(nbytes_out, int) else nbytes_out(result)
        return result
    finally:
        if active.codec:
            deliver(
                CodecEvent(
                    span=_span.get(),
                    start=clock.start,
                    duration=clock.duration,
                    op=op,
                    codecs=codecs,
                    nbytes_in=nbytes_in,
                    nbytes_out=made,
                    key=key,
                    error=clock.error,
                )
            )


class ObservedPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's context while anyone subscribes,
    so the events of work done in workers carry the span of the read or write it serves."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if active.any:
            return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)


# --- a ready-made subscriber -------------------------------------------------------------------
@dataclass
class Summary:
    """Totals of what a job did, collected as a subscriber (``zarrkit cp --stats`` prints
    one): store requests by operation, bytes read and written, codec time, requests tried
    again by reason, and the time from subscribing to the last event.

    Examples
    --------
    >>> import zarrkit
    >>> with subscribed(Summary()) as summary:
    ...     a = zarrkit.create_array("memory://summary", shape=(8,), chunks=(4,), dtype="u1")
    ...     a[:] = 1
    >>> summary.bytes_written > 0, "set_many" in summary.requests
    (True, True)
    """

    requests: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0
    bytes_written: int = 0
    codec_seconds: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by reason
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def on_store(self, event: StoreEvent) -> None:
        with self._lock:
            self.requests[event.op] += 1
            if event.op.startswith(("set", "delete")):
                self.bytes_written += event.nbytes
            else:
                self.bytes_read += event.nbytes
            self.errors += event.outcome == "error"
            self.finished = time.perf_counter()

    def on_codec(self, event: CodecEvent) -> None:
        with self._lock:
            self.codec_seconds[event.op] = self.codec_seconds.get(event.op, 0.0) + event.duration
            self.finished = time.perf_counter()

    def on_retry(self, event: RetryEvent) -> None:
        with self._lock:
            self.retries[event.reason] += 1
            self.finished = time.perf_counter()

    @property
    def duration(self) -> float:
        """Seconds from the start of the summary to its last event."""
        return max(self.finished - self.started, 0.0)

    def rows(self) -> list[tuple[str, str]]:
        """The summary as ``(name, value)`` rows for printing."""
        return [
            ("Store requests", _counted(self.requests)),
            ("Bytes read", f"{self.bytes_read:,}"),
            ("Bytes written", f"{self.bytes_written:,}"),
            (
                "Codec time",
                ", ".join(f"{op} {s:.3f} s" for op, s in sorted(self.codec_seconds.items()))
                or "0 s",
            ),
            ("Failed requests", str(self.errors)),
            ("Retries", _counted(self.retries)),
            ("Duration", f"{self.duration:.3f} s"),
        ]


def _counted(counts: Counter[str]) -> str:
    """``"3 (a 2, b 1)"``: the total and each name's count, or ``"0"``."""
    total = sum(counts.values())
    names = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    return f"{total} ({names})" if total else "0"
