"""``python -m lexigram.monitor slo rules FILE [--output OUT]``: Prometheus rules for SLOs.

Reads SLO definitions from a YAML file and renders, with
:func:`~lexigram.monitor.slo.slo_rule_group`, one rule group per SLO (recording rules,
multi-window burn-rate alerts, the latency alert; see ``slo/rules.py``) as a Prometheus
rule file, printed or written to ``OUT`` (atomically: a reloading Prometheus never
reads half a file). The file::

    selector: {job: api}      # optional: label matchers added to every series selector
    unit: seconds             # optional: unit of the histograms' observations
    interval: 1m              # optional: evaluation interval of the groups
    min_window: 1m            # optional: shortest rate() window after scaling
    burn_rate_windows:        # optional: default the SRE workbook's tiers for 30 days
      - {long: 1h, short: 5m, burn_rate: 14.4, severity: critical}
    slos:
      - name: api.p99_latency          # required, unique
        metric: http.request.duration  # required
        percentile: 0.99               # required, in (0, 1]
        threshold_ms: 250              # required; a bucket bound of the histogram
        window: 30d                    # required: 30d, 1h, 90m, 1h30m, 45s or seconds
        burn_rate_threshold: 1.0       # optional
        description: "..."             # optional
        histogram: http_request_duration_seconds  # optional; default: metric, . and - as _
        unit: seconds                  # optional; overrides the top-level unit
        selector: {handler: /orders}   # optional; merged over the top-level selector

Durations are Prometheus durations (``y w d h m s ms``, largest unit first, each at
most once: ``1h30m``) or a plain number of seconds. Unknown keys, wrong types and
values the SLO or the rules refuse are errors naming the entry (``slos[2]``) and the
field; they exit with code 2, as do a missing file and invalid YAML.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from ..slo.objective import SLO
from ..slo.rules import BurnRateWindow, Unit, slo_rule_group
from ._input import InputError, read_yaml

__all__ = [
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "add_arguments",
    "load_rule_groups",
    "parse_duration",
    "render_rules_file",
    "run",
    "run_rules",
]

EXIT_OK = 0
EXIT_UNUSABLE = 2

_TOP_KEYS = ("slos", "selector", "unit", "interval", "min_window", "burn_rate_windows")
_REQUIRED = ("name", "metric", "percentile", "threshold_ms", "window")
_OPTIONAL = ("burn_rate_threshold", "description", "histogram", "unit", "selector")
_WINDOW_KEYS = ("long", "short", "burn_rate", "severity")
_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))  # fmt: skip
_UNIT_MS = dict(_UNITS)
_UNIT_RANK = {unit: rank for rank, (unit, _) in enumerate(_UNITS)}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_EXAMPLE = """example FILE (optional: burn_rate_threshold, description, histogram, unit,
selector per SLO; selector, unit, interval, min_window, burn_rate_windows at the top):

  selector: {job: api}
  slos:
    - name: api.p99_latency
      metric: http.request.duration
      histogram: http_request_duration_seconds
      percentile: 0.99
      threshold_ms: 250
      window: 30d
