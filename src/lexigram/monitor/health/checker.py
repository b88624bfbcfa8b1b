"""HealthChecker: named checks of any kind, run concurrently, each under a timeout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ._runs import CheckRuns, Entry, Flights
from ._telemetry import HealthTelemetry
from ._threads import SyncRunner
from .checks import FunctionHealthCheck, is_async_callable
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus, aggregate_results

if TYPE_CHECKING:
    from ..config import HealthCheckConfig

__all__ = ["HealthChecker", "coerce_category"]

Summary = tuple[HealthStatus, dict[str, HealthCheckResult]]


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


class HealthChecker:
    """Aggregates and runs named health checks with optional per-check timeouts.

    Checks run concurrently, each in its own task with its own deadline: its timeout or,
    when it has none, ``config.timeout`` (*config* defaults to ``HealthCheckConfig()``).
    A timer per check (``loop.call_later``) settles it at its deadline, and the run
    returns as soon as every check has an outcome (done, failed or timed out); see
    ``health._runs``. Single flight: concurrent calls of the same probe kind (all,
    liveness, readiness, startup) share one run, without any cache, and a run of another
    kind waits for a check already in progress instead of starting it again. A check
    may be a :class:`HealthCheck` / ``HealthCheckProtocol`` object (``check()``), an
    object with ``health_check()``, a coroutine function, a callable returning an
    awaitable, or a plain callable. Sync callables (how a check is called is decided
    once, at :meth:`add`) run on a dedicated pool of at most ``max_workers`` daemon
    threads, never on the event loop or the loop's default executor; when every worker is
    stuck in a blocked check, further sync checks wait for a worker and report UNHEALTHY
    at their timeout (see ``_threads.SyncRunner``).

    Every exception, including ``BaseException`` subclasses other than the caller's own
    cancellation, becomes UNHEALTHY ``"<ExceptionType>: check failed"`` (the text is logged
    only), whether the check raised it or returned it; a timeout becomes UNHEALTHY
    ``"timed out after Ns"``. A check abandoned at its timeout is cancelled; one that
    ignores cancellation (or a sync check whose thread stays blocked) keeps running on
    its own, but the run returns at the deadline, and until that check ends later runs
    do not start it again: they report it UNHEALTHY ``"still running after Ns"``.
    ``critical=False`` checks that fail report DEGRADED.

    ``config.enabled=False`` runs nothing (results are empty, aggregate HEALTHY); a
    non-empty ``config.checks`` runs only the checks named there. A run keeps only each
    check's latest start (to know whether it still runs). Each run records
    ``lexigram_health_check_duration_seconds{check}`` and
    ``lexigram_health_check_status{check}`` in *collector* (default: the process default
    collector) and emits a ``HealthCheckRunHook`` per check when someone subscribes.

    Memory: one entry per registered check; a run keeps nothing once it returns (a check
    abandoned at its timeout lives on only until it ends by itself). Tasks and threads:
    at most one live task per registered check and at most ``max_workers`` threads,
    however many probes arrive.
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
        self._runs = CheckRuns(self._runner, clock, self._config.timeout)
        self._flights: Flights[HealthCheckCategory | None, dict[str, HealthCheckResult]] = Flights()
        self._entries: dict[str, Entry] = {}
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
        self._entries[name] = Entry(name, func, seconds, cat, bool(critical), is_async)

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

    def _selected(self, category: HealthCheckCategory | None) -> list[Entry]:
        if not self._config.enabled:
            return []
        only = self._only
        return [
            e
            for e in tuple(self._entries.values())
            if (category is None or e.category is category) and (not only or e.name in only)
        ]

    async def _run(self, category: HealthCheckCategory | None) -> dict[str, HealthCheckResult]:
        if not self._selected(category):
            return {}
        results = await self._flights.join(category, lambda: self._run_once(category))
        return dict(results)

    async def _run_once(self, category: HealthCheckCategory | None) -> dict[str, HealthCheckResult]:
        entries = self._selected(category)
        outcomes = await self._runs.run(entries)
        results = {e.name: r for e, r in zip(entries, outcomes, strict=True)}
        self._telemetry.record(results)
        return results
