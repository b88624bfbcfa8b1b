"""A small, complete DI container implementing both container protocols.

For tests and for services that do not run the Lexigram framework. Singletons are
created once (lazily when given a factory); transients on every resolve; scoped
services once per scope. Memory: one entry per registered key.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["SimpleContainer"]

_MISSING = object()


class SimpleContainer:
    """Registration + resolution over a dict of keys (types or strings)."""

    def __init__(self, parent: SimpleContainer | None = None) -> None:
        self._parent = parent
        self._singletons: dict[Any, Any] = {}
        self._factories: dict[Any, tuple[str, Callable[..., Any]]] = {}
        self._scoped_cache: dict[Any, Any] = {}

    # registration -------------------------------------------------------------
    def singleton(
        self,
        service_type: Any,
        instance: Any = None,
        *,
        name: str | None = None,
        factory: Callable[..., Any] | None = None,
        validate: bool = True,
    ) -> None:
        """Register one shared instance (or a factory called once on first resolve)."""
        key = name or service_type
        if instance is None and factory is None:
            raise ValueError(f"singleton {key!r} needs an instance or a factory; pass one of them")
        if instance is not None:
            self._singletons[key] = instance
            self._factories.pop(key, None)
        else:
            assert factory is not None
            self._factories[key] = ("singleton", factory)
            self._singletons.pop(key, None)

    def transient(
        self, service_type: Any, factory: Callable[..., Any], validate: bool = True
    ) -> None:
        """Register a factory called on every resolve."""
        self._factories[service_type] = ("transient", factory)

    def scoped(
        self,
        service_type: Any,
        factory: Callable[..., Any],
        validate: bool = True,
        *,
        name: str | None = None,
    ) -> None:
        """Register a factory called once per scope (see :meth:`create_scope`)."""
        self._factories[name or service_type] = ("scoped", factory)

    def has(self, service_type: Any) -> bool:
        """True when *service_type* is registered here or in a parent scope."""
        if service_type in self._singletons or service_type in self._factories:
            return True
        return self._parent.has(service_type) if self._parent else False

    def bind(self, service_type: Any, instance: Any) -> None:
        """Bind *instance* to *service_type*, replacing any registration."""
        self._factories.pop(service_type, None)
        self._singletons[service_type] = instance

    # resolution ---------------------------------------------------------------
    async def resolve(self, service_type: Any, *, bypass_visibility: bool = False) -> Any:
        """Return the service; ``LookupError`` naming the key when it is not registered."""
        value = await self._lookup(service_type)
        if value is _MISSING:
            raise LookupError(self._missing(service_type))
        return value

    def _missing(self, key: Any) -> str:
        """The message for an unregistered *key*: the named keys there are, the closest."""
        names = sorted(k for k in self._all_keys() if isinstance(k, str))
        message = f"no service registered for {key!r}"
        close = difflib.get_close_matches(key, names, n=1) if isinstance(key, str) else []
        if close:
            message += f"; did you mean {close[0]!r}?"
        if names:
            message += f" Named services: {', '.join(map(repr, names))}."
        return (
            message + " Register it with singleton()/transient()/scoped() first (the "
            "monitoring services, 'prometheus_metrics_app' included, are registered by "
            "MonitorProvider.register(container))"
        )

    def _all_keys(self) -> set[Any]:
        keys = {*self._singletons, *self._factories}
        return keys | self._parent._all_keys() if self._parent is not None else keys

    async def resolve_optional(self, service_type: Any) -> Any | None:
        """Return the service or None."""
        value = await self._lookup(service_type)
        return None if value is _MISSING else value

    async def resolve_all(self, service_type: Any) -> list[Any]:
        """All registrations for the key (this container keeps at most one per key)."""
        value = await self._lookup(service_type)
        return [] if value is _MISSING else [value]

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call *func* (sync or async) and await the result when needed."""
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def create_scope(self) -> SimpleContainer:
        """A child container: scoped services are cached per child."""
        return SimpleContainer(parent=self)

    async def _lookup(self, key: Any) -> Any:
        if key in self._singletons:
            return self._singletons[key]
        entry = self._factories.get(key)
        if entry is None:
            if self._parent is None:
                return _MISSING
            if key in self._parent._factories and self._parent._factories[key][0] == "scoped":
                return await self._scoped(key, self._parent._factories[key][1])
            return await self._parent._lookup(key)
        lifetime, factory = entry
        if lifetime == "scoped":
            return await self._scoped(key, factory)
        value = await self.call(factory)
        if lifetime == "singleton":
            self._singletons[key] = value
            del self._factories[key]
        return value

    async def _scoped(self, key: Any, factory: Callable[..., Any]) -> Any:
        if key not in self._scoped_cache:
            self._scoped_cache[key] = await self.call(factory)
        return self._scoped_cache[key]
