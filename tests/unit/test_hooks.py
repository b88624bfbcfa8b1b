"""Hook payloads and the subscriber bus."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from lexigram.monitor.hooks import (
    AlertFiredHook,
    HealthCheckRunHook,
    HookBus,
    MetricRecordedHook,
)


def test_payloads_are_frozen_and_keyword_only() -> None:
    """Payloads cannot be mutated and must be built with keywords."""
    hook = MetricRecordedHook(metric_name="m", value=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hook.value = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        AlertFiredHook("a", "critical")  # type: ignore[misc]
    assert HealthCheckRunHook(check_name="db", healthy=True).healthy


def test_bus_delivers_by_type_and_unsubscribes() -> None:
    """Subscribers get payloads of their type only, until they unsubscribe."""
    bus = HookBus()
    seen: list[object] = []
    unsubscribe = bus.subscribe(AlertFiredHook, seen.append)
    assert bus.has_subscribers(AlertFiredHook)
    assert not bus.has_subscribers(MetricRecordedHook)
    alert = AlertFiredHook(alert_name="slo", severity="critical")
    bus.emit(alert)
    bus.emit(MetricRecordedHook(metric_name="m", value=1.0))
    unsubscribe()
    bus.emit(alert)
    assert seen == [alert]


def test_failing_subscriber_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    """A raising subscriber is logged and does not stop the others."""
    bus = HookBus()
    seen: list[object] = []

    def boom(_: object) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(HealthCheckRunHook, boom)
    bus.subscribe(HealthCheckRunHook, seen.append)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.hooks"):
        bus.emit(HealthCheckRunHook(check_name="db", healthy=False))
    assert len(seen) == 1
    assert "failed" in caplog.text


def test_subscriber_bound() -> None:
    """More than max_subscribers callbacks per type is refused."""
    bus = HookBus(max_subscribers=2)
    bus.subscribe(AlertFiredHook, lambda _: None)
    bus.subscribe(AlertFiredHook, lambda _: None)
    with pytest.raises(ValueError, match="limit is 2"):
        bus.subscribe(AlertFiredHook, lambda _: None)
