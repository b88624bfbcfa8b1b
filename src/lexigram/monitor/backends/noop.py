"""No-op metrics backend (what ``MonitorModule.stub()`` registers)."""

from __future__ import annotations

from typing import Any

from ..noop import NoOpSpan

__all__ = ["NoOpMetricsBackend", "NoopMetricsBackend"]


class NoopMetricsBackend:
    """Metrics backend that discards everything; satisfies ``MetricsBackendProtocol``."""

    async def initialize(self) -> None:
        """Nothing to start."""

    async def shutdown(self) -> None:
        """Nothing to stop."""

    def record_metric(
        self,
        name: str,
        value: Any,
        metric_type: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Discard the value."""

    def create_span(self, name: str, parent_context: Any | None = None) -> NoOpSpan:
        """Return a :class:`~lexigram.monitor.noop.NoOpSpan`."""
        return NoOpSpan(name)


#: Alias with the capitalisation used elsewhere in the API.
NoOpMetricsBackend = NoopMetricsBackend
