"""Whole-call deadlines, bounded workers and failure descriptions (the network guards)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lexigram.monitor._deadline import (
    DeadlineExceededError,
    HttpStatusError,
    deadline_scope,
    http_request,
)
from lexigram.monitor._failure import describe_failure
from lexigram.monitor._worker import Worker, WorkerBusyError
from lexigram.monitor.alerts import AlertmanagerDispatcher, WebhookAlertDispatcher
from lexigram.monitor.metrics import MetricsCollector
from tests._trickle import TricklingServer


class Answering:
    """Loopback HTTP server answering every POST with *status* and a short body."""

    def __init__(self, status: int) -> None:
        self.bodies: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                body = b"receiver says no" if status >= 400 else b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


@pytest.fixture
def answering() -> Iterator[list[Answering]]:
    made: list[Answering] = []
    yield made
    for server in made:
        server.close()


# -- deadlines ---------------------------------------------------------------------------------


def test_a_trickling_peer_is_cut_off_at_the_deadline() -> None:
    """A byte every 0.1 s never trips a per-read timeout; the call's one deadline of
    0.5 s shuts the socket down and raises DeadlineExceededError."""
    with TricklingServer(0.1) as peer:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError, match=r"push timed out after 0\.5s"):
            http_request("GET", peer.url, timeout=0.5, what="push")
        elapsed = time.monotonic() - started
        assert peer.wait_cut_off(1, 5.0)
    assert 0.45 < elapsed < 1.0


def test_a_peer_that_never_reads_is_cut_off_while_sending() -> None:
    """A large upload to a peer that reads nothing blocks in send; the deadline ends it."""
    with TricklingServer(0.1, read_request=False) as peer:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            http_request("POST", peer.url, timeout=0.5, body=b"x" * 50_000_000)
        assert time.monotonic() - started < 1.5


def test_answers_of_any_status_are_returned(answering: list[Answering]) -> None:
    """A 503 is an answer (status, reason, body), not an exception."""
    server = Answering(503)
    answering.append(server)
    answer = http_request("POST", server.url, timeout=2, body=b"{}")
    assert (answer.status, answer.ok, answer.snippet()) == (503, False, "receiver says no")
    with pytest.raises(HttpStatusError, match="HTTP 503"):
        answer.raise_for_status()


def test_a_refused_connection_raises_the_socket_error(refused_url: str) -> None:
    """Connection refused surfaces as ConnectionRefusedError (not wrapped in URLError)."""
    with pytest.raises(ConnectionRefusedError):
        http_request("GET", refused_url, timeout=2)


def test_nested_scopes_never_extend_the_outer_deadline() -> None:
    """An inner scope asking for more time gets what is left of the outer one."""
    with deadline_scope(0.2), deadline_scope(30) as inner:
        assert inner.timeout <= 0.2
    with pytest.raises(ValueError, match="must be > 0"), deadline_scope(0):
        pass


def test_a_socket_armed_after_the_deadline_is_refused() -> None:
    """Arming once the deadline passed shuts the socket and raises at once."""
    left, right = socket.socketpair()
    with left, right, deadline_scope(0.01) as scope:
        time.sleep(0.05)
        with pytest.raises(DeadlineExceededError):
            scope.watch(left)
        assert left.recv(1) == b""  # shut down


# -- workers -------------------------------------------------------------------------------------


def test_a_worker_is_bounded_and_says_so() -> None:
    """threads + max_pending calls at most; the next one fails at once with a reason."""
    release = threading.Event()
    worker = Worker("test-bounded", threads=1, max_pending=1)
    first = worker.submit(lambda: release.wait(5))
    second = worker.submit(lambda: "second")
    assert worker.busy == 2
    with pytest.raises(WorkerBusyError, match="this call was not started"):
        worker.submit(lambda: "third")
    release.set()
    assert first.result(5) is True
    assert second.result(5) == "second"
    assert worker.call(lambda: 7, timeout=5) == 7


async def test_a_worker_run_is_awaited_without_the_default_executor() -> None:
    """Worker.run awaits the call on the worker's own thread, bounded by its timeout."""
    submitted: list[Any] = []

    class Recording(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    worker = Worker("test-async", threads=1, max_pending=0)
    with Recording(1) as executor:
        asyncio.get_running_loop().set_default_executor(executor)
        assert (
            await worker.run(threading.current_thread, timeout=5) is not threading.current_thread()
        )
        release = threading.Event()
        with pytest.raises(TimeoutError):
            await worker.run(lambda: release.wait(5), timeout=0.1)
        release.set()
    assert submitted == []


# -- failure descriptions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "label", "text"),
    [
        (DeadlineExceededError(2.0, "push"), "timeout", "timeout after 2s"),
        (TimeoutError(), "timeout", "timeout after 5s"),
        (ConnectionRefusedError(111, "Connection refused"), "refused", "connection refused"),
        (ConnectionResetError(104, "reset"), "reset", "connection reset by the peer"),
        (HttpStatusError(503, "down"), "http_503", "HTTP 503: down"),
        (socket.gaierror(-2, "Name or service not known"), "dns", "name resolution failed"),
        (OSError(113, "No route to host"), "unreachable", "OSError: No route to host"),
        (WorkerBusyError("alerts: full"), "busy", "alerts: full"),
        (RuntimeError(), "RuntimeError", "RuntimeError"),
    ],
)
def test_failures_are_named(exc: BaseException, label: str, text: str) -> None:
    """Every failure gets a bounded label and a text naming the cause, never empty."""
    got_label, got_text = describe_failure(exc, timeout=5.0)
    assert got_label == label
    assert got_text.startswith(text)


