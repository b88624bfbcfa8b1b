"""Every metric update, written once: the one home of the metrics hot path.

An update is four steps: check the number, find the series of the label set, add to
the series, and keep an exemplar while a sampled span is current. Each step is written
once below, as a small fragment of Python source, and every update method of the
instruments (``Counter.increment``, ``Gauge.set``, ``Histogram.observe``, ...), of their
bound handles and of :class:`~lexigram.monitor.metrics.bound.BoundPair` is assembled
from these fragments and compiled once, at import, into one plain function (the way
:mod:`dataclasses` writes ``__init__``). A method's declared ``def`` (its signature and
docstring, for readers and type checkers) carries ``@compiled("Class.method")``; its body
is here. The assembled code is what hand-inlined code would be: one Python call per
update, no helper calls inside it. ``inspect.getsource(Counter.increment)`` and
tracebacks show the generated lines.

Why no lock is needed under the GIL
-----------------------------------
CPython with a GIL hands the interpreter to another thread only between bytecodes, and
only where the eval loop checks for a pending switch: on entering a Python function, on
a backward jump (a loop) and after a call. A run of bytecodes without a call and
without a loop therefore executes as one uninterruptible step. ``series.value +=
amount`` with a built-in ``int``/``float`` is such a run (load, add, store: adding two
built-in numbers runs no Python code), so concurrent increments never lose an update
and need no lock. The histogram step (sum, bucket count, then the append to the
recent-values ring, the only call, last) and :class:`BoundPair`'s counter-plus-histogram
step are such runs too, and :func:`copy_histogram` reads the counts and then the sum
the same way, so a snapshot's sum always matches its counts. What would break the rule:
a Python-level call or property inside the run, a loop, or a number type whose ``+`` is
Python code (``Fraction``, ``Decimal``, numpy scalars) — which is why every amount is
turned into an ``int`` or ``float`` first. Reads of single values need nothing.

Free-threaded builds (``sys._is_gil_enabled()`` false) compile the same fragments with
each series' own lock around its update: still exact, one uncontended lock per update.
The choice is :data:`ATOMIC`, made once at import; tests switch every compiled update
to the other variant with :func:`forced`. A summary's sketch update is Python code, so
it always takes the series' lock.

Values (checked before anything changes)
----------------------------------------
Amounts and values must be numbers that fit a float64: ``bool`` counts as ``int``,
other numeric types are converted with ``float()``, an ``int`` beyond ±1.8e308 or a
non-number raises :class:`~lexigram.monitor.exceptions.InvalidMetricError`. A counter
keeps an exact ``int`` total while every amount is an ``int`` of at most 2**53
(:data:`EXACT_INT`); a larger ``int`` is added as the nearest float, so a stored total
is always something the exposition can print.

Where a series keeps its numbers
--------------------------------
The fragments read and write a series' numbers only through the expressions of a
:class:`Layout`: :data:`IN_PROCESS` keeps them in Python attributes (``series.value``,
``series.sum``, ``series.counts[i]``); :data:`SHARED` keeps them in ``series.cells``, a
``memoryview`` of float64 cells inside a memory-mapped file of the multi-process mode
(``metrics._shared``), and compiles the same steps against those cells, for series
classes that also offer ``lock``, ``recent`` and ``keep_exemplar(...)``. An item ``+=``
on a ``memoryview`` is one C-level get and one C-level set, no Python code, so the GIL
rule above holds unchanged; each process writes only its own file, so no lock is taken
between processes. The shared layout also counts a summary's observations in a cell
(``count``) and stamps a gauge's cell with the wall-clock time of its last update
(``stamp``, read by the ``latest`` merge mode).
"""

from __future__ import annotations

import itertools
import linecache
import math
import sys
import textwrap
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import ceil, log2
from time import time
from typing import Any, Final, TypeVar

from ._exemplars import capture, state

