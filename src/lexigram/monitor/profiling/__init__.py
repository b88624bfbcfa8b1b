"""Profiling: periodic CPU/memory/task snapshots and function profiles."""

from .helpers import get_performance_summary, monitor_async_operation, profile_async_function
from .monitor import PerformanceMonitor, PerformanceMonitorConfig, PerformanceMonitorState
from .results import FunctionProfileResult, PerformanceMetrics, PerformanceSnapshot

__all__ = [
    "FunctionProfileResult",
    "PerformanceMetrics",
    "PerformanceMonitor",
    "PerformanceMonitorConfig",
    "PerformanceMonitorState",
    "PerformanceSnapshot",
    "get_performance_summary",
    "monitor_async_operation",
    "profile_async_function",
]
