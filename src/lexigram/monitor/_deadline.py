"""Whole-call deadlines for the library's network calls.

A socket timeout bounds one read: a peer that trickles a byte a second never trips it.
Here a call gets ONE deadline:

- :func:`deadline_scope` sets the deadline of the calling thread. Every socket a
  deadline-aware connection opens or reuses inside the scope (:class:`DeadlineHTTPConnection`,
  the urllib handlers of :func:`http_request`, the OTLP session in
  ``backends/exporters/_otlp_session.py``) is *armed*: one watchdog thread shuts it
  down (both directions) when the deadline passes, so a blocked connect, read or write
  returns at once. The scope then reports :attr:`DeadlineScope.expired` and callers
  raise :class:`DeadlineExceededError` (a ``TimeoutError``).
- Such calls run on a feature's own bounded worker (``_worker.Worker``), never on the
  event loop's default executor.
- :func:`http_request` is one deadline-bounded HTTP request through ``urllib`` (proxies
  from the environment, TLS, redirects for GET), answering status, reason and body.

Bounds: the watchdog holds one entry per armed socket until that socket's deadline
passes. Fork-safe: a forked child starts its own watchdog thread on first use.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "DeadlineExceededError",
    "DeadlineHTTPConnection",
    "DeadlineHTTPSConnection",
    "DeadlineScope",
    "HttpAnswer",
    "HttpStatusError",
    "current_scope",
    "deadline_scope",
    "http_request",
    "watch_socket",
]

#: Response bytes :func:`http_request` reads at most (the rest is not read).
MAX_BODY = 64 * 1024


class DeadlineExceededError(TimeoutError):
    """A call passed its whole-call deadline of :attr:`timeout` seconds and was cut off."""

    def __init__(self, timeout: float, what: str = "call") -> None:
        super().__init__(f"{what} timed out after {timeout:.3g}s")
        self.timeout = timeout


class HttpStatusError(OSError):
    """The peer answered with a status outside 2xx (:attr:`status`); the text says why."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(f"HTTP {status}" + (f": {detail}" if detail else ""))
        self.status = status


# -- watchdog ---------------------------------------------------------------------------------


class _Armed:
    """One socket armed until *deadline* (monotonic seconds)."""

    __slots__ = ("deadline", "done", "expired", "lock", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.lock = threading.Lock()
        self.done = False
        self.expired = False

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.done = self.expired = True
        # socket.socket.shutdown, not SSLSocket.shutdown (which drops the TLS object under
        # a thread still reading it): the file descriptor is shut, every blocked call returns
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)

    def disarm(self) -> bool:
        """Stop watching; True when the deadline had already cut the socket."""
        with self.lock:
            self.done = True
            return self.expired


class _Watchdog:
    """One daemon thread shutting armed sockets down at their deadlines."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Armed]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, deadline: float) -> _Armed:
        if self._pid != os.getpid():
            self._reset()
        armed = _Armed(sock, deadline)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._seq), armed))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lexigram-monitor-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is armed:
                self._cond.notify()
        return armed

    def _run(self) -> None:
        heap = self._heap
        while True:
            with self._cond:
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                armed = heapq.heappop(heap)[2]
            armed.fire()

    @property
    def armed(self) -> int:
        """Entries waiting (some may be disarmed already; they leave at their deadline)."""
        return len(self._heap)


_WATCHDOG = _Watchdog()


class DeadlineScope:
    """The deadline of one call on one thread; see :func:`deadline_scope`."""

    __slots__ = ("_armed", "deadline", "expired", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self._armed: dict[int, _Armed] = {}

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self.deadline - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Arm *sock*: it is shut down when the deadline passes (once per socket)."""
        if id(sock) in self._armed:
            return
        if self.deadline <= time.monotonic():
            self.expired = True
            _Armed(sock, self.deadline).fire()
            raise DeadlineExceededError(self.timeout)
        self._armed[id(sock)] = _WATCHDOG.arm(sock, self.deadline)

    def close(self) -> None:
        """Disarm every socket; remember whether the deadline cut one of them."""
        for armed in self._armed.values():
            if armed.disarm():
                self.expired = True
        self._armed.clear()
        if time.monotonic() >= self.deadline:
            self.expired = True


_local = threading.local()


def current_scope() -> DeadlineScope | None:
    """The innermost deadline scope of this thread, if any."""
    scope: DeadlineScope | None = getattr(_local, "scope", None)
    return scope


def watch_socket(sock: socket.socket | None) -> None:
    """Arm *sock* in the current thread's scope (nothing outside a scope)."""
    scope = current_scope()
    if scope is not None and sock is not None:
        scope.watch(sock)


@contextlib.contextmanager
def deadline_scope(timeout: float) -> Iterator[DeadlineScope]:
    """Give the calls inside the block one deadline of *timeout* seconds.

    A nested scope never extends the outer deadline. On leaving, sockets armed inside are
    disarmed and :attr:`DeadlineScope.expired` tells whether the deadline passed.
    """
    if not timeout > 0:
        raise ValueError(f"timeout {timeout!r} must be > 0 seconds")
    outer = current_scope()
    if outer is not None:
        timeout = min(timeout, max(outer.remaining(), 1e-3))
    scope = DeadlineScope(timeout)
    _local.scope = scope
    try:
        yield scope
    finally:
        _local.scope = outer
        scope.close()


class DeadlineHTTPConnection(http.client.HTTPConnection):
    """``http.client`` connection armed by the current deadline scope."""

    def connect(self) -> None:
        scope = current_scope()
        if scope is not None:
            self.timeout = max(scope.remaining(), 1e-3)
        super().connect()
        watch_socket(self.sock)


class DeadlineHTTPSConnection(http.client.HTTPSConnection):
    """``http.client`` TLS connection armed by the current deadline scope."""

    def connect(self) -> None:
        scope = current_scope()
        if scope is not None:
            self.timeout = max(scope.remaining(), 1e-3)
        super().connect()
        watch_socket(self.sock)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(DeadlineHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(DeadlineHTTPSConnection, req)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """Status, reason and (at most :data:`MAX_BODY` bytes of) body of one answer."""

    status: int
    reason: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def snippet(self, limit: int = 200) -> str:
        """The start of the body as text, for a log line."""
        return self.body[:limit].decode("utf-8", "replace").strip()

    def raise_for_status(self) -> None:
        """Raise :class:`HttpStatusError` (status and body snippet) unless 2xx."""
        if not self.ok:
            raise HttpStatusError(self.status, self.snippet() or self.reason)


def http_request(
    method: str,
    url: str,
    *,
    timeout: float,
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    what: str = "request",
) -> HttpAnswer:
    """Send one HTTP request and read the answer, all within *timeout* seconds.

    Any status is answered (4xx/5xx included); network errors raise (``OSError``,
    ``urllib.error.URLError``), and a call cut off at the deadline raises
    :class:`DeadlineExceededError` naming *what*. The connection is closed afterwards.
    """
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in headers:
        request.add_header(name, value)
    opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)
    with deadline_scope(timeout) as scope:
        try:
            try:
                with opener.open(request, timeout=timeout) as response:
                    return HttpAnswer(response.status, response.reason, response.read(MAX_BODY))
            except urllib.error.HTTPError as exc:
                with exc:
                    return HttpAnswer(exc.code, str(exc.reason), exc.read(MAX_BODY))
        except Exception as exc:
            scope.close()
            if scope.expired:
                raise DeadlineExceededError(timeout, what) from exc
            if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
                raise exc.reason from exc
            raise
