"""The OpenTelemetry backend's span pipeline: drops counted live by reason, and spans
ended before a normal exit are exported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.config import OpenTelemetryConfig
from lexigram.monitor.metrics import MetricsCollector

from ._otel_memory import Handler, MemoryExporters


class Scripted(SpanExporter):  # type: ignore[misc]
    """An SDK exporter doing what *behave* says: return a result, raise, or hang."""

    def __init__(self, behave: Callable[[], Any]) -> None:
        self.behave = behave
        self.release = threading.Event()
        self.calls = 0

    def export(self, spans: Sequence[Any]) -> Any:
        self.calls += 1
        return self.behave()

    def shutdown(self) -> None:
        self.release.set()


def dropped(collector: MetricsCollector) -> dict[str, float]:
    metric = collector.get_metric("lexigram_monitor_spans_dropped_total")
    if metric is None:
        return {}
    return {s.label_values[0]: s.value for s in metric.collect()}  # type: ignore[attr-defined]


def backend_with(exporter: Any, **config: Any) -> OpenTelemetryBackend:
    memory = MemoryExporters()
    memory.tracing.register(Handler(lambda: exporter, memory.configs, "scripted"))
    memory.metrics.register(Handler(lambda: memory.reader, memory.configs, "scripted"))
    settings = {"type": "scripted", "export_interval": 0.05, "timeout": 0.3, **config}
    return OpenTelemetryBackend(
        "checkout", config=OpenTelemetryConfig(**settings), **memory.registries()
    )


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def sdk_span(backend: OpenTelemetryBackend, name: str = "op") -> None:
    backend.tracer_provider.get_tracer("t").start_span(name).end()


async def test_a_failing_collector_is_counted_as_it_happens(
    isolated_metrics: MetricsCollector,
) -> None:
    """Exports answered FAILURE (collector down) are counted ``export_failed`` while the
    service runs, long before shutdown."""
    backend = backend_with(Scripted(lambda: SpanExportResult.FAILURE))
    await backend.initialize()
    for _ in range(3):
        sdk_span(backend)

    assert wait_for(lambda: dropped(isolated_metrics).get("export_failed", 0) == 3)
    await backend.shutdown()


async def test_a_hanging_exporter_is_cut_at_the_timeout_and_counted(
    isolated_metrics: MetricsCollector,
) -> None:
    """A custom exporter that hangs holds no SDK thread past ``timeout``: its batch is
    counted ``export_timeout`` then, and spans keep being counted while it hangs."""
    exporter = Scripted(lambda: threading.Event().wait(5) or SpanExportResult.SUCCESS)
    backend = backend_with(exporter)
    await backend.initialize()
    sdk_span(backend, "first")

    assert wait_for(lambda: dropped(isolated_metrics).get("export_timeout", 0) >= 1)
    sdk_span(backend, "second")
    assert wait_for(lambda: sum(dropped(isolated_metrics).values()) >= 2)
    await backend.shutdown(timeout=0.5)


async def test_the_sdk_queue_overflow_is_counted_as_it_happens(
    isolated_metrics: MetricsCollector,
) -> None:
    """Spans the SDK processor drops because its queue is full are counted
    ``queue_full`` at the moment it drops them."""
    gate = threading.Event()
    exporter = Scripted(lambda: gate.wait(5) and SpanExportResult.SUCCESS)
    backend = backend_with(exporter, batch_size=1, timeout=5.0)
    backend.tracing_config = backend.tracing_config.model_copy(update={"max_queue_size": 1})
    await backend.initialize()
    sdk_span(backend, "in the exporter")
    assert wait_for(lambda: exporter.calls == 1)
    for i in range(5):
        sdk_span(backend, f"s{i}")

    assert dropped(isolated_metrics).get("queue_full", 0) >= 3
    gate.set()
    await backend.shutdown()


async def test_spans_after_shutdown_are_counted(isolated_metrics: MetricsCollector) -> None:
    """An SDK span ended after shutdown is dropped by the SDK and counted ``shutdown``."""
    backend = backend_with(Scripted(lambda: SpanExportResult.SUCCESS))
    await backend.initialize()
    provider = backend.tracer_provider
    await backend.shutdown()

    provider.get_tracer("t").start_span("late").end()

    assert dropped(isolated_metrics).get("shutdown", 0) == 1


def test_spans_ended_before_exit_are_exported_without_shutdown() -> None:
    """A script that never calls shutdown(): at interpreter exit the backend drains our
    tracer into the SDK processor, then the SDK into the exporter (console here)."""
    code = """
        from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend

        backend = OpenTelemetryBackend("exiting", config={"type": "console"})
        with backend.create_span("last words"):
            pass
    """
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"name":"last words"' in result.stdout
