"""Server-rendered HTML of the status page: the whole page, each section, one trace.

The page reads without JavaScript: every section is rendered here from the same data the
JSON endpoints return, sort links and the metric filter are plain links and a GET form,
and a trace opens as its own page. ``status.js`` replaces a section's body with the same
markup built from the JSON. No inline script, style or event handler: bars are ``<meter>``
elements and the waterfall is SVG with ``x``/``width`` attributes, so the
Content-Security-Policy can forbid every inline source. Every value is escaped
(:func:`~._format.esc`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from ._format import NONE, TIMES, attr, clock, duration, esc, ms, percent, rate, seconds
from ._memo import HtmlMemo
from .routes import QUANTILES, WINDOWS

__all__ = ["SECTIONS", "HtmlMemo", "render_page", "render_section", "render_trace_page"]

#: Section ids in page order, with their headings.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("health", "Health"),
    ("slos", "SLOs"),
    ("routes", "HTTP routes"),
    ("traces", "Traces"),
    ("metrics", "Metrics"),
    ("config", "Configuration"),
)
_FIGURES = ("rate", "errors", *(label for label, _ in QUANTILES))


def _head(title: str, base: str, assets: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{esc(title)}</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet"{attr("href", f"{base}/static/status.css?v={assets}")}>'
        f"<script defer{attr('src', f'{base}/static/status.js?v={assets}')}></script>"
        "</head>"
    )


def render_page(
    data: Mapping[str, Any],
    *,
    base: str,
    refresh: float,
    assets: str,
    query: Mapping[str, str],
    memo: HtmlMemo | None = None,
) -> str:
    """The whole page from the data of every section (keys of :data:`SECTIONS`); *memo*
    keeps the HTML of unchanged parts for the next render."""
    head = data["overview"]
    service = head.get("service") or "service"
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS)
    parts = [
        _head(f"{service} · status", base, assets),
        f"<body{attr('data-base', base)}{attr('data-refresh', f'{refresh:g}')}>",
        f'<header class="top"><h1>{esc(service)}</h1><nav>{nav}</nav>'
        f'<p class="muted" id="updated">rendered {esc(clock(head.get("now")))} UTC'
        "</p></header><main>",
    ]
    for key, title in SECTIONS:
        body = render_section(key, data[key], base=base, query=query, memo=memo)
        parts.append(
            f'<section id="{key}"><h2>{esc(title)}</h2>'
            f'<div class="body" data-section="{key}">{body}</div></section>'
        )
        if key == "traces":
            parts.append('<section id="trace-view" hidden></section>')
    parts.append("</main></body></html>")
    if memo is not None:
        memo.done()
    return "".join(parts)


def render_section(
    key: str,
    data: Mapping[str, Any],
    *,
    base: str,
    query: Mapping[str, str] | None = None,
    memo: HtmlMemo | None = None,
) -> str:
    """The body of section *key* (*memo*: see :func:`render_page`); a section whose
    source failed (only ``error`` in its data) shows the error alone."""
    query = query or {}
    if "error" in data and len(data) == 1:
        return _error(data)
    if key == "overview":
        return _overview(data)
    if key == "health":
        return _health(data, memo)
    if key == "slos":
        return _slos(data)
    if key == "routes":
        return _routes(data, base, query, memo)
    if key == "traces":
        return _traces(data, base, memo)
    if key == "metrics":
        return _metrics(data, base, memo)
    if key == "config":
        if memo is None:
            return _config(data)
        # the repr tells True, 1 and 1.0 apart (their HTML differs, == does not)
        return memo.text(("config", repr(data)), _config, data)
    raise KeyError(key)


def _error(data: Mapping[str, Any]) -> str:
    message = data.get("error")
    return f'<p class="error">{esc(message)}</p>' if message else ""


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    cells = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in items)
    return f'<dl class="facts">{cells}</dl>'


def _overview(d: Mapping[str, Any]) -> str:
    mode = f"on, {d['workers']} workers" if d["multiprocess"] else "off (one process)"
    return _facts(
        [
            ("Service", d["service"]),
            ("Version", d["version"] or NONE),
            ("Uptime", duration(d["uptime_seconds"])),
            ("Backend", d["backend"]),
            ("Multi-process", mode),
            ("Environment", d["environment"]),
            ("PID", d["pid"]),
            ("lexigram-monitor", d["library_version"]),
        ]
    )


def _badge(status: Any) -> str:
    text = status or "none"
    return f'<span class="badge st-{esc(text)}">{esc(text)}</span>'


def _check_row(c: Mapping[str, Any]) -> str:
    marks = []
    escaped: dict[str, str] = {}  # few distinct statuses, many runs
    for r in c["history"]:
        status = escaped.get(r["status"])
        if status is None:
            status = escaped[r["status"]] = esc(r["status"])
        marks.append(f'<i class="st-{status}" title="{status} at {clock(r["at"])}"></i>')
    return (
        f'<tr class="row-{esc(c["status"])}"{attr("data-check", c["name"])}>'
        f"<td>{esc(c['name'])}</td><td>{esc(c['category'] or NONE)}</td>"
        f'<td class="status">{_badge(c["status"])}</td>'
        f'<td class="num">{ms(c["latency_ms"])}</td><td>{esc(c["message"])}</td>'
        f"<td>{clock(c['changed_at'])}</td>"
        f'<td><span class="strip">{"".join(marks)}</span></td></tr>'
    )


def _health(d: Mapping[str, Any], memo: HtmlMemo | None = None) -> str:
    groups = "".join(
        f"<li>{esc(g['name'])} {_badge(g['status'])}</li>" for g in d.get("groups", ())
    )
    checks = d.get("checks", ())
    if memo is None:
        rows = [_check_row(c) for c in checks]
    else:
        rows = [memo.html(c, _check_row) for c in checks]
    if not rows:
        table = '<p class="muted">No health check has run yet.</p>'
    else:
        table = (
            '<div class="scroll"><table class="health"><thead><tr><th>Check</th><th>Group</th>'
            "<th>Status</th><th>Latency</th><th>Last message</th><th>Since (UTC)</th>"
            f"<th>Last {esc(d.get('history_size', ''))} runs</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
    return f'{_error(d)}<ul class="groups">{groups}</ul>{table}'


def _slos(d: Mapping[str, Any]) -> str:
    if not d.get("configured"):
        return '<p class="muted">No SLO monitor is attached to this page.</p>'
    cards = []
    for s in d["slos"]:
        budget = s["error_budget_remaining"]
        value = 0.0 if budget is None or isinstance(budget, str) else min(max(budget, 0.0), 1.0)
        alerts = []
        if s["page"]:
            alerts.append('<span class="badge st-unhealthy">page</span>')
        if s["ticket"]:
            alerts.append('<span class="badge st-degraded">ticket</span>')
        pairs = "".join(
            f'<tr class="{"firing" if p["firing"] else ""}"><td>{esc(p["kind"])}</td>'
            f'<td>{esc(p["long"])} / {esc(p["short"])}</td><td class="num">{_burn(p["factor"])}'
            f'</td><td class="num">{_burn(p["long_burn_rate"])}</td>'
            f'<td class="num">{_burn(p["short_burn_rate"])}</td>'
            f"<td>{'firing' if p['firing'] else 'ok'}</td></tr>"
            for p in s["pairs"]
        )
        cards.append(
            f'<article class="slo"{attr("data-slo", s["name"])}><h3>{esc(s["name"])} '
            f"{''.join(alerts) or _badge('ok')}</h3>"
            f'<p class="muted">{esc(s["description"])}</p>'
            + _facts(
                [
                    ("Objective", percent(s["objective"], 2)),
                    ("SLI", percent(s["sli"], 3)),
                    ("SLI counts", s["sli_text"]),
                    ("Events", NONE if s["events"] is None else f"{s['events']:g}"),
                ]
            )
            + f'<p class="budget">Error budget left: <strong>{percent(budget)}</strong> '
            f'<meter min="0" max="1" low="0.25" high="0.5" optimum="1"'
            f"{attr('value', f'{value:.4f}')}>{percent(budget)}</meter></p>"
            '<div class="scroll"><table class="pairs"><thead><tr><th>Alert</th>'
            "<th>Windows</th><th>Fires at</th><th>Long burn</th><th>Short burn</th>"
            f"<th>State</th></tr></thead><tbody>{pairs}</tbody></table></div></article>"
        )
    return "".join(cards) or '<p class="muted">No SLO is registered.</p>'


def _burn(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return "∞" if value == "inf" else esc(value)
    return f"{value:.2f}{TIMES}"


_FORMATS = (("rate", rate), ("errors", percent), *((label, seconds) for label, _ in QUANTILES))
_PLAIN_CELLS = '<td class="num">{}</td>' * len(_FORMATS)
_WINDOW_LABELS = tuple(label for label, _ in WINDOWS)


def _cells(
    window: Mapping[str, Any], base: str, known: Sequence[dict[float, str]] | None = None
) -> str:
    """One window's cells (rate, error share, quantiles), each figure linked to its
    exemplar trace where there is one; *base* is escaped already. *known*: per format of
    :data:`_FORMATS`, texts of non-zero floats formatted before (read and extended)."""
    texts = []
    if known is None:
        for key, form in _FORMATS:
            texts.append(_text(window[key], form))
    else:
        for (key, form), cache in zip(_FORMATS, known, strict=False):  # equal lengths
            value = window[key]
            if value.__class__ is float and value:
                text = cache.get(value)
                if text is None:
                    text = cache[value] = form(value)
                texts.append(text)
            else:
                texts.append(_text(value, form))
    traces = window["traces"]
    if not any(traces.values()):
        return _PLAIN_CELLS.format(*texts)
    cells = []
    for (key, _), text in zip(_FORMATS, texts, strict=True):
        trace = traces.get(key)
        if trace is not None:
            tid = esc(trace)
            text = f'<a href="{base}/trace?id={tid}" data-trace="{tid}">{text}</a>'
        cells.append(f'<td class="num">{text}</td>')
    return "".join(cells)


def _text(value: Any, form: Callable[[Any], str]) -> str:
    """*value* in format *form*, escaped unless a number (numbers give safe text, the
    formats pass strings through)."""
    text = form(value)
    if value is not None and value.__class__ is not float and value.__class__ is not int:
        return esc(text)
    return text


def _route_head(method: str, route: str) -> str:
    """A route row's opening: the method and route cells."""
    text = esc(route)
    return f'<tr data-route="{text}"><td>{esc(method)}</td><td><code>{text}</code></td>'


