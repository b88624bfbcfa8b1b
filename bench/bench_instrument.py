"""``instrument(app)`` against the same three middlewares composed by hand.

In-process raw ASGI calls (no server, no network): each request is a fresh HTTP scope
(alternating ``GET /`` and ``GET /items/<0..99>``) awaited on the app with a collecting
``send``. Cases, each with the process-default collector and tracer:

- a plain ASGI app: bare; by hand ``HealthCheckProvider(OTelMiddleware(
  PrometheusMiddleware(app)))``; ``instrument(app)``;
- a Starlette app with two routes: bare; by hand with ``add_middleware`` (Prometheus,
  then OTel, then probes: the working order); by hand wrapped around the app;
  ``instrument(app)`` (which adds to the app's own stack).

Instructions (callgrind, steadiest on a shared machine): per request,
``(count(6n) - count(n)) / 5n`` in a fresh interpreter per case. Wall clock: medians of
interleaved repeats in one process (the order of the cases rotated each round); the
ratios are the median over rounds of instrument / by hand within one round. The target: ``instrument(app)`` costs no more than
the hand composition it replaces.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench._callgrind import per_call

REPEATS = int(os.environ.get("BENCH_INSTRUMENT_REPEATS", "75"))
LOOPS = int(os.environ.get("BENCH_INSTRUMENT_LOOPS", "200"))
CALLGRIND_N = int(os.environ.get("BENCH_INSTRUMENT_CG_N", "200"))

#: (case, title); pairs compared: (hand, instrument) per app kind
CASES = (
    ("plain_bare", "plain ASGI app, bare"),
    ("plain_hand", "plain ASGI app, three middlewares by hand"),
    ("plain_instrument", "plain ASGI app, `instrument(app)`"),
    ("starlette_bare", "Starlette, bare"),
    ("starlette_add_middleware", "Starlette, `add_middleware` x3 by hand"),
    ("starlette_hand", "Starlette, three middlewares wrapped by hand"),
    ("starlette_instrument", "Starlette, `instrument(app)`"),
)
COMPARED = (
    ("plain_hand", "plain_instrument"),
    ("starlette_add_middleware", "starlette_instrument"),
    ("starlette_hand", "starlette_instrument"),
)

_APPS = textwrap.dedent(
    """
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from lexigram.monitor import instrument
    from lexigram.monitor.middleware import (
        HealthCheckProvider, OTelMiddleware, PrometheusMiddleware,
    )

    async def plain(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def ok(request):
        return PlainTextResponse("ok")

    def shop():
        return Starlette(routes=[Route("/", ok), Route("/items/{item_id}", ok)])

    def build(case):
        if case == "plain_bare":
            return plain
        if case == "plain_hand":
            return HealthCheckProvider(OTelMiddleware(PrometheusMiddleware(plain)))
        if case == "plain_instrument":
            return instrument(plain)
        if case == "starlette_bare":
            return shop()
        if case == "starlette_add_middleware":
            app = shop()
            app.add_middleware(PrometheusMiddleware)
            app.add_middleware(OTelMiddleware)
            app.add_middleware(HealthCheckProvider)
            return app
        if case == "starlette_hand":
            return HealthCheckProvider(OTelMiddleware(PrometheusMiddleware(shop())))
        if case == "starlette_instrument":
            return instrument(shop())
        raise ValueError(case)

    SCOPE = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"shop.test"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    PATHS = ["/" if n % 2 else f"/items/{(n // 2) % 100}" for n in range(200)]

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def run(app, n):
        for i in range(n):
            path = PATHS[i % 200]
            scope = dict(SCOPE)
            scope["path"] = path
            scope["raw_path"] = path.encode()
            await app(scope, receive, send)
    """
)


def _load(workdir: Path) -> Any:
    (workdir / "instrument_apps.py").write_text(_APPS)
    sys.path.insert(0, str(workdir))
    try:
        import instrument_apps  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(workdir))
    return instrument_apps


def wall_clock(apps: Any) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """(median µs per request of each case, median over rounds of instrument / by hand
    in the same round for each compared pair); interleaved repeats in this process, the
    order of the cases rotated from round to round so no case always runs first."""
    built = [(case, apps.build(case)) for case, _ in CASES]
    loop = asyncio.new_event_loop()
    try:
        for _, app in built:
            loop.run_until_complete(apps.run(app, 400))  # warm-up
        times: dict[str, list[float]] = {case: [] for case, _ in built}
        for round_ in range(REPEATS):
            shift = round_ % len(built)
            for case, app in built[shift:] + built[:shift]:
                start = time.perf_counter()
                loop.run_until_complete(apps.run(app, LOOPS))
                times[case].append((time.perf_counter() - start) / LOOPS * 1e6)
    finally:
        loop.close()
    paired = {
        (hand, ours): statistics.median(
            a / b for a, b in zip(times[ours], times[hand], strict=True)
        )
        for hand, ours in COMPARED
    }
    return {case: statistics.median(values) for case, values in times.items()}, paired


_COUNT = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, sys.argv[3])
    import instrument_apps
    app = instrument_apps.build(sys.argv[1])
    asyncio.run(instrument_apps.run(app, 400))  # warm-up and a second loop: subtracted
    asyncio.run(instrument_apps.run(app, int(sys.argv[2])))
    """
)


def instructions(workdir: Path) -> dict[str, float]:
    script = workdir / "count_instrument.py"
    script.write_text(_COUNT)
    extra = (str(workdir),)
    return {case: per_call(case, script, workdir, CALLGRIND_N, extra) for case, _ in CASES}


def _report(
    unit: str,
    values: dict[str, float],
    fmt: str,
    *,
    judge: bool,
    paired: dict[tuple[str, str], float] | None = None,
) -> None:
    """The table and the ratios instrument / by hand (*paired*: the median of the
    per-round ratios, else the ratio of the values); *judge* adds the verdict (for
    instruction counts: wall-clock medians on a shared machine scatter by several %)."""
    print(f"| case | {unit} per request |")
    print("|---|---:|")
    for case, title in CASES:
        print(f"| {title} | {values[case]:{fmt}} |")
    print()
    for hand, ours in COMPARED:
        ratio = paired[(hand, ours)] if paired is not None else values[ours] / values[hand]
        # the same middlewares run either way: equal within measurement noise (1 %)
        verdict = ("ok" if ratio <= 1.01 else "MORE than by hand") if judge else ""
        print(f"- {ours} / {hand}: {ratio:.3f} {verdict}")
    print()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lexigram-instrument-") as tmp:
        workdir = Path(tmp)
        apps = _load(workdir)
        print(f"wall clock: median of {REPEATS} interleaved repeats x {LOOPS} requests")
        values, paired = wall_clock(apps)
        _report("µs", values, ",.2f", judge=False, paired=paired)
        print("(ratios: median over rounds of instrument / by hand in the same round)\n")
        if shutil.which("valgrind") is None:
            print("instructions: skipped (needs Debian's valgrind)")
            return
        print(
            f"instructions (callgrind): (count({6 * CALLGRIND_N}) - count({CALLGRIND_N})) / "
            f"{5 * CALLGRIND_N}"
        )
        _report("instructions", instructions(workdir), ",.0f", judge=True)


if __name__ == "__main__":
    main()
