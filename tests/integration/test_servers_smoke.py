"""The integration harness on its own: every real server starts, answers and stops."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._servers import (
    AlertmanagerServer,
    PushgatewayServer,
    ServerProcess,
    StartPrometheus,
    host_port,
    require_binary,
)
from ._uvicorn import ServeApp, serve_in_thread

pytestmark = pytest.mark.integration


async def _hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Plain ASGI app answering every HTTP request with ``hello``."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def test_serve_in_thread_serves_until_the_block_ends() -> None:
    """An app served in a thread answers on its URL and the port is closed afterwards."""
    with serve_in_thread(_hello_app) as url:
        assert httpx.get(url, trust_env=False).text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, trust_env=False, timeout=2.0)


def test_uvicorn_server_fixture_serves_on_a_requested_port(uvicorn_server: ServeApp) -> None:
    """The fixture honours an explicit port and returns the matching base URL."""
    with serve_in_thread(_hello_app) as probe:
        port = httpx.URL(probe).port
    assert port is not None
    url = uvicorn_server(_hello_app, port)
    assert url == f"http://127.0.0.1:{port}"
    assert httpx.get(url, trust_env=False).status_code == 200


def test_prometheus_scrapes_an_app_served_in_a_thread(
    prometheus_server: StartPrometheus, uvicorn_server: ServeApp
) -> None:
    """Prometheus scrapes a prometheus_client ASGI app: the query returns its series and,
    with exemplar storage enabled, the exemplar attached to a histogram bucket."""
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("smoke_requests", "Smoke requests.", registry=registry)
    counter.inc(3)
    latency = prometheus_client.Histogram("smoke_seconds", "Smoke latency.", registry=registry)
    latency.observe(0.2, exemplar={"trace_id": "abc123"})
    app_url = uvicorn_server(prometheus_client.make_asgi_app(registry=registry))
    started = time.time()

    prometheus = prometheus_server(
        [host_port(app_url)],
        scrape_interval="1s",
        job="smoke",
        extra_flags=["--enable-feature=exemplar-storage"],
    )
    result = prometheus.wait_for('smoke_requests_total{job="smoke"}', timeout=30)

    assert float(result[0]["value"][1]) == 3.0
    assert [t["health"] for t in prometheus.targets()] == ["up"]
    assert prometheus.query('absent_metric_of_nothing{job="smoke"}') == []
    exemplars = prometheus.query_exemplars("smoke_seconds_bucket", started - 60, time.time() + 60)
    assert [e["labels"] for series in exemplars for e in series["exemplars"]] == [
        {"trace_id": "abc123"}
    ]


def test_promtool_accepts_prometheus_client_exposition(promtool: str) -> None:
    """``promtool check metrics`` reads generate_latest() output from stdin and passes it."""
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    prometheus_client.Counter("smoke_jobs", "Jobs done.", ["queue"], registry=registry).labels(
        "high"
    ).inc()
    prometheus_client.Histogram("smoke_latency_seconds", "Latency.", registry=registry).observe(0.2)

    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=prometheus_client.generate_latest(registry),
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_rejects_malformed_exposition(promtool: str) -> None:
    """promtool fails on text that is not valid exposition, so the check above means something."""
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=b"# TYPE broken counter\nbroken{label=unquoted} 1\n",
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert checked.returncode != 0


def test_pushgateway_receives_a_push(pushgateway_server: PushgatewayServer) -> None:
    """A push_to_gateway push shows up in the Pushgateway's /api/v1/metrics."""
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    gauge = prometheus_client.Gauge("smoke_batch_size", "Batch size.", registry=registry)
    gauge.set(42)

    prometheus_client.push_to_gateway(
        pushgateway_server.url, job="smoke-batch", registry=registry, timeout=10
    )

    groups = pushgateway_server.metrics()
    (group,) = [g for g in groups if g["labels"].get("job") == "smoke-batch"]
    assert [float(m["value"]) for m in group["smoke_batch_size"]["metrics"]] == [42.0]


def test_alertmanager_accepts_lists_and_notifies(alertmanager_server: AlertmanagerServer) -> None:
    """A posted alert is listed by /api/v2/alerts and delivered to the webhook receiver."""
    alertmanager_server.post_alerts(
        [{"labels": {"alertname": "SmokeAlert", "severity": "warning"}, "annotations": {}}]
    )

    listed = alertmanager_server.alerts()
    assert [a["labels"]["alertname"] for a in listed] == ["SmokeAlert"]
    notification = alertmanager_server.webhook.wait_for(
        lambda body: body.get("groupLabels", {}).get("alertname") == "SmokeAlert"
    )
    assert notification["status"] == "firing"


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    """A server that ignores SIGTERM is killed once the stop deadline passes."""
    ignore_term = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = ServerProcess("stubborn", [sys.executable, "-c", ignore_term], tmp_path / "stubborn.log")
    proc.start()
    deadline = time.monotonic() + 10
    while "ready" not in proc.log_tail() and time.monotonic() < deadline:
        time.sleep(0.02)

    started = time.monotonic()
    code = proc.stop(timeout=0.5)

    assert code == -9
    assert not proc.alive
    assert time.monotonic() - started < 5


def test_missing_binary_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CI=true a missing server binary skips the test with the package to install."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_binary("lexigram-no-such-binary", "lexigram-no-such-package")


def test_missing_binary_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CI=true a missing server binary fails the test instead of skipping it."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_binary("lexigram-no-such-binary", "lexigram-no-such-package")