__all__ = [
    "ATOMIC",
    "EXACT_INT",
    "IN_PROCESS",
    "MAX_FLOAT_INT",
    "RESETS",
    "SHARED",
    "Layout",
    "compiled",
    "copy_cells",
    "copy_histogram",
    "forced",
    "source",
]

#: True when a GIL serialises bytecode: updates run lock-free (False on free-threaded
#: builds, where each update takes its series' lock). Decided once, here.
ATOMIC: Final[bool] = bool(getattr(sys, "_is_gil_enabled", lambda: True)())

#: Largest ``int`` a counter adds exactly (2**53: every int up to it is a float too).
EXACT_INT: Final[int] = 2**53
#: Largest ``int`` accepted as a value (the largest finite float64, as an int).
MAX_FLOAT_INT: Final[int] = int(sys.float_info.max)

F = TypeVar("F", bound=Callable[..., Any])


class _Resets:
    """Process-wide count of instrument resets: a handle holding series of one or more
    instruments notices any reset with one comparison and resolves its series again."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


RESETS: Final = _Resets()

#: A native series' ``lookup`` dict keys positive bucket ``i`` as ``i + NATIVE_SHIFT``:
#: at schema 3 the buckets from 2**-16 to 2**16 get keys 0..256, ints CPython keeps
#: one object of, so the lookup finds its key by identity and makes no int.
NATIVE_SHIFT: Final = 128


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a series keeps its numbers: source expressions over the series ``{s}``.

    ``value`` is a counter's total or a gauge's value, ``sum`` a histogram's or
    summary's sum, ``bucket`` the count of bucket ``{i}``. Each must be an assignable
    expression whose ``+=`` runs no Python-level code (see the module docstring).
    ``count`` (a summary's number of observations) and ``stamp`` (a gauge's time of
    last update) are optional: empty means the layout keeps no such cell. ``native``
    is the count at position ``slot`` of a native histogram series' ``{s}.slots`` (the
    position its ``lookup`` dict gave for the value's bucket).
    """

    name: str
    value: str = "{s}.value"
    sum: str = "{s}.sum"
    bucket: str = "{s}.counts[{i}]"
    count: str = ""
    stamp: str = ""
    native: str = "{s}.slots[slot]"


IN_PROCESS: Final = Layout("in-process")
#: Cells of the multi-process mode: a counter ``[value]``, a gauge ``[value, stamp]``,
#: a histogram ``[bucket 0, ..., bucket n-1, sum]``, a summary ``[count, sum]``; a native
#: histogram's ``buckets`` map a bucket index to its cell (``metrics._shared_native``).
SHARED: Final = Layout(
    "shared",
    value="{s}.cells[0]",
    sum="{s}.cells[-1]",
    bucket="{s}.cells[{i}]",
    count="{s}.cells[0]",
    stamp="{s}.cells[-1]",
)

# -- the fragments -------------------------------------------------------------------------
#
# Placeholders: {owner} the instrument (``self`` or ``self._instrument``), {s} the series
# variable, {x} the number variable, {op} an operation name for error messages; the
# layout expressions are substituted as {value}, {sum} and {bucket}.

# A counter amount: a non-negative int up to EXACT_INT passes untouched, like a float
# >= 0 (NaN is not >= 0); everything else is converted or refused by the instrument.
_COUNT_AMOUNT = """
if {x}.__class__ is int:
    if not 0 <= {x} <= _EXACT_INT:
        {x} = {owner}._amount({x})
elif {x}.__class__ is not float or not {x} >= 0:
    {x} = {owner}._amount({x})
"""

# A gauge value as a float: ints and floats pass; whatever makes no real number with
# ``+ 0.0`` (Decimal, complex, non-numbers, ints beyond float64) or gives NaN goes to
# the instrument, which converts it or refuses it. (A comparison, not a class test: it
# costs a third of the instructions; a float subclass such as numpy's float64 passes
# and is turned into a float when the series is read.)
_GAUGE_NUMBER = """
try:
    number = {x} + 0.0
    if not number <= _INF:  # NaN; complex and other non-reals raise
        number = None
except Exception:  # TypeError, OverflowError, decimal's InvalidOperation, ...
    number = None
if number is None:
    number = {owner}._number({x}, "{op}")
"""

