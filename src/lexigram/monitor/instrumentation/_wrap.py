"""Wrap sync or async callables with before/after hooks; the kind is decided once, at wrap time."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["CallObserver", "wrap_callable"]

F = TypeVar("F", bound=Callable[..., Any])


class CallObserver(Protocol):
    """Receives the life of one call: ``start`` returns a token passed to ``finish``."""

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...

    def finish(self, token: Any, error: BaseException | None) -> None: ...


def wrap_callable(func: F, make_observer: Callable[[], CallObserver]) -> F:
    """Return *func* wrapped so that an observer sees each call's start and end.

    Coroutine functions get an ``async`` wrapper, everything else a sync one. The
    observer is created once (``make_observer`` is called lazily on the first call so
    that defaults installed after decoration are honoured). The wrapped function's
    result and exceptions pass through unchanged.
    """
    observer: list[CallObserver] = []

    def get() -> CallObserver:
        if not observer:
            observer.append(make_observer())
        return observer[0]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            obs = get()
            token = obs.start(args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                obs.finish(token, exc)
                raise
            obs.finish(token, None)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        obs = get()
        token = obs.start(args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            obs.finish(token, exc)
            raise
        obs.finish(token, None)
        return result

    return sync_wrapper  # type: ignore[return-value]
