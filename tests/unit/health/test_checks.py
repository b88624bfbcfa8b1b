"""Check building blocks and the normaliser of raw check values."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck as HypothesisHealthCheck
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor.health import (
    FunctionHealthCheck,
    HealthCheck,
    HealthCheckProtocol,
    HealthCheckResult,
    HealthStatus,
    health_checker,
)
from lexigram.monitor.health.checks import (
    MAX_DETAIL_ITEMS,
    MAX_TEXT,
    bounded_details,
    failure_result,
    is_async_callable,
    normalise,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=3), inner, max_size=6)
    ),
    max_leaves=40,
)


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(1 + _count(v) for v in value.values())
    if isinstance(value, list):
        return sum(1 + _count(v) for v in value)
    return 0


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        (True, HealthStatus.HEALTHY, ""),
        (False, HealthStatus.UNHEALTHY, "check returned False"),
        (HealthStatus.DEGRADED, HealthStatus.DEGRADED, ""),
        ("degraded", HealthStatus.DEGRADED, ""),
        ({"status": "healthy", "message": "ok"}, HealthStatus.HEALTHY, "ok"),
        ({"status": False}, HealthStatus.UNHEALTHY, ""),
        (("unhealthy", "db down"), HealthStatus.UNHEALTHY, "db down"),
        ((HealthStatus.HEALTHY, None), HealthStatus.HEALTHY, ""),
    ],
)
def test_raw_values_map_to_results(value: object, status: HealthStatus, message: str) -> None:
    """bool, HealthStatus, status strings, dicts and (status, message) tuples map as documented."""
    result = normalise("db", value)
    assert result.component == "db"
    assert result.status is status
    assert result.message == message


def test_a_result_is_kept_as_is() -> None:
    """A HealthCheckResult returned by a check is used unchanged."""
    given_result = HealthCheckResult(component="other", status=HealthStatus.DEGRADED)
    assert normalise("db", given_result) is given_result


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "returned None"),
        ("sunny", "unknown status 'sunny'"),
        (42, "unsupported int"),
        ({"message": "no status"}, "without a 'status' key"),
        (("meh", "x"), "unknown status 'meh'"),
        ((1, 2, 3), "unsupported tuple"),
    ],
)
def test_garbage_becomes_unknown_with_a_clear_message(value: object, fragment: str) -> None:
    """None, unknown strings and unsupported values are UNKNOWN and say what is expected."""
    result = normalise("db", value)
    assert result.status is HealthStatus.UNKNOWN
    assert fragment in result.message


def test_dict_extras_and_details_become_details() -> None:
    """Keys other than status/message land in details, merged with a 'details' mapping."""
    result = normalise("db", {"status": "healthy", "pool": 5, "details": {"latency": 1.5}})
    assert result.details == {"latency": 1.5, "pool": 5}


def test_huge_dict_is_truncated_to_a_bounded_size() -> None:
    """A dict with 100k entries yields at most MAX_DETAIL_ITEMS details plus a drop count."""
    huge = {"status": "healthy", **{f"k{i}": i for i in range(100_000)}}
    result = normalise("db", huge)
    assert result.status is HealthStatus.HEALTHY
    assert len(result.details) == MAX_DETAIL_ITEMS + 1
    assert result.details["_truncated"] == 100_000 - MAX_DETAIL_ITEMS


def test_long_messages_and_strings_are_cut() -> None:
    """Messages and detail strings are cut at MAX_TEXT characters."""
    result = normalise("db", {"status": "healthy", "message": "m" * 10_000, "s": "x" * 10_000})
    assert len(result.message) == MAX_TEXT
    assert len(result.details["s"]) == MAX_TEXT


def test_details_never_carry_exception_text_or_nan() -> None:
    """Exceptions in details keep only their type; NaN becomes a string."""
    details = bounded_details({"err": RuntimeError("password=hunter2"), "x": float("nan")})
    assert details == {"err": "RuntimeError: check failed", "x": "nan"}
    json.dumps(details, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HypothesisHealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=5), json_values, max_size=12))
def test_bounded_details_are_json_and_bounded(details: dict[str, Any]) -> None:
    """Any nested details become strict JSON with at most MAX_DETAIL_ITEMS values kept."""
    out = bounded_details(details)
    json.dumps(out, allow_nan=False)
    kept = {k: v for k, v in out.items() if k != "_truncated"}
    assert _count(kept) <= MAX_DETAIL_ITEMS


def test_failure_result_is_sanitised_and_logs_the_text(caplog: pytest.LogCaptureFixture) -> None:
    """An exception becomes UNHEALTHY '<Type>: check failed'; its text is only logged."""
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        result = failure_result("failure-log-db", ValueError("secret dsn"))
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == "ValueError: check failed"
    assert result.error == "ValueError"
    assert "secret dsn" not in json.dumps(result.to_dict())
    assert "secret dsn" in caplog.text


async def test_health_check_base_must_be_overridden() -> None:
    """The base check() refuses to run and says what to override."""
    base = HealthCheck("x")
    with pytest.raises(NotImplementedError, match="must override async check"):
        await base.check()


def test_health_check_validates_its_name() -> None:
    """A health check needs a non-empty string name."""
    with pytest.raises(ValueError, match="non-empty string"):
        HealthCheck("")


async def test_subclass_satisfies_the_protocol() -> None:
    """A HealthCheck subclass with check() satisfies HealthCheckProtocol."""

    class Ping(HealthCheck):
        async def check(self) -> HealthCheckResult:
            return HealthCheckResult(component=self.name, status=HealthStatus.HEALTHY)

    ping = Ping("ping", critical=False)
    assert isinstance(ping, HealthCheckProtocol)
    assert not ping.critical
    assert (await ping.check()).is_healthy()


async def test_function_check_runs_sync_functions_off_the_loop() -> None:
    """A sync function runs on a worker thread, not on the event loop's thread."""
    seen: list[str] = []

    def probe() -> bool:
        seen.append(threading.current_thread().name)
        return True

    result = await FunctionHealthCheck("fn", probe).check()
    assert result.is_healthy()
    assert result.component == "fn"
    assert seen
    assert seen[0] != threading.current_thread().name


