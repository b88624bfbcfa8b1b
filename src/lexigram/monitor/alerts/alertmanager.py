"""Alert dispatcher posting to Prometheus Alertmanager's ``/api/v2/alerts`` (``alerts`` extra).

Each call posts one alert. Labels decide identity and routing; annotations carry text:

- ``alertname``: ``context["alert_name"]`` when given, else the title (``send_alert``) or
  ``MetricThresholdExceeded`` (``send_metric_alert``, which also sets ``metric``).
- ``severity``: the given one (``send_alert``) or ``warning``/``critical`` per
  :func:`~.dispatcher.metric_alert_severity`.
- ``default_labels`` of the dispatcher, then the mapping ``context["labels"]``, are added
  (the two above win). Other context entries become annotations beside the generated
  ``summary`` and ``description``, replacing them when the context has those keys.
  Label and annotation names are made valid (characters outside ``[a-zA-Z0-9_]``
  become ``_``); values become strings.

``startsAt`` is now; ``endsAt`` is left to Alertmanager (its ``resolve_timeout``), so an
alert that is no longer sent resolves by itself. Failures are logged rate limited and
counted in :attr:`AlertmanagerDispatcher.failed`, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ._http import PostingDispatcher, json_safe, validate_http_url
from .dispatcher import metric_alert_severity

if TYPE_CHECKING:
    import httpx

__all__ = ["AlertmanagerDispatcher"]

ALERTS_PATH = "/api/v2/alerts"
METRIC_ALERT_NAME = "MetricThresholdExceeded"

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def _valid_name(key: object) -> str:
    name = _INVALID_CHARS.sub("_", str(key))
    if not name or name[0].isdigit():
        name = "_" + name
    while name.startswith("__"):  # reserved for Prometheus' internal labels
        name = name[1:]
    return name


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(json_safe(value))


class AlertmanagerDispatcher(PostingDispatcher):
    """Sends alerts to an Alertmanager; implements AlertDispatcherProtocol.

    *url* is the Alertmanager base URL (``http://alertmanager:9093``) or the full
    ``.../api/v2/alerts`` endpoint (:attr:`url` shows the endpoint). *timeout* bounds
    each delivery in seconds.
    *default_labels* (valid label names, string values) go on every alert, e.g.
    ``{"service": "checkout", "env": "prod"}``. *generator_url*, when set, links each
    alert back to its source. *transport* replaces httpx's network transport (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        default_labels: Mapping[str, str] | None = None,
        generator_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        validate_http_url(url, "Alertmanager")
        labels = dict(default_labels or {})
        for key, value in labels.items():
            if (
                not isinstance(key, str)
                or _LABEL_NAME.fullmatch(key) is None
                or key.startswith("__")
            ):
                raise ValueError(
                    f"default label name {key!r} is invalid: it must match "
                    "[a-zA-Z_][a-zA-Z0-9_]* and not start with '__', e.g. 'service'"
                )
            if not isinstance(value, str):
                raise ValueError(
                    f"default label {key!r} has the value {value!r}: label values must be "
                    f"strings, e.g. {str(value)!r}"
                )
        if generator_url is not None:
            validate_http_url(generator_url, "generator")
        endpoint = url if url.rstrip("/").endswith(ALERTS_PATH) else url.rstrip("/") + ALERTS_PATH
        self._default_labels = labels
        self._generator_url = generator_url
        super().__init__(
            endpoint, what="Alertmanager alert", timeout=timeout, transport=transport, clock=clock
        )

    @property
    def default_labels(self) -> dict[str, str]:
        """Labels added to every alert (a copy)."""
        return dict(self._default_labels)

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Post a free-form alert; never raises."""
        await self._poster.post(
            [self.build_alert(title, severity, {"summary": title, "description": message}, context)]
        )

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Post a metric-threshold alert; never raises."""
        annotations = {
            "summary": f"metric {metric_name} = {current_value:g} breached its threshold "
            f"{threshold:g}",
            "current_value": f"{current_value:g}",
            "threshold": f"{threshold:g}",
        }
        alert = self.build_alert(
            METRIC_ALERT_NAME,
            metric_alert_severity(current_value, threshold),
            annotations,
            context,
            extra_labels={"metric": metric_name},
        )
        await self._poster.post([alert])

    def build_alert(
        self,
        alert_name: str,
        severity: str,
        annotations: Mapping[str, str],
        context: Mapping[str, Any] | None,
        *,
        extra_labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The ``postableAlert`` object for one alert (see the module docstring)."""
        context = dict(context or {})
        name = context.pop("alert_name", None) or alert_name
        labels = dict(self._default_labels)
        context_labels = context.pop("labels", None)
        if isinstance(context_labels, Mapping):
            labels.update({_valid_name(k): _text(v) for k, v in context_labels.items()})
        elif context_labels is not None:
            context["labels"] = context_labels
        labels.update(extra_labels or {})
        labels["alertname"] = str(name) or "Alert"  # an empty alertname is refused
        labels["severity"] = str(severity)
        notes = dict(annotations)
        notes.update({_valid_name(k): _text(v) for k, v in context.items()})
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": notes,
            "startsAt": self._now(),
        }
        if self._generator_url is not None:
            alert["generatorURL"] = self._generator_url
        return alert