def _route_row(
    r: Mapping[str, Any],
    base: str,
    known: Sequence[dict[float, str]] | None = None,
    memo: HtmlMemo | None = None,
) -> str:
    """One route's row (*base* escaped already, *known*: see :func:`_cells`; *memo*
    keeps the opening of each route's row)."""
    cells = "".join([_cells(r[label], base, known) for label in _WINDOW_LABELS])
    method, route = r["method"], r["route"]
    if memo is None:
        return f"{_route_head(method, route)}{cells}</tr>"
    head = memo.text(("route", method, route), _route_head, method, route)
    return f"{head}{cells}</tr>"


def _routes(
    d: Mapping[str, Any], base: str, query: Mapping[str, str], memo: HtmlMemo | None = None
) -> str:
    if not d.get("rows"):
        return _error(d) + (
            '<p class="muted">No request metrics yet (PrometheusMiddleware or '
            "OTelMiddleware record them).</p>"
        )
    sort, window = d.get("sort", "rate"), d.get("window", "1m")
    descending = d.get("descending", True)

    def head(key: str, label: str, win: str = "1m") -> str:
        active = key == sort and (key in ("method", "route") or win == window)
        direction = "asc" if active and descending else "desc"
        mark = (" ▼" if descending else " ▲") if active else ""
        href = f"?sort={key}&window={win}&dir={direction}#routes"
        return (
            f"<th{attr('data-sort', key)}{attr('data-window', win)}>"
            f"<a{attr('href', href)}>{esc(label)}{mark}</a></th>"
        )

    names = {"rate": "req/s", "errors": "errors", "p50": "p50", "p95": "p95", "p99": "p99"}
    top = "".join(f'<th colspan="{len(_FIGURES)}">last {esc(w)}</th>' for w, _ in WINDOWS)
    second = head("method", "Method") + head("route", "Route")
    second += "".join(head(f, names[f], w) for w, _ in WINDOWS for f in _FIGURES)
    base = esc(base)
    if memo is None:
        rows = [_route_row(r, base) for r in d["rows"]]
    else:  # an unchanged row (the very dict) as a whole, else figures' texts by value
        known = [memo.figures.setdefault(form, {}) for _, form in _FORMATS]

        def row(r: Mapping[str, Any]) -> str:
            return _route_row(r, base, known, memo)

        rows = [memo.html(r, row, base) for r in d["rows"]]
    more = ""
    if d.get("hidden"):
        more = f'<p class="muted">{esc(d["hidden"])} more routes not shown.</p>'
    return (
        f'{_error(d)}<div class="scroll"><table class="routes"><thead>'
        f'<tr><th colspan="2"></th>{top}</tr><tr>{second}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{more}"
    )


