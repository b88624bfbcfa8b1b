"""The scrape endpoint answers while a handler blocks the event loop (real uvicorn)."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig

from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

BLOCK_SECONDS = 3.0


def timed_get(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status, time.perf_counter() - started


def test_metrics_answer_within_100ms_while_a_handler_blocks_the_loop(
    uvicorn_server: ServeApp,
) -> None:
    """A handler sleeps 3 s on uvicorn's loop (a blocking call in async code); meanwhile
    every scrape of the PrometheusBackend's server answers within 100 ms."""
    backend = PrometheusBackend(config=PrometheusConfig(port=0, enable_default_metrics=True))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await backend.initialize()
        yield
        await backend.shutdown()

    async def block(request: Request) -> PlainTextResponse:
        time.sleep(BLOCK_SECONDS)  # noqa: ASYNC251 - blocks the loop, as a careless handler does
        return PlainTextResponse("done")

    base = uvicorn_server(Starlette(routes=[Route("/block", block)], lifespan=lifespan))
    metrics = f"http://127.0.0.1:{backend.port}/metrics"
    assert timed_get(metrics)[0] == 200  # warm

    blocked = threading.Thread(
        target=lambda: urllib.request.urlopen(f"{base}/block", timeout=10).read()
    )
    blocked.start()
    time.sleep(0.3)
    timings = []
    while blocked.is_alive() and len(timings) < 10:
        status, seconds = timed_get(metrics)
        assert status == 200
        timings.append(seconds)
        time.sleep(0.15)
    blocked.join(10)

    assert len(timings) >= 5, "the scrapes did not overlap the blocked loop"
    assert max(timings) < 0.1, f"scrape latencies while the loop was blocked: {timings}"
