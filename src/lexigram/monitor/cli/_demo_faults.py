"""The demo's fault switch: make a share of the shop's requests fail with a 500.

``GET /-/faults`` returns ``{"share": <0..1>}``; ``POST /-/faults?share=0.5`` sets it
(0 turns faults off; anything outside [0, 1] is a 400). While the share is above 0,
each request to a shop route fails with that probability, answering 500 ``{"error":
"injected fault"}`` from inside the route, so the request metrics count it under the
route's template like any real failure. Probes and ``/metrics`` never fail.
"""

from __future__ import annotations

import functools
import math
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["FAULTS_PATH", "FaultSwitch"]

FAULTS_PATH = "/-/faults"

Endpoint = Callable[[Any], Awaitable[Any]]


class FaultSwitch:
    """The share of shop requests that fail (0 to 1), settable at run time; thread safe."""

    def __init__(self, share: float = 0.0, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = rng if rng is not None else random.Random()
        self._share = 0.0
        self.set(share)

    @property
    def share(self) -> float:
        """The current share of failing requests."""
        return self._share

    def set(self, share: float) -> None:
        """Set the share; ``ValueError`` unless it is a number in [0, 1]."""
        if (
            isinstance(share, bool)
            or not isinstance(share, int | float)
            or not (math.isfinite(share) and 0.0 <= share <= 1.0)
        ):
            raise ValueError(f"fault share {share!r} is invalid: it must be a number in [0, 1]")
        with self._lock:
            self._share = float(share)

    def fires(self) -> bool:
        """True for the requests that should fail now."""
        share = self._share
        if share <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < share

    def wrap(self, endpoint: Endpoint) -> Endpoint:
        """*endpoint* failing with a 500 when :meth:`fires`."""
        from starlette.responses import JSONResponse

        @functools.wraps(endpoint)
        async def faulty(request: Any) -> Any:
            if self.fires():
                return JSONResponse({"error": "injected fault"}, status_code=500)
            return await endpoint(request)

        return faulty

    async def endpoint(self, request: Any) -> Any:
        """``GET``/``POST`` :data:`FAULTS_PATH` (see the module docstring)."""
        from starlette.responses import JSONResponse

        if request.method == "POST":
            raw = request.query_params.get("share")
            try:
                self.set(float(raw))
            except (TypeError, ValueError):
                return JSONResponse(
                    {"error": f"share {raw!r} must be a number in [0, 1], e.g. ?share=0.5"},
                    status_code=400,
                )
        return JSONResponse({"share": self.share})
