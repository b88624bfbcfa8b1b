"""MetricsCollector: get-or-create, type clashes, config, name-based API, default collector."""

from __future__ import annotations

import logging
import math

import pytest

from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.hooks import MetricRecordedHook, default_bus
from lexigram.monitor.metrics import (
    Counter,
    Gauge,
    Histogram,
    MetricsCollector,
    Summary,
    get_default_collector,
    set_default_collector,
)
from lexigram.monitor.protocols import MetricProtocol, MetricsCollectorProtocol


class PlainMetric:
    """A foreign metric implementing only MetricProtocol."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = "plain"
        self.values: list[float] = []

    def record(self, value: float, labels: dict[str, str] | None = None) -> None:
        self.values.append(value)


def test_collector_satisfies_the_protocol() -> None:
    """MetricsCollector is a MetricsCollectorProtocol."""
    assert isinstance(MetricsCollector(), MetricsCollectorProtocol)


@pytest.mark.parametrize("cls", [Counter, Gauge, Histogram, Summary])
def test_instruments_satisfy_the_metric_protocol(
    cls: type[Counter | Gauge | Histogram | Summary],
) -> None:
    """Every instrument is a MetricProtocol (name, description, record)."""
    assert isinstance(cls("x", "help"), MetricProtocol)


def test_create_returns_the_existing_instrument_of_the_same_type() -> None:
    """create_* with a taken name returns the same object; its data is kept."""
    collector = MetricsCollector()
    first = collector.create_counter("jobs_total", "Jobs")
    first.increment(3)
    again = collector.create_counter("jobs_total", "ignored")
    assert again is first
    assert again.get_count() == 3
    assert collector.create_histogram("h") is collector.create_histogram("h")
    assert collector.create_summary("s") is collector.create_summary("s")
    assert collector.create_gauge("g") is collector.create_gauge("g")


@pytest.mark.parametrize("other", ["create_gauge", "create_histogram", "create_summary"])
def test_type_clash_raises_and_keeps_data(other: str) -> None:
    """create_* of another type for a taken name raises naming both types; data survives."""
    collector = MetricsCollector()
    counter = collector.create_counter("jobs_total")
    counter.increment(2)
    with pytest.raises(InvalidMetricError) as info:
        getattr(collector, other)("jobs_total")
    assert "'jobs_total'" in str(info.value)
    assert "counter" in str(info.value)
    assert collector.get_metric("jobs_total") is counter
    assert counter.get_count() == 2


def test_create_uses_strict_names() -> None:
    """create_* refuse invalid names (no dotted conversion there)."""
    with pytest.raises(InvalidMetricError, match="must match"):
        MetricsCollector().create_counter("orders.total")


def test_config_prefix_default_labels_and_limits_are_honoured() -> None:
    """prefix, default_labels, histogram_buckets, max_series and max_observations apply."""
    config = MetricsConfig(
        prefix="shop",
        default_labels={"env": "prod"},
        histogram_buckets=[1.0, 5.0],
        max_series_per_metric=2,
        max_observations=3,
    )
    collector = MetricsCollector(config)
    histogram = collector.create_histogram("latency_seconds", labels={"team": "a"})
    assert histogram.name == "shop_latency_seconds"
    assert histogram.label_names == ("env", "team")
    assert histogram.buckets == (1.0, 5.0, math.inf)
    assert histogram.max_series == 2
    for i in range(5):
        histogram.observe(i)
    assert histogram.get_observations() == [2, 3, 4]
    assert collector.create_summary("s").max_series == 2
    assert collector.create_gauge("g").label_names == ("env",)
    assert collector.create_counter("shop_c").name == "shop_c"
    assert collector.get_metric("latency_seconds") is histogram
    assert collector.get_metric("shop_latency_seconds") is histogram


def test_explicit_buckets_win_over_config() -> None:
    """Buckets passed to create_histogram are used instead of the config's."""
    collector = MetricsCollector(MetricsConfig(histogram_buckets=[1.0]))
    assert collector.create_histogram("h", buckets=[2, 3]).buckets == (2.0, 3.0, math.inf)


def test_name_based_api_creates_on_first_use_and_converts_dotted_names() -> None:
    """increment/gauge/histogram create instruments named by the facade rule."""
    collector = MetricsCollector()
    collector.increment("orders.placed")
    collector.increment("orders.placed", 2, {"region": "eu"})
    collector.gauge("queue.depth", 7)
    collector.histogram("orders.duration", 0.3, {"route": "/pay"})
    counter = collector.get_metric("orders_placed")
    assert isinstance(counter, Counter)
    assert counter.get_count() == 1
    assert counter.get_count(labels={"region": "eu"}) == 2
    gauge = collector.get_metric("queue.depth")
    assert isinstance(gauge, Gauge)
    assert gauge.get_value() == 7
    histogram = collector.get_metric("orders_duration")
    assert isinstance(histogram, Histogram)
    assert histogram.get_count(labels={"route": "/pay"}) == 1


