"""Prometheus recording and alerting rules for latency SLOs over a histogram.

For an :class:`~.objective.SLO` ``p`` / ``T`` ms / window ``W`` on histogram ``H`` (a
Prometheus histogram whose buckets include ``T``), one rule group ``slo:<name>`` holds:

SLI error ratio (recorded for each burn-rate window ``w``), the share of requests slower
than ``T`` — the "bad events" of a latency SLO whose error budget is ``1 - p``::

    slo:sli_error:ratio_rate<w>{slo="<name>"} =
      1 - sum(rate(H_bucket{<sel>,le=~"T"}[w])) / sum(rate(H_count{<sel>}[w]))

Multi-window, multi-burn-rate alerts ``SLOErrorBudgetBurn`` (the Google SRE workbook
scheme): for each :class:`BurnRateWindow` fire when both the long and the short window
burn the budget ``B`` times faster than sustainable::

    ratio_rate<long>{slo} > (B * (1 - p)) and ratio_rate<short>{slo} > (B * (1 - p))

The default tiers are the workbook's for a 30-day SLO (1h/5m x14.4 and 6h/30m x6 →
``critical``; 1d/2h x3 and 3d/6h x1 → ``warning``). Windows scale with the SLO window
(``long * W / 30d``, so each tier still means "this share of the budget is gone") and
are clamped to at least ``min_window`` (default 1m, so ``rate()`` sees two scrapes);
clamping makes short-window SLOs alert a little later than the budget math says.

The percentile itself, as the in-process :class:`~.monitor.SLOMonitor` sees it (but
interpolated within buckets by ``histogram_quantile``, not nearest-rank)::

    slo:latency:ms{slo="<name>",percentile="<p>"} =
      histogram_quantile(p, sum by (le) (rate(H_bucket{<sel>}[W]))) * 1000

and ``SLOLatencyThresholdExceeded``, the same rule as :meth:`SLOMonitor.evaluate`
(``SLO.burn_rate_threshold`` is used only here)::

    slo:latency:ms{slo} > T and (slo:latency:ms{slo} / T) >= burn_rate_threshold

``le`` is matched as ``T`` written both as Python (``1.0``) and Go (``1``) print floats,
so histograms exported by prometheus_client and by Go clients both match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from ..exceptions import InvalidMetricError
from ..metrics.naming import to_metric_name, validate_label_name, validate_metric_name
from .objective import SLO

__all__ = [
    "DEFAULT_BURN_RATE_WINDOWS",
    "BurnRateWindow",
    "prometheus_duration",
    "render_slo_rules",
    "slo_rule_group",
]

Unit = Literal["seconds", "milliseconds"]

_REFERENCE_PERIOD = timedelta(days=30)
_DURATION_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


@dataclass(frozen=True, slots=True)
class BurnRateWindow:
    """One alerting tier: fire *severity* when the error ratio over both *long* and
    *short* exceeds ``burn_rate`` times the error budget. Windows are for a 30-day SLO."""

    long: timedelta
    short: timedelta
    burn_rate: float
    severity: str

    def __post_init__(self) -> None:
        if not timedelta(0) < self.short <= self.long:
            raise ValueError(
                f"burn-rate windows long={self.long} short={self.short} are invalid: "
                "both must be positive with short <= long (e.g. 1h and 5m)"
            )
        if not self.burn_rate > 0:
            raise ValueError(f"burn_rate {self.burn_rate!r} is invalid: it must be > 0")
        if not self.severity:
            raise ValueError("severity must be a non-empty label value, e.g. 'critical'")


DEFAULT_BURN_RATE_WINDOWS: tuple[BurnRateWindow, ...] = (
    BurnRateWindow(timedelta(hours=1), timedelta(minutes=5), 14.4, "critical"),
    BurnRateWindow(timedelta(hours=6), timedelta(minutes=30), 6.0, "critical"),
    BurnRateWindow(timedelta(days=1), timedelta(hours=2), 3.0, "warning"),
    BurnRateWindow(timedelta(days=3), timedelta(hours=6), 1.0, "warning"),
)
"""The SRE workbook's tiers for a 30-day SLO (2 %, 5 %, 10 %, 10 % of the budget)."""


