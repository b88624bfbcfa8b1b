"""Label schema, default labels, series cap and overflow (shared by every instrument)."""

from __future__ import annotations

import logging

import pytest

from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import OVERFLOW_VALUE, Counter, Gauge, Histogram, Summary

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
