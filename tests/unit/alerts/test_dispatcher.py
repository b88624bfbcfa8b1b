"""The logging and fan-out alert dispatchers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.alerts import (
    AlertDispatcherProtocol,
    FanOutAlertDispatcher,
    LoggingAlertDispatcher,
)
from lexigram.monitor.alerts.dispatcher import is_error_severity, metric_alert_severity
from lexigram.monitor.metrics import MetricsCollector

LOGGER = "lexigram.monitor.alerts"


class RecordingDispatcher:
    """Fake dispatcher keeping every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def send_alert(
        self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
    ) -> None:
        self.calls.append(("alert", (title, message, severity, context)))

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.calls.append(("metric", (metric_name, current_value, threshold, context)))


class FailingDispatcher(RecordingDispatcher):
    """Fake dispatcher whose every send raises."""

    async def send_alert(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("pager down")

    async def send_metric_alert(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("pager down")


class HangingDispatcher(RecordingDispatcher):
    """Fake dispatcher that never completes."""

    async def send_alert(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.Event().wait()


def test_logging_dispatcher_satisfies_the_protocol() -> None:
    """LoggingAlertDispatcher is an AlertDispatcherProtocol."""
    assert isinstance(LoggingAlertDispatcher(), AlertDispatcherProtocol)


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("low", logging.WARNING),
        ("medium", logging.WARNING),
        ("warning", logging.WARNING),
        ("info", logging.WARNING),
        ("high", logging.ERROR),
        ("critical", logging.ERROR),
        ("CRITICAL", logging.ERROR),
        (" High ", logging.ERROR),
    ],
)
async def test_send_alert_level_follows_severity(
    severity: str, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    """high/critical (any case) are logged at ERROR, every other severity at WARNING."""
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        await LoggingAlertDispatcher().send_alert("Disk full", "95% used", severity)
    (record,) = caplog.records
    assert record.name == LOGGER
    assert record.levelno == level


async def test_send_alert_puts_structured_fields_on_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Title, message, severity and every context entry are attributes of the record."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await LoggingAlertDispatcher().send_alert(
            "Disk full", "95% used", "high", {"host": "db-1", "used": 0.95}
        )
    (record,) = caplog.records
    assert record.getMessage() == "[high] Disk full: 95% used"
    assert record.alert_kind == "alert"  # type: ignore[attr-defined]
    assert record.alert_title == "Disk full"  # type: ignore[attr-defined]
    assert record.alert_message == "95% used"  # type: ignore[attr-defined]
    assert record.alert_severity == "high"  # type: ignore[attr-defined]
    assert record.host == "db-1"  # type: ignore[attr-defined]
    assert record.used == 0.95  # type: ignore[attr-defined]


async def test_context_keys_owned_by_log_records_are_prefixed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Context keys such as 'message' or 'name' cannot break logging: they get context_."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await LoggingAlertDispatcher().send_alert(
            "t", "m", "low", {"message": "x", "name": "y", "args": 1}
        )
    (record,) = caplog.records
    assert record.context_message == "x"  # type: ignore[attr-defined]
    assert record.context_name == "y"  # type: ignore[attr-defined]
    assert record.context_args == 1  # type: ignore[attr-defined]
    assert record.name == LOGGER


@pytest.mark.parametrize(
    ("value", "threshold", "level"),
    [
        (150.0, 100.0, logging.WARNING),
        (200.0, 100.0, logging.WARNING),  # exactly +100 %: not more than 100 %
        (200.1, 100.0, logging.ERROR),
        (1000.0, 100.0, logging.ERROR),
        (5.0, 0.0, logging.ERROR),
        (float("nan"), 100.0, logging.WARNING),
    ],
)
async def test_send_metric_alert_is_an_error_above_twice_the_threshold(
    value: float, threshold: float, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    """WARNING unless the value exceeds the threshold by more than 100 %, then ERROR."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await LoggingAlertDispatcher().send_metric_alert("latency_ms", value, threshold)
    (record,) = caplog.records
    assert record.levelno == level


async def test_send_metric_alert_fields(caplog: pytest.LogCaptureFixture) -> None:
    """Metric name, value, threshold, derived severity and context are on the record."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await LoggingAlertDispatcher().send_metric_alert(
            "queue_depth", 350.0, 100.0, {"queue": "emails"}
        )
    (record,) = caplog.records
    assert record.getMessage() == "metric queue_depth = 350.0 breached its threshold 100.0"
    assert record.alert_kind == "metric"  # type: ignore[attr-defined]
    assert record.metric_name == "queue_depth"  # type: ignore[attr-defined]
    assert record.current_value == 350.0  # type: ignore[attr-defined]
    assert record.threshold == 100.0  # type: ignore[attr-defined]
    assert record.alert_severity == "critical"  # type: ignore[attr-defined]
    assert record.queue == "emails"  # type: ignore[attr-defined]


