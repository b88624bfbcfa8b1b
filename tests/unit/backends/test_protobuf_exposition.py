"""The protobuf exposition: a delimited MetricFamily stream decoded with the protobuf
package into the same numbers the text format shows, native buckets beside the classic
ones, and the Accept negotiation."""

from __future__ import annotations

import gzip
import math
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from lexigram.monitor.backends.exporters._protobuf import encode_histogram, wants_protobuf
from lexigram.monitor.backends.exporters.prometheus import (
    PROTOBUF_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    render,
    set_default_metrics,
)
from lexigram.monitor.metrics import Histogram, MetricsCollector, set_exemplar_source
from tests.prometheus_proto import Histogram as HistogramMessage
from tests.prometheus_proto import decode_stream, native_buckets

#: The Accept header of Prometheus 2.42 started with --enable-feature=native-histograms.
PROMETHEUS_NATIVE = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
    "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
    "*/*;q=0.1"
)
#: The same Prometheus without the flag.
PROMETHEUS_CLASSIC = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
#: The Histogram message of the specification's worked example (section 3).
SPEC_VECTOR = (
    "0807116666666666665940280631000000000000f03738014a04081a10015201026204080f1001"
    "6204080e10036204080a10016204085a10016a06020001020000"
)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def _families(body: bytes) -> dict[str, Any]:
    return {family.name: family for family in decode_stream(body)}


def _labels(metric: Any) -> dict[str, str]:
    return {pair.name: pair.value for pair in metric.label}


def _populate(collector: MetricsCollector) -> Histogram:
    collector.create_counter("jobs", "Jobs done.").increment(3, {"queue": "high"})
    collector.create_gauge("temperature_celsius", "Temperature.").set(-21.5)
    classic = collector.create_histogram("latency_seconds", "Latency.", buckets=[0.1, 1.0])
    classic.observe(0.05, {"route": "/a"})
    classic.observe(0.5, {"route": "/a"})
    classic.observe(7.0, {"route": "/b"})
    summary = collector.create_summary("payload_bytes", "Payload size.")
    for value in (100.0, 200.0, 300.0):
        summary.observe(value)
    both = collector.create_histogram(
        "request_seconds", "Requests.", buckets=[0.25, 1.0], native=True
    )
    for value in (0.0, 0.5, 1, 1.1, 2, 100, -3):
        both.observe(value, {"route": "/x"})
    return both


def test_specification_test_vector_is_reproduced_byte_for_byte() -> None:
    """The worked example's Histogram message is the specification's 65 bytes, and the
    protobuf package decodes it to the example's numbers."""
    histogram = Histogram("nh_demo", native=True)
    for value in (0, 0.5, 1, 1.1, 2, 100, -3):
        histogram.observe(value)
    encoded = encode_histogram(histogram.collect()[0])
    assert encoded.hex() == SPEC_VECTOR
    message = HistogramMessage()
    message.ParseFromString(encoded)
    assert message.sample_count == 7
    assert message.sample_sum == pytest.approx(101.6)
    assert message.schema == 3
    assert message.zero_threshold == 2.0**-128
    assert message.zero_count == 1
    assert [(s.offset, s.length) for s in message.positive_span] == [
        (-8, 1),
        (7, 3),
        (5, 1),
        (45, 1),
    ]
    assert list(message.positive_delta) == [1, 0, -1, 1, 0, 0]
    assert [(s.offset, s.length) for s in message.negative_span] == [(13, 1)]
    assert list(message.negative_delta) == [1]


