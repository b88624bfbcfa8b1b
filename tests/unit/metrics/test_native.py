"""Native histograms: exponential buckets by schema, the zero bucket, negative values,
the bucket limit, classic buckets alongside, handles, exemplars and quantile reads."""

from __future__ import annotations

import math
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import (
    Counter,
    Histogram,
    MetricsCollector,
    NativeBuckets,
    NativeHistogram,
    set_exemplar_source,
)
from lexigram.monitor.metrics._exponential import (
    bucket_bounds,
    fractions,
    index_of,
    reduce_buckets,
    spans_and_deltas,
    upper_bound,
)
from lexigram.monitor.metrics.bound import BoundPair

ZT = 2.0**-128
#: The specification's worked example (schema 3).
EXAMPLE = [0, 0.5, 1, 1.1, 2, 100, -3]


def _exact_index(value: float, schema: int) -> int:
    """The specification's rule ``i = ceil(2**schema * log2 v)`` in exact rational
    arithmetic: the smallest i with ``v <= 2 ** (i / 2**schema)``."""
    magnitude = Fraction(abs(value))
    guess = math.ceil(math.log2(abs(value)) * 2.0**schema)
    for index in range(guess - 2, guess + 3):
        # v <= 2**(index/2**s)  <=>  v**(2**s) <= 2**index  (schema >= 0)
        if schema >= 0:
            if magnitude ** (2**schema) <= Fraction(2) ** index:
                return index
        elif magnitude <= Fraction(2) ** (index * 2**-schema):
            return index
    raise AssertionError("no index found")


def test_worked_example_of_the_specification() -> None:
    """The observations 0, 0.5, 1, 1.1, 2, 100, -3 at schema 3 give the buckets, count,
    sum and zero count of the specification's worked example."""
    histogram = Histogram("latency_seconds", native=True)
    for value in EXAMPLE:
        histogram.observe(value)
    buckets = histogram.get_native_buckets()
    assert buckets.schema == 3
    assert buckets.zero_threshold == ZT
    assert buckets.zero_count == 1
    assert buckets.positive == ((-8, 1), (0, 1), (2, 1), (8, 1), (54, 1))
    assert buckets.negative == ((13, 1),)
    assert buckets.count == 7
    assert histogram.get_count() == 7
    assert histogram.get_sum() == pytest.approx(101.6)
    assert bucket_bounds(54, 3) == pytest.approx((98.70149282, 107.63474115))
    assert bucket_bounds(13, 3, negative=True) == pytest.approx((-3.08442165, -2.82842712))


def test_quantiles_match_prometheus_on_the_worked_example() -> None:
    """get_quantile and the snapshot's quantile return what Prometheus 2.42's
    histogram_quantile returned for the worked example (specification, section 5)."""
    histogram = Histogram("latency_seconds", native=True)
    for value in EXAMPLE:
        histogram.observe(value)
    assert histogram.get_quantile(0.5) == pytest.approx(0.9585020216023356, rel=1e-12)
    assert histogram.get_quantile(0.99) == pytest.approx(107.00941376962973, rel=1e-12)
    assert histogram.get_quantile(0.25) == pytest.approx(1.4693679385278594e-39, rel=1e-9)
    assert histogram.collect()[0].quantile(0.5) == histogram.get_quantile(0.5)
    assert math.isnan(Histogram("empty", native=True).get_quantile(0.5))


