"""Label schema, default labels, series cap and overflow, label text (shared by every
instrument)."""

from __future__ import annotations

import gc
import logging
import tracemalloc

import pytest
from pydantic import ValidationError

from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import (
    OVERFLOW_VALUE,
    Counter,
    Gauge,
    Histogram,
    MetricsCollector,
    Summary,
    set_default_collector,
)

ALL_KINDS = [Counter, Gauge, Histogram, Summary]


def _update(metric: Counter | Gauge | Histogram | Summary, labels: dict[str, str] | None) -> None:
    if isinstance(metric, Counter):
        metric.increment(1, labels)
    elif isinstance(metric, Gauge):
        metric.set(1, labels)
    else:
        metric.observe(1, labels)


def test_each_label_set_is_its_own_series() -> None:
    """Distinct label sets keep distinct totals."""
    counter = Counter("requests_total")
    counter.increment(labels={"method": "GET"})
    counter.increment(2, labels={"method": "POST"})
    assert counter.get_count(labels={"method": "GET"}) == 1
    assert counter.get_count(labels={"method": "POST"}) == 2
    assert counter.get_count() == 0


def test_schema_is_default_keys_then_first_labelled_call() -> None:
    """label_names = default label keys + keys of the first labelled call, in order."""
    counter = Counter("requests_total", labels={"service": "api"})
    assert counter.label_names == ("service",)
    counter.increment(labels={"method": "GET", "status": "200"})
    assert counter.label_names == ("service", "method", "status")


def test_missing_keys_become_empty_strings() -> None:
    """Keys of the schema left out of a call get the value ''."""
    counter = Counter("requests_total")
    counter.increment(labels={"method": "GET", "status": "200"})
    counter.increment(labels={"method": "GET"})
    assert counter.get_count(labels={"method": "GET", "status": ""}) == 1
    values = sorted(s.label_values for s in counter.collect())
    assert values == [("GET", ""), ("GET", "200")]


def test_key_order_does_not_matter() -> None:
    """The same label set in another key order is the same series."""
    counter = Counter("requests_total")
    counter.increment(labels={"method": "GET", "status": "200"})
    counter.increment(labels={"status": "200", "method": "GET"})
    assert counter.get_count(labels={"method": "GET", "status": "200"}) == 2
    assert len(counter.collect()) == 1


@pytest.mark.parametrize("cls", ALL_KINDS)
def test_unknown_key_raises_naming_expected_and_given(
    cls: type[Counter | Gauge | Histogram | Summary],
) -> None:
    """A key outside the locked schema raises with both key lists; data is kept."""
    metric = cls("work_seconds")
    _update(metric, {"queue": "a"})
    before = metric.collect()
    with pytest.raises(InvalidMetricError) as info:
        _update(metric, {"queue": "a", "region": "eu"})
    message = str(info.value)
    assert "['queue', 'region']" in message
    assert "['queue']" in message
    assert "'region'" in message
    assert metric.collect() == before


@pytest.mark.parametrize("cls", ALL_KINDS)
def test_non_string_label_values_raise(cls: type[Counter | Gauge | Histogram | Summary]) -> None:
    """Label values must be strings; others raise naming the key and the value."""
    metric = cls("work_seconds")
    _update(metric, {"code": "200"})
    before = metric.collect()
    with pytest.raises(InvalidMetricError) as info:
        _update(metric, {"code": 200})  # type: ignore[dict-item]
    assert "'code'" in str(info.value)
    assert "200" in str(info.value)
    assert "strings" in str(info.value)
    with pytest.raises(InvalidMetricError):
        _update(metric, {"code": ["x"]})  # type: ignore[dict-item]
    assert metric.collect() == before


def test_labels_must_be_a_mapping() -> None:
    """A label argument that is not a mapping raises a clear error."""
    counter = Counter("requests_total")
    with pytest.raises(InvalidMetricError, match="mapping"):
        counter.increment(1, [("method", "GET")])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["1bad", "__reserved", "with-dash"])
def test_invalid_label_name_in_first_call_raises_and_leaves_schema_unlocked(name: str) -> None:
    """A bad label name is refused and the schema stays open for a correct call."""
    counter = Counter("requests_total")
    with pytest.raises(InvalidMetricError, match=repr(name)):
        counter.increment(labels={name: "x"})
    assert counter.label_names == ()
    counter.increment(labels={"method": "GET"})
    assert counter.label_names == ("method",)


