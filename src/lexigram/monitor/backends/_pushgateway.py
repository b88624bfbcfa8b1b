"""Periodic pushes to a Prometheus Pushgateway.

Every ``interval`` seconds the registry is pushed with ``prometheus_client.push_to_gateway``
(HTTP ``PUT``, replacing the job's group) in a worker thread — network I/O, off the event
loop and off the hot path. Each push is bounded by ``timeout`` seconds (the socket
timeout, plus one second of grace for the thread). A push that fails — gateway down,
slow, or answering 4xx/5xx — is logged (rate limited) and counted in
``lexigram_monitor_push_failures_total``; it is never raised. Pushes never overlap; a
final push happens on :meth:`Pusher.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._ratelimit import RateLimitedLogger
from .._selfmetrics import PUSH_FAILURES, count_failure

__all__ = ["DEFAULT_PUSH_TIMEOUT", "PushRejectedError", "Pusher"]

#: Upper bound of one push, in seconds (also capped by the push interval).
DEFAULT_PUSH_TIMEOUT = 10.0
_GRACE = 1.0

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.pushgateway"))

Sleep = Callable[[float], Awaitable[Any]]


class PushRejectedError(OSError):
    """The Pushgateway answered with an HTTP error status (``code``)."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"Pushgateway answered {code}: {detail}")
        self.code = code


def _handler(
    url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]], data: bytes
) -> Callable[[], None]:
    """HTTP handler for ``push_to_gateway`` that always closes the response.

    prometheus_client's default handler leaves error responses open (a socket leak per
    failed push); this one reads and closes every response and turns an error status
    into :class:`PushRejectedError` carrying the gateway's explanation.
    """

    def handle() -> None:
        request = urllib.request.Request(url, data=data, method=method)
        for name, value in headers:
            request.add_header(name, value)
        opener = urllib.request.build_opener()
        try:
            with opener.open(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read(500).decode("utf-8", "replace").strip()
            raise PushRejectedError(exc.code, detail or str(exc.reason)) from None

    return handle


def _reason(exc: BaseException) -> str:
    """Short label value for the failure counter."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return f"http_{code // 100}xx"
    if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        return "timeout"
    return "unreachable" if isinstance(exc, OSError) else "error"


class Pusher:
    """Pushes *registry* to the Pushgateway at *url* under job *job*.

    *timeout* defaults to ``min(DEFAULT_PUSH_TIMEOUT, interval)``. *sleep* is injectable
    so tests drive the loop without waiting.
    """

    def __init__(
        self,
        url: str,
        job: str,
        registry: Any,
        *,
        interval: float,
        timeout: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url = url
        self.job = job
        self.registry = registry
        self.interval = interval
        self.timeout = min(DEFAULT_PUSH_TIMEOUT, interval) if timeout is None else timeout
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.pushes = 0
        self.failures = 0
        self.last_error: BaseException | None = None

    def _push(self) -> None:
        from prometheus_client import push_to_gateway

        push_to_gateway(
            self.url, job=self.job, registry=self.registry, timeout=self.timeout, handler=_handler
        )

    async def push_once(self) -> bool:
        """Push now; True on success. Failures are logged and counted, never raised."""
        async with self._lock:
            try:
                await asyncio.wait_for(asyncio.to_thread(self._push), self.timeout + _GRACE)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                self.last_error = exc
                _log.warning(
                    "push",
                    "push to the Pushgateway %s (job %r) failed: %s",
                    self.url,
                    self.job,
                    exc,
                )
                count_failure(PUSH_FAILURES, _reason(exc))
                return False
            self.pushes += 1
            self.last_error = None
            return True

    def start(self) -> None:
        """Start the periodic push task in the running loop; idempotent."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="lexigram-pushgateway"
            )

    async def _run(self) -> None:
        while True:
            await self._sleep(self.interval)
            await self.push_once()

    async def stop(self, *, final_push: bool = True) -> None:
        """Cancel the periodic task, then push one last time (unless *final_push* is False)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if final_push:
            await self.push_once()
