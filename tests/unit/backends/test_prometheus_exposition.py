"""The one exposition path: text 0.0.4, OpenMetrics, exemplars, gzip, fallback, failures."""

from __future__ import annotations

import gzip
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.utils import floatToGoString

from lexigram.monitor.backends.exporters import _exposition
from lexigram.monitor.backends.exporters._text import (
    escape_help,
    escape_label_value,
    format_bound,
    render_text,
)
from lexigram.monitor.backends.exporters.prometheus import (
    TEXT_CONTENT_TYPE,
    get_registry,
    render,
    render_async,
    set_default_metrics,
)
from lexigram.monitor.metrics import Counter, MetricsCollector, set_exemplar_source

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
UNICODE = st.characters(codec="utf-8")  # no lone surrogates: they are not UTF-8


def families(body: bytes, *, openmetrics: bool = False) -> dict[str, Any]:
    parse = parse_openmetrics if openmetrics else parse_text
    return {f.name: f for f in parse(body.decode())}


def samples(body: bytes, name: str, *, openmetrics: bool = False) -> list[Any]:
    return [s for f in families(body, openmetrics=openmetrics).values() for s in f.samples
            if s.name == name]  # fmt: skip


def populate(collector: MetricsCollector) -> None:
    collector.create_counter("jobs", "Jobs done.").increment(3, {"queue": "high"})
    collector.create_gauge("temperature_celsius", "Temperature.").set(21.5)
    histogram = collector.create_histogram("latency_seconds", "Latency.", buckets=[0.1, 1.0])
    histogram.observe(0.05, {"route": "/a"})
    histogram.observe(0.5, {"route": "/a"})
    collector.create_summary("payload_bytes", "Payload size.").observe(100.0)


# -- text format ---------------------------------------------------------------------------


def test_text_exposition_holds_every_instrument_kind(isolated_metrics: MetricsCollector) -> None:
    """Counters gain ``_total``; histograms expose buckets, sum and count; summaries quantiles."""
    populate(isolated_metrics)

    body, headers = render()

    assert headers == {"Content-Type": TEXT_CONTENT_TYPE}
    text = body.decode()
    assert "# TYPE jobs_total counter\n" in text
    assert 'jobs_total{queue="high"} 3\n' in text
    assert "temperature_celsius 21.5\n" in text
    assert 'latency_seconds_bucket{route="/a",le="0.1"} 1\n' in text
    assert 'latency_seconds_bucket{route="/a",le="1.0"} 2\n' in text
    assert 'latency_seconds_bucket{route="/a",le="+Inf"} 2\n' in text
    assert 'latency_seconds_count{route="/a"} 2\n' in text
    assert 'payload_bytes{quantile="0.5"}' in text
    parsed = families(body)
    assert parsed["jobs"].type == "counter"
    assert parsed["latency_seconds"].type == "histogram"
    assert parsed["payload_bytes"].type == "summary"


def test_counter_already_named_total_is_not_suffixed_twice(
    isolated_metrics: MetricsCollector,
) -> None:
    """A counter named ``x_total`` is exposed as ``x_total``, as prometheus_client does."""
    isolated_metrics.create_counter("requests_total", "Requests.").increment()

    body, _ = render()

    assert "requests_total 1\n" in body.decode()
    assert "requests_total_total" not in body.decode()


def test_label_values_with_quotes_newlines_and_backslashes_round_trip(
    isolated_metrics: MetricsCollector,
) -> None:
    """Escaped label values and HELP text parse back to the original strings."""
    nasty = 'say "hi"\nC:\\path\\'
    counter = isolated_metrics.create_counter("events", 'Help with "quotes",\nnewline \\ slash')
    counter.increment(1, {"value": nasty})

    body, _ = render()

    (sample,) = samples(body, "events_total")
    assert sample.labels == {"value": nasty}
    assert families(body)["events"].documentation == 'Help with "quotes",\nnewline \\ slash'


def test_huge_label_value_is_cut_to_the_cap_in_both_formats(
    isolated_metrics: MetricsCollector,
) -> None:
    """A 1 MB label value is stored and exposed cut to 4,096 characters with a marker;
    both formats stay valid and show the same value, and the cut is counted."""
    huge = "x" * 1_000_000 + '"\n'
    isolated_metrics.create_gauge("big", "Big label.").set(1, {"blob": huge})

    for accept in ("", OPENMETRICS):
        body, _ = render(accept=accept)
        (sample,) = samples(body, "big", openmetrics=bool(accept))
        assert sample.labels["blob"] == "x" * 4095 + "…"
        (line,) = [line for line in body.split(b"\n") if line.startswith(b"big{")]
        assert len(line) < 4_200
    cut = isolated_metrics.get_metric("lexigram_monitor_labels_truncated_total")
    assert cut is not None
    assert cut.get_count({"metric": "big"}) == 1  # type: ignore[attr-defined]


