"""Service level objectives and the violations found when evaluating them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

__all__ = ["SLO", "SLOViolation", "percentile_label"]


def percentile_label(percentile: float) -> str:
    """``0.99`` -> ``"p99"``, ``0.999`` -> ``"p99.9"``, ``1.0`` -> ``"p100"``."""
    return f"p{float(Fraction(str(percentile)) * 100):g}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class SLO:
    """Defines an acceptable performance target for a monitored metric.

    An SLO specifies the maximum tolerable value for a percentile of a metric (e.g. p99
    latency < 200 ms) and the error-budget burn-rate threshold above which an alert
    should be raised.

    Attributes:
        name: Unique name for this SLO (e.g. ``"api.p99_latency"``); not empty.
        metric: Name of the metric to evaluate (e.g. ``"http.request.duration"``).
        percentile: Target percentile as a fraction in (0, 1] (``0.99`` for p99).
        threshold_ms: Maximum acceptable measured value in milliseconds (> 0).
        window: Measurement window for rolling evaluation (> 0).
        burn_rate_threshold: Fire when measured/threshold equals or exceeds this value
            (> 0). ``1.0`` means "alert the moment the threshold is exceeded".
        description: Optional human-readable description.

    Invalid values raise ``ValueError`` at construction, naming the field and the rule.
    """

    name: str
    metric: str
    percentile: float
    threshold_ms: float
    window: timedelta
    burn_rate_threshold: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(
                f"SLO name {self.name!r} is invalid: it must be a non-empty string, "
                "e.g. 'api.p99_latency'"
            )
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise ValueError(
                f"SLO {self.name!r}: metric {self.metric!r} is invalid: it must be the "
                "non-empty name the samples are recorded under, e.g. 'http.request.duration'"
            )
        percentile = _number(self.percentile)
        if percentile is None or not 0.0 < percentile <= 1.0:
            raise ValueError(
                f"SLO {self.name!r}: percentile {self.percentile!r} is invalid: it must be "
                "a fraction in (0, 1], e.g. 0.99 for p99 (not 99)"
            )
        threshold = _number(self.threshold_ms)
        if threshold is None or not 0.0 < threshold < math.inf:
            raise ValueError(
                f"SLO {self.name!r}: threshold_ms {self.threshold_ms!r} is invalid: it must "
                "be a finite number of milliseconds > 0, e.g. 200.0"
            )
        if not isinstance(self.window, timedelta) or self.window <= timedelta(0):
            raise ValueError(
                f"SLO {self.name!r}: window {self.window!r} is invalid: it must be a "
                "positive datetime.timedelta, e.g. timedelta(hours=1)"
            )
        burn = _number(self.burn_rate_threshold)
        if burn is None or not 0.0 < burn < math.inf:
            raise ValueError(
                f"SLO {self.name!r}: burn_rate_threshold {self.burn_rate_threshold!r} is "
                "invalid: it must be a finite number > 0, e.g. 1.0 (alert as soon as the "
                "threshold is exceeded) or 2.0 (alert at twice the threshold)"
            )
        if not isinstance(self.description, str):
            raise ValueError(
                f"SLO {self.name!r}: description {self.description!r} must be a string"
            )
        object.__setattr__(self, "percentile", percentile)
        object.__setattr__(self, "threshold_ms", threshold)
        object.__setattr__(self, "burn_rate_threshold", burn)

    @property
    def percentile_label(self) -> str:
        """The percentile as Prometheus-style text, e.g. ``"p99"``."""
        return percentile_label(self.percentile)

    def rank(self, count: int) -> int:
        """Nearest rank ``ceil(percentile·count)`` (1-based) among *count* samples.

        The percentile is taken as the decimal the user wrote (``0.1`` is exactly 1/10),
        so ``rank(10)`` for p10 is 1, not 2 as binary rounding would give.
        """
        return max(1, math.ceil(Fraction(str(self.percentile)) * count))


@dataclass(frozen=True, slots=True)
class SLOViolation:
    """Represents a detected SLO threshold breach.

    Attributes:
        slo: The SLO that was violated.
        measured_value: The percentile value that exceeded the threshold (ms).
        burn_rate: Ratio of ``measured_value`` to ``slo.threshold_ms`` at detection.
        detected_at: UTC time of detection (an aware datetime; naive ones are refused).
        message: Human-readable summary, generated when empty.
        sample_count: Number of samples inside the window the percentile was taken over
            (0 when unknown).
    """

    slo: SLO
    measured_value: float
    burn_rate: float
    detected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    message: str = ""
    sample_count: int = 0

    def __post_init__(self) -> None:
        if self.detected_at.tzinfo is None:
            raise ValueError(
                f"SLOViolation detected_at {self.detected_at!r} is naive: pass an aware "
                "datetime, e.g. datetime.now(UTC)"
            )
        object.__setattr__(self, "detected_at", self.detected_at.astimezone(UTC))
        if not self.message:
            object.__setattr__(self, "message", self._default_message())

    @property
    def severity(self) -> str:
        """``"critical"`` when the measured value is more than twice the threshold
        (burn rate > 2), else ``"warning"``."""
        return "critical" if self.burn_rate > 2.0 else "warning"

    def _default_message(self) -> str:
        slo = self.slo
        over = f" of {self.sample_count} samples" if self.sample_count else ""
        return (
            f"SLO {slo.name!r} violated: {slo.percentile_label}{over} of {slo.metric!r} over "
            f"the last {slo.window} is {self.measured_value:.2f} ms, above the "
            f"{slo.threshold_ms:.2f} ms threshold (burn rate {self.burn_rate:.2f}, alerting "
            f"at {slo.burn_rate_threshold:.2f})"
        )
