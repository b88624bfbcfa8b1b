"""Prometheus recording and alerting rules for SLOs, in our own format (label ``slo``).

(Sloth's conventions, for specs written in Sloth's or OpenSLO's format, are in
:mod:`.sloth`.) For an :class:`~.objective.SLO` ``p`` / ``T`` ms / window ``W`` on
histogram ``H`` (whose buckets include ``T``), one rule group ``slo:<name>`` holds:

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

An :class:`~.availability.AvailabilitySLO` gets the same group without the percentile
rule and alert, its error ratio coming from its SLI (:mod:`.sli`). Every group ends with
the period's error ratio, ``slo:sli_error:ratio_rate<W>`` = the average of the shortest
window's over ``W`` (as Sloth records it), and Sloth's metadata rules, labelled ``slo``:
``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:time_period:days``,
``slo:current_burn_rate:ratio`` (shortest window), ``slo:period_burn_rate:ratio`` and
``slo:period_error_budget_remaining:ratio`` (``1 -`` the period burn rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from ..exceptions import InvalidMetricError
from ..metrics.naming import to_metric_name, validate_metric_name
from .availability import AvailabilitySLO
from .burn import DEFAULT_BURN_RATE_WINDOWS, REFERENCE_PERIOD, BurnRateWindow
from .objective import SLO
from .sli import HistogramSLI, escape_label_value, le_pattern, promql_number, selector_text

__all__ = [
    "DEFAULT_BURN_RATE_WINDOWS",
    "BurnRateWindow",
    "availability_rule_group",
    "check_bucket_bound",
    "clamped_windows",
    "latency_sli",
    "metadata_rules",
    "prometheus_duration",
    "render_slo_rules",
    "slo_rule_group",
]

Unit = Literal["seconds", "milliseconds"]

_DURATION_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
# Kept under their old names for callers of the first version of this module.
_number = promql_number
_le_pattern = le_pattern
_escape = escape_label_value
_matchers = selector_text


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


def check_bucket_bound(threshold: float, buckets: Sequence[float], what: str) -> None:
    """``ValueError`` unless *threshold* is one of *buckets* (a histogram's upper bounds):
    the error ratio counts the observations of the bucket whose bound it is."""
    if any(float(b) == float(threshold) for b in buckets):
        return
    below = [b for b in buckets if b < threshold]
    above = [b for b in buckets if b > threshold]
    near = ", ".join(promql_number(b) for b in (below[-1:] + above[:1]))
    raise ValueError(
        f"{what} {promql_number(threshold)} is not a bucket bound of the histogram "
        f"(bounds: {', '.join(promql_number(b) for b in buckets)}); the error ratio "
        f"can only count whole buckets, so use a bound{f' such as {near}' if near else ''} "
        "or add the threshold to the histogram's buckets"
    )


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


def _scaled(window: timedelta, period: timedelta, min_window: timedelta) -> timedelta:
    scaled = window * (period / REFERENCE_PERIOD)
    return max(timedelta(seconds=round(scaled.total_seconds())), min_window)


def clamped_windows(
    period: timedelta,
    windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS,
    min_window: timedelta = timedelta(minutes=1),
) -> list[BurnRateWindow]:
    """The tiers of our own rule format for *period*: windows scaled by ``period / 30d``,
    rounded to seconds and clamped to *min_window*. Tiers that collapse onto the same
    windows and severity keep the lowest burn rate (it fires whenever the others would)."""
    if min_window <= timedelta(0):
        raise ValueError(f"min_window {min_window!r} is invalid: it must be positive")
    tiers: dict[tuple[timedelta, timedelta, str], float] = {}
    for tier in windows:
        long_w = _scaled(tier.long, period, min_window)
        short_w = min(_scaled(tier.short, period, min_window), long_w)
        key = (long_w, short_w, tier.severity)
        tiers[key] = min(tiers.get(key, tier.burn_rate), tier.burn_rate)
    return [BurnRateWindow(lw, sw, b, sev) for (lw, sw, sev), b in tiers.items()]


def metadata_rules(
    labels: Mapping[str, str],
    match: str,
    on: str,
    objective: Decimal,
    period: timedelta,
    current: str,
    period_record: str,
) -> list[dict[str, Any]]:
    """Sloth's metadata recording rules for one SLO: objective, error budget, period in
    days, current and period burn rates, and the error budget left over the period.

    *match* selects the SLO's series (``{slo="x"}``), *on* lists its identifying
    labels (``slo``), *current*/*period_record* are the error-ratio rules to divide by
    the budget (the shortest window's and the period's).
    """
    budget = Decimal(1) - objective
    days = Decimal(round(period.total_seconds() * 1000)) / Decimal(86_400_000)

    def rule(record: str, expr: str) -> dict[str, Any]:
        return {"record": record, "expr": expr, "labels": dict(labels)}

    per_budget = f" / on({on}) group_left slo:error_budget:ratio{match}"
    return [
        rule("slo:objective:ratio", f"vector({promql_number(float(objective))})"),
        rule("slo:error_budget:ratio", f"vector({_decimal(budget)})"),
        rule("slo:time_period:days", f"vector({_decimal(days)})"),
        rule("slo:current_burn_rate:ratio", f"{current}{match}{per_budget}"),
        rule("slo:period_burn_rate:ratio", f"{period_record}{match}{per_budget}"),
        rule(
            "slo:period_error_budget_remaining:ratio",
            f"1 - slo:period_burn_rate:ratio{match}",
        ),
    ]


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _burn_rules(
    name: str,
    objective: Decimal,
    period: timedelta,
    error_ratio: Callable[[str], str],
    tiers: Sequence[BurnRateWindow],
    describe: Callable[[BurnRateWindow], str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(recording rules, SLOErrorBudgetBurn alerts) of our own format for one SLO: the
    error ratio of every window of *tiers*, one alert per tier, the period's error ratio
    (average of the shortest window's) and the metadata rules."""
    this = f'{{slo="{escape_label_value(name)}"}}'
    budget = Decimal(1) - objective
    labels = {"slo": name}
    rules: list[dict[str, Any]] = []
    recorded: set[str] = set()

    def ratio(window: timedelta) -> str:
        duration = prometheus_duration(window)
        record = f"slo:sli_error:ratio_rate{duration}"
        if record not in recorded:
            recorded.add(record)
            rules.append({"record": record, "expr": error_ratio(duration), "labels": dict(labels)})
        return record

    alerts: list[dict[str, Any]] = []
    for tier in tiers:
        limit = f"({promql_number(tier.burn_rate)} * {_decimal(budget)})"
        expr = f"{ratio(tier.long)}{this} > {limit}"
        if tier.short != tier.long:
            expr += f" and {ratio(tier.short)}{this} > {limit}"
        alerts.append(
            {
                "alert": "SLOErrorBudgetBurn",
                "expr": expr,
                "labels": {
                    **labels,
                    "severity": tier.severity,
                    "long_window": prometheus_duration(tier.long),
                    "short_window": prometheus_duration(tier.short),
                },
                "annotations": {
                    "summary": f"SLO {name} is burning its error budget "
                    f"{promql_number(tier.burn_rate)}x too fast",
                    "description": describe(tier),
                },
            }
        )
    shortest = ratio(min(w for t in tiers for w in (t.short, t.long)))
    period_record = f"slo:sli_error:ratio_rate{prometheus_duration(period)}"
    if period_record not in recorded:
        recorded.add(period_record)
        window = prometheus_duration(period)
        rules.append(
            {
                "record": period_record,
                "expr": f"avg_over_time({shortest}{this}[{window}])",
                "labels": dict(labels),
            }
        )
    rules += metadata_rules(labels, this, "slo", objective, period, shortest, period_record)
    return rules, alerts


def latency_sli(
    slo: SLO,
    *,
    histogram: str | None = None,
    unit: Unit = "seconds",
    selector: Mapping[str, str] | None = None,
) -> HistogramSLI:
    """The error-ratio SLI of latency *slo*: observations of its histogram above the
    threshold (options as for :func:`slo_rule_group`)."""
    if unit not in ("seconds", "milliseconds"):
        raise ValueError(f"unit {unit!r} is invalid: use 'seconds' or 'milliseconds'")
    name = _histogram_name(slo, histogram)
    scale = 1000.0 if unit == "seconds" else 1.0
    return HistogramSLI(name, slo.threshold_ms / scale, dict(selector or {}))


def slo_rule_group(
    slo: SLO,
    *,
    histogram: str | None = None,
    unit: Unit = "seconds",
    selector: Mapping[str, str] | None = None,
    windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS,
    min_window: timedelta = timedelta(minutes=1),
    interval: timedelta | None = None,
    buckets: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The rule group for latency *slo* (see the module docstring for every expression).

    *histogram* is the histogram's base name (default: ``slo.metric`` with ``.``/``-``
    turned into ``_``); *unit* the unit of its observations; *selector* label matchers
    added to every series selector (e.g. ``{"job": "api"}``); *interval* the group's
    evaluation interval (Prometheus' global one when None); *buckets* the histogram's
    upper bounds (in *unit*), when known: the threshold must be one of them
    (``ValueError`` otherwise).
    """
    sli = latency_sli(slo, histogram=histogram, unit=unit, selector=selector)
    tiers = clamped_windows(slo.window, windows, min_window)
    selector = dict(selector or {})
    name = sli.histogram
    if buckets is not None:
        check_bucket_bound(sli.threshold, buckets, f"SLO {slo.name!r}: threshold_ms ({unit})")
    this = f'{{slo="{escape_label_value(slo.name)}"}}'
    budget = promql_number(float(Decimal(1) - Decimal(repr(slo.percentile))))

    def describe(tier: BurnRateWindow) -> str:
        return (
            f"More than {promql_number(tier.burn_rate)} x {budget} of requests to {name} "
            f"took longer than {promql_number(slo.threshold_ms)} ms over both the last "
            f"{prometheus_duration(tier.long)} and {prometheus_duration(tier.short)}."
        )

    rules, alerts = _burn_rules(
        slo.name,
        Decimal(repr(slo.percentile)),
        slo.window,
        sli.error_ratio_query,
        tiers,
        describe,
    )
    labels = {"slo": slo.name}
    window = prometheus_duration(slo.window)
    latency = f"slo:latency:ms{this}"
    quantile = (
        f"histogram_quantile({promql_number(slo.percentile)}, "
        f"sum by (le) (rate({name}_bucket{selector_text(selector)}[{window}])))"
    )
    rules.append(
        {
            "record": "slo:latency:ms",
            "expr": f"{quantile} * 1000" if unit == "seconds" else quantile,
            "labels": {**labels, "percentile": promql_number(slo.percentile)},
        }
    )
    threshold = promql_number(slo.threshold_ms)
    alerts.append(
        {
            "alert": "SLOLatencyThresholdExceeded",
            "expr": f"{latency} > {threshold} and ({latency} / {threshold}) >= "
            f"{promql_number(slo.burn_rate_threshold)}",
            "labels": {
                **labels,
                "percentile": promql_number(slo.percentile),
                "severity": "warning",
            },
            "annotations": {
                "summary": f"SLO {slo.name}: {slo.percentile_label} of {name} is above "
                f"{threshold} ms",
                "description": slo.description
                or f"The {slo.percentile_label} latency over the last {window} is "
                "{{ $value | humanize }} ms.",
            },
        }
    )
    return _group(f"slo:{slo.name}", rules + alerts, interval)


def availability_rule_group(
    slo: AvailabilitySLO,
    *,
    windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS,
    min_window: timedelta = timedelta(minutes=1),
    interval: timedelta | None = None,
) -> dict[str, Any]:
    """The rule group ``slo:<name>`` of availability *slo* in our own format: the
    error-ratio rules of its SLI, the ``SLOErrorBudgetBurn`` tiers and the metadata
    rules, as for a latency SLO (without the percentile rule and alert)."""
    tiers = clamped_windows(slo.period, windows, min_window)
    objective = Decimal(repr(slo.objective))
    budget = _decimal(Decimal(1) - objective)

    def describe(tier: BurnRateWindow) -> str:
        return (
            f"More than {promql_number(tier.burn_rate)} x {budget} of the events of SLO "
            f"{slo.name} failed over both the last {prometheus_duration(tier.long)} and "
            f"{prometheus_duration(tier.short)}."
        )

    rules, alerts = _burn_rules(
        slo.name, objective, slo.period, slo.sli.error_ratio_query, tiers, describe
    )
    return _group(f"slo:{slo.name}", rules + alerts, interval)


def _group(name: str, rules: list[dict[str, Any]], interval: timedelta | None) -> dict[str, Any]:
    group: dict[str, Any] = {"name": name}
    if interval is not None:
        group["interval"] = prometheus_duration(interval)
    group["rules"] = rules
    return group


def render_slo_rules(
    slos: SLO | AvailabilitySLO | Iterable[SLO | AvailabilitySLO],
    *,
    histograms: Mapping[str, str] | None = None,
    **options: Any,
) -> str:
    """A Prometheus rule file (YAML) with one group per SLO: :func:`slo_rule_group` for
    latency SLOs, :func:`availability_rule_group` for availability ones.

    *histograms* maps a latency SLO's ``metric`` to its histogram base name; *options*
    are passed to :func:`slo_rule_group` (``unit``, ``selector``, ``windows``, ...; only
    ``windows``, ``min_window`` and ``interval`` apply to availability SLOs).
    Check the result with ``promtool check rules``.
    """
    items = [slos] if isinstance(slos, SLO | AvailabilitySLO) else list(slos)
    names = [slo.name for slo in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"SLO names must be unique within a rule file; repeated: {duplicates}")
    import yaml  # only needed here; keeps `import lexigram.monitor.slo` light

    histograms = histograms or {}
    groups = [
        slo_rule_group(slo, histogram=histograms.get(slo.metric), **options)
        if isinstance(slo, SLO)
        else availability_rule_group(
            slo, **{k: v for k, v in options.items() if k in ("windows", "min_window", "interval")}
        )
        for slo in items
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1_000_000)
