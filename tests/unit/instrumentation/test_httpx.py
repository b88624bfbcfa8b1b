"""Outgoing httpx calls: a CLIENT span, trace headers and a duration per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.instrumentation import (
    InstrumentedTransport,
    instrument_httpx,
    uninstrument_httpx,
)
from lexigram.monitor.instrumentation import httpx as httpx_module
from lexigram.monitor.metrics import Histogram, MetricsCollector
from lexigram.monitor.tracing import (
    InMemorySpanExporter,
    Span,
    SpanContext,
    SpanKind,
    SpanStatus,
    Tracer,
    TraceState,
)

DURATION = "http_client_request_duration"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[Tracer]:
    mine = Tracer("client", exporter, config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))
    yield mine
    mine.shutdown(5)


@pytest.fixture(autouse=True)
def _no_patch_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """instrument_httpx() is undone after each test, before monkeypatch restores what a
    test replaced underneath it (so httpx gets its real transports back)."""
    yield
    uninstrument_httpx()


class Server:
    """An in-process HTTP server for MockTransport: records the requests it gets."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/fail":
            raise httpx.ConnectError("connection refused", request=request)
        status = int(request.url.params.get("status", "200"))
        return httpx.Response(status, text="ok", extensions={"http_version": b"HTTP/1.1"})

    def header(self, name: str, index: int = -1) -> str | None:
        return self.requests[index].headers.get(name)


@pytest.fixture
def server() -> Server:
    return Server()


def _spans(tracer: Tracer, exporter: InMemorySpanExporter) -> list[Span]:
    tracer.flush()
    return exporter.get_finished_spans()


def _client_spans(tracer: Tracer, exporter: InMemorySpanExporter) -> list[Span]:
    return [s for s in _spans(tracer, exporter) if s.kind is SpanKind.CLIENT]


def _durations(collector: MetricsCollector) -> dict[tuple[str, ...], int]:
    histogram = collector.get_metric(DURATION)
    assert isinstance(histogram, Histogram)
    return {snap.label_values: snap.count for snap in histogram.collect()}