@pytest.mark.parametrize("schema", range(-4, 9))
def test_bounds_are_upper_inclusive_at_every_schema(schema: int) -> None:
    """A value exactly on a bucket's upper bound belongs to that bucket; the next float
    above it to the next bucket."""
    histogram = Histogram("h", native=True, schema=schema, max_buckets=1000)
    indices = [
        i for i in (-20, -1, 0, 1, 7, 33) if bucket_bounds(i, schema)[0] > 2 * ZT
    ]  # above the zero bucket at every schema
    assert len(indices) >= 4
    for index in indices:
        upper = bucket_bounds(index, schema)[1]
        histogram.observe(upper)
        histogram.observe(math.nextafter(upper, math.inf))
        assert index_of(upper, schema) == index
        assert index_of(math.nextafter(upper, math.inf), schema) == index + 1
    counts = dict(histogram.get_native_buckets().positive)
    assert all(counts.get(i, 0) >= 1 for i in indices)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(finite, min_size=1, max_size=60),
    schema=st.integers(-4, 8),
)
def test_every_observation_lands_in_the_bucket_containing_it(
    values: list[float], schema: int
) -> None:
    """For random observations the native buckets' counts sum to the count, and each
    observation is counted in the bucket whose bounds contain it (upper bound
    inclusive on the positive side, lower on the negative side), the index agreeing
    with the specification's rule computed exactly."""
    histogram = Histogram("h", native=True, schema=schema, max_buckets=10_000)
    expected_positive: dict[int, int] = {}
    expected_negative: dict[int, int] = {}
    zero = 0
    for value in values:
        histogram.observe(value)
        if abs(value) <= ZT:
            zero += 1
            continue
        index = index_of(value, schema)
        assert index == _exact_index(value, schema)
        low, high = bucket_bounds(index, schema, negative=value < 0)
        if value > 0:
            assert low < value <= high
            expected_positive[index] = expected_positive.get(index, 0) + 1
        else:
            assert low <= value < high
            expected_negative[index] = expected_negative.get(index, 0) + 1
    buckets = histogram.get_native_buckets()
    assert buckets.count == histogram.get_count() == len(values)
    assert buckets.zero_count == zero
    assert dict(buckets.positive) == expected_positive
    assert dict(buckets.negative) == expected_negative
    assert buckets.schema == schema


@pytest.mark.parametrize("schema", range(-4, 9))
def test_values_on_bucket_bounds_and_their_neighbours_land_exactly(schema: int) -> None:
    """Every bucket bound of a schema (each mantissa bound, over small and large
    exponents), as the float nearest below the exact bound, and the floats next to it
    on both sides land in the bucket exact rational arithmetic gives (a value on a bound
    in the lower bucket, the next float up in the next one), through ``index_of`` and
    through the compiled update, positive and negative; observed twice, so the second
    time every bucket is held and the update's fast lookup decides."""
    per = 2**schema if schema > 0 else 1  # buckets per power of two (schema <= 0: index = octave)
    values: list[float] = []
    for octave in (-7, -3, -1, 0, 1, 2, 37):  # all above the zero threshold 2**-128
        for j in range(per):
            bound = upper_bound(octave * per + j, schema)
            values += [math.nextafter(bound, 0.0), bound, math.nextafter(bound, math.inf)]
    histogram = Histogram("h", native=True, schema=schema, max_buckets=100_000)
    expected: dict[int, int] = {}
    for value in values + values:
        index = _exact_index(value, schema)
        assert index_of(value, schema) == index, value
        histogram.observe(value)
        histogram.observe(-value)
        expected[index] = expected.get(index, 0) + 1
    buckets = histogram.get_native_buckets()
    assert buckets.schema == schema
    assert dict(buckets.positive) == expected
    assert dict(buckets.negative) == expected


def test_mantissa_bounds_are_the_exact_bounds_rounded_down() -> None:
    """Each mantissa bound ``B_j`` of schemas 1..8 is the largest float not above
    ``2 ** (j / 2**schema - 1)``, checked in exact rational arithmetic."""
    for schema in range(1, 9):
        per = 2**schema
        for j, bound in enumerate(fractions(schema)):
            exact = Fraction(2) ** (j - per)
            assert Fraction(bound) ** per <= exact
            assert Fraction(math.nextafter(bound, 1.0)) ** per > exact