# An observed value as a float (NaN refused by the instrument), then its bucket.
_OBSERVED_NUMBER = """
if {x}.__class__ is not float or {x} != {x}:
    {x} = {owner}._number({x})
"""
_BUCKET_INDEX = """
index = _bisect({bounds}, {x})
"""

# The series of ``labels`` (None: the unlabelled one). A label dict seen before is
# found by its items in the instrument's key cache; anything else takes the slow path.
_LOOKUP = """
if labels is None:
    {s} = self._unlabelled
    if {s} is None:
        {s} = self._get_unlabelled()
else:
    try:
        {s} = self._cache[tuple(labels.items())]
    except (KeyError, TypeError, AttributeError):
        {s} = self._resolve(labels)
"""

# A bound handle's series, taken again after any instrument's reset().
_BOUND_SERIES = """
if self._epoch != _RESETS.count:
    self._refresh()
{s} = self._series
"""


def _locked(series: str, body: str) -> str:
    """*body* run under *series*' lock (acquire/release: cheaper than ``with``)."""
    inner = textwrap.indent(body, "    ")
    return f"lock = {series}.lock\nlock.acquire()\ntry:\n{inner}finally:\n    lock.release()\n"


_ADD = {True: "{value} += {x}\n", False: _locked("{s}", "{value} += {x}\n")}
_SET = {True: "{value} = {x}\n", False: _locked("{s}", "{value} = {x}\n")}
_HISTOGRAM_STEP = "{sum} += {x}\n{bucket} += 1\n{s}.recent.append({x})\n"
_OBSERVE = {True: _HISTOGRAM_STEP, False: _locked("{s}", _HISTOGRAM_STEP)}
# BoundPair: the histogram step and the counter's +1 in one run; the call (append) last.
_OBSERVE_AND_COUNT = {
    True: "{sum} += {x}\n{bucket} += 1\n{count} += 1\n{s}.recent.append({x})\n",
    False: _locked("{s}", _HISTOGRAM_STEP) + _locked("{c}", "{count} += 1\n"),
}
# The sketch's add is Python code: always under the series' lock. A layout with a
# count cell adds 1 to it (the sketch counts for itself in process).
_SKETCH_STEP = "{s}.sketch.add({x})\n{sum} += {x}\n{s}.recent.append({x})\n"
_SKETCH = {
    False: _locked("{s}", _SKETCH_STEP),
    True: _locked("{s}", "{count} += 1\n" + _SKETCH_STEP),
}

# Exemplars: the probe (a C-level call) answers whether a span is current; only then
# is the source asked. Failures of the source are counted inside ``capture``.
_COUNTER_EXEMPLAR = """
probe = _state.probe
if probe is not None and probe() is not None:
    exemplar = _capture(_state.source, {x}, {owner}._clock)
    if exemplar is not None:
        {s}.exemplar = exemplar
"""
_BUCKET_EXEMPLAR = """
probe = _state.probe
if probe is not None and probe() is not None:
    exemplar = _capture(_state.source, {x}, {owner}._clock)
    if exemplar is not None:
        {s}.keep_exemplar({i}, exemplar)
"""
_PAIR_EXEMPLAR = """
probe = _state.probe
if probe is not None and probe() is not None:
    exemplar = _capture(_state.source, {x}, self._clock)
    if exemplar is not None:
        {s}.keep_exemplar({i}, exemplar)
        {c}.exemplar = (1, exemplar[1], exemplar[2], exemplar[3])
"""

