"""Durations in SLO files: Prometheus durations (``1h30m``) or numbers of seconds."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["parse_duration"]

_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))  # fmt: skip
_UNIT_MS = dict(_UNITS)
_UNIT_RANK = {unit: rank for rank, (unit, _) in enumerate(_UNITS)}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
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
