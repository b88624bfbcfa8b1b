"""Tracing hot path, side by side with the OpenTelemetry SDK in one process.

Both sides export through a batch processor to an exporter that discards spans
(OTel: ``TracerProvider`` + ``BatchSpanProcessor``; ours: ``Tracer`` with its batch
processor). Each case alternates ours / OTel for every repeat and reports the median
ns/op of each and the ratio ours / OTel (lower is better).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.tracing import Span, Tracer

REPEATS = 21
LOOPS = 2_000

#: (case, target ratio ours / OTel)
TARGETS = {
    "span start+end": 0.2,
    "span as context manager, 3 attributes": None,
    "nested child (parent + child)": None,
    "traceparent inject+extract": 0.3,
    "inject+extract, carrier with 10 other headers": None,
    "unsampled span start+end": 0.1,
}


class _DiscardOtel(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class _DiscardOurs:
    def export(self, spans: Sequence[Span]) -> None:
        pass


def _time(fn: Callable[[int], None], loops: int) -> float:
    start = time.perf_counter_ns()
    fn(loops)
    return (time.perf_counter_ns() - start) / loops


_settle: list[Callable[[], object]] = []


def _compare(name: str, ours: Callable[[int], None], otel: Callable[[int], None]) -> float:
    ours(200)
    otel(200)
    for flush in _settle:  # let both export workers go idle before measuring
        flush()
    a: list[float] = []
    b: list[float] = []
    for _ in range(REPEATS):
        a.append(_time(ours, LOOPS))
        b.append(_time(otel, LOOPS))
    mine, theirs = statistics.median(a), statistics.median(b)
    ratio = mine / theirs
    target = TARGETS.get(name)
    verdict = "" if target is None else (" ok" if ratio <= target else f" MISSED (<= {target})")
    print(f"| {name} | {mine:,.0f} | {theirs:,.0f} | {ratio:.3f}{verdict} |")
    return ratio


def main() -> None:
    ours = Tracer("bench", _DiscardOurs(), config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))
    ours_off = Tracer(
        "bench", _DiscardOurs(), config=TracingConfig(sampler_type=SamplerType.ALWAYS_OFF)
    )
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_DiscardOtel()))
    otel = provider.get_tracer("bench")
    provider_off = TracerProvider(sampler=ALWAYS_OFF)
    provider_off.add_span_processor(BatchSpanProcessor(_DiscardOtel()))
    otel_off = provider_off.get_tracer("bench")
    propagator = TraceContextTextMapPropagator()
    _settle.extend(
        [ours.force_flush, ours_off.force_flush, provider.force_flush, provider_off.force_flush]
    )

    def ours_start_end(n: int) -> None:
        start = ours.start_span
        for _ in range(n):
            start("op").end()

    def otel_start_end(n: int) -> None:
        start = otel.start_span
        for _ in range(n):
            start("op").end()

    def ours_cm(n: int) -> None:
        start = ours.start_span
        for _ in range(n):
            with start("op") as span:
                span.set_attribute("http.method", "GET")
                span.set_attribute("http.status_code", 200)
                span.set_attribute("retry", False)

    def otel_cm(n: int) -> None:
        start = otel.start_as_current_span
        for _ in range(n):
            with start("op") as span:
                span.set_attribute("http.method", "GET")
                span.set_attribute("http.status_code", 200)
                span.set_attribute("retry", False)

    def ours_nested(n: int) -> None:
        start = ours.start_span
        for _ in range(n):
            with start("parent"), start("child"):
                pass

    def otel_nested(n: int) -> None:
        start = otel.start_as_current_span
        for _ in range(n):
            with start("parent"), start("child"):
                pass

    our_ctx = ours.start_span("remote").context
    otel_span = otel.start_span("remote")
    otel_ctx = otel_trace.set_span_in_context(otel_span)

    def ours_propagate(n: int) -> None:
        inject = ours.inject_context
        extract = ours.extract_context
        for _ in range(n):
            carrier: dict[str, Any] = {}
            inject(carrier, our_ctx)
            extract(carrier)

    def otel_propagate(n: int) -> None:
        inject = propagator.inject
        extract = propagator.extract
        for _ in range(n):
            carrier: dict[str, Any] = {}
            inject(carrier, context=otel_ctx)
            extract(carrier)

    headers = {f"x-header-{i}": "value" for i in range(10)}

    def ours_propagate_big(n: int) -> None:
        inject = ours.inject_context
        extract = ours.extract_context
        for _ in range(n):
            carrier: dict[str, Any] = dict(headers)
            inject(carrier, our_ctx)
            extract(carrier)

    def otel_propagate_big(n: int) -> None:
        inject = propagator.inject
        extract = propagator.extract
        for _ in range(n):
            carrier: dict[str, Any] = dict(headers)
            inject(carrier, context=otel_ctx)
            extract(carrier)

    def ours_unsampled(n: int) -> None:
        start = ours_off.start_span
        for _ in range(n):
            start("op").end()

    def otel_unsampled(n: int) -> None:
        start = otel_off.start_span
        for _ in range(n):
            start("op").end()

    print("| case | lexigram ns/op | OTel SDK ns/op | ratio |")
    print("|---|---:|---:|---:|")
    _compare("span start+end", ours_start_end, otel_start_end)
    _compare("span as context manager, 3 attributes", ours_cm, otel_cm)
    _compare("nested child (parent + child)", ours_nested, otel_nested)
    _compare("traceparent inject+extract", ours_propagate, otel_propagate)
    _compare(
        "inject+extract, carrier with 10 other headers", ours_propagate_big, otel_propagate_big
    )
    _compare("unsampled span start+end", ours_unsampled, otel_unsampled)
    otel_context.attach(otel_context.Context())
    ours.shutdown(5.0)
    ours_off.shutdown(5.0)
    provider.shutdown()
    provider_off.shutdown()
    print(f"(dropped by our queue during the run: {ours.dropped_spans})")


if __name__ == "__main__":
    main()
