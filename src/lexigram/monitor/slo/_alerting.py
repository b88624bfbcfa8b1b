"""Sending the monitor's alerts: suppression, hook, dispatch under a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .._ratelimit import RateLimitedLogger
from .._selfmetrics import SLO_DISPATCH_FAILURES, count_failure, failure_reason
from ..alerts._suppress import SuppressionWindow
from ..alerts.dispatcher import dispatch_failure
from ..hooks import AlertFiredHook, default_bus
from ..protocols import AlertDispatcherProtocol
from ._burns import BURN_ALERT_NAME, ErrorBudgetBurn, burn_context
from ._latency import alert_context
from .objective import SLOViolation

__all__ = ["ALERT_NAME", "AlertSender"]

ALERT_NAME = "SLOViolation"
"""``alert_name`` given to dispatchers for SLO violations (Alertmanager's ``alertname``)."""

# (SLO name, metric name, value, threshold, context) of one send_metric_alert call
_Send = tuple[str, str, float, float, dict[str, Any]]


class AlertSender:
    """Suppresses repeats (per SLO; per SLO and page/ticket for burns), announces on the
    hook bus and dispatches concurrently, each call bounded by *timeout* seconds; counts
    what it suppressed and what failed."""

    def __init__(
        self,
        suppression: SuppressionWindow,
        dispatcher: AlertDispatcherProtocol | None,
        timeout: float,
        guard_log: RateLimitedLogger,
    ) -> None:
        self.suppression = suppression
        self.dispatcher = dispatcher
        self.timeout = timeout
        self._guard_log = guard_log
        self.failures = 0
        self.suppressed = 0

    async def send(
        self,
        violations: list[SLOViolation],
        burns: list[ErrorBudgetBurn],
        descriptions: Mapping[str, str],
    ) -> None:
        """Alert *violations* and *burns* not suppressed; never raises for a dispatcher."""
        sends: list[_Send] = []
        for violation in violations:
            slo = violation.slo
            if not self._fires(slo.name):
                continue
            context = alert_context(violation)
            _announce(slo.name, violation.severity, violation.message, context,
                      violation.detected_at.timestamp())  # fmt: skip
            labels = {"slo": slo.name}
            context = {**context, "alert_name": ALERT_NAME, "labels": labels}
            sends.append((slo.name, slo.metric, violation.measured_value, slo.threshold_ms,
                          context))  # fmt: skip
        for burn in burns:
            name = burn.status.name
            if not self._fires(f"{name}\x00{burn.kind}"):
                continue
            context = burn_context(burn, descriptions.get(name, ""))
            _announce(name, burn.severity, burn.message, context,
                      burn.status.evaluated_at.timestamp())  # fmt: skip
            labels = {"slo": name, "alert_kind": burn.kind}
            context = {**context, "alert_name": BURN_ALERT_NAME, "labels": labels}
            sends.append((name, f"{name} burn rate", burn.pair.long_burn_rate or 0.0,
                          burn.pair.factor, context))  # fmt: skip
        dispatcher = self.dispatcher
        if sends and dispatcher is not None:
            await asyncio.gather(*(self._dispatch(dispatcher, *send) for send in sends))

    def _fires(self, key: str) -> bool:
        if self.suppression.should_fire(key):
            return True
        self.suppressed += 1
        return False

    async def _dispatch(
        self,
        dispatcher: AlertDispatcherProtocol,
        name: str,
        metric: str,
        value: float,
        threshold: float,
        context: dict[str, Any],
    ) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await dispatcher.send_metric_alert(metric, value, threshold, context)
        except Exception as exc:
            self.failures += 1
            count_failure(SLO_DISPATCH_FAILURES, failure_reason(exc))
            self._guard_log.warning(
                f"slo:dispatch:{type(exc).__name__}",
                "dispatching the alert of SLO %r failed: %s",
                name,
                dispatch_failure(exc, self.timeout),
            )


def _announce(
    name: str, severity: str, message: str, context: dict[str, Any], fired_at: float
) -> None:
    if default_bus.has_subscribers(AlertFiredHook):
        default_bus.emit(
            AlertFiredHook(
                alert_name=name,
                severity=severity,
                message=message,
                context=context,
                fired_at=fired_at,
            )
        )
