"""The health section's memory: the last runs of every check and when its status changed.

:class:`HealthHistory` is fed two ways: by every run of a library checker in the process
(it listens for :class:`~lexigram.monitor.hooks.HealthCheckRunHook` on
``hooks.default_bus``, so the runs of the probes count even while nobody looks at the
page), and by :meth:`HealthHistory.record_results` for checkers that emit no hooks.
The subscription holds the history weakly and ends with :meth:`HealthHistory.close` or
when the history is garbage collected.

Messages are sanitised for display: control characters become spaces and the text is cut
at :data:`MAX_MESSAGE` characters (escaping is the renderer's job).

Memory: at most *size* runs per check and *max_checks* checks (runs of further checks are
dropped), each run a status, two floats and a message of at most :data:`MAX_MESSAGE`
characters, plus each check's entry of the last :meth:`HealthHistory.view` (reused until
the check runs again).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...health.result import HealthStatus, aggregate
from ...hooks import HealthCheckRunHook, HookBus, default_bus

__all__ = ["MAX_MESSAGE", "CheckRun", "HealthHistory", "sanitise"]

MAX_MESSAGE = 200
GROUPS = ("liveness", "readiness", "startup")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def sanitise(message: object) -> str:
    """*message* as one line of at most :data:`MAX_MESSAGE` characters."""
    text = _CONTROL.sub(" ", "" if message is None else str(message)).strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One run of one check: status value, wall-clock time, duration and message."""

    status: str
    at: float
    duration_ms: float
    message: str


class _Check:
    __slots__ = ("category", "changed_at", "runs", "view")

    def __init__(self, size: int) -> None:
        self.runs: deque[CheckRun] = deque(maxlen=size)
        self.category = ""
        self.changed_at = 0.0
        # the check's entry of view() and the run it ends with: runs are only
        # appended, so while the newest run is that one, the entry is current
        self.view: tuple[CheckRun, dict[str, Any]] | None = None


class HealthHistory:
    """The last *size* runs per check; thread safe (runs arrive from any thread).

    *accepts* decides which check names are kept (default: all); *clock* gives the
    wall-clock time runs are dated with.
    """

    def __init__(
        self,
        size: int = 30,
        *,
        max_checks: int = 256,
        clock: Any = None,
        accepts: Callable[[str], bool] | None = None,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"health history size {size!r} must be an integer >= 1")
        from ..._clock import SYSTEM_CLOCK

        self._size = size
        self._max_checks = max_checks
        self._clock = clock if clock is not None else SYSTEM_CLOCK
        self._accepts = accepts
        self._checks: dict[str, _Check] = {}
        self._lock = threading.Lock()
        self._newest: float | None = None
        self._unsubscribe: weakref.finalize[Any, Any] | None = None

    @property
    def size(self) -> int:
        """Runs kept per check."""
        return self._size

    @property
    def newest(self) -> float | None:
        """Wall-clock time of the newest run recorded, None before the first."""
        return self._newest

    def stalest(self, names: Iterable[str]) -> float | None:
        """The oldest of the latest run times of *names*; None when one never ran."""
        oldest: float | None = None
        with self._lock:
            for name in names:
                check = self._checks.get(name)
                if check is None or not check.runs:
                    return None
                at = check.runs[-1].at
                oldest = at if oldest is None or at < oldest else oldest
        return oldest

    def listen(self, bus: HookBus = default_bus) -> None:
        """Record every ``HealthCheckRunHook`` emitted on *bus* (idempotent; after
        :meth:`close`, listens again)."""
        if self._unsubscribe is not None and self._unsubscribe.alive:
            return
        ref = weakref.ref(self)

        def on_run(hook: HealthCheckRunHook) -> None:
            history = ref()
            if history is not None:
                history.record(
                    hook.check_name, hook.status, hook.duration_ms, hook.message, hook.category
                )

        unsubscribe = bus.subscribe(HealthCheckRunHook, on_run)
        self._unsubscribe = weakref.finalize(self, unsubscribe)

    def close(self) -> None:
        """Stop listening (idempotent); what was recorded stays readable."""
        if self._unsubscribe is not None:
            self._unsubscribe()

    def record(
        self,
        name: str,
        status: str,
        duration_ms: float,
        message: object,
        category: str | None,
        at: float | None = None,
    ) -> None:
        """Record one run of check *name* (dated now unless *at* is given)."""
        if self._accepts is not None and not self._accepts(name):
            return
        when = self._clock.time() if at is None else at
        run = CheckRun(str(status), when, float(duration_ms), sanitise(message))
        with self._lock:
            check = self._checks.get(name)
            if check is None:
                if len(self._checks) >= self._max_checks:
                    return
                check = self._checks[name] = _Check(self._size)
            if not check.runs or check.runs[-1].status != run.status:
                check.changed_at = when
            check.runs.append(run)
            if category:
                check.category = str(category)
            if self._newest is None or when > self._newest:
                self._newest = when

    def record_results(self, results: Mapping[str, Any]) -> None:
        """Record a run's ``HealthCheckResult`` objects by name."""
        for name, result in results.items():
            category = getattr(result, "category", None)
            self.record(
                name,
                getattr(result.status, "value", result.status),
                result.duration_ms,
                result.message,
                getattr(category, "value", category),
                result.checked_at,
            )

    def view(self) -> dict[str, Any]:
        """The health section: ``checks`` (one entry per check, its ``history`` oldest run
        first) and ``groups`` (the aggregate status of each category's checks). A check
        without a new run keeps the very entry of the previous call (read-only)."""
        checks = []
        by_group: dict[str, list[HealthStatus]] = {}
        with self._lock:
            for name, check in self._checks.items():
                last = check.runs[-1]
                if check.view is None or check.view[0] is not last:
                    check.view = (last, _entry(name, check))
                entry = check.view[1]
                checks.append(entry)
                if entry["category"]:
                    by_group.setdefault(entry["category"], []).append(_status(last.status))
        groups = [
            {
                "name": group,
                "status": aggregate(by_group[group]).value if group in by_group else None,
                "checks": [c["name"] for c in checks if c["category"] == group],
            }
            for group in GROUPS
        ]
        return {"checks": checks, "groups": groups, "history_size": self._size}


def _entry(name: str, check: _Check) -> dict[str, Any]:
    last = check.runs[-1]
    return {
        "name": name,
        "category": check.category or None,
        "status": last.status,
        "latency_ms": round(last.duration_ms, 3),
        "message": last.message,
        "checked_at": last.at,
        "changed_at": check.changed_at,
        "history": [{"status": r.status, "at": r.at} for r in check.runs],
    }


def _status(value: str) -> HealthStatus:
    try:
        return HealthStatus(value)
    except ValueError:
        return HealthStatus.UNKNOWN
