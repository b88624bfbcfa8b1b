"""Alert dispatch to a real Alertmanager (Debian package ``prometheus-alertmanager``)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.alerts import AlertmanagerDispatcher
from lexigram.monitor.slo import SLO, SLOMonitor

from ._servers import AlertmanagerServer, free_port

pytestmark = pytest.mark.integration


async def wait_for_alert(
    server: AlertmanagerServer, alertname: str, timeout: float = 15.0
) -> dict[str, Any]:
    """Poll ``GET /api/v2/alerts`` until an alert named *alertname* is listed."""
    deadline = time.monotonic() + timeout
    while True:
        for alert in server.alerts():
            if alert["labels"].get("alertname") == alertname:
                return alert
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"Alertmanager did not list {alertname!r} within {timeout:.0f} s: "
                f"{server.alerts()}; {server.process.describe()}"
            )
        await asyncio.sleep(0.1)


async def test_alertmanager_lists_and_routes_our_alert(
    alertmanager_server: AlertmanagerServer,
) -> None:
    """A posted alert is listed by /api/v2/alerts with our labels and annotations, and
    Alertmanager routes it to its receiver."""
    async with AlertmanagerDispatcher(
        alertmanager_server.url, default_labels={"service": "checkout"}
    ) as dispatcher:
        await dispatcher.send_alert("DiskFull", "95% of /var used", "critical", {"host": "db-1"})
    assert (dispatcher.sent, dispatcher.failed) == (1, 0)

    alert = await wait_for_alert(alertmanager_server, "DiskFull")
    assert alert["labels"] == {
        "alertname": "DiskFull",
        "severity": "critical",
        "service": "checkout",
    }
    assert alert["annotations"] == {
        "summary": "DiskFull",
        "description": "95% of /var used",
        "host": "db-1",
    }
    assert alert["status"]["state"] == "active"

    body = alertmanager_server.webhook.wait_for(
        lambda b: any(a["labels"].get("alertname") == "DiskFull" for a in b.get("alerts", []))
    )
    assert body["status"] == "firing"


async def test_slo_violation_reaches_alertmanager(
    alertmanager_server: AlertmanagerServer,
) -> None:
    """An SLO breach evaluated in process becomes an SLOViolation alert labelled by SLO."""
    async with AlertmanagerDispatcher(alertmanager_server.url) as dispatcher:
        monitor = SLOMonitor(dispatcher=dispatcher)
        monitor.register(
            SLO("api.p99_latency", "http.request.duration", 0.99, 200.0, timedelta(hours=1))
        )
        monitor.record_sample("http.request.duration", 150.0)
        monitor.record_sample("http.request.duration", 350.0)
        (violation,) = await monitor.evaluate()
    assert monitor.dispatch_failures == 0
    assert dispatcher.sent == 1

    alert = await wait_for_alert(alertmanager_server, "SLOViolation")
    assert alert["labels"] == {
        "alertname": "SLOViolation",
        "slo": "api.p99_latency",
        "metric": "http.request.duration",
        "severity": "warning",
    }
    assert alert["annotations"]["summary"] == violation.message
    assert alert["annotations"]["burn_rate"] == "1.75"


async def test_unreachable_alertmanager_is_counted_not_raised() -> None:
    """Nothing listening: the delivery fails quickly, is counted and never raises."""
    url = f"http://127.0.0.1:{free_port()}"
    async with AlertmanagerDispatcher(url, timeout=2.0, clock=FakeClock()) as dispatcher:
        await dispatcher.send_metric_alert("queue_depth", 500.0, 100.0)
    assert (dispatcher.sent, dispatcher.failed) == (0, 1)