def test_the_cause_is_found_inside_wrappers() -> None:
    """A refused connection wrapped by a client library is still named as refused."""
    inner = ConnectionRefusedError(111, "Connection refused")
    outer = RuntimeError("All connection attempts failed")
    outer.__cause__ = inner
    assert describe_failure(outer) == ("refused", "connection refused")


# -- alerts over the network ---------------------------------------------------------------------


def alert_failures(collector: MetricsCollector) -> dict[str, float]:
    metric = collector.get_metric("lexigram_monitor_alert_failures_total")
    if metric is None:
        return {}
    names = metric.label_names  # type: ignore[attr-defined]
    return {
        dict(zip(names, s.label_values, strict=True))["reason"]: s.value
        for s in metric.collect()  # type: ignore[attr-defined]
    }


async def test_a_trickling_webhook_is_cut_off_and_named(
    collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook receiver trickling its answer is cut off at the dispatcher's timeout;
    the log says ``timeout after 0.5s`` and the failure is counted as ``timeout``."""
    with TricklingServer(0.1) as receiver:
        dispatcher = WebhookAlertDispatcher(receiver.url, timeout=0.5)
        started = time.monotonic()
        await dispatcher.send_alert("disk full", "95 %", "high")
        assert time.monotonic() - started < 1.5
        assert receiver.wait_cut_off(1, 5.0)
    assert dispatcher.failed == 1
    assert alert_failures(collector) == {"timeout": 1}
    assert "timeout after 0.5s" in caplog.text


async def test_refused_and_error_answers_are_named(
    collector: MetricsCollector,
    caplog: pytest.LogCaptureFixture,
    answering: list[Answering],
    refused_url: str,
) -> None:
    """A refused connection and a 503 answer are logged as such and counted by reason;
    a 2xx answer is a delivery."""
    failing = Answering(503)
    working = Answering(200)
    answering.extend([failing, working])

    await WebhookAlertDispatcher(refused_url, timeout=2).send_alert("a", "b", "low")
    await AlertmanagerDispatcher(failing.url, timeout=2).send_alert("a", "b", "low")
    ok = AlertmanagerDispatcher(working.url, timeout=2)
    await ok.send_alert("a", "b", "low")

    assert alert_failures(collector) == {"refused": 1, "http_503": 1}
    assert "connection refused" in caplog.text
    assert "HTTP 503: receiver says no" in caplog.text
    assert ok.sent == 1
    assert b'"alertname"' in working.bodies[0] or working.bodies[0].startswith(b"[")
