"""A FastAPI service with request metrics, traces, health probes and an instrumented function.

Run it from the repository root::

    .venv/bin/python -m uvicorn examples.fastapi_app:app --port 8000

and try::

    curl 'localhost:8000/quotes/widget?quantity=12'   # a quote (bulk discount from 10)
    curl localhost:8000/quotes/gizmo                   # 404: unknown SKU
    curl localhost:8000/metrics                        # Prometheus exposition
    curl localhost:8000/health/ready                   # readiness: the price list is fresh

What ``instrument(api, ...)`` wires, outermost first (into the FastAPI app's own
middleware stack, so ``api`` stays a FastAPI app):

- ``HealthCheckProvider`` serves ``/health``, ``/health/live``, ``/health/ready`` and
  ``/health/startup`` from a ``HealthChecker`` whose readiness check looks at the
  price list (stale prices: 207 degraded; none: 503). Probes are neither counted nor
  traced.
- ``OTelMiddleware`` opens a SERVER span per request (continuing an incoming W3C
  ``traceparent``) and records ``http_server_request_duration``.
- ``PrometheusMiddleware`` counts and times requests by route template
  (``/quotes/{sku}``, never the raw path) and serves ``GET /metrics``.
- ``@traced`` and ``@metered`` add a span and the ``pricing_quote_duration`` histogram
  around the pricing function. They use the process-default tracer and collector, so
  the app installs its tracer as the default during its lifespan and records into the
  default collector: all spans of a request share one trace, and ``/metrics`` shows
  every instrument.

Ended spans are printed as JSON lines on stdout (``ConsoleSpanExporter``); send them to
an OpenTelemetry collector instead with the ``opentelemetry`` backend (see
``examples/starlette_app.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query

from lexigram.monitor import (
    ConsoleSpanExporter,
    HealthCheckCategory,
    HealthChecker,
    HealthCheckResult,
    HealthStatus,
    MetricsCollector,
    Tracer,
    TracingConfig,
    get_default_collector,
    instrument,
    metered,
    set_default_tracer,
    traced,
)

SERVICE_NAME = "quotes-api"
MAX_PRICE_AGE_SECONDS = 300.0
"""Older prices make the readiness probe report DEGRADED."""
BULK_QUANTITY = 10
BULK_DISCOUNT = Decimal("0.95")
EXAMPLE_PRICES = {"widget": Decimal("2.50"), "sprocket": Decimal("0.40")}


class PriceList:
    """Unit prices by SKU, kept in memory (a real service would refresh them from a feed).

    *clock* returns monotonic seconds; tests pass a fake one.
    """

    def __init__(
        self, prices: Mapping[str, Decimal], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._prices = dict(prices)
        self._refreshed_at = clock()

    def refresh(self, prices: Mapping[str, Decimal]) -> None:
        """Replace every price; the list is fresh again."""
        self._prices = dict(prices)
        self._refreshed_at = self._clock()

    def price(self, sku: str) -> Decimal | None:
        """Unit price of *sku*, None when it is not sold."""
        return self._prices.get(sku)

    async def health(self) -> HealthCheckResult:
        """Readiness: HEALTHY when prices are loaded and fresh, DEGRADED when stale,
        UNHEALTHY when there are none."""
        age = self._clock() - self._refreshed_at
        details = {"skus": len(self._prices), "age_seconds": round(age, 1)}
        if not self._prices:
            status, message = HealthStatus.UNHEALTHY, "no prices loaded"
        elif age > MAX_PRICE_AGE_SECONDS:
            status = HealthStatus.DEGRADED
            message = f"prices are {age:.0f}s old (limit {MAX_PRICE_AGE_SECONDS:.0f}s)"
        else:
            status, message = HealthStatus.HEALTHY, "fresh"
        return HealthCheckResult(
            component="price_list", status=status, message=message, details=details
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced order line."""

    sku: str
    quantity: int
    unit_price: Decimal
    total: Decimal


@traced("pricing.quote")
@metered("pricing.quote.duration")
async def price_quote(prices: PriceList, sku: str, quantity: int) -> Quote | None:
    """Price *quantity* units of *sku* (None for an unknown SKU); bulk orders get 5 % off."""
    unit = prices.price(sku)
    if unit is None:
        return None
    await asyncio.sleep(0)  # where a real service would ask a tax or discount service
    total = unit * quantity
    if quantity >= BULK_QUANTITY:
        total = (total * BULK_DISCOUNT).quantize(Decimal("0.01"))
    return Quote(sku, quantity, unit, total)


def create_app(
    *,
    prices: PriceList | None = None,
    tracer: Tracer | None = None,
    collector: MetricsCollector | None = None,
) -> FastAPI:
    """The instrumented app. Defaults: the example prices, a tracer printing spans, the
    process-default collector (where ``@metered`` records)."""
    price_list = prices if prices is not None else PriceList(EXAMPLE_PRICES)
    spans = (
        tracer
        if tracer is not None
        else Tracer(
            SERVICE_NAME, ConsoleSpanExporter(), config=TracingConfig(service_name=SERVICE_NAME)
        )
    )
    metrics = collector if collector is not None else get_default_collector()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        previous = set_default_tracer(spans)  # @traced spans join the request's trace
        try:
            yield
        finally:
            spans.shutdown()  # export what is still queued
            set_default_tracer(previous)

    api = FastAPI(title="quotes", lifespan=lifespan)

    @api.get("/quotes/{sku}")
    async def get_quote(
        sku: str, quantity: Annotated[int, Query(ge=1, le=10_000)] = 1
    ) -> dict[str, str | int]:
        quote = await price_quote(price_list, sku, quantity)
        if quote is None:
            raise HTTPException(status_code=404, detail=f"unknown SKU {sku!r}")
        return {
            "sku": quote.sku,
            "quantity": quote.quantity,
            "unit_price": str(quote.unit_price),
            "total": str(quote.total),
        }

    checker = HealthChecker(collector=metrics)
    checker.add(
        "price_list", price_list.health, timeout=1.0, category=HealthCheckCategory.READINESS
    )
    # probes, then the request span, then the request metrics (timed inside the span, so
    # their buckets carry exemplars of the trace)
    return instrument(api, health=checker, tracer=spans, collector=metrics)


app = create_app()