# Native (exponential) histograms, see ``metrics.native``. A positive value's bucket is
# looked up at ``ceil(log2(v) * 2**schema + 1e-9)`` (``{s}.scale``; the key adds
# :data:`NATIVE_SHIFT`) in the series' ``lookup`` dict, which maps it to the position
# of the bucket's count in ``{s}.slots`` (a list in process, the series' cells when
# shared); ``lookup`` mirrors the positive buckets. ``log2`` is off by far less than
# the 1e-9 nudge, so that index is the value's bucket or the one above it; the one
# above starts at the value's own bucket's upper bound, so ``v > {s}.lowers[slot]``
# (the exclusive lower bound kept per slot, raised to the zero threshold for a bucket
# it cuts through) tells the two apart exactly, and also keeps every value of the zero
# bucket off this path. With classic buckets kept, ``{s}.classes[slot]`` is the classic
# bucket of every value that passes the check (a classic bound inside the native bucket
# raises the slot's lower bound to it), so one index computation serves both; an
# exemplar (rare) takes the classic index by bisection.
#
# Everything else (the zero bucket, negative and infinite values, a value next to a
# lower bound: ``KeyError``, ``ValueError`` from ``log2``, ``OverflowError`` from
# ``ceil``, or the failed check) is located exactly by ``{s}.locate`` and counted the
# same way, lock-free; a bucket the series does not hold yet takes ``_native_miss``,
# which adds it (reducing the schema past the series' bucket limit) under the series'
# lock. ``lookup`` is read before the scale: a schema change first drains the old
# bucket dicts (``pop`` per bucket: an increment either happened before or raises
# KeyError), then replaces scale and dicts in one run; a slot's lower bound is written
# before its bucket enters a dict. The lookup, the check, the increments and the sum
# follow each other with no call between (one uninterruptible run).
_NATIVE_FAR = """
{cindex}index, buckets = {s}.locate({x})
try:
    {s}.slots[buckets[index]] += 1
except KeyError:
    {owner}._native_miss({s}, {x})
{after}else:
{rest}    {s}.recent.append({x})
"""
_NATIVE_STEP = """
try:
    slot = {s}.lookup[_ceil(_log2({x}) * {s}.scale + {key})]
except (KeyError, ValueError, OverflowError):
{far}else:
    if {x} > {s}.lowers[slot]:
        {native} += 1
{rest}        {s}.recent.append({x})
    else:
{far_inner}"""
# Locked: the lookup and the check under the lock too (a drained dict holds nothing);
# the miss path takes the lock itself, so it runs after the release.
_NATIVE_LOCKED_STEP = """
buckets = {s}.lookup
try:
    index = _ceil(_log2({x}) * {s}.scale + {key})
except (ValueError, OverflowError):
    index = None
lock = {s}.lock
lock.acquire()
try:
    slot = buckets.get(index, -1)
    missed = slot < 0 or {x} <= {s}.lowers[slot]
    if not missed:
        {native} += 1
{rest}finally:
    lock.release()
if missed:
    {owner}._native_miss({s}, {x})
else:
    {s}.recent.append({x})
"""


def _stamped(layout: Layout, step: str, s: str) -> str:
    """*step* followed by the gauge's time stamp when *layout* keeps one; the time is
    read first, so value and stamp are stored with no call between them."""
    if not layout.stamp:
        return step
    return _join("now = _time()\n", step, _fill("{stamp} = now\n", layout, s=s))


def _gauge(step: dict[bool, str], op: str, negate: bool = False) -> Callable[..., str]:
    def build(layout: Layout, atomic: bool, bound: bool) -> str:
        owner = "self._instrument" if bound else "self"
        number = _GAUGE_NUMBER.replace("{x} + 0.0", "-{x} + 0.0") if negate else _GAUGE_NUMBER
        series = _BOUND_SERIES if bound else _LOOKUP
        return _join(
            _fill(number, owner=owner, x="amount" if op != "set" else "value", op=op),
            _fill(series, s="series"),
            _stamped(layout, _fill(step[atomic], layout, s="series", x="number"), "series"),
        )

    return build


def _enter(layout: Layout, atomic: bool, bound: bool) -> str:
    # BoundGauge.enter: +1 on the current series, which is returned as the token.
    return _join(
        _fill(_BOUND_SERIES, s="series"),
        _stamped(layout, _fill(_ADD[atomic], layout, s="series", x="1"), "series"),
        "return series\n",
    )


