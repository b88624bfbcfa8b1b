"""Wrong-order detection for middleware stacks composed by hand.

The working order, outermost first, is: health probes (``HealthCheckProvider``), then
tracing (``OTelMiddleware``), then request metrics (``PrometheusMiddleware``), then the
app — what :func:`~lexigram.monitor.middleware.instrument` builds. Each middleware marks
the ASGI scope of a request it handles with a flag (:data:`PROMETHEUS_FLAG`,
:data:`OTEL_FLAG`); a middleware that finds the flag of one that belongs *inside* it
knows the stack is upside down:

- ``OTelMiddleware`` sees the metrics flag: ``PrometheusMiddleware`` is outside it, so it
  records each request after the request span ended and its exemplars are lost;
- ``HealthCheckProvider`` sees either flag: the probes are counted in
  ``http_requests_total`` or traced.

Each middleware looks once, at the first request it handles (the first is conclusive:
a middleware outside sets its flag on every request it passes on), and logs one WARNING
on the logger ``lexigram.monitor.middleware`` naming the fix. Afterwards the check costs
nothing (the middleware no longer runs it). Logging rather than ``warnings.warn``: the
mistake is found while serving, where server logs are read, and a warning turned into an
error by a filter must never fail the request.
"""

from __future__ import annotations

import logging

from ..protocols import Scope

__all__ = ["OTEL_FLAG", "PROMETHEUS_FLAG", "check_probes_outermost", "check_tracing_outside"]

#: Scope key set by ``PrometheusMiddleware`` on the requests it counts.
PROMETHEUS_FLAG = "lexigram.monitor.prometheus"
#: Scope key set by ``OTelMiddleware`` on the requests it traces.
OTEL_FLAG = "lexigram.monitor.otel"

_log = logging.getLogger("lexigram.monitor.middleware")

_FIX = (
    "the working order, outermost first, is HealthCheckProvider, OTelMiddleware, "
    "PrometheusMiddleware, your app; or let lexigram.monitor.instrument(app) compose them"
)


def check_tracing_outside(scope: Scope) -> bool:
    """For ``OTelMiddleware``'s first traced request: warn when ``PrometheusMiddleware``
    already counted it (it wraps the tracing); returns True when it did."""
    if PROMETHEUS_FLAG not in scope:
        return False
    _log.warning(
        "PrometheusMiddleware wraps OTelMiddleware, so each request is recorded after its "
        "span ended and the request metrics carry no exemplars; put PrometheusMiddleware "
        "inside OTelMiddleware (with FastAPI/Starlette add_middleware: add "
        "PrometheusMiddleware first, OTelMiddleware after it). %s.",
        _FIX,
        extra={"middleware_order": "prometheus_outside_otel"},
    )
    return True


def check_probes_outermost(scope: Scope) -> bool:
    """For ``HealthCheckProvider``'s first request: warn when a metrics or tracing
    middleware wraps it (its probes are counted or traced); returns True when one does."""
    outer = [
        name
        for flag, name in ((PROMETHEUS_FLAG, "PrometheusMiddleware"), (OTEL_FLAG, "OTelMiddleware"))
        if flag in scope
    ]
    if not outer:
        return False
    _log.warning(
        "%s wraps HealthCheckProvider, so health probes are %s like application "
        "requests; make HealthCheckProvider the outermost middleware (with FastAPI/Starlette "
        "add_middleware: add it last). %s.",
        " and ".join(outer),
        "counted and traced" if len(outer) == 2 else _effect(outer[0]),
        _FIX,
        extra={"middleware_order": "probes_inside"},
    )
    return True


def _effect(middleware: str) -> str:
    return "counted in http_requests_total" if middleware == "PrometheusMiddleware" else "traced"
