"""Tracing test fixtures: no span stays current and the default tracer is reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.tracing import InMemorySpanExporter, Tracer, set_default_tracer
from lexigram.monitor.tracing.context import reset_current_span, set_current_span


@pytest.fixture(autouse=True)
def _isolate_tracing() -> Iterator[None]:
    token = set_current_span(None)
    previous = set_default_tracer(None)
    yield
    set_default_tracer(previous)
    reset_current_span(token)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter, clock: FakeClock) -> Iterator[Tracer]:
    t = Tracer(
        "svc",
        exporter,
        config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON, export_timeout=5.0),
        clock=clock,
    )
    yield t
    t.shutdown(timeout=5.0)