def test_lone_surrogate_in_label_value_becomes_a_replacement_character(
    isolated_metrics: MetricsCollector,
) -> None:
    """A label value that is not valid UTF-8 is stored with U+FFFD, so both formats are
    written as such: OpenMetrics no longer falls back to the text format."""
    isolated_metrics.create_gauge("odd", "Odd \udcff label.").set(1, {"v": "a\ud800b"})

    text, _ = render()
    om, headers = render(accept=OPENMETRICS)

    assert samples(text, "odd")[0].labels == {"v": "a\ufffdb"}
    assert samples(om, "odd", openmetrics=True)[0].labels == {"v": "a\ufffdb"}
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert families(om, openmetrics=True)["odd"].documentation == "Odd \ufffd label."
    assert isolated_metrics.get_metric("lexigram_monitor_render_failures_total") is None


@settings(max_examples=60, deadline=None)
@given(value=st.text(UNICODE, max_size=40), help_text=st.text(UNICODE, max_size=40).map(str.strip))
def test_any_label_value_and_help_round_trip_through_both_formats(
    value: str, help_text: str
) -> None:
    """Whatever the label value and HELP text, both formats parse back to them exactly.

    (HELP is stripped first: prometheus_client's parsers drop surrounding whitespace.)
    """
    collector = MetricsCollector()
    collector.create_counter("c", help_text).increment(2, {"k": value})

    text, _ = render(collector)
    om, _ = render(collector, accept=OPENMETRICS)

    (plain,) = samples(text, "c_total")
    (open_sample,) = samples(om, "c_total", openmetrics=True)
    assert plain.labels == open_sample.labels == {"k": value}
    assert families(text)["c"].documentation == help_text
    assert families(om, openmetrics=True)["c"].documentation == help_text


OBSERVATION = st.floats(allow_nan=False, allow_infinity=True, width=32)


@settings(max_examples=60, deadline=None)
@given(
    bounds=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5, unique=True),
    values=st.lists(OBSERVATION, min_size=1, max_size=8),
)
def test_any_observations_give_a_valid_exposition_in_both_formats(
    bounds: list[float], values: list[float]
) -> None:
    """Negative, infinite or cancelling observations never make either format invalid.

    OpenMetrics forbids a negative/NaN ``_sum`` and a ``_sum`` beside negative buckets, so
    such histograms are written there with buckets only; the text format keeps everything.
    """
    collector = MetricsCollector()
    histogram = collector.create_histogram("h", "H.", buckets=sorted(bounds))
    summary = collector.create_summary("s", "S.")
    for value in values:
        histogram.observe(value, {"k": "v"})
        summary.observe(value, {"k": "v"})

    text, _ = render(collector)
    om, _ = render(collector, accept=OPENMETRICS)

    parsed = families(om, openmetrics=True)  # the strict parser raises on invalid input
    assert set(parsed) == {"h", "s"}
    (count,) = samples(text, "h_count")
    assert count.value == len(values)
    inf_bucket = next(
        b for b in samples(om, "h_bucket", openmetrics=True) if b.labels["le"] == "+Inf"
    )
    assert inf_bucket.value == len(values)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_bounds_are_formatted_like_prometheus_client(bound: float) -> None:
    """``le``/``quantile`` values use the Go float format, so both paths share series."""
    assert format_bound(bound) == floatToGoString(bound)  # type: ignore[no-untyped-call]


def test_escape_helpers_follow_the_text_format() -> None:
    """Label values escape backslash, quote and newline; HELP only backslash and newline."""
    assert escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape_help('a\\b"c\nd') == 'a\\\\b"c\\nd'
    assert escape_label_value("plain") == "plain"


# -- OpenMetrics and exemplars -------------------------------------------------------------


def test_openmetrics_is_negotiated_and_ends_with_eof(isolated_metrics: MetricsCollector) -> None:
    """An OpenMetrics Accept header gets OpenMetrics 1.0 from prometheus_client."""
    populate(isolated_metrics)

    body, headers = render(accept=OPENMETRICS)

    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith(b"# EOF\n")
    parsed = families(body, openmetrics=True)
    assert {"jobs", "temperature_celsius", "latency_seconds", "payload_bytes"} <= set(parsed)


