"""Sloth's ``prometheus/v1`` spec, rendered with Sloth's conventions (``slo/sloth.py``)::

    version: prometheus/v1
    service: myservice
    labels: {owner: myteam}
    slos:
      - name: requests-availability
        objective: 99.9                 # percent, in (0, 100)
        description: "..."
        labels: {category: availability}
        sli:
          events:
            error_query: sum(rate(http_requests_total{job="myservice",code=~"5.."}[{{.window}}]))
            total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
          # or raw: {error_ratio_query: ...}
        alerting:
          name: MyServiceHighErrorRate  # required unless both alerts are disabled
          labels: {category: availability}
          annotations: {runbook: https://...}
          page_alert: {labels: {severity: pageteam}}
          ticket_alert: {labels: {severity: slack}, disable: false}

The spec has no period: it is ``--default-slo-period`` (30 days by default), as in Sloth.
Sloth's SLI plugins are not supported.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..slo.availability import AvailabilitySLO
from ..slo.burn import scaled_windows
from ..slo.rules import prometheus_duration
from ..slo.sli import SLI, EventsSLI, RawSLI
from ..slo.sloth import SlothAlert, SlothAlerting, SlothSLO, sloth_rule_groups
from ._input import InputError
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
    no_unknown_keys,
)

__all__ = ["SLOTH_VERSION", "load_sloth", "spec_slo"]

SLOTH_VERSION = "prometheus/v1"
_TOP = ("version", "service", "labels", "slos")
_SLO = ("name", "objective", "description", "labels", "sli", "alerting")
_ALERTING = ("name", "labels", "annotations", "page_alert", "ticket_alert")
_ALERT = ("disable", "labels", "annotations")


def load_sloth(doc: Document, options: SpecOptions) -> list[SpecSLO]:
    """The SLOs of *doc*, a Sloth ``prometheus/v1`` spec."""
    content = expect_mapping(doc.content, doc.name)
    no_unknown_keys(content, _TOP, doc.name)
    service = expect_string(content.get("service"), f"{doc.name}: field 'service'")
    labels = expect_string_map(content.get("labels"), f"{doc.name}: field 'labels'")
    entries = content.get("slos")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{doc.name}: field 'slos' must be a non-empty list; got {entries!r}")
    specs: list[SpecSLO] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{doc.name}: slos[{index}]"
        entry = expect_mapping(entry, where, "{name: requests-availability, objective: 99.9}")
        no_unknown_keys(entry, _SLO, where)
        name = expect_string(entry.get("name"), f"{where}: field 'name'")
        where = f"{where} ({name!r})"
        if name in seen:
            raise InputError(f"{where}: field 'name': another SLO of {service!r} has this name")
        seen.add(name)
        objective = _objective(entry.get("objective"), f"{where}: field 'objective'")
        sli, queries = _sli(entry.get("sli"), where)
        slo = _availability(name, objective, options, sli, entry.get("description", ""), where)
        sloth = SlothSLO(
            service=service,
            slo=slo,
            labels={**labels, **expect_string_map(entry.get("labels"), f"{where}: 'labels'")},
            alerting=_alerting(entry.get("alerting"), f"{where}: field 'alerting'"),
            spec=SLOTH_VERSION,
        )
        spec = spec_slo(sloth, where, tuple(queries))
        check_windows(
            spec, options, f"period {prometheus_duration(slo.period)} (--default-slo-period)"
        )
        specs.append(spec)
    return specs


def spec_slo(sloth: SlothSLO, where: str, queries: tuple[QueryField, ...]) -> SpecSLO:
    """The :class:`SpecSLO` of *sloth*, rendered with Sloth's conventions."""
    slo = sloth.slo
    return SpecSLO(
        where=where,
        name=sloth.id,
        kind="availability",
        objective=slo.objective,
        period=slo.period,
        error_ratio=slo.sli.error_ratio_query,
        tiers=scaled_windows(slo.period),
        groups=sloth_rule_groups(sloth),
        queries=queries,
        labels=sloth.identity,
    )


def _availability(
    name: str, objective: float, options: SpecOptions, sli: SLI, description: object, where: str
) -> AvailabilitySLO:
    if not isinstance(description, str):
        raise InputError(f"{where}: field 'description' must be a string; got {description!r}")
    try:
        return AvailabilitySLO(name, objective, options.default_period, sli, description)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _objective(value: object, where: str) -> float:
    percent = expect_number(value, where)
    if not 0 < percent < 100:
        raise InputError(
            f"{where} {value!r} is invalid: it must be a percentage strictly between 0 and "
            "100, e.g. 99.9"
        )
    return float(Decimal(repr(percent)) / 100)


def _sli(value: object, at: str) -> tuple[SLI, list[QueryField]]:
    where = f"{at}: field 'sli'"
    sli = expect_mapping(value, where, "{events: {error_query: ..., total_query: ...}}")
    if "plugin" in sli:
        raise InputError(
            f"{at}: field 'sli.plugin': Sloth SLI plugins are not supported; write the "
            "queries as 'events' (error_query, total_query) or 'raw' (error_ratio_query)"
        )
    no_unknown_keys(sli, ("events", "raw"), where)
    if len(sli) != 1:
        raise InputError(f"{where} must hold exactly one of 'events' and 'raw'")
    kind = "events" if "events" in sli else "raw"
    keys = ("error_query", "total_query") if kind == "events" else ("error_ratio_query",)
    inner = f"{at}: field 'sli.{kind}'"
    body = expect_mapping(sli[kind], inner)
    no_unknown_keys(body, keys, inner)
    fields = {k: expect_string(body.get(k), f"{at}: field 'sli.{kind}.{k}'") for k in keys}
    if kind == "events":
        built = _make(lambda: EventsSLI(fields["total_query"], fields["error_query"]), inner)
    else:
        built = _make(lambda: RawSLI(fields["error_ratio_query"]), inner)
    return built, [QueryField(f"{at}: field 'sli.{kind}.{k}'", v) for k, v in fields.items()]


def _make(build: Any, where: str) -> SLI:
    try:
        sli: SLI = build()
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    return sli


def _alerting(value: object, where: str) -> SlothAlerting | None:
    if value is None:
        raise InputError(
            f"{where} is missing: give the alerts a name (alerting: {{name: "
            "MyServiceHighErrorRate}}), or disable both (page_alert/ticket_alert: "
            "{disable: true})"
        )
    alerting = expect_mapping(value, where)
    no_unknown_keys(alerting, _ALERTING, where)
    page = _alert(alerting.get("page_alert"), f"{where}.page_alert")
    ticket = _alert(alerting.get("ticket_alert"), f"{where}.ticket_alert")
    if page.disable and ticket.disable:
        return None
    name = expect_string(alerting.get("name"), f"{where}.name")
    return SlothAlerting(
        name=name,
        labels=expect_string_map(alerting.get("labels"), f"{where}.labels"),
        annotations=expect_string_map(alerting.get("annotations"), f"{where}.annotations"),
        page=page,
        ticket=ticket,
    )


def _alert(value: object, where: str) -> SlothAlert:
    if value is None:
        return SlothAlert()
    alert = expect_mapping(value, where)
    no_unknown_keys(alert, _ALERT, where)
    disable = alert.get("disable", False)
    if not isinstance(disable, bool):
        raise InputError(f"{where}.disable must be true or false; got {disable!r}")
    return SlothAlert(
        disable=disable,
        labels=expect_string_map(alert.get("labels"), f"{where}.labels"),
        annotations=expect_string_map(alert.get("annotations"), f"{where}.annotations"),
    )
