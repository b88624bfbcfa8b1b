"""The demo's /metrics, served by uvicorn with traffic, passes ``promtool check metrics``
with no lint finding: every metric, those created by record_metric included, has HELP."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from lexigram.monitor.cli._demo_app import build_demo
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source

from ._servers import free_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_url(uvicorn_server: ServeApp) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = build_demo(
        spans_stream=None,
        traffic_client=lambda: httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False),
        traffic_rate=40.0,
        collector=MetricsCollector(),
    )
    yield uvicorn_server(service.app, port)
    set_exemplar_source(None)


def test_promtool_finds_nothing_to_lint_in_the_demo(promtool: str, demo_url: str) -> None:
    """Once checkouts were recorded (through record_metric), promtool exits 0 with no
    "no help text" finding."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(3):  # the demo fails some checkouts on purpose: both get recorded
            client.post(f"{demo_url}/checkout", json={"items": ["tea"]})
        time.sleep(0.3)  # some background traffic too
        body = client.get(f"{demo_url}/metrics").content
    assert b"# HELP demo_checkouts_total Recorded with record_metric" in body
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"no help text" not in checked.stdout + checked.stderr
