"""Hypothesis strategies shared by the test suite."""

from __future__ import annotations

import string

from hypothesis import strategies as st

_METRIC_FIRST = string.ascii_letters + "_:"
_METRIC_REST = string.ascii_letters + string.digits + "_:"
_LABEL_FIRST = string.ascii_letters + "_"
_LABEL_REST = string.ascii_letters + string.digits + "_"


def metric_names() -> st.SearchStrategy[str]:
    """Valid Prometheus metric names: ``[a-zA-Z_:][a-zA-Z0-9_:]*``."""
    return st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(_METRIC_FIRST),
        st.text(_METRIC_REST, max_size=30),
    )


def label_names() -> st.SearchStrategy[str]:
    """Valid label names: ``[a-zA-Z_][a-zA-Z0-9_]*`` not starting with ``__``."""
    return st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(_LABEL_FIRST),
        st.text(_LABEL_REST, max_size=30),
    ).filter(lambda name: not name.startswith("__"))


def invalid_metric_names() -> st.SearchStrategy[str]:
    """Strings that break the metric name rule (empty, bad first or later character)."""
    bad_char = st.characters(exclude_characters=_METRIC_REST, exclude_categories=("Cs",))
    return st.one_of(
        st.just(""),
        st.builds(
            lambda d, rest: d + rest,
            st.sampled_from(string.digits),
            st.text(_METRIC_REST, max_size=30),
        ),
        st.builds(
            lambda head, bad, tail: head + bad + tail,
            metric_names(),
            bad_char,
            st.text(_METRIC_REST, max_size=5),
        ),
    )


def sketch_values() -> st.SearchStrategy[float]:
    """Finite, normal (non-subnormal) floats of either sign, or zero."""
    return st.one_of(
        st.just(0.0),
        st.floats(min_value=1e-300, max_value=1e300, allow_subnormal=False),
        st.floats(min_value=-1e300, max_value=-1e-300, allow_subnormal=False),
    )
