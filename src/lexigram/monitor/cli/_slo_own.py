"""Our own SLO file format (label ``slo`` on every rule)::

    selector: {job: api}      # optional: label matchers added to every series selector
    unit: seconds             # optional: unit of the histograms' observations
    buckets: [0.1, 0.25, 1]   # optional: the histograms' bounds (default: --buckets)
    interval: 1m              # optional: evaluation interval of the groups
    min_window: 1m            # optional: shortest rate() window after scaling
    burn_rate_windows:        # optional: default the SRE workbook's tiers for 30 days
      - {long: 1h, short: 5m, burn_rate: 14.4, severity: critical}
    slos:
      - name: api.p99_latency          # latency: required name, metric, percentile,
        metric: http.request.duration  #   threshold_ms (a bucket bound), window
        percentile: 0.99
        threshold_ms: 250
        window: 30d
        burn_rate_threshold: 1.0       # optional; also description, histogram, unit,
                                       #   selector, buckets
      - name: checkout.availability    # availability: required name, objective, window
        objective: 99.9                # percent of good events, in (0, 100)
        window: 30d
        sli:                           # optional, default: requests of the service
          requests: {route: /checkout, error_status: "5..", metric: http_requests_total}
          # or events: {error_query: ..., total_query: ...}  (or good_query)
          # or raw: {error_ratio_query: ...}   -- queries use [{{.window}}]
        selector: {job: api}           # optional; merged over the top-level selector
        description: "..."             # optional

Latency SLOs render with :func:`~lexigram.monitor.slo.slo_rule_group`, availability
SLOs with :func:`~lexigram.monitor.slo.availability_rule_group`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ..slo.availability import AvailabilitySLO
from ..slo.burn import BurnRateWindow
from ..slo.objective import SLO
from ..slo.rules import (
    Unit,
    availability_rule_group,
    clamped_windows,
    latency_sli,
    slo_rule_group,
)
from ..slo.sli import SLI, EventsSLI, RawSLI, RequestsSLI
from ._duration import parse_duration
from ._input import InputError
from ._slo_spec import (
    Document,
    QueryField,
    SpecOptions,
    SpecSLO,
    check_windows,
    expect_mapping,
    expect_number,
    expect_string_map,
    no_unknown_keys,
)

__all__ = ["TOP_KEYS", "load_own"]

TOP_KEYS = ("slos", "selector", "unit", "buckets", "interval", "min_window", "burn_rate_windows")
_LATENCY = ("name", "metric", "percentile", "threshold_ms", "window")
_LATENCY_OPTIONAL = ("burn_rate_threshold", "description", "histogram", "unit", "selector",
                     "buckets")  # fmt: skip
_AVAILABILITY = ("name", "objective", "window")
_AVAILABILITY_OPTIONAL = ("sli", "selector", "description")
_WINDOW_KEYS = ("long", "short", "burn_rate", "severity")


def load_own(doc: Document, options: SpecOptions) -> list[SpecSLO]:
    """The SLOs of *doc*, a document in our own format."""
    content = doc.content
    if not isinstance(content, dict):
        shown = "empty" if content is None else f"a YAML {type(content).__name__}"
        raise InputError(
            f"SLO file {doc.name!r} is {shown}; it must be a mapping with a 'slos:' list, "
            "e.g. 'slos: [{name: api, metric: http.request.duration, percentile: 0.99, "
            "threshold_ms: 250, window: 30d}]'"
        )
    no_unknown_keys(content, TOP_KEYS, f"SLO file {doc.name!r}")
    entries = content.get("slos")
    if not isinstance(entries, list) or not entries:
        shown = "missing" if entries is None else f"{type(entries).__name__} {entries!r}"
        raise InputError(
            f"SLO file {doc.name!r}: 'slos' must be a non-empty list of SLO mappings, got {shown}"
        )
    common: dict[str, Any] = {}
    for key in ("interval", "min_window"):
        if key in content:
            common[key] = _field(parse_duration, content[key], f"{doc.name}: {key}")
    if "burn_rate_windows" in content:
        common["windows"] = _windows(content["burn_rate_windows"], doc.name)
    base_selector = _selector(content.get("selector"), f"{doc.name}: selector")
    base_unit = _unit(content.get("unit", "seconds"), f"SLO file {doc.name!r}")
    base_buckets = _buckets(content.get("buckets"), f"{doc.name}: buckets")

    specs: list[SpecSLO] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{doc.name}: slos[{index}]"
        if not isinstance(entry, dict):
            raise InputError(
                f"{where}: each SLO must be a mapping with {', '.join(_LATENCY)} (latency) "
                f"or {', '.join(_AVAILABILITY)} (availability); got "
                f"{type(entry).__name__} {entry!r}"
            )
        name = entry.get("name")
        if isinstance(name, str) and name in seen:
            raise InputError(
                f"{where} ({name!r}): field 'name': {name!r} is already the name of "
                f"slos[{seen[name]}]; SLO names must be unique in a rule file"
            )
        if "objective" in entry and "percentile" not in entry:
            spec = _availability(entry, where, base_selector, common, options)
        else:
            spec = _latency(entry, where, base_selector, base_unit, base_buckets, common, options)
        seen[spec.name] = index
        check_windows(spec, options, "field 'window'")
        specs.append(spec)
    return specs


def _required(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if key not in entry]
    if missing:
        raise InputError(
            f"{where}: missing required field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}"
        )


def _strings(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key in entry and not isinstance(entry[key], str):
            raise InputError(
                f"{where}: field {key!r} must be a string, got {type(entry[key]).__name__} "
                f"{entry[key]!r} (quote it)"
            )


def _latency(
    entry: dict[str, Any],
    where: str,
    base_selector: dict[str, str],
    base_unit: Unit,
    base_buckets: tuple[float, ...] | None,
    common: dict[str, Any],
    options: SpecOptions,
) -> SpecSLO:
    no_unknown_keys(entry, _LATENCY + _LATENCY_OPTIONAL, where)
    _required(entry, _LATENCY, where)
    _strings(entry, ("name", "metric", "description", "histogram"), where)
    for key in ("percentile", "threshold_ms", "burn_rate_threshold"):
        value = entry.get(key, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(
                f"{where}: field {key!r} must be a number, got {type(value).__name__} "
                f"{value!r}" + (" (remove the quotes)" if isinstance(value, str) else "")
            )
    window = _field(parse_duration, entry["window"], f"{where}: field 'window'")
    try:
        slo = SLO(
            name=entry["name"],
            metric=entry["metric"],
            percentile=entry["percentile"],
            threshold_ms=entry["threshold_ms"],
            window=window,
            burn_rate_threshold=entry.get("burn_rate_threshold", 1.0),
            description=entry.get("description", ""),
        )
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    where = f"{where} ({slo.name!r})"
    selector = {**base_selector, **_selector(entry.get("selector"), f"{where}: 'selector'")}
    unit = _unit(entry.get("unit", base_unit), where)
    buckets = _buckets(entry.get("buckets"), f"{where}: field 'buckets'") or base_buckets
    if buckets is None and unit == "seconds":
        buckets = options.buckets
    try:
        group = slo_rule_group(
            slo,
            histogram=entry.get("histogram"),
            unit=unit,
            selector=selector,
            buckets=buckets,
            **common,
        )
    except (TypeError, ValueError) as exc:
        hint = "" if "bucket bound" not in str(exc) else " (declare the bounds with 'buckets:')"
        raise InputError(f"{where}: {exc}{hint}") from None
    sli = latency_sli(slo, histogram=entry.get("histogram"), unit=unit, selector=selector)
    return SpecSLO(
        where=where,
        name=slo.name,
        kind="latency",
        objective=slo.percentile,
        period=slo.window,
        error_ratio=sli.error_ratio_query,
        tiers=tuple(_tiers(slo.window, common)),
        groups=[group],
        labels={"slo": slo.name},
    )


def _availability(
    entry: dict[str, Any],
    where: str,
    base_selector: dict[str, str],
    common: dict[str, Any],
    options: SpecOptions,
) -> SpecSLO:
    no_unknown_keys(entry, _AVAILABILITY + _AVAILABILITY_OPTIONAL, where)
    _required(entry, _AVAILABILITY, where)
    _strings(entry, ("name", "description"), where)
    objective = expect_number(entry["objective"], f"{where}: field 'objective'")
    if not 0 < objective < 100:
        raise InputError(
            f"{where}: field 'objective' {entry['objective']!r} is invalid: it must be a "
            "percentage strictly between 0 and 100, e.g. 99.9"
        )
    window = _field(parse_duration, entry["window"], f"{where}: field 'window'")
    where = f"{where} ({entry['name']!r})"
    selector = {**base_selector, **_selector(entry.get("selector"), f"{where}: 'selector'")}
    sli, queries = _sli(entry.get("sli"), selector, where)
    try:
        slo = AvailabilitySLO(
            name=entry["name"],
            objective=_percent_to_ratio(objective),
            period=window,
            sli=sli,
            description=entry.get("description", ""),
        )
        group = availability_rule_group(slo, **common)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None
    return SpecSLO(
        where=where,
        name=slo.name,
        kind="availability",
        objective=slo.objective,
        period=slo.period,
        error_ratio=sli.error_ratio_query,
        tiers=tuple(_tiers(window, common)),
        groups=[group],
        queries=tuple(queries),
        labels={"slo": slo.name},
    )


def _percent_to_ratio(percent: float) -> float:
    return float(Decimal(repr(percent)) / 100)


def _sli(value: object, selector: dict[str, str], at: str) -> tuple[SLI, list[QueryField]]:
    where = f"{at}: field 'sli'"
    if value is None:
        return _build(lambda: RequestsSLI(selector=selector), where), []
    sli = expect_mapping(value, where, "{requests: {route: /checkout}}")
    if len(sli) != 1:
        raise InputError(
            f"{where} must hold exactly one of 'requests', 'events' and 'raw'; got "
            f"{sorted(sli) or 'none'}"
        )
    ((kind, body),) = sli.items()
    no_unknown_keys({kind: None}, ("requests", "events", "raw"), where)
    inner = f"{at}: field 'sli.{kind}'"
    fields = expect_mapping(body if body is not None else {}, inner)
    if kind == "requests":
        no_unknown_keys(fields, ("metric", "route", "error_status"), inner)
        return _build(lambda: RequestsSLI(selector=selector, **fields), inner), []
    if kind == "events":
        no_unknown_keys(fields, ("error_query", "good_query", "total_query"), inner)
        built: SLI = _build(lambda: EventsSLI(**fields), inner)
    else:
        no_unknown_keys(fields, ("error_ratio_query",), inner)
        built = _build(lambda: RawSLI(fields.get("error_ratio_query")), inner)  # type: ignore[arg-type]
    queries = [QueryField(f"{at}: field 'sli.{kind}.{k}'", str(v)) for k, v in fields.items()]
    return built, queries


def _build(make: Callable[[], SLI], where: str) -> SLI:
    try:
        return make()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def _tiers(period: timedelta, common: dict[str, Any]) -> list[BurnRateWindow]:
    kwargs = {k: common[k] for k in ("windows", "min_window") if k in common}
    return clamped_windows(period, **kwargs)


def _windows(value: object, name: str) -> list[BurnRateWindow]:
    if not isinstance(value, list) or not value:
        raise InputError(
            f"{name}: 'burn_rate_windows' must be a non-empty list of mappings with long, "
            f"short, burn_rate and severity, got {value!r}"
        )
    windows = []
    for index, item in enumerate(value):
        where = f"{name}: burn_rate_windows[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be a mapping with {', '.join(_WINDOW_KEYS)}")
        no_unknown_keys(item, _WINDOW_KEYS, where)
        missing = [key for key in _WINDOW_KEYS if key not in item]
        if missing:
            raise InputError(f"{where}: missing {', '.join(repr(m) for m in missing)}")
        burn_rate, severity = item["burn_rate"], item["severity"]
        if isinstance(burn_rate, bool) or not isinstance(burn_rate, int | float):
            raise InputError(f"{where}: field 'burn_rate' must be a number, got {burn_rate!r}")
        if not isinstance(severity, str):
            raise InputError(f"{where}: field 'severity' must be a string, got {severity!r}")
        long = _field(parse_duration, item["long"], f"{where}: field 'long'")
        short = _field(parse_duration, item["short"], f"{where}: field 'short'")
        try:
            windows.append(BurnRateWindow(long, short, float(burn_rate), severity))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
    return windows


def _unit(value: object, where: str) -> Unit:
    if value == "seconds":
        return "seconds"
    if value == "milliseconds":
        return "milliseconds"
    raise InputError(
        f"{where}: field 'unit' {value!r} is invalid; use 'seconds' or 'milliseconds' "
        "(the unit of the histogram's observations)"
    )


def _selector(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InputError(
            f"{where} must map label names to string values, e.g. {{job: api}}; got "
            f"{value!r} (quote numbers: {{code: '200'}})"
        )
    return expect_string_map(value, where)


def _buckets(value: object, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in value)
    ):
        raise InputError(
            f"{where} must be a non-empty list of the histogram's upper bounds, e.g. "
            f"[0.1, 0.25, 0.5, 1]; got {value!r}"
        )
    return tuple(float(b) for b in value)


def _field(parse: Any, value: object, where: str) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
