"""Random recording workloads for property-based tests of the exposition.

A :class:`Workload` creates a few instruments from random names, descriptions and default
labels, then drives every public recording call (the instruments' methods, their bound
handles, ``BoundPair.record`` and the collector's name-based API) with random values and
label texts: huge and boundary ints, NaN and infinities, Fractions, Decimals (signalling
NaN included), non-numbers; label values with quotes, backslashes, newlines, control
characters, lone surrogates and thousands of characters; names that are invalid or
too long. :func:`drive` applies it, allowing only success or ``InvalidMetricError``;
:func:`check_parsers` checks the collector's text and OpenMetrics expositions against
prometheus_client's parsers and against the instruments' own snapshots.
"""

from __future__ import annotations

import contextlib
import math
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from lexigram.monitor.backends.exporters._text import exposed_names
from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.metrics.bound import BoundPair

from .strategies import label_names, metric_names

__all__ = [
    "Step",
    "Workload",
    "check_parsers",
    "drive",
    "new_collector",
    "with_index_prefix",
    "workloads",
]

OPENMETRICS = "application/openmetrics-text; version=1.0.0"

KINDS = ("counter", "gauge", "histogram", "summary")
CALLS: dict[str, tuple[str, ...]] = {
    "counter": ("increment", "record", "bind.increment", "facade"),
    "gauge": (
        "set",
        "increment",
        "decrement",
        "record",
        "bind.set",
        "bind.increment",
        "bind.decrement",
        "facade",
    ),
    "histogram": ("observe", "record", "bind.observe", "pair", "facade"),
    "summary": ("observe", "record"),
}
FACADE = {"counter": "increment", "gauge": "gauge", "histogram": "histogram"}

# -- strategies -------------------------------------------------------------------------

_ANY_CHAR = st.characters(codec=None, exclude_categories=())  # lone surrogates included
_HOSTILE = ['"', "\\", "\n", "\r", "\t", "\x00", "\x7f", "…", "\ufffd", "\ud800", "😀", "} 1"]

label_texts = st.one_of(
    st.text(_ANY_CHAR, max_size=12),
    st.lists(st.sampled_from([*_HOSTILE, "a", "b", " "]), max_size=8).map("".join),
    st.builds(
        lambda piece, times: piece * times,
        st.sampled_from([*_HOSTILE, "x", "é"]),
        st.integers(min_value=1_000, max_value=4_200),
    ),
)

values = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from(
        [10**400, -(10**400), 2**1024, 2**53, 2**53 + 1, int(sys.float_info.max), -1, 0]
    ),
    st.floats(),
    st.booleans(),
    st.fractions(max_denominator=1_000),
    st.decimals(),
    st.sampled_from(["1", None, b"1", [1], complex(1, 1)]),
)

_raw_metric_names = st.one_of(
    metric_names(),
    st.text(string.printable, max_size=10),
    st.just("a" * 195),
    st.just("b" * 199),
)
_label_keys = st.one_of(
    label_names(),
    st.sampled_from(["le", "quantile", "__reserved", "1a", "a-b", "c" * 201]),
)
label_sets = st.one_of(
    st.none(),
    st.dictionaries(_label_keys, label_texts, max_size=3),
    st.dictionaries(label_names(), st.sampled_from([1, 2.5, None]), min_size=1, max_size=1),
)


@dataclass(frozen=True)
class Step:
    """One recording call: on instrument number *target* (modulo the count)."""

    target: int
    call: str
    value: Any
    labels: Any


@dataclass(frozen=True)
class Workload:
    """Instruments (kind, name, description, default labels) and the calls on them."""

    cap: int
    instruments: tuple[tuple[str, str, str, dict[str, str]], ...]
    steps: tuple[Step, ...]


_kinds = st.sampled_from(KINDS)
_descriptions = st.text(_ANY_CHAR, max_size=30) | st.just("h" * 5_000)
_default_labels = st.dictionaries(label_names(), label_texts, max_size=2)
_calls = {kind: st.sampled_from(calls) for kind, calls in CALLS.items()}
_caps = st.sampled_from([64, 100, 4_096])


