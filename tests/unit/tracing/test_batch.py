"""The batch processor's lifetime and deadlines: export calls bounded by export_timeout,
drops by reason as they happen, flush at interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from lexigram.monitor.tracing import BatchSpanProcessor, InMemorySpanExporter, Span
from lexigram.monitor.tracing.batch import flush_all, set_export_stats_listener

ROOT = Path(__file__).resolve().parents[3]


def ended(name: str = "op") -> Span:
    span = Span(name)
    span.end()
    return span


class HangingExporter:
    """Never returns from export until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def export(self, spans: Sequence[Span]) -> None:
        self.calls += 1
        self.entered.set()
        self.release.wait(10)


def run_script(code: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_an_export_past_its_deadline_is_counted_at_the_deadline() -> None:
    """A hanging exporter's batch is counted (``export_timeout``) when export_timeout
    passes, not at shutdown; the listener hears it then; the exporter gets no second
    concurrent call while the first hangs."""
    heard: list[tuple[str, str, int]] = []
    set_export_stats_listener(lambda event, reason, n: heard.append((event, reason, n)))
    try:
        exporter = HangingExporter()
        processor = BatchSpanProcessor(
            exporter, max_export_batch_size=2, export_interval=60, export_timeout=0.2
        )
        processor.on_end(ended())
        processor.on_end(ended())  # a full batch wakes the worker
        assert exporter.entered.wait(5)
        deadline = time.monotonic() + 5
        while processor.drops.get("export_timeout") != 2 and time.monotonic() < deadline:
            time.sleep(0.01)

        assert processor.drops == {"export_timeout": 2}
        assert ("dropped", "export_timeout", 2) in heard
        assert ("failed", "export_timeout", 1) in heard
        processor.on_end(ended())
        processor.on_end(ended())
        time.sleep(0.3)
        assert exporter.calls == 1  # still hanging: no second call
        exporter.release.set()
        assert processor.force_flush(5)
        assert exporter.calls == 2
        processor.shutdown(5)
    finally:
        set_export_stats_listener(None)


def test_flush_all_exports_every_processor_at_once() -> None:
    """flush_all (the lifespan-shutdown flush) empties every running processor."""
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    processors = [BatchSpanProcessor(e, export_interval=3600) for e in (first, second)]
    for processor in processors:
        processor.on_end(ended())

    assert flush_all(5)

    assert len(first.get_finished_spans()) == len(second.get_finished_spans()) == 1
    for processor in processors:
        processor.shutdown(5)


def test_the_readme_traces_snippet_prints_its_span_when_run_as_a_script() -> None:
    """Queued spans are exported at interpreter exit: the README "Traces" snippet, run as a
    script, prints the span although the export interval (5 s) never came."""
    result = run_script(
        """
        from lexigram.monitor import ConsoleSpanExporter, Tracer, set_default_tracer

        tracer = Tracer("shop", ConsoleSpanExporter())  # one JSON line per ended span
        set_default_tracer(tracer)                      # the middlewares use the default tracer

        with tracer.start_span("charge card") as span:
            span.set_attribute("payment.provider", "acme")
        """
    )
    assert result.returncode == 0, result.stderr
    assert '"name":"charge card"' in result.stdout
    assert '"payment.provider":"acme"' in result.stdout


def test_exit_with_a_hanging_exporter_is_bounded_by_export_timeout() -> None:
    """A hanging exporter delays interpreter exit by at most export_timeout."""
    result = run_script(
        """
        import threading, time
        from lexigram.monitor.config import TracingConfig
        from lexigram.monitor.tracing import Tracer

        class Hanging:
            def export(self, spans):
                threading.Event().wait()

        tracer = Tracer("x", Hanging(), config=TracingConfig(export_timeout=0.5))
        tracer.start_span("stuck").end()
        print("start", time.monotonic(), flush=True)
        """
    )
    assert result.returncode == 0, result.stderr
    started = float(result.stdout.split()[1])
    assert time.monotonic() - started < 5.0