def test_ten_thousand_distinct_values_stay_within_max_buckets() -> None:
    """10,000 distinct values over twelve orders of magnitude never hold more than
    max_buckets buckets: the schema is lowered instead, and every value stays counted
    in the bucket containing it at the final schema."""
    histogram = Histogram("h", native=True, max_buckets=160)
    values = [10 ** (-6 + 12 * k / 9_999) for k in range(10_000)]
    for value in values:
        histogram.observe(value)
        buckets = histogram.get_native_buckets()
        assert len(buckets.positive) + len(buckets.negative) <= 160
    buckets = histogram.get_native_buckets()
    assert buckets.count == 10_000
    assert buckets.schema < 3
    expected: dict[int, int] = {}
    for value in values:
        index = index_of(value, buckets.schema)
        expected[index] = expected.get(index, 0) + 1
    assert dict(buckets.positive) == expected


def test_small_bucket_limit_reduces_to_the_lowest_schema_then_widens_the_zero_bucket() -> None:
    """max_buckets=1: the schema goes down to -4, then the zero bucket widens over the
    bucket nearest zero; no observation is lost and one bucket remains."""
    histogram = Histogram("h", native=True, max_buckets=1)
    for value in (1.0, 1e10, 1e-10, -1e30, 1e300):
        histogram.observe(value)
        buckets = histogram.get_native_buckets()
        assert len(buckets.positive) + len(buckets.negative) <= 1
    buckets = histogram.get_native_buckets()
    assert buckets.schema == -4
    assert buckets.count == 5
    assert buckets.zero_threshold > ZT
    assert buckets.zero_count >= 1


def test_zero_bucket_takes_values_within_the_threshold() -> None:
    """|v| <= zero_threshold counts in the zero bucket, beyond it in a regular one."""
    histogram = Histogram("h", zero_threshold=0.001)
    for value in (0.0, -0.0, 0.001, -0.001, 0.0011, -0.0011):
        histogram.observe(value)
    buckets = histogram.get_native_buckets()
    assert isinstance(histogram, NativeHistogram)
    assert buckets.zero_threshold == 0.001
    assert buckets.zero_count == 4
    assert buckets.count == 6
    assert len(buckets.positive) == len(buckets.negative) == 1


@pytest.mark.parametrize("bound", [False, True])
def test_a_zero_threshold_inside_a_bucket_keeps_the_values_below_it(
    bound: bool, update_mode: bool
) -> None:
    """A zero threshold that cuts through a bucket (0.001 at schema 3 lies inside
    ``(2**-10, 2**(-79/8)]``): once that bucket holds values above the threshold, values
    at or below it still go to the zero bucket, through every update path, lock-free
    and locked; a threshold on a bound (2**-10) keeps the bucket above it whole."""
    threshold = 2.0**-10 if bound else 0.001
    histogram = Histogram("h", zero_threshold=threshold)
    handle = histogram.bind()
    pair = BoundPair(Counter("c").bind(), handle)
    top = upper_bound(-79, 3)  # 2**(-79/8), rounded down
    above = [threshold * 1.05, math.nextafter(threshold, 1.0), top]
    below = [threshold, math.nextafter(threshold, 0.0), threshold * 0.98, 1e-300]
    for update in (histogram.observe, handle.observe, pair.record):
        for value in above + below + above + below:
            update(value)
    buckets = histogram.get_native_buckets()
    assert buckets.zero_count == 3 * 2 * len(below)
    expected: dict[int, int] = {}
    for value in above:
        index = index_of(value, 3)
        expected[index] = expected.get(index, 0) + 3 * 2
    assert dict(buckets.positive) == expected
    assert buckets.count == 3 * 2 * (len(above) + len(below))