def _leave(layout: Layout, atomic: bool, bound: bool) -> str:
    # BoundGauge.leave: -1 on the series entered, even if a reset replaced it since.
    return _stamped(layout, _fill(_ADD[atomic], layout, s="token", x="-1"), "token")


def _counter(layout: Layout, atomic: bool, bound: bool) -> str:
    owner = "self._instrument" if bound else "self"
    return _join(
        _fill(_COUNT_AMOUNT, owner=owner, x="amount"),
        _fill(_BOUND_SERIES if bound else _LOOKUP, s="series"),
        _fill(_ADD[atomic], layout, s="series", x="amount"),
        _fill(_COUNTER_EXEMPLAR, owner=owner, s="series", x="amount"),
    )


def _histogram(layout: Layout, atomic: bool, bound: bool) -> str:
    owner = "self._instrument" if bound else "self"
    return _join(
        _fill(_OBSERVED_NUMBER, owner=owner, x="value"),
        _fill(_BUCKET_INDEX, bounds="self._bounds", x="value"),
        _fill(_BOUND_SERIES if bound else _LOOKUP, s="series"),
        _fill(_OBSERVE[atomic], layout, s="series", x="value", i="index"),
        _fill(_BUCKET_EXEMPLAR, owner=owner, s="series", x="value", i="index"),
    )


def _native_step(layout: Layout, atomic: bool, classic: str, s: str, owner: str, extra: str) -> str:
    """The native increment then, in the same run, the classic count (when *classic*,
    the classic bounds' expression, is not empty), the sum and *extra* (a pair's
    counter, also counted after the miss path)."""

    def rest(index: str) -> str:
        bucket = _fill("{bucket} += 1\n", layout, i=index) if classic else ""
        return bucket + "{sum} += {x}\n" + extra

    if atomic:
        far = _NATIVE_FAR.lstrip("\n").replace(
            "{cindex}", f"cindex = _bisect({classic}, {{x}})\n" if classic else ""
        )
        far = far.replace("{rest}", textwrap.indent(rest("cindex"), "    "))
        far = far.replace("{after}", textwrap.indent(extra, "    "))
        step = (
            _NATIVE_STEP.replace("{rest}", textwrap.indent(rest(s + ".classes[slot]"), "        "))
            .replace("{far}", textwrap.indent(far, "    "))
            .replace("{far_inner}", textwrap.indent(far, "        "))
        )
    else:
        step = _NATIVE_LOCKED_STEP.replace(
            "{rest}", textwrap.indent(rest(s + ".classes[slot]"), "        ")
        )
    return _fill(step, layout, s=s, owner=owner, x="value", key=repr(NATIVE_SHIFT + 1e-09))


def _native(classic: bool) -> Callable[..., str]:
    def build(layout: Layout, atomic: bool, bound: bool) -> str:
        owner = "self._instrument" if bound else "self"
        bounds = "self._bounds" if bound else "self._classic"
        return _join(
            _fill(_OBSERVED_NUMBER, owner=owner, x="value"),
            _fill(_BOUND_SERIES if bound else _LOOKUP, s="series"),
            _native_step(layout, atomic, bounds if classic else "", "series", owner, ""),
            _fill(
                _BUCKET_EXEMPLAR,
                owner=owner,
                s="series",
                x="value",
                i=f"_bisect({bounds}, value)" if classic else "-1",
            ),
        )

    return build


