"""@traced, @metered and @monitor on sync and async functions."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.instrumentation.decorators import (
    get_default_service,
    metered,
    monitor,
    set_default_service,
    traced,
)
from lexigram.monitor.metrics.collector import MetricsCollector
from lexigram.monitor.metrics.histogram import Histogram
from lexigram.monitor.service import ObservabilityService
from lexigram.monitor.tracing.span import SpanStatus
from lexigram.monitor.tracing.tracer import Tracer


@pytest.fixture
def service() -> Iterator[ObservabilityService]:
    """A service over a private tracer (keeping ended spans) and a private collector."""
    svc = ObservabilityService(tracer=Tracer("test", None, max_spans=100), meter=MetricsCollector())
    previous = set_default_service(svc)
    yield svc
    set_default_service(previous)


def _spans(service: ObservabilityService) -> list[object]:
    return list(service.tracer.get_all_spans())


def _histogram(service: ObservabilityService, name: str) -> Histogram:
    metric = service.meter.get_metric(name)  # type: ignore[attr-defined]
    assert isinstance(metric, Histogram)
    return metric


def test_traced_sync_records_span_with_code_attributes(service: ObservabilityService) -> None:
    """A sync function runs inside a span named after its qualified name."""

    @traced()
    def add(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert add(1, 2, scale=3) == 9
    (span,) = _spans(service)
    assert span.name.endswith("add")
    assert span.attributes["code.args.count"] == 2
    assert list(span.attributes["code.kwargs.names"]) == ["scale"]
    # argument values are never recorded
    assert 9 not in span.attributes.values()
    assert 3 not in span.attributes.values()


async def test_traced_async_records_exception_and_reraises(service: ObservabilityService) -> None:
    """An exception in an async function is recorded on the span and re-raised."""

    @traced("charge", service=service)
    async def charge() -> None:
        raise ValueError("card declined")

    with pytest.raises(ValueError, match="card declined"):
        await charge()
    (span,) = _spans(service)
    assert span.name == "charge"
    assert span.status is SpanStatus.ERROR
    assert any(e.name == "exception" for e in span.events)


def test_traced_nests_under_current_span(service: ObservabilityService) -> None:
    """A traced call inside another becomes its child (same trace)."""

    @traced("inner")
    def inner() -> None:
        pass

    @traced("outer")
    def outer() -> None:
        inner()

    outer()
    inner_span, outer_span = _spans(service)
    assert inner_span.context.trace_id == outer_span.context.trace_id
    assert inner_span.context.parent_span_id == outer_span.context.span_id


def test_metered_records_duration_histogram(service: ObservabilityService) -> None:
    """@metered records one observation per call, failed calls included."""

    @metered("orders.create")
    def create(fail: bool) -> str:
        if fail:
            raise RuntimeError("x")
        return "ok"

    assert create(False) == "ok"
    with pytest.raises(RuntimeError):
        create(True)
    hist = _histogram(service, "orders_create")
    assert hist.get_count() == 2


async def test_metered_default_name_async(service: ObservabilityService) -> None:
    """The default metric name is {module}.{qualname}.duration under the facade rule."""

    @metered()
    async def work() -> int:
        return 1

    assert await work() == 1
    names = list(service.meter.get_all_metrics())  # type: ignore[attr-defined]
    assert (
        "tests_unit_instrumentation_test_decorators_test_metered_default_name_async_work_duration"
        in names
    )


def test_metered_invalid_name_refused_at_decoration() -> None:
    """A name that cannot become a metric name fails when decorating."""
    decorator = metered("9 lives")
    with pytest.raises(InvalidMetricError, match="9 lives"):
        decorator(lambda: None)


def test_monitor_logs_times_and_traces(
    service: ObservabilityService, caplog: pytest.LogCaptureFixture
) -> None:
    """@monitor logs start/end with duration, records a histogram and a span."""

    @monitor("user_service.create", log_args=True)
    def create(email: str) -> str:
        return email.upper()

    with caplog.at_level(logging.INFO, logger="lexigram.monitor.instrumentation"):
        assert create("a@b.c") == "A@B.C"
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "operation_start user_service.create"
    assert re.fullmatch(r"operation_end user_service\.create in \d+\.\d{3} ms", messages[1])
    end = caplog.records[-1]
    assert end.operation == "user_service.create"  # type: ignore[attr-defined]
    assert end.duration_ms >= 0  # type: ignore[attr-defined]
    assert end.arg_count == 1  # type: ignore[attr-defined]
    assert "a@b.c" not in caplog.text
    assert _histogram(service, "user_service_create_duration").get_count() == 1
    assert [s.name for s in _spans(service)] == ["user_service.create"]


async def test_monitor_async_error(
    service: ObservabilityService, caplog: pytest.LogCaptureFixture
) -> None:
    """An async failure logs operation_error with the exception type and re-raises."""

    @monitor()
    async def broken() -> None:
        raise KeyError("k")

    with (
        caplog.at_level(logging.INFO, logger="lexigram.monitor.instrumentation"),
        pytest.raises(KeyError),
    ):
        await broken()
    err = caplog.records[-1]
    assert re.fullmatch(
        r"operation_error \S+broken after \d+\.\d{3} ms: KeyError", err.getMessage()
    )
    assert err.error_type == "KeyError"  # type: ignore[attr-defined]


def test_broken_tracer_never_breaks_the_function(service: ObservabilityService) -> None:
    """A tracer that raises is logged; the function still runs and returns."""

    class BrokenTracer:
        def start_span(self, *args: object, **kwargs: object) -> object:
            raise RuntimeError("tracer down")

    svc = ObservabilityService(tracer=BrokenTracer(), meter=MetricsCollector())  # type: ignore[arg-type]

    @traced(service=svc)
    def f() -> int:
        return 7

    assert f() == 7


def test_default_service_is_lazy_and_replaceable() -> None:
    """get_default_service builds one service; set_default_service swaps it."""
    previous = set_default_service(None)
    try:
        first = get_default_service()
        assert get_default_service() is first
        other = ObservabilityService()
        set_default_service(other)
        assert get_default_service() is other
    finally:
        set_default_service(previous)


def test_wraps_preserves_metadata() -> None:
    """Decorated functions keep their name and docstring."""

    @traced()
    def documented() -> None:
        """Doc."""

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Doc."
