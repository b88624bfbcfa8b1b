"""Guarded JSON POSTs, shared by the webhook and Alertmanager dispatchers.

:class:`JsonPoster` sends; :class:`PostingDispatcher` is the common shell of the two
dispatchers (delivery counters, ``aclose``, ``async with``, the UTC timestamp).

Every send has ONE deadline of ``timeout`` seconds for the whole call (connect, send,
answer): a receiver that trickles its answer a byte a second is cut off like one that
never answers. Sends run on the alerts' own worker threads (at most
:data:`ALERT_THREADS` at once, :data:`ALERT_PENDING` waiting; past that a send fails as
``busy``), never on the event loop's default executor, which the application's own
``to_thread`` and DNS lookups share. A send never raises: a network error, a timeout or
a non-2xx answer is logged (rate limited, logger ``lexigram.monitor.alerts``) with its
reason (``timeout after 5s``, ``connection refused``, ``HTTP 503: ...``), counted in
:attr:`JsonPoster.failed` and in ``lexigram_monitor_alert_failures_total{dispatcher,
reason}`` (``timeout``, ``refused``, ``http_503``, ...).

httpx (the ``alerts`` extra) is imported when a poster is built, never at package import;
a poster given an httpx *transport* (tests: ``httpx.MockTransport``) sends through it
instead, under the same deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .._clock import SYSTEM_CLOCK, Clock
from .._deadline import HttpStatusError, http_request
from .._failure import describe_failure
from .._optional import require
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import ALERT_FAILURES, count_failure
from .._worker import Worker

if TYPE_CHECKING:
    import httpx

__all__ = ["JsonPoster", "PostingDispatcher", "json_safe", "validate_http_url"]

_MAX_DEPTH = 8
_BODY_SNIPPET = 200
#: Alert sends running at once in the process, and waiting beyond those.
ALERT_THREADS = 2
ALERT_PENDING = 32
_GRACE = 1.0
_WORKER = Worker("alerts", threads=ALERT_THREADS, max_pending=ALERT_PENDING)


def validate_http_url(url: object, what: str) -> str:
    """Return *url* when it is an absolute http(s) URL, else raise ``ValueError``."""
    from urllib.parse import urlsplit

    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return url
    raise ValueError(
        f"{what} URL {url!r} is invalid: it must be an absolute http:// or https:// URL "
        "with a host, e.g. 'http://alertmanager:9093'"
    )


def redact_url(url: str) -> str:
    """``scheme://host:port/path`` of *url*, without credentials or query (safe to log)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def json_safe(value: Any, _depth: int = 0) -> Any:
    """*value* converted to plain JSON: non-finite floats and unknown objects become
    strings, mappings get string keys, sequences become lists; nesting deeper than 8
    levels is stringified."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if _depth >= _MAX_DEPTH:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, _depth + 1) for v in value]
    return str(value)


class JsonPoster:
    """POSTs JSON documents to one URL, each send within one deadline of *timeout* s.

    Counters :attr:`sent` / :attr:`failed` grow by one per call. Memory: nothing is
    queued beyond the alerts worker's bound (the caller awaits the send); with an httpx
    *transport*, one client with httpx's bounded connection pool.
    """

    def __init__(
        self,
        url: str,
        *,
        what: str,
        dispatcher: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        client_lib = require("alerts", "httpx")
        if not (isinstance(timeout, int | float) and 0 < timeout < math.inf):
            raise ValueError(
                f"{what} timeout {timeout!r} is invalid: it must be a finite number of "
                "seconds > 0, e.g. 5.0"
            )
        self._url = url
        self._what = what
        self._dispatcher = dispatcher
        self._timeout = float(timeout)
        self._safe_url = redact_url(url)
        self._headers = [*dict(headers or {}).items(), ("Content-Type", "application/json")]
        self._client: httpx.AsyncClient | None = None
        if transport is not None:
            self._client = client_lib.AsyncClient(
                headers=dict(headers or {}),
                timeout=client_lib.Timeout(self._timeout),
                transport=transport,
                trust_env=False,
            )
        self._log = RateLimitedLogger(logging.getLogger("lexigram.monitor.alerts"), clock=clock)
        self.sent = 0
        self.failed = 0

    @property
    def url(self) -> str:
        return self._url

    async def post(self, document: Any) -> bool:
        """POST *document* as JSON; True on a 2xx answer. Never raises."""
        try:
            body = json.dumps(json_safe(document), allow_nan=False).encode()
            if self._client is not None:
                await self._post_through(self._client, body)
            else:
                await _WORKER.run(lambda: self._post_blocking(body), self._timeout + _GRACE)
        except Exception as exc:
            kind, reason = describe_failure(exc, self._timeout)
        else:
            self.sent += 1
            return True
        self.failed += 1
        count_failure(ALERT_FAILURES, kind, dispatcher=self._dispatcher)
        self._log.warning(
            f"{self._what}:{self._safe_url}",
            "%s delivery to %s failed (%d failures so far): %s",
            self._what,
            self._safe_url,
            self.failed,
            reason,
        )
        return False

    def _post_blocking(self, body: bytes) -> None:
        answer = http_request(
            "POST", self._url, timeout=self._timeout, body=body, headers=self._headers,
            what=self._what,
        )  # fmt: skip
        if not answer.ok:
            raise HttpStatusError(answer.status, answer.snippet(_BODY_SNIPPET))

    async def _post_through(self, client: httpx.AsyncClient, body: bytes) -> None:
        async with asyncio.timeout(self._timeout):
            response = await client.post(
                self._url, content=body, headers={"Content-Type": "application/json"}
            )
        if not 200 <= response.status_code < 300:
            raise HttpStatusError(response.status_code, response.text[:_BODY_SNIPPET].strip())

    async def aclose(self) -> None:
        """Close the HTTP client and its connections (with a transport)."""
        if self._client is not None:
            await self._client.aclose()


class PostingDispatcher:
    """Base of the dispatchers that POST every alert as JSON through one :class:`JsonPoster`.

    Subclasses validate their own arguments first, then call ``__init__`` (which imports
    httpx and checks *timeout*), and build their documents with :meth:`_now` for the time.
    """

    def __init__(
        self,
        url: str,
        *,
        what: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        self._poster = JsonPoster(
            url,
            what=what,
            dispatcher=type(self).__name__,
            timeout=timeout,
            headers=headers,
            transport=transport,
            clock=clock,
        )

    @property
    def url(self) -> str:
        """The URL alerts are posted to."""
        return self._poster.url

    @property
    def sent(self) -> int:
        """Alerts the receiver accepted (a 2xx answer)."""
        return self._poster.sent

    @property
    def failed(self) -> int:
        """Alerts that could not be delivered."""
        return self._poster.failed

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._poster.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _now(self) -> str:
        """The clock's current time as an ISO 8601 UTC timestamp."""
        return datetime.fromtimestamp(self._clock.time(), UTC).isoformat()
