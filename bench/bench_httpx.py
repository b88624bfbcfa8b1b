"""Outgoing httpx calls: what our transport adds per request, beside what
opentelemetry-instrumentation-httpx adds, against the same in-process server, in one run.

The server is an ``httpx.MockTransport`` handler in this process answering 200 with a
small body, so what is measured is the client and its instrumentation, not a network.
Three sync ``httpx.Client``s send ``GET http://inventory.test/stock/<i>`` to it:

- **bare**: ``Client(transport=MockTransport(handler))``;
- **lexigram**: ``Client(transport=InstrumentedTransport(MockTransport(handler)))`` — a
  CLIENT span through our ``Tracer`` (sampled, batch processor, discarding exporter),
  ``traceparent`` injected, ``http_client_request_duration`` observed in the default
  collector with the exemplar source on;
- **OTel**: ``Client(transport=SyncOpenTelemetryTransport(MockTransport(handler), ...))``
  with an SDK ``TracerProvider`` (always on, ``BatchSpanProcessor``, discarding exporter)
  and ``MeterProvider`` (in-memory reader), stable HTTP semantic conventions
  (``OTEL_SEMCONV_STABILITY_OPT_IN=http``), so both record the same span and histogram.

Wall clock: each round times ``LOOPS`` requests of each client, one after the other
(short rounds, many of them, so load bursts on a shared machine hit all three alike);
per request = median over ``REPEATS`` rounds, added = median over rounds of
(instrumented - bare) in the same round. Instructions (callgrind, when valgrind is
installed): per request, ``(count(6n) - count(n)) / 5n`` in a fresh interpreter per
client, then the same subtraction. The target: ours adds ≤ 0.2 x what OTel adds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench._callgrind import per_call

os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

REPEATS = int(os.environ.get("BENCH_HTTPX_REPEATS", "60"))
LOOPS = int(os.environ.get("BENCH_HTTPX_LOOPS", "250"))
CALLGRIND_N = int(os.environ.get("BENCH_HTTPX_CG_N", "100"))
TARGET = 0.2

_CLIENTS = textwrap.dedent(
    """
    import os
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

    import httpx


    def handler(request):
        return httpx.Response(200, content=b'{"in_stock": 7}',
                              headers={"content-type": "application/json"},
                              extensions={"http_version": b"HTTP/1.1"})


    def bare():
        return httpx.Client(transport=httpx.MockTransport(handler))


    def lexigram():
        from lexigram.monitor.backends._wiring import enable_exemplars
        from lexigram.monitor.config import SamplerType, TracingConfig
        from lexigram.monitor.instrumentation import InstrumentedTransport
        from lexigram.monitor.tracing import Tracer

        class Discard:
            def export(self, spans):
                pass

        tracer = Tracer("bench", Discard(),
                        config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))
        enable_exemplars()
        transport = InstrumentedTransport(httpx.MockTransport(handler), tracer=tracer)
        return httpx.Client(transport=transport)


    def otel():
        from opentelemetry.instrumentation.httpx import SyncOpenTelemetryTransport
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor, SpanExporter, SpanExportResult,
        )

        class Discard(SpanExporter):
            def export(self, spans):
                return SpanExportResult.SUCCESS

            def shutdown(self):
                pass

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(Discard()))
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        transport = SyncOpenTelemetryTransport(
            httpx.MockTransport(handler),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        return httpx.Client(transport=transport)


    def run(client, n):
        get = client.get
        for i in range(n):
            get(f"http://inventory.test/stock/{i % 100}").read()
    """
)


def _load_clients(workdir: Path) -> Any:
    path = workdir / "httpx_clients.py"
    path.write_text(_CLIENTS)
    sys.path.insert(0, str(workdir))
    try:
        import httpx_clients  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(workdir))
    return httpx_clients


def wall_clock(clients: Any) -> tuple[dict[str, float], dict[str, float]]:
    """(median µs per request of each client, median µs added over bare in a round)."""
    built = {name: getattr(clients, name)() for name in ("bare", "lexigram", "otel")}
    for client in built.values():
        clients.run(client, 200)  # warm-up: caches, bound series, lazy imports
    times: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(REPEATS):
        for name, client in built.items():
            start = time.perf_counter()
            clients.run(client, LOOPS)
            times[name].append((time.perf_counter() - start) / LOOPS * 1e6)
    added = {
        name: statistics.median(a - b for a, b in zip(times[name], times["bare"], strict=True))
        for name in ("lexigram", "otel")
    }
    return {name: statistics.median(values) for name, values in times.items()}, added


_COUNT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    import httpx_clients
    client = getattr(httpx_clients, sys.argv[1])()
    httpx_clients.run(client, 50)  # warm-up outside the difference
    httpx_clients.run(client, int(sys.argv[2]))
    """
)


def per_request_instructions(workdir: Path) -> dict[str, float]:
    script = workdir / "count.py"
    script.write_text(_COUNT)
    extra = (str(workdir),)
    return {
        name: per_call(name, script, workdir, CALLGRIND_N, extra)
        for name in ("bare", "lexigram", "otel")
    }


def _table(
    unit: str, values: dict[str, float], fmt: str, added: dict[str, float] | None = None
) -> float:
    bare = values["bare"]
    if added is None:
        added = {name: values[name] - bare for name in ("lexigram", "otel")}
    ours, otel = added["lexigram"], added["otel"]
    ratio = ours / otel
    verdict = "ok" if ratio <= TARGET else f"MISSED (<= {TARGET})"
    print(f"| client | {unit} per request | added over bare |")
    print("|---|---:|---:|")
    print(f"| bare httpx | {bare:{fmt}} | |")
    print(f"| lexigram `InstrumentedTransport` | {values['lexigram']:{fmt}} | {ours:+{fmt}} |")
    print(f"| OTel `SyncOpenTelemetryTransport` | {values['otel']:{fmt}} | {otel:+{fmt}} |")
    print(f"\nadded, ours / OTel: {ratio:.3f} {verdict}\n")
    return ratio


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lexigram-httpx-") as tmp:
        workdir = Path(tmp)
        clients = _load_clients(workdir)
        print(f"wall clock: {REPEATS} rounds of {LOOPS} requests per client, medians")
        values, added = wall_clock(clients)
        _table("µs", values, ",.1f", added)
        if shutil.which("valgrind") is None:
            print("instructions: skipped (needs Debian's valgrind)")
            return
        print(
            f"instructions (callgrind): (count({6 * CALLGRIND_N}) - count({CALLGRIND_N})) / "
            f"{5 * CALLGRIND_N}"
        )
        _table("instructions", per_request_instructions(workdir), ",.0f")


if __name__ == "__main__":
    main()