def _trace_row(t: Mapping[str, Any], base: str) -> str:
    href = f"{base}/trace?id={t['trace_id']}"
    marked = ' class="row-unhealthy"' if t["error"] else ""
    return (
        f"<tr{marked}>"
        f"<td><a{attr('href', href)}{attr('data-trace', t['trace_id'])}>{esc(t['name'])}</a>"
        f"</td><td>{esc(t['service'])}</td><td>{clock(t['start'])}</td>"
        f'<td class="num">{ms(t["duration_ms"])}</td><td class="num">{esc(t["spans"])}</td>'
        f"<td>{'error' if t['error'] else ''}</td></tr>"
    )


def _trace_rows(items: Sequence[Mapping[str, Any]], base: str, memo: HtmlMemo | None = None) -> str:
    if memo is None:
        rows = [_trace_row(t, base) for t in items]
    else:  # a trace's summary is the same dict while its spans are
        row = partial(_trace_row, base=base)
        rows = [memo.html(t, row, base) for t in items]
    if not rows:
        return '<p class="muted">No ended span is buffered.</p>'
    return (
        '<div class="scroll"><table class="traces"><thead><tr><th>Trace</th><th>Service</th>'
        "<th>Start (UTC)</th><th>Duration</th><th>Spans</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _traces(d: Mapping[str, Any], base: str, memo: HtmlMemo | None = None) -> str:
    buffer = d["buffer"]
    return (
        f'<p class="muted">{esc(buffer["spans"])} of at most {esc(buffer["capacity"])} '
        "ended spans buffered.</p>"
        f'<h3>Slowest</h3><div class="list" data-list="slowest">'
        f"{_trace_rows(d['slowest'], base, memo)}</div>"
        f'<h3>Most recent</h3><div class="list" data-list="recent">'
        f"{_trace_rows(d['recent'], base, memo)}</div>"
    )


def _series_value(kind: str, s: Mapping[str, Any]) -> str:
    if kind in ("counter", "gauge"):
        value = s["value"]
        return NONE if value is None else esc(f"{value:g}" if not isinstance(value, str) else value)
    text = (
        f"count {s['count']}, sum {s['sum']:g}" if s["sum"] is not None else f"count {s['count']}"
    )
    return esc(text)


def _series_row(kind: str, s: Mapping[str, Any]) -> str:
    labels = esc(", ".join([f"{k}={v}" for k, v in s["labels"].items()]) or "(no labels)")
    return f'<tr><td><code>{labels}</code></td><td class="num">{_series_value(kind, s)}</td></tr>'


def _family(f: Mapping[str, Any], memo: HtmlMemo | None = None) -> str:
    kind = f["type"]
    if memo is None:
        series = "".join([_series_row(kind, s) for s in f["series"]])
    else:
        row = partial(_series_row, kind)
        series = "".join([memo.html(s, row) for s in f["series"]])
    shown = len(f["series"])
    more = "" if shown >= f["series_count"] else f" (first {shown} shown)"
    return (
        f'<details class="family"{attr("data-name", f["name"])}><summary><code>'
        f'{esc(f["name"])}</code> <span class="type">{esc(kind)}</span> '
        f'<span class="muted">{esc(f["series_count"])} series{esc(more)} · '
        f'{esc(f["help"])}</span></summary><div class="scroll"><table>{series}</table></div>'
        "</details>"
    )


def _metrics(d: Mapping[str, Any], base: str, memo: HtmlMemo | None = None) -> str:
    form = (
        f'<form class="filter" method="get"{attr("action", f"{base}#metrics")}>'
        '<label for="metric-filter">Filter</label> <input type="search" id="metric-filter" '
        f'name="filter" placeholder="metric name or help"{attr("value", d.get("filter", ""))}>'
        " <button>Apply</button></form>"
    )
    if memo is None:
        families = [_family(f) for f in d["families"]]
    else:  # an unchanged family as a whole, else its unchanged series
        family = partial(_family, memo=memo)
        families = [memo.html(f, family, children=f["series"]) for f in d["families"]]
    total = f'<p class="muted">{esc(d.get("series_total", 0))} series in total.</p>'
    body = "".join(families) or '<p class="muted">No metric matches.</p>'
    return f'{_error(d)}{form}{total}<div class="families">{body}</div>'


def _config(d: Mapping[str, Any]) -> str:
    findings = "".join(
        f'<li class="sev-{esc(f["severity"])}"><strong>{esc(f["severity"])}</strong> '
        f"<code>{esc(f['field'])}</code>: {esc(f['message'])}"
        + (f' <span class="muted">({esc(f["suggestion"])})</span>' if f["suggestion"] else "")
        + "</li>"
        for f in d["findings"]
    )
    findings = findings or "<li>No findings for this environment.</li>"
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(_json(v))}</code></td></tr>"
        for k, v in d["settings"]
    )
    return (
        f'<ul class="findings">{findings}</ul><details><summary>Effective settings '
        f'(secrets masked)</summary><div class="scroll"><table class="settings">{rows}'
        "</table></div></details>"
    )


