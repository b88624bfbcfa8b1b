"""Series table shared by every instrument: label schema, key cache, cap and overflow.

Label schema: the default (constant) label keys given to the constructor, then the keys
of the first call with a non-empty ``labels`` mapping, in that call's order. The schema is
locked by that call; later calls may omit keys (the value becomes ``""``) but an unknown
key raises :class:`InvalidMetricError`. Label values must be strings. A call's labels
override default label values of the same key. Calls without labels (or with ``{}``) use
the unlabelled series, whose non-default label values are ``""``.

Bounds: at most ``max_series`` series per instrument plus one overflow series; label
sets past the cap are all counted in the overflow series (label values
``"__overflow__"``) and a warning is logged once per instrument. The key cache maps a
call's ``tuple(labels.items())`` to its series and holds at most ``4 * max_series``
entries (label sets seen in other key orders past that go through the slow path); a
repeated label dict costs one short-lived tuple for the lookup and creates nothing.
Label sets routed to the overflow series are not cached and always take the slow path.
``reset()`` drops every series but keeps the locked schema.

Label text: values (call labels and default labels) are made valid UTF-8 and cut to
``max_label_value_length`` characters counted escaped (default 4,096; see
``naming.fit_label_value``) in the slow path, so the series is stored under the cut value
and reads with the original labels find it. Each cut value is counted in
``lexigram_monitor_labels_truncated_total{metric}`` of the default collector (through
:data:`CUT_LABELS`, which ``metrics.collector`` wires at import). A label dict that
needed a change is cached under its original items while their total length stays
within a budget of :data:`OVERSIZED_CACHE_VALUES` cap-length values per instrument, so a
repeated oversized dict is not cut again; past the budget it takes the slow path (and is
counted) on every call. Descriptions are made valid UTF-8 and cut at
``naming.MAX_DESCRIPTION_LENGTH`` characters.

Memory of one instrument's label text: at most ``(max_series * label keys +
OVERSIZED_CACHE_VALUES) * max_label_value_length`` characters. The series keys hold the
first term; every other cache entry is built from the strings of its series' key (so
other key orders or equal copies of a label set add no text), and original oversized
values take at most the budget. A character takes 1 byte in memory when the text is
ASCII or Latin-1, else 2 or 4.

Thread safety: series creation and schema changes hold the instrument lock; updates
touch only their series, as written once in ``metrics._update`` (lock-free under the
GIL, the series' lock on free-threaded builds; the unit tests hammer both with a 1 µs
switch interval). ``reset()`` also bumps the process-wide ``_update.RESETS`` counter,
which bound handles compare to notice it.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any, ClassVar, Final, Generic, Literal, Protocol, TypeVar

from .._clock import SYSTEM_CLOCK, Clock
from ..defaults import (
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
    MIN_LABEL_VALUE_LENGTH,
)
from ..exceptions import InvalidMetricError
from ._update import MAX_FLOAT_INT, RESETS
from .naming import clean_description, fit_label_value, validate_label_name, validate_metric_name

__all__ = [
    "CUT_LABELS",
    "DEFAULT_MAX_LABEL_VALUE_LENGTH",
    "DEFAULT_MAX_OBSERVATIONS",
    "DEFAULT_MAX_SERIES",
    "OVERFLOW_VALUE",
    "OVERSIZED_CACHE_VALUES",
    "Instrument",
    "InstrumentKind",
    "as_float",
    "check_max_observations",
    "describe",
]

OVERFLOW_VALUE = "__overflow__"
InstrumentKind = Literal["counter", "gauge", "histogram", "summary"]

#: Original text of changed (cut or cleaned) label dicts the key cache may hold per
#: instrument, in values of the cap's length.
OVERSIZED_CACHE_VALUES = 64


class _CutLabels:
    """Where cut label values are counted: ``count(metric_name, values_cut)``, installed
    by ``metrics.collector`` (``metrics`` cannot import its collector from here)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count: Callable[[str, int], None] | None = None


CUT_LABELS: Final = _CutLabels()

_logger = logging.getLogger("lexigram.monitor.metrics")

