"""A local OTLP/HTTP receiver for integration tests: ``/v1/traces`` and ``/v1/metrics``.

It listens on a loopback port chosen by the OS, decodes the protobuf requests with
``opentelemetry-proto`` (gzip or not) and keeps them with their headers. ``mode`` makes
it misbehave like a real collector can: ``"error"`` answers 500, ``"slow"`` holds every
request for ``hold`` seconds before answering (a request still held at
:meth:`OTLPReceiver.close` is dropped unanswered).
"""

from __future__ import annotations

import gzip
import http.server
import threading
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

Mode = Literal["ok", "error", "slow"]

_SIGNALS: dict[str, tuple[type[Any], type[Any]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


@dataclass(frozen=True)
class Received:
    """One decoded export request."""

    path: str
    headers: dict[str, str]
    message: Any


class OTLPReceiver:
    """OTLP/HTTP receiver on 127.0.0.1; :attr:`url` is its base URL."""

    def __init__(self, mode: Mode = "ok", hold: float = 30.0) -> None:
        self.mode = mode
        self.hold = hold
        self.attempts = 0
        self._received: list[Received] = []
        self._cond = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        with self._cond:
            self.attempts += 1
            self._cond.notify_all()
        if self.mode == "slow" and self._release.wait(self.hold):
            return  # closed while holding: the client gave up long ago
        signal = _SIGNALS.get(request.path)
        if self.mode == "error" or signal is None:
            request.send_response(500 if signal is not None else 404)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        message = signal[0]()
        message.ParseFromString(body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._cond:
            self._received.append(Received(request.path, headers, message))
            self._cond.notify_all()
        payload = signal[1]().SerializeToString()
        request.send_response(200)
        request.send_header("Content-Type", "application/x-protobuf")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def received(self, path: str | None = None) -> list[Received]:
        """Decoded requests so far, all or those of one signal path."""
        with self._cond:
            return [r for r in self._received if path is None or r.path == path]

    def wait_for_attempts(self, count: int, timeout: float) -> bool:
        """Wait until *count* requests arrived (decoded or not); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.attempts >= count, timeout)

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) of every span received."""
        found: list[tuple[dict[str, Any], Any]] = []
        for item in self.received("/v1/traces"):
            for resource_spans in item.message.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found

    def metrics(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, metric) of every metric received, in arrival order."""
        found: list[tuple[dict[str, Any], Any]] = []
        for item in self.received("/v1/metrics"):
            for resource_metrics in item.message.resource_metrics:
                resource = attributes(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    found.extend((resource, metric) for metric in scope_metrics.metrics)
        return found

    def close(self) -> None:
        """Release held requests and stop the server."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list -> plain dict (string, int, double or bool values)."""
    out: dict[str, Any] = {}
    for item in items:
        value = item.value
        kind = value.WhichOneof("value")
        out[item.key] = getattr(value, kind) if kind else None
    return out
