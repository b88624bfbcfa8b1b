"""OpenSLO specs (``openslo/v1alpha`` as Sloth reads it, and ``openslo/v1``), rendered with
Sloth's conventions (``slo/sloth.py``).

``v1alpha``: ``kind: SLO`` with ``spec.service``, ``spec.objectives[].ratioMetrics.
good/total.query`` and ``target`` (a ratio), ``spec.timeWindows[0]`` (``count`` and
``unit`` Second..Week, rolling).

``v1``: ``kind: SLO`` with ``spec.service``, an inline ``spec.indicator`` or an
``indicatorRef`` to a ``kind: SLI`` document of the same file, whose spec is a
``ratioMetric`` (``good`` or ``bad``, and ``total``, each ``metricSource.spec.query``
of type Prometheus) or a ``thresholdMetric`` (a histogram: ``objectives[].op`` ``lt``
or ``lte`` and ``value``, a bucket bound of it in its unit, make it a latency SLO);
``spec.timeWindow[0].duration`` (rolling) and ``objectives[].target``.
``kind: Service`` documents are accepted and produce nothing.

Queries contain ``{{.window}}`` (as in Sloth), or, in ``v1`` with ``counter: true``,
are a plain counter selector that the rules wrap in ``sum(rate(...[window]))``. An SLO
with several objectives becomes one SLO per objective, named ``<name>-<objective
displayName or index>``. OpenSLO has no alert names: both alerts are called
``SLOErrorBudgetBurn`` (told apart by ``sloth_severity``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..slo.availability import AvailabilitySLO
from ..slo.rules import check_bucket_bound
from ..slo.sli import SLI, WINDOW_PLACEHOLDER, EventsSLI, HistogramSLI
from ..slo.sloth import SlothAlerting, SlothSLO
from ._duration import parse_duration
from ._input import InputError
from ._slo_sloth import spec_slo
from ._slo_spec import (
    Document,
    QueryField,
    SpecOptions,
    SpecSLO,
    check_windows,
    expect_mapping,
    expect_number,
    expect_string,
    expect_string_map,
)

__all__ = ["OPENSLO_VERSIONS", "load_openslo"]

OPENSLO_VERSIONS = ("openslo/v1alpha", "openslo/v1")
ALERT_NAME = "SLOErrorBudgetBurn"
_UNITS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86_400, "Week": 604_800}
_MATCHERS = r"\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*{op}\s*\"(?:[^\"\\]|\\.)*\"\s*,?\s*)*"
# A plain vector selector: metric{label op "value", ...} (any matcher operator).
_SELECTOR = re.compile(
    r"\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{" + _MATCHERS.format(op="(?:=~|!~|!=|=)") + r"\})?\s*"
)
# A histogram selector with equality matchers only.
_HISTOGRAM = re.compile(
    r"\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<matchers>"
    + _MATCHERS.format(op="=")
    + r")\})?\s*"
)
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*\"((?:[^\"\\]|\\.)*)\"")


def load_openslo(docs: list[Document], options: SpecOptions) -> list[SpecSLO]:
    """The SLOs of *docs*, OpenSLO documents of one file (SLI documents first indexed)."""
    indicators: dict[str, tuple[Document, dict[str, Any]]] = {}
    for doc in docs:
        content = expect_mapping(doc.content, doc.name)
        if content.get("kind") == "SLI":
            name = _metadata_name(content, doc)
            indicators[name] = (doc, content)
    specs: list[SpecSLO] = []
    for doc in docs:
        content = expect_mapping(doc.content, doc.name)
        kind = content.get("kind")
        if kind in ("SLI", "Service"):
            continue
        if kind != "SLO":
            raise doc.error(
                f"field 'kind' {kind!r} is not supported; use SLO (with SLI and Service "
                "documents beside it)"
            )
        specs += _slos(doc, content, indicators, options)
    return specs


def _metadata_name(content: dict[str, Any], doc: Document) -> str:
    metadata = expect_mapping(content.get("metadata"), f"{doc.name}: field 'metadata'")
    return expect_string(metadata.get("name"), f"{doc.name}: field 'metadata.name'")


def _slos(
    doc: Document,
    content: dict[str, Any],
    indicators: dict[str, tuple[Document, dict[str, Any]]],
    options: SpecOptions,
) -> list[SpecSLO]:
    version = content["apiVersion"]
    name = _metadata_name(content, doc)
    where = f"{doc.name}: SLO {name!r}"
    metadata = content["metadata"]
    labels = expect_string_map(metadata.get("labels"), f"{where}: field 'metadata.labels'")
    spec = expect_mapping(content.get("spec"), f"{where}: field 'spec'")
    service = expect_string(spec.get("service"), f"{where}: field 'spec.service'")
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise InputError(
            f"{where}: field 'spec.budgetingMethod' {method!r} is not supported: only "
            "Occurrences (good events over all events) maps to Prometheus rules"
        )
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise InputError(f"{where}: field 'spec.description' must be a string")
    if version == "openslo/v1alpha":
        period = _v1alpha_period(spec.get("timeWindows"), f"{where}: field 'spec.timeWindows'")
        indicator: dict[str, Any] = {}
    else:
        period = _v1_period(spec.get("timeWindow"), f"{where}: field 'spec.timeWindow'")
        indicator = _indicator(spec, indicators, where)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise InputError(f"{where}: field 'spec.objectives' must be a non-empty list")
    out: list[SpecSLO] = []
    for index, objective in enumerate(objectives):
        at = f"{where}: spec.objectives[{index}]"
        objective = expect_mapping(objective, at)
        if version == "openslo/v1alpha":
            sli, queries = _v1alpha_sli(objective, at)
        else:
            sli, queries = _v1_sli(indicator, objective, at, options)
        target = expect_number(objective.get("target"), f"{at}: field 'target'")
        if not 0 < target < 1:
            raise InputError(
                f"{at}: field 'target' {objective.get('target')!r} is invalid: it must be "
                "a ratio strictly between 0 and 1, e.g. 0.999"
            )
        suffix = objective.get("displayName") or str(index)
        slo_name = name if len(objectives) == 1 else f"{name}-{suffix}"
        try:
            slo = AvailabilitySLO(slo_name, target, period, sli, description)
        except ValueError as exc:
            raise InputError(f"{at}: {exc}") from None
        sloth = SlothSLO(service, slo, labels, SlothAlerting(ALERT_NAME), spec=str(version))
        spec_item = spec_slo(sloth, at, tuple(queries))
        if isinstance(sli, HistogramSLI):
            spec_item = replace(spec_item, kind="latency")
        check_windows(spec_item, options, "spec.timeWindow")
        out.append(spec_item)
    return out


def _v1alpha_period(value: object, where: str) -> timedelta:
    windows = value if isinstance(value, list) else None
    if not windows:
        raise InputError(f"{where} must be a list with one time window; got {value!r}")
    window = expect_mapping(windows[0], f"{where}[0]")
    if window.get("isRolling", True) is not True:
        raise InputError(f"{where}[0]: calendar windows are not supported; use isRolling: true")
    unit = window.get("unit")
    if unit not in _UNITS:
        raise InputError(
            f"{where}[0]: field 'unit' {unit!r} is not supported; use one of {', '.join(_UNITS)}"
        )
    count = window.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise InputError(f"{where}[0]: field 'count' must be an integer > 0; got {count!r}")
    return timedelta(seconds=count * _UNITS[unit])


def _v1_period(value: object, where: str) -> timedelta:
    windows = value if isinstance(value, list) else None
    if not windows:
        raise InputError(f"{where} must be a list with one time window; got {value!r}")
    window = expect_mapping(windows[0], f"{where}[0]")
    if window.get("isRolling", True) is not True:
        raise InputError(f"{where}[0]: calendar windows are not supported; use isRolling: true")
    try:
        return parse_duration(window.get("duration"))
    except ValueError as exc:
        raise InputError(f"{where}[0]: field 'duration': {exc}") from None


def _v1alpha_sli(objective: dict[str, Any], where: str) -> tuple[SLI, list[QueryField]]:
    ratio = expect_mapping(objective.get("ratioMetrics"), f"{where}: field 'ratioMetrics'")
    queries = {}
    for key in ("good", "total"):
        metric = expect_mapping(ratio.get(key), f"{where}: field 'ratioMetrics.{key}'")
        field_name = f"{where}: field 'ratioMetrics.{key}.query'"
        queries[key] = _template(metric.get("query"), field_name, counter=False)
    try:
        sli = EventsSLI(queries["total"], good_query=queries["good"])
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return sli, [QueryField(f"{where}: ratioMetrics.{k}.query", q) for k, q in queries.items()]


def _indicator(
    spec: dict[str, Any], indicators: dict[str, tuple[Document, dict[str, Any]]], where: str
) -> dict[str, Any]:
    if "indicator" in spec:
        indicator = expect_mapping(spec["indicator"], f"{where}: field 'spec.indicator'")
        return expect_mapping(indicator.get("spec"), f"{where}: field 'spec.indicator.spec'")
    ref = spec.get("indicatorRef")
    if not isinstance(ref, str) or ref not in indicators:
        raise InputError(
            f"{where}: field 'spec.indicatorRef' {ref!r} names no 'kind: SLI' document of "
            f"this file (known: {', '.join(indicators) or 'none'}); or give spec.indicator"
        )
    doc, content = indicators[ref]
    return expect_mapping(content.get("spec"), f"{doc.name}: SLI {ref!r}: field 'spec'")


def _v1_sli(
    indicator: dict[str, Any], objective: dict[str, Any], where: str, options: SpecOptions
) -> tuple[SLI, list[QueryField]]:
    if "thresholdMetric" in indicator:
        return _threshold_sli(indicator["thresholdMetric"], objective, where, options), []
    ratio = expect_mapping(
        indicator.get("ratioMetric"), f"{where}: indicator field 'ratioMetric'",
        "{good: ..., total: ...} or thresholdMetric",
    )  # fmt: skip
    counter = ratio.get("counter", False) is True
    if ("good" in ratio) == ("bad" in ratio):
        raise InputError(f"{where}: indicator 'ratioMetric' needs exactly one of good and bad")
    queries = {}
    for key in ("good", "bad", "total"):
        if key in ratio:
            field_name = f"{where}: indicator field 'ratioMetric.{key}.metricSource.spec.query'"
            queries[key] = _template(_source_query(ratio[key], field_name), field_name, counter)
    try:
        sli = EventsSLI(queries["total"], queries.get("bad"), queries.get("good"))
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return sli, [QueryField(f"{where}: ratioMetric.{k}", q) for k, q in queries.items()]


def _source_query(value: object, where: str) -> str:
    metric = expect_mapping(value, where)
    source = expect_mapping(metric.get("metricSource"), where)
    kind = source.get("type", "Prometheus")
    if str(kind).lower() != "prometheus":
        raise InputError(f"{where}: metricSource type {kind!r} is not supported; use Prometheus")
    spec = expect_mapping(source.get("spec"), where)
    return expect_string(spec.get("query"), where)


def _template(value: object, where: str, counter: bool) -> str:
    query = expect_string(value, where)
    if WINDOW_PLACEHOLDER.search(query):
        return query
    if counter and _SELECTOR.fullmatch(query):
        return f"sum(rate({query.strip()}[{{{{.window}}}}]))"
    raise InputError(
        f"{where}: {query!r} has no [{{{{.window}}}}] range; write it as "
        "sum(rate(<counter>[{{.window}}])), or (openslo/v1) set counter: true with a plain "
        'counter selector such as http_requests_total{job="api"}'
    )


def _threshold_sli(
    value: object, objective: dict[str, Any], where: str, options: SpecOptions
) -> HistogramSLI:
    field_name = f"{where}: indicator field 'thresholdMetric.metricSource.spec.query'"
    query = _source_query({"metricSource": expect_mapping(value, field_name).get("metricSource")},
                          field_name)  # fmt: skip
    match = _HISTOGRAM.fullmatch(query)
    if match is None:
        raise InputError(
            f"{field_name}: {query!r} must name a histogram with equality matchers, e.g. "
            'http_request_duration_seconds{job="api"}'
        )
    histogram = match.group("name").removesuffix("_bucket")
    selector = dict(_MATCHER.findall(match.group("matchers") or ""))
    op = objective.get("op")
    if op not in ("lt", "lte"):
        raise InputError(
            f"{where}: field 'op' {op!r} is not supported for a histogram threshold; use lte "
            "(good = observations at most 'value')"
        )
    bound = expect_number(objective.get("value"), f"{where}: field 'value'")
    try:
        check_bucket_bound(bound, options.buckets, "field 'value'")
        return HistogramSLI(histogram, bound, selector)
    except ValueError as exc:
        raise InputError(f"{where}: {exc} (or pass the bounds with --buckets)") from None
