"""Real servers for integration tests: Prometheus, Pushgateway and Alertmanager.

Binaries come from the Debian packages that ``.ci/run`` installs. Every server listens on
a free loopback port, keeps its data and log in a temporary directory, and is stopped by
its pid (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`). Every wait has a deadline
and fails with the server's log tail. A missing binary skips the test locally and fails
it when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

STARTUP_TIMEOUT = 30.0
"""Seconds a server gets to answer its readiness endpoint."""
STOP_TIMEOUT = 10.0
"""Seconds between SIGTERM and SIGKILL when stopping a server."""
LOG_TAIL_LINES = 40

_EXTRA_BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin")
_PORT_ATTEMPTS = 3


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where missing binaries are failures."""
    return os.environ.get("CI") == "true"


def require_binary(name: str, package: str) -> str:
    """Return the path of executable *name*; skip the test (fail under CI) when absent."""
    found = shutil.which(name)
    if found is None:
        for directory in _EXTRA_BIN_DIRS:
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                found = candidate
                break
    if found is not None:
        return found
    reason = (
        f"{name!r} is not installed: install the Debian package {package!r} "
        f"(apt-get install --no-install-recommends {package}; .ci/run does this)"
    )
    if in_ci():
        pytest.fail(f"{reason}. CI=true, so a missing server binary fails the test.")
    pytest.skip(reason)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def host_port(url: str) -> str:
    """``http://127.0.0.1:8000/x`` -> ``127.0.0.1:8000`` (the form scrape configs use)."""
    return httpx.URL(url).netloc.decode("ascii")


class ServerProcess:
    """A background process whose output goes to *log_path*; stopped by its pid."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            # The child keeps its own copy of the descriptor; ours is closed at once.
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd or self.log_path.parent,
                env=self.env,
                start_new_session=True,
            )

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last *lines* lines of the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<log unavailable: {exc}>"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait up to *timeout* s, then SIGKILL; return the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return proc.returncode

    def describe(self) -> str:
        tail = self.log_tail()
        return f"{self.name} (pid {self.pid}, log {self.log_path})\n--- log tail ---\n{tail}"


def _wait_ready(proc: ServerProcess, url: str, timeout: float) -> str | None:
    """Poll *url* until it answers 200; return None, or the log tail if the process died."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if not proc.alive:
                return proc.log_tail()
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return None
            time.sleep(0.1)
    proc.stop()
    pytest.fail(f"{proc.name} was not ready at {url} within {timeout:.0f} s: {proc.describe()}")


