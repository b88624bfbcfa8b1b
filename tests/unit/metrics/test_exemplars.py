"""Exemplars: the installed span source feeds counters and histogram buckets."""

from __future__ import annotations

import logging
import math

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.metrics import (
    Counter,
    Exemplar,
    Histogram,
    get_exemplar_source,
    set_exemplar_source,
)
from lexigram.monitor.metrics._exemplars import source_failures

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


class FakeSpans:
    """A span source whose current span the test controls."""

    def __init__(self) -> None:
        self.current: tuple[str, str] | None = (TRACE, SPAN)
        self.calls = 0

    def __call__(self) -> tuple[str, str] | None:
        self.calls += 1
        return self.current


def test_without_a_source_no_exemplars_are_kept() -> None:
    """No source installed: snapshots carry no exemplar."""
    counter = Counter("c_total")
    counter.increment()
    assert counter.collect()[0].exemplar is None
    histogram = Histogram("h", buckets=[1])
    histogram.observe(0.5)
    assert histogram.collect()[0].exemplars == ()


def test_counter_keeps_the_latest_exemplar_per_series(clock: FakeClock) -> None:
    """Each increment under a sampled span replaces the series' exemplar."""
    spans = FakeSpans()
    set_exemplar_source(spans)
    counter = Counter("c_total", clock=clock)
    counter.increment(2, labels={"route": "/a"})
    clock.advance(1)
    spans.current = (TRACE, "1111111111111111")
    counter.increment(3, labels={"route": "/a"})
    assert counter.get_exemplar(labels={"route": "/a"}) == Exemplar(
        3.0, TRACE, "1111111111111111", 1_700_000_001.0
    )
    assert counter.collect()[0].exemplar == counter.get_exemplar(labels={"route": "/a"})


def test_unsampled_span_keeps_the_previous_exemplar() -> None:
    """When the source reports no sampled span the last exemplar stays."""
    spans = FakeSpans()
    set_exemplar_source(spans)
    counter = Counter("c_total")
    counter.increment()
    spans.current = None
    counter.increment()
    exemplar = counter.get_exemplar()
    assert exemplar is not None
    assert exemplar.span_id == SPAN


def test_histogram_keeps_the_latest_exemplar_per_bucket(clock: FakeClock) -> None:
    """Each bucket has its own latest exemplar, aligned with the bounds in snapshots."""
    spans = FakeSpans()
    set_exemplar_source(spans)
    histogram = Histogram("h", buckets=[1, 2], clock=clock)
    histogram.observe(0.5)
    spans.current = (TRACE, "2222222222222222")
    histogram.observe(5)
    exemplars = histogram.get_exemplars()
    assert exemplars[1.0] == Exemplar(0.5, TRACE, SPAN, 1_700_000_000.0)
    assert exemplars[2.0] is None
    assert exemplars[math.inf] == Exemplar(5.0, TRACE, "2222222222222222", 1_700_000_000.0)
    (snap,) = histogram.collect()
    assert snap.exemplars == (exemplars[1.0], None, exemplars[math.inf])


def test_failing_source_never_breaks_the_update(caplog: pytest.LogCaptureFixture) -> None:
    """A source that raises or returns garbage is counted and logged; values still count."""

    def broken() -> tuple[str, str] | None:
        raise RuntimeError("tracer gone")

    set_exemplar_source(broken)
    counter = Counter("c_total")
    before = source_failures()
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.metrics.exemplars"):
        counter.increment()
    set_exemplar_source(lambda: ("a", 1))  # type: ignore[arg-type,return-value]
    counter.increment()
    assert counter.get_count() == 2
    assert counter.get_exemplar() is None
    assert source_failures() == before + 2
    assert any("exemplar source" in r.getMessage() for r in caplog.records)


def test_set_returns_previous_source_and_rejects_non_callables() -> None:
    """set_exemplar_source returns the previous source; non-callables raise TypeError."""
    spans = FakeSpans()
    assert set_exemplar_source(spans) is None
    assert get_exemplar_source() is spans
    assert set_exemplar_source(None) is spans
    with pytest.raises(TypeError, match="not callable"):
        set_exemplar_source("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="probe"):
        set_exemplar_source(spans, probe="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["counter", "histogram", "bound counter", "bound histogram"])
def test_the_source_is_asked_only_while_the_probe_sees_a_span(kind: str) -> None:
    """A probe answering None spares the source; once it sees a span the source is asked."""
    spans = FakeSpans()
    seen: list[object] = [None]
    set_exemplar_source(spans, probe=lambda: seen[0])
    counter = Counter("c_total")
    histogram = Histogram("h", buckets=[1])
    update = {
        "counter": lambda: counter.increment(),
        "histogram": lambda: histogram.observe(0.5),
        "bound counter": counter.bind().increment,
        "bound histogram": lambda: histogram.bind().observe(0.5),
    }[kind]
    update()
    assert spans.calls == 0
    seen[0] = object()
    update()
    assert spans.calls == 1
    found = counter.get_exemplar() if "counter" in kind else histogram.get_exemplars()[1.0]
    assert found is not None
    assert found.trace_id == TRACE


def test_the_wiring_probes_the_current_span() -> None:
    """The installed source is asked only while one of our spans is current."""
    from lexigram.monitor.backends._wiring import disable_exemplars, enable_exemplars
    from lexigram.monitor.tracing import Tracer

    enable_exemplars()
    try:
        counter = Counter("c_total")
        counter.increment()
        assert counter.get_exemplar() is None
        with Tracer("test", None).start_span("work") as span:
            counter.increment()
        found = counter.get_exemplar()
        assert found is not None
        assert found.span_id == span.context.span_id
    finally:
        disable_exemplars()


def test_a_raising_probe_means_ask_the_source() -> None:
    """A probe that raises never breaks the update: the source is asked instead."""
    spans = FakeSpans()

    def broken() -> object:
        raise RuntimeError("probe gone")

    set_exemplar_source(spans, probe=broken)
    counter = Counter("c_total")
    counter.increment()
    assert counter.get_count() == 1
    assert spans.calls == 1
    found = counter.get_exemplar()
    assert found is not None
    assert found.trace_id == TRACE
