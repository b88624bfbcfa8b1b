"""The official OTLP/HTTP exporter delivers our spans, ids intact, to an OTLP receiver.

The receiver is a small ``http.server`` on a loopback port (chosen by the OS) decoding
``ExportTraceServiceRequest`` with ``opentelemetry-proto``.
"""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from lexigram.monitor.backends.exporters import TracingExporterRegistry
from lexigram.monitor.config import OpenTelemetryConfig, SamplerType, TracingConfig
from lexigram.monitor.tracing import Span, SpanKind, Tracer

pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    url: str
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    def spans(self) -> list[tuple[Any, Any]]:
        """(resource, span) pairs of everything received."""
        out = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    out.extend((resource_spans.resource, s) for s in scope_spans.spans)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An OTLP/HTTP trace receiver on 127.0.0.1, stopped after the test."""
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            state.requests.append(request)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            state.paths.append(self.path)
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            state.received.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_spans_reach_the_collector_with_ids_intact(receiver: Receiver, compression: str) -> None:
    """ids, parent, kind, status, attributes, events and service.name arrive unchanged;
    the span continuing a remote parent says so in its flags (0x300), its local child
    does not (0x100)."""
    otel_cfg = OpenTelemetryConfig(
        endpoint=receiver.url, headers={"x-api-key": "secret"}, compression=compression
    )
    exporter = TracingExporterRegistry.with_defaults().create_exporter(otel_cfg)
    tracer = Tracer(
        "checkout",
        exporter,
        config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON, export_timeout=10),
    )
    remote = tracer.extract_context(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    with tracer.start_span("POST /pay", context=remote, kind=SpanKind.SERVER) as parent:
        parent.set_attribute("http.method", "POST")
        parent.set_attribute("retries", [1, 2])
        started: list[Span] = []

        def charge() -> None:
            with tracer.start_span("charge", kind=SpanKind.CLIENT) as span:
                started.append(span)
                span.add_event("card declined", {"code": 51})
                raise ValueError("declined")

        with pytest.raises(ValueError, match="declined"):
            charge()
    child = started[0]
    assert tracer.shutdown(10)
    assert receiver.received.wait(10)
    assert tracer.exported_spans == 2
    assert tracer.dropped_spans == 0

    assert receiver.paths == ["/v1/traces"]
    assert receiver.headers[0]["x-api-key"] == "secret"
    spans = {s.name: (r, s) for r, s in receiver.spans()}
    resource, server_span = spans["POST /pay"]
    _, client_span = spans["charge"]
    service = {a.key: a.value.string_value for a in resource.attributes}["service.name"]
    assert service == "checkout"

    assert server_span.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert server_span.parent_span_id.hex() == "b7ad6b7169203331"
    assert server_span.span_id.hex() == parent.context.span_id
    assert client_span.trace_id.hex() == parent.context.trace_id
    assert client_span.parent_span_id.hex() == parent.context.span_id
    assert client_span.span_id.hex() == child.context.span_id

    assert server_span.kind == 2  # SPAN_KIND_SERVER in the protocol enum
    assert client_span.kind == 3  # SPAN_KIND_CLIENT
    attrs = {a.key: a.value for a in server_span.attributes}
    assert attrs["http.method"].string_value == "POST"
    assert [v.int_value for v in attrs["retries"].array_value.values] == [1, 2]
    names = [e.name for e in client_span.events]
    assert names == ["card declined", "exception"]
    event_attrs = {a.key: a.value for a in client_span.events[0].attributes}
    assert event_attrs["code"].int_value == 51
    assert client_span.status.code == 2  # STATUS_CODE_ERROR
    assert "declined" in client_span.status.message
    assert client_span.end_time_unix_nano >= client_span.start_time_unix_nano > 0
    # span flags: 0x100 "has is_remote", 0x200 "parent is remote" (as the SDK sends them)
    assert server_span.flags & 0x300 == 0x300
    assert client_span.flags & 0x300 == 0x100
