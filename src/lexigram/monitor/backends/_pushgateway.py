"""Periodic pushes to a Prometheus Pushgateway.

Every ``interval`` seconds the registry is pushed with ``prometheus_client.push_to_gateway``
(HTTP ``PUT``, replacing the job's group) on the pushes' own worker thread (never the
event loop's default executor, which the application's ``to_thread`` and DNS lookups
share). Each push has ONE deadline of ``timeout`` seconds for the whole call — connect,
send, answer — so a gateway that trickles a byte a second is cut off like one that
never answers (``_deadline``); the caller waits at most ``timeout`` plus one second of
grace. A push that fails — gateway down, slow, or answering 4xx/5xx — is logged (rate
limited) with its reason (``timeout after 2s``, ``connection refused``, ``HTTP 503:
...``) and counted in ``lexigram_monitor_push_failures_total{reason}`` (``timeout``,
``refused``, ``http_503``, ...); it is never raised. Pushes never overlap; a final push
happens on :meth:`Pusher.stop`, bounded the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._deadline import HttpStatusError, http_request
from .._failure import describe_failure
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import PUSH_FAILURES, count_failure
from .._worker import Worker

__all__ = ["DEFAULT_PUSH_TIMEOUT", "PushRejectedError", "Pusher"]

#: Upper bound of one push, in seconds (also capped by the push interval).
DEFAULT_PUSH_TIMEOUT = 10.0
_GRACE = 1.0

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.pushgateway"))

Sleep = Callable[[float], Awaitable[Any]]


class PushRejectedError(HttpStatusError):
    """The Pushgateway answered with an HTTP error status (``code``)."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code


#: The thread every push runs on (one push at a time in the whole process).
_WORKER = Worker("pushgateway", threads=1, max_pending=1)


def _handler(
    url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]], data: bytes
) -> Callable[[], None]:
    """HTTP handler for ``push_to_gateway``: one deadline of *timeout* for the whole call.

    Every response is read and closed; an error status becomes :class:`PushRejectedError`
    carrying the gateway's explanation.
    """

    def handle() -> None:
        answer = http_request(
            method,
            url,
            timeout=timeout or DEFAULT_PUSH_TIMEOUT,
            body=data,
            headers=headers,
            what="push",
        )
        if not answer.ok:
            raise PushRejectedError(answer.status, answer.snippet() or answer.reason)

    return handle


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
                await _WORKER.run(self._push, self.timeout + _GRACE)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                self.last_error = exc
                reason, text = describe_failure(exc, self.timeout)
                _log.warning(
                    f"push:{reason}",
                    "push to the Pushgateway %s (job %r) failed: %s",
                    self.url,
                    self.job,
                    text,
                )
                count_failure(PUSH_FAILURES, reason)
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
