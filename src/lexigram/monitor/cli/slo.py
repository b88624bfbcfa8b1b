"""``python -m lexigram.monitor slo rules|check``: SLOs as code, for Prometheus.

``slo rules FILE [--output OUT]`` renders Prometheus recording and alerting rules for
the SLOs of FILE, printed or written to ``OUT`` atomically (a reloading Prometheus never
reads half a file; on any error nothing is written). FILE is in one of three formats
(one per file, every YAML document of it in that format):

- our own (``slos:``, see ``_slo_own.py``): one group ``slo:<name>`` per SLO, labelled
  ``slo``: SLI rules, ``SLOErrorBudgetBurn`` tiers, metadata rules (and, for latency,
  the percentile rule and alert);
- Sloth ``version: prometheus/v1`` (``_slo_sloth.py``) and OpenSLO ``apiVersion:
  openslo/v1alpha`` or ``openslo/v1`` (``_slo_openslo.py``): Sloth's conventions
  (``sloth_*`` labels, metadata rules, one page and one ticket alert), so the rules can
  replace Sloth's own under its dashboards.

The user's queries are checked with ``promtool`` (``--promtool PATH``, else from
``$PATH``; without it they are not checked, which is said on stderr); no alert window may
be shorter than ``--scrape-interval`` (default 1m); latency thresholds must be bucket
bounds (``buckets:`` in the file, else ``--buckets``, else Prometheus' defaults).

``slo check FILE URL [--json]`` evaluates the same SLOs against the Prometheus at URL
and prints, per SLO, the objective, SLI, error budget left, burn rate per window pair
and alert state (``--json``: one JSON document). Exit 0: no alert firing; 1: a page or
ticket fires; 2: unusable input or an unreachable Prometheus (every input error names
the document, the SLO and the field).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from ._duration import parse_duration
from ._input import InputError
from ._slo_check import evaluate, format_status, status_dict
from ._slo_load import load_spec
from ._slo_promtool import check_queries, find_promtool
from ._slo_spec import SpecOptions, SpecSLO
from ._text import print_json

__all__ = [
    "EXIT_FIRING",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "add_arguments",
    "load_rule_groups",
    "load_specs",
    "parse_duration",
    "render_rules_file",
    "run",
    "run_check",
    "run_rules",
]

EXIT_OK = 0
EXIT_FIRING = 1
EXIT_UNUSABLE = 2
_EXAMPLE = """example FILE in our own format (Sloth prometheus/v1 and OpenSLO specs work too):

  selector: {job: api}
  slos:
    - name: api.p99_latency
      metric: http.request.duration
      histogram: http_request_duration_seconds
      percentile: 0.99
      threshold_ms: 250
      window: 30d
    - name: api.availability
      objective: 99.9
      window: 30d
      sli: {requests: {route: /checkout}}
