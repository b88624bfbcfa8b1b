"""Checking the queries of a spec with ``promtool`` before any rule file is written.

Every user-written query, rendered for the SLO's shortest window, becomes one recording
rule ``lexigram_query_check_<n>`` of a temporary rule file; ``promtool check rules``
parses them all at once, and each error it prints for rule ``<n>`` is reported with the
document, SLO and field the query came from.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..slo.rules import prometheus_duration
from ._input import InputError
from ._slo_spec import QueryField, SpecSLO

__all__ = ["TIMEOUT", "check_queries", "find_promtool"]

TIMEOUT = 60.0
"""Seconds promtool gets for one check."""
_RECORD = "lexigram_query_check_"
_ERROR = re.compile(rf'"{_RECORD}(\d+)": (.*)$')


def find_promtool(explicit: str | None) -> str | None:
    """*explicit* (which must exist) or ``promtool`` from ``$PATH``; None when absent."""
    if explicit is not None:
        found = shutil.which(explicit)
        if found is None:
            raise InputError(f"--promtool {explicit!r} is not an executable file")
        return found
    return shutil.which("promtool")


def check_queries(promtool: str, specs: list[SpecSLO]) -> None:
    """``InputError`` listing every query of *specs* that promtool refuses."""
    fields: list[QueryField] = []
    for spec in specs:
        window = prometheus_duration(min(w for t in spec.tiers for w in (t.short, t.long)))
        for query in spec.queries:
            fields.append(QueryField(query.where, _rendered(spec, query, window)))
    if not fields:
        return
    rules = [{"record": f"{_RECORD}{i}", "expr": f.query} for i, f in enumerate(fields)]
    document = {"groups": [{"name": "lexigram-query-check", "rules": rules}]}
    with tempfile.TemporaryDirectory(prefix="lexigram-slo-") as tmp:
        path = Path(tmp) / "queries.rules.yml"
        path.write_text(json.dumps(document), encoding="utf-8")  # JSON is valid YAML
        try:
            done = subprocess.run(
                [promtool, "check", "rules", str(path)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"could not run {promtool} to check the queries: {exc}") from None
    if done.returncode == 0:
        return
    output = done.stdout + done.stderr
    problems = []
    for line in output.splitlines():
        match = _ERROR.search(line)
        if match:
            where = fields[int(match.group(1))].where
            problems.append(f"{where}: promtool rejects the query: {match.group(2)}")
    if not problems:
        raise InputError(f"promtool check rules failed on the queries:\n{output.strip()}")
    raise InputError(problems[0], problems[1:])


def _rendered(spec: SpecSLO, query: QueryField, window: str) -> str:
    from ..slo.sli import render_window

    return render_window(query.query, window)