@st.composite
def workloads(draw: Callable[..., Any]) -> Workload:
    """A collector cap, one to four instruments and up to 25 recording calls."""
    count = draw(st.integers(min_value=1, max_value=4))
    instruments = tuple(
        (
            draw(_kinds),
            draw(_raw_metric_names) + f"_{index}",
            draw(_descriptions),
            draw(_default_labels),
        )
        for index in range(count)
    )
    targets = st.integers(min_value=0, max_value=count - 1)
    steps = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        target = draw(targets)
        call = draw(_calls[instruments[target][0]])
        steps.append(Step(target, call, draw(values), draw(label_sets)))
    return Workload(draw(_caps), instruments, tuple(steps))


# -- driving ----------------------------------------------------------------------------


def new_collector(workload: Workload) -> MetricsCollector:
    """A collector configured with the workload's label value cap."""
    return MetricsCollector(MetricsConfig(max_label_value_length=workload.cap))


def drive(collector: MetricsCollector, workload: Workload) -> None:
    """Create the instruments and make every call; only ``InvalidMetricError`` may be
    raised by any of them (it is swallowed), anything else propagates."""
    create = {
        "counter": collector.create_counter,
        "gauge": collector.create_gauge,
        "histogram": collector.create_histogram,
        "summary": collector.create_summary,
    }
    made: list[Any] = []
    for kind, name, description, defaults in workload.instruments:
        try:
            made.append(create[kind](name, description, defaults))
        except InvalidMetricError:
            made.append(None)
    pair_counter = collector.create_counter("pair_requests", "Paired counter.")
    for step in workload.steps:
        instrument = made[step.target]
        if instrument is None:
            continue
        with contextlib.suppress(InvalidMetricError):
            _call(collector, instrument, pair_counter, step)


def _call(collector: MetricsCollector, instrument: Any, pair_counter: Any, step: Step) -> None:
    value, labels = step.value, step.labels
    if step.call == "facade":
        facade = getattr(collector, FACADE[instrument.kind])
        facade(instrument.name.replace("_", "."), value, labels)
    elif step.call == "pair":
        BoundPair(pair_counter.bind(labels), instrument.bind(labels)).record(value)
    elif step.call.startswith("bind."):
        getattr(instrument.bind(labels), step.call[5:])(value)
    else:
        getattr(instrument, step.call)(value, labels)


# -- checking ---------------------------------------------------------------------------


def _same(parsed: float, stored: float) -> bool:
    """The parsed sample value is the stored one (NaN matches NaN; an exact int total
    beyond 2**53 is printed in full, so a parser keeping ints gets it back exactly)."""
    if isinstance(parsed, int) and isinstance(stored, int):
        return parsed == stored
    return (math.isnan(parsed) and math.isnan(stored)) or float(parsed) == float(stored)


def check_parsers(collector: MetricsCollector) -> bytes:
    """Parse both expositions of *collector* with prometheus_client (the text parser and
    the strict OpenMetrics parser); every counter and gauge series is found in both with
    its stored label values and value. Returns the text exposition."""
    text, text_headers = render(collector)
    om, om_headers = render(collector, accept=OPENMETRICS)
    assert text_headers["Content-Type"].startswith("text/plain")
    assert om_headers["Content-Type"].startswith("application/openmetrics-text")
    text_samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse_text(text.decode("utf-8"))
        for s in family.samples
    }
    om_samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse_openmetrics(om.decode("utf-8"))  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    for instrument in collector.instruments():
        if instrument.kind not in ("counter", "gauge"):
            continue
        sample = exposed_names(instrument.kind, instrument.name)[0]
        for snap in instrument.collect():
            key = (sample, tuple(sorted(zip(snap.label_names, snap.label_values, strict=True))))
            assert _same(text_samples[key], snap.value), key
            assert _same(om_samples[key], float(snap.value)), key
    return text


def with_index_prefix(text: bytes, index: int) -> bytes:
    """*text* with every metric name prefixed by ``w<index>_`` so that expositions of
    several workloads can be checked as one (names stay distinct)."""
    out = []
    for line in text.decode("utf-8").splitlines(keepends=True):
        if line.startswith(("# HELP ", "# TYPE ")):
            out.append(f"{line[:7]}w{index}_{line[7:]}")
        elif line and not line.startswith("#"):
            out.append(f"w{index}_{line}")
        else:
            out.append(line)
    return "".join(out).encode("utf-8")
