"""The DI contracts the provider and module speak (the Lexigram container's shape).

Keys are types (protocols or classes) or strings. Any container with these methods
works; :class:`~lexigram.monitor.di.container.SimpleContainer` is a small reference
implementation used by the tests and usable without the framework.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["BootContainerProtocol", "ContainerRegistrarProtocol", "DynamicModule", "ServiceKey"]

#: A service key: a type (protocol or class) or a string name.
ServiceKey = type[Any] | str


@runtime_checkable
class ContainerRegistrarProtocol(Protocol):
    """Registration side of a DI container (what ``register()`` may call)."""

    def singleton(
        self,
        service_type: Any,
        instance: Any = None,
        *,
        name: str | None = None,
        factory: Callable[..., Any] | None = None,
        validate: bool = True,
    ) -> Any: ...

    def transient(
        self, service_type: Any, factory: Callable[..., Any], validate: bool = True
    ) -> Any: ...

    def scoped(
        self,
        service_type: Any,
        factory: Callable[..., Any],
        validate: bool = True,
        *,
        name: str | None = None,
    ) -> Any: ...

    def has(self, service_type: Any) -> bool: ...

    def bind(self, service_type: Any, instance: Any) -> Any: ...


@runtime_checkable
class BootContainerProtocol(ContainerRegistrarProtocol, Protocol):
    """Registration plus resolution (what ``boot()`` may call)."""

    async def resolve(self, service_type: Any, *, bypass_visibility: bool = False) -> Any: ...

    async def resolve_optional(self, service_type: Any) -> Any | None: ...

    async def resolve_all(self, service_type: Any) -> list[Any]: ...

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def create_scope(self) -> Any: ...


@dataclass
class DynamicModule:
    """A module descriptor produced at runtime (``MonitorModule.configure()``)."""

    module: type[Any]
    providers: list[Any] = field(default_factory=list)
    imports: list[Any] = field(default_factory=list)
    exports: list[Any] = field(default_factory=list)
    controllers: list[Any] = field(default_factory=list)
    is_global: bool = False
    name: str | None = None