S = TypeVar("S")
Snap = TypeVar("Snap")


def describe(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message, shortened past *limit* characters (a huge
    integer or label value is named by its size instead of printed in full)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        sign = "-" if value < 0 else ""
        return f"an int near {sign}1e{int((value.bit_length() - 1) * 0.30103)}"
    try:
        text = repr(value)
    except Exception:
        return f"a {type(value).__name__}"
    if len(text) > limit:
        return f"{text[: limit - 1]}… ({len(text)} characters)"
    return text


def as_float(value: object) -> float | None:
    """*value* as a plain ``float`` (NaN included), or None when it is not a number or
    does not fit a float64: ints (``bool`` too) within ±1.8e308, other numeric types
    (``Fraction``, ``Decimal``, numpy scalars; not ``str``) through ``float()``."""
    if isinstance(value, int):
        if not -MAX_FLOAT_INT <= value <= MAX_FLOAT_INT:
            return None
        return float(value)
    if hasattr(type(value), "__float__"):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def check_max_observations(value: object, metric: str) -> int:
    """Validate the size of a recent-observations ring (an int >= 0)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidMetricError(
            f"max_observations={value!r} for metric {metric!r} is invalid: it must be an "
            "integer >= 0 (0 keeps no history)"
        )
    return value


class Instrument(ABC, Generic[S, Snap]):
    """Base of the four instruments: name, description, schema and the series table.

    Subclasses provide ``_new_series()`` and ``_snapshot()``; their hot paths read
    ``_unlabelled`` and ``_cache`` directly and fall back to :meth:`_resolve`.
    """

    kind: ClassVar[InstrumentKind]
    _reserved_labels: ClassVar[frozenset[str]] = frozenset()

    __slots__ = (
        "_cache",
        "_cache_limit",
        "_clock",
        "_default_values",
        "_defaults",
        "_description",
        "_index",
        "_keys",
        "_label_names",
        "_lock",
        "_max_series",
        "_max_value_length",
        "_name",
        "_overflow",
        "_overflow_warned",
        "_oversized_left",
        "_safe_value_length",
        "_schema_locked",
        "_series",
        "_unlabelled",
    )

    def __init__(
        self,
        name: str,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        *,
        max_series: int = DEFAULT_MAX_SERIES,
        max_label_value_length: int = DEFAULT_MAX_LABEL_VALUE_LENGTH,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._name = validate_metric_name(name)
        if not isinstance(description, str):
            raise InvalidMetricError(
                f"description of metric {name!r} is a {type(description).__name__}; pass a string"
            )
        if isinstance(max_series, bool) or not isinstance(max_series, int) or max_series < 1:
            raise InvalidMetricError(
                f"max_series={max_series!r} for metric {name!r} is invalid: it must be an "
                "integer >= 1"
            )
        limit = max_label_value_length
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < MIN_LABEL_VALUE_LENGTH:
            raise InvalidMetricError(
                f"max_label_value_length={limit!r} for metric {name!r} is invalid: it must "
                f"be an integer >= {MIN_LABEL_VALUE_LENGTH} (characters, counted escaped)"
            )
        self._max_value_length = limit
        self._safe_value_length = limit // 2  # even fully escaped, such values fit
        self._oversized_left = OVERSIZED_CACHE_VALUES * limit
        defaults = dict(labels or {})
        cut = 0
        for key, value in defaults.items():
            self._check_label_name(key)
            if not isinstance(value, str):
                raise InvalidMetricError(
                    f"default label {key!r} of metric {name!r} has the value "
                    f"{describe(value)} ({type(value).__name__}); label values must be "
                    "strings"
                )
            defaults[key], was_cut = fit_label_value(value, limit)
            cut += was_cut
        self._description = clean_description(description)
        self._defaults = defaults
        self._label_names: tuple[str, ...] = tuple(defaults)
        self._index = {key: i for i, key in enumerate(self._label_names)}
        self._default_values: tuple[str, ...] = tuple(defaults.values())
        self._schema_locked = False
        self._max_series = max_series
        self._cache_limit = 4 * max_series
        self._clock = clock
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], S] = {}
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}  # the stored key objects
        self._cache: dict[Any, S] = {}
        self._unlabelled: S | None = None
        self._overflow: S | None = None
        self._overflow_warned = False
        if cut:
            self._count_cut(cut)

    # -- read side shared by all instruments ------------------------------------------

    @property
    def name(self) -> str:
        """Metric name."""
        return self._name

    @property
    def description(self) -> str:
        """Metric description (HELP text)."""
        return self._description

    @property
    def label_names(self) -> tuple[str, ...]:
        """The label schema: default label keys, then the first labelled call's keys."""
        return self._label_names

    @property
    def max_series(self) -> int:
        """Series cap (the overflow series comes on top)."""
        return self._max_series

    @property
    def max_label_value_length(self) -> int:
        """Characters (counted escaped) a label value keeps; longer ones are cut."""
        return self._max_value_length

    def series_count(self) -> int:
        """Number of series currently held, including the overflow series."""
        with self._lock:
            return len(self._series) + (self._overflow is not None)

    def collect(self) -> tuple[Snap, ...]:
        """Snapshot every series (one lock hold per series); see ``metrics.snapshot``."""
        with self._lock:
            names = self._label_names
            entries = list(self._series.items())
            overflow = self._overflow
        snaps = [self._snapshot(names, values, series) for values, series in entries]
        if overflow is not None:
            snaps.append(self._snapshot(names, (OVERFLOW_VALUE,) * len(names), overflow))
        return tuple(snaps)

    def collect_first(self, limit: int) -> tuple[tuple[Snap, ...], int]:
        """The first *limit* snapshots :meth:`collect` gives (the same series in the same
        order: creation order, the overflow series last), taking only those, and how many
        series :meth:`collect` would give, read together."""
        with self._lock:
            names = self._label_names
            entries = list(islice(self._series.items(), max(limit, 0)))
            overflow = self._overflow
            count = len(self._series) + (overflow is not None)
        snaps = [self._snapshot(names, values, series) for values, series in entries]
        if overflow is not None and len(snaps) < limit:
            snaps.append(self._snapshot(names, (OVERFLOW_VALUE,) * len(names), overflow))
        return tuple(snaps), count

    def reset(self) -> None:
        """Drop every series (values, history, exemplars); the label schema stays locked."""
        with self._lock:
            self._series = {}
            self._keys = {}
            self._cache = {}
            self._unlabelled = None
            self._overflow = None
            self._oversized_left = OVERSIZED_CACHE_VALUES * self._max_value_length
            RESETS.count += 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, label_names={self._label_names!r})"

    # -- subclass hooks -------------------------------------------------------------------

    @abstractmethod
    def _new_series(self) -> S:
        """A fresh, empty series."""

    @abstractmethod
    def _snapshot(self, names: tuple[str, ...], values: tuple[str, ...], series: S) -> Snap:
        """An immutable snapshot of *series*, taken under its lock."""

    # -- slow paths ---------------------------------------------------------------------

    def _check_label_name(self, key: object) -> None:
        validate_label_name(key, self._name)
        if key in self._reserved_labels:
            raise InvalidMetricError(
                f"label name {key!r} of {self.kind} {self._name!r} is reserved: the exporter "
                f"adds it to {self.kind} series; rename the label"
            )

    def _series_of(self, labels: Mapping[str, str] | None) -> S:
        """The series of *labels* (None: the unlabelled one), created when new; what a
        bound handle resolves once."""
        if labels is None:
            return self._get_unlabelled()
        return self._resolve(labels)

    def _get_unlabelled(self) -> S:
        """The unlabelled series, created on first use."""
        with self._lock:
            series = self._unlabelled
            if series is None:
                series = self._series_for_key(self._unlabelled_key())
                self._unlabelled = series
            return series

    def _unlabelled_key(self) -> tuple[str, ...]:
        return self._default_values + ("",) * (len(self._label_names) - len(self._defaults))

    def _series_for_key(self, key: tuple[str, ...]) -> S:
        """Existing or new series for a full label-values tuple (caller holds the lock)."""
        series = self._series.get(key)
        if series is not None:
            return series
        if len(self._series) >= self._max_series:
            return self._overflow_series()
        series = self._new_series()
        self._series[key] = series
        self._keys[key] = key
        return series

    def _overflow_series(self) -> S:
        if self._overflow is None:
            self._overflow = self._new_series()
        if not self._overflow_warned:
            self._overflow_warned = True
            _logger.warning(
                "%s %r reached its cap of %d series; new label sets are counted in the "
                "overflow series (label values %r). Reduce label cardinality or raise "
                "max_series / MetricsConfig.max_series_per_metric.",
                self.kind,
                self._name,
                self._max_series,
                OVERFLOW_VALUE,
            )
        return self._overflow

    def _check_items(self, labels: object) -> tuple[tuple[str, str], ...]:
        if not isinstance(labels, Mapping):
            raise InvalidMetricError(
                f"labels of metric {self._name!r} must be a mapping of label name to string "
                f"value, got {type(labels).__name__} {describe(labels)}"
            )
        items = tuple(labels.items())
        for key, value in items:
            if not isinstance(key, str):
                raise InvalidMetricError(
                    f"label name {describe(key)} of metric {self._name!r} is a "
                    f"{type(key).__name__}; label names are strings"
                )
            if not isinstance(value, str):
                raise InvalidMetricError(
                    f"label {describe(key)} of metric {self._name!r} has the value "
                    f"{describe(value)} ({type(value).__name__}); label values must be "
                    f"strings, e.g. {describe(str(value))}"
                )
        return items

    def _fit(self, items: tuple[tuple[str, str], ...]) -> tuple[tuple[tuple[str, str], ...], int]:
        """``(items with every value fitted, values cut)``; *items* itself when no value
        changes (short ASCII values are passed at the cost of a length test)."""
        safe = self._safe_value_length
        fitted: list[tuple[str, str]] | None = None
        cut = 0
        for i, (key, value) in enumerate(items):
            if len(value) <= safe and value.isascii():
                continue
            text, was_cut = fit_label_value(value, self._max_value_length)
            if text is not value:
                if fitted is None:
                    fitted = list(items)
                fitted[i] = (key, text)
                cut += was_cut
        return (items if fitted is None else tuple(fitted)), cut

    def _count_cut(self, values: int) -> None:
        """Count *values* cut label values of this instrument (called outside its lock;
        the counter ``metrics.collector`` installs never raises)."""
        count = CUT_LABELS.count
        if count is not None:
            count(self._name, values)

    def _remember(
        self,
        items: tuple[tuple[str, str], ...],
        fitted: tuple[tuple[str, str], ...],
        key: tuple[str, ...],
        series: S,
    ) -> None:
        """Cache *series* under the call's *items* (caller holds the lock and checked the
        cache limit): built from the stored key's strings when *items* needed no change,
        else *items* themselves while the oversized budget lasts."""
        if fitted is items:
            names, index = self._label_names, self._index
            stored = self._keys.get(key, key)
            entry = tuple((names[index[k]], stored[index[k]]) for k, _ in items)
            self._cache[entry] = series
            return
        size = sum(len(value) for _, value in items)
        if size <= self._oversized_left:
            self._oversized_left -= size
            self._cache[items] = series

    def _unknown_keys_error(self, items: tuple[tuple[str, str], ...]) -> InvalidMetricError:
        given = [key for key, _ in items]
        unknown = [key for key in given if key not in self._index]
        return InvalidMetricError(
            f"{self.kind} {self._name!r} got label keys {describe(given, 300)} with unknown "
            f"{describe(unknown, 300)}; its label schema is {list(self._label_names)} "
            "(default labels plus the keys of the first labelled call, locked on first "
            "use). Use only these keys (missing ones become ''), or create a separate metric."
        )

    def _lock_schema(self, items: tuple[tuple[str, str], ...]) -> None:
        """Extend the schema with the first labelled call's keys (caller holds the lock)."""
        extra = [key for key, _ in items if key not in self._defaults]
        for key in extra:
            self._check_label_name(key)
        old_unlabelled = self._unlabelled_key()
        self._label_names = (*self._label_names, *extra)
        self._index = {key: i for i, key in enumerate(self._label_names)}
        self._schema_locked = True
        series = self._series.pop(old_unlabelled, None)
        if series is not None:
            del self._keys[old_unlabelled]
            unlabelled = self._unlabelled_key()
            self._series[unlabelled] = series
            self._keys[unlabelled] = unlabelled

    def _key_for(self, items: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
        values = list(self._unlabelled_key())
        index = self._index
        for key, value in items:
            values[index[key]] = value
        return tuple(values)

    def _resolve(self, labels: Any) -> S:
        """Slow path of every update: validate and fit *labels*, lock the schema, find
        the series, cache it, count cut values."""
        items = self._check_items(labels)
        if not items:
            series = self._unlabelled
            return series if series is not None else self._get_unlabelled()
        fitted, cut = self._fit(items)
        with self._lock:
            if not self._schema_locked:
                self._lock_schema(fitted)
            if any(key not in self._index for key, _ in fitted):
                raise self._unknown_keys_error(fitted)
            key = self._key_for(fitted)
            series = self._series_for_key(key)
            if key == self._unlabelled_key():
                self._unlabelled = series
            if series is not self._overflow and len(self._cache) < self._cache_limit:
                self._remember(items, fitted, key, series)
        if cut:
            self._count_cut(cut)
        return series

    def _lookup(self, labels: Mapping[str, str] | None) -> S | None:
        """The series for *labels* if it exists (reads never create series or lock)."""
        if labels is None:
            return self._unlabelled
        items, _ = self._fit(self._check_items(labels))
        if not items:
            return self._unlabelled
        with self._lock:
            if self._schema_locked and any(key not in self._index for key, _ in items):
                raise self._unknown_keys_error(items)
            if any(key not in self._index for key, _ in items):
                return None  # schema not locked yet: no series can carry these keys
            key = self._key_for(items)
            overflow = (OVERFLOW_VALUE,) * len(self._label_names)
            if key == overflow and key not in self._series:
                return self._overflow
            return self._series.get(key)


class ObservedSeries(Protocol):
    """A series that keeps the sum and a ring of recent observations (histogram, summary)."""

    lock: threading.Lock
    sum: float
    recent: deque[float]


Obs = TypeVar("Obs", bound=ObservedSeries)


class ObservingInstrument(Instrument[Obs, Snap]):
    """Base of :class:`Histogram` and :class:`Summary`: the value rule and the readers
    their series share."""

    __slots__ = ()
    _nan_rule: ClassVar[str]

    def _number(self, value: object) -> float:
        """*value* as a plain float (the update's slow path: anything but a float that is
        not NaN), else the error saying why not; ``±inf`` is accepted."""
        number = as_float(value)
        if number is None or number != number:
            raise self._bad_value(value if number is None else number)
        return number

    def _bad_value(self, value: object) -> InvalidMetricError:
        if isinstance(value, float) and value != value:
            return InvalidMetricError(
                f"{self.kind} {self._name!r} cannot observe NaN: {self._nan_rule}; pass a "
                "number (±inf is accepted)"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            return InvalidMetricError(
                f"{self.kind} {self._name!r} cannot observe {describe(value)}: it does not "
                "fit a float64 (at most ±1.8e308); pass a number a Prometheus sample can hold"
            )
        return InvalidMetricError(
            f"{self.kind} {self._name!r} cannot observe {describe(value)} "
            f"({type(value).__name__}); pass an int or float"
        )

    def get_observations(self, labels: Mapping[str, str] | None = None) -> list[float]:
        """The most recent observations, oldest first, at most ``max_observations``."""
        series = self._lookup(labels)
        if series is None:
            return []
        with series.lock:
            return list(series.recent)

    def get_sum(self, labels: Mapping[str, str] | None = None) -> float:
        """Sum of every observation of the series since the last reset."""
        series = self._lookup(labels)
        return 0.0 if series is None else series.sum
