"""zarrkit's telemetry as OpenTelemetry spans and metrics (the ``zarrkit[otel]`` extra).

Subscribe an :class:`OpenTelemetry` exporter and every array read or write becomes a span
(``zarrkit.read``, ``zarrkit.write``) whose children are the store calls made for it
(``zarrkit.store.get_many`` ...), also those made in worker threads; store calls outside
any array operation (metadata documents, listings) are spans of their own, children of
whatever span is current. Codec calls are summed into their array span's attributes
(``zarrkit.codec.decode.seconds``, ``zarrkit.codec.decode.calls``), or become child spans
with ``codec_spans=True`` (one per chunk: many, for small chunks).

Metrics, each with the attributes named in brackets:

========================== ========= =====================================================
``zarrkit.array.bytes``    counter   bytes read or written [op, path]
``zarrkit.array.duration`` histogram seconds per read or write [op, path]
``zarrkit.store.requests`` counter   store calls [op, outcome]
``zarrkit.store.bytes``    counter   bytes read or written [op]
``zarrkit.store.duration`` histogram seconds per store call [op]
``zarrkit.codec.duration`` histogram seconds per chunk [op, codecs]
``zarrkit.cache.events``   counter   chunk-cache lookups and evictions [op]
``zarrkit.store.retries``  counter   store calls retried [op, reason]
``zarrkit.store.conflicts`` counter  conditional calls that met another version [op]
========================== ========= =====================================================

Examples
--------
>>> from opentelemetry.sdk.trace import TracerProvider
>>> from zarrkit import telemetry
>>> exporter = telemetry.subscribe(OpenTelemetry(tracer_provider=TracerProvider()))
>>> telemetry.unsubscribe(exporter)
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

from zarrkit.telemetry import (
    ArrayEvent,
    CacheEvent,
    CodecEvent,
    ConflictEvent,
    RetryEvent,
    StoreEvent,
    Timed,
)

SCOPE = "zarrkit"


class OpenTelemetry:
    """A telemetry subscriber exporting to OpenTelemetry: spans through ``tracer_provider``,
    metrics through ``meter_provider`` (the global providers by default)."""

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        codec_spans: bool = False,
    ) -> None:
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self.codec_spans = codec_spans
        self.array_bytes = meter.create_counter("zarrkit.array.bytes", unit="By")
        self.array_duration = meter.create_histogram("zarrkit.array.duration", unit="s")
        self.store_requests = meter.create_counter("zarrkit.store.requests", unit="{request}")
        self.store_bytes = meter.create_counter("zarrkit.store.bytes", unit="By")
        self.store_duration = meter.create_histogram("zarrkit.store.duration", unit="s")
        self.codec_duration = meter.create_histogram("zarrkit.codec.duration", unit="s")
        self.cache_events = meter.create_counter("zarrkit.cache.events", unit="{event}")
        self.retries = meter.create_counter("zarrkit.store.retries", unit="{retry}")
        self.conflicts = meter.create_counter("zarrkit.store.conflicts", unit="{conflict}")
        # Events of an array operation arrive before it ends: kept until its span is made.
        self._children: defaultdict[int, list[Timed]] = defaultdict(list)
        self._lock = threading.Lock()

    # --- subscriber methods ----------------------------------------------------------------
    def on_array(self, event: ArrayEvent) -> None:
        attributes = {"zarrkit.op": event.op, "zarrkit.path": event.path}
        self.array_bytes.add(event.nbytes, attributes)
        self.array_duration.record(event.duration, attributes)
        with self._lock:
            children = self._children.pop(event.span or 0, [])
        span = self.tracer.start_span(
            f"zarrkit.{event.op}",
            start_time=event.start,
            attributes={
                **attributes,
                "zarrkit.store": event.store,
                "zarrkit.shape": list(event.shape),
                "zarrkit.chunks": event.chunks,
                "zarrkit.nbytes": event.nbytes,
                **_codec_totals(children),
            },
        )
        context = trace.set_span_in_context(span)
        for child in children:
            if isinstance(child, StoreEvent):
                self._store_span(child, context)
            elif self.codec_spans and isinstance(child, CodecEvent):
                self._codec_span(child, context)
        _end(span, event)

    def on_store(self, event: StoreEvent) -> None:
        self.store_requests.add(1, {"zarrkit.op": event.op, "zarrkit.outcome": event.outcome})
        self.store_bytes.add(event.nbytes, {"zarrkit.op": event.op})
        self.store_duration.record(event.duration, {"zarrkit.op": event.op})
        if event.span is None:
            self._store_span(event, None)
        else:
            self._keep(event)

    def on_codec(self, event: CodecEvent) -> None:
        codecs = ",".join(event.codecs)
        self.codec_duration.record(
            event.duration, {"zarrkit.op": event.op, "zarrkit.codecs": codecs}
        )
        if event.span is not None:
            self._keep(event)

    def on_cache(self, event: CacheEvent) -> None:
        self.cache_events.add(1, {"zarrkit.op": event.op})

    def on_retry(self, event: RetryEvent) -> None:
        self.retries.add(1, {"zarrkit.op": event.op, "zarrkit.reason": event.reason})

    def on_conflict(self, event: ConflictEvent) -> None:
        self.conflicts.add(1, {"zarrkit.op": event.op})

    # --- spans -----------------------------------------------------------------------------
    def _keep(self, event: Timed) -> None:
        with self._lock:
            self._children[event.span or 0].append(event)

    def _span(self, name: str, event: Timed, attributes: dict[str, Any], context: Any) -> None:
        span = self.tracer.start_span(
            name, context=context, start_time=event.start, attributes=attributes
        )
        _end(span, event)

    def _store_span(self, event: StoreEvent, context: Any) -> None:
        attributes: dict[str, Any] = {
            "zarrkit.store": event.store,
            "zarrkit.count": event.count,
            "zarrkit.nbytes": event.nbytes,
            "zarrkit.outcome": event.outcome,
        }
        if event.key is not None:
            attributes["zarrkit.key"] = event.key
        self._span(f"zarrkit.store.{event.op}", event, attributes, context)

    def _codec_span(self, event: CodecEvent, context: Any) -> None:
        attributes: dict[str, Any] = {
            "zarrkit.codecs": list(event.codecs),
            "zarrkit.nbytes_in": event.nbytes_in,
            "zarrkit.nbytes_out": event.nbytes_out,
        }
        self._span(f"zarrkit.codec.{event.op}", event, attributes, context)


def _codec_totals(children: list[Timed]) -> dict[str, float | int]:
    """Seconds and calls of the codec events among ``children``, by operation."""
    totals: dict[str, float | int] = {}
    for event in children:
        if isinstance(event, CodecEvent):
            seconds, calls = f"zarrkit.codec.{event.op}.seconds", f"zarrkit.codec.{event.op}.calls"
            totals[seconds] = totals.get(seconds, 0.0) + event.duration
            totals[calls] = totals.get(calls, 0) + 1
    return totals


def _end(span: trace.Span, event: Timed) -> None:
    error = getattr(event, "error", None)
    if error:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=event.end)


__all__ = ["OpenTelemetry"]
