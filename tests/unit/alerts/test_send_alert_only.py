"""The reference's SlackAlertDispatcher defines only send_alert: it is accepted wherever a
dispatcher is, and metric alerts are formatted into it."""

from __future__ import annotations

from typing import Any

import pytest

from lexigram.monitor import FanOutAlertDispatcher, SLOMonitor
from lexigram.monitor.alerts import SendAlertAdapter, as_alert_dispatcher
from lexigram.monitor.protocols import AlertDispatcherProtocol

from ..slo._slos import METRIC, example_slo


class SlackAlertDispatcher:
    """As in the API reference: only ``send_alert``, posting to a channel."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, dict[str, Any] | None]] = []

    async def send_alert(
        self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
    ) -> None:
        self.posted.append((title, message, severity, context))


class SyncPager:
    """A plain function-style sender: send_alert is not even async."""

    def __init__(self) -> None:
        self.pages: list[str] = []

    def send_alert(
        self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
    ) -> None:
        self.pages.append(f"[{severity}] {title}")


async def test_slo_monitor_dispatches_violations_into_send_alert() -> None:
    """The reference's example violation (p99 350 ms over 200 ms) reaches Slack as a
    formatted alert with the SLO context and the metric fields."""
    slack = SlackAlertDispatcher()
    monitor = SLOMonitor(dispatcher=slack)
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 150.0)
    monitor.record_sample(METRIC, 350.0)
    (violation,) = await monitor.evaluate()
    ((title, message, severity, context),) = slack.posted
    assert title == f"SLOViolation: {METRIC}"
    assert message == f"{METRIC} = 350 (threshold 200)"
    assert severity == "warning"  # 350 is not more than twice 200
    assert context is not None
    assert context["labels"] == {"slo": "api.p99_latency"}
    assert context["summary"] == violation.message
    assert (context["current_value"], context["threshold"]) == (350.0, 200.0)


async def test_fan_out_accepts_send_alert_only_dispatchers() -> None:
    """FanOutAlertDispatcher takes them too, for both kinds of alert."""
    slack, pager = SlackAlertDispatcher(), SyncPager()
    fan_out = FanOutAlertDispatcher([slack, pager])
    await fan_out.send_alert("disk full", "95 %", "high")
    await fan_out.send_metric_alert("queue.depth", 500.0, 100.0)
    assert [p[:3] for p in slack.posted] == [
        ("disk full", "95 %", "high"),
        ("metric queue.depth breached its threshold", "queue.depth = 500 (threshold 100)",
         "critical"),
    ]  # fmt: skip
    assert pager.pages == [
        "[high] disk full",
        "[critical] metric queue.depth breached its threshold",
    ]
    assert fan_out.failures == 0


def test_full_dispatchers_are_used_as_they_are() -> None:
    """An object with both methods is not wrapped; a send_alert-only one is, and the
    adapter satisfies the protocol."""
    from lexigram.monitor import LoggingAlertDispatcher

    logging_dispatcher = LoggingAlertDispatcher()
    assert as_alert_dispatcher(logging_dispatcher) is logging_dispatcher
    adapted = as_alert_dispatcher(SlackAlertDispatcher())
    assert isinstance(adapted, SendAlertAdapter)
    assert isinstance(adapted, AlertDispatcherProtocol)


@pytest.mark.parametrize(
    "build", [lambda d: SLOMonitor(dispatcher=d), lambda d: FanOutAlertDispatcher([d])]
)
def test_objects_without_send_alert_are_refused(build: Any) -> None:
    """Something that cannot send alerts at all is refused, naming the method to add."""
    with pytest.raises(TypeError, match="has no send_alert method"):
        build(object())
