"""HealthCheckRegistry: the DI-facing registry of categorised, critical/non-critical checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .checker import HealthChecker, Summary
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus, summarise

if TYPE_CHECKING:
    from ..config import HealthCheckConfig

__all__ = ["HealthCheckRegistry", "summarise_within"]


class HealthCheckRegistry:
    """Registry for managing health checks (satisfies ``HealthCheckRegistryProtocol``).

    A thin layer over :class:`HealthChecker`, so timeouts, concurrency, containment and
    self-telemetry are the checker's. A failing check added with ``critical=False``
    counts as DEGRADED. Checks without a category are READINESS checks; STARTUP checks run
    only in :meth:`run_startup`, never in :meth:`run_liveness`. The category lists are
    available as :attr:`liveness_checks`, :attr:`readiness_checks`, :attr:`startup_checks`.
    """

    def __init__(
        self,
        config: HealthCheckConfig | None = None,
        *,
        collector: Any = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._checker = HealthChecker(config, collector=collector, clock=clock)
        self._clock = clock

    @property
    def checker(self) -> HealthChecker:
        """The checker that runs this registry's checks."""
        return self._checker

    def add(
        self,
        name: str,
        check: Callable[[], Any],
        *,
        timeout: float | None = None,
        critical: bool = True,
        category: Any = None,
    ) -> None:
        """Add a health check (category None: READINESS); see :meth:`HealthChecker.add`."""
        self._checker.add(
            name,
            check,
            timeout=timeout,
            category=HealthCheckCategory.READINESS if category is None else category,
            critical=critical,
        )

    def remove(self, name: str) -> None:
        """Remove a check; KeyError if absent."""
        self._checker.remove(name)

    def has(self, name: str) -> bool:
        """True when a check named *name* is registered."""
        return self._checker.has(name)

    @property
    def check_names(self) -> list[str]:
        """Sorted names of every registered check."""
        return self._checker.check_names

    @property
    def liveness_checks(self) -> list[str]:
        """Sorted names of the LIVENESS checks."""
        return self._checker.check_names_for(HealthCheckCategory.LIVENESS)

    @property
    def readiness_checks(self) -> list[str]:
        """Sorted names of the READINESS checks."""
        return self._checker.check_names_for(HealthCheckCategory.READINESS)

    @property
    def startup_checks(self) -> list[str]:
        """Sorted names of the STARTUP checks."""
        return self._checker.check_names_for(HealthCheckCategory.STARTUP)

    async def run_all(self) -> Summary:
        """Run every check; return ``(aggregate_status, results)``."""
        return await self._checker.run_all_with_summary()

    async def run_liveness(self) -> Summary:
        """Run the LIVENESS checks; return ``(aggregate_status, results)``."""
        return await self._checker.run_liveness()

    async def run_readiness(self) -> Summary:
        """Run the READINESS checks; return ``(aggregate_status, results)``."""
        return await self._checker.run_readiness()

    async def run_startup(self) -> Summary:
        """Run the STARTUP checks; return ``(aggregate_status, results)``."""
        return await self._checker.run_startup()

    async def health_check(self, timeout: float = 5.0) -> HealthCheckResult:
        """Run every check within *timeout* seconds and summarise them as one result
        (component ``health_registry``); past the deadline: UNHEALTHY "timed out after Ns"."""
        return await summarise_within("health_registry", self.run_all, timeout, self._clock)

    async def check(self) -> HealthCheckResult:
        """Satisfy ``HealthCheckProtocol``: :meth:`health_check` with its default timeout."""
        return await self.health_check()


async def summarise_within(
    component: str,
    run: Callable[[], Awaitable[Summary]],
    timeout: float,
    clock: Clock,
) -> HealthCheckResult:
    """Await *run* for at most *timeout* seconds and summarise it as one result; past the
    deadline the result is UNHEALTHY "timed out after Ns". ValueError for a bad timeout."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout={timeout!r} is invalid: use a number of seconds > 0")
    started = clock.monotonic()
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            status, results = await run()
    except TimeoutError:
        if not deadline.expired():
            raise
        return HealthCheckResult(
            component=component,
            status=HealthStatus.UNHEALTHY,
            message=f"timed out after {timeout:g}s",
            error="TimeoutError",
            duration_ms=(clock.monotonic() - started) * 1000.0,
        )
    return summarise(component, status, results, duration_ms=(clock.monotonic() - started) * 1000.0)