def test_invalid_default_labels_are_refused() -> None:
    """Default labels follow the same name and value rules."""
    with pytest.raises(InvalidMetricError, match="'__x'"):
        Counter("requests_total", labels={"__x": "1"})
    with pytest.raises(InvalidMetricError, match="strings"):
        Counter("requests_total", labels={"x": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize("name", ["", "1abc", "a.b", "a b"])
@pytest.mark.parametrize("cls", ALL_KINDS)
def test_constructors_are_strict_about_metric_names(
    cls: type[Counter | Gauge | Histogram | Summary], name: str
) -> None:
    """Instrument constructors refuse invalid names (no dotted-name conversion)."""
    with pytest.raises(InvalidMetricError, match="must match"):
        cls(name)


def test_reserved_label_names_per_kind() -> None:
    """'le' is reserved for histograms and 'quantile' for summaries."""
    with pytest.raises(InvalidMetricError, match="reserved"):
        Histogram("h", labels={"le": "1"})
    with pytest.raises(InvalidMetricError, match="reserved"):
        Summary("s").observe(1, {"quantile": "x"})
    Counter("c").increment(labels={"le": "1"})


def test_default_labels_appear_on_every_series() -> None:
    """Default labels are merged into every series, labelled or not."""
    gauge = Gauge("temp", labels={"site": "a"})
    gauge.set(1)
    gauge.set(2, labels={"room": "b"})
    values = sorted(s.label_values for s in gauge.collect())
    assert values == [("a", ""), ("a", "b")]
    assert gauge.get_value() == 1
    assert gauge.get_value(labels={"room": "b"}) == 2


def test_call_labels_override_default_label_values() -> None:
    """A call may give another value for a default label key."""
    counter = Counter("requests_total", labels={"env": "prod"})
    counter.increment(labels={"env": "canary"})
    counter.increment()
    values = sorted(s.label_values for s in counter.collect())
    assert values == [("canary",), ("prod",)]


def test_unlabelled_series_is_the_one_with_empty_values() -> None:
    """Calling without labels and with all-'' labels hit the same series."""
    counter = Counter("requests_total")
    counter.increment()
    counter.increment(labels={"method": "GET"})
    counter.increment(labels={"method": ""})
    counter.increment(labels={})
    assert counter.get_count() == 3
    assert len(counter.collect()) == 2


@pytest.mark.parametrize("cls", ALL_KINDS)
def test_collect_first_is_the_head_of_collect_and_its_length(
    cls: type[Counter | Gauge | Histogram | Summary],
) -> None:
    """collect_first(n) gives the first n snapshots collect() gives (the overflow series
    last, only when it fits) and the number of series collect() gives."""
    metric = cls("work_seconds", max_series=3)
    assert metric.collect_first(2) == ((), 0)
    for i in range(5):
        _update(metric, {"user": str(i)})
    everything = metric.collect()
    for limit in range(6):
        shown, count = metric.collect_first(limit)
        assert shown == everything[:limit]
        assert count == len(everything) == 4
    assert metric.collect_first(4)[0][-1].label_values == (OVERFLOW_VALUE,)
    _update(metric, {"user": "1"})
    assert metric.collect_first(2)[0] == metric.collect()[:2]  # read now, not kept


@pytest.mark.parametrize("cls", ALL_KINDS)
def test_series_past_the_cap_go_to_one_overflow_series(
    cls: type[Counter | Gauge | Histogram | Summary], caplog: pytest.LogCaptureFixture
) -> None:
    """Past max_series, new label sets share one '__overflow__' series; warned once."""
    metric = cls("work_seconds", max_series=3)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.metrics"):
        for i in range(10):
            _update(metric, {"user": str(i)})
    snaps = metric.collect()
    assert len(snaps) == 4
    assert metric.series_count() == 4
    overflow = [s for s in snaps if s.label_values == (OVERFLOW_VALUE,)]
    assert len(overflow) == 1
    warnings = [r for r in caplog.records if "overflow" in r.getMessage()]
    assert len(warnings) == 1
    assert "work_seconds" in warnings[0].getMessage()
    # existing series keep counting normally
    _update(metric, {"user": "0"})
    assert len(metric.collect()) == 4


def test_overflow_series_counts_every_overflowed_update() -> None:
    """The overflow series holds the sum of all label sets past the cap."""
    counter = Counter("requests_total", max_series=2)
    for i in range(5):
        counter.increment(labels={"user": str(i)})
    assert counter.get_count(labels={"user": OVERFLOW_VALUE}) == 3
    assert counter.get_count(labels={"user": "4"}) == 0


def test_reset_keeps_the_locked_schema() -> None:
    """After reset() the label names stay what the exporter already saw."""
    counter = Counter("requests_total")
    counter.increment(labels={"method": "GET"})
    counter.reset()
    assert counter.label_names == ("method",)
    with pytest.raises(InvalidMetricError):
        counter.increment(labels={"other": "x"})


def test_key_cache_is_bounded() -> None:
    """The label-dict cache never exceeds 4 * max_series entries."""
    counter = Counter("requests_total", max_series=2)
    for i in range(50):
        counter.increment(labels={"a": str(i % 2), "b": str(i)})
    assert len(counter._cache) <= 8


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_series_must_be_a_positive_int(bad: object) -> None:
    """max_series is validated at construction."""
    with pytest.raises(InvalidMetricError, match="max_series"):
        Counter("requests_total", max_series=bad)  # type: ignore[arg-type]


# -- label text: valid UTF-8, cut to a length cap, counted -------------------------------

CUT_METRIC = "lexigram_monitor_labels_truncated_total"


def cuts(collector: MetricsCollector, metric: str) -> int | float:
    """How many label values of *metric* were counted as cut (0 when none)."""
    counter = collector.get_metric(CUT_METRIC)
    return 0 if counter is None else counter.get_count({"metric": metric})  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", ALL_KINDS)
def test_long_label_values_are_cut_stored_cut_and_counted(
    cls: type[Counter | Gauge | Histogram | Summary], collector: MetricsCollector
) -> None:
    """A value longer than 4,096 characters is stored as its first 4,095 characters and
    '…'; the original labels still find the series, and the cut is counted per metric."""
    metric = cls("work_seconds")
    huge = "v" * 100_000
    _update(metric, {"user": huge, "short": "ok"})

    (snap,) = metric.collect()
    assert snap.label_values == ("v" * 4095 + "…", "ok")
    assert metric.series_count() == 1
    assert cuts(collector, "work_seconds") == 1
    _update(metric, {"user": "v" * 4095 + "…", "short": "ok"})  # the stored value: same series
    assert metric.series_count() == 1


def test_reads_with_the_original_labels_find_the_cut_series(collector: MetricsCollector) -> None:
    """get_count() with the long original finds the series it was counted in; reads
    never count a cut."""
    counter = Counter("requests_total")
    long = "p" * 10_000
    counter.increment(3, {"path": long})
    assert counter.get_count({"path": long}) == 3
    assert counter.get_count({"path": long + "other"}) == 3  # the same first 4,095 characters
    assert cuts(collector, "requests_total") == 1


def test_a_repeated_oversized_label_dict_is_cut_once(collector: MetricsCollector) -> None:
    """The key cache keeps a changed label dict under its original items, so repeating it
    costs a lookup, not another cut (the count shows one cut for 1,000 calls)."""
    counter = Counter("requests_total")
    labels = {"query": "q" * 50_000}
    for _ in range(1_000):
        counter.increment(1, labels)
    assert counter.get_count(labels) == 1_000
    assert cuts(collector, "requests_total") == 1


def test_oversized_originals_in_the_cache_stay_within_their_budget(
    collector: MetricsCollector,
) -> None:
    """Originals of cut values are cached only while they fit the per-instrument budget
    (64 values of the cap's length); past it such a dict is cut again on each call, so
    the cache never holds more original text than the budget."""
    counter = Counter("requests_total", max_label_value_length=64)  # budget: 64 * 64 chars
    fits = {"q": "a" * 4_000}
    too_big = {"q": "b" * 5_000}
    for _ in range(3):
        counter.increment(1, fits)
        counter.increment(1, too_big)
    assert cuts(collector, "requests_total") == 1 + 3
    held = sum(len(v) for key in counter._cache for _, v in key if len(v) > 64)
    assert held <= 64 * 64


def test_the_cap_counts_escaped_characters(collector: MetricsCollector) -> None:
    """Quotes, backslashes and newlines take two characters in the exposition, so a value
    of 3,000 quotes (6,000 escaped) is cut to 2,047 of them and the marker."""
    gauge = Gauge("g")
    gauge.set(1, {"v": '"' * 3_000})
    assert gauge.collect()[0].label_values == ('"' * 2_047 + "…",)
    gauge.set(1, {"v": "\\" * 2_048})  # exactly 4,096 escaped: kept whole
    assert ("\\" * 2_048,) in [s.label_values for s in gauge.collect()]
    assert cuts(collector, "g") == 1


def test_lone_surrogates_become_replacement_characters_and_are_not_counted(
    collector: MetricsCollector,
) -> None:
    """Text that is not valid UTF-8 is stored with U+FFFD; that is not a cut."""
    gauge = Gauge("g", "help \udcff", labels={"env": "a\udc80"})
    gauge.set(1, {"v": "b\ud83d"})
    assert gauge.collect()[0].label_values == ("a\ufffd", "b\ufffd")
    assert gauge.description == "help \ufffd"
    assert gauge.get_value({"v": "b\ud83d"}) == 1
    assert cuts(collector, "g") == 0


def test_default_labels_are_fitted_and_counted(collector: MetricsCollector) -> None:
    """Default label values follow the same rule as call labels."""
    counter = Counter("c", labels={"build": "x" * 5_000})
    counter.increment()
    assert counter.collect()[0].label_values == ("x" * 4_095 + "…",)
    assert cuts(collector, "c") == 1


def test_the_cap_is_configurable_per_instrument_and_per_collector(
    collector: MetricsCollector,
) -> None:
    """max_label_value_length on the constructor, and MetricsConfig.max_label_value_length
    for every instrument a collector creates; values below 64 are refused."""
    counter = Counter("c", max_label_value_length=100)
    counter.increment(1, {"k": "z" * 500})
    assert counter.collect()[0].label_values == ("z" * 99 + "…",)
    assert counter.max_label_value_length == 100

    configured = MetricsCollector(MetricsConfig(max_label_value_length=64))
    for make in (
        configured.create_counter,
        configured.create_gauge,
        configured.create_histogram,
        configured.create_summary,
    ):
        assert make(f"m_{make.__name__}").max_label_value_length == 64
    for bad in (63, 0, True, 100.0, "4096"):
        with pytest.raises(InvalidMetricError, match="max_label_value_length"):
            Counter("c", max_label_value_length=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MetricsConfig(max_label_value_length=10)
    assert MetricsConfig().max_label_value_length == 4_096


def test_counting_its_own_long_label_never_recurses(collector: MetricsCollector) -> None:
    """With a cap shorter than a metric name, the cut counter's own label is cut but not
    counted again (no recursion), and the original metric is still counted."""
    small = MetricsCollector(MetricsConfig(max_label_value_length=64, prefix="p" * 150))
    set_default_collector(small)
    name = small.create_counter("requests", "R.").name
    small.create_counter("requests", "R.").increment(1, {"k": "v" * 100})
    counter = small.get_metric(f"{'p' * 150}_{CUT_METRIC}")
    assert counter is not None
    (snap,) = counter.collect()  # type: ignore[attr-defined]
    assert snap.label_values == (name[:63] + "…",)
    assert snap.value == 1


def test_a_hundred_kilobyte_label_attack_stays_within_the_bound(
    collector: MetricsCollector,
) -> None:
    """Finding: 2,500 label values of 100 KB each added 196 MB and one scrape made a
    195 MB body. Now the instrument keeps at most 2,000 series of 4,096-character
    values: its label text is at most 2,000 * 4,096 characters (2 bytes each once cut,
    the marker being U+2026), plus at most 64 cap-length originals in the key cache and
    a few hundred bytes of bookkeeping per series; the scrape body is under 8 MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        counter = collector.create_counter("attacked", "A.")
        for i in range(2_500):
            counter.increment(1, {"user": f"{i:05d}" + "x" * 100_000})
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    bound = 2_000 * (4_096 * 2 + 512) + 64 * 4_096  # 16.85 MiB
    assert held < bound, f"{held / 2**20:.2f} MiB held"
    body, _ = render(collector)
    assert len(body) < 8 * 2**20
    assert counter.series_count() == 2_001  # the cap plus the overflow series
