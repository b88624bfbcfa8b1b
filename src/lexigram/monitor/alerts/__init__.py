"""Alert dispatchers: structured logging, fan-out, JSON webhook and Alertmanager."""

from ..protocols import AlertDispatcherProtocol
from .alertmanager import AlertmanagerDispatcher
from .dispatcher import (
    FanOutAlertDispatcher,
    LoggingAlertDispatcher,
    SendAlertAdapter,
    as_alert_dispatcher,
)
from .webhook import WebhookAlertDispatcher

__all__ = [
    "AlertDispatcherProtocol",
    "AlertmanagerDispatcher",
    "FanOutAlertDispatcher",
    "LoggingAlertDispatcher",
    "SendAlertAdapter",
    "WebhookAlertDispatcher",
    "as_alert_dispatcher",
]
