"""Service level objectives: definitions, in-process evaluation and Prometheus rules."""

from .monitor import SLOMonitor
from .objective import SLO, SLOViolation
from .rules import DEFAULT_BURN_RATE_WINDOWS, BurnRateWindow, render_slo_rules, slo_rule_group

__all__ = [
    "DEFAULT_BURN_RATE_WINDOWS",
    "SLO",
    "BurnRateWindow",
    "SLOMonitor",
    "SLOViolation",
    "render_slo_rules",
    "slo_rule_group",
]