def test_exemplars_appear_in_openmetrics_only(isolated_metrics: MetricsCollector) -> None:
    """Counters and histogram buckets carry trace/span ids in OpenMetrics, never in text."""
    set_exemplar_source(lambda: (TRACE_ID, SPAN_ID))
    isolated_metrics.create_counter("orders", "Orders.").increment(2)
    histogram = isolated_metrics.create_histogram("work_seconds", "Work.", buckets=[0.1, 1.0])
    histogram.observe(0.5)

    om, _ = render(accept=OPENMETRICS)
    text, _ = render()

    (order,) = samples(om, "orders_total", openmetrics=True)
    assert order.exemplar.labels == {"trace_id": TRACE_ID, "span_id": SPAN_ID}
    assert order.exemplar.value == 2.0
    buckets = samples(om, "work_seconds_bucket", openmetrics=True)
    bucket = next(s for s in buckets if s.labels["le"] == "1.0")
    assert bucket.exemplar.labels["trace_id"] == TRACE_ID
    assert bucket.exemplar.value == 0.5
    assert TRACE_ID not in text.decode()


# -- gzip, fallback, custom collectors -----------------------------------------------------


def test_gzip_when_accepted() -> None:
    """``Accept-Encoding: gzip`` gzips the body and says so; q=0 refuses it."""
    collector = MetricsCollector()  # no process metrics: two renders are byte-identical
    populate(collector)
    plain, _ = render(collector)

    zipped, headers = render(collector, accept_encoding="deflate, gzip;q=0.8")
    refused, refused_headers = render(collector, accept_encoding="gzip;q=0")

    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped) == plain
    assert "Content-Encoding" not in refused_headers
    assert refused == plain


