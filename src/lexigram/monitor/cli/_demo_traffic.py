"""Background traffic for the demo service: an httpx client hitting its routes.

The generator sends about ``rate`` requests per second (exponential gaps, so the load
looks like independent users) drawn from a weighted mix of the demo's routes, including
requests that fail (404, 500). At most ``max_in_flight`` requests run at once; a tick
that finds them all busy is skipped and counted. Memory: the client plus at most
``max_in_flight`` request tasks. Failures (connection refused while the server stops,
timeouts) are counted and logged at DEBUG, rate limited; they never stop the generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._ratelimit import RateLimitedLogger

__all__ = ["DEFAULT_MIX", "RequestSpec", "TrafficGenerator"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.cli.demo"))


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One kind of request in the mix; ``{id}`` in *path* becomes a random order id."""

    method: str
    path: str
    weight: float
    json: dict[str, Any] | None = None


DEFAULT_MIX: tuple[RequestSpec, ...] = (
    RequestSpec("GET", "/", 3),
    RequestSpec("GET", "/orders/{id}", 8),
    RequestSpec("GET", "/reports/slow", 1),
    RequestSpec("POST", "/checkout", 3, {"items": [{"sku": "book-42", "quantity": 1}]}),
    RequestSpec("GET", "/health/ready", 1),
    RequestSpec("GET", "/no-such-page", 0.5),
)
"""Index, order lookups (ids above 950 are unknown: 404), the slow report, checkouts
(some fail with 500), a readiness probe, and a path no route matches."""

ClientFactory = Callable[[], Any]
"""Returns an ``httpx.AsyncClient`` (or anything with ``request`` and ``aclose``)."""


class TrafficGenerator:
    """Sends a weighted mix of requests at about *rate* per second until stopped."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        rate: float = 4.0,
        mix: Sequence[RequestSpec] = DEFAULT_MIX,
        max_in_flight: int = 8,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"traffic rate {rate!r} must be > 0 requests per second")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight={max_in_flight!r} must be >= 1")
        if not mix or any(spec.weight <= 0 for spec in mix):
            raise ValueError("the request mix needs at least one entry, each with weight > 0")
        self._client_factory = client_factory
        self._rate = float(rate)
        self._mix = tuple(mix)
        self._weights = [spec.weight for spec in self._mix]
        self._max_in_flight = max_in_flight
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.sent = 0
        """Requests answered (any status)."""
        self.failed = 0
        """Requests that got no answer (connection error, timeout)."""
        self.skipped = 0
        """Ticks skipped because ``max_in_flight`` requests were running."""
        self.statuses: dict[int, int] = {}
        """Answers per status code (bounded by the number of distinct codes)."""

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._task is not None and not self._task.done()

    def next_request(self) -> tuple[str, str, dict[str, Any] | None]:
        """Draw the next (method, path, json body) from the mix."""
        spec = self._rng.choices(self._mix, weights=self._weights)[0]
        path = spec.path
        if "{id}" in path:
            path = path.replace("{id}", str(self._rng.randint(1, 1000)))
        return spec.method, path, spec.json

    def start(self) -> None:
        """Start sending in a background task of the running loop (idempotent)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="demo-traffic")

    async def stop(self) -> None:
        """Cancel the generator and every request in flight; wait until they are gone."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            client = self._client_factory()
        except Exception:
            self.failed += 1
            _log.warning("client", "demo traffic disabled: no HTTP client", exc_info=True)
            return
        try:
            while True:
                if len(self._in_flight) >= self._max_in_flight:
                    self.skipped += 1
                else:
                    request = asyncio.create_task(self._send(client, *self.next_request()))
                    self._in_flight.add(request)
                    request.add_done_callback(self._in_flight.discard)
                await self._sleep(self._rng.expovariate(self._rate))
        finally:
            pending = list(self._in_flight)
            for request in pending:
                request.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await client.aclose()

    async def _send(self, client: Any, method: str, path: str, body: dict[str, Any] | None) -> None:
        try:
            response = await client.request(method, path, json=body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failed += 1
            # DEBUG: while the server stops, refused connections are expected noise.
            _log.log(logging.DEBUG, "traffic", "demo request %s %s failed: %r", method, path, exc)
            return
        self.sent += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