def test_every_metric_type_decodes_to_the_numbers_of_the_text_format(
    isolated_metrics: MetricsCollector,
) -> None:
    """Counters, gauges, summaries and classic histograms decoded from the protobuf
    stream carry the same names, help, labels and values as the text exposition of
    the same collector (cumulative bucket counts per upper bound included)."""
    _populate(isolated_metrics)
    proto_body, headers = render(isolated_metrics, accept=PROMETHEUS_NATIVE)
    text_body, _ = render(isolated_metrics, accept="text/plain;version=0.0.4")
    assert headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
    decoded = _families(proto_body)
    text = {f.name: f for f in parse_text(text_body.decode())}

    jobs = decoded["jobs_total"]
    assert (jobs.type, jobs.help) == (0, "Jobs done.")
    (metric,) = jobs.metric
    assert _labels(metric) == {"queue": "high"}
    assert metric.counter.value == text["jobs"].samples[0].value == 3

    (gauge,) = decoded["temperature_celsius"].metric
    assert decoded["temperature_celsius"].type == 1
    assert gauge.gauge.value == -21.5

    (summary,) = decoded["payload_bytes"].metric
    assert decoded["payload_bytes"].type == 2
    assert summary.summary.sample_count == 3
    assert summary.summary.sample_sum == 600.0
    text_quantiles = {
        s.labels["quantile"]: s.value
        for s in text["payload_bytes"].samples
        if s.name == "payload_bytes"
    }
    assert {f"{q.quantile:g}": q.value for q in summary.summary.quantile} == {
        k: v for k, v in text_quantiles.items()
    }

    latency = decoded["latency_seconds"]
    assert latency.type == 4
    for metric in latency.metric:
        route = _labels(metric)["route"]
        text_buckets = {
            float(s.labels["le"]): s.value
            for s in text["latency_seconds"].samples
            if s.name == "latency_seconds_bucket" and s.labels["route"] == route
        }
        decoded_buckets = {b.upper_bound: b.cumulative_count for b in metric.histogram.bucket}
        decoded_buckets[math.inf] = metric.histogram.sample_count
        assert decoded_buckets == text_buckets
        count = next(
            s.value
            for s in text["latency_seconds"].samples
            if s.name == "latency_seconds_count" and s.labels["route"] == route
        )
        assert metric.histogram.sample_count == count
        # a classic-only histogram carries no native field (2.42 stores it classic)
        assert metric.histogram.zero_threshold == 0
        assert not metric.histogram.positive_delta


def test_native_and_classic_buckets_travel_in_one_message(
    isolated_metrics: MetricsCollector,
) -> None:
    """A native histogram with classic buckets sends both in one Histogram message: the
    classic buckets equal the text format's, the native spans and deltas give back the
    series' native buckets, and the zero threshold is above 0."""
    both = _populate(isolated_metrics)
    proto_body, _ = render(isolated_metrics, accept=PROMETHEUS_NATIVE)
    text_body, _ = render(isolated_metrics, accept="text/plain;version=0.0.4")
    (metric,) = _families(proto_body)["request_seconds"].metric
    histogram = metric.histogram
    text_buckets = {
        float(s.labels["le"]): s.value
        for f in parse_text(text_body.decode())
        for s in f.samples
        if s.name == "request_seconds_bucket"
    }
    assert {b.upper_bound: b.cumulative_count for b in histogram.bucket} == {
        k: v for k, v in text_buckets.items() if k != math.inf
    }
    assert histogram.sample_count == text_buckets[math.inf] == 7
    native = both.get_native_buckets({"route": "/x"})
    assert histogram.schema == native.schema == 3
    assert histogram.zero_threshold == native.zero_threshold > 0
    assert histogram.zero_count == native.zero_count == 1
    decoded_positive = [(i, c) for i, c in native_buckets(histogram, "positive") if c]
    assert tuple(decoded_positive) == native.positive
    assert tuple(native_buckets(histogram, "negative")) == native.negative


def test_empty_native_series_still_sends_a_zero_threshold_above_zero(
    isolated_metrics: MetricsCollector,
) -> None:
    """A native series without observations (a bound handle) is sent with its zero
    threshold, so Prometheus 2.42 reads the family as native, not classic."""
    histogram = isolated_metrics.create_histogram("idle_seconds", "Idle.", native=True)
    histogram.bind({"route": "/never"})
    body, _ = render(isolated_metrics, accept=PROMETHEUS_NATIVE)
    (metric,) = _families(body)["idle_seconds"].metric
    assert metric.histogram.sample_count == 0
    assert metric.histogram.zero_threshold == 2.0**-128
    assert not metric.histogram.bucket


