"""SIGTERM under load loses no span of an answered request: real uvicorn, real gunicorn.

The app (``apps/span_shop.py``) is the README quickstart shape: Starlette behind
``OTelMiddleware``, the default tracer writing JSON lines. Client threads send requests
without pause; mid-load the server gets SIGTERM, as on every deploy. Every request that
got its 200 must have its SERVER span in the files the server processes wrote, and the
server must exit within its graceful timeout.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ._servers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 6
LOAD_BEFORE_SIGTERM = 2.0
EXIT_TIMEOUT = 30.0


def start(argv: list[str], spans_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPANS_DIR": str(spans_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early:\n{log.read_text(errors='replace')[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/work/0")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"server not ready on {port}:\n{log.read_text(errors='replace')[-3000:]}")


class Load:
    """Client threads sending ``GET /work/<n>`` (unique n) over keep-alive connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answered: set[int] = set()
        self._next = 1000
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def _number(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def _client(self) -> None:
        conn: http.client.HTTPConnection | None = None
        failures = 0
        while not self._stop.is_set() and failures < 50:
            n = self._number()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", f"/work/{n}")
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and body == b"ok":
                    with self._lock:
                        self.answered.add(n)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                failures += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def spans_written(spans_dir: Path) -> set[int]:
    found: set[int] = set()
    for path in spans_dir.glob("spans-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            span = json.loads(line)
            route = span["attributes"].get("url.path", "")
            if span["kind"] == "SERVER" and route.startswith("/work/"):
                found.add(int(route.rsplit("/", 1)[1]))
    return found


def run_and_terminate(argv: list[str], port: int, tmp_path: Path) -> tuple[set[int], set[int]]:
    spans_dir = tmp_path / "spans"
    spans_dir.mkdir()
    log = tmp_path / "server.log"
    proc = start(argv, spans_dir, log)
    try:
        wait_ready(port, proc, log)
        load = Load(port)
        load.start()
        time.sleep(LOAD_BEFORE_SIGTERM)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit {EXIT_TIMEOUT:.0f}s after SIGTERM:\n{log.read_text()[-3000:]}")
        load.stop()
        assert time.monotonic() - started < EXIT_TIMEOUT
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return load.answered, spans_written(spans_dir)


def test_uvicorn_sigterm_under_load_loses_no_answered_span(tmp_path: Path) -> None:
    """uvicorn gets SIGTERM mid-load: every answered request's span is written."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.integration.apps.span_shop:app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip

    answered, written = run_and_terminate(argv, port, tmp_path)

    assert len(answered) > 200, "the load did not get going"
    lost = answered - written
    assert not lost, f"{len(lost)} of {len(answered)} answered requests have no span"


def test_gunicorn_uvicorn_workers_sigterm_under_load_loses_no_answered_span(
    tmp_path: Path,
) -> None:
    """gunicorn with two UvicornWorker processes gets SIGTERM mid-load: every answered
    request's span is written by the worker that answered it."""
    pytest.importorskip("gunicorn")
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "tests.integration.apps.span_shop:app",
            "-k", "uvicorn.workers.UvicornWorker", "-w", "2", "--bind", f"127.0.0.1:{port}",
            "--graceful-timeout", "20", "--log-level", "warning"]  # fmt: skip

    answered, written = run_and_terminate(argv, port, tmp_path)

    assert len(answered) > 200, "the load did not get going"
    lost = answered - written
    assert not lost, f"{len(lost)} of {len(answered)} answered requests have no span"
    assert len(list((tmp_path / "spans").glob("spans-*.jsonl"))) == 2
