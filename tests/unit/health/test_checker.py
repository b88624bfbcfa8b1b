"""HealthChecker: registration, every check kind, concurrency, timeouts, containment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import HealthCheckConfig
from lexigram.monitor.health import (
    FunctionHealthCheck,
    HealthCheck,
    HealthCheckCategory,
    HealthChecker,
    HealthCheckResult,
    HealthStatus,
    health_checker,
)

LIVE, READY, START = (
    HealthCheckCategory.LIVENESS,
    HealthCheckCategory.READINESS,
    HealthCheckCategory.STARTUP,
)


class TickingClock:
    """Monotonic time advances 0.25 s per reading; wall time is fixed."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return 1_700_000_000.0

    def monotonic(self) -> float:
        self.now += 0.25
        return self.now


class Ping(HealthCheck):
    async def check(self) -> HealthCheckResult:
        return HealthCheckResult(component=self.name, status=HealthStatus.HEALTHY)


class ProtocolOnly:
    """Has check() but does not inherit from HealthCheck."""

    async def check(self) -> HealthCheckResult:
        return HealthCheckResult(component="proto", status=HealthStatus.DEGRADED)


class WithHealthCheck:
    async def health_check(self) -> dict[str, Any]:
        return {"status": "healthy", "message": "pool ok"}


class AsyncCallable:
    async def __call__(self) -> bool:
        return True


class Boom(BaseException):
    """A BaseException subclass that is not a cancellation."""


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Releases blocked sync checks at teardown."""
    event = threading.Event()
    yield event
    event.set()


# -- registration ----------------------------------------------------------------------


def test_add_remove_has_and_sorted_names() -> None:
    """Checks are added by name, listed sorted, and removed; removing a stranger is KeyError."""
    checker = HealthChecker()
    checker.add("zeta", lambda: True)
    checker.add("alpha", lambda: True, timeout=1.0, category=LIVE)
    assert checker.check_names == ["alpha", "zeta"]
    assert checker.has("alpha")
    checker.remove("alpha")
    assert not checker.has("alpha")
    with pytest.raises(KeyError, match="no health check named 'alpha'"):
        checker.remove("alpha")


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"name": ""}, ValueError, "non-empty string"),
        ({"timeout": 0}, ValueError, "timeout=0"),
        ({"timeout": -1.0}, ValueError, "timeout=-1.0"),
        ({"timeout": float("inf")}, ValueError, "finite"),
        ({"timeout": "5"}, ValueError, "timeout='5'"),
        ({"category": "boot"}, ValueError, "category 'boot' is invalid"),
        ({"check": 42}, TypeError, "got int"),
    ],
)
def test_bad_registrations_are_refused(
    kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    """Bad names, timeouts, categories and check objects raise a specific error."""
    args: dict[str, Any] = {"name": "db", "check": lambda: True, **kwargs}
    checker = HealthChecker()
    with pytest.raises(error, match=fragment):
        checker.add(args.pop("name"), args.pop("check"), **args)
    assert checker.check_names == []


def test_duplicate_names_are_refused() -> None:
    """Adding a name twice raises ValueError instead of silently replacing the check."""
    checker = HealthChecker()
    checker.add("db", lambda: True)
    with pytest.raises(ValueError, match="'db' is already registered"):
        checker.add("db", lambda: False)


def test_register_uses_the_decorated_name() -> None:
    """register() adds a @health_checker function under its name; undecorated: ValueError."""

    @health_checker("database")
    async def check_db() -> bool:
        return True

    checker = HealthChecker()
    checker.register(check_db)
    assert checker.check_names == ["database"]
    with pytest.raises(ValueError, match="not decorated with @health_checker"):
        checker.register(lambda: True)


def test_category_strings_are_accepted() -> None:
    """A category may be given by its value; the default is READINESS."""
    checker = HealthChecker()
    checker.add("a", lambda: True, category="liveness")
    checker.add("b", lambda: True)
    assert checker.check_names_for(LIVE) == ["a"]
    assert checker.check_names_for("readiness") == ["b"]


# -- every kind of check ---------------------------------------------------------------


async def test_every_check_kind_is_accepted() -> None:
    """Objects, protocol objects, health_check() objects, coroutines and callables all run."""

    async def coro() -> HealthStatus:
        return HealthStatus.HEALTHY

    def sync() -> tuple[str, str]:
        return ("healthy", "fine")

    checker = HealthChecker()
    checker.add("subclass", Ping("subclass"))
    checker.add("protocol", ProtocolOnly())
    checker.add("health_check", WithHealthCheck())
    checker.add("coroutine", coro)
    checker.add("returns_awaitable", lambda: coro())
    checker.add("sync", sync)
    checker.add("function_check", FunctionHealthCheck("fc", lambda: True))
    checker.add("async_callable", AsyncCallable())
    results = await checker.run_all()
    assert {name: r.status for name, r in results.items()} == {
        "subclass": HealthStatus.HEALTHY,
        "protocol": HealthStatus.DEGRADED,
        "health_check": HealthStatus.HEALTHY,
        "coroutine": HealthStatus.HEALTHY,
        "returns_awaitable": HealthStatus.HEALTHY,
        "sync": HealthStatus.HEALTHY,
        "function_check": HealthStatus.HEALTHY,
        "async_callable": HealthStatus.HEALTHY,
    }
    assert results["health_check"].message == "pool ok"
    assert results["sync"].message == "fine"


async def test_sync_checks_run_on_the_checkers_own_threads() -> None:
    """A plain callable runs on the checker's health worker pool, not on the loop thread."""
    names: list[str] = []
    checker = HealthChecker()
    checker.add("where", lambda: names.append(threading.current_thread().name) or True)
    assert (await checker.run_all())["where"].is_healthy()
    assert names[0].startswith("lexigram-health")