def _json(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def render_trace_page(
    trace: Mapping[str, Any] | None, *, base: str, assets: str, trace_id: str
) -> str:
    """A trace's own page (the waterfall without JavaScript)."""
    back = f"<p><a{attr('href', f'{base}#traces')}>← back to the status page</a></p>"
    if trace is None:
        body = f'<p class="error">Trace {esc(trace_id)} is not in the span buffer.</p>'
    else:
        body = render_waterfall(trace)
    return (
        _head(f"trace {trace_id}", base, assets)
        + f'<body{attr("data-base", base)} data-refresh="0"><main>{back}{body}</main></body></html>'
    )


def render_waterfall(t: Mapping[str, Any]) -> str:
    """One trace: its summary and a row per span (bar, attributes, events, links)."""
    total = max(float(t["duration_ms"]), 1e-9)
    rows = []
    for s in t["waterfall"]:
        x = 1000.0 * float(s["offset_ms"]) / total
        width = max(1000.0 * float(s["duration_ms"]) / total, 2.0)
        details = _kv(s["attributes"])
        events = "".join(
            f"<li>{ms(e['offset_ms'])}: {esc(e['name'])} {_kv(e['attributes'])}</li>"
            for e in s["events"]
        )
        links = "".join(
            f"<li>trace <code>{esc(link['trace_id'])}</code> span <code>{esc(link['span_id'])}"
            f"</code> {_kv(link['attributes'])}</li>"
            for link in s["links"]
        )
        status = s["status"] + (f": {s['status_message']}" if s["status_message"] else "")
        label = f"starts at {ms(s['offset_ms'])}, lasts {ms(s['duration_ms'])}"
        rows.append(
            f'<li class="span st-{esc(s["status"])}"{attr("data-depth", s["depth"])}>'
            f'<div class="label"><span class="indent">{"· " * int(s["depth"])}</span>'
            f'<strong>{esc(s["name"])}</strong> <span class="muted">{esc(s["kind"])} · '
            f"{esc(s['service'])} · {ms(s['duration_ms'])} · {esc(status)}</span></div>"
            '<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" role="img"'
            f"{attr('aria-label', label)}>"
            f'<rect{attr("x", f"{min(x, 998.0):.1f}")} y="0"{attr("width", f"{width:.1f}")} '
            'height="10"></rect></svg>'
            f"<details><summary>attributes, events, links</summary>{details}"
            + (f"<h4>Events</h4><ul>{events}</ul>" if events else "")
            + (f"<h4>Links</h4><ul>{links}</ul>" if links else "")
            + "</details></li>"
        )
    return (
        f'<div class="trace"{attr("data-trace-id", t["trace_id"])}><h2>{esc(t["name"])} '
        f'<span class="muted">{ms(t["duration_ms"])}, {esc(t["spans"])} spans</span></h2>'
        f'<p class="muted">trace <code>{esc(t["trace_id"])}</code></p>'
        f'<ol class="waterfall">{"".join(rows)}</ol></div>'
    )


def _kv(attributes: Mapping[str, Any]) -> str:
    if not attributes:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td>{esc(_json(v))}</td></tr>"
        for k, v in attributes.items()
    )
    return f'<table class="kv">{rows}</table>'
