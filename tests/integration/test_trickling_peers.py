"""A Pushgateway and an OTLP collector that trickle one byte at a time.

A real service process (a subprocess) pushes to the trickling "Pushgateway" and exports
spans and metrics to the trickling "collector" for a few seconds. Every call is cut off at
its deadline, the application's own ``to_thread`` and DNS lookups stay fast (the loop's
default executor is never taken by the library), and shutdown and interpreter exit are
bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests._trickle import TricklingServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

SERVICE = """
import asyncio, json, sys, time

from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig


async def main() -> None:
    url = sys.argv[1]
    prom = PrometheusBackend(
        config=PrometheusConfig(port=0, pushgateway_url=url, push_interval=0.3)
    )
    otel = OpenTelemetryBackend(
        "svc", endpoint=url, config={"timeout": 1.0, "export_interval": 0.2, "batch_size": 8}
    )
    await prom.initialize()
    await otel.initialize()
    loop = asyncio.get_running_loop()
    probes = []
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        with otel.create_span("work"):
            otel.record_metric("jobs", 1, "counter")
        started = time.perf_counter()
        await asyncio.to_thread(time.sleep, 0)
        await loop.getaddrinfo("localhost", 80)
        probes.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    started = time.perf_counter()
    await prom.shutdown()
    await otel.shutdown()
    print(json.dumps({"max_probe": max(probes), "probes": len(probes),
                      "shutdown": time.perf_counter() - started,
                      "pushes_failed": prom.pusher is None}), flush=True)


asyncio.run(main())
"""


def test_trickling_pushgateway_and_collector_are_cut_off_and_exit_is_bounded() -> None:
    """Pushes (0.3 s deadline) and OTLP exports (1 s) against peers trickling a byte every
    0.1 s: connections are cut at the deadlines, to_thread + getaddrinfo never wait more
    than 0.5 s, shutdown takes under 3 s and the process exits on its own."""
    with TricklingServer(0.1) as peer:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SERVICE), peer.url],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=ROOT,
            check=False,
        )
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert peer.wait_cut_off(3, 5.0), f"connections cut: {peer.cut_off}"

    assert report["probes"] > 20
    assert report["max_probe"] < 0.5, report
    assert report["shutdown"] < 3.0, report
    assert elapsed < 15.0
    assert max(peer.cut_off) < 3.0  # no connection outlived its deadline by much
    assert "timeout after" in result.stderr
