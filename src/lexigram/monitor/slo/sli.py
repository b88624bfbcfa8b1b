"""Service level indicators as error ratios: what share of events failed over a window.

Each SLI renders the PromQL of its error ratio over a window
(:meth:`error_ratio_query`); the rule generators record it for every alert window:

- :class:`RequestsSLI` — availability from the library's own request counter
  (``http_requests_total{method, route, status}``): requests whose ``status`` matches
  ``error_status`` (default ``5..``) over all requests, for one route or the service.
  It is also what :class:`~.monitor.SLOMonitor` reads in process.
- :class:`EventsSLI` — any pair of Prometheus queries: errors (or good events) over
  total events, as in Sloth's ``sli.events``.
- :class:`RawSLI` — one query that already is the error ratio (Sloth's ``sli.raw``).
- :class:`HistogramSLI` — latency: observations above a bucket bound over all
  observations of a Prometheus histogram.

Queries of :class:`EventsSLI` and :class:`RawSLI` are templates: ``{{.window}}`` (Sloth's
placeholder, spaces allowed) is replaced by the window, e.g. ``rate(x[{{.window}}])``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ..metrics.naming import validate_label_name, validate_metric_name

__all__ = [
    "SLI",
    "WINDOW_PLACEHOLDER",
    "EventsSLI",
    "HistogramSLI",
    "RawSLI",
    "RequestsSLI",
    "escape_label_value",
    "le_pattern",
    "promql_number",
    "render_window",
    "selector_text",
]

WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
"""Sloth's window placeholder in query templates."""


def escape_label_value(value: str) -> str:
    """*value* escaped for a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector_text(selector: Mapping[str, str], *extra: str) -> str:
    """``{k="v",...}`` from *selector* and the raw matchers *extra* (``{}`` when empty)."""
    items = [f'{k}="{escape_label_value(v)}"' for k, v in selector.items()]
    return "{" + ",".join([*items, *extra]) + "}"


def promql_number(value: float) -> str:
    """A PromQL number literal with no binary noise (``0.1`` stays ``0.1``)."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def le_pattern(bound: float) -> str:
    """Regex matching *bound* as an ``le`` label printed by Python or Go clients."""
    python = repr(float(bound))
    forms = dict.fromkeys([python, python.removesuffix(".0")])
    return "|".join(f.replace(".", "[.]").replace("+", "[+]") for f in forms)


def render_window(template: str, window: str) -> str:
    """*template* with every ``{{.window}}`` replaced by *window* (e.g. ``5m``)."""
    return WINDOW_PLACEHOLDER.sub(window, template)


def _check_selector(selector: Mapping[str, str], reserved: tuple[str, ...]) -> None:
    for key, value in selector.items():
        if key in reserved:
            raise ValueError(f"selector label {key!r} is invalid here: the SLI sets {key!r} itself")
        validate_label_name(key, "selector")
        if not isinstance(value, str):
            raise ValueError(f"selector label {key!r} has the non-string value {value!r}")


def _check_template(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} {value!r} is invalid: it must be a non-empty PromQL query")
    if not WINDOW_PLACEHOLDER.search(value):
        raise ValueError(
            f"{what} {value!r} has no {{{{.window}}}} placeholder: write the range of its "
            "rate() as [{{.window}}], e.g. sum(rate(http_requests_total[{{.window}}]))"
        )
    return value


