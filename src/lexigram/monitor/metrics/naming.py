"""Metric and label name rules (Prometheus), the facade's dotted-name rule, and the text
rules for label values and HELP text.

Names: metric and label names must match the Prometheus rules and hold at most
:data:`MAX_NAME_LENGTH` (200) characters; longer ones are refused, never cut.

Instrument constructors are strict: a name must already match the rule. The
name-based facade (``MetricsCollector.increment/gauge/histogram``, ``MetricProxy``,
``ObservabilityService``) first applies :func:`to_metric_name`, whose one rule is:
**every ``.`` and ``-`` becomes ``_``** (``orders.duration`` -> ``orders_duration``).
The result must then match the metric name rule; nothing else is rewritten, so a name
such as ``"9 lives"`` is refused with an error rather than silently changed. Distinct
facade names may map to one metric (``a.b`` and ``a_b``) and then share its data.

Text: every exposition format is UTF-8, so label values and descriptions are made valid
UTF-8 on the way in (:func:`clean_text`: each surrogate code point, which no UTF-8 text
can hold, becomes U+FFFD). A label value is at most a given number of characters *after
escaping* (``\\``, ``"`` and newline take two characters in the exposition);
:func:`fit_label_value` cuts a longer one at a character boundary and ends it with
:data:`CUT_MARKER`. A description is cut the same way at :data:`MAX_DESCRIPTION_LENGTH`
characters.
"""

from __future__ import annotations

import re

from ..exceptions import InvalidMetricError

__all__ = [
    "CUT_MARKER",
    "LABEL_NAME_RULE",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_NAME_LENGTH",
    "METRIC_NAME_RULE",
    "clean_description",
    "clean_text",
    "escaped_length",
    "fit_label_value",
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
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Longest metric or label name accepted, in characters.
MAX_NAME_LENGTH = 200
#: Longest description (HELP text) kept, in characters; longer ones are cut.
MAX_DESCRIPTION_LENGTH = 4096
#: Ends a label value or description that was cut (one character).
CUT_MARKER = "\u2026"


def _too_long(kind: str, name: str, where: str = "") -> InvalidMetricError:
    return InvalidMetricError(
        f"{kind} name {name[:40]!r}… ({len(name)} characters){where} is too long: names hold "
        f"at most {MAX_NAME_LENGTH} characters; use a shorter name (put variable text in "
        "label values)"
    )


def validate_metric_name(name: object) -> str:
    """Return *name* if it is a valid metric name, else raise :class:`InvalidMetricError`."""
    if not isinstance(name, str):
        raise InvalidMetricError(
            f"metric name {name!r} is a {type(name).__name__}; metric names are strings "
            f"matching {METRIC_NAME_RULE}"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise _too_long("metric", name)
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
    if len(name) > MAX_NAME_LENGTH:
        raise _too_long("label", name, where)
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
    still not a valid metric name or is longer than :data:`MAX_NAME_LENGTH`.
    """
    if not isinstance(name, str):
        return validate_metric_name(name)
    if len(name) > MAX_NAME_LENGTH:
        raise _too_long("metric", name)
    converted = name.translate(_FACADE_SEPARATORS)
    if _METRIC_NAME.fullmatch(converted) is None:
        raise InvalidMetricError(
            f"metric name {name!r} is invalid: after turning '.' and '-' into '_' it must "
            f"match {METRIC_NAME_RULE}; use letters, digits, '_' or ':' and do not start "
            "with a digit (e.g. 'orders.duration')"
        )
    return converted


def clean_text(text: str) -> str:
    """*text* as valid UTF-8 text: each surrogate code point becomes U+FFFD.

    Returns *text* itself when it is already valid (the common case costs one scan).
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def escaped_length(value: str) -> int:
    """Characters *value* takes as an escaped label value (``\\``, ``"``, newline: two)."""
    return len(value) + value.count("\\") + value.count('"') + value.count("\n")


def fit_label_value(value: str, limit: int) -> tuple[str, bool]:
    """``(value as stored, whether it was cut)`` for a label value and a *limit* in
    escaped characters (at least 2).

    The value is made valid UTF-8 (:func:`clean_text`); if its escaped form is longer
    than *limit*, it is cut at a character boundary to the longest prefix whose escaped
    form, followed by :data:`CUT_MARKER`, fits in *limit*. Returns *value* itself when
    nothing changes.
    """
    if len(value) <= limit:
        text = clean_text(value)
        if len(text) * 2 <= limit or escaped_length(text) <= limit:
            return text, False
    else:  # cut for sure: only the part that can be kept is looked at
        text = clean_text(value[:limit])
    budget = limit - len(CUT_MARKER)
    prefix = text[:budget]
    excess = escaped_length(prefix) - budget
    while excess > 0:
        # Each character takes one or two escaped places: dropping ceil(excess / 2) of
        # them never drops one that would still fit, so this ends at the longest prefix.
        prefix = prefix[: len(prefix) - (excess + 1) // 2]
        excess = escaped_length(prefix) - budget
    return prefix + CUT_MARKER, True


def clean_description(text: str) -> str:
    """A description (HELP text) as valid UTF-8, cut to :data:`MAX_DESCRIPTION_LENGTH`
    characters (ending with :data:`CUT_MARKER`) when longer."""
    text = clean_text(text)
    if len(text) > MAX_DESCRIPTION_LENGTH:
        text = text[: MAX_DESCRIPTION_LENGTH - len(CUT_MARKER)] + CUT_MARKER
    return text
