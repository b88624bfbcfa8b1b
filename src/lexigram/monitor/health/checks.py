"""Health check building blocks and the normaliser of raw check return values.

A check may return a :class:`HealthCheckResult` (kept as is), a :class:`HealthStatus`, a
``bool``, a ``dict`` with ``status``/``message``/``details`` (other keys become details)
or a ``(status, message)`` tuple. Anything else (None, an unknown status string, another
type) becomes UNKNOWN with a message saying what was returned and what is expected.

An exception the check *returns* is treated like one it raises: UNHEALTHY
``"<ExceptionType>: check failed"``, the text logged only. That holds for an exception
as the result, as the message of a tuple, as the message or another top-level value of a
dict (or of its ``details``), and as the ``message``/``error`` of a returned
:class:`HealthCheckResult`. A message that is not a string is rendered with exceptions
inside it replaced by that sanitised form.

Details are bounded: at most :data:`MAX_DETAIL_ITEMS` values in total, nested at most
:data:`MAX_DETAIL_DEPTH` levels, strings cut at :data:`MAX_TEXT` characters; what is
dropped is counted under ``"_truncated"``. Details are always JSON-serialisable.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

from .._ratelimit import RateLimitedLogger
from ._threads import SyncRunner
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus, coerce_status

__all__ = [
    "MAX_DETAIL_DEPTH",
    "MAX_DETAIL_ITEMS",
    "MAX_TEXT",
    "FunctionHealthCheck",
    "HealthCheck",
    "bounded_details",
    "failure_result",
    "health_checker",
    "normalise",
]

MAX_DETAIL_ITEMS = 64
MAX_DETAIL_DEPTH = 4
MAX_TEXT = 512

F = TypeVar("F", bound=Callable[..., Any])

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.health"))
# Runs the sync functions of FunctionHealthCheck objects used on their own; a
# HealthChecker runs them on its own runner instead.
_standalone_runner = SyncRunner(max_workers=4, name="lexigram-health-fn")


def _text(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


class _Budget:
    __slots__ = ("dropped", "left")

    def __init__(self, items: int) -> None:
        self.left = items
        self.dropped = 0


def _bounded(value: object, budget: _Budget, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Enum):
        return _bounded(value.value, budget, depth)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: check failed"  # never the exception text
    if depth >= MAX_DETAIL_DEPTH:
        budget.dropped += 1
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if budget.left <= 0:
                budget.dropped += 1
                continue
            budget.left -= 1
            out[_text(key)] = _bounded(item, budget, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq: list[Any] = []
        for item in value:
            if budget.left <= 0:
                budget.dropped += 1
                continue
            budget.left -= 1
            seq.append(_bounded(item, budget, depth + 1))
        return seq
    return _text(value)


def bounded_details(details: Mapping[Any, Any]) -> dict[str, Any]:
    """Copy *details* into a JSON-safe dict of bounded size (see the module docstring)."""
    budget = _Budget(MAX_DETAIL_ITEMS)
    out: dict[str, Any] = _bounded(details, budget, 0)
    if budget.dropped:
        out["_truncated"] = budget.dropped
    return out


def failure_result(
    component: str, exc: BaseException, *, category: HealthCheckCategory | None = None
) -> HealthCheckResult:
    """UNHEALTHY result for a check that raised *exc*; the text of *exc* is logged only."""
    kind = type(exc).__name__
    _log.warning(
        f"check:{component}:{kind}",
        "health check %r failed: %s: %s",
        component,
        kind,
        exc,
        exc_info=exc,
    )
    return HealthCheckResult(
        component=component,
        status=HealthStatus.UNHEALTHY,
        message=f"{kind}: check failed",
        error=kind,
        category=category,
    )


def _unknown(component: str, message: str) -> HealthCheckResult:
    return HealthCheckResult(component=component, status=HealthStatus.UNKNOWN, message=message)


def _message(message: object) -> str:
    """A message as bounded text; exceptions inside a non-string message are sanitised."""
    if message is None:
        return ""
    if isinstance(message, str):
        return _text(message)
    return _text(_bounded(message, _Budget(MAX_DETAIL_ITEMS), 0))


def _returned_exception(value: Mapping[Any, Any]) -> BaseException | None:
    """The first exception among the top-level values of a returned dict (its
    ``details`` mapping included), or None."""
    nested = value.get("details")
    candidates = [*value.values(), *(nested.values() if isinstance(nested, Mapping) else ())]
    return next((v for v in candidates if isinstance(v, BaseException)), None)


def _from_status(component: str, raw: object, message: object) -> HealthCheckResult:
    if isinstance(message, BaseException):
        return failure_result(component, message)
    status = coerce_status(raw)
    if status is None:
        return _unknown(
            component,
            _text(
                f"check returned unknown status {raw!r}; use one of "
                f"{', '.join(s.value for s in HealthStatus)} or a bool"
            ),
        )
    return HealthCheckResult(component=component, status=status, message=_message(message))


def normalise(component: str, value: object) -> HealthCheckResult:
    """Turn whatever a check returned into a :class:`HealthCheckResult`."""
    if isinstance(value, HealthCheckResult):
        return _sanitised(value)
    if isinstance(value, BaseException):
        return failure_result(component, value)
    if isinstance(value, bool):
        return HealthCheckResult(
            component=component,
            status=HealthStatus.HEALTHY if value else HealthStatus.UNHEALTHY,
            message="" if value else "check returned False",
        )
    if isinstance(value, HealthStatus):
        return HealthCheckResult(component=component, status=value)
    if isinstance(value, Mapping):
        if "status" not in value:
            return _unknown(
                component,
                f"check returned a dict without a 'status' key (keys: {len(value)}); "
                "add 'status' (e.g. 'healthy')",
            )
        returned = _returned_exception(value)
        if returned is not None:
            result = failure_result(component, returned)
        else:
            result = _from_status(component, value["status"], value.get("message"))
        extra: dict[Any, Any] = {k: v for k, v in value.items() if k not in _DICT_KEYS}
        nested = value.get("details")
        if isinstance(nested, Mapping):
            extra = {**nested, **extra}
        elif nested is not None:
            extra["details"] = nested
        if extra:
            result.details = bounded_details(extra)
        return result
    if isinstance(value, tuple) and len(value) == 2:
        return _from_status(component, value[0], value[1])
    if isinstance(value, str):
        return _from_status(component, value, None)
    if value is None:
        return _unknown(
            component,
            "check returned None; return a bool, HealthStatus, dict with 'status', "
            "(status, message) tuple or HealthCheckResult",
        )
    return _unknown(
        component,
        f"check returned an unsupported {type(value).__name__}; return a bool, HealthStatus, "
        "dict with 'status', (status, message) tuple or HealthCheckResult",
    )


_DICT_KEYS = frozenset({"status", "message", "details"})


def _sanitised(result: HealthCheckResult) -> HealthCheckResult:
    """*result* itself, or, when an exception sits in its ``message`` or ``error``, a
    failure result for it keeping the component, category and (bounded) details."""
    message: object = result.message
    error: object = result.error
    returned = next((v for v in (message, error) if isinstance(v, BaseException)), None)
    if returned is None:
        return result
    failed = failure_result(result.component, returned, category=result.category)
    failed.details = bounded_details(result.details)
    failed.duration_ms = result.duration_ms
    return failed


class HealthCheck:
    """Base class for health checks: subclass it and override :meth:`check`.

    ``critical=False`` marks a check whose failure only degrades the service: a
    :class:`HealthChecker` reports its UNHEALTHY/UNKNOWN results as DEGRADED.
    """

    def __init__(self, name: str, critical: bool = True) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"health check name {name!r} must be a non-empty string")
        self.name = name
        self.critical = bool(critical)

    async def check(self) -> HealthCheckResult:
        """Perform the check; subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must override async check() -> HealthCheckResult"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, critical={self.critical})"