@dataclass(frozen=True, slots=True)
class RequestsSLI:
    """Share of failed requests in the library's request counter.

    *metric* is the counter (``http_requests_total`` of ``PrometheusMiddleware``);
    *route* a route template (``/orders/{order_id}``) or None for the whole service;
    *error_status* a regex (anchored, as in PromQL) of the ``status`` label values that
    count as errors; *selector* extra label matchers for Prometheus (``{job: api}``),
    ignored in process for labels the counter does not have.
    """

    metric: str = "http_requests_total"
    route: str | None = None
    error_status: str = "5.."
    selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_metric_name(self.metric)
        if self.route is not None and not isinstance(self.route, str):
            raise ValueError(f"route {self.route!r} is invalid: it must be a string or None")
        try:
            re.compile(self.error_status)
        except (re.error, TypeError) as exc:
            raise ValueError(
                f"error_status {self.error_status!r} is not a valid regex ({exc}); "
                "e.g. '5..' for every 5xx status"
            ) from None
        _check_selector(self.selector, ("status", "route") if self.route else ("status",))
        object.__setattr__(self, "selector", dict(self.selector))

    def _matchers(self) -> dict[str, str]:
        route = {"route": self.route} if self.route is not None else {}
        return {**self.selector, **route}

    def error_ratio_query(self, window: str) -> str:
        """PromQL: failed requests over all requests in the last *window* (0, not no
        data, while no request has failed yet: a failed status has no series then)."""
        base = self._matchers()
        status = f'status=~"{escape_label_value(self.error_status)}"'
        errors = f"sum(rate({self.metric}{selector_text(base, status)}[{window}]))"
        total = f"sum(rate({self.metric}{selector_text(base)}[{window}]))"
        return f"({errors} or vector(0)) / ({total})"


@dataclass(frozen=True, slots=True)
class EventsSLI:
    """Errors (or good events) over total events, from two query templates.

    Exactly one of *error_query* and *good_query* is given; each query and
    *total_query* contain ``{{.window}}``. Without a good query the ratio is
    ``(errors) / (total)``, with one ``1 - ((good) / (total))``.
    """

    total_query: str
    error_query: str | None = None
    good_query: str | None = None

    def __post_init__(self) -> None:
        if (self.error_query is None) == (self.good_query is None):
            raise ValueError(
                "an events SLI needs exactly one of error_query and good_query (beside total_query)"
            )
        _check_template(self.total_query, "total_query")
        if self.error_query is not None:
            _check_template(self.error_query, "error_query")
        if self.good_query is not None:
            _check_template(self.good_query, "good_query")

    def error_ratio_query(self, window: str) -> str:
        """PromQL: the error ratio over *window*."""
        total = render_window(self.total_query, window).strip()
        if self.error_query is not None:
            return f"({render_window(self.error_query, window).strip()}) / ({total})"
        good = render_window(self.good_query or "", window).strip()
        return f"1 - (({good}) / ({total}))"


@dataclass(frozen=True, slots=True)
class RawSLI:
    """A query template that is the error ratio itself (Sloth's ``error_ratio_query``)."""

    error_ratio_query_template: str

    def __post_init__(self) -> None:
        _check_template(self.error_ratio_query_template, "error_ratio_query")

    def error_ratio_query(self, window: str) -> str:
        """PromQL: the template with *window* filled in."""
        return render_window(self.error_ratio_query_template, window).strip()


@dataclass(frozen=True, slots=True)
class HistogramSLI:
    """Share of a histogram's observations above *threshold* (a bucket bound, in the
    histogram's unit): the error ratio of a latency objective."""

    histogram: str
    threshold: float
    selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_metric_name(self.histogram)
        if not isinstance(self.threshold, int | float) or not self.threshold > 0:
            raise ValueError(f"threshold {self.threshold!r} is invalid: it must be a number > 0")
        _check_selector(self.selector, ("le",))
        object.__setattr__(self, "selector", dict(self.selector))

    def error_ratio_query(self, window: str) -> str:
        """PromQL: ``1 - (observations <= threshold) / (all observations)`` over *window*."""
        le = 'le=~"' + le_pattern(self.threshold) + '"'
        good = f"{self.histogram}_bucket{selector_text(self.selector, le)}"
        total = f"{self.histogram}_count{selector_text(self.selector)}"
        return f"1 - (sum(rate({good}[{window}])) / sum(rate({total}[{window}])))"


SLI = RequestsSLI | EventsSLI | RawSLI | HistogramSLI
"""Every kind of error-ratio indicator."""
