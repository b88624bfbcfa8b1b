"""CachedHealthChecker (TTL cache, single flight, background refresh, database check) and
HealthCheckerRegistry (named cached checkers)."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from .checker import HealthChecker, Summary
from .registry import summarise_within
from .result import NOT_CONFIGURED, HealthCheckCategory, HealthCheckResult, HealthStatus

__all__ = ["DATABASE_CHECK", "CachedHealthChecker", "HealthCheckerRegistry", "database_check"]

#: Name of the check created for a database provider.
DATABASE_CHECK = "database"

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.health"))

# None stands for "all checks"; the cache holds at most these four entries.
_Key = HealthCheckCategory | None


async def _executed(pending: Any) -> tuple[HealthStatus, str]:
    await pending
    return HealthStatus.HEALTHY, "SELECT 1 succeeded"


def database_check(provider: Any) -> Callable[[], Any]:
    """Health check function for a database *provider*.

    Uses ``provider.health_check()`` (its result: HealthCheckResult, dict, bool, ...) when
    present, else ``provider.execute("SELECT 1")`` (HEALTHY when it returns). Sync provider
    methods yield a sync function (run on a worker thread), async ones an async function.
    A provider with neither method is reported UNKNOWN.
    """
    health = getattr(provider, "health_check", None)
    if callable(health):
        return health  # type: ignore[no-any-return]
    execute = getattr(provider, "execute", None)
    if callable(execute):
        if inspect.iscoroutinefunction(execute):

            async def select_one() -> tuple[HealthStatus, str]:
                return await _executed(execute("SELECT 1"))

            return select_one

        def select_one_sync() -> Any:
            returned = execute("SELECT 1")
            if inspect.isawaitable(returned):
                return _executed(returned)  # awaited on the loop by the checker
            return HealthStatus.HEALTHY, "SELECT 1 succeeded"

        return select_one_sync

    kind = type(provider).__name__

    async def unusable() -> tuple[HealthStatus, str]:
        return (
            HealthStatus.UNKNOWN,
            f"database provider {kind} has neither health_check() nor execute(); "
            "give it one of them",
        )

    return unusable


def _not_configured(component: str) -> HealthCheckResult:
    return HealthCheckResult(
        component=component,
        status=HealthStatus.UNKNOWN,
        message=NOT_CONFIGURED,
        details={"configured": False},
        category=HealthCheckCategory.READINESS,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Cached:
    expires: float
    status: HealthStatus
    results: dict[str, HealthCheckResult]


class CachedHealthChecker:
    """Runs a :class:`HealthChecker` at most once per ``cache_ttl`` seconds per probe kind.

    Probe kinds are all checks, liveness, readiness and startup; each has its own cache
    entry (at most four entries), valid ``cache_ttl`` seconds from the end of the run that
    filled it (0: never reused). Single flight: when N callers find an entry expired, the
    checks run once and all N get that run's result. Callers get copies of the result
    mapping.

    *db_provider* adds a READINESS check named ``database`` (see :func:`database_check`)
    with timeout *check_timeout*. Without one, the ``database`` component is reported as
    UNKNOWN ``"not configured"`` with ``details={"configured": False}`` in the all and
    readiness results, and is left out of the aggregate status (it is not a check that
    ran), so it is never shown as healthy nor does it fail the probe. *check_timeout* is
    also the default per-check timeout of the checker created when *checker* is None.
    """

    def __init__(
        self,
        db_provider: Any = None,
        cache_ttl: float = 5.0,
        check_timeout: float = 2.0,
        *,
        checker: HealthChecker | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float):
            raise ValueError(f"cache_ttl={cache_ttl!r} must be a number of seconds >= 0")
        if not (cache_ttl >= 0 and math.isfinite(cache_ttl)):
            raise ValueError(f"cache_ttl={cache_ttl!r} must be a finite number of seconds >= 0")
        if isinstance(check_timeout, bool) or not isinstance(check_timeout, int | float):
            raise ValueError(f"check_timeout={check_timeout!r} must be a number of seconds > 0")
        if not (check_timeout > 0 and math.isfinite(check_timeout)):
            raise ValueError(f"check_timeout={check_timeout!r} must be finite and > 0 seconds")
        self._db_provider = db_provider
        self._cache_ttl = float(cache_ttl)
        self._check_timeout = float(check_timeout)
        self._clock = clock
        if checker is None:
            from ..config import HealthCheckConfig

            checker = HealthChecker(HealthCheckConfig(timeout=check_timeout), clock=clock)
        self._checker = checker
        if db_provider is not None:
            checker.add(
                DATABASE_CHECK,
                database_check(db_provider),
                timeout=check_timeout,
                category=HealthCheckCategory.READINESS,
            )
        self._cache: dict[_Key, _Cached] = {}
        self._inflight: dict[_Key, asyncio.Task[Summary]] = {}
        self._refresher: asyncio.Task[None] | None = None

    @property
    def checker(self) -> HealthChecker:
        """The checker whose runs are cached (add your checks to it)."""
        return self._checker

    @property
    def db_provider(self) -> Any:
        """The database provider given at construction, or None."""
        return self._db_provider

    @property
    def cache_ttl(self) -> float:
        """Seconds a result is reused."""
        return self._cache_ttl

    @property
    def check_timeout(self) -> float:
        """Timeout of the database check (and default of the created checker), seconds."""
        return self._check_timeout

    @property
    def is_refreshing(self) -> bool:
        """True while a background refresh task runs."""
        return self._refresher is not None and not self._refresher.done()

    def add(self, name: str, check: Any, **options: Any) -> None:
        """Add a check to the underlying checker (see :meth:`HealthChecker.add`)."""
        self._checker.add(name, check, **options)

    def invalidate(self) -> None:
        """Forget every cached result; the next call runs the checks."""
        self._cache.clear()

    async def run_all_with_summary(self) -> Summary:
        """``(aggregate_status, results)`` of all checks, from the cache when fresh."""
        return await self._get(None)

    async def run_liveness(self) -> Summary:
        """Cached ``(aggregate_status, results)`` of the LIVENESS checks."""
        return await self._get(HealthCheckCategory.LIVENESS)

    async def run_readiness(self) -> Summary:
        """Cached ``(aggregate_status, results)`` of the READINESS checks."""
        return await self._get(HealthCheckCategory.READINESS)

    async def run_startup(self) -> Summary:
        """Cached ``(aggregate_status, results)`` of the STARTUP checks."""
        return await self._get(HealthCheckCategory.STARTUP)

    async def health_check(self, timeout: float = 5.0) -> HealthCheckResult:
        """All checks (cached) summarised as one result (component ``health``)."""
        return await summarise_within("health", self.run_all_with_summary, timeout, self._clock)

    async def _get(self, key: _Key) -> Summary:
        hit = self._cache.get(key)
        if hit is not None and self._clock.monotonic() < hit.expires:
            return hit.status, dict(hit.results)
        status, results = await asyncio.shield(self._flight(key))
        return status, dict(results)

    def _flight(self, key: _Key) -> asyncio.Task[Summary]:
        loop = asyncio.get_running_loop()
        task = self._inflight.get(key)
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._refresh(key))
            self._inflight[key] = task
        return task

    async def _refresh(self, key: _Key) -> Summary:
        try:
            if key is None:
                status, results = await self._checker.run_all_with_summary()
            else:
                status, results = await self._checker.run_category(key)
            if (
                self._db_provider is None
                and key in (None, HealthCheckCategory.READINESS)
                and DATABASE_CHECK not in results
            ):
                results[DATABASE_CHECK] = _not_configured(DATABASE_CHECK)
            self._cache[key] = _Cached(self._clock.monotonic() + self._cache_ttl, status, results)
            return status, results
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]

    # -- background refresh -------------------------------------------------------------

    def start_background_refresh(self, interval: float) -> None:
        """Refresh the cached probe kinds (at least "all") every *interval* seconds in a
        task on the running loop, starting now; replaces a refresh already running.

        Failures are logged (rate limited) and the loop goes on. RuntimeError outside a
        running event loop, ValueError for a bad interval.
        """
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise ValueError(f"interval={interval!r} must be a number of seconds > 0")
        if not (interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval={interval!r} must be finite and > 0 seconds")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "start_background_refresh() needs a running event loop; call it from "
                "async code (e.g. your application's startup hook)"
            ) from None
        if self._refresher is not None and not self._refresher.done():
            self._refresher.cancel()
        self._refresher = loop.create_task(self._refresh_loop(float(interval)))

    async def _refresh_loop(self, interval: float) -> None:
        while True:
            for key in list(self._cache) or [None]:
                try:
                    await asyncio.shield(self._flight(key))
                except Exception:
                    _log.warning(
                        "refresh", "background health refresh failed for %s", key, exc_info=True
                    )
            await asyncio.sleep(interval)

    async def stop_background_refresh(self) -> None:
        """Stop the background refresh (waits for it to end); safe to call any time."""
        task, self._refresher = self._refresher, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            same_loop = task.get_loop() is asyncio.get_running_loop()
        except RuntimeError:
            same_loop = False
        if same_loop:
            await asyncio.wait((task,))


class HealthCheckerRegistry:
    """Singleton-style registry for named :class:`CachedHealthChecker` instances.

    Holds one checker per key (keys are chosen by the application, so the registry
    grows only with them). Register one instance per application (``MonitorProvider``
    does it as a container singleton); nothing here is global.
    """

    def __init__(self) -> None:
        self._checkers: dict[str, CachedHealthChecker] = {}

    def get_or_create(
        self,
        key: str = "default",
        db_provider: Any = None,
        cache_ttl: float = 5.0,
        check_timeout: float = 2.0,
    ) -> CachedHealthChecker:
        """Return the checker named *key*, creating it on the first call.

        Later calls with the same key return the same instance and ignore the other
        arguments.
        """
        checker = self._checkers.get(key)
        if checker is None:
            checker = CachedHealthChecker(
                db_provider=db_provider, cache_ttl=cache_ttl, check_timeout=check_timeout
            )
            checker = self._checkers.setdefault(key, checker)
        return checker

    def get_checker(self, key: str = "default") -> CachedHealthChecker | None:
        """The checker registered under *key*, or None."""
        return self._checkers.get(key)

    def list_checkers(self) -> dict[str, CachedHealthChecker]:
        """A shallow copy of the key -> checker mapping."""
        return dict(self._checkers)

    async def cleanup(self) -> None:
        """Stop every checker's background refresh and clear the registry (idempotent)."""
        checkers = list(self._checkers.values())
        self._checkers.clear()
        for checker in checkers:
            try:
                await checker.stop_background_refresh()
            except Exception:
                _log.warning("cleanup", "stopping a health checker failed", exc_info=True)