def test_sync_request_gets_a_client_span_with_semantic_convention_attributes(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server, collector: MetricsCollector
) -> None:
    """A CLIENT span named after the method, child of the current span, with url.full
    stripped of credentials, query and fragment."""
    transport = InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    with httpx.Client(transport=transport) as client, tracer.start_span("checkout") as parent:
        client.get("http://user:secret@pay.test:8080/charge/7?card=4111&token=x#frag")
    (span,) = _client_spans(tracer, exporter)
    assert span.name == "GET"
    assert span.parent_span_id == parent.span_id
    assert span.trace_id == parent.trace_id
    assert span.attributes == {
        "http.request.method": "GET",
        "server.address": "pay.test",
        "server.port": 8080,
        "url.full": "http://pay.test:8080/charge/7",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert span.status is SpanStatus.UNSET


def test_traceparent_of_the_client_span_is_sent(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server
) -> None:
    """The server receives the CLIENT span's own traceparent (sampled, random id)."""
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    client.get(
        "http://api.test/", headers={"TraceParent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    )
    (span,) = _client_spans(tracer, exporter)
    assert span.parent_span_id is None  # a new trace: no current span
    assert server.requests[0].headers.get_list("traceparent") == [
        f"00-{span.trace_id}-{span.span_id}-03"
    ]


async def test_async_client_is_traced_the_same_way(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server, collector: MetricsCollector
) -> None:
    """The same transport class serves httpx.AsyncClient."""
    transport = InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    async with httpx.AsyncClient(transport=transport) as client:
        with tracer.start_span("job") as parent:
            await client.post("https://api.test/orders")
    (span,) = _client_spans(tracer, exporter)
    assert span.name == "POST"
    assert span.parent_span_id == parent.span_id
    assert span.attributes["server.port"] == 443
    assert server.header("traceparent") == f"00-{span.trace_id}-{span.span_id}-03"
    assert _durations(collector) == {("POST", "api.test", "443", "2xx", ""): 1}


def test_tracestate_and_the_random_flag_of_the_trace_go_out(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server
) -> None:
    """A continued trace sends its tracestate and keeps the incoming random flag; a
    stale tracestate header is replaced."""
    incoming = SpanContext(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        trace_flags=0x01,
        trace_state=TraceState([("vendor", "abc")]),
        is_remote=True,
    )
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    with tracer.start_span("server", context=incoming):
        client.get("http://api.test/", headers={"tracestate": "old=1"})
    assert server.header("tracestate") == "vendor=abc"
    assert server.header("traceparent", 0).endswith("-01")  # type: ignore[union-attr]
    with tracer.start_span("root"):
        client.get("http://api.test/", headers={"tracestate": "old=1"})
    assert server.header("tracestate") is None  # the new trace has none: stale one dropped


def test_unsampled_requests_propagate_but_record_no_span(
    server: Server, collector: MetricsCollector
) -> None:
    """With sampling off the flags go out unsampled, nothing is exported, and the
    duration is still observed."""
    exporter = InMemorySpanExporter()
    tracer = Tracer("c", exporter, config=TracingConfig(sampler_type=SamplerType.ALWAYS_OFF))
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    client.get("http://api.test/")
    assert server.header("traceparent").endswith("-02")  # type: ignore[union-attr]
    assert _spans(tracer, exporter) == []
    assert _durations(collector) == {("GET", "api.test", "80", "2xx", ""): 1}


@pytest.mark.parametrize(("status", "status_class"), [(404, "4xx"), (503, "5xx")])
def test_error_answers_set_error_type_to_the_status(
    status: int,
    status_class: str,
    tracer: Tracer,
    exporter: InMemorySpanExporter,
    server: Server,
    collector: MetricsCollector,
) -> None:
    """A client span for an answer >= 400 has status ERROR and error.type = the code."""
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    assert client.get(f"http://api.test/x?status={status}").status_code == status
    (span,) = _client_spans(tracer, exporter)
    assert span.status is SpanStatus.ERROR
    assert span.attributes["error.type"] == str(status)
    assert _durations(collector) == {("GET", "api.test", "80", status_class, ""): 1}


def test_exceptions_are_recorded_and_reraised(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server, collector: MetricsCollector
) -> None:
    """A transport error: error.type is the exception type, the exception is recorded,
    the duration is observed without status class, and the caller gets the error."""
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    with pytest.raises(httpx.ConnectError):
        client.get("http://api.test/fail")
    (span,) = _client_spans(tracer, exporter)
    assert span.attributes["error.type"] == "httpx.ConnectError"
    assert span.status is SpanStatus.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert "http.response.status_code" not in span.attributes
    assert _durations(collector) == {("GET", "api.test", "80", "", "httpx.ConnectError"): 1}


def test_non_standard_methods_are_other(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server, collector: MetricsCollector
) -> None:
    """A method outside the HTTP standard is _OTHER (span name HTTP), the original kept."""
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    client.request("PURGE", "http://cache.test/item")
    (span,) = _client_spans(tracer, exporter)
    assert span.name == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"
    assert _durations(collector) == {("_OTHER", "cache.test", "80", "2xx", ""): 1}


def test_duration_buckets_carry_exemplars_of_the_client_span(
    tracer: Tracer, exporter: InMemorySpanExporter, server: Server, collector: MetricsCollector
) -> None:
    """With the exemplar source installed, the observed bucket points at the CLIENT span."""
    from lexigram.monitor.backends._wiring import enable_exemplars

    enable_exemplars()
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    client.get("http://api.test/")
    (span,) = _client_spans(tracer, exporter)
    histogram = collector.get_metric(DURATION)
    assert isinstance(histogram, Histogram)
    exemplars = [e for snap in histogram.collect() for e in snap.exemplars if e is not None]
    assert [(e.trace_id, e.span_id) for e in exemplars] == [(span.trace_id, span.span_id)]


def test_the_process_defaults_are_read_per_request(server: Server) -> None:
    """Without tracer/collector, defaults installed after the client was built are used."""
    from lexigram.monitor.testing import capture_metrics, capture_spans

    client = httpx.Client(transport=InstrumentedTransport(httpx.MockTransport(server)))
    with capture_spans() as spans, capture_metrics() as metrics:
        client.get("http://api.test/")
        assert spans.names() == ["GET"]
        assert metrics.value(DURATION, {"http_request_method": "GET", "server_address": "api.test",
                                        "server_port": "80", "http_response_status_class": "2xx",
                                        "error_type": ""}) == 1  # fmt: skip


def test_instrument_httpx_patches_httpx_transports(
    monkeypatch: pytest.MonkeyPatch,
    tracer: Tracer,
    exporter: InMemorySpanExporter,
    server: Server,
) -> None:
    """instrument_httpx() traces clients using httpx's own transports; a client with an
    InstrumentedTransport around them is traced once; uninstrument_httpx() undoes it."""
    sent: list[httpx.Request] = []

    def network(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", network)
    instrument_httpx(tracer=tracer)
    instrument_httpx(tracer=tracer)  # idempotent
    assert httpx_module.httpx_instrumented()
    httpx.Client().get("http://plain.test/")
    httpx.Client(transport=InstrumentedTransport(httpx.HTTPTransport(), tracer=tracer)).get(
        "http://wrapped.test/"
    )
    spans = _client_spans(tracer, exporter)
    assert [s.attributes["server.address"] for s in spans] == ["plain.test", "wrapped.test"]
    assert all(r.headers.get("traceparent") for r in sent)
    uninstrument_httpx()
    uninstrument_httpx()  # idempotent
    assert httpx.HTTPTransport.handle_request is network
    httpx.Client().get("http://after.test/")
    assert len(_client_spans(tracer, exporter)) == 2
    assert sent[-1].headers.get("traceparent") is None


async def test_instrument_httpx_patches_the_async_transport(
    monkeypatch: pytest.MonkeyPatch, tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    """AsyncClient with its default transport is traced after instrument_httpx()."""

    async def network(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", network)
    instrument_httpx(tracer=tracer)
    async with httpx.AsyncClient() as client:
        await client.delete("http://async.test/x")
    (span,) = _client_spans(tracer, exporter)
    assert span.attributes["http.response.status_code"] == 204


def test_telemetry_failures_never_fail_the_request(
    tracer: Tracer, server: Server, collector: MetricsCollector
) -> None:
    """A collector that cannot record: the response still arrives; the failure counts."""

    class Broken(MetricsCollector):
        def create_histogram(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("storage gone")

    transport = InstrumentedTransport(
        httpx.MockTransport(server), tracer=tracer, collector=Broken()
    )
    assert httpx.Client(transport=transport).get("http://api.test/").text == "ok"
    failures = collector.get_metric("lexigram_monitor_httpx_failures_total")
    assert failures is not None
    assert failures.get_value({"reason": "RuntimeError"}) == 1  # type: ignore[attr-defined]


def test_label_sets_past_the_cache_are_still_recorded(
    monkeypatch: pytest.MonkeyPatch, tracer: Tracer, server: Server, collector: MetricsCollector
) -> None:
    """Past MAX_CACHED_LABEL_SETS, label sets are resolved per request, never dropped."""
    monkeypatch.setattr(httpx_module, "MAX_CACHED_LABEL_SETS", 2)
    client = httpx.Client(
        transport=InstrumentedTransport(httpx.MockTransport(server), tracer=tracer)
    )
    for host in ("a.test", "b.test", "c.test", "c.test"):
        client.get(f"http://{host}/")
    counts = _durations(collector)
    assert counts[("GET", "c.test", "80", "2xx", "")] == 2
    assert sum(counts.values()) == 4


async def test_wrong_transports_are_refused(tracer: Tracer) -> None:
    """Not a transport, or a sync transport used by an AsyncClient: TypeError naming it."""
    with pytest.raises(TypeError, match="not an httpx transport"):
        InstrumentedTransport("http://x")  # type: ignore[arg-type]
    transport = InstrumentedTransport(httpx.HTTPTransport(), tracer=tracer)
    request = httpx.Request("GET", "http://x.test/")
    with pytest.raises(TypeError, match="sync transport"):
        await transport.handle_async_request(request)


async def test_close_reaches_the_wrapped_transports() -> None:
    """close()/aclose() close what the transport wraps (its defaults once created)."""
    closed: list[str] = []

    class Sync(httpx.BaseTransport):
        def close(self) -> None:
            closed.append("sync")

    class Async(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append("async")

    InstrumentedTransport(Sync()).close()
    await InstrumentedTransport(Async()).aclose()
    assert closed == ["sync", "async"]