def test_infinities_go_past_the_largest_float_and_nan_is_refused() -> None:
    """+inf and -inf land in the bucket after the largest float's (as the specification
    says); NaN raises InvalidMetricError naming the histogram and records nothing."""
    histogram = Histogram("h", native=True)
    histogram.observe(math.inf)
    histogram.observe(-math.inf)
    histogram.observe(1.7976931348623157e308)
    top = index_of(1.7976931348623157e308, 3)
    buckets = histogram.get_native_buckets()
    assert buckets.positive == ((top, 1), (top + 1, 1))
    assert buckets.negative == ((top + 1, 1),)
    with pytest.raises(InvalidMetricError, match="'h' cannot observe NaN"):
        histogram.observe(math.nan)
    assert histogram.get_count() == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schema": 9}, r"schema=9 .* out of range: it must be an integer from -4 to 8"),
        ({"schema": -5}, r"schema=-5 .* out of range"),
        ({"schema": 2.5}, r"schema=2.5 .* out of range"),
        ({"schema": True}, r"schema=True"),
        ({"max_buckets": 0}, r"max_buckets=0 .* must be an integer >= 1"),
        ({"max_buckets": -3}, r"max_buckets=-3"),
        ({"zero_threshold": 0.0}, r"zero_threshold=0.0 .* finite number > 0"),
        ({"zero_threshold": math.inf}, r"zero_threshold=inf"),
        ({"native": False, "schema": 3}, r"native=False with native settings"),
    ],
)
def test_bad_native_settings_are_refused(options: dict[str, object], message: str) -> None:
    """A schema out of -4..8, max_buckets below 1, a zero threshold not above 0, or
    native=False together with native settings raise InvalidMetricError saying which
    value broke which rule."""
    with pytest.raises(InvalidMetricError, match=message):
        Histogram("h", **options)  # type: ignore[arg-type]


def test_classic_false_without_native_is_refused() -> None:
    """classic=False on a histogram without native buckets would keep nothing."""
    with pytest.raises(InvalidMetricError, match="classic=False without native buckets"):
        Histogram("h", classic=False)


def test_classic_buckets_are_kept_alongside_when_given() -> None:
    """With buckets (or classic=True) the classic cumulative counts are kept next to
    the native buckets; both views agree on count and sum."""
    histogram = Histogram("h", buckets=[0.1, 1, 10], native=True)
    for value in (0.05, 0.5, 5, 50):
        histogram.observe(value)
    assert histogram.get_bucket_counts() == {0.1: 1, 1.0: 2, 10.0: 3, math.inf: 4}
    snapshot = histogram.collect()[0]
    assert snapshot.bounds == (0.1, 1.0, 10.0, math.inf)
    assert snapshot.counts == (1, 2, 3, 4)
    assert snapshot.native is not None
    assert snapshot.native.count == snapshot.count == 4
    assert snapshot.sum == pytest.approx(55.55)
    # the quantile reads the native buckets when present
    assert snapshot.quantile(0.5) == snapshot.native.quantile(0.5)
    assert snapshot.quantile(0.5) == pytest.approx(0.5)  # classic buckets would say 1.0


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=40),
    bounds=st.lists(st.floats(min_value=1e-6, max_value=1e6), min_size=1, max_size=12, unique=True),
    schema=st.integers(-4, 8),
)
def test_classic_counts_beside_native_ones_match_a_classic_histogram(
    values: list[float], bounds: list[float], schema: int
) -> None:
    """With classic buckets kept, every update path (observe, bound handle, pair)
    counts each value in the classic bucket a classic histogram with the same bounds
    picks, also for values on a classic bound, next to one and inside a native bucket
    a classic bound cuts through, and in the native bucket containing it; every value
    is observed twice, so the second time the buckets are held and the fast path
    decides."""
    bounds = sorted(bounds)
    edges = [v for b in bounds for v in (b, math.nextafter(b, 0.0), math.nextafter(b, 9e99))]
    observed = (values + edges) * 2
    native = Histogram("n", buckets=bounds, native=True, schema=schema, max_buckets=10_000)
    classic = Histogram("c", buckets=bounds)
    handle = native.bind()
    pair = BoundPair(Counter("pairs").bind(), handle)
    for update in (native.observe, handle.observe, pair.record):
        for value in observed:
            update(value)
            classic.observe(value)
    assert native.get_bucket_counts() == classic.get_bucket_counts()
    expected: dict[int, int] = {}
    for value in observed:
        if value > ZT:
            index = index_of(value, schema)
            expected[index] = expected.get(index, 0) + 3
    assert dict(native.get_native_buckets().positive) == expected


