"""The exception tree."""

from __future__ import annotations

import pytest

from lexigram.monitor import exceptions as exc


@pytest.mark.parametrize(
    "cls",
    [
        exc.BackendNotAvailableError,
        exc.InvalidMetricError,
        exc.MetricNotFoundError,
        exc.SpanError,
        exc.PerformanceMonitorError,
    ],
)
def test_all_derive_from_monitor_error(cls: type[Exception]) -> None:
    """Every library exception can be caught as MonitorError."""
    assert issubclass(cls, exc.MonitorError)


def test_builtin_bases_for_idiomatic_catching() -> None:
    """Invalid values are ValueErrors and missing metrics LookupErrors."""
    assert issubclass(exc.InvalidMetricError, ValueError)
    assert issubclass(exc.SpanError, ValueError)
    assert issubclass(exc.MetricNotFoundError, LookupError)


def test_performance_monitor_error_defaults() -> None:
    """PerformanceMonitorError has the reference's default message and keeps details."""
    err = exc.PerformanceMonitorError()
    assert str(err) == "Performance monitoring error"
    err = exc.PerformanceMonitorError("already running", state="active")
    assert str(err) == "already running"
    assert err.details == {"state": "active"}


def test_optional_require_names_extra() -> None:
    """A missing optional module raises BackendNotAvailableError with the pip line."""
    from lexigram.monitor._optional import is_available, require

    with pytest.raises(exc.BackendNotAvailableError, match=r"lexigram-monitor\[nope\]"):
        require("nope", "lexigram_monitor_no_such_module")
    assert not is_available("lexigram_monitor_no_such_module")
    assert require("otel", "json").__name__ == "json"