# -- concurrency and timeouts ----------------------------------------------------------


async def test_checks_run_concurrently() -> None:
    """Two checks that each wait for the other both pass, which is only possible concurrently."""
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def a() -> bool:
        a_started.set()
        await b_started.wait()
        return True

    async def b() -> bool:
        b_started.set()
        await a_started.wait()
        return True

    checker = HealthChecker()
    checker.add("a", a, timeout=5)
    checker.add("b", b, timeout=5)
    status, _ = await checker.run_all_with_summary()
    assert status is HealthStatus.HEALTHY


async def test_sync_checks_do_not_block_the_loop() -> None:
    """A blocking sync check waits for an async check, so the loop kept running meanwhile."""
    flag = threading.Event()

    async def setter() -> bool:
        await asyncio.sleep(0.01)
        flag.set()
        return True

    checker = HealthChecker()
    checker.add("waits", lambda: flag.wait(5))
    checker.add("sets", setter)
    results = await checker.run_all()
    assert results["waits"].is_healthy()


async def test_a_hanging_check_times_out() -> None:
    """A check that never returns is UNHEALTHY 'timed out after Ns' at its own timeout."""

    async def hang() -> bool:
        await asyncio.Event().wait()
        return True

    checker = HealthChecker()
    checker.add("hang", hang, timeout=0.05)
    checker.add("ok", lambda: True)
    results = await checker.run_all()
    assert results["hang"].status is HealthStatus.UNHEALTHY
    assert results["hang"].message == "timed out after 0.05s"
    assert results["hang"].error == "TimeoutError"
    assert results["ok"].is_healthy()


async def test_default_timeout_comes_from_the_config() -> None:
    """Checks without their own timeout use HealthCheckConfig.timeout."""

    async def hang() -> None:
        await asyncio.Event().wait()

    checker = HealthChecker(HealthCheckConfig(timeout=0.03))
    checker.add("hang", hang)
    result = (await checker.run_all())["hang"]
    assert result.message == "timed out after 0.03s"


async def test_a_check_ignoring_cancellation_does_not_stall_the_run() -> None:
    """A check that swallows cancellation is abandoned at the deadline; the run returns."""
    finished = asyncio.Event()

    async def stubborn() -> bool:
        for _ in range(2):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.1)
        finished.set()
        return True

    checker = HealthChecker()
    checker.add("stubborn", stubborn, timeout=0.02)
    result = (await checker.run_all())["stubborn"]
    assert result.message == "timed out after 0.02s"
    assert not finished.is_set()
    await asyncio.wait_for(finished.wait(), 5)


