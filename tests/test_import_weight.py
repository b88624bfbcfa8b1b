"""Importing the core stays light: no pydantic, YAML or optional extra, and few modules.

``metrics``, ``tracing`` and ``health`` take their defaults from ``lexigram.monitor.defaults``
and name the pydantic config models only for type checkers (or import them inside the
constructor that builds a default), so an application that records metrics or spans
never pays for the configuration layer at import. Each import runs in a fresh
interpreter: this process has imported everything already.
"""

from __future__ import annotations

import pytest

from tests._support import modules_added_by

#: Top-level packages no core import may load: the configuration stack and the extras.
HEAVY = ("pydantic", "pydantic_core", "pydantic_settings", "yaml", "prometheus_client",
         "opentelemetry", "psutil", "uvicorn", "httpx", "starlette", "structlog")  # fmt: skip

#: Most modules (standard library included) each import may add to a fresh interpreter.
#: Measured on CPython 3.11: the facade 32, metrics 131, tracing 135, health 124 (the
#: stdlib's asyncio, threading and logging are most of it; with pydantic, metrics loaded
#: 289). The ceilings are about 15 % above.
CEILINGS = {
    "lexigram.monitor": 37,
    "lexigram.monitor.metrics": 151,
    "lexigram.monitor.tracing": 155,
    "lexigram.monitor.health": 143,
}


@pytest.mark.parametrize("module", sorted(CEILINGS))
def test_import_loads_no_heavy_dependency(module: str) -> None:
    """Importing the module loads neither pydantic, pydantic-settings, YAML nor an extra."""
    added = modules_added_by(f"import {module}")
    heavy = sorted({m.split(".")[0] for m in added} & set(HEAVY))
    assert heavy == [], f"import {module} loads {heavy}"


@pytest.mark.parametrize(("module", "ceiling"), sorted(CEILINGS.items()))
def test_import_stays_under_its_module_ceiling(module: str, ceiling: int) -> None:
    """Importing the module adds at most its ceiling of modules to a fresh interpreter."""
    added = modules_added_by(f"import {module}")
    ours = [m for m in added if m.startswith("lexigram")]
    assert len(added) <= ceiling, (
        f"import {module} loads {len(added)} modules, over its ceiling of {ceiling}; "
        f"ours: {ours}; others: {[m for m in added if m not in ours]}"
    )


def test_core_names_resolve_without_the_configuration_layer() -> None:
    """Recording a metric and starting a span through the core packages keeps pydantic
    out until a config model is needed."""
    code = (
        "from lexigram.monitor.metrics import Counter\n"
        "from lexigram.monitor.tracing import SpanContext\n"
        "Counter('requests_total', 'Requests.').increment()\n"
        "SpanContext('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331')\n"
    )
    added = modules_added_by(code)
    assert not {m.split(".")[0] for m in added} & set(HEAVY)
