"""The reference container implements both DI protocols."""

from __future__ import annotations

import pytest

from lexigram.monitor.di.container import SimpleContainer
from lexigram.monitor.di.contracts import (
    BootContainerProtocol,
    ContainerRegistrarProtocol,
    DynamicModule,
)


class Service:
    """A dummy service type."""


def test_satisfies_protocols() -> None:
    """SimpleContainer fits the registrar and the boot container contracts."""
    c = SimpleContainer()
    assert isinstance(c, ContainerRegistrarProtocol)
    assert isinstance(c, BootContainerProtocol)


async def test_singleton_instance_and_factory() -> None:
    """An instance is returned as is; a factory runs once."""
    c = SimpleContainer()
    s = Service()
    c.singleton(Service, s)
    assert await c.resolve(Service) is s
    calls: list[int] = []

    def make() -> Service:
        calls.append(1)
        return Service()

    c.singleton("svc", factory=make)
    first = await c.resolve("svc")
    assert await c.resolve("svc") is first
    assert calls == [1]


async def test_transient_and_scoped() -> None:
    """Transients are new each time; scoped once per scope."""
    c = SimpleContainer()
    c.transient(Service, Service)
    assert await c.resolve(Service) is not await c.resolve(Service)
    c.scoped("req", Service)
    scope_a, scope_b = c.create_scope(), c.create_scope()
    a1 = await scope_a.resolve("req")
    assert await scope_a.resolve("req") is a1
    assert await scope_b.resolve("req") is not a1


async def test_missing_and_optional() -> None:
    """resolve names the missing key; resolve_optional returns None."""
    c = SimpleContainer()
    with pytest.raises(LookupError, match="Service"):
        await c.resolve(Service)
    assert await c.resolve_optional(Service) is None
    assert await c.resolve_all(Service) == []
    assert not c.has(Service)


async def test_bind_and_call() -> None:
    """bind replaces a registration; call awaits async functions."""
    c = SimpleContainer()
    c.transient(Service, Service)
    s = Service()
    c.bind(Service, s)
    assert await c.resolve(Service) is s

    async def double(x: int) -> int:
        return 2 * x

    assert await c.call(double, 4) == 8
    assert await c.call(lambda: 3) == 3


def test_singleton_requires_instance_or_factory() -> None:
    """A singleton with neither instance nor factory is refused."""
    with pytest.raises(ValueError, match="instance or a factory"):
        SimpleContainer().singleton(Service)


def test_dynamic_module_defaults() -> None:
    """DynamicModule has the framework's fields and defaults."""
    m = DynamicModule(module=Service)
    assert m.providers == []
    assert m.imports == []
    assert m.exports == []
    assert m.controllers == []
    assert m.is_global is False
    assert m.name is None