def test_exemplars_are_encoded_with_their_timestamps(isolated_metrics: MetricsCollector) -> None:
    """Counter, classic bucket and native exemplars decode to the trace and span ids,
    the value and the timestamp that were recorded."""
    set_exemplar_source(lambda: (TRACE, SPAN))
    isolated_metrics.create_counter("hits", "Hits.").increment(2)
    histogram = isolated_metrics.create_histogram("h_seconds", "H.", buckets=[1.0], native=True)
    histogram.observe(0.25)
    body, _ = render(isolated_metrics, accept=PROMETHEUS_NATIVE)
    decoded = _families(body)
    counter_exemplar = decoded["hits_total"].metric[0].counter.exemplar
    assert _labels(counter_exemplar) == {"trace_id": TRACE, "span_id": SPAN}
    assert counter_exemplar.value == 2.0
    snapshot = histogram.collect()[0]
    recorded = snapshot.exemplars[0]
    assert recorded is not None
    message = decoded["h_seconds"].metric[0].histogram
    bucket_exemplar = message.bucket[0].exemplar
    assert bucket_exemplar.value == 0.25
    stamp = bucket_exemplar.timestamp.seconds + bucket_exemplar.timestamp.nanos / 1e9
    assert stamp == pytest.approx(recorded.timestamp, abs=1e-6)
    (native_exemplar,) = message.exemplars
    assert _labels(native_exemplar)["trace_id"] == TRACE
    assert native_exemplar.value == 0.25


def test_text_and_openmetrics_keep_the_classic_view_of_native_histograms(
    isolated_metrics: MetricsCollector,
) -> None:
    """The text formats cannot carry native buckets: a native histogram shows its
    classic buckets there, or one +Inf bucket when it keeps none."""
    histogram = isolated_metrics.create_histogram("n_seconds", "N.", native=True)
    histogram.observe(0.5)
    histogram.observe(3.0)
    for accept in ("", PROMETHEUS_CLASSIC):
        body, headers = render(isolated_metrics, accept=accept)
        assert "protobuf" not in headers["Content-Type"]
        lines = [line for line in body.decode().splitlines() if line.startswith("n_seconds")]
        assert any(line.startswith('n_seconds_bucket{le="+Inf"} 2') for line in lines)
        assert not any('le="0.' in line for line in lines)


@pytest.mark.parametrize(
    ("accept", "protobuf"),
    [
        (PROMETHEUS_NATIVE, True),
        (PROMETHEUS_CLASSIC, False),
        ("", False),
        ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
         "encoding=delimited", True),
        # a version we do not speak: another message or another encoding
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamilyV2;"
         "encoding=delimited", False),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=text", False),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=compact-text", False),
        ("application/vnd.google.protobuf", False),
        # asked for, but less than the text format
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited;q=0.3,text/plain;version=0.0.4;q=0.5", False),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited;q=0", False),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited;q=bad", False),
    ],
)  # fmt: skip
def test_protobuf_is_served_only_when_the_accept_header_asks_for_it(
    isolated_metrics: MetricsCollector, accept: str, protobuf: bool
) -> None:
    """Protobuf only for the delimited MetricFamily format preferred by the scraper;
    every other request (another proto or encoding included) gets a text format."""
    isolated_metrics.create_counter("c", "C.").increment()
    assert wants_protobuf(accept) is protobuf
    body, headers = render(isolated_metrics, accept=accept)
    if protobuf:
        assert headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
        assert _families(body)["c_total"].metric[0].counter.value == 1
    else:
        assert headers["Content-Type"] != PROTOBUF_CONTENT_TYPE
        assert b"c_total 1" in body