async def test_a_thread_blocking_check_times_out(gate: threading.Event) -> None:
    """A sync check that blocks its thread is reported as timed out; the loop is free."""
    checker = HealthChecker()
    checker.add("blocked", lambda: gate.wait(10), timeout=0.05)
    result = (await checker.run_all())["blocked"]
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message.startswith("timed out after 0.05s")


async def test_stuck_workers_are_named_in_the_timeout_message(gate: threading.Event) -> None:
    """When every worker is stuck, further sync checks time out saying the pool is busy."""
    checker = HealthChecker(max_workers=1)
    checker.add("stuck", lambda: gate.wait(10), timeout=0.02)
    await checker.run_all()  # leaves the only worker blocked
    checker.remove("stuck")
    checker.add("innocent", lambda: True, timeout=0.02)
    result = (await checker.run_all())["innocent"]
    assert result.message == (
        "timed out after 0.02s "
        "(all 1 health-check worker threads are busy with blocked sync checks)"
    )
    gate.set()
    for _ in range(100):
        if (await checker.run_all())["innocent"].is_healthy():
            break
        await asyncio.sleep(0.01)
    assert (await checker.run_all())["innocent"].is_healthy()


# -- containment -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc", [ValueError("pw=1"), KeyboardInterrupt("pw=1"), SystemExit("pw=1"), Boom("pw=1")]
)
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_any_exception_is_contained_and_sanitised(
    exc: BaseException, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Exceptions of any type become UNHEALTHY '<Type>: check failed'; the text is logged only."""

    async def async_raiser() -> None:
        raise exc

    def sync_raiser() -> None:
        raise exc

    name = f"raise-{kind}-{type(exc).__name__}"
    checker = HealthChecker()
    checker.add(name, async_raiser if kind == "async" else sync_raiser)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        result = (await checker.run_all())[name]
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == f"{type(exc).__name__}: check failed"
    assert "pw=1" not in json.dumps(result.to_dict())
    assert "pw=1" in caplog.text


async def test_a_check_raising_cancelled_error_itself_is_contained() -> None:
    """A CancelledError raised by the check (not by cancelling the caller) is a failure."""

    async def cancelled() -> None:
        raise asyncio.CancelledError

    checker = HealthChecker()
    checker.add("c", cancelled)
    result = (await checker.run_all())["c"]
    assert result.message == "CancelledError: check failed"


async def test_a_checks_own_timeout_error_is_not_a_deadline() -> None:
    """A TimeoutError raised by the check itself is reported as a failure, not as our timeout."""

    async def own_timeout() -> None:
        raise TimeoutError("socket")

    checker = HealthChecker()
    checker.add("t", own_timeout, timeout=5)
    assert (await checker.run_all())["t"].message == "TimeoutError: check failed"


async def test_garbage_results_are_unknown() -> None:
    """None, unknown strings and huge dicts give clear UNKNOWN or bounded results."""
    checker = HealthChecker()
    checker.add("none", lambda: None)
    checker.add("word", lambda: "sunny")
    checker.add("huge", lambda: {"status": "healthy", **{str(i): i for i in range(50_000)}})
    results = await checker.run_all()
    assert results["none"].status is HealthStatus.UNKNOWN
    assert "returned None" in results["none"].message
    assert results["word"].status is HealthStatus.UNKNOWN
    assert "'sunny'" in results["word"].message
    assert results["huge"].is_healthy()
    assert len(results["huge"].details) <= 65


async def test_caller_cancellation_propagates_and_cancels_the_checks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancelling the caller raises CancelledError, cancels running checks, logs nothing."""
    entered, cleaned = asyncio.Event(), asyncio.Event()

    async def hang() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    checker = HealthChecker()
    checker.add("hang", hang, timeout=30)
    run = asyncio.ensure_future(checker.run_all())
    await entered.wait()
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await asyncio.wait_for(cleaned.wait(), 5)
        await asyncio.sleep(0)
    assert caplog.records == []


# -- criticality, categories, config ---------------------------------------------------


async def test_non_critical_failures_degrade() -> None:
    """A failing check marked non-critical (object attribute or keyword) reports DEGRADED."""

    class Flaky(HealthCheck):
        async def check(self) -> HealthCheckResult:
            raise RuntimeError("down")

    checker = HealthChecker()
    checker.add("flaky", Flaky("flaky", critical=False))
    checker.add("cache", lambda: False, critical=False)
    checker.add("ok", lambda: True)
    status, results = await checker.run_all_with_summary()
    assert status is HealthStatus.DEGRADED
    assert results["flaky"].status is HealthStatus.DEGRADED
    assert results["flaky"].details["original_status"] == "unhealthy"
    assert results["cache"].details["critical"] is False


async def test_category_runs_select_their_checks() -> None:
    """run_liveness/readiness/startup run only their category; startup is separate."""
    checker = HealthChecker()
    checker.add("live", lambda: True, category=LIVE)
    checker.add("ready", lambda: False, category=READY)
    checker.add("start", lambda: "starting", category=START)
    live_status, live = await checker.run_liveness()
    ready_status, ready = await checker.run_readiness()
    start_status, start = await checker.run_startup()
    assert (live_status, list(live)) == (HealthStatus.HEALTHY, ["live"])
    assert (ready_status, list(ready)) == (HealthStatus.UNHEALTHY, ["ready"])
    assert (start_status, list(start)) == (HealthStatus.UNHEALTHY, ["start"])
    assert start["start"].status is HealthStatus.STARTING
    assert live["live"].category is LIVE
    assert list(await checker.run_all()) == ["live", "ready", "start"]


async def test_disabled_config_runs_nothing() -> None:
    """enabled=False: no check runs, results are empty and the aggregate is HEALTHY."""
    ran: list[int] = []
    checker = HealthChecker(HealthCheckConfig(enabled=False))
    checker.add("x", lambda: ran.append(1))
    assert await checker.run_all_with_summary() == (HealthStatus.HEALTHY, {})
    assert ran == []


async def test_config_checks_restrict_what_runs() -> None:
    """A non-empty config.checks runs only the named checks."""
    ran: list[str] = []
    checker = HealthChecker(HealthCheckConfig(checks=["db"]))
    checker.add("db", lambda: ran.append("db") or True)
    checker.add("cache", lambda: ran.append("cache") or True)
    assert list(await checker.run_all()) == ["db"]
    assert ran == ["db"]


async def test_runs_never_mutate_the_checks_own_result_objects() -> None:
    """A check returning a shared HealthCheckResult gets copies annotated, the original intact."""
    shared = HealthCheckResult(component="db", status=HealthStatus.UNHEALTHY, checked_at=1.0)
    checker = HealthChecker()
    checker.add("db", lambda: shared, critical=False, category=LIVE)
    result = (await checker.run_liveness())[1]["db"]
    assert result.status is HealthStatus.DEGRADED
    assert result.category is LIVE
    assert result.checked_at == 1.0
    assert shared.status is HealthStatus.UNHEALTHY
    assert shared.category is None
    assert shared.details == {}


async def test_durations_and_timestamps_come_from_the_clock() -> None:
    """duration_ms is measured with the injected monotonic clock, checked_at with its wall time."""

    async def instant() -> bool:
        return True

    checker = HealthChecker(clock=TickingClock())
    checker.add("x", instant)
    result = (await checker.run_all())["x"]
    assert result.duration_ms == 250.0
    assert result.checked_at == 1_700_000_000.0


def test_aggregate_status_is_static() -> None:
    """aggregate_status works on the class and on instances."""
    results = {"a": HealthCheckResult(component="a", status=HealthStatus.DEGRADED)}
    assert HealthChecker.aggregate_status(results) is HealthStatus.DEGRADED
    assert HealthChecker().aggregate_status({}) is HealthStatus.HEALTHY


# -- single flight and checks still running ---------------------------------------------


async def test_concurrent_probes_share_one_run_without_a_cache() -> None:
    """Finding: 50 concurrent probes of a plain HealthChecker ran the check 50 times. Now
    concurrent calls of the same probe kind share one run, a probe of another kind shares
    the check in progress, and each caller gets its own mapping."""
    runs = 0
    release = asyncio.Event()

    async def slow() -> bool:
        nonlocal runs
        runs += 1
        await release.wait()
        return True

    checker = HealthChecker()
    checker.add("db", slow, timeout=30)
    probes = [asyncio.ensure_future(checker.run_all()) for _ in range(50)]
    readiness = [asyncio.ensure_future(checker.run_readiness()) for _ in range(10)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*probes)
    ready = await asyncio.gather(*readiness)
    assert runs == 1  # the readiness probes joined the check already in progress
    assert all(r["db"].is_healthy() for r in results)
    assert all(status is HealthStatus.HEALTHY for status, _ in ready)
    assert len({id(r) for r in results}) == 50
    assert (await checker.run_all())["db"].is_healthy()
    assert runs == 2  # a later call runs again: nothing is cached


async def test_a_cancelled_caller_leaves_the_shared_run_to_the_others() -> None:
    """Cancelling one of two callers does not cancel the run the other one waits for."""
    release = asyncio.Event()

    async def slow() -> bool:
        await release.wait()
        return True

    checker = HealthChecker()
    checker.add("db", slow, timeout=30)
    first = asyncio.ensure_future(checker.run_all())
    second = asyncio.ensure_future(checker.run_all())
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0.01)
    release.set()
    assert (await second)["db"].is_healthy()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_check_swallowing_cancellation_is_reported_still_running() -> None:
    """Finding: a check that swallows cancellation left 220 live tasks after 220 probes.
    It is not started again while it runs: every later probe reports it UNHEALTHY
    'still running after Ns' at once, and one task exists however often it is probed;
    once it ends, the next probe runs it again."""
    done = asyncio.Event()
    starts = 0
    clock = FakeClock()

    async def stubborn() -> bool:
        nonlocal starts
        starts += 1
        while not done.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await done.wait()
        return True

    checker = HealthChecker(clock=clock)
    checker.add("stubborn", stubborn, timeout=0.01)
    baseline = len(asyncio.all_tasks())
    try:
        first = (await checker.run_all())["stubborn"]
        assert first.message == "timed out after 0.01s"
        clock.advance(4.25)
        for _ in range(220):
            result = (await checker.run_all())["stubborn"]
            assert result.status is HealthStatus.UNHEALTHY
            assert result.message == "still running after 4.2s"
        assert starts == 1
        assert len(asyncio.all_tasks()) <= baseline + 1
    finally:
        done.set()  # lets every stubborn task end, whatever failed above
    for _ in range(100):
        if len(asyncio.all_tasks()) <= baseline:
            break
        await asyncio.sleep(0.001)
    assert (await checker.run_all())["stubborn"].is_healthy()
    assert starts == 2