"""
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_duration(value: object) -> timedelta:
    """A positive duration from ``"30d"``, ``"1h30m"``, ``"500ms"``, ``3600`` or ``"90"``.

    Unit strings follow Prometheus: integers with ``y w d h m s ms``, largest unit first,
    each unit at most once. Numbers (or numeric strings) are seconds. Anything else,
    zero and negative durations raise ``ValueError`` saying what is accepted.
    """
    accepted = "use a Prometheus duration such as 30d, 1h, 90m, 1h30m or 45s, or seconds"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a duration; {accepted}")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            return _unit_duration(value, text, accepted)
    else:
        seconds = float(value)
    if not 0 < seconds < math.inf:
        raise ValueError(f"duration {value!r} must be a finite number of seconds > 0")
    return _timedelta(value, seconds * 1000)


def _timedelta(value: object, ms: float) -> timedelta:
    try:
        return timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError(
            f"duration {value!r} is too long: at most 999999999 days (about 2.7 million years)"
        ) from None


def _unit_duration(value: str, text: str, accepted: str) -> timedelta:
    position, total, last_rank = 0, 0, -1
    for match in _PART.finditer(text):
        rank = _UNIT_RANK[match.group(2)]
        if match.start() != position or rank <= last_rank:
            break
        total += int(match.group(1)) * _UNIT_MS[match.group(2)]
        position, last_rank = match.end(), rank
    else:
        if position == len(text) and position:
            if total <= 0:
                raise ValueError(f"duration {value!r} must be longer than zero")
            return _timedelta(value, total)
    raise ValueError(
        f"{value!r} is not a duration; {accepted} (units y, w, d, h, m, s, ms, largest first)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``slo`` sub-commands to *parser*."""
    commands = parser.add_subparsers(dest="slo_command", metavar="{rules}")
    commands.required = True
    rules = commands.add_parser(
        "rules",
        help="render Prometheus recording and alerting rules for the SLOs in a YAML file",
        description="Render Prometheus recording and alerting rules (one group per SLO) "
        "for the SLOs defined in FILE (a 'slos:' list).",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rules.add_argument("file", metavar="FILE", help="YAML file with a 'slos:' list")
    rules.add_argument(
        "--output", "-o", metavar="OUT", help="write the rules to OUT instead of printing them"
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``slo`` command."""
    return run_rules(args.file, output=args.output)


def run_rules(
    file: str, *, output: str | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Render the rules of *file*; print them or write them to *output*. Returns the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        text, groups = render_rules_file(file)
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
        print("\n".join([f"error: {exc.message}", *(f"  {d}" for d in exc.details)]), file=err)
        return EXIT_UNUSABLE
    return EXIT_OK


def render_rules_file(file: str) -> tuple[str, int]:
    """The rule file (YAML text, with a header naming *file*) and its number of groups."""
    import yaml

    groups = load_rule_groups(file)
    header = (
        f"# Prometheus rules for the SLOs of {file}, generated by\n"
        f"# `python -m lexigram.monitor slo rules {file}`; edit {file}, not this file.\n"
    )
    # The same serialisation as render_slo_rules: keys in rule order, no line folding.
    body = yaml.safe_dump({"groups": groups}, sort_keys=False, width=1_000_000)
    return header + body, len(groups)


def load_rule_groups(file: str) -> list[dict[str, Any]]:
    """Read *file* and build one ``slo_rule_group`` per SLO; :class:`InputError` on bad input."""
    doc = read_yaml(file, "SLO file")
    if not isinstance(doc, dict):
        shown = "empty" if doc is None else f"a YAML {type(doc).__name__}"
        raise InputError(
            f"SLO file {file!r} is {shown}; it must be a mapping with a 'slos:' list, "
            "e.g. 'slos: [{name: api, metric: http.request.duration, percentile: 0.99, "
            "threshold_ms: 250, window: 30d}]'"
        )
    _no_unknown_keys(doc, _TOP_KEYS, f"SLO file {file!r}")
    entries = doc.get("slos")
    if not isinstance(entries, list) or not entries:
        shown = "missing" if entries is None else f"{type(entries).__name__} {entries!r}"
        raise InputError(
            f"SLO file {file!r}: 'slos' must be a non-empty list of SLO mappings, got {shown}"
        )
    options: dict[str, Any] = {}
    for key in ("interval", "min_window"):
        if key in doc:
            options[key] = _field(parse_duration, doc[key], key)
    if "burn_rate_windows" in doc:
        options["windows"] = _windows(doc["burn_rate_windows"])
    base_selector = _selector(doc.get("selector"), "selector")
    base_unit = _unit(doc.get("unit", "seconds"), f"SLO file {file!r}")

    groups: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"slos[{index}]"
        slo, extra = _slo(entry, where)
        where = f"{where} ({slo.name!r})"
        if slo.name in seen:
            raise InputError(
                f"{where}: field 'name': {slo.name!r} is already the name of "
                f"slos[{seen[slo.name]}]; SLO names must be unique in a rule file"
            )
        seen[slo.name] = index
        selector = {**base_selector, **_selector(extra.get("selector"), f"{where}: 'selector'")}
        try:
            groups.append(
                slo_rule_group(
                    slo,
                    histogram=extra.get("histogram"),
                    unit=_unit(extra.get("unit", base_unit), where),
                    selector=selector,
                    **options,
                )
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: {exc}") from None
    return groups


def _slo(entry: object, where: str) -> tuple[SLO, dict[str, Any]]:
    if not isinstance(entry, dict):
        raise InputError(
            f"{where}: each SLO must be a mapping with {', '.join(_REQUIRED)}; "
            f"got {type(entry).__name__} {entry!r}"
        )
    _no_unknown_keys(entry, _REQUIRED + _OPTIONAL, where)
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise InputError(
            f"{where}: missing required field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}"
        )
    for key in ("name", "metric", "description", "histogram"):
        if key in entry and not isinstance(entry[key], str):
            raise InputError(
                f"{where}: field {key!r} must be a string, got {type(entry[key]).__name__} "
                f"{entry[key]!r} (quote it)"
            )
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
    return slo, {k: entry[k] for k in ("histogram", "unit", "selector") if k in entry}


def _windows(value: object) -> list[BurnRateWindow]:
    if not isinstance(value, list) or not value:
        raise InputError(
            "'burn_rate_windows' must be a non-empty list of mappings with long, short, "
            f"burn_rate and severity, got {value!r}"
        )
    windows = []
    for index, item in enumerate(value):
        where = f"burn_rate_windows[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be a mapping with {', '.join(_WINDOW_KEYS)}")
        _no_unknown_keys(item, _WINDOW_KEYS, where)
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
    return dict(value)


def _field(parse: Any, value: object, where: str) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _no_unknown_keys(mapping: Mapping[Any, Any], known: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise InputError(f"{where}: unknown field {key!r}; {hint}")


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
