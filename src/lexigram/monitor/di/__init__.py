"""Lexigram DI integration: contracts, a reference container, provider and module."""

from .container import SimpleContainer
from .contracts import BootContainerProtocol, ContainerRegistrarProtocol, DynamicModule

__all__ = [
    "BootContainerProtocol",
    "ContainerRegistrarProtocol",
    "DynamicModule",
    "SimpleContainer",
]
