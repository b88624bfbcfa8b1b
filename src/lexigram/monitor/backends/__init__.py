"""Monitoring backends: no-op, in-memory, Prometheus and OpenTelemetry."""
