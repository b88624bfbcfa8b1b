"""A requests session whose calls each have ONE deadline, for the OTLP/HTTP exporters.

OpenTelemetry's HTTP exporters send through ``requests`` with ``timeout=<seconds left of
the export's deadline>``; requests applies that per socket read, so a collector
trickling a byte a second would hold an export (and the exporter's thread) forever.
:func:`deadline_session` returns a session whose adapter turns the ``timeout`` of every
request into one deadline for the whole call — connect, send, answer and body — armed
on the connection's socket (``_deadline``): at the deadline the socket is shut down and
the request fails with ``requests.exceptions.ReadTimeout`` (``timed out after Ns``),
which the exporter reports as a failed export. Pooled connections are reused as usual.

The exporters only say ``FAILURE``; :func:`last_failure` tells why the calling thread's
last request through the session failed (``DeadlineExceededError``, the connection error, or
``HttpStatusError`` for a non-2xx answer), so the failure can be logged with its reason.

Requires ``requests`` and ``urllib3`` (dependencies of the OTLP/HTTP exporter).
"""

from __future__ import annotations

import threading
from typing import Any

from ..._deadline import (
    DeadlineExceededError,
    DeadlineScope,
    HttpStatusError,
    deadline_scope,
    watch_socket,
)

__all__ = ["deadline_session", "last_failure"]


def last_failure(session: Any) -> BaseException | None:
    """Why the calling thread's last request through *session* failed (None: it did not)."""
    adapter = getattr(session, "adapters", {}).get("http://")
    outcome = getattr(adapter, "outcome", None)
    failure: BaseException | None = getattr(outcome, "failure", None)
    return failure


def _total(timeout: Any) -> float | None:
    """One number of seconds from a requests timeout (a number, a pair, or None)."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        parts = [float(t) for t in timeout if t is not None]
        return sum(parts) if parts else None
    return float(timeout)


def deadline_session() -> Any:
    """A ``requests.Session`` bounding every call by its ``timeout`` as a whole."""
    import requests
    from requests import PreparedRequest, Response
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class ArmedHTTPConnection(HTTPConnection):
        """Arms its socket in the current deadline scope when it connects or is reused."""

        def connect(self) -> None:
            super().connect()
            watch_socket(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:
            watch_socket(self.sock)
            super().request(*args, **kwargs)

    class ArmedHTTPSConnection(HTTPSConnection):
        """TLS twin of :class:`ArmedHTTPConnection`."""

        def connect(self) -> None:
            super().connect()
            watch_socket(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:
            watch_socket(self.sock)
            super().request(*args, **kwargs)

    class ArmedPool(HTTPConnectionPool):
        ConnectionCls = ArmedHTTPConnection

    class ArmedTLSPool(HTTPSConnectionPool):
        ConnectionCls = ArmedHTTPSConnection

    class DeadlineAdapter(HTTPAdapter):
        """Sends each request, and reads its body, within one deadline."""

        def __init__(self) -> None:
            super().__init__()
            self.outcome = threading.local()

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": ArmedPool, "https": ArmedTLSPool}

        def send(
            self,
            request: PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> Response:
            self.outcome.failure = None
            kwargs = {"verify": verify, "cert": cert, "proxies": proxies}
            try:
                response = self._send(request, stream, timeout, **kwargs)
            except Exception as exc:
                self.outcome.failure = exc
                raise
            if not 200 <= response.status_code < 400:
                detail = "" if stream else response.text[:200].strip()
                self.outcome.failure = HttpStatusError(response.status_code, detail)
            return response

        def _send(
            self, request: PreparedRequest, stream: bool, timeout: Any, **kwargs: Any
        ) -> Response:
            total = _total(timeout)
            if total is None or total <= 0:
                return super().send(request, stream=stream, timeout=timeout, **kwargs)
            scope: DeadlineScope | None = None
            try:
                with deadline_scope(total) as scope:
                    response = super().send(request, stream=stream, timeout=timeout, **kwargs)
                    if not stream:
                        _ = response.content  # the body is read inside the deadline too
                    return response
            except Exception:
                if scope is not None and scope.expired:
                    cut = requests.exceptions.ReadTimeout(
                        f"timed out after {total:.3g}s (whole-call deadline)", request=request
                    )
                    raise cut from DeadlineExceededError(total, "OTLP export")
                raise

    session = requests.Session()
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
