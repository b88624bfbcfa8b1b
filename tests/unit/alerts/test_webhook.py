"""The JSON webhook dispatcher, against httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import httpx
import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.alerts import AlertDispatcherProtocol, WebhookAlertDispatcher
from lexigram.monitor.alerts._http import json_safe
from lexigram.monitor.exceptions import BackendNotAvailableError
from lexigram.monitor.metrics import MetricsCollector
from tests._support import modules_loaded_by

URL = "https://hooks.example.com/alerts?token=s3cret"


class Receiver:
    """Mock transport handler recording requests and answering with *status*."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text="nope" if self.status >= 300 else "")

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


def make(receiver: Any, **kwargs: Any) -> WebhookAlertDispatcher:
    return WebhookAlertDispatcher(
        URL, transport=httpx.MockTransport(receiver), clock=FakeClock(1_700_000_000.0), **kwargs
    )


async def test_send_alert_posts_a_json_document() -> None:
    """A free-form alert is one POST of JSON with kind, fields, context and a UTC time."""
    receiver = Receiver()
    async with make(receiver, headers={"Authorization": "Bearer t"}) as webhook:
        assert isinstance(webhook, AlertDispatcherProtocol)
        await webhook.send_alert("Disk full", "95% used", "high", {"host": "db-1"})
    (request,) = receiver.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == "Bearer t"
    assert request.headers["Content-Type"] == "application/json"
    assert receiver.bodies == [
        {
            "kind": "alert",
            "title": "Disk full",
            "message": "95% used",
            "severity": "high",
            "context": {"host": "db-1"},
            "sent_at": "2023-11-14T22:13:20+00:00",
        }
    ]
    assert webhook.sent == 1
    assert webhook.failed == 0


@pytest.mark.parametrize(("value", "severity"), [(150.0, "warning"), (250.0, "critical")])
async def test_send_metric_alert_derives_the_severity(value: float, severity: str) -> None:
    """A metric alert carries value, threshold and the shared +100 % severity rule."""
    receiver = Receiver()
    async with make(receiver) as webhook:
        await webhook.send_metric_alert("latency_ms", value, 100.0)
    (body,) = receiver.bodies
    assert body["kind"] == "metric_alert"
    assert body["metric_name"] == "latency_ms"
    assert body["current_value"] == value
    assert body["threshold"] == 100.0
    assert body["severity"] == severity
    assert body["context"] == {}


async def test_context_is_made_json_safe() -> None:
    """Non-finite floats and arbitrary objects in the context do not break delivery."""
    receiver = Receiver()
    async with make(receiver) as webhook:
        await webhook.send_alert("t", "m", "low", {"nan": float("nan"), "obj": object, "t": (1,)})
    (body,) = receiver.bodies
    assert body["context"] == {"nan": "nan", "obj": "<class 'object'>", "t": [1]}


async def test_non_2xx_is_counted_and_logged_without_secrets(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """A refused delivery is counted, logged once per interval, and the URL query is hidden."""
    async with make(Receiver(status=500)) as webhook:
        with caplog.at_level(logging.WARNING, logger="lexigram.monitor.alerts"):
            await webhook.send_alert("t", "m", "low")
            await webhook.send_alert("t", "m", "low")
    assert webhook.failed == 2
    assert webhook.sent == 0
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    labels = {"dispatcher": "WebhookAlertDispatcher", "reason": "http_500"}
    assert failures.get_value(labels) == 2
    (record,) = caplog.records
    text = record.getMessage()
    assert "HTTP 500: nope" in text
    assert "https://hooks.example.com/alerts" in text
    assert "s3cret" not in text


async def test_network_errors_never_reach_the_caller(collector: MetricsCollector) -> None:
    """A transport error is contained and counted."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with make(refuse) as webhook:
        await webhook.send_metric_alert("m", 1.0, 0.5)
    assert webhook.failed == 1
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    labels = {"dispatcher": "WebhookAlertDispatcher", "reason": "ConnectError"}
    assert failures.get_value(labels) == 1


async def test_a_hanging_endpoint_is_abandoned_after_the_timeout(
    collector: MetricsCollector,
) -> None:
    """Each delivery is bounded by `timeout` seconds in total."""

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async with make(hang, timeout=0.01) as webhook:
        await webhook.send_alert("t", "m", "low")
    assert webhook.failed == 1
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    assert failures.get_value({"dispatcher": "WebhookAlertDispatcher", "reason": "timeout"}) == 1


@pytest.mark.parametrize("url", ["", "hooks.example.com", "ftp://x/y", "http://", 42])
def test_invalid_urls_are_refused(url: Any) -> None:
    """Only absolute http(s) URLs with a host are accepted."""
    with pytest.raises(ValueError, match="webhook URL"):
        WebhookAlertDispatcher(url)


@pytest.mark.parametrize("timeout", [0, -1, float("inf")])
def test_invalid_timeouts_are_refused(timeout: float) -> None:
    """The timeout must be a finite positive number of seconds."""
    with pytest.raises(ValueError, match="timeout"):
        WebhookAlertDispatcher("http://localhost/x", timeout=timeout)


def test_json_safe_bounds_nesting() -> None:
    """Nesting deeper than 8 levels is stringified instead of recursing."""
    deep: Any = "leaf"
    for _ in range(20):
        deep = [deep]
    safe = json_safe({"d": deep})
    json.dumps(safe, allow_nan=False)
    level = safe["d"]
    for _ in range(7):
        level = level[0]
    assert isinstance(level, str)


def test_importing_alerts_does_not_import_httpx() -> None:
    """httpx (the `alerts` extra) is imported only when an HTTP dispatcher is built."""
    assert modules_loaded_by("import lexigram.monitor.alerts", ["httpx"]) == []


def test_missing_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httpx, building a webhook dispatcher says which extra to install."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[alerts\]"):
        WebhookAlertDispatcher("http://localhost/hook")