def prometheus_duration(value: timedelta) -> str:
    """*value* as a Prometheus duration (``timedelta(hours=1, minutes=30)`` -> ``"1h30m"``).

    Whole milliseconds only; shorter or non-positive durations raise ``ValueError``.
    """
    ms = round(value.total_seconds() * 1000)
    if ms <= 0:
        raise ValueError(
            f"duration {value!r} is invalid: Prometheus durations must be at least 1ms"
        )
    parts = []
    for unit, size in _DURATION_UNITS:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _number(value: float) -> str:
    """A PromQL number literal with no binary noise (``0.1`` stays ``0.1``)."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def _le_pattern(bound: float) -> str:
    """Regex matching *bound* as an ``le`` label printed by Python or Go clients."""
    python = repr(float(bound))
    forms = dict.fromkeys([python, python.removesuffix(".0")])
    return "|".join(f.replace(".", "[.]").replace("+", "[+]") for f in forms)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _matchers(selector: Mapping[str, str], *extra: str) -> str:
    items = [f'{k}="{_escape(v)}"' for k, v in selector.items()]
    return "{" + ",".join([*items, *extra]) + "}"


def _histogram_name(slo: SLO, histogram: str | None) -> str:
    # The metrics facade's rule for dotted names: every "." and "-" becomes "_".
    try:
        if histogram is not None:
            return validate_metric_name(histogram)
        return to_metric_name(slo.metric)
    except InvalidMetricError as exc:
        raise InvalidMetricError(
            f"histogram name for SLO {slo.name!r}: {exc}; pass "
            "histogram='<base name without _bucket>'"
        ) from exc


def _check_selector(selector: Mapping[str, str]) -> None:
    for key, value in selector.items():
        if key == "le":
            raise ValueError(
                "selector label 'le' is invalid: the rules set the bucket bound themselves"
            )
        validate_label_name(key, "selector")
        if not isinstance(value, str):
            raise ValueError(f"selector label {key!r} has the non-string value {value!r}")


def _scaled(window: timedelta, slo: SLO, min_window: timedelta) -> timedelta:
    scaled = window * (slo.window / _REFERENCE_PERIOD)
    return max(timedelta(seconds=round(scaled.total_seconds())), min_window)


def slo_rule_group(
    slo: SLO,
    *,
    histogram: str | None = None,
    unit: Unit = "seconds",
    selector: Mapping[str, str] | None = None,
    windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS,
    min_window: timedelta = timedelta(minutes=1),
    interval: timedelta | None = None,
) -> dict[str, Any]:
    """The rule group for *slo* (see the module docstring for every expression).

    *histogram* is the histogram's base name (default: ``slo.metric`` with ``.``/``-``
    turned into ``_``); *unit* the unit of its observations; *selector* label matchers
    added to every series selector (e.g. ``{"job": "api"}``); *interval* the group's
    evaluation interval (Prometheus' global one when None).
    """
    if unit not in ("seconds", "milliseconds"):
        raise ValueError(f"unit {unit!r} is invalid: use 'seconds' or 'milliseconds'")
    if min_window <= timedelta(0):
        raise ValueError(f"min_window {min_window!r} is invalid: it must be positive")
    selector = dict(selector or {})
    _check_selector(selector)
    name = _histogram_name(slo, histogram)
    scale = 1000.0 if unit == "seconds" else 1.0
    bound = slo.threshold_ms / scale
    this = f'{{slo="{_escape(slo.name)}"}}'
    budget = Decimal(1) - Decimal(repr(slo.percentile))
    labels = {"slo": slo.name}

    le_matcher = 'le=~"' + _le_pattern(bound) + '"'
    rules: list[dict[str, Any]] = []
    recorded: set[str] = set()

    def ratio(window: timedelta) -> str:
        duration = prometheus_duration(window)
        record = f"slo:sli_error:ratio_rate{duration}"
        if record not in recorded:
            recorded.add(record)
            good = f"{name}_bucket{_matchers(selector, le_matcher)}"
            total = f"{name}_count{_matchers(selector)}"
            expr = f"1 - (sum(rate({good}[{duration}])) / sum(rate({total}[{duration}])))"
            rules.append({"record": record, "expr": expr, "labels": dict(labels)})
        return record + this

    # Clamping can collapse tiers onto the same windows; the lowest burn rate of such
    # tiers fires whenever the others would, so it alone is kept.
    tiers: dict[tuple[timedelta, timedelta, str], float] = {}
    for tier in windows:
        long_w = _scaled(tier.long, slo, min_window)
        short_w = min(_scaled(tier.short, slo, min_window), long_w)
        key = (long_w, short_w, tier.severity)
        tiers[key] = min(tiers.get(key, tier.burn_rate), tier.burn_rate)

    alerts: list[dict[str, Any]] = []
    for (long_w, short_w, severity), burn_rate in tiers.items():
        limit = f"({_number(burn_rate)} * {_number(float(budget))})"
        expr = f"{ratio(long_w)} > {limit}"
        if short_w != long_w:
            expr += f" and {ratio(short_w)} > {limit}"
        alerts.append(
            {
                "alert": "SLOErrorBudgetBurn",
                "expr": expr,
                "labels": {
                    **labels,
                    "severity": severity,
                    "long_window": prometheus_duration(long_w),
                    "short_window": prometheus_duration(short_w),
                },
                "annotations": {
                    "summary": f"SLO {slo.name} is burning its error budget "
                    f"{_number(burn_rate)}x too fast",
                    "description": f"More than {_number(burn_rate)} x "
                    f"{_number(float(budget))} of requests to {name} took longer than "
                    f"{_number(slo.threshold_ms)} ms over both the last "
                    f"{prometheus_duration(long_w)} and {prometheus_duration(short_w)}.",
                },
            }
        )

    window = prometheus_duration(slo.window)
    latency = f"slo:latency:ms{this}"
    quantile = (
        f"histogram_quantile({_number(slo.percentile)}, "
        f"sum by (le) (rate({name}_bucket{_matchers(selector)}[{window}])))"
    )
    rules.append(
        {
            "record": "slo:latency:ms",
            "expr": f"{quantile} * 1000" if unit == "seconds" else quantile,
            "labels": {**labels, "percentile": _number(slo.percentile)},
        }
    )
    threshold = _number(slo.threshold_ms)
    alerts.append(
        {
            "alert": "SLOLatencyThresholdExceeded",
            "expr": f"{latency} > {threshold} and ({latency} / {threshold}) >= "
            f"{_number(slo.burn_rate_threshold)}",
            "labels": {**labels, "percentile": _number(slo.percentile), "severity": "warning"},
            "annotations": {
                "summary": f"SLO {slo.name}: {slo.percentile_label} of {name} is above "
                f"{threshold} ms",
                "description": slo.description
                or f"The {slo.percentile_label} latency over the last {window} is "
                "{{ $value | humanize }} ms.",
            },
        }
    )

    group: dict[str, Any] = {"name": f"slo:{slo.name}"}
    if interval is not None:
        group["interval"] = prometheus_duration(interval)
    group["rules"] = rules + alerts
    return group


def render_slo_rules(
    slos: SLO | Iterable[SLO],
    *,
    histograms: Mapping[str, str] | None = None,
    **options: Any,
) -> str:
    """A Prometheus rule file (YAML) with one :func:`slo_rule_group` per SLO.

    *histograms* maps an SLO's ``metric`` to its histogram base name; *options* are
    passed to :func:`slo_rule_group` (``unit``, ``selector``, ``windows``, ...).
    Check the result with ``promtool check rules``.
    """
    items = [slos] if isinstance(slos, SLO) else list(slos)
    names = [slo.name for slo in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"SLO names must be unique within a rule file; repeated: {duplicates}")
    import yaml  # only needed here; keeps `import lexigram.monitor.slo` light

    histograms = histograms or {}
    groups = [slo_rule_group(slo, histogram=histograms.get(slo.metric), **options) for slo in items]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1_000_000)
