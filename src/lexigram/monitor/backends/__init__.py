"""Monitoring backends: no-op, in-memory, Prometheus and OpenTelemetry."""

from .factory import create_backend

__all__ = ["create_backend"]