class FunctionHealthCheck(HealthCheck):
    """Health check implemented as a function (sync or async, taking no arguments).

    A sync function runs on a worker thread (never on the event loop); an awaitable it
    returns is awaited. Its return value is mapped by :func:`normalise`; an exception
    becomes an UNHEALTHY result with a sanitised message.
    """

    def __init__(self, name: str, func: Callable[[], Any], critical: bool = True) -> None:
        super().__init__(name, critical)
        if not callable(func):
            raise TypeError(
                f"FunctionHealthCheck {name!r}: func must be callable, got {type(func).__name__}"
            )
        self.func = func
        self.is_async = is_async_callable(func)

    async def check(self) -> HealthCheckResult:
        """Run the function and map its outcome to a result."""
        try:
            if self.is_async:
                value = await self.func()
            else:
                value = await _standalone_runner.run(self.func)
                if inspect.isawaitable(value):
                    value = await value
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # contained, incl. SystemExit/KeyboardInterrupt
            return failure_result(self.name, exc)
        result = normalise(self.name, value)
        if not result.component:
            result.component = self.name
        return result


def is_async_callable(func: object) -> bool:
    """True when calling *func* returns a coroutine (``async def``, partials of one,
    objects with ``async def __call__``)."""
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)  # noqa: B004 - the class attribute
    return call is not None and not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


def health_checker(name: str) -> Callable[[F], F]:
    """Decorator that marks a callable as a named health check.

    Stamps ``_health_check_name`` on the callable (which is returned unchanged), so that
    :meth:`HealthChecker.register` can add it under *name*.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"health_checker name {name!r} must be a non-empty string")

    def mark(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@health_checker({name!r}) must decorate a callable")
        func._health_check_name = name  # type: ignore[attr-defined]
        return func

    return mark