def test_without_classic_buckets_the_classic_view_is_one_inf_bucket() -> None:
    """native=True without buckets: the classic view is a single +Inf bucket holding
    the count (what the text formats show)."""
    histogram = Histogram("h", native=True)
    histogram.observe(0.2)
    histogram.observe(3)
    assert histogram.buckets == (math.inf,)
    assert histogram.get_bucket_counts() == {math.inf: 2}
    assert histogram.collect()[0].counts == (2,)
    assert Histogram("h2", native=True, classic=True).buckets[-1] == math.inf
    assert len(Histogram("h3", native=True, classic=True).buckets) > 1


def test_bound_handles_and_pairs_update_the_native_buckets(update_mode: bool) -> None:
    """bind() handles and a BoundPair over a native handle count in the native (and
    classic) buckets, under both update variants."""
    for classic in (False, True):
        histogram = Histogram("h", native=True, classic=classic)
        counter = Counter("c_total")
        handle = histogram.bind({"route": "/a"})
        handle.observe(1.5)
        handle.observe(-2)
        pair = BoundPair(counter.bind({"route": "/a"}), histogram.bind({"route": "/a"}))
        pair.record(0.0)
        pair.record(1.5)
        pair.record(7.0)  # a bucket the series does not hold yet: the miss path
        buckets = histogram.get_native_buckets({"route": "/a"})
        assert buckets.count == 5
        assert buckets.zero_count == 1
        assert buckets.positive == ((index_of(1.5, 3), 2), (index_of(7.0, 3), 1))
        assert buckets.negative == ((index_of(2.0, 3), 1),)
        assert counter.get_value({"route": "/a"}) == 3
        assert histogram.get_sum({"route": "/a"}) == pytest.approx(8.0)
        assert histogram.get_bucket_counts({"route": "/a"})[math.inf] == 5


def test_concurrent_observations_across_a_schema_change_lose_nothing(
    update_mode: bool,
) -> None:
    """Threads observing while the bucket limit lowers the schema: count, sum and
    bucket counts stay consistent and nothing is lost, in both update variants."""
    histogram = Histogram("h", native=True, schema=8, max_buckets=20)
    per_thread = 2_000

    def work(offset: int) -> None:
        handle = histogram.bind()
        for k in range(per_thread):
            value = 1.0 + ((k * 7 + offset) % 997) / 50
            if k % 2:
                histogram.observe(value)
            else:
                handle.observe(-value)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buckets = histogram.get_native_buckets()
    assert buckets.count == histogram.get_count() == 4 * per_thread
    assert len(buckets.positive) + len(buckets.negative) <= 20
    assert buckets.schema < 8


def test_reset_restores_the_configured_schema(clock: FakeClock) -> None:
    """reset() forgets the series, so a series lowered by the bucket limit starts again
    at the configured schema and threshold."""
    histogram = Histogram("h", native=True, max_buckets=4, clock=clock)
    for value in (1, 10, 100, 1000, 10_000, 100_000):
        histogram.observe(value)
    assert histogram.get_native_buckets().schema < 3
    histogram.reset()
    histogram.observe(1.0)
    buckets = histogram.get_native_buckets()
    assert buckets.schema == 3
    assert buckets.count == 1


