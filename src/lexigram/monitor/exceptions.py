"""Exceptions raised by lexigram-monitor.

The tree::

    MonitorError
    ├── BackendNotAvailableError      an optional backend or extra is missing
    ├── InvalidMetricError (ValueError)  bad metric/label name, value or schema
    ├── MetricNotFoundError (LookupError)  a named metric does not exist
    ├── SpanError (ValueError)        bad span input (attribute type, ...)
    └── PerformanceMonitorError       profiling misuse (already started, ...)

Every message names the offending value, the rule it broke and how to fix it.
This module imports nothing from the package.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendNotAvailableError",
    "InvalidMetricError",
    "MetricNotFoundError",
    "MonitorError",
    "PerformanceMonitorError",
    "SpanError",
]


class MonitorError(Exception):
    """Base exception for monitoring errors."""


class BackendNotAvailableError(MonitorError):
    """Raised when a required monitoring backend is not available."""


class InvalidMetricError(MonitorError, ValueError):
    """Raised when metric parameters are invalid."""


class MetricNotFoundError(MonitorError, LookupError):
    """Raised when a requested metric is not found."""


class SpanError(MonitorError, ValueError):
    """Raised when span input is invalid (e.g. an unsupported attribute type)."""


class PerformanceMonitorError(MonitorError):
    """Base exception for performance monitoring errors.

    Extra keyword arguments are kept in :attr:`details` for structured logging.
    """

    def __init__(self, message: str = "Performance monitoring error", **kwargs: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(kwargs)
