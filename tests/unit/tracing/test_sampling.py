"""Samplers for every SamplerType."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.tracing import (
    AlwaysOffSampler,
    AlwaysOnSampler,
    ParentBasedSampler,
    RateLimitingSampler,
    SpanContext,
    TraceIdRatioSampler,
    build_sampler,
)


def test_always_on_and_off() -> None:
    """always_on samples everything, always_off nothing."""
    assert AlwaysOnSampler().should_sample(None, 1, "x")
    assert not AlwaysOffSampler().should_sample(None, 1, "x")


def test_ratio_compares_the_low_64_bits() -> None:
    """The decision depends only on the trace id's low 64 bits and the rate."""
    half = TraceIdRatioSampler(0.5)
    assert half.should_sample(None, (1 << 100) | 1, "x")
    assert not half.should_sample(None, (1 << 63) + 1, "x")
    assert not TraceIdRatioSampler(0.0).should_sample(None, 1, "x")
    assert TraceIdRatioSampler(1.0).should_sample(None, (1 << 64) - 1, "x")


@given(st.integers(min_value=1, max_value=(1 << 128) - 1), st.floats(0.0, 1.0))
def test_ratio_is_deterministic_per_trace_id(trace_id: int, rate: float) -> None:
    """Two samplers with the same rate agree on every trace id."""
    assert TraceIdRatioSampler(rate).should_sample(None, trace_id, "a") == TraceIdRatioSampler(
        rate
    ).should_sample(None, trace_id, "b")


def test_ratio_samples_about_the_rate() -> None:
    """Over many ids the sampled fraction is close to the rate."""
    import random

    rng = random.Random(7)
    sampler = TraceIdRatioSampler(0.25)
    hits = sum(sampler.should_sample(None, rng.getrandbits(128), "x") for _ in range(20_000))
    assert 0.22 < hits / 20_000 < 0.28


def test_ratio_out_of_range_is_refused() -> None:
    """A rate outside [0, 1] raises ValueError naming it."""
    with pytest.raises(ValueError, match=r"1\.5"):
        TraceIdRatioSampler(1.5)


def test_rate_limiting_token_bucket() -> None:
    """At most max_per_second traces per second; tokens refill with the clock."""
    clock = FakeClock()
    sampler = RateLimitingSampler(2, clock=clock)
    decisions = [sampler.should_sample(None, 1, "x") for _ in range(4)]
    assert decisions == [True, True, False, False]
    clock.advance(0.5)
    assert [sampler.should_sample(None, 1, "x") for _ in range(2)] == [True, False]
    clock.advance(10)
    assert sum(sampler.should_sample(None, 1, "x") for _ in range(5)) == 2


def test_rate_limiting_below_one_per_second() -> None:
    """A fractional rate still lets one trace through, then waits for a full token."""
    clock = FakeClock()
    sampler = RateLimitingSampler(0.5, clock=clock)
    assert sampler.should_sample(None, 1, "x")
    clock.advance(1)
    assert not sampler.should_sample(None, 1, "x")
    clock.advance(1)
    assert sampler.should_sample(None, 1, "x")


def test_rate_limiting_needs_a_positive_rate() -> None:
    """Zero or negative rates are refused with the fix."""
    with pytest.raises(ValueError, match="always_off"):
        RateLimitingSampler(0)


def test_parent_based_follows_remote_flag_and_roots_by_ratio() -> None:
    """A parent's sampled flag wins; roots go to the root sampler."""
    sampler = ParentBasedSampler(AlwaysOffSampler())
    assert sampler.should_sample(SpanContext(1, 2, sampled=True, is_remote=True), 1, "x")
    assert not sampler.should_sample(SpanContext(1, 2, sampled=False, is_remote=True), 1, "x")
    assert not sampler.should_sample(None, 1, "x")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SamplerType.ALWAYS_ON, AlwaysOnSampler),
        (SamplerType.ALWAYS_OFF, AlwaysOffSampler),
        (SamplerType.PROBABILITY, TraceIdRatioSampler),
        (SamplerType.RATE_LIMITING, RateLimitingSampler),
        (SamplerType.PARENT_BASED, ParentBasedSampler),
    ],
)
def test_build_sampler_honours_the_config(kind: SamplerType, expected: type) -> None:
    """Every SamplerType maps to its sampler, with rate and limit from the config."""
    cfg = TracingConfig(sampler_type=kind, sample_rate=0.3, max_traces_per_second=7)
    sampler = build_sampler(cfg, FakeClock())
    assert isinstance(sampler, expected)
    if isinstance(sampler, TraceIdRatioSampler):
        assert sampler.rate == 0.3
    if isinstance(sampler, RateLimitingSampler):
        assert sampler.max_per_second == 7
    if isinstance(sampler, ParentBasedSampler):
        assert isinstance(sampler.root, TraceIdRatioSampler)
        assert sampler.root.rate == 0.3