def test_exemplars_are_kept_per_series() -> None:
    """Under a sampled span the latest exemplars are kept in the native buckets (and,
    with classic buckets, per classic bucket too)."""
    set_exemplar_source(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
    histogram = Histogram("h", native=True, buckets=[1, 10])
    for value in range(15):
        histogram.observe(float(value))
    buckets = histogram.get_native_buckets()
    assert [e.value for e in buckets.exemplars] == [float(v) for v in range(5, 15)]
    assert buckets.exemplars[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    classic = histogram.get_exemplars()
    assert classic[1.0] is not None
    assert classic[1.0].value == 1.0
    assert classic[math.inf] is not None
    assert classic[math.inf].value == 14.0


def test_collector_creates_native_histograms() -> None:
    """create_histogram(native=True) makes a native histogram without classic buckets
    unless buckets or classic=True are given; the same name returns the same one."""
    collector = MetricsCollector()
    plain = collector.create_histogram("a_seconds", native=True, schema=2)
    assert isinstance(plain, NativeHistogram)
    assert plain.schema == 2
    assert plain.buckets == (math.inf,)
    both = collector.create_histogram("b_seconds", buckets=[1, 2], max_buckets=50)
    assert isinstance(both, NativeHistogram)
    assert both.max_buckets == 50
    assert both.buckets == (1.0, 2.0, math.inf)
    assert collector.create_histogram("a_seconds") is plain
    assert not isinstance(collector.create_histogram("c_seconds"), NativeHistogram)
    with pytest.raises(InvalidMetricError, match="schema=12"):
        collector.create_histogram("d_seconds", schema=12)


def test_config_switch_reaches_the_middleware_options() -> None:
    """MetricsConfig.native_histograms (settable by env like every field) turns the
    middlewares' duration histograms native with the configured schema and limit."""
    from lexigram.monitor.metrics.native import native_options

    assert native_options(MetricsCollector()) == {}
    config = MetricsConfig(
        native_histograms=True,
        native_histogram_schema=5,
        native_histogram_max_buckets=64,
        native_histogram_classic=False,
    )
    assert native_options(MetricsCollector(config)) == {
        "native": True,
        "schema": 5,
        "max_buckets": 64,
        "classic": False,
    }
    assert native_options(object()) == {}


def test_config_refuses_out_of_range_native_settings() -> None:
    """The config checks the schema range and the bucket limit too."""
    with pytest.raises(ValueError, match="native_histogram_schema"):
        MetricsConfig(native_histogram_schema=9)
    with pytest.raises(ValueError, match="native_histogram_max_buckets"):
        MetricsConfig(native_histogram_max_buckets=0)


def test_reduce_buckets_merges_pairs_into_the_lower_schema() -> None:
    """One step down, buckets 2j-1 and 2j merge into j (index ceil(i/2))."""
    assert reduce_buckets({-3: 1, -2: 2, -1: 3, 0: 4, 1: 5, 2: 6, 3: 7}) == {
        -1: 3,
        0: 7,
        1: 11,
        2: 7,
    }
    assert reduce_buckets({5: 1}, steps=3) == {1: 1}
    for value in (0.3, 1.0, 7.7, 1234.5):
        assert (index_of(value, 3) + 1) >> 1 == index_of(value, 2)


def test_spans_and_deltas_follow_the_specification() -> None:
    """The worked example's positive side gives client_golang's layout (gaps of up to
    two buckets filled with empty ones)."""
    spans, deltas = spans_and_deltas([(-8, 1), (0, 1), (2, 1), (8, 1), (54, 1)])
    assert spans == [(-8, 1), (7, 3), (5, 1), (45, 1)]
    assert deltas == [1, 0, -1, 1, 0, 0]
    assert spans_and_deltas([]) == ([], [])


def test_native_buckets_quantile_edges() -> None:
    """q outside 0..1 gives -inf/+inf, NaN gives NaN, only-negative buckets end the
    zero bucket at 0."""
    buckets = NativeBuckets(0, 0.5, 1, (), ((1, 1),))
    assert buckets.quantile(-0.1) == -math.inf
    assert buckets.quantile(1.5) == math.inf
    assert math.isnan(buckets.quantile(math.nan))
    assert buckets.quantile(1.0) == 0.0
    assert buckets.quantile(0.25) == pytest.approx(-1.5)


def test_multiprocess_mode_makes_shared_native_histograms(tmp_path: Path) -> None:
    """In multi-process mode native settings give a native histogram whose buckets live
    in the shared file (merged across workers, see test_multiprocess_native); without
    them a classic one."""
    collector = MetricsCollector(MetricsConfig(multiprocess_dir=str(tmp_path)))
    native = collector.create_histogram("x_seconds", native=True)
    assert isinstance(native, NativeHistogram)
    assert hasattr(native, "_shared")
    assert not isinstance(collector.create_histogram("y_seconds"), NativeHistogram)