def launch(
    name: str,
    workdir: Path,
    argv_for_port: Callable[[int], list[str]],
    ready_path: str = "/-/ready",
    timeout: float = STARTUP_TIMEOUT,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[ServerProcess, str]:
    """Start a server on a free port (retrying a lost port race) and wait until it is ready.

    *env* replaces the environment and *cwd* the working directory (default: *workdir*).
    Returns the running process and its base URL ``http://127.0.0.1:<port>``.
    """
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        log = workdir / f"{name}-{attempt}.log"
        proc = ServerProcess(name, argv_for_port(port), log, env=env, cwd=cwd)
        proc.start()
        url = f"http://127.0.0.1:{port}"
        died_with = _wait_ready(proc, url + ready_path, timeout)
        if died_with is None:
            return proc, url
        code = proc.stop()
        if "address already in use" not in died_with or attempt == _PORT_ATTEMPTS:
            pytest.fail(f"{name} exited during start-up (exit {code}): {proc.describe()}")
    raise AssertionError("unreachable")  # pragma: no cover


class _HTTPServer:
    """Common part of the wrappers: the process, its URL and one JSON HTTP client."""

    def __init__(self, process: ServerProcess, url: str) -> None:
        self.process = process
        self.url = url
        self.http = httpx.Client(base_url=url, trust_env=False, timeout=10.0)

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    def _api(self, path: str, **params: str) -> Any:
        response = self.http.get(path, params=params)
        try:
            payload = response.json()
        except ValueError:
            payload = {"status": "error", "error": response.text[:500]}
        if response.status_code != 200 or payload.get("status") != "success":
            raise AssertionError(
                f"{self.process.name} {path} {params} answered {response.status_code}: "
                f"{payload.get('errorType', '')} {payload.get('error', payload)}"
            )
        return payload["data"]


class PrometheusServer(_HTTPServer):
    """A running Prometheus with helpers over its HTTP API (``/api/v1``)."""

    def query(self, expr: str) -> list[Any]:
        """Instant query; the ``result`` list (empty when nothing matches yet)."""
        data = self._api("/api/v1/query", query=expr)
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            return [result]
        return list(result)

    def wait_for(self, expr: str, timeout: float = 30.0, interval: float = 0.25) -> list[Any]:
        """Poll *expr* until it returns a non-empty result (Prometheus 2.42 first scrapes
        ~6.5 s after start); fail after *timeout* s with the targets and the log tail."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        targets = [
            {k: t.get(k) for k in ("scrapeUrl", "health", "lastError", "lastScrape")}
            for t in self.targets()
        ]
        raise AssertionError(
            f"Prometheus query {expr!r} stayed empty for {timeout:.0f} s; "
            f"targets: {json.dumps(targets)}; {self.process.describe()}"
        )

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (``health``, ``lastError``, ``labels``...)."""
        return list(self._api("/api/v1/targets")["activeTargets"])

    def query_exemplars(self, expr: str, start: float, end: float) -> list[dict[str, Any]]:
        """Exemplars of *expr* between unix times *start* and *end* (needs
        ``--enable-feature=exemplar-storage``)."""
        return list(
            self._api("/api/v1/query_exemplars", query=expr, start=str(start), end=str(end))
        )


def start_prometheus(
    binary: str,
    workdir: Path,
    targets: Sequence[str],
    *,
    scrape_interval: str = "1s",
    metrics_path: str = "/metrics",
    extra_flags: Sequence[str] = (),
    job: str = "app",
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
) -> PrometheusServer:
    """Start Prometheus scraping *targets* (``host:port``) every *scrape_interval*, which
    is also the rule evaluation interval; *rule_files* are loaded and alerts sent to
    *alertmanager* (its base URL) when given."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": metrics_path,
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager is not None:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [host_port(alertmanager)]}]}]
        }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is valid YAML

    def argv(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *extra_flags,
        ]

    process, url = launch("prometheus", workdir, argv)
    return PrometheusServer(process, url)


class PushgatewayServer(_HTTPServer):
    """A running Pushgateway without persistence."""

    def metrics(self) -> list[dict[str, Any]]:
        """The pushed groups from ``/api/v1/metrics`` (labels, families, push times)."""
        return list(self._api("/api/v1/metrics"))


def start_pushgateway(binary: str, workdir: Path) -> PushgatewayServer:
    """Start a Pushgateway on a free loopback port."""

    def argv(port: int) -> list[str]:
        return [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]

    process, url = launch("pushgateway", workdir, argv)
    return PushgatewayServer(process, url)


class WebhookSink:
    """Loopback HTTP endpoint recording the JSON bodies POSTed to it (at most 1,000)."""

    def __init__(self) -> None:
        self.received: deque[Any] = deque(maxlen=1000)
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink._cond:
                    sink.received.append(json.loads(body or b"null"))
                    sink._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 15.0) -> Any:
        """Return the first received body matching *predicate*; fail after *timeout* s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for body in self.received:
                    if predicate(body):
                        return body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no matching webhook call within {timeout:.0f} s; "
                        f"received {len(self.received)}: {list(self.received)[-3:]}"
                    )
                self._cond.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)


class AlertmanagerServer(_HTTPServer):
    """A running single-node Alertmanager routing every alert to :attr:`webhook`."""

    def __init__(self, process: ServerProcess, url: str, webhook: WebhookSink) -> None:
        super().__init__(process, url)
        self.webhook = webhook

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST alerts to ``/api/v2/alerts``; fail unless Alertmanager accepts them."""
        response = self.http.post("/api/v2/alerts", json=alerts)
        if response.status_code != 200:
            raise AssertionError(
                f"Alertmanager refused {alerts}: {response.status_code} {response.text}"
            )

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager currently holds (``GET /api/v2/alerts``)."""
        response = self.http.get("/api/v2/alerts")
        response.raise_for_status()
        return list(response.json())

    def stop(self) -> None:
        super().stop()
        self.webhook.close()


def start_alertmanager(binary: str, workdir: Path) -> AlertmanagerServer:
    """Start Alertmanager (clustering off) whose one receiver is a :class:`WebhookSink`."""
    webhook = WebhookSink()
    config = {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook.url}]}],
    }
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(json.dumps(config, indent=2))

    def argv(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ]

    try:
        process, url = launch("alertmanager", workdir, argv)
    except BaseException:
        webhook.close()
        raise
    return AlertmanagerServer(process, url, webhook)


class StartPrometheus(Protocol):
    """Signature of the ``prometheus_server`` factory."""

    def __call__(
        self,
        targets: Sequence[str],
        *,
        scrape_interval: str = "1s",
        metrics_path: str = "/metrics",
        extra_flags: Sequence[str] = (),
        job: str = "app",
        rule_files: Sequence[Path] = (),
        alertmanager: str | None = None,
    ) -> PrometheusServer: ...
