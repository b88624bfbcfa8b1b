"""HealthChecker: named checks of any kind, run concurrently, each under a timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from ._telemetry import HealthTelemetry
from ._threads import SyncRunner
from .checks import FunctionHealthCheck, failure_result, is_async_callable, normalise
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus, aggregate_results

if TYPE_CHECKING:
    from ..config import HealthCheckConfig

__all__ = ["HealthChecker", "coerce_category"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.health"))

Summary = tuple[HealthStatus, dict[str, HealthCheckResult]]

_FAILED = (HealthStatus.UNHEALTHY, HealthStatus.UNKNOWN)


def coerce_category(value: object) -> HealthCheckCategory:
    """Accept a :class:`HealthCheckCategory` or its value (``"liveness"``, ...)."""
    if isinstance(value, HealthCheckCategory):
        return value
    if isinstance(value, str):
        try:
            return HealthCheckCategory(value.strip().lower())
        except ValueError:
            pass
    raise ValueError(
        f"health check category {value!r} is invalid; use one of "
        f"{', '.join(c.value for c in HealthCheckCategory)} (or HealthCheckCategory.*)"
    )


def _check_timeout(name: str, timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(
            f"timeout={timeout!r} for health check {name!r} is invalid: "
            "use a number of seconds > 0, or None for the configured default"
        )
    if timeout == float("inf"):
        raise ValueError(f"timeout for health check {name!r} must be finite, got inf")
    return float(timeout)


async def _guarded(invoke: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
    # Runs as its own task: every outcome becomes a value, so no BaseException (SystemExit,
    # KeyboardInterrupt, ...) ever escapes into the event loop. Only a real cancellation of
    # this task propagates.
    try:
        return True, await invoke()
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return False, exc
    except BaseException as exc:
        return False, exc


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    invoke: Callable[[], Awaitable[Any]]
    timeout: float | None
    category: HealthCheckCategory
    critical: bool
    is_async: bool


class HealthChecker:
    """Aggregates and runs named health checks with optional per-check timeouts.

    Checks run concurrently, each in its own task with its own deadline: its timeout or,
    when it has none, ``config.timeout`` (*config* defaults to ``HealthCheckConfig()``).
    A timer per check (``loop.call_later``) settles it at its deadline, and the run
    returns as soon as every check has an outcome (done, failed or timed out). A check
    may be a :class:`HealthCheck` / ``HealthCheckProtocol`` object (``check()``), an
    object with ``health_check()``, a coroutine function, a callable returning an
    awaitable, or a plain callable. Sync callables (how a check is called is decided
    once, at :meth:`add`) run on a dedicated pool of at most ``max_workers`` daemon
    threads, never on the event loop or the loop's default executor; when every worker is
    stuck in a blocked check, further sync checks wait for a worker and report UNHEALTHY
    at their timeout (see ``_threads.SyncRunner``).

    Every exception, including ``BaseException`` subclasses other than the caller's own
    cancellation, becomes UNHEALTHY ``"<ExceptionType>: check failed"`` (the text is logged
    only); a timeout becomes UNHEALTHY ``"timed out after Ns"``. A check abandoned at its
    timeout is cancelled; one that ignores cancellation keeps running on its own, but the
    run returns at the deadline. ``critical=False`` checks that fail report DEGRADED.

    ``config.enabled=False`` runs nothing (results are empty, aggregate HEALTHY); a
    non-empty ``config.checks`` runs only the checks named there. Runs mutate no shared
    state. Each run records ``lexigram_health_check_duration_seconds{check}`` and
    ``lexigram_health_check_status{check}`` in *collector* (default: the process default
    collector) and emits a ``HealthCheckRunHook`` per check when someone subscribes.

    Memory: one entry per registered check; a run keeps nothing once it returns (a check
    abandoned at its timeout lives on only until it ends by itself).
    """

    def __init__(
        self,
        config: HealthCheckConfig | None = None,
        *,
        collector: Any = None,
        max_workers: int = 4,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if config is None:
            from ..config import HealthCheckConfig

            config = HealthCheckConfig()
        self._config = config
        self._only = frozenset(self._config.checks)
        self._clock = clock
        self._runner = SyncRunner(max_workers=max_workers)
        self._entries: dict[str, _Entry] = {}
        self._telemetry = HealthTelemetry(collector)

    @property
    def config(self) -> HealthCheckConfig:
        """The configuration this checker honours."""
        return self._config

    @property
    def telemetry_errors(self) -> int:
        """Times recording the self-metrics failed (the runs themselves went on)."""
        return self._telemetry.errors

    # -- registration -------------------------------------------------------------------

    def add(
        self,
        name: str,
        check: Any,
        *,
        timeout: float | None = None,
        category: HealthCheckCategory | str = HealthCheckCategory.READINESS,
        critical: bool | None = None,
    ) -> None:
        """Add a named health check with an optional timeout and category.

        *critical* defaults to the check object's ``critical`` attribute, else True.
        Raises ValueError for an empty or already registered name, a bad timeout or
        category, and TypeError for a *check* that is neither callable nor has
        ``check()``/``health_check()``.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"health check name {name!r} must be a non-empty string")
        if name in self._entries:
            raise ValueError(
                f"a health check named {name!r} is already registered; "
                "remove() it first or choose another name"
            )
        seconds = _check_timeout(name, timeout)
        cat = coerce_category(category)
        func = self._function_of(name, check)
        if critical is None:
            flag = getattr(check, "critical", True)
            critical = flag if isinstance(flag, bool) else True
        is_async = is_async_callable(func)
        invoke = func if is_async else self._threaded(func)
        self._entries[name] = _Entry(name, invoke, seconds, cat, bool(critical), is_async)

    @staticmethod
    def _function_of(name: str, check: Any) -> Callable[[], Any]:
        if isinstance(check, FunctionHealthCheck):
            return check.func
        for attr in ("check", "health_check"):
            method = getattr(check, attr, None)
            if callable(method) and not isinstance(check, type):
                return method  # type: ignore[no-any-return]
        if callable(check):
            return check  # type: ignore[no-any-return]
        raise TypeError(
            f"health check {name!r} must be a HealthCheck, an object with check() or "
            f"health_check(), or a callable; got {type(check).__name__}"
        )

    def _threaded(self, func: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
        runner = self._runner

        async def invoke() -> Any:
            value = await runner.run(func)
            if inspect.isawaitable(value):
                value = await value
            return value

        return invoke

    def remove(self, name: str) -> None:
        """Remove a named health check; KeyError if no check has that name."""
        try:
            del self._entries[name]
        except KeyError:
            raise KeyError(
                f"no health check named {name!r}; registered: {sorted(self._entries)}"
            ) from None

    def has(self, name: str) -> bool:
        """Check whether a health check with the given name is registered."""
        return name in self._entries

    @property
    def check_names(self) -> list[str]:
        """Sorted list of all registered health check names."""
        return sorted(self._entries)

    def check_names_for(self, category: HealthCheckCategory | str) -> list[str]:
        """Sorted names of the checks registered under *category*."""
        cat = coerce_category(category)
        return sorted(n for n, e in self._entries.items() if e.category is cat)

    def register(self, check: Callable[[], Any]) -> None:
        """Register a callable decorated with ``health_checker`` under its stamped name.

        Raises ValueError if *check* was not decorated.
        """
        name = getattr(check, "_health_check_name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"{check!r} was not decorated with @health_checker(name); decorate it, "
                "or call add(name, check) instead"
            )
        self.add(name, check)

    # -- running ------------------------------------------------------------------------

    async def run_all(self) -> dict[str, HealthCheckResult]:
        """Run all health checks and return their results by name (registration order)."""
        return await self._run(None)

    @staticmethod
    def aggregate_status(results: Mapping[str, HealthCheckResult]) -> HealthStatus:
        """HEALTHY only if every check is HEALTHY; DEGRADED if any is DEGRADED and none is
        UNHEALTHY; UNHEALTHY otherwise. No results: HEALTHY."""
        return aggregate_results(results)

    async def run_all_with_summary(self) -> Summary:
        """Run all health checks; return ``(aggregate_status, per_check_results)``."""
        results = await self._run(None)
        return aggregate_results(results), results

    async def run_liveness(self) -> Summary:
        """Run only LIVENESS checks; return ``(aggregate_status, per_check_results)``."""
        return await self.run_category(HealthCheckCategory.LIVENESS)

    async def run_readiness(self) -> Summary:
        """Run only READINESS checks; return ``(aggregate_status, per_check_results)``."""
        return await self.run_category(HealthCheckCategory.READINESS)

    async def run_startup(self) -> Summary:
        """Run only STARTUP checks; return ``(aggregate_status, per_check_results)``."""
        return await self.run_category(HealthCheckCategory.STARTUP)

    async def run_category(self, category: HealthCheckCategory | str) -> Summary:
        """Run the checks of one category; return ``(aggregate_status, results)``."""
        results = await self._run(coerce_category(category))
        return aggregate_results(results), results

    def _selected(self, category: HealthCheckCategory | None) -> list[_Entry]:
        if not self._config.enabled:
            return []
        only = self._only
        return [
            e
            for e in tuple(self._entries.values())
            if (category is None or e.category is category) and (not only or e.name in only)
        ]

    async def _run(self, category: HealthCheckCategory | None) -> dict[str, HealthCheckResult]:
        entries = self._selected(category)
        if not entries:
            return {}
        outcomes = await self._run_entries(entries)
        results = {e.name: r for e, r in zip(entries, outcomes, strict=True)}
        self._telemetry.record(results)
        return results

    async def _run_entries(self, entries: list[_Entry]) -> list[HealthCheckResult]:
        # One task and one timer per check, settled by callbacks: the run returns when
        # every check has an outcome, a check still running at its deadline is cancelled
        # and abandoned (never awaited), and no per-check wrapper task or wait() is needed.
        loop = asyncio.get_running_loop()
        clock = self._clock
        default_timeout = self._config.timeout
        started = clock.monotonic()
        results: list[HealthCheckResult | None] = [None] * len(entries)
        pending = len(entries)
        abandoned = False  # the caller was cancelled: outcomes no longer matter
        all_done: asyncio.Future[None] = loop.create_future()
        tasks: list[asyncio.Task[tuple[bool, Any]]] = []
        timers: list[asyncio.TimerHandle] = []

        def settle(index: int, result: HealthCheckResult) -> None:
            nonlocal pending
            elapsed_ms = (clock.monotonic() - started) * 1000.0
            results[index] = self._finish(entries[index], result, elapsed_ms)
            pending -= 1
            if not pending and not all_done.done():
                all_done.set_result(None)

        def on_done(index: int, task: asyncio.Task[tuple[bool, Any]]) -> None:
            timers[index].cancel()
            if results[index] is None and not abandoned:
                settle(index, self._outcome(entries[index], task))

        def on_timeout(index: int, timeout: float) -> None:
            if results[index] is None and not abandoned:
                tasks[index].cancel()
                settle(index, self._timed_out(entries[index], timeout))

        for index, entry in enumerate(entries):
            timeout = entry.timeout if entry.timeout is not None else default_timeout
            task = loop.create_task(_guarded(entry.invoke))
            tasks.append(task)
            timers.append(loop.call_later(timeout, on_timeout, index, timeout))
            task.add_done_callback(partial(on_done, index))
        try:
            await all_done
        except BaseException:  # the caller was cancelled: take the checks down with it
            abandoned = True
            for task, timer in zip(tasks, timers, strict=True):
                timer.cancel()
                task.cancel()
            raise
        return [r for r in results if r is not None]

    def _outcome(self, entry: _Entry, task: asyncio.Task[tuple[bool, Any]]) -> HealthCheckResult:
        if task.cancelled():
            result = failure_result(entry.name, asyncio.CancelledError())
        else:
            ok, value = task.result()
            try:
                result = normalise(entry.name, value) if ok else failure_result(entry.name, value)
            except Exception as exc:  # a value whose str()/iteration raises
                result = failure_result(entry.name, exc)
            if result is value:  # the check's own object: copy it, never mutate it
                return dataclasses.replace(value, details=dict(value.details))
        result.checked_at = self._clock.time()
        return result

    def _timed_out(self, entry: _Entry, timeout: float) -> HealthCheckResult:
        hint = ""
        if not entry.is_async and self._runner.saturated:
            hint = (
                f" (all {self._runner.max_workers} health-check worker threads are busy "
                "with blocked sync checks)"
            )
        _log.warning(
            f"timeout:{entry.name}", "health check %r timed out after %gs", entry.name, timeout
        )
        return HealthCheckResult(
            component=entry.name,
            status=HealthStatus.UNHEALTHY,
            message=f"timed out after {timeout:g}s{hint}",
            error="TimeoutError",
            checked_at=self._clock.time(),
        )

    def _finish(
        self, entry: _Entry, result: HealthCheckResult, elapsed_ms: float
    ) -> HealthCheckResult:
        if result.category is None:
            result.category = entry.category
        if result.duration_ms == 0.0:
            result.duration_ms = elapsed_ms
        if not entry.critical and result.status in _FAILED:
            result.details = {
                **result.details,
                "critical": False,
                "original_status": result.status.value,
            }
            result.status = HealthStatus.DEGRADED
        return result
