"""Console / in-memory exporters and the batch processor (bounds, failures, flush, fork)."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence

import pytest

from lexigram.monitor.tracing import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    InMemorySpanExporter,
    Span,
    SpanContext,
    SpanExporter,
    SpanKind,
    SpanStatus,
)
from lexigram.monitor.tracing.batch import _after_fork_in_child


def ended(name: str = "op") -> Span:
    span = Span(name)
    span.end()
    return span


class FailingExporter:
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[Span]) -> None:
        self.calls += 1
        raise ConnectionError("collector down")


class BlockingExporter:
    """Blocks inside export until released (a hanging collector)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.spans: list[Span] = []

    def export(self, spans: Sequence[Span]) -> None:
        self.entered.set()
        self.release.wait(10)
        self.spans.extend(spans)


def test_console_exporter_writes_one_json_line_per_span() -> None:
    """Each span becomes one JSON object with ids, kind, times, status, attributes, events."""
    stream = io.StringIO()
    span = Span("GET /", SpanContext(1, 2, parent_span_id=3), SpanKind.SERVER, {"a": [1, 2]})
    span.add_event("hit", {"n": 1})
    span.set_status(SpanStatus.ERROR, "bad")
    span.end()
    ConsoleSpanExporter(stream).export([span, ended("second")])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record["trace_id"] == span.context.trace_id
    assert record["span_id"] == "0" * 15 + "2"
    assert record["parent_span_id"] == "0" * 15 + "3"
    assert record["kind"] == "SERVER"
    assert record["status"] == "ERROR"
    assert record["attributes"] == {"a": [1, 2]}
    assert record["events"][0]["name"] == "hit"
    assert record["duration"] == pytest.approx(span.get_duration())
    assert "service_name" in record
    assert record["start_time"] <= record["end_time"]


def test_console_exporter_defaults_to_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream it writes to sys.stdout as it is at export time."""
    ConsoleSpanExporter().export([ended()])
    assert json.loads(capsys.readouterr().out)["name"] == "op"


def test_exporters_satisfy_the_protocol() -> None:
    """The shipped exporters fit the SpanExporter protocol."""
    assert isinstance(ConsoleSpanExporter(sys.stdout), SpanExporter)
    assert isinstance(InMemorySpanExporter(), SpanExporter)


def test_in_memory_exporter_is_bounded() -> None:
    """Past max_spans the oldest spans are evicted and counted."""
    exporter = InMemorySpanExporter(max_spans=3)
    exporter.export([ended(str(i)) for i in range(5)])
    assert [s.name for s in exporter.get_finished_spans()] == ["2", "3", "4"]
    assert exporter.evicted == 2
    exporter.clear()
    assert exporter.spans == []
    assert exporter.evicted == 0


def test_processor_exports_in_batches_on_flush() -> None:
    """flush exports everything queued, at most max_export_batch_size per call."""
    exporter = InMemorySpanExporter()
    processor = BatchSpanProcessor(exporter, max_export_batch_size=2, export_interval=60)
    for i in range(5):
        processor.on_end(ended(str(i)))
    assert processor.force_flush(5)
    assert [s.name for s in exporter.spans] == ["0", "1", "2", "3", "4"]
    assert exporter.export_calls == 3
    assert processor.exported_spans == 5
    processor.shutdown(5)


def test_processor_exports_a_full_batch_without_flush() -> None:
    """A full batch wakes the worker before the interval elapses."""
    exporter = InMemorySpanExporter()
    processor = BatchSpanProcessor(exporter, max_export_batch_size=3, export_interval=60)
    for i in range(3):
        processor.on_end(ended(str(i)))
    assert exporter.wait_for_spans(3, timeout=5)
    processor.shutdown(5)


def test_processor_exports_on_the_interval() -> None:
    """Fewer spans than a batch are exported when the interval elapses."""
    exporter = InMemorySpanExporter()
    processor = BatchSpanProcessor(exporter, max_export_batch_size=100, export_interval=0.05)
    processor.on_end(ended())
    assert exporter.wait_for_spans(1, timeout=5)
    processor.shutdown(5)


def test_full_queue_drops_and_counts() -> None:
    """Past max_queue_size new spans are dropped and counted, never blocking."""
    exporter = BlockingExporter()
    processor = BatchSpanProcessor(
        exporter, max_queue_size=2, max_export_batch_size=1, export_interval=60
    )
    processor.on_end(ended("first"))
    assert exporter.entered.wait(5)  # worker now stuck exporting "first"
    for i in range(5):
        processor.on_end(ended(str(i)))
    assert processor.queue_size == 2
    assert processor.drops == {"queue_full": 3}
    exporter.release.set()
    assert processor.force_flush(5)
    assert [s.name for s in exporter.spans] == ["first", "0", "1"]
    processor.shutdown(5)


def test_raising_exporter_is_logged_counted_and_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing export is logged once (rate limited), its spans counted as dropped."""
    exporter = FailingExporter()
    processor = BatchSpanProcessor(exporter, max_export_batch_size=1, export_interval=60)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.tracing"):
        for _ in range(3):
            processor.on_end(ended())
        assert processor.force_flush(5)
    assert exporter.calls == 3
    assert processor.failed_exports == 3
    assert processor.drops == {"export_failed": 3}
    messages = [r.getMessage() for r in caplog.records if "FailingExporter" in r.getMessage()]
    assert len(messages) == 1
    assert "collector down" in messages[0]
    processor.shutdown(5)


