// lexigram-monitor status page: refreshes each section from its JSON endpoint.
// Plain DOM, no dependencies. Text is only ever set with createTextNode / setAttribute,
// never parsed as HTML. Polling pauses while the tab is hidden.
(function () {
  "use strict";
  var body = document.body;
  var base = body.getAttribute("data-base") || "";
  var every = parseFloat(body.getAttribute("data-refresh") || "0");
  var KEYS = ["overview", "health", "slos", "routes", "traces", "metrics", "config"];
  var FIGURES = ["rate", "errors", "p50", "p95", "p99"];
  var WINDOWS = ["1m", "5m"];
  var NAMES = { rate: "req/s", errors: "errors", p50: "p50", p95: "p95", p99: "p99" };
  var state = { sort: "rate", window: "1m", desc: true, filter: "", routes: null };
  var timer = null;
  var busy = false;
  var refreshed = 0;

  // -- DOM helpers ----------------------------------------------------------------------
  function add(node, kids) {
    (Array.isArray(kids) ? kids : [kids]).forEach(function (kid) {
      if (kid === null || kid === undefined || kid === false) return;
      node.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
    });
    return node;
  }
  function h(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, String(attrs[k]));
    });
    return add(node, kids);
  }
  function svg(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function muted(text) { return h("p", { class: "muted" }, text); }
  function scroll(table) { return h("div", { class: "scroll" }, table); }
  function table(cls, head, rows) {
    return scroll(h("table", { class: cls }, [
      head ? h("thead", {}, head) : null, h("tbody", {}, rows)]));
  }
  function tr(cells, attrs) { return h("tr", attrs || {}, cells); }
  function th(text) { return h("th", {}, text); }
  function td(kids, cls) { return h("td", cls ? { class: cls } : {}, kids); }

  // -- formats (as _format.py) ------------------------------------------------------------
  function ms(v) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v === "string") return v;
    if (v >= 1000) return (v / 1000).toFixed(2) + " s";
    if (v >= 100) return v.toFixed(0) + " ms";
    if (v >= 10) return v.toFixed(1) + " ms";
    return v.toFixed(2) + " ms";
  }
  function secs(v) { return v === null || v === undefined ? "\u2013" : ms(v * 1000); }
  function rate(v) {
    if (v === null || v === undefined) return "\u2013";
    return (v >= 100 ? v.toFixed(0) : v.toFixed(2)) + "/s";
  }
  function pct(v, digits) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v === "string") return v === "inf" ? "\u221e" : v;
    return (v * 100).toFixed(digits === undefined ? 1 : digits) + "%";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(t) {
    if (t === null || t === undefined) return "\u2013";
    var d = new Date(t * 1000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  function dur(total) {
    var s = Math.floor(total), d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60);
    s = s % 60;
    if (d) return d + "d " + hr + "h";
    if (hr) return hr + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }
  function burn(v) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v === "string") return v === "inf" ? "\u221e" : v;
    return v.toFixed(2) + "\u00d7";
  }
  function badge(status) {
    var text = status || "none";
    return h("span", { class: "badge st-" + text }, text);
  }
  function facts(items) {
    return h("dl", { class: "facts" }, items.map(function (it) {
      return h("div", {}, [h("dt", {}, it[0]), h("dd", {}, it[1])]);
    }));
  }
  function error(d) { return d.error ? h("p", { class: "error" }, d.error) : null; }
  function traceLink(id, text) {
    return h("a", { href: base + "/trace?id=" + id, "data-trace": id }, text);
  }
  function json(v) { return typeof v === "string" ? v : JSON.stringify(v); }

  // -- sections -------------------------------------------------------------------------
  var render = {};
  render.overview = function (d) {
    if (d.error) return [error(d)];
    return [facts([
      ["Service", d.service], ["Version", d.version || "\u2013"],
      ["Uptime", dur(d.uptime_seconds)], ["Backend", d.backend],
      ["Multi-process", d.multiprocess ? "on, " + d.workers + " workers" : "off (one process)"],
      ["Environment", d.environment], ["PID", d.pid], ["lexigram-monitor", d.library_version]
    ])];
  };
  render.health = function (d) {
    var groups = h("ul", { class: "groups" }, (d.groups || []).map(function (g) {
      return h("li", {}, [g.name + " ", badge(g.status)]);
    }));
    var checks = d.checks || [];
    if (!checks.length) return [error(d), groups, muted("No health check has run yet.")];
    var rows = checks.map(function (c) {
      var strip = h("span", { class: "strip" }, c.history.map(function (r) {
        return h("i", { class: "st-" + r.status, title: r.status + " at " + clock(r.at) });
      }));
      return tr([td(c.name), td(c.category || "\u2013"), h("td", { class: "status" }, badge(c.status)),
        td(ms(c.latency_ms), "num"), td(c.message), td(clock(c.changed_at)), td(strip)],
        { class: "row-" + c.status, "data-check": c.name });
    });
    var head = tr(["Check", "Group", "Status", "Latency", "Last message", "Since (UTC)",
      "Last " + d.history_size + " runs"].map(th));
    return [error(d), groups, table("health", head, rows)];
  };
  render.slos = function (d) {
    if (d.error) return [error(d)];
    if (!d.configured) return [muted("No SLO monitor is attached to this page.")];
    if (!d.slos.length) return [muted("No SLO is registered.")];
    return d.slos.map(function (s) {
      var b = s.error_budget_remaining;
      var value = b === null || typeof b === "string" ? 0 : Math.min(Math.max(b, 0), 1);
      var alerts = [];
      if (s.page) alerts.push(h("span", { class: "badge st-unhealthy" }, "page"));
      if (s.ticket) alerts.push(h("span", { class: "badge st-degraded" }, "ticket"));
      if (!alerts.length) alerts.push(badge("ok"));
      var pairs = s.pairs.map(function (p) {
        return tr([td(p.kind), td(p.long + " / " + p.short), td(burn(p.factor), "num"),
          td(burn(p.long_burn_rate), "num"), td(burn(p.short_burn_rate), "num"),
          td(p.firing ? "firing" : "ok")], { class: p.firing ? "firing" : "" });
      });
      var head = tr(["Alert", "Windows", "Fires at", "Long burn", "Short burn", "State"].map(th));
      return h("article", { class: "slo", "data-slo": s.name }, [
        h("h3", {}, [s.name + " "].concat(alerts)),
        h("p", { class: "muted" }, s.description),
        facts([["Objective", pct(s.objective, 2)], ["SLI", pct(s.sli, 3)],
          ["SLI counts", s.sli_text], ["Events", s.events === null ? "\u2013" : String(s.events)]]),
        h("p", { class: "budget" }, ["Error budget left: ", h("strong", {}, pct(b)), " ",
          h("meter", { min: 0, max: 1, low: 0.25, high: 0.5, optimum: 1, value: value.toFixed(4) },
            pct(b))]),
        table("pairs", head, pairs)
      ]);
    });
  };
  function figure(win, key) {
    var v = win[key];
    var text = key === "rate" ? rate(v) : key === "errors" ? pct(v) : secs(v);
    var id = win.traces[key];
    return id ? traceLink(id, text) : text;
  }
  function sortRows(rows) {
    var key = state.sort, w = state.window, sign = state.desc ? -1 : 1;
    return rows.slice().sort(function (a, b) {
      if (key === "route" || key === "method") {
        return a[key] < b[key] ? -sign : a[key] > b[key] ? sign : 0;
      }
      var x = a[w][key], y = b[w][key];
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x - y) * sign;
    });
  }
  render.routes = function (d) {
    state.routes = d;
    if (!d.rows || !d.rows.length) {
      return [error(d), muted("No request metrics yet (PrometheusMiddleware or OTelMiddleware record them).")];
    }
    function head(key, label, win) {
      var active = key === state.sort && (key === "method" || key === "route" || win === state.window);
      var dir = active && state.desc ? "asc" : "desc";
      var mark = active ? (state.desc ? " \u25bc" : " \u25b2") : "";
      return h("th", { "data-sort": key, "data-window": win }, h("a", {
        href: "?sort=" + key + "&window=" + win + "&dir=" + dir + "#routes" }, label + mark));
    }
    var top = [h("th", { colspan: 2 })].concat(WINDOWS.map(function (w) {
      return h("th", { colspan: FIGURES.length }, "last " + w);
    }));
    var second = [head("method", "Method", "1m"), head("route", "Route", "1m")];
    WINDOWS.forEach(function (w) {
      FIGURES.forEach(function (f) { second.push(head(f, NAMES[f], w)); });
    });
    var rows = sortRows(d.rows).map(function (r) {
      var cells = [td(r.method), td(h("code", {}, r.route))];
      WINDOWS.forEach(function (w) {
        FIGURES.forEach(function (f) { cells.push(td(figure(r[w], f), "num")); });
      });
      return tr(cells, { "data-route": r.route });
    });
    var out = [error(d), table("routes", [tr(top), tr(second)], rows)];
    if (d.hidden) out.push(muted(d.hidden + " more routes not shown."));
    return out;
  };
  function traceRows(items) {
    if (!items.length) return muted("No ended span is buffered.");
    var head = tr(["Trace", "Service", "Start (UTC)", "Duration", "Spans", ""].map(th));
    return table("traces", head, items.map(function (t) {
      return tr([td(traceLink(t.trace_id, t.name)), td(t.service), td(clock(t.start)),
        td(ms(t.duration_ms), "num"), td(String(t.spans), "num"), td(t.error ? "error" : "")],
        t.error ? { class: "row-unhealthy" } : {});
    }));
  }
  render.traces = function (d) {
    if (d.error) return [error(d)];
    return [muted(d.buffer.spans + " of at most " + d.buffer.capacity + " ended spans buffered."),
      h("h3", {}, "Slowest"), h("div", { class: "list", "data-list": "slowest" }, traceRows(d.slowest)),
      h("h3", {}, "Most recent"), h("div", { class: "list", "data-list": "recent" }, traceRows(d.recent))];
  };
  function seriesValue(kind, s) {
    if (kind === "counter" || kind === "gauge") {
      return s.value === null ? "\u2013" : String(s.value);
    }
    return "count " + s.count + (s.sum === null ? "" : ", sum " + s.sum);
  }
  function openFamilies() {
    var open = {};
    document.querySelectorAll("details.family[open]").forEach(function (el) {
      open[el.getAttribute("data-name")] = true;
    });
    return open;
  }
  render.metrics = function (d) {
    if (d.error) return [error(d)];
    var open = openFamilies();
    var input = h("input", { type: "search", id: "metric-filter", name: "filter",
      placeholder: "metric name or help", value: state.filter });
    var form = h("form", { class: "filter", method: "get", action: base + "#metrics" },
      [h("label", { for: "metric-filter" }, "Filter"), " ", input, " ", h("button", {}, "Apply")]);
    var families = d.families.map(function (f) {
      var rows = f.series.map(function (s) {
        var labels = Object.keys(s.labels).map(function (k) { return k + "=" + s.labels[k]; });
        return tr([td(h("code", {}, labels.join(", ") || "(no labels)")),
          td(seriesValue(f.type, s), "num")]);
      });
      var more = f.series.length >= f.series_count ? "" : " (first " + f.series.length + " shown)";
      return h("details", { class: "family", "data-name": f.name, open: open[f.name] ? "" : null }, [
        h("summary", {}, [h("code", {}, f.name), " ", h("span", { class: "type" }, f.type), " ",
          h("span", { class: "muted" }, f.series_count + " series" + more + " \u00b7 " + f.help)]),
        scroll(h("table", {}, rows))]);
    });
    return [form, muted(d.series_total + " series in total."),
      h("div", { class: "families" }, families.length ? families : muted("No metric matches."))];
  };
  render.config = function (d) {
    if (d.error) return [error(d)];
    var open = document.querySelector("[data-section=config] details[open]") !== null;
    var findings = d.findings.length ? d.findings.map(function (f) {
      return h("li", { class: "sev-" + f.severity }, [h("strong", {}, f.severity), " ",
        h("code", {}, f.field), ": " + f.message,
        f.suggestion ? h("span", { class: "muted" }, " (" + f.suggestion + ")") : null]);
    }) : [h("li", {}, "No findings for this environment.")];
    var rows = d.settings.map(function (kv) {
      return tr([td(h("code", {}, kv[0])), td(h("code", {}, json(kv[1])))]);
    });
    return [h("ul", { class: "findings" }, findings),
      h("details", { open: open ? "" : null }, [h("summary", {}, "Effective settings (secrets masked)"),
        scroll(h("table", { class: "settings" }, rows))])];
  };

  function kv(attributes) {
    var keys = Object.keys(attributes || {});
    if (!keys.length) return null;
    return h("table", { class: "kv" }, keys.map(function (k) {
      return tr([td(h("code", {}, k)), td(json(attributes[k]))]);
    }));
  }
  function waterfall(t) {
    var total = Math.max(t.duration_ms, 1e-9);
    var rows = t.waterfall.map(function (s) {
      var x = Math.min(1000 * s.offset_ms / total, 998);
      var width = Math.max(1000 * s.duration_ms / total, 2);
      var bar = svg("svg", { class: "bar", viewBox: "0 0 1000 10", preserveAspectRatio: "none",
        role: "img", "aria-label": "starts at " + ms(s.offset_ms) + ", lasts " + ms(s.duration_ms) });
      bar.appendChild(svg("rect", { x: x.toFixed(1), y: 0, width: width.toFixed(1), height: 10 }));
      var status = s.status + (s.status_message ? ": " + s.status_message : "");
      var events = s.events.map(function (e) {
        return h("li", {}, [ms(e.offset_ms) + ": " + e.name + " ", kv(e.attributes)]);
      });
      var links = s.links.map(function (l) {
        return h("li", {}, ["trace ", h("code", {}, l.trace_id), " span ", h("code", {}, l.span_id),
          " ", kv(l.attributes)]);
      });
      return h("li", { class: "span st-" + s.status, "data-depth": s.depth }, [
        h("div", { class: "label" }, [h("span", { class: "indent" }, new Array(s.depth + 1).join("\u00b7 ")),
          h("strong", {}, s.name), " ", h("span", { class: "muted" },
            s.kind + " \u00b7 " + s.service + " \u00b7 " + ms(s.duration_ms) + " \u00b7 " + status)]),
        bar,
        h("details", {}, [h("summary", {}, "attributes, events, links"), kv(s.attributes),
          events.length ? h("h4", {}, "Events") : null, events.length ? h("ul", {}, events) : null,
          links.length ? h("h4", {}, "Links") : null, links.length ? h("ul", {}, links) : null])]);
    });
    return h("div", { class: "trace", "data-trace-id": t.trace_id }, [
      h("h2", {}, [t.name + " ", h("span", { class: "muted" }, ms(t.duration_ms) + ", " + t.spans + " spans")]),
      h("p", { class: "muted" }, ["trace ", h("code", {}, t.trace_id), " \u00b7 ",
        h("a", { href: "#traces", "data-close": "1" }, "close")]),
      h("ol", { class: "waterfall" }, rows)]);
  }

  // -- fetching -------------------------------------------------------------------------
  function get(path) {
    return fetch(base + path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok && !data.error) data.error = "HTTP " + r.status;
          return data;
        });
      });
  }
  function query(key) {
    if (key === "routes") {
      return "?sort=" + state.sort + "&window=" + state.window + "&dir=" + (state.desc ? "desc" : "asc");
    }
    if (key === "metrics" && state.filter) return "?filter=" + encodeURIComponent(state.filter);
    return "";
  }
  function show(key, data) {
    var target = document.querySelector("[data-section=" + key + "]");
    if (!target) return;
    var focused = document.activeElement && document.activeElement.id === "metric-filter";
    var caret = focused ? document.activeElement.selectionStart : null;
    var fresh = document.createDocumentFragment();
    add(fresh, render[key](data));
    target.replaceChildren(fresh);
    if (focused) {
      var input = document.getElementById("metric-filter");
      input.focus();
      if (caret !== null) input.setSelectionRange(caret, caret);
    }
  }
  function stamp(text) {
    var el = document.getElementById("updated");
    if (el) el.textContent = text;
  }
  function refresh(keys) {
    if (busy) return Promise.resolve();
    busy = true;
    return Promise.all(keys.map(function (key) {
      return get("/api/" + key + query(key)).then(function (data) { show(key, data); });
    })).then(function () {
      refreshed += 1;
      body.setAttribute("data-refreshed", String(refreshed));
      stamp("updated " + clock(Date.now() / 1000) + " UTC");
    }, function (err) {
      stamp("refresh failed (" + err.message + "); retrying");
    }).then(function () { busy = false; });
  }
  function schedule() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!(every > 0) || document.hidden) return;
    timer = setTimeout(function () { refresh(KEYS).then(schedule); }, every * 1000);
  }
  function openTrace(id) {
    var view = document.getElementById("trace-view");
    if (!view) { window.location.href = base + "/trace?id=" + id; return; }
    get("/api/trace?id=" + id).then(function (t) {
      view.replaceChildren(t.error ? h("p", { class: "error" }, t.error) : waterfall(t));
      view.hidden = false;
      view.scrollIntoView({ block: "start" });
    });
  }

  // -- events ---------------------------------------------------------------------------
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest("a") : null;
    if (!link) return;
    if (link.hasAttribute("data-trace")) {
      ev.preventDefault();
      openTrace(link.getAttribute("data-trace"));
      return;
    }
    if (link.hasAttribute("data-close")) {
      ev.preventDefault();
      document.getElementById("trace-view").hidden = true;
      return;
    }
    var cell = link.parentElement;
    if (cell && cell.hasAttribute("data-sort") && state.routes) {
      ev.preventDefault();
      var key = cell.getAttribute("data-sort"), win = cell.getAttribute("data-window");
      var same = key === state.sort && (key === "route" || key === "method" || win === state.window);
      state.desc = same ? !state.desc : key !== "route" && key !== "method";
      state.sort = key;
      state.window = win;
      show("routes", state.routes);
    }
  });
  var pending = null;
  document.addEventListener("input", function (ev) {
    if (!ev.target || ev.target.id !== "metric-filter") return;
    state.filter = ev.target.value;
    if (pending !== null) clearTimeout(pending);
    pending = setTimeout(function () { pending = null; refresh(["metrics"]); }, 250);
  });
  document.addEventListener("submit", function (ev) {
    if (!ev.target.classList.contains("filter")) return;
    ev.preventDefault();
    refresh(["metrics"]);
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh(KEYS).then(schedule); else schedule();
  });

  // start from what the server rendered: the sort and filter of the URL, if any
  var params = new URLSearchParams(window.location.search);
  if (params.get("sort")) state.sort = params.get("sort");
  if (params.get("window")) state.window = params.get("window");
  if (params.get("dir")) state.desc = params.get("dir") !== "asc";
  if (params.get("filter")) state.filter = params.get("filter");
  if (document.querySelector("[data-section]")) schedule();
})();