async def test_a_custom_logger_is_used(caplog: pytest.LogCaptureFixture) -> None:
    """Alerts go to the logger given at construction."""
    logger = logging.getLogger("app.alerts")
    dispatcher = LoggingAlertDispatcher(logger)
    assert dispatcher.logger is logger
    with caplog.at_level(logging.WARNING, logger="app.alerts"):
        await dispatcher.send_alert("t", "m", "low")
    assert [r.name for r in caplog.records] == ["app.alerts"]


def test_severity_rules() -> None:
    """The shared rules: high/critical are errors; a metric alert is critical past +100 %."""
    assert is_error_severity("critical")
    assert is_error_severity("HIGH")
    assert not is_error_severity("warning")
    assert metric_alert_severity(201.0, 100.0) == "critical"
    assert metric_alert_severity(200.0, 100.0) == "warning"
    # For a negative threshold "+100 %" is measured from its absolute value.
    assert metric_alert_severity(-5.0, -10.0) == "warning"
    assert metric_alert_severity(0.5, -10.0) == "critical"


async def test_fan_out_sends_to_every_dispatcher() -> None:
    """Each alert reaches every dispatcher with the same arguments."""
    first, second = RecordingDispatcher(), RecordingDispatcher()
    fan_out = FanOutAlertDispatcher([first, second])
    assert isinstance(fan_out, AlertDispatcherProtocol)
    await fan_out.send_alert("t", "m", "high", {"k": "v"})
    await fan_out.send_metric_alert("latency", 3.0, 1.0)
    expected = [("alert", ("t", "m", "high", {"k": "v"})), ("metric", ("latency", 3.0, 1.0, None))]
    assert first.calls == expected
    assert second.calls == expected
    assert fan_out.failures == 0


async def test_fan_out_gives_each_dispatcher_its_own_context_copy() -> None:
    """A dispatcher mutating its context cannot change what the others receive."""

    class Mutating(RecordingDispatcher):
        async def send_alert(
            self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
        ) -> None:
            assert context is not None
            context["mutated"] = True

    after = RecordingDispatcher()
    context = {"k": "v"}
    await FanOutAlertDispatcher([Mutating(), after]).send_alert("t", "m", "low", context)
    assert after.calls[0][1][3] == {"k": "v"}
    assert context == {"k": "v"}


async def test_fan_out_contains_failures_and_counts_them(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """A failing dispatcher is logged and counted; the others still deliver; nothing raises."""
    good = RecordingDispatcher()
    fan_out = FanOutAlertDispatcher([FailingDispatcher(), good], clock=FakeClock())
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await fan_out.send_alert("t", "m", "high")
        await fan_out.send_metric_alert("x", 2.0, 1.0)
    assert len(good.calls) == 2
    assert fan_out.failures == 2
    assert fan_out.failures_of(0) == 2
    assert fan_out.failures_of(1) == 0
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    labels = {"dispatcher": "FailingDispatcher", "reason": "ConnectionError"}
    assert failures.get_value(labels) == 2
    # Rate limited: one line for the repeated failure.
    assert len(caplog.records) == 1
    assert "ConnectionError: pager down" in caplog.records[0].getMessage()


async def test_fan_out_bounds_each_dispatcher_by_the_timeout(
    collector: MetricsCollector,
) -> None:
    """A dispatcher that hangs is abandoned after the timeout and counted as failed."""
    good = RecordingDispatcher()
    fan_out = FanOutAlertDispatcher([HangingDispatcher(), good], timeout=0.01)
    await fan_out.send_alert("t", "m", "low")
    assert fan_out.failures_of(0) == 1
    assert len(good.calls) == 1
    failures = collector.create_counter("lexigram_monitor_alert_failures_total")
    assert failures.get_value({"dispatcher": "HangingDispatcher", "reason": "timeout"}) == 1


async def test_fan_out_without_timeout_contains_a_dispatcher_raising_timeout_error(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """With timeout=None, a dispatcher that raises TimeoutError itself is contained too."""

    class TimingOut(RecordingDispatcher):
        async def send_alert(
            self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
        ) -> None:
            raise TimeoutError("upstream slow")

    good = RecordingDispatcher()
    fan_out = FanOutAlertDispatcher([TimingOut(), good], timeout=None)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await fan_out.send_alert("t", "m", "low")
    assert fan_out.failures_of(0) == 1
    assert len(good.calls) == 1
    assert "TimeoutError: upstream slow" in caplog.records[0].getMessage()


def test_fan_out_refuses_objects_that_are_not_dispatchers() -> None:
    """Objects without send_alert/send_metric_alert are refused with TypeError."""
    with pytest.raises(TypeError, match="dispatcher #1"):
        FanOutAlertDispatcher([RecordingDispatcher(), object()])  # type: ignore[list-item]


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan")])
def test_fan_out_refuses_invalid_timeouts(bad: float) -> None:
    """The timeout must be a finite positive number of seconds (or None)."""
    with pytest.raises(ValueError, match="timeout"):
        FanOutAlertDispatcher([], timeout=bad)
    assert FanOutAlertDispatcher([], timeout=None).dispatchers == ()
