"""ASGI middlewares and ``instrument(app)``, which composes them in the right order.

Names load lazily (PEP 562), so importing this package imports no optional dependency
until a middleware is used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "HealthCheckProvider": ".health",
    "HealthOptions": ".stack",
    "MetricsOptions": ".stack",
    "OTelMiddleware": ".otel",
    "PrometheusMiddleware": ".prometheus",
    "TracingOptions": ".stack",
    "instrument": ".stack",
}

if TYPE_CHECKING:  # static types for the lazily loaded names
    from .health import HealthCheckProvider as HealthCheckProvider
    from .otel import OTelMiddleware as OTelMiddleware
    from .prometheus import PrometheusMiddleware as PrometheusMiddleware
    from .stack import HealthOptions as HealthOptions
    from .stack import MetricsOptions as MetricsOptions
    from .stack import TracingOptions as TracingOptions
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
