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
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ._http import PostingDispatcher, validate_http_url
from .dispatcher import metric_alert_severity

if TYPE_CHECKING:
    import httpx

__all__ = ["WebhookAlertDispatcher"]


class WebhookAlertDispatcher(PostingDispatcher):
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
        super().__init__(
            url,
            what="webhook alert",
            timeout=timeout,
            headers=headers,
            transport=transport,
            clock=clock,
        )

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
