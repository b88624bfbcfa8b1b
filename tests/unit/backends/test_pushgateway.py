"""Pushgateway pushes: periodic, final on shutdown; down/slow/4xx/5xx gateways never hurt."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import prometheus_client
import pytest

from lexigram.monitor.backends._pushgateway import Pusher
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig
from lexigram.monitor.metrics import MetricsCollector
from tests._trickle import TricklingServer


class FakeGateway:
    """Loopback HTTP server recording pushes and answering with *status* (or hanging)."""

    def __init__(self, status: int = 200, *, hang: bool = False) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                gateway.requests.append((self.command, self.path, body))
                if hang:
                    gateway.release.wait(10)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def gateways() -> Iterator[list[FakeGateway]]:
    made: list[FakeGateway] = []
    yield made
    for gateway in made:
        gateway.close()


def registry_with_gauge() -> Any:
    registry = prometheus_client.CollectorRegistry()
    prometheus_client.Gauge("batch_size", "Batch size.", registry=registry).set(3)
    return registry


def push_failures(collector: MetricsCollector) -> dict[str, float]:
    metric = collector.get_metric("lexigram_monitor_push_failures_total")
    if metric is None:
        return {}
    return {s.label_values[0]: s.value for s in metric.collect()}  # type: ignore[attr-defined]


async def test_a_push_puts_the_registry_under_the_job(gateways: list[FakeGateway]) -> None:
    """push_once PUTs the text exposition to ``/metrics/job/<job>``."""
    gateway = FakeGateway()
    gateways.append(gateway)
    pusher = Pusher(gateway.url, "nightly", registry_with_gauge(), interval=15)

    assert await pusher.push_once()

    ((method, path, body),) = gateway.requests
    assert (method, path) == ("PUT", "/metrics/job/nightly")
    assert b"batch_size 3.0" in body
    assert pusher.pushes == 1


@pytest.mark.parametrize(("status", "reason"), [(500, "http_500"), (400, "http_400")])
async def test_error_answers_are_counted_not_raised(
    gateways: list[FakeGateway], isolated_metrics: MetricsCollector, status: int, reason: str
) -> None:
    """A 4xx/5xx answer makes push_once return False and counts the failure."""
    gateway = FakeGateway(status)
    gateways.append(gateway)
    pusher = Pusher(gateway.url, "job", registry_with_gauge(), interval=15)

    assert not await pusher.push_once()

    assert pusher.failures == 1
    assert push_failures(isolated_metrics) == {reason: 1}


async def test_a_gateway_that_is_down_is_counted(isolated_metrics: MetricsCollector) -> None:
    """Connection refused is a counted failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pusher = Pusher(f"http://127.0.0.1:{port}", "job", registry_with_gauge(), interval=15)

    assert not await pusher.push_once()

    assert push_failures(isolated_metrics) == {"refused": 1}


async def test_a_slow_gateway_is_cut_off_by_the_timeout(
    gateways: list[FakeGateway], isolated_metrics: MetricsCollector
) -> None:
    """A gateway that never answers costs at most the timeout (plus grace), then counts."""
    gateway = FakeGateway(hang=True)
    gateways.append(gateway)
    pusher = Pusher(gateway.url, "job", registry_with_gauge(), interval=15, timeout=0.2)
    started = time.monotonic()

    assert not await pusher.push_once()

    assert time.monotonic() - started < 2.0
    assert push_failures(isolated_metrics) == {"timeout": 1}


async def test_a_trickling_gateway_is_cut_off_at_the_deadline(
    isolated_metrics: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway answering one byte every 0.1 s never trips a per-read timeout; the
    push's one deadline closes the connection after 0.5 s, logs and counts ``timeout``."""
    with TricklingServer(0.1) as gateway:
        pusher = Pusher(gateway.url, "job", registry_with_gauge(), interval=15, timeout=0.5)
        started = time.monotonic()

        assert not await pusher.push_once()
        elapsed = time.monotonic() - started

        assert gateway.wait_cut_off(1, 5.0)
        assert 0.4 < elapsed < 1.5
        assert gateway.cut_off[0] < 1.5
    assert push_failures(isolated_metrics) == {"timeout": 1}
    assert "failed: timeout after 0.5s" in caplog.text


async def test_pushes_never_use_the_loops_default_executor(
    gateways: list[FakeGateway],
) -> None:
    """A push runs on the pushes' own thread: the application's default executor (its
    to_thread and DNS lookups) is never asked to run it."""
    gateway = FakeGateway(200)
    gateways.append(gateway)
    submitted: list[Any] = []

    class Recording(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    loop = asyncio.get_running_loop()
    with Recording(1) as executor:
        loop.set_default_executor(executor)
        pusher = Pusher(gateway.url, "job", registry_with_gauge(), interval=15)
        assert await pusher.push_once()
    assert submitted == []


async def test_default_timeout_is_bounded_by_the_interval() -> None:
    """Without an explicit timeout a push may take at most min(10 s, interval)."""
    assert Pusher("http://x", "j", None, interval=2).timeout == 2
    assert Pusher("http://x", "j", None, interval=60).timeout == 10


async def test_the_loop_pushes_every_interval(gateways: list[FakeGateway]) -> None:
    """The periodic task sleeps ``interval`` between pushes (driven by a fake sleep)."""
    gateway = FakeGateway()
    gateways.append(gateway)
    naps: list[float] = []
    hold, fourth_nap = asyncio.Event(), asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) > 3:  # sleep, push, sleep, push, sleep, push: three pushes done
            fourth_nap.set()
            await hold.wait()

    pusher = Pusher(gateway.url, "job", registry_with_gauge(), interval=7.5, sleep=fake_sleep)
    pusher.start()
    pusher.start()  # idempotent
    async with asyncio.timeout(10):
        await fourth_nap.wait()
    await pusher.stop(final_push=False)

    assert naps == [7.5, 7.5, 7.5, 7.5]
    assert len(gateway.requests) == 3


async def test_backend_pushes_on_shutdown_with_its_job_name(
    gateways: list[FakeGateway], backends: list[PrometheusBackend]
) -> None:
    """With ``pushgateway_url`` the backend pushes the process registry, finally on shutdown."""
    gateway = FakeGateway()
    gateways.append(gateway)
    config = PrometheusConfig(port=0, pushgateway_url=gateway.url, job_name="worker")
    backend = PrometheusBackend(config=config)
    backends.append(backend)
    await backend.initialize()
    backend.record_metric("jobs_done", 5, "counter")

    await backend.shutdown()

    ((_, path, body),) = gateway.requests
    assert path == "/metrics/job/worker"
    assert b"jobs_done_total 5.0" in body


async def test_backend_with_a_failing_gateway_starts_and_stops_cleanly(
    gateways: list[FakeGateway],
    isolated_metrics: MetricsCollector,
    backends: list[PrometheusBackend],
) -> None:
    """A 500-answering gateway never breaks initialize, recording or shutdown."""
    gateway = FakeGateway(500)
    gateways.append(gateway)
    config = PrometheusConfig(port=0, pushgateway_url=gateway.url, push_interval=0.05)
    backend = PrometheusBackend(config=config)
    backends.append(backend)

    await backend.initialize()
    backend.record_metric("still_recorded", 1, "counter")
    await backend.shutdown()

    assert push_failures(isolated_metrics)["http_500"] >= 1
    assert isolated_metrics.get_metric("still_recorded") is not None
