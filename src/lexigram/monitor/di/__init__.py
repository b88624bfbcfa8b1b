"""Lexigram DI integration: contracts, a reference container, provider and module."""

from .container import SimpleContainer
from .contracts import BootContainerProtocol, ContainerRegistrarProtocol, DynamicModule
from .module import MonitorModule
from .provider import (
    DATABASE_PROVIDER_KEY,
    MonitorProvider,
    ObservabilityModule,
    ObservabilityProvider,
    create_provider_from_config,
)

__all__ = [
    "DATABASE_PROVIDER_KEY",
    "BootContainerProtocol",
    "ContainerRegistrarProtocol",
    "DynamicModule",
    "MonitorModule",
    "MonitorProvider",
    "ObservabilityModule",
    "ObservabilityProvider",
    "SimpleContainer",
    "create_provider_from_config",
]
