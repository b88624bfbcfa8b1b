"""A log-bucket quantile sketch (DDSketch-style) with bounded relative error and memory.

With relative accuracy ``a`` (default 1 %), ``gamma = (1 + a) / (1 - a)``; a positive
value ``x`` falls in bucket ``i = ceil(log_gamma(x))``, covering ``(gamma**(i-1),
gamma**i]``, and the bucket's estimate ``2 * gamma**i / (gamma + 1)`` is within ``a·x``
of every value in it. Negative values use a mirrored store of ``-x``; zero (and
subnormal magnitudes below ``sys.float_info.min``) have their own count, as do
``+inf`` and ``-inf``.

Quantile definition: the ``q``-quantile of ``n`` values is the value of 0-based rank
``max(0, ceil(q * n) - 1)`` in sorted order (nearest rank; ``q = 0`` is the minimum).
The sketch returns an estimate within ``a`` relative error of that value (up to float
rounding) as long as no bucket was collapsed; estimates are clamped to the exact minimum
and maximum seen, so ``q = 0``, ``q = 1`` and constant data are exact.

Memory: at most ``max_bins`` buckets per sign (default 1,024: with 1 % accuracy that is a
dynamic range of about 8e8, e.g. 1 µs to 800 s, per sign). When a store exceeds it, its
lowest-magnitude buckets are merged into one floor bucket (about ``max_bins / 16`` at a
time) and later values below the floor count there; the high tail, which quantiles like
p99 read, keeps its accuracy.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence

__all__ = ["DEFAULT_MAX_BINS", "DEFAULT_RELATIVE_ACCURACY", "LogSketch", "rank_of"]

DEFAULT_RELATIVE_ACCURACY = 0.01
DEFAULT_MAX_BINS = 1024
_MIN_POSITIVE = sys.float_info.min
_INF = math.inf
_ceil = math.ceil
_log = math.log


def rank_of(q: float, n: int) -> int:
    """0-based nearest rank of the ``q``-quantile among ``n`` sorted values."""
    return max(0, _ceil(q * n) - 1)


class LogSketch:
    """Quantile sketch over every value added; relative error and memory are bounded."""

    __slots__ = (
        "_estimate_factor",
        "_inv_log_gamma",
        "_log_gamma",
        "_max",
        "_max_bins",
        "_min",
        "_neg",
        "_neg_floor",
        "_ninf",
        "_pinf",
        "_pos",
        "_pos_floor",
        "_zero",
        "relative_accuracy",
    )

    def __init__(
        self,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        max_bins: int = DEFAULT_MAX_BINS,
    ) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(
                f"relative_accuracy={relative_accuracy!r} must be between 0 and 1 exclusive "
                "(e.g. 0.01 for 1 %)"
            )
        if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 1:
            raise ValueError(f"max_bins={max_bins!r} must be an integer >= 1")
        gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self.relative_accuracy = relative_accuracy
        self._log_gamma = _log(gamma)
        self._inv_log_gamma = 1.0 / self._log_gamma
        self._estimate_factor = _log(2.0 / (gamma + 1.0))
        self._max_bins = max_bins
        self._pos: dict[int, int] = {}
        self._neg: dict[int, int] = {}
        self._pos_floor: int | None = None
        self._neg_floor: int | None = None
        self._zero = 0
        self._pinf = 0
        self._ninf = 0
        self._min = _INF
        self._max = -_INF

    @property
    def count(self) -> int:
        """Number of values added (summed over the buckets: O(buckets))."""
        return (
            sum(self._pos.values()) + sum(self._neg.values()) + self._zero + self._pinf + self._ninf
        )

    def bin_count(self) -> int:
        """Number of buckets held (both signs)."""
        return len(self._pos) + len(self._neg)

    def add(self, value: float) -> None:
        """Add one value (NaN raises ``ValueError``; ``±inf`` is counted)."""
        if _MIN_POSITIVE <= value < _INF:  # the common case: a positive normal float
            index = _ceil(_log(value) * self._inv_log_gamma)
            bins = self._pos
            seen = bins.get(index)
            if seen is None:
                self._new_bin(True, index)
            else:
                bins[index] = seen + 1
        else:
            self._add_other(value)
        if value < self._min:
            self._min = value
        if value > self._max:
            self._max = value

    def _add_other(self, value: float) -> None:
        if value == _INF:
            self._pinf += 1
        elif value == -_INF:
            self._ninf += 1
        elif -_MIN_POSITIVE < value < _MIN_POSITIVE:
            self._zero += 1
        elif value < 0.0:
            index = _ceil(_log(-value) * self._inv_log_gamma)
            seen = self._neg.get(index)
            if seen is None:
                self._new_bin(False, index)
            else:
                self._neg[index] = seen + 1
        else:
            raise ValueError(f"cannot add {value!r} to a quantile sketch: NaN has no rank")

    def _new_bin(self, positive: bool, index: int) -> None:
        bins = self._pos if positive else self._neg
        floor = self._pos_floor if positive else self._neg_floor
        if floor is not None and index < floor:
            bins[floor] += 1
            return
        bins[index] = 1
        if len(bins) > self._max_bins:
            self._collapse(positive)

    def _collapse(self, positive: bool) -> None:
        bins = self._pos if positive else self._neg
        keys = sorted(bins)
        keep = max(1, self._max_bins - self._max_bins // 16)
        cut = len(keys) - keep
        floor = keys[cut]
        bins[floor] += sum(bins.pop(key) for key in keys[:cut])
        if positive:
            self._pos_floor = floor
        else:
            self._neg_floor = floor

    def copy(self) -> LogSketch:
        """An independent copy (O(buckets))."""
        other = LogSketch.__new__(LogSketch)
        for slot in LogSketch.__slots__:
            setattr(other, slot, getattr(self, slot))
        other._pos = dict(self._pos)
        other._neg = dict(self._neg)
        return other

    def quantile(self, q: float) -> float:
        """Estimate of the ``q``-quantile (``0 <= q <= 1``); NaN when empty."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: Sequence[float]) -> list[float]:
        """Estimates for several quantiles in one pass over the buckets."""
        for q in qs:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile {q!r} must be between 0 and 1 inclusive")
        n = self.count
        if n == 0:
            return [math.nan] * len(qs)
        order = sorted(range(len(qs)), key=lambda k: qs[k])
        results = [math.nan] * len(qs)
        walk = self._ascending()
        value, seen = next(walk)
        for k in order:
            rank = rank_of(qs[k], n)
            while rank >= seen:
                bucket_value, count = next(walk)
                value = bucket_value
                seen += count
            # the extremes are exact, so clamping only removes error
            results[k] = min(max(value, self._min), self._max)
        return results

    def _ascending(self) -> Iterator[tuple[float, int]]:
        """``(estimate, count)`` per non-empty bucket in ascending value order."""
        if self._ninf:
            yield -_INF, self._ninf
        for index in sorted(self._neg, reverse=True):
            yield -self._estimate(index), self._neg[index]
        if self._zero:
            yield 0.0, self._zero
        for index in sorted(self._pos):
            yield self._estimate(index), self._pos[index]
        if self._pinf:
            yield _INF, self._pinf

    def _estimate(self, index: int) -> float:
        try:
            return math.exp(index * self._log_gamma + self._estimate_factor)
        except OverflowError:  # the top bucket of the float range
            return sys.float_info.max