async def test_function_check_accepts_async_and_awaitable_returning_functions() -> None:
    """Coroutine functions and functions returning awaitables both work."""

    async def coro() -> str:
        return "degraded"

    assert (await FunctionHealthCheck("a", coro).check()).status is HealthStatus.DEGRADED
    assert (await FunctionHealthCheck("b", lambda: coro()).check()).status is (
        HealthStatus.DEGRADED
    )


async def test_function_check_contains_exceptions() -> None:
    """A raising function gives an UNHEALTHY sanitised result, even for SystemExit."""

    def bad() -> None:
        raise SystemExit("bye")

    result = await FunctionHealthCheck("fn-exit", bad).check()
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == "SystemExit: check failed"


def test_function_check_needs_a_callable() -> None:
    """A non-callable func is refused with a TypeError naming the check."""
    with pytest.raises(TypeError, match="'fn': func must be callable"):
        FunctionHealthCheck("fn", 3)  # type: ignore[arg-type]


def test_health_checker_decorator_stamps_the_name() -> None:
    """@health_checker stamps _health_check_name and returns the same function."""

    def check_db() -> bool:
        return True

    assert health_checker("database")(check_db) is check_db
    assert check_db._health_check_name == "database"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="non-empty string"):
        health_checker("")


def test_is_async_callable_detects_async_objects() -> None:
    """Coroutine functions and objects with async __call__ are async; others are not."""

    class Async:
        async def __call__(self) -> bool:
            return True

    async def coro() -> None:
        await asyncio.sleep(0)

    assert is_async_callable(coro)
    assert is_async_callable(Async())
    assert not is_async_callable(lambda: True)


SECRET = ValueError("api_key=SECRET-TUPLE")


@pytest.mark.parametrize(
    "returned",
    [
        SECRET,
        (False, SECRET),
        ("healthy", SECRET),
        {"status": "unhealthy", "message": SECRET},
        {"status": "healthy", "error": SECRET},
        {"status": "degraded", "details": {"last_error": SECRET}},
        HealthCheckResult(
            component="db",
            status=HealthStatus.HEALTHY,
            message=SECRET,  # type: ignore[arg-type]
        ),
        HealthCheckResult(
            component="db",
            status=HealthStatus.DEGRADED,
            error=SECRET,  # type: ignore[arg-type]
        ),
    ],
    ids=[
        "exception",
        "tuple-message",
        "healthy-tuple-message",
        "dict-message",
        "dict-value",
        "dict-details-value",
        "result-message",
        "result-error",
    ],
)
def test_a_returned_exception_is_sanitised_like_a_raised_one(
    returned: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding: ``return False, e`` rendered ``"message": "api_key=SECRET-TUPLE"``. An
    exception a check returns — as the result, a tuple's message, a dict value or a
    result's message/error — makes it UNHEALTHY '<Type>: check failed'; its text goes to
    the log only."""
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        result = normalise("db", returned)
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == "ValueError: check failed"
    assert result.error == "ValueError"
    assert "SECRET" not in json.dumps(result.to_dict())
    assert "SECRET" in caplog.text


def test_exceptions_inside_a_non_string_message_are_sanitised() -> None:
    """A message that is a container is rendered with its exceptions sanitised."""
    result = normalise("db", ("unhealthy", {"attempts": [SECRET, "timeout"]}))
    assert result.status is HealthStatus.UNHEALTHY
    assert "SECRET" not in result.message
    assert "ValueError: check failed" in result.message
