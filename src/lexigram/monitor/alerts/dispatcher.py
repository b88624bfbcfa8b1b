"""Alert dispatchers without dependencies: the structured logger and a fan-out.

Both satisfy :class:`~lexigram.monitor.protocols.AlertDispatcherProtocol`.
:func:`as_alert_dispatcher` accepts what users write from the reference's example — an
object with only ``send_alert`` (a Slack or PagerDuty sender) — and formats metric
alerts into it. The severity rules shared by every dispatcher of this package live here:

- ``send_alert``: severity ``high`` or ``critical`` (any case) is an error, the rest a
  warning (:func:`is_error_severity`).
- ``send_metric_alert``: an error when the value exceeds the threshold by more than 100 %
  of it (``value - threshold > |threshold|``, i.e. ``value > 2·threshold`` for a
  non-negative threshold), else a warning (:func:`metric_alert_severity`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import ALERT_FAILURES, count_failure, failure_reason
from ..protocols import AlertDispatcherProtocol

__all__ = [
    "FanOutAlertDispatcher",
    "LoggingAlertDispatcher",
    "SendAlertAdapter",
    "as_alert_dispatcher",
    "dispatch_failure",
    "is_error_severity",
    "metric_alert_severity",
]

ALERTS_LOGGER = "lexigram.monitor.alerts"

_ERROR_SEVERITIES = frozenset({"high", "critical"})
# Attributes every LogRecord has (plus the two the formatter adds): `extra` may not set them.
_RESERVED = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
}


def is_error_severity(severity: str) -> bool:
    """True for ``high`` and ``critical`` (case and surrounding spaces ignored)."""
    return str(severity).strip().lower() in _ERROR_SEVERITIES


def metric_alert_severity(current_value: float, threshold: float) -> str:
    """``"critical"`` when *current_value* exceeds *threshold* by more than 100 %, else
    ``"warning"`` (NaN values are a warning)."""
    return "critical" if current_value - threshold > abs(threshold) else "warning"


def dispatch_failure(exc: BaseException, timeout: float | None) -> str:
    """Log text for a dispatch that failed under *timeout* seconds:
    ``timed out after Ns`` for a timeout, else ``<ExceptionType>: <message>``."""
    if isinstance(exc, TimeoutError) and timeout is not None:
        return f"timed out after {timeout:g}s"
    return f"{type(exc).__name__}: {exc}"


class SendAlertAdapter:
    """A full :class:`AlertDispatcherProtocol` over an object that only has ``send_alert``.

    ``send_alert`` is passed through (awaited when it returns an awaitable).
    ``send_metric_alert(metric, value, threshold, context)`` becomes
    ``send_alert(title, message, severity, context)`` with

    - title ``"<alert_name>: <metric>"`` when the context names an ``alert_name`` (SLO
      violations do: ``SLOViolation``), else ``"metric <metric> breached its threshold"``;
    - message ``"<metric> = <value> (threshold <threshold>)"``;
    - severity ``critical`` when the value exceeds the threshold by more than 100 %, else
      ``warning`` (:func:`metric_alert_severity`, the rule of every dispatcher here);
    - context: the given one plus ``metric_name``, ``current_value`` and ``threshold``.
    """

    __slots__ = ("wrapped",)

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Dispatch a free-form alert through the wrapped ``send_alert``."""
        result = self.wrapped.send_alert(title, message, severity, context)
        if inspect.isawaitable(result):
            await result

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Format a metric-threshold alert as a free-form one (see the class docstring)."""
        fields = dict(context or {})
        name = fields.get("alert_name")
        title = f"{name}: {metric_name}" if name else f"metric {metric_name} breached its threshold"
        message = f"{metric_name} = {current_value:g} (threshold {threshold:g})"
        fields.update(metric_name=metric_name, current_value=current_value, threshold=threshold)
        severity = metric_alert_severity(current_value, threshold)
        await self.send_alert(title, message, severity, fields)

    def __repr__(self) -> str:
        return f"SendAlertAdapter({self.wrapped!r})"


def as_alert_dispatcher(candidate: Any, what: str = "dispatcher") -> AlertDispatcherProtocol:
    """*candidate* as a full dispatcher: itself when it has ``send_alert`` and
    ``send_metric_alert``, a :class:`SendAlertAdapter` when it has only ``send_alert``;
    otherwise ``TypeError`` naming *what* and the method to add."""
    if isinstance(candidate, AlertDispatcherProtocol):
        return candidate
    if callable(getattr(candidate, "send_alert", None)):
        return SendAlertAdapter(candidate)
    raise TypeError(
        f"{what} ({candidate!r}) has no send_alert method; pass an object with "
        "async send_alert(title, message, severity, context=None) (send_metric_alert is "
        "optional: metric alerts are then formatted into send_alert)"
    )


def context_fields(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """*context* as ``extra`` fields of a log record.

    Keys that a LogRecord already owns (``name``, ``message``, ``args``...) get a
    ``context_`` prefix instead of breaking the logging call; keys become strings.
    """
    if not context:
        return {}
    fields: dict[str, Any] = {}
    for key, value in context.items():
        name = str(key)
        fields[f"context_{name}" if name in _RESERVED else name] = value
    return fields


class LoggingAlertDispatcher:
    """Dispatches alerts to the structured logger.

    Implements AlertDispatcherProtocol. Low and medium-severity alerts are logged at
    WARNING level; high and critical alerts at ERROR level. Records go to the logger
    ``lexigram.monitor.alerts`` (or the one given) with the alert's fields in ``extra``:
    ``alert_kind``, ``alert_title``/``alert_message``/``alert_severity`` or
    ``metric_name``/``current_value``/``threshold``/``alert_severity``, plus every
    *context* entry. It keeps no state and needs no dependency.
    """

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger if logger is not None else logging.getLogger(ALERTS_LOGGER)

    @property
    def logger(self) -> logging.Logger:
        """The logger alerts are written to."""
        return self._logger

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Dispatch a free-form operational alert to the structured logger.

        *context* entries become structured key-value pairs on the log record.
        """
        level = logging.ERROR if is_error_severity(severity) else logging.WARNING
        extra = context_fields(context)
        extra.update(
            alert_kind="alert",
            alert_title=title,
            alert_message=message,
            alert_severity=severity,
        )
        self._logger.log(level, "[%s] %s: %s", severity, title, message, extra=extra)

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Dispatch a metric-threshold alert to the structured logger.

        Logged at WARNING unless the breach exceeds the threshold by more than 100 %,
        in which case ERROR is used.
        """
        severity = metric_alert_severity(current_value, threshold)
        level = logging.ERROR if severity == "critical" else logging.WARNING
        extra = context_fields(context)
        extra.update(
            alert_kind="metric",
            metric_name=metric_name,
            current_value=current_value,
            threshold=threshold,
            alert_severity=severity,
        )
        self._logger.log(
            level,
            "metric %s = %s breached its threshold %s",
            metric_name,
            current_value,
            threshold,
            extra=extra,
        )


class FanOutAlertDispatcher:
    """Sends every alert to several dispatchers at once, containing their failures.

    Dispatchers with only ``send_alert`` are accepted (:func:`as_alert_dispatcher`).
    Each dispatcher runs concurrently under ``timeout`` seconds (``None``: no limit). A
    dispatcher that raises or times out is logged (rate limited, logger
    ``lexigram.monitor.alerts``) and counted in :attr:`failures` and in
    ``lexigram_monitor_alert_failures_total{dispatcher=<its class>}``; the others still
    deliver and the caller never sees the error. Memory: one counter per dispatcher,
    fixed at construction.
    """

    def __init__(
        self,
        dispatchers: Iterable[AlertDispatcherProtocol],
        *,
        timeout: float | None = 10.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        targets = tuple(
            as_alert_dispatcher(target, f"dispatcher #{index}")
            for index, target in enumerate(dispatchers)
        )
        valid = isinstance(timeout, int | float) and 0 < timeout < math.inf
        if timeout is not None and not valid:
            raise ValueError(
                f"timeout {timeout!r} is invalid: it must be a finite number of seconds > 0, "
                "or None for no limit"
            )
        self._dispatchers = targets
        self._timeout = None if timeout is None else float(timeout)
        self._failures = [0] * len(targets)
        self._log = RateLimitedLogger(logging.getLogger(ALERTS_LOGGER), clock=clock)

    @property
    def dispatchers(self) -> tuple[AlertDispatcherProtocol, ...]:
        """The dispatchers alerts are sent to, in order."""
        return self._dispatchers

    @property
    def failures(self) -> int:
        """Number of deliveries that raised or timed out, over all dispatchers."""
        return sum(self._failures)

    def failures_of(self, index: int) -> int:
        """Number of failed deliveries of the dispatcher at *index*."""
        return self._failures[index]

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Send a free-form alert to every dispatcher; failures are contained."""
        await self._fan_out(
            "send_alert", lambda d: d.send_alert(title, message, severity, _copy(context))
        )

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Send a metric-threshold alert to every dispatcher; failures are contained."""
        await self._fan_out(
            "send_metric_alert",
            lambda d: d.send_metric_alert(metric_name, current_value, threshold, _copy(context)),
        )

    async def _fan_out(
        self, method: str, call: Callable[[AlertDispatcherProtocol], Awaitable[None]]
    ) -> None:
        await asyncio.gather(
            *(self._guarded(i, d, method, call) for i, d in enumerate(self._dispatchers))
        )

    async def _guarded(
        self,
        index: int,
        dispatcher: AlertDispatcherProtocol,
        method: str,
        call: Callable[[AlertDispatcherProtocol], Awaitable[None]],
    ) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await call(dispatcher)
        except Exception as exc:
            self._failures[index] += 1
            kind = type(getattr(dispatcher, "wrapped", dispatcher)).__name__
            count_failure(ALERT_FAILURES, failure_reason(exc), dispatcher=kind)
            self._log.warning(
                f"fanout:{index}:{type(exc).__name__}",
                "alert dispatcher #%d (%s) failed in %s: %s",
                index,
                kind,
                method,
                dispatch_failure(exc, self._timeout),
            )


def _copy(context: dict[str, Any] | None) -> dict[str, Any] | None:
    # Each dispatcher gets its own shallow copy: one mutating it cannot affect another.
    return None if context is None else dict(context)