def _native_pair(classic: bool) -> Callable[..., str]:
    # BoundPair over a native histogram handle: the native step, then the counter's +1.
    def build(layout: Layout, atomic: bool, bound: bool) -> str:
        count = layout.value.replace("{s}", "counted") + " += 1\n"
        step = _native_step(
            layout,
            atomic,
            "self._bounds" if classic else "",
            "observed",
            "self._owner",
            count if atomic else "",
        )
        if not atomic:
            step += _locked("counted", count)
        return _join(
            _fill(_OBSERVED_NUMBER, owner="self._owner", x="value"),
            "if self._epoch != _RESETS.count:\n    self._refresh()\n",
            "observed = self._observed\ncounted = self._counted\n",
            step,
            _fill(
                _PAIR_EXEMPLAR,
                s="observed",
                c="counted",
                x="value",
                i="_bisect(self._bounds, value)" if classic else "-1",
            ),
        )

    return build


def _pair(layout: Layout, atomic: bool, bound: bool) -> str:
    # BoundPair: counter series ``counted``, histogram series ``observed``.
    step = _OBSERVE_AND_COUNT[atomic].replace("{count}", layout.value.replace("{s}", "{c}"))
    return _join(
        _fill(_OBSERVED_NUMBER, owner="self._owner", x="value"),
        _fill(_BUCKET_INDEX, bounds="self._bounds", x="value"),
        "if self._epoch != _RESETS.count:\n    self._refresh()\n",
        "observed = self._observed\ncounted = self._counted\n",
        _fill(step, layout, s="observed", c="counted", x="value", i="index"),
        _fill(_PAIR_EXEMPLAR, s="observed", c="counted", x="value", i="index"),
    )


def _summary(layout: Layout, atomic: bool, bound: bool) -> str:
    return _join(
        _fill(_OBSERVED_NUMBER, owner="self", x="value"),
        _fill(_LOOKUP, s="series"),
        _fill(_SKETCH[bool(layout.count)], layout, s="series", x="value"),
    )


#: Operation -> (parameters after ``self``, body builder, is it a bound handle's).
_OPERATIONS: Final[dict[str, tuple[tuple[str, ...], Callable[..., str], bool]]] = {
    "Counter.increment": (("amount", "labels"), _counter, False),
    "BoundCounter.increment": (("amount",), _counter, True),
    "Gauge.set": (("value", "labels"), _gauge(_SET, "set"), False),
    "Gauge.increment": (("amount", "labels"), _gauge(_ADD, "increment"), False),
    "Gauge.decrement": (("amount", "labels"), _gauge(_ADD, "decrement", negate=True), False),
    "BoundGauge.set": (("value",), _gauge(_SET, "set"), True),
    "BoundGauge.increment": (("amount",), _gauge(_ADD, "increment"), True),
    "BoundGauge.decrement": (("amount",), _gauge(_ADD, "decrement", negate=True), True),
    "BoundGauge.enter": ((), _enter, True),
    "BoundGauge.leave": (("token",), _leave, True),
    "Histogram.observe": (("value", "labels"), _histogram, False),
    "BoundHistogram.observe": (("value",), _histogram, True),
    "BoundPair.record": (("value",), _pair, True),
    "NativeHistogram.observe": (("value", "labels"), _native(False), False),
    "BoundNativeHistogram.observe": (("value",), _native(False), True),
    "NativePair.record": (("value",), _native_pair(False), True),
    "ClassicNativeHistogram.observe": (("value", "labels"), _native(True), False),
    "BoundClassicNativeHistogram.observe": (("value",), _native(True), True),
    "ClassicNativePair.record": (("value",), _native_pair(True), True),
    "Summary.observe": (("value", "labels"), _summary, False),
}

_GLOBALS: Final[dict[str, Any]] = {
    "__builtins__": __builtins__,
    "_EXACT_INT": EXACT_INT,
    "_INF": math.inf,
    "_RESETS": RESETS,
    "_bisect": bisect_left,
    "_capture": capture,
    "_ceil": ceil,
    "_log2": log2,
    "_state": state,
    "_time": time,
}

# Every compiled function, so that :func:`forced` can swap its code in place.
_COMPILED: list[tuple[Callable[..., Any], str, Layout]] = []
_serial = itertools.count()


