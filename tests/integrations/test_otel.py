"""The OpenTelemetry exporter, checked with the SDK's in-memory span exporter and metric reader."""

from __future__ import annotations

import numpy as np
import pytest
from optional import module_needs

import zarrkit
from zarrkit import config, telemetry
from zarrkit.engine.cache import ChunkCache
from zarrkit.errors import StoreError
from zarrkit.storage import MemoryStore
from zarrkit.storage.wrappers import FaultInjectionStore

module_needs("opentelemetry.sdk")  # the otel extra

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from zarrkit.integrations.otel import OpenTelemetry


class Exported:
    """The spans and metrics an exporter produced."""

    def __init__(self, **options):
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.exporter = OpenTelemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            **options,
        )

    def finished(self):
        return self.spans.get_finished_spans()

    def points(self, name):
        """``{attributes: value}`` of metric ``name`` (sum, or histogram count)."""
        found = {}
        for resource in self.reader.get_metrics_data().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            key = tuple(sorted(point.attributes.items()))
                            found[key] = point.value if hasattr(point, "value") else point.count
        return found


@pytest.fixture
def exported():
    found = Exported()
    with telemetry.subscribed(found.exporter):
        yield found


def test_array_operations_are_spans_with_their_store_calls_as_children(exported):
    a = zarrkit.create_array(MemoryStore(), name="t", shape=(64,), chunks=(8,), dtype="u1")
    exported.spans.clear()
    with config.set(threads=4, read_threads=4):
        a[:] = 1
        a[:]
    spans = exported.finished()
    write, read = (s for s in spans if s.name in ("zarrkit.write", "zarrkit.read"))
    for parent, op in ((write, "zarrkit.store.set_many"), (read, "zarrkit.store.get_many")):
        children = [s for s in spans if s.parent and s.parent.span_id == parent.context.span_id]
        assert children and {s.name for s in children} == {op}
        assert all(
            parent.start_time <= s.start_time <= s.end_time <= parent.end_time for s in children
        )
        assert sum(s.attributes["zarrkit.count"] for s in children) == 8
    assert dict(read.attributes) | {"zarrkit.codec.decode.seconds": 0} == {
        "zarrkit.op": "read",
        "zarrkit.path": "t",
        "zarrkit.store": repr(a.store),
        "zarrkit.shape": (64,),
        "zarrkit.chunks": 8,
        "zarrkit.nbytes": 64,
        "zarrkit.codec.decode.seconds": 0,
        "zarrkit.codec.decode.calls": 8,
    }


def test_store_calls_outside_array_operations_are_spans_of_their_own(exported):
    store = MemoryStore()
    store.set("zarr.json", b"{}")
    (span,) = exported.finished()
    assert span.name == "zarrkit.store.set" and span.parent is None
    assert span.attributes["zarrkit.key"] == "zarr.json"


def test_codec_spans_on_request():
    found = Exported(codec_spans=True)
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype="u1")
    with telemetry.subscribed(found.exporter):
        a[:] = 1
    write = next(s for s in found.finished() if s.name == "zarrkit.write")
    codecs = [s for s in found.finished() if s.name == "zarrkit.codec.encode"]
    assert len(codecs) == 2 and all(s.parent.span_id == write.context.span_id for s in codecs)
    assert codecs[0].attributes["zarrkit.codecs"] == ("bytes", "zstd")


def test_failures_are_error_spans_and_counted(exported):
    inner = MemoryStore()
    zarrkit.create_array(inner, shape=(4,), chunks=(2,), dtype="u1")[:] = 1
    broken = zarrkit.open_array(FaultInjectionStore(inner, operations={"get_many"}, keys={"c/0"}))
    with pytest.raises(StoreError):
        broken[:]
    read = next(s for s in exported.finished() if s.name == "zarrkit.read")
    assert read.status.status_code == StatusCode.ERROR and read.status.description == "StoreError"
    requests = exported.points("zarrkit.store.requests")
    assert requests[(("zarrkit.op", "get_many"), ("zarrkit.outcome", "error"))] == 1


def test_metrics_per_array_and_per_store_call(exported):
    a = zarrkit.create_array(
        MemoryStore(), name="a", shape=(100,), chunks=(10,), dtype="f4", compressors=None
    )
    b = zarrkit.create_array(MemoryStore(), name="b", shape=(10,), chunks=(10,), dtype="f4")
    a[:] = 1.0
    a[:50], a[50:], b[:]
    read_bytes = exported.points("zarrkit.array.bytes")
    assert read_bytes[(("zarrkit.op", "read"), ("zarrkit.path", "a"))] == 400
    assert read_bytes[(("zarrkit.op", "read"), ("zarrkit.path", "b"))] == 40
    assert read_bytes[(("zarrkit.op", "write"), ("zarrkit.path", "a"))] == 400
    latency = exported.points("zarrkit.array.duration")
    assert latency[(("zarrkit.op", "read"), ("zarrkit.path", "a"))] == 2  # two reads recorded
    assert exported.points("zarrkit.store.bytes")[(("zarrkit.op", "set_many"),)] >= 400
    assert (
        exported.points("zarrkit.codec.duration")[
            (("zarrkit.codecs", "bytes"), ("zarrkit.op", "encode"))
        ]
        == 10
    )


def test_cache_retry_and_conflict_counters(exported):
    a = zarrkit.create_array(
        MemoryStore(), shape=(4,), chunks=(4,), dtype="u1", cache=ChunkCache(64)
    )
    a[:] = np.arange(4)
    a[:], a[:]
    telemetry.emit(telemetry.RetryEvent, op="get", store="s", key="k", reason="503")
    telemetry.emit(telemetry.ConflictEvent, op="set_if", store="s", key="k")
    cache = exported.points("zarrkit.cache.events")
    assert cache == {(("zarrkit.op", "miss"),): 1, (("zarrkit.op", "hit"),): 1}
    assert exported.points("zarrkit.store.retries") == {
        (("zarrkit.op", "get"), ("zarrkit.reason", "503")): 1
    }
    assert exported.points("zarrkit.store.conflicts") == {(("zarrkit.op", "set_if"),): 1}
