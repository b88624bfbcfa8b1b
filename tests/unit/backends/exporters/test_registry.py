"""Exporter registries: priority order, lookup by config type, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from lexigram.monitor.backends.exporters import (
    ConsoleMetricsExporterHandler,
    ConsoleTracingExporterHandler,
    MetricsExporterRegistry,
    OTLPMetricsExporterHandler,
    OTLPTracingExporterHandler,
    TracingExporterRegistry,
)
from lexigram.monitor.config import OpenTelemetryConfig
from lexigram.monitor.exceptions import BackendNotAvailableError
from lexigram.monitor.tracing import ConsoleSpanExporter


class Handler:
    def __init__(self, kind: str, result: object) -> None:
        self.kind = kind
        self.result = result

    def can_handle(self, exporter_type: str) -> bool:
        return exporter_type == self.kind

    def create_exporter(self, exp_config: Any) -> object:
        return self.result


def test_new_registry_is_empty_and_refuses_every_type() -> None:
    """__init__ registers nothing, so any type is refused with a message saying so."""
    registry = TracingExporterRegistry()
    assert registry.handlers == ()
    with pytest.raises(BackendNotAvailableError, match="none registered"):
        registry.create_exporter(OpenTelemetryConfig(type="console"))


@pytest.mark.parametrize(
    "registry", [TracingExporterRegistry.with_defaults(), MetricsExporterRegistry.with_defaults()]
)
def test_an_unknown_type_is_an_error_naming_it(registry: Any) -> None:
    """An unknown type raises BackendNotAvailableError naming the type, the signal, the
    handlers asked and the fix; it never returns None."""
    with pytest.raises(BackendNotAvailableError) as caught:
        registry.create_exporter(OpenTelemetryConfig(type=" Zipkin "))
    message = str(caught.value)
    assert f"no {registry.signal} exporter handler accepts type 'zipkin'" in message
    assert "ConsoleTracingExporterHandler" in message or "ConsoleMetricsExporterHandler" in message
    assert "register(handler)" in message


def test_registered_handlers_take_priority() -> None:
    """register inserts at the front: the newest handler for a type wins."""
    registry = TracingExporterRegistry.with_defaults()
    mine = object()
    registry.register(Handler("console", mine))
    assert registry.create_exporter(OpenTelemetryConfig(type="console")) is mine
    registry.register(Handler("zipkin", mine))
    assert registry.create_exporter(OpenTelemetryConfig(type="zipkin")) is mine


def test_type_is_matched_case_insensitively() -> None:
    """' Console ' selects the console handler."""
    registry = TracingExporterRegistry.with_defaults()
    exporter = registry.create_exporter(OpenTelemetryConfig(type=" Console "))
    assert isinstance(exporter, ConsoleSpanExporter)


def test_defaults_contain_console_and_otlp() -> None:
    """with_defaults knows both built-in handlers for each signal."""
    tracing = {type(h) for h in TracingExporterRegistry.with_defaults().handlers}
    metrics = {type(h) for h in MetricsExporterRegistry.with_defaults().handlers}
    assert tracing == {ConsoleTracingExporterHandler, OTLPTracingExporterHandler}
    assert metrics == {ConsoleMetricsExporterHandler, OTLPMetricsExporterHandler}


def test_config_without_type_is_a_clear_error() -> None:
    """A config object lacking 'type' raises ValueError with the fix."""
    with pytest.raises(ValueError, match="type"):
        MetricsExporterRegistry.with_defaults().create_exporter(object())


def test_registering_a_non_handler_is_refused() -> None:
    """Objects without can_handle/create_exporter are rejected."""
    with pytest.raises(TypeError, match="can_handle"):
        TracingExporterRegistry().register(object())  # type: ignore[arg-type]


def test_handlers_answer_only_their_type() -> None:
    """Console handlers handle 'console', OTLP handlers 'otlp'."""
    assert ConsoleTracingExporterHandler().can_handle("console")
    assert not ConsoleTracingExporterHandler().can_handle("otlp")
    assert OTLPTracingExporterHandler().can_handle("otlp")
    assert not OTLPMetricsExporterHandler().can_handle("console")
    assert ConsoleMetricsExporterHandler().can_handle("console")


def test_console_metrics_handler_builds_the_otel_console_exporter() -> None:
    """The console metrics handler returns OpenTelemetry's ConsoleMetricExporter."""
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

    exporter = ConsoleMetricsExporterHandler().create_exporter(None)
    assert isinstance(exporter, ConsoleMetricExporter)