def test_gzip_applies_to_the_protobuf_stream(isolated_metrics: MetricsCollector) -> None:
    """Accept-Encoding: gzip compresses the protobuf body like the text one."""
    isolated_metrics.create_gauge("g", "G.").set(4)
    body, headers = render(isolated_metrics, accept=PROMETHEUS_NATIVE, accept_encoding="gzip")
    assert headers["Content-Encoding"] == "gzip"
    assert _families(gzip.decompress(body))["g"].metric[0].gauge.value == 4


def test_process_registry_in_protobuf_holds_every_family_once(
    isolated_metrics: MetricsCollector,
) -> None:
    """The process exposition (prometheus_client's process, GC and platform collectors
    included) decodes completely, each family name once, with the same sample names
    and values as the text format for those collectors."""
    set_default_metrics(True)
    isolated_metrics.create_counter("jobs", "Jobs.").increment()
    body, headers = render(accept=PROMETHEUS_NATIVE)
    assert headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
    decoded = decode_stream(body)
    names = [family.name for family in decoded]
    assert len(names) == len(set(names))
    assert "jobs_total" in names
    assert "python_info" in names
    assert all(family.metric for family in decoded)
    text_body, _ = render(accept="text/plain;version=0.0.4")
    text = {
        s.labels["generation"]: s.value
        for f in parse_text(text_body.decode())
        for s in f.samples
        if s.name == "python_gc_collections_total"
    }
    by_name = {f.name: f for f in decoded}
    proto = {
        _labels(m)["generation"]: m.counter.value
        for m in by_name["python_gc_collections_total"].metric
    }
    assert proto.keys() == text.keys()
    for generation, value in proto.items():  # the GC may run between the two renders
        assert value <= text[generation] <= value + 50


def test_unrenderable_text_fallback_is_unaffected(isolated_metrics: MetricsCollector) -> None:
    """Without an Accept header the body is the text format 0.0.4."""
    isolated_metrics.create_counter("c", "C.").increment()
    _, headers = render(isolated_metrics)
    assert headers["Content-Type"] == TEXT_CONTENT_TYPE


def test_label_sets_remembered_between_renders_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Encoded label sets are reused by later renders (byte-identical output); past the
    byte budget the cache starts over instead of growing, and output stays the same."""
    from lexigram.monitor.backends.exporters import _protobuf

    collector = MetricsCollector()  # not the process registry: its GC counts move
    gauge = collector.create_gauge("g", "G.")
    for n in range(50):
        gauge.set(n, {"path": f"/items/{n}", "method": "GET"})
    first, _ = render(collector, accept=PROMETHEUS_NATIVE)
    assert render(collector, accept=PROMETHEUS_NATIVE)[0] == first
    monkeypatch.setattr(_protobuf, "LABEL_CACHE_BYTES", 2_000)
    _protobuf._BLOCKS.clear()
    _protobuf._CACHED[0] = 0
    assert render(collector, accept=PROMETHEUS_NATIVE)[0] == first
    assert _protobuf._CACHED[0] <= 2_000
    decoded = {_labels(m)["path"]: m.gauge.value for m in _families(first)["g"].metric}
    assert decoded == {f"/items/{n}": float(n) for n in range(50)}


def test_a_failing_process_collector_loses_only_its_own_families(
    isolated_metrics: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When prometheus_client's collectors cannot be encoded, the instruments are still
    served in protobuf, without the process families."""
    from lexigram.monitor.backends.exporters import _protobuf

    def broken(families: object) -> list[bytes]:
        raise RuntimeError("collector broke")

    monkeypatch.setattr(_protobuf, "encode_client_families", broken)
    isolated_metrics.create_counter("jobs", "Jobs.").increment()
    body, headers = render(accept=PROMETHEUS_NATIVE)
    assert headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
    names = {family.name for family in decode_stream(body)}
    assert "jobs_total" in names
    assert "python_info" not in names