def test_name_based_api_raises_on_type_clash_and_bad_values() -> None:
    """Recording a counter into a gauge's name, or a negative increment, raises."""
    collector = MetricsCollector()
    collector.gauge("depth", 1)
    with pytest.raises(InvalidMetricError, match="gauge"):
        collector.increment("depth")
    collector.increment("jobs")
    with pytest.raises(InvalidMetricError, match=">= 0"):
        collector.increment("jobs", -1)
    with pytest.raises(InvalidMetricError, match="invalid"):
        collector.histogram("9 lives", 1)
    counter = collector.get_metric("jobs")
    assert isinstance(counter, Counter)
    assert counter.get_count() == 1


def test_disabled_config_makes_the_name_based_api_a_no_op() -> None:
    """enabled=False: increment/gauge/histogram record nothing and create nothing."""
    collector = MetricsCollector(MetricsConfig(enabled=False))
    collector.increment("jobs")
    collector.gauge("depth", 1)
    collector.histogram("latency", 1)
    assert collector.get_all_metrics() == {}


def test_register_metric_rules() -> None:
    """Same object: no-op; same type: existing kept with a warning; other type: raises."""
    collector = MetricsCollector()
    counter = Counter("jobs_total")
    collector.register_metric(counter)
    collector.register_metric(counter)
    other = Counter("jobs_total")
    collector.register_metric(other)
    assert collector.get_metric("jobs_total") is counter
    with pytest.raises(InvalidMetricError, match="counter"):
        collector.register_metric(Gauge("jobs_total"))
    plain = PlainMetric("plain_metric")
    collector.register_metric(plain)
    assert collector.get_metric("plain_metric") is plain
    with pytest.raises(InvalidMetricError, match="must match"):
        collector.register_metric(PlainMetric("bad name"))


def test_register_same_type_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Keeping the registered instrument is announced in the log."""
    collector = MetricsCollector()
    collector.register_metric(Counter("dup_total"))
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.metrics.collector"):
        collector.register_metric(Counter("dup_total"))
    assert any("already registered" in r.getMessage() for r in caplog.records)


def test_instruments_lists_snapshot_capable_metrics() -> None:
    """instruments() returns lexigram instruments only (what exporters read)."""
    collector = MetricsCollector()
    counter = collector.create_counter("a_total")
    summary = collector.create_summary("b")
    collector.register_metric(PlainMetric("plain"))
    assert collector.instruments() == [counter, summary]
    assert set(collector.get_all_metrics()) == {"a_total", "b", "plain"}


def test_clear_forgets_everything() -> None:
    """clear() empties the table; names can be reused with another type."""
    collector = MetricsCollector()
    collector.increment("x")
    collector.clear()
    assert collector.get_all_metrics() == {}
    collector.gauge("x", 1)
    assert isinstance(collector.get_metric("x"), Gauge)


def test_metric_count_is_bounded() -> None:
    """Past max_metrics, create_* raise and the name-based API drops and counts."""
    collector = MetricsCollector(max_metrics=2)
    collector.create_counter("a")
    collector.increment("b")
    with pytest.raises(InvalidMetricError, match="max_metrics"):
        collector.create_gauge("c")
    with pytest.raises(InvalidMetricError, match="max_metrics"):
        collector.register_metric(Summary("d"))
    collector.increment("e")
    collector.histogram("f", 1)
    assert collector.dropped == 2
    assert set(collector.get_all_metrics()) == {"a", "b"}
    collector.increment("b")  # existing names keep working
    counter = collector.get_metric("b")
    assert isinstance(counter, Counter)
    assert counter.get_count() == 2
    with pytest.raises(InvalidMetricError, match="max_metrics"):
        MetricsCollector(max_metrics=0)


def test_metric_recorded_hook_only_when_subscribed() -> None:
    """MetricRecordedHook payloads describe each name-based recording to subscribers."""
    collector = MetricsCollector()
    collector.increment("before")
    seen: list[MetricRecordedHook] = []
    unsubscribe = default_bus.subscribe(MetricRecordedHook, seen.append)
    collector.increment("jobs", 2, {"q": "a"})
    collector.gauge("depth", 3)
    collector.histogram("latency", 0.5)
    unsubscribe()
    collector.increment("after")
    assert seen == [
        MetricRecordedHook(metric_name="jobs", value=2.0, labels={"q": "a"}, metric_type="counter"),
        MetricRecordedHook(metric_name="depth", value=3.0, labels={}, metric_type="gauge"),
        MetricRecordedHook(metric_name="latency", value=0.5, labels={}, metric_type="histogram"),
    ]


def test_default_collector_is_lazy_shared_and_replaceable() -> None:
    """get_default_collector() returns one instance until set_default_collector replaces it."""
    first = get_default_collector()
    assert get_default_collector() is first
    mine = MetricsCollector()
    set_default_collector(mine)
    assert get_default_collector() is mine
    set_default_collector(None)
    fresh = get_default_collector()
    assert fresh is not mine
    assert fresh is not first
    with pytest.raises(TypeError, match="MetricsCollector"):
        set_default_collector(object())  # type: ignore[arg-type]