"""


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"buckets {text!r} must be comma-separated numbers, e.g. 0.1,0.25,0.5,1"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("--buckets needs at least one bound")
    return values


def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="SLO spec: our own, Sloth or OpenSLO YAML")
    parser.add_argument(
        "--default-slo-period",
        type=_duration,
        default=timedelta(days=30),
        metavar="DURATION",
        help="period of Sloth SLOs, whose spec has none (default 30d)",
    )
    parser.add_argument(
        "--scrape-interval",
        type=_duration,
        default=timedelta(minutes=1),
        metavar="DURATION",
        help="Prometheus' scrape interval: no alert window may be shorter (default 1m)",
    )
    parser.add_argument(
        "--buckets",
        type=_bounds,
        default=None,
        metavar="B1,B2,...",
        help="histogram bounds (seconds) latency thresholds must be one of "
        "(default: Prometheus' default buckets; a file's 'buckets:' wins)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``slo`` sub-commands to *parser*."""
    commands = parser.add_subparsers(dest="slo_command", metavar="{rules,check}")
    commands.required = True
    rules = commands.add_parser(
        "rules",
        help="render Prometheus recording and alerting rules for the SLOs of a spec",
        description="Render Prometheus recording and alerting rules for the SLOs defined "
        "in FILE (our own format, Sloth prometheus/v1 or OpenSLO v1alpha/v1).",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _spec_arguments(rules)
    rules.add_argument(
        "--output", "-o", metavar="OUT", help="write the rules to OUT instead of printing them"
    )
    rules.add_argument(
        "--promtool",
        metavar="PATH",
        help="promtool used to check the queries (default: promtool on $PATH, if any)",
    )
    check = commands.add_parser(
        "check",
        help="evaluate the SLOs of a spec against a running Prometheus",
        description="Query the Prometheus at URL for the SLOs of FILE and print, per SLO, "
        "objective, SLI, error budget remaining, burn rates and alert state. Exit 0: no "
        "alert fires; 1: a page or ticket fires; 2: unusable input or Prometheus down.",
    )
    _spec_arguments(check)
    check.add_argument("url", metavar="URL", help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per query (default 10)")


def _options(args: argparse.Namespace) -> SpecOptions:
    options = SpecOptions(args.default_slo_period, args.scrape_interval)
    if args.buckets is not None:
        options = SpecOptions(args.default_slo_period, args.scrape_interval, args.buckets)
    return options


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``slo`` command."""
    if args.slo_command == "check":
        return run_check(
            args.file, args.url, options=_options(args), as_json=args.json, timeout=args.timeout
        )
    return run_rules(args.file, output=args.output, options=_options(args), promtool=args.promtool)


def _print_error(exc: InputError, err: TextIO) -> None:
    print("\n".join([f"error: {exc.message}", *(f"  {d}" for d in exc.details)]), file=err)


def run_rules(
    file: str,
    *,
    output: str | None = None,
    options: SpecOptions | None = None,
    promtool: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Render the rules of *file*; print them or write them to *output*. Returns the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        text, groups = render_rules_file(file, options, promtool=promtool, err=err)
        if output is None:
            out.write(text)
        else:
            _write_atomically(output, text)
            print(
                f"wrote {groups} rule group{'s' if groups != 1 else ''} to {output}; "
                f"check them with: promtool check rules {output}",
                file=err,
            )
    except InputError as exc:
        _print_error(exc, err)
        return EXIT_UNUSABLE
    return EXIT_OK


def run_check(
    file: str,
    url: str,
    *,
    options: SpecOptions | None = None,
    as_json: bool = False,
    timeout: float = 10.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Evaluate the SLOs of *file* with the Prometheus at *url*; print; return the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        specs = load_spec(file, options or SpecOptions())
        statuses = evaluate(specs, url, timeout)
    except InputError as exc:
        if as_json:
            print_json({"ok": False, "exit_code": EXIT_UNUSABLE, "error": exc.as_dict()}, out)
        else:
            _print_error(exc, err)
        return EXIT_UNUSABLE
    firing = any(s.page or s.ticket for s in statuses)
    code = EXIT_FIRING if firing else EXIT_OK
    if as_json:
        print_json(
            {
                "ok": not firing,
                "exit_code": code,
                "prometheus": url,
                "slos": [
                    status_dict(s, spec.where) for s, spec in zip(statuses, specs, strict=True)
                ],
            },
            out,
        )
    else:
        blocks = [format_status(s, spec.where) for s, spec in zip(statuses, specs, strict=True)]
        print("\n\n".join(blocks), file=out)
    return code


def load_specs(
    file: str,
    options: SpecOptions | None = None,
    *,
    promtool: str | None = None,
    err: TextIO | None = None,
) -> list[SpecSLO]:
    """The SLOs of *file*, their queries checked by promtool when one is found."""
    specs = load_spec(file, options or SpecOptions())
    tool = find_promtool(promtool)
    if tool is None:
        if any(spec.queries for spec in specs):
            print(
                "note: the queries were not checked: promtool was not found (install the "
                "Debian package prometheus or pass --promtool PATH)",
                file=err if err is not None else sys.stderr,
            )
    else:
        check_queries(tool, specs)
    return specs


def load_rule_groups(file: str, options: SpecOptions | None = None) -> list[dict[str, Any]]:
    """Read *file* and build its rule groups; :class:`InputError` on bad input."""
    return [group for spec in load_specs(file, options) for group in spec.groups]


def render_rules_file(
    file: str,
    options: SpecOptions | None = None,
    *,
    promtool: str | None = None,
    err: TextIO | None = None,
) -> tuple[str, int]:
    """The rule file (YAML text, with a header naming *file*) and its number of groups."""
    import yaml

    specs = load_specs(file, options, promtool=promtool, err=err)
    groups = [group for spec in specs for group in spec.groups]
    header = (
        f"# Prometheus rules for the SLOs of {file}, generated by\n"
        f"# `python -m lexigram.monitor slo rules {file}`; edit {file}, not this file.\n"
    )
    # The same serialisation as render_slo_rules: keys in rule order, no line folding.
    body = yaml.safe_dump({"groups": groups}, sort_keys=False, width=1_000_000)
    return header + body, len(groups)


def _write_atomically(output: str, text: str) -> None:
    target = Path(output)
    directory = target.parent
    if not directory.is_dir():
        raise InputError(
            f"cannot write {output!r}: the directory {str(directory)!r} does not exist"
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {output!r}: {exc.strerror or exc}") from None
