"""Service level objectives: definitions, in-process evaluation and Prometheus rules."""

from .availability import AvailabilitySLO
from .burn import DEFAULT_BURN_RATE_WINDOWS, BurnRateWindow
from .monitor import SLOMonitor
from .objective import SLO, SLOViolation
from .rules import availability_rule_group, render_slo_rules, slo_rule_group
from .sli import SLI, EventsSLI, HistogramSLI, RawSLI, RequestsSLI
from .sloth import SlothAlert, SlothAlerting, SlothSLO, sloth_rule_groups
from .status import SLOStatus, WindowPairStatus

__all__ = [
    "DEFAULT_BURN_RATE_WINDOWS",
    "SLI",
    "SLO",
    "AvailabilitySLO",
    "BurnRateWindow",
    "EventsSLI",
    "HistogramSLI",
    "RawSLI",
    "RequestsSLI",
    "SLOMonitor",
    "SLOStatus",
    "SLOViolation",
    "SlothAlert",
    "SlothAlerting",
    "SlothSLO",
    "WindowPairStatus",
    "availability_rule_group",
    "render_slo_rules",
    "slo_rule_group",
    "sloth_rule_groups",
]