def test_without_prometheus_client_the_builtin_renderer_serves_text(
    isolated_metrics: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With prometheus_client missing, even an OpenMetrics request gets valid text 0.0.4."""
    populate(isolated_metrics)
    isolated_metrics.create_gauge("quoted", "Help\nline").set(1, {"v": 'a"b\\c\nd'})
    for module in [m for m in sys.modules if m.startswith("prometheus_client")]:
        monkeypatch.setitem(sys.modules, module, None)

    body, headers = render(accept=OPENMETRICS, accept_encoding="gzip")

    monkeypatch.undo()
    assert headers == {"Content-Type": TEXT_CONTENT_TYPE, "Content-Encoding": "gzip"}
    text = gzip.decompress(body)
    assert b"# EOF" not in text
    assert b"process_" not in text  # the default collectors need prometheus_client
    assert samples(text, "quoted")[0].labels == {"v": 'a"b\\c\nd'}
    assert samples(text, "jobs_total")[0].value == 3


def test_another_collector_renders_only_its_own_instruments(
    isolated_metrics: MetricsCollector,
) -> None:
    """``render(collector)`` shows that collector, not the process registry."""
    isolated_metrics.create_counter("process_wide", "In the default collector.").increment()
    own = MetricsCollector()
    own.create_gauge("own_gauge", "Mine.").set(7)

    for accept in ("", OPENMETRICS):
        body, _ = render(own, accept=accept)
        names = set(families(body, openmetrics=bool(accept)))
        assert names == {"own_gauge"}


def test_process_registry_is_one_object_with_default_collectors(
    isolated_metrics: MetricsCollector,
) -> None:
    """``get_registry()`` is process-wide; default metrics can be switched off and on."""
    isolated_metrics.create_counter("mine", "Mine.").increment()
    assert get_registry() is get_registry()

    with_defaults, _ = render()
    set_default_metrics(False)
    set_default_metrics(False)
    without, _ = render()
    set_default_metrics(True)
    set_default_metrics(True)
    again, _ = render()

    assert "python_gc_objects_collected" in families(with_defaults)
    assert set(families(without)) == {"mine"}
    assert set(families(again)) == set(families(with_defaults))
    om, _ = render(accept=OPENMETRICS)
    assert set(families(om, openmetrics=True)) == set(families(again))


# -- failures ------------------------------------------------------------------------------


def render_failures(collector: MetricsCollector) -> dict[str, float]:
    metric = collector.get_metric("lexigram_monitor_render_failures_total")
    if metric is None:
        return {}
    return {s.label_values[0]: s.value for s in metric.collect()}  # type: ignore[attr-defined]


def test_clashing_names_keep_the_first_metric_and_count_the_other(
    isolated_metrics: MetricsCollector,
) -> None:
    """Counter ``x`` and gauge ``x_total`` would repeat a series: the second is left out."""
    isolated_metrics.create_counter("hits", "Hits.").increment()
    isolated_metrics.create_gauge("hits_total", "Clashes.").set(5)
    isolated_metrics.create_gauge("process_cpu_seconds", "Clashes with the process collector.")

    for accept in ("", OPENMETRICS):
        body, _ = render(accept=accept)
        parsed = families(body, openmetrics=bool(accept))
        assert parsed["hits"].type == "counter"
        assert [s.value for s in samples(body, "hits_total", openmetrics=bool(accept))] == [1]
        assert parsed["process_cpu_seconds"].type == "counter"
    assert render_failures(isolated_metrics)["collision"] == 4


class _BrokenCounter(Counter):
    def collect(self) -> Any:
        raise RuntimeError("broken instrument")


def test_an_instrument_that_fails_to_collect_is_left_out(
    isolated_metrics: MetricsCollector,
) -> None:
    """A raising ``collect()`` costs only that metric; the exposition stays valid."""
    isolated_metrics.register_metric(_BrokenCounter("broken", "Broken."))
    isolated_metrics.create_gauge("fine", "Fine.").set(1)

    for accept in ("", OPENMETRICS):
        body, _ = render(accept=accept)
        assert set(families(body, openmetrics=bool(accept))) >= {"fine"}
        assert "broken" not in families(body, openmetrics=bool(accept))
    assert render_failures(isolated_metrics)["collect_error"] == 2


class _ExemplarOnGauge:
    """A foreign collector whose family prometheus_client refuses to encode as OpenMetrics."""

    def collect(self) -> Any:
        from prometheus_client.metrics_core import Metric
        from prometheus_client.samples import Exemplar, Sample

        family = Metric("foreign_gauge", "Foreign.", "gauge")
        family.samples.append(Sample("foreign_gauge", {}, 1.0, None, Exemplar({"a": "b"}, 1.0)))
        yield family


def test_encoder_failure_falls_back_to_builtin_text(isolated_metrics: MetricsCollector) -> None:
    """If prometheus_client cannot encode, /metrics still answers with valid text."""
    isolated_metrics.create_gauge("ours", "Ours.").set(2)
    foreign = _ExemplarOnGauge()
    get_registry().register(foreign)
    try:
        body, headers = render(accept=OPENMETRICS)
    finally:
        get_registry().unregister(foreign)

    assert headers["Content-Type"] == TEXT_CONTENT_TYPE
    assert samples(body, "ours")[0].value == 2
    assert render_failures(isolated_metrics)["encoder_error"] == 1


def test_render_text_reports_skipped_instruments_to_the_handler() -> None:
    """The renderer names each skipped instrument and why."""
    collector = MetricsCollector()
    collector.create_gauge("taken", "Reserved elsewhere.").set(1)
    collector.register_metric(_BrokenCounter("boom", "Broken."))
    reported: list[tuple[str, str]] = []

    chunks, series = render_text(
        collector.instruments(),
        reserved=frozenset({"taken"}),
        on_error=lambda inst, why: reported.append((inst.name, str(why))),
    )

    assert chunks == []
    assert series == 0
    assert reported == [("taken", "collision"), ("boom", "broken instrument")]


# -- async offload -------------------------------------------------------------------------


async def test_render_async_offloads_only_large_expositions(
    isolated_metrics: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the series threshold rendering runs in a worker thread, below it inline."""
    counter = isolated_metrics.create_counter("items", "Items.")
    for i in range(5):
        counter.increment(1, {"i": str(i)})
    threads: list[int] = []
    real_render = _exposition.render

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real_render(*args, **kwargs)

    monkeypatch.setattr(_exposition, "render", spy)
    monkeypatch.setattr(_exposition, "OFFLOAD_THRESHOLD", 5)
    small, _ = await render_async()
    counter.increment(1, {"i": "5"})
    large, _ = await render_async(accept_encoding="gzip")

    assert threads[0] == threading.get_ident()
    assert threads[1] != threading.get_ident()
    assert len(samples(small, "items_total")) == 5
    assert len(samples(gzip.decompress(large), "items_total")) == 6


@pytest.mark.parametrize(
    "accept",
    [
        OPENMETRICS,
        "application/openmetrics-text",
        "application/openmetrics-text; version=1.0.0; escaping=underscores",
        "application/openmetrics-text; version=1.0.0; escaping=values",
    ],
)
def test_openmetrics_keeps_colons_in_sample_names(
    isolated_metrics: MetricsCollector, accept: str
) -> None:
    """A legacy name may hold ':' (recording-rule style). prometheus_client's encoder
    rewrote it in sample names only, so family ``a:b`` lost its samples to ``a_b_total``;
    every sample now stays in its family, as in the text format."""
    isolated_metrics.create_counter("job:requests", "R.").increment(2, {"k": "v"})
    isolated_metrics.create_histogram("job:latency", "L.", buckets=[1.0]).observe(0.5)

    body, headers = render(accept=accept)

    assert headers["Content-Type"].startswith("application/openmetrics-text")
    parsed = families(body, openmetrics=True)
    assert [s.name for s in parsed["job:requests"].samples] == ["job:requests_total"]
    assert {s.name for s in parsed["job:latency"].samples} == {
        "job:latency_bucket",
        "job:latency_count",
        "job:latency_sum",
    }
    assert "job_requests_total" not in body.decode()