def _fill(fragment: str, layout: Layout | None = None, **names: str) -> str:
    """*fragment* with its placeholders replaced (layout expressions first)."""
    text = fragment.lstrip("\n")
    if layout is not None:
        text = (
            text.replace("{value}", layout.value)
            .replace("{sum}", layout.sum)
            .replace("{bucket}", layout.bucket)
            .replace("{count}", layout.count)
            .replace("{stamp}", layout.stamp)
            .replace("{native}", layout.native)
        )
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def _join(*parts: str) -> str:
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)


def source(operation: str, layout: Layout = IN_PROCESS, *, atomic: bool = ATOMIC) -> str:
    """The generated source of *operation* (``"Counter.increment"``), for reading."""
    try:
        params, build, bound = _OPERATIONS[operation]
    except KeyError:
        raise ValueError(
            f"no compiled update named {operation!r}; known: {sorted(_OPERATIONS)}"
        ) from None
    name = operation.rpartition(".")[2]
    body = textwrap.indent(build(layout, atomic, bound), "    ")
    return f"def {name}({', '.join(('self', *params))}):\n{body}"


def _compile(operation: str, layout: Layout, atomic: bool) -> Callable[..., Any]:
    text = source(operation, layout, atomic=atomic)
    variant = "lock-free" if atomic else "locked"
    filename = f"<metrics._update {operation} {layout.name} {variant} #{next(_serial)}>"
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    namespace: dict[str, Any] = {}
    exec(compile(text, filename, "exec"), _GLOBALS, namespace)
    function: Callable[..., Any] = namespace[operation.rpartition(".")[2]]
    return function


def compiled(operation: str, layout: Layout = IN_PROCESS) -> Callable[[F], F]:
    """Replace the decorated method by the compiled update *operation* for *layout*.

    The declared method gives the signature (parameter names must match the
    operation's), defaults, docstring and annotations; its body is not used.
    """
    if operation not in _OPERATIONS:
        raise ValueError(f"no compiled update named {operation!r}; known: {sorted(_OPERATIONS)}")
    params = _OPERATIONS[operation][0]

    def install(declared: F) -> F:
        code = declared.__code__
        declared_params = code.co_varnames[1 : code.co_argcount]
        if declared_params != params:
            raise TypeError(
                f"{declared.__qualname__} declares parameters {declared_params}, but the "
                f"compiled update {operation!r} uses {params}; rename them to match"
            )
        function: Any = _compile(operation, layout, ATOMIC)
        function.__defaults__ = declared.__defaults__
        function.__doc__ = declared.__doc__
        function.__annotations__ = declared.__annotations__
        function.__module__ = declared.__module__
        function.__qualname__ = declared.__qualname__
        function.__name__ = declared.__name__
        _COMPILED.append((function, operation, layout))
        return function  # type: ignore[no-any-return]

    return install


@contextmanager
def forced(*, atomic: bool) -> Iterator[None]:
    """Run every compiled update as its lock-free (*atomic*) or locked variant, then
    restore the variant chosen at import (for tests of both paths on one interpreter)."""
    for function, operation, layout in _COMPILED:
        function.__code__ = _compile(operation, layout, atomic).__code__
    try:
        yield
    finally:
        for function, operation, layout in _COMPILED:
            function.__code__ = _compile(operation, layout, ATOMIC).__code__


def copy_histogram(series: Any) -> tuple[list[int], float]:
    """A histogram series' per-bucket counts (a copy) and sum, consistent with each other.

    Under the GIL the copy and the read are one uninterruptible run (a thread switch
    can only come while the slice allocates, before anything is copied); otherwise the
    series' lock is held.
    """
    if ATOMIC:
        counts = series.counts[:]
        total: float = series.sum
        return counts, total
    with series.lock:
        return series.counts[:], series.sum


def copy_cells(series: Any) -> list[float]:
    """Every cell of a :data:`SHARED` series (a copy), read in one C call, so the values
    are consistent with each other against the updates of this process (other processes
    write their own files)."""
    cells: list[float] = series.cells.tolist()
    return cells
