"""Fixtures starting real servers from the Debian packages (``_servers.py``) and uvicorn
in a thread (``_uvicorn.py``).

Each server gets a free loopback port and a temporary directory, and is stopped by pid at
teardown. A missing binary skips the test, or fails it when ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ._servers import (
    AlertmanagerServer,
    PrometheusServer,
    PushgatewayServer,
    StartPrometheus,
    require_binary,
    start_alertmanager,
    start_prometheus,
    start_pushgateway,
)
from ._uvicorn import ServeApp, serve_in_thread


@pytest.fixture
def promtool() -> str:
    """Path of the ``promtool`` binary (Debian package ``prometheus``)."""
    return require_binary("promtool", "prometheus")


@pytest.fixture
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartPrometheus]:
    """Factory: ``prometheus_server(["127.0.0.1:8000"], scrape_interval="1s",
    metrics_path="/metrics", extra_flags=["--enable-feature=exemplar-storage"],
    rule_files=[path], alertmanager=url)`` starts a Prometheus scraping those targets
    (evaluating the rule files, alerting the Alertmanager) and returns a
    :class:`PrometheusServer`."""
    binary = require_binary("prometheus", "prometheus")
    stack = ExitStack()

    def start(
        targets: Sequence[str],
        *,
        scrape_interval: str = "1s",
        metrics_path: str = "/metrics",
        extra_flags: Sequence[str] = (),
        job: str = "app",
        rule_files: Sequence[Path] = (),
        alertmanager: str | None = None,
    ) -> PrometheusServer:
        server = start_prometheus(
            binary,
            tmp_path_factory.mktemp("prometheus"),
            targets,
            scrape_interval=scrape_interval,
            metrics_path=metrics_path,
            extra_flags=extra_flags,
            job=job,
            rule_files=rule_files,
            alertmanager=alertmanager,
        )
        stack.callback(server.stop)
        return server

    with stack:
        yield start


@pytest.fixture
def pushgateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushgatewayServer]:
    """A Pushgateway without persistence on a free loopback port."""
    binary = require_binary("prometheus-pushgateway", "prometheus-pushgateway")
    server = start_pushgateway(binary, tmp_path_factory.mktemp("pushgateway"))
    yield server
    server.stop()


@pytest.fixture
def alertmanager_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerServer]:
    """A single-node Alertmanager whose receiver is a loopback webhook (``.webhook``)."""
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    server = start_alertmanager(binary, tmp_path_factory.mktemp("alertmanager"))
    yield server
    server.stop()


@pytest.fixture
def uvicorn_server() -> Iterator[ServeApp]:
    """Factory: ``uvicorn_server(app)`` serves *app* in a thread and returns its base URL;
    every server is stopped at teardown."""
    with ExitStack() as stack:

        def serve(app: Any, port: int | None = None, **config: Any) -> str:
            return stack.enter_context(serve_in_thread(app, port, **config))

        yield serve
