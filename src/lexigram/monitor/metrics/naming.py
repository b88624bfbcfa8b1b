"""Metric and label name rules (Prometheus) and the facade's dotted-name rule.

Instrument constructors are strict: a name must already match the rule. The
name-based facade (``MetricsCollector.increment/gauge/histogram``, ``MetricProxy``,
``ObservabilityService``) first applies :func:`to_metric_name`, whose one rule is:
**every ``.`` and ``-`` becomes ``_``** (``orders.duration`` -> ``orders_duration``).
The result must then match the metric name rule; nothing else is rewritten, so a name
such as ``"9 lives"`` is refused with an error rather than silently changed. Distinct
facade names may map to one metric (``a.b`` and ``a_b``) and then share its data.
"""

from __future__ import annotations

import re

from ..exceptions import InvalidMetricError

__all__ = [
    "LABEL_NAME_RULE",
    "METRIC_NAME_RULE",
    "to_metric_name",
    "validate_label_name",
    "validate_metric_name",
]

#: Metric names: a letter, ``_`` or ``:``, then letters, digits, ``_`` or ``:``.
METRIC_NAME_RULE = "[a-zA-Z_:][a-zA-Z0-9_:]*"
#: Label names: a letter or ``_``, then letters, digits or ``_``; never starting with ``__``.
LABEL_NAME_RULE = "[a-zA-Z_][a-zA-Z0-9_]* and not starting with '__'"

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FACADE_SEPARATORS = str.maketrans({".": "_", "-": "_"})


def validate_metric_name(name: object) -> str:
    """Return *name* if it is a valid metric name, else raise :class:`InvalidMetricError`."""
    if not isinstance(name, str):
        raise InvalidMetricError(
            f"metric name {name!r} is a {type(name).__name__}; metric names are strings "
            f"matching {METRIC_NAME_RULE}"
        )
    if _METRIC_NAME.fullmatch(name) is None:
        raise InvalidMetricError(
            f"metric name {name!r} is invalid: it must match {METRIC_NAME_RULE} "
            "(e.g. 'http_requests_total'); replace other characters with '_'"
        )
    return name


def validate_label_name(name: object, metric: str = "") -> str:
    """Return *name* if it is a valid label name, else raise :class:`InvalidMetricError`.

    *metric* (optional) is quoted in the message to say where the label was used.
    """
    where = f" of metric {metric!r}" if metric else ""
    if not isinstance(name, str):
        raise InvalidMetricError(
            f"label name {name!r}{where} is a {type(name).__name__}; label names are "
            f"strings matching {LABEL_NAME_RULE}"
        )
    if _LABEL_NAME.fullmatch(name) is None or name.startswith("__"):
        raise InvalidMetricError(
            f"label name {name!r}{where} is invalid: it must match {LABEL_NAME_RULE} "
            "(names starting with '__' are reserved by Prometheus), e.g. 'method'"
        )
    return name


def to_metric_name(name: object) -> str:
    """Turn a facade name into a metric name: each ``.`` and ``-`` becomes ``_``.

    >>> to_metric_name("orders.duration")
    'orders_duration'

    Raises :class:`InvalidMetricError` (quoting the original name) when the result is
    still not a valid metric name.
    """
    if not isinstance(name, str):
        return validate_metric_name(name)
    converted = name.translate(_FACADE_SEPARATORS)
    if _METRIC_NAME.fullmatch(converted) is None:
        raise InvalidMetricError(
            f"metric name {name!r} is invalid: after turning '.' and '-' into '_' it must "
            f"match {METRIC_NAME_RULE}; use letters, digits, '_' or ':' and do not start "
            "with a digit (e.g. 'orders.duration')"
        )
    return converted
