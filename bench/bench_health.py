"""Health checks: concurrency, single flight under a probe storm, endpoint overhead.

1. 20 checks of 50 ms each, run by ``HealthChecker`` and, interleaved, one after the other
   by a plain serial loop (the baseline): median wall time and the ratio ours / serial.
   Async checks (``asyncio.sleep``) and sync ones (``time.sleep``, on the checker's worker
   threads: 4 by default, 20 in the last row) are both shown.
2. 500 concurrent probes against an expired ``CachedHealthChecker`` (5 checks): how many
   times each check ran, against an uncached ``HealthChecker`` probed the same way.
3. Per-probe cost of ``HealthCheckProvider`` with 5 instant checks against a bare ASGI app
   answering a JSON body, both called in process (raw scope, discarding ``send``):
   median wall and process-CPU µs per request over interleaved repeats (CPU includes the
   worker threads of sync checks and is the steadier figure on a shared machine), and the
   overhead over bare.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from lexigram.monitor.health import CachedHealthChecker, HealthChecker
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware import HealthCheckProvider

CHECKS = 20
CHECK_SECONDS = 0.05
CONCURRENCY_REPEATS = 3
PROBES = 500
ENDPOINT_REPEATS = 15
ENDPOINT_LOOPS = 400

_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/health/ready",
    "raw_path": b"/health/ready",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"bench")],
}


# -- 1. concurrency --------------------------------------------------------------------


async def _async_check() -> bool:
    await asyncio.sleep(CHECK_SECONDS)
    return True


def _sync_check() -> bool:
    time.sleep(CHECK_SECONDS)
    return True


async def _serial(check: Callable[[], Any]) -> None:
    for _ in range(CHECKS):
        value = check()
        if asyncio.iscoroutine(value):
            await value


async def _timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


async def _concurrency_row(label: str, check: Callable[[], Any], workers: int) -> None:
    checker = HealthChecker(collector=MetricsCollector(), max_workers=workers)
    for i in range(CHECKS):
        checker.add(f"c{i}", check, timeout=10)
    await checker.run_all()  # warm up threads
    ours: list[float] = []
    serial: list[float] = []
    for _ in range(CONCURRENCY_REPEATS):
        ours.append(await _timed(checker.run_all))
        serial.append(await _timed(lambda: _serial(check)))
    mine, base = statistics.median(ours), statistics.median(serial)
    print(f"| {label} | {mine * 1000:,.0f} | {base * 1000:,.0f} | {mine / base:.3f} |")


async def _concurrency() -> None:
    print(f"\n{CHECKS} checks of {CHECK_SECONDS * 1000:.0f} ms (median of {CONCURRENCY_REPEATS})\n")
    print("| checks | HealthChecker ms | serial ms | ratio ours / serial |")
    print("|---|---:|---:|---:|")
    await _concurrency_row("async (asyncio.sleep)", _async_check, 4)
    await _concurrency_row("sync (time.sleep), 4 worker threads (default)", _sync_check, 4)
    await _concurrency_row("sync (time.sleep), max_workers=20", _sync_check, 20)


# -- 2. single flight ------------------------------------------------------------------


async def _single_flight() -> None:
    runs: dict[str, int] = {}

    def counting(name: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            runs[name] = runs.get(name, 0) + 1
            await asyncio.sleep(0.01)
            return True

        return check

    def build() -> HealthChecker:
        checker = HealthChecker(collector=MetricsCollector())
        for i in range(5):
            checker.add(f"c{i}", counting(f"c{i}"))
        return checker

    print(f"\n{PROBES} concurrent probes, 5 checks of 10 ms, cache expired\n")
    print("| checker | runs per check | wall ms |")
    print("|---|---:|---:|")
    cached = CachedHealthChecker(cache_ttl=5.0, checker=build())
    plain = build()
    for label, probe in (
        ("CachedHealthChecker (ttl 5 s)", cached.run_readiness),
        ("HealthChecker (no cache)", plain.run_readiness),
    ):
        runs.clear()
        started = time.perf_counter()
        await asyncio.gather(*(probe() for _ in range(PROBES)))
        wall = (time.perf_counter() - started) * 1000
        per_check = sorted(set(runs.values()))
        shown = ", ".join(str(n) for n in per_check)
        print(f"| {label} | {shown} | {wall:,.0f} |")


# -- 3. endpoint overhead --------------------------------------------------------------


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: dict[str, Any]) -> None:
    return None


def _bare_app() -> Callable[..., Awaitable[None]]:
    body = json.dumps({"status": "healthy", "timestamp": time.time(), "checks": {}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _instant() -> bool:
    return True


def _provider(kind: str) -> Callable[..., Awaitable[None]]:
    checker = HealthChecker(collector=MetricsCollector())
    if kind != "empty":
        for i in range(5):
            checker.add(f"c{i}", _instant if kind == "async" else (lambda: True))
    if kind == "cached":
        return HealthCheckProvider(checker=CachedHealthChecker(cache_ttl=3600, checker=checker))
    return HealthCheckProvider(checker=checker)


async def _per_request(app: Callable[..., Awaitable[None]], loops: int) -> tuple[float, float]:
    """(wall µs, process CPU µs) per request; CPU counts every thread of the process."""
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    for _ in range(loops):
        await app(dict(_SCOPE), _receive, _discard)
    return (
        (time.perf_counter_ns() - wall) / loops / 1000,
        (time.process_time_ns() - cpu) / loops / 1000,
    )


async def _endpoint() -> None:
    apps = {
        "bare ASGI app (static JSON)": _bare_app(),
        "HealthCheckProvider, no checks": _provider("empty"),
        "HealthCheckProvider, 5 instant async checks": _provider("async"),
        "HealthCheckProvider, 5 instant sync checks (worker threads)": _provider("sync"),
        "HealthCheckProvider, 5 checks behind CachedHealthChecker (hit)": _provider("cached"),
    }
    walls: dict[str, list[float]] = {name: [] for name in apps}
    cpus: dict[str, list[float]] = {name: [] for name in apps}
    for app in apps.values():
        await _per_request(app, 50)
    for _ in range(ENDPOINT_REPEATS):
        for name, app in apps.items():
            wall, cpu = await _per_request(app, ENDPOINT_LOOPS)
            walls[name].append(wall)
            cpus[name].append(cpu)
    bare_wall = statistics.median(walls["bare ASGI app (static JSON)"])
    bare_cpu = statistics.median(cpus["bare ASGI app (static JSON)"])
    print(f"\nGET /health/ready in process (median of {ENDPOINT_REPEATS} x {ENDPOINT_LOOPS})\n")
    print("| app | wall µs/request | CPU µs/request | CPU over bare µs | ratio wall / bare |")
    print("|---|---:|---:|---:|---:|")
    for name in apps:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"| {name} | {wall:,.1f} | {cpu:,.1f} | {cpu - bare_cpu:+,.1f} "
            f"| {wall / bare_wall:,.0f} |"
        )


def main() -> None:
    asyncio.run(_concurrency())
    asyncio.run(_single_flight())
    asyncio.run(_endpoint())


if __name__ == "__main__":
    main()
