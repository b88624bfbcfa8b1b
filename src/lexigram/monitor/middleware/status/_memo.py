"""HTML kept from one render of the status page to the next (see :class:`HtmlMemo`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["HtmlMemo"]

#: A kept text: the part, its context, the text, and what was kept for its children.
_Entry = tuple[Any, Any, str, dict[int, Any] | None]


class HtmlMemo:
    """HTML made from parts of the section data, kept from one page render to the next
    by the identity of the part (a data source that returns the very same object for
    unchanged data, like ``MetricsView``, gets its HTML reused), other texts by a key
    holding everything they are made of, and the texts of figures by value. What a
    render did not use is dropped at its end. Memory: the parts and keys of the last
    render and their HTML, plus at most :attr:`MAX_FIGURES` texts per number format.
    Thread safe: entries are checked by identity or value, a race only costs a
    re-render."""

    __slots__ = ("_keyed", "_keyed_next", "_last", "_next", "figures")

    #: Texts of figures kept per number format (all are dropped past it, at a render's end).
    MAX_FIGURES = 4096

    def __init__(self) -> None:
        self._last: dict[int, _Entry] = {}
        self._next: dict[int, _Entry] = {}
        self._keyed: dict[Hashable, str] = {}
        self._keyed_next: dict[Hashable, str] = {}
        #: Per number format, the text of non-zero floats already formatted (the route
        #: table's figures of idle routes stay the same from one render to the next).
        self.figures: dict[Callable[[Any], str], dict[float, str]] = {}

    def html(
        self,
        part: Any,
        make: Callable[[Any], str],
        context: Any = None,
        children: Sequence[Any] = (),
    ) -> str:
        """``make(part)``, or what it gave for this very object in the last render
        (made with an equal *context*: what else the text depends on). *children*: the
        parts *make* passes to :meth:`html` itself; when *part* is reused whole, what
        was kept for them is kept too, for the render where *part* changes."""
        hit = self._last.get(id(part))
        if hit is not None and hit[0] is part and hit[1] == context:
            if hit[3]:
                self._next.update(hit[3])
            self._next[id(part)] = hit
            return hit[2]
        text = make(part)
        made = self._next
        kept = None
        if children:
            kept = {id(c): made[id(c)] for c in children if id(c) in made} or None
        made[id(part)] = (part, context, text, kept)
        return text

    def text(self, key: Hashable, make: Callable[..., str], *args: Any) -> str:
        """``make(*args)``, or what it gave for an equal *key* in the last render: *key*
        holds everything the text is made of (by value, types included where ``==``
        would mix them up)."""
        text = self._keyed.get(key)
        if text is None:
            text = make(*args)
        self._keyed_next[key] = text
        return text

    def done(self) -> None:
        """End of a render: keep what it used, drop the rest."""
        self._last, self._next = self._next, {}
        self._keyed, self._keyed_next = self._keyed_next, {}
        for texts in self.figures.values():
            if len(texts) > self.MAX_FIGURES:
                texts.clear()
