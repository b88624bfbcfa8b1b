"""Generic JSON webhook alert dispatcher over httpx (the ``alerts`` extra).

Each alert is one ``POST`` of a JSON object to the configured URL::

    {"kind": "alert", "title": ..., "message": ..., "severity": ...,
     "context": {...}, "sent_at": "2024-01-01T00:00:00+00:00"}
    {"kind": "metric_alert", "metric_name": ..., "current_value": ..., "threshold": ...,
     "severity": "warning" | "critical", "context": {...}, "sent_at": ...}

A metric alert's severity follows :func:`~.dispatcher.metric_alert_severity`. Context
values are made JSON-safe (non-finite floats and unknown objects become strings).
Failures (network, timeout, non-2xx) are logged rate limited and counted in
:attr:`WebhookAlertDispatcher.failed`; they never reach the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ._http import JsonPoster, validate_http_url
from .dispatcher import metric_alert_severity

if TYPE_CHECKING:
    import httpx

__all__ = ["WebhookAlertDispatcher"]


class WebhookAlertDispatcher:
    """Posts alerts as JSON to a webhook URL; implements AlertDispatcherProtocol.

    *headers* are sent with every request (e.g. an ``Authorization`` header); *timeout*
    bounds each delivery in seconds. *transport* replaces httpx's network transport
    (tests pass ``httpx.MockTransport``). Close with :meth:`aclose` or ``async with``.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        validate_http_url(url, "webhook")
        self._clock = clock
        self._poster = JsonPoster(
            url,
            what="webhook alert",
            dispatcher=type(self).__name__,
            timeout=timeout,
            headers=headers,
            transport=transport,
            clock=clock,
        )

    @property
    def url(self) -> str:
        """The webhook URL."""
        return self._poster.url

    @property
    def sent(self) -> int:
        """Alerts the webhook accepted (2xx)."""
        return self._poster.sent

    @property
    def failed(self) -> int:
        """Alerts that could not be delivered."""
        return self._poster.failed

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """POST a free-form alert; never raises."""
        await self._poster.post(
            {
                "kind": "alert",
                "title": title,
                "message": message,
                "severity": severity,
                "context": context or {},
                "sent_at": self._now(),
            }
        )

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """POST a metric-threshold alert; never raises."""
        await self._poster.post(
            {
                "kind": "metric_alert",
                "metric_name": metric_name,
                "current_value": current_value,
                "threshold": threshold,
                "severity": metric_alert_severity(current_value, threshold),
                "context": context or {},
                "sent_at": self._now(),
            }
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._poster.aclose()

    async def __aenter__(self) -> WebhookAlertDispatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock.time(), UTC).isoformat()