async def test_a_blocked_sync_check_holds_one_thread_however_often_probed(
    gate: threading.Event,
) -> None:
    """A sync check stuck in its thread past its timeout is reported still running and
    not handed to another thread: 30 probes leave one busy worker, not max_workers."""
    calls = 0

    def blocked() -> bool:
        nonlocal calls
        calls += 1
        return gate.wait(10)

    checker = HealthChecker(max_workers=4)
    checker.add("blocked", blocked, timeout=0.01)
    assert (await checker.run_all())["blocked"].message.startswith("timed out after 0.01s")
    for _ in range(30):
        result = (await checker.run_all())["blocked"]
        assert result.message.startswith("still running after")
    assert calls == 1
    assert checker._runner.busy == 1
    gate.set()
    for _ in range(500):
        if checker._runner.busy == 0:
            break
        await asyncio.sleep(0.002)
    assert (await checker.run_all())["blocked"].is_healthy()
    assert calls == 2


async def test_a_non_critical_check_still_running_degrades() -> None:
    """The still-running report follows criticality like any failure."""
    done = asyncio.Event()

    async def stubborn() -> bool:
        while not done.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await done.wait()
        return True

    checker = HealthChecker()
    checker.add("cache", stubborn, timeout=0.01, critical=False)
    try:
        await checker.run_all()
        status, results = await checker.run_all_with_summary()
        assert status is HealthStatus.DEGRADED
        assert results["cache"].message.startswith("still running after")
    finally:
        done.set()
    await asyncio.sleep(0.01)