def test_hanging_exporter_never_stalls_end_and_flush_times_out() -> None:
    """end() returns at once while the exporter hangs; flush gives up at its timeout."""
    exporter = BlockingExporter()
    processor = BatchSpanProcessor(exporter, export_interval=60, export_timeout=0.1)
    processor.on_end(ended())
    processor.force_flush(0.01)
    assert exporter.entered.wait(5)
    processor.on_end(ended())  # returns immediately although the worker is blocked
    assert processor.force_flush(0.05) is False
    exporter.release.set()
    assert processor.force_flush(5)
    processor.shutdown(5)


def test_shutdown_with_deadline_drops_what_is_left() -> None:
    """shutdown gives up after its deadline; the spans queued and the batch in the
    hanging export call are counted as dropped for reason ``shutdown``."""
    exporter = BlockingExporter()
    processor = BatchSpanProcessor(exporter, export_interval=60)
    processor.on_end(ended())
    processor.force_flush(0.01)
    assert exporter.entered.wait(5)
    processor.on_end(ended())
    processor.on_end(ended())
    assert processor.shutdown(timeout=0.05) is False
    assert processor.drops == {"shutdown": 3}
    processor.on_end(ended())  # after shutdown: dropped
    assert processor.drops == {"shutdown": 4}
    exporter.release.set()


def test_shutdown_drains_and_shuts_the_exporter_down() -> None:
    """A clean shutdown exports the queue and calls exporter.shutdown()."""

    class Closing(InMemorySpanExporter):
        closed = False

        def shutdown(self) -> None:
            self.closed = True

    exporter = Closing()
    processor = BatchSpanProcessor(exporter, export_interval=60)
    processor.on_end(ended())
    assert processor.shutdown(5)
    assert exporter.closed
    assert len(exporter.spans) == 1
    assert processor.shutdown(5)  # twice is harmless


def test_async_exporter_is_awaited_in_the_worker() -> None:
    """An exporter whose export is a coroutine function is run to completion."""

    class AsyncExporter:
        def __init__(self) -> None:
            self.spans: list[Span] = []

        async def export(self, spans: Sequence[Span]) -> None:
            self.spans.extend(spans)

    exporter = AsyncExporter()
    processor = BatchSpanProcessor(exporter, export_interval=60)  # type: ignore[arg-type]
    processor.on_end(ended())
    assert processor.force_flush(5)
    assert len(exporter.spans) == 1
    processor.shutdown(5)


def test_invalid_processor_settings_are_refused() -> None:
    """Non-positive sizes and intervals raise ValueError naming the setting."""
    with pytest.raises(ValueError, match="max_queue_size"):
        BatchSpanProcessor(InMemorySpanExporter(), max_queue_size=0)
    with pytest.raises(ValueError, match="export_interval"):
        BatchSpanProcessor(InMemorySpanExporter(), export_interval=0)


def test_after_fork_the_queue_is_emptied_and_the_worker_restarts() -> None:
    """The fork hook forgets the parent's queue and worker; the next span restarts it."""
    exporter = BlockingExporter()
    processor = BatchSpanProcessor(exporter, export_interval=60)
    processor.on_end(ended("parent-1"))
    processor.force_flush(0.01)
    assert exporter.entered.wait(5)
    processor.on_end(ended("parent-2"))
    _after_fork_in_child()  # what os.register_at_fork runs in a child
    assert processor.queue_size == 0
    follower = InMemorySpanExporter()
    processor.exporter = follower
    processor.on_end(ended("child"))
    assert processor.force_flush(5)
    assert [s.name for s in follower.spans] == ["child"]
    exporter.release.set()
    processor.shutdown(5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_real_fork_child_exports_its_own_spans() -> None:
    """In a forked child the worker restarts and exports the child's spans."""
    exporter = InMemorySpanExporter()
    processor = BatchSpanProcessor(exporter, export_interval=60)
    processor.on_end(ended("parent"))
    assert processor.force_flush(5)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            exporter.clear()
            processor.on_end(ended("child"))
            ok = processor.force_flush(5) and [s.name for s in exporter.spans] == ["child"]
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert result == b"1"
    processor.shutdown(5)
