"""The Alertmanager dispatcher, against httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.alerts import AlertDispatcherProtocol, AlertmanagerDispatcher
from lexigram.monitor.metrics import MetricsCollector


class Receiver:
    """Mock Alertmanager recording posted alert lists."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={} if self.status == 200 else {"m": "bad"})

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [alert for r in self.requests for alert in json.loads(r.content)]


def make(receiver: Receiver, url: str = "http://am:9093", **kwargs: Any) -> AlertmanagerDispatcher:
    return AlertmanagerDispatcher(
        url, transport=httpx.MockTransport(receiver), clock=FakeClock(1_700_000_000.0), **kwargs
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://am:9093",
        "http://am:9093/",
        "http://am:9093/api/v2/alerts",
        "http://am:9093/api/v2/alerts/",
    ],
)
def test_url_is_the_v2_alerts_endpoint(url: str) -> None:
    """A base URL gets /api/v2/alerts appended; a full endpoint is kept."""
    assert make(Receiver(), url).url.rstrip("/") == "http://am:9093/api/v2/alerts"


async def test_send_alert_posts_a_postable_alert() -> None:
    """Labels: alertname, severity, default labels; annotations: summary, description, context."""
    receiver = Receiver()
    async with make(
        receiver, default_labels={"service": "checkout"}, generator_url="http://app/slo"
    ) as am:
        assert isinstance(am, AlertDispatcherProtocol)
        await am.send_alert("DiskFull", "95% used", "critical", {"host": "db-1", "pct": 95})
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.url.path == "/api/v2/alerts"
    assert receiver.alerts == [
        {
            "labels": {"service": "checkout", "alertname": "DiskFull", "severity": "critical"},
            "annotations": {
                "host": "db-1",
                "pct": "95",
                "summary": "DiskFull",
                "description": "95% used",
            },
            "startsAt": "2023-11-14T22:13:20+00:00",
            "generatorURL": "http://app/slo",
        }
    ]
    assert am.sent == 1


async def test_send_metric_alert_labels_the_metric() -> None:
    """A metric alert is MetricThresholdExceeded with metric and derived severity labels."""
    receiver = Receiver()
    async with make(receiver) as am:
        await am.send_metric_alert("latency_ms", 350.0, 100.0)
    (alert,) = receiver.alerts
    assert alert["labels"] == {
        "metric": "latency_ms",
        "alertname": "MetricThresholdExceeded",
        "severity": "critical",
    }
    assert alert["annotations"]["current_value"] == "350"
    assert alert["annotations"]["threshold"] == "100"
    assert "endsAt" not in alert


async def test_context_alert_name_and_labels_become_labels() -> None:
    """context['alert_name'] names the alert; context['labels'] are added, names made valid."""
    receiver = Receiver()
    async with make(receiver, default_labels={"team": "core", "slo": "default"}) as am:
        await am.send_metric_alert(
            "http.duration",
            250.0,
            200.0,
            {
                "alert_name": "SLOViolation",
                "labels": {"slo": "api.p99", "bad-name": 1, "9x": "y", "__x": "z"},
                "burn-rate": 1.25,
            },
        )
    (alert,) = receiver.alerts
    assert alert["labels"] == {
        "team": "core",
        "slo": "api.p99",
        "bad_name": "1",
        "_9x": "y",
        "_x": "z",
        "metric": "http.duration",
        "alertname": "SLOViolation",
        "severity": "warning",
    }
    assert alert["annotations"]["burn_rate"] == "1.25"
    assert "labels" not in alert["annotations"]


async def test_an_empty_title_still_yields_an_alertname() -> None:
    """Alertmanager refuses an empty alertname, so a fallback name is used."""
    receiver = Receiver()
    async with make(receiver) as am:
        await am.send_alert("", "m", "low")
    assert receiver.alerts[0]["labels"]["alertname"] == "Alert"


async def test_refusals_are_counted_not_raised(collector: MetricsCollector) -> None:
    """A 400 from Alertmanager is a counted failure, never an exception."""
    async with make(Receiver(status=400)) as am:
        await am.send_alert("t", "m", "low")
    assert am.failed == 1
    assert am.sent == 0
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    assert failures.get_value({"dispatcher": "AlertmanagerDispatcher", "reason": "http_400"}) == 1


@pytest.mark.parametrize(
    ("labels", "match"),
    [({"bad-name": "x"}, "label name"), ({"__reserved": "x"}, "label name"), ({"a": 1}, "strings")],
)
def test_invalid_default_labels_are_refused(labels: dict[str, Any], match: str) -> None:
    """Default labels must have valid names and string values."""
    with pytest.raises(ValueError, match=match):
        AlertmanagerDispatcher("http://am:9093", default_labels=labels)


def test_invalid_urls_are_refused() -> None:
    """The Alertmanager and generator URLs must be absolute http(s) URLs."""
    with pytest.raises(ValueError, match="Alertmanager URL"):
        AlertmanagerDispatcher("am:9093")
    with pytest.raises(ValueError, match="generator URL"):
        AlertmanagerDispatcher("http://am:9093", generator_url="/slo")


def test_default_labels_are_copied() -> None:
    """Mutating the returned labels does not change the dispatcher."""
    am = AlertmanagerDispatcher("http://am:9093", default_labels={"env": "prod"})
    am.default_labels["env"] = "dev"
    assert am.default_labels == {"env": "prod"}


async def test_context_summary_replaces_the_generated_one() -> None:
    """A richer summary/description from the context wins over the generated text."""
    receiver = Receiver()
    async with make(receiver) as am:
        await am.send_metric_alert("m", 3.0, 1.0, {"summary": "p99 is 3x the target"})
    assert receiver.alerts[0]["annotations"]["summary"] == "p99 is 3x the target"
