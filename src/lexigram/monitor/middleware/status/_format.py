"""Escaping and number formats shared by the server-rendered sections.

``status.js`` formats the same way, so a refreshed section reads like the first render.
Every text that reaches HTML goes through :func:`esc` (``html.escape`` with quotes).
"""

from __future__ import annotations

import html
import math
from typing import Any

#: Shown where there is no value (an en dash).
NONE = "\u2013"
#: The burn-rate multiplication sign.
TIMES = "\u00d7"

__all__ = ["NONE", "TIMES", "attr", "clock", "duration", "esc", "ms", "percent", "rate", "seconds"]


def esc(value: Any) -> str:
    """*value* as HTML text or attribute value (``&``, ``<``, ``>``, quotes escaped)."""
    return html.escape("" if value is None else str(value), quote=True)


def attr(name: str, value: Any) -> str:
    """`` name="value"`` with the value escaped."""
    return f' {name}="{esc(value)}"'


def ms(value: Any) -> str:
    """Milliseconds: ``0.42 ms``, ``12.3 ms``, ``123 ms``, ``1.23 s``; a dash for None."""
    if value is None or isinstance(value, str):
        return NONE if value is None else value
    return _milliseconds(float(value))


def _milliseconds(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def seconds(value: Any) -> str:
    """Seconds shown as :func:`ms` does."""
    return NONE if value is None else _milliseconds(float(value) * 1000.0)


def rate(value: Any) -> str:
    """Requests per second: ``4.20/s``."""
    if value is None:
        return NONE
    v = float(value)
    return f"{v:.0f}/s" if v >= 100 else f"{v:.2f}/s"


def percent(value: Any, digits: int = 1) -> str:
    """A share as ``12.5%``; a dash for None, the string itself for ``"inf"``."""
    if value is None:
        return NONE
    if isinstance(value, str):
        return "∞" if value == "inf" else value
    return f"{float(value) * 100:.{digits}f}%"


def clock(timestamp: Any) -> str:
    """A wall-clock time as ``HH:MM:SS`` UTC; a dash for None."""
    if timestamp is None:
        return NONE
    minutes, second = divmod(math.floor(float(timestamp)) % 86400, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def duration(total: Any) -> str:
    """A span of seconds as ``3d 4h``, ``4h 5m``, ``5m 6s`` or ``6s``."""
    s = int(float(total))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {s}s"
    return f"{s}s"
