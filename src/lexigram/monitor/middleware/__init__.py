"""ASGI middlewares and ``instrument(app)``, which composes them in the right order.

Names load lazily (PEP 562), so importing this package imports no optional dependency
until a middleware is used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "HealthCheckProvider": ".health",
    "HealthOptions": ".options",
    "MetricsOptions": ".options",
    "OTelMiddleware": ".otel",
    "PrometheusMiddleware": ".prometheus",
    "StatusPageOptions": ".options",
    "TracingOptions": ".options",
    "instrument": ".stack",
}

if TYPE_CHECKING:  # static types for the lazily loaded names
    from .health import HealthCheckProvider as HealthCheckProvider
    from .options import HealthOptions as HealthOptions
    from .options import MetricsOptions as MetricsOptions
    from .options import StatusPageOptions as StatusPageOptions
    from .options import TracingOptions as TracingOptions
    from .otel import OTelMiddleware as OTelMiddleware
    from .prometheus import PrometheusMiddleware as PrometheusMiddleware
    from .stack import instrument as instrument

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
