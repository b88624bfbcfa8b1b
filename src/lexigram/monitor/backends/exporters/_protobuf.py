"""The Prometheus protobuf exposition: a length-delimited ``MetricFamily`` stream.

What a scraper gets when its ``Accept`` header asks for
``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited`` (:func:`wants_protobuf`; Prometheus asks first when started with
``--enable-feature=native-histograms``). The body is, per metric family, the varint
length of the encoded ``io.prometheus.client.MetricFamily`` then its bytes. A small
encoder of our own writes the messages (no runtime dependency; the tests decode the
output with the ``protobuf`` package): field numbers as in client_model's
``metrics.proto``.

Every instrument is exposed: a counter ``x`` as family ``x_total`` (as in the text
format) with its latest exemplar, gauges, summaries (quantiles, sum, count) and
histograms. A histogram's message carries its classic buckets (without ``+Inf``:
``sample_count`` holds it, each bucket with its latest exemplar) and, for a native
histogram, the native fields in the same message: schema, zero threshold (always > 0,
so that Prometheus 2.42 reads the family as native), zero count, spans and count
deltas per side, and the latest exemplars (field 16, with timestamps). Prometheus
2.42 then stores the native histogram only; 2.45 and later also keep the classic
buckets with ``scrape_classic_histograms: true``. A native histogram without classic
buckets sends no ``bucket`` field.

The families of prometheus_client's other collectors (process, GC and platform
metrics) are converted from its ``Metric`` objects by :func:`encode_client_families`.
Failures are those of the text renderer: an instrument that raises or clashes by name
is skipped and reported to *on_error*.

Memory: the encoded label sets are kept between renders (a scrape mostly repeats the
previous one's label sets), at most :data:`LABEL_CACHE_BYTES` (8 MiB) in all; past it
the cache is dropped and refilled. Bounds tuples of histograms: at most 256 cached.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from ...metrics.native import spans_and_deltas
from ._text import ErrorHandler, ExposedInstrument, exposed_names

__all__ = [
    "PROTOBUF_CONTENT_TYPE",
    "encode_client_families",
    "encode_families",
    "encode_histogram",
    "varint",
    "wants_protobuf",
]

PROTOBUF_CONTENT_TYPE: Final = (
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)
_MEDIA: Final = "application/vnd.google.protobuf"
_PROTO: Final = "io.prometheus.client.MetricFamily"

#: MetricType values of client_model.
COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM = 0, 1, 2, 3, 4

_SMALL: Final = tuple(bytes((n,)) for n in range(128))
_TAGGED_DOUBLE = struct.Struct("<Bd").pack
_DOUBLE = struct.Struct("<d").pack


def varint(value: int) -> bytes:
    """*value* (>= 0) as a protobuf base-128 varint."""
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _signed(value: int) -> bytes:
    """A negative int64/int32 varint (two's complement, ten bytes)."""
    return varint(value & 0xFFFFFFFFFFFFFFFF) if value < 0 else varint(value)


def _zigzag(value: int) -> bytes:
    """A sint32/sint64 varint."""
    return varint(value << 1 if value >= 0 else (-value << 1) - 1)


def _field(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field: tag, length, body."""
    return tag + varint(len(body)) + body


def wants_protobuf(accept: str) -> bool:
    """True when *accept* lists the delimited ``MetricFamily`` protobuf format with a
    q-value above 0 and at least as high as every other media type listed. Another
    ``proto`` or ``encoding`` (a version we do not speak) does not count."""
    best_other = 0.0
    protobuf = 0.0
    for item in accept.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        if not media:
            continue
        options: dict[str, str] = {}
        for param in params:
            key, _, value = param.partition("=")
            options[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(options.get("q", "1"))
        except ValueError:
            q = 0.0
        if media == _MEDIA:
            if options.get("proto") == _PROTO and options.get("encoding") == "delimited":
                protobuf = max(protobuf, q)
        else:
            best_other = max(best_other, q)
    return protobuf > 0 and protobuf >= best_other


class _Labels:
    """Per-render cache of encoded ``label`` fields (``LabelPair`` with its tag)."""

    __slots__ = ("names", "pairs")

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], bytes] = {}
        self.names: dict[str, bytes] = {}

    def pair(self, name: str, value: str) -> bytes:
        found = self.pairs.get((name, value))
        if found is None:
            prefix = self.names.get(name)
            if prefix is None:
                raw = name.encode("utf-8", "replace")
                prefix = self.names[name] = b"\n" + varint(len(raw)) + raw
            raw = value.encode("utf-8", "replace")
            body = prefix + b"\x12" + varint(len(raw)) + raw
            found = b"\n" + varint(len(body)) + body
            if len(self.pairs) < 100_000:
                self.pairs[(name, value)] = found
        return found

    def of(self, names: tuple[str, ...], values: tuple[str, ...]) -> bytes:
        """The ``label`` fields of one series (remembered across renders, see
        :data:`LABEL_CACHE_BYTES`)."""
        if not names:
            return b""
        by_values = _BLOCKS.get(names)
        if by_values is not None:
            found = by_values.get(values)
            if found is not None:
                return found
        pair = self.pair
        found = b"".join([pair(n, v) for n, v in zip(names, values, strict=True)])
        _remember(names, values, found)
        return found


#: Bytes of encoded label sets kept between renders (label sets are stable from one
#: scrape to the next); past it the whole cache is dropped and refilled.
LABEL_CACHE_BYTES: Final = 8 * 1024 * 1024
_BLOCKS: dict[tuple[str, ...], dict[tuple[str, ...], bytes]] = {}
_CACHED = [0]


def _remember(names: tuple[str, ...], values: tuple[str, ...], block: bytes) -> None:
    """Keep *block* for the label set unless that passes :data:`LABEL_CACHE_BYTES`
    (then start over)."""
    size = len(block) + 64 * len(values)
    if _CACHED[0] + size > LABEL_CACHE_BYTES:
        _BLOCKS.clear()
        _CACHED[0] = 0
        if size > LABEL_CACHE_BYTES:
            return
    _CACHED[0] += size
    _BLOCKS.setdefault(names, {})[values] = block


def _exemplar(exemplar: Any, labels: _Labels) -> bytes:
    """An ``Exemplar`` message: trace/span id labels, value, timestamp."""
    seconds = math.floor(exemplar.timestamp)
    nanos = int((exemplar.timestamp - seconds) * 1e9)
    stamp = b"\x08" + _signed(seconds) + (b"\x10" + varint(nanos) if nanos > 0 else b"")
    return (
        labels.pair("trace_id", exemplar.trace_id)
        + labels.pair("span_id", exemplar.span_id)
        + _TAGGED_DOUBLE(0x11, exemplar.value)
        + _field(b"\x1a", stamp)
    )


def _family(name: str, help_text: str, kind: int, metrics: list[bytes]) -> bytes:
    raw = name.encode("utf-8", "replace")
    head = b"\n" + varint(len(raw)) + raw
    if help_text:
        text = help_text.encode("utf-8", "replace")
        head += b"\x12" + varint(len(text)) + text
    body = b"".join([head, b"\x18", _SMALL[kind], *metrics])
    return varint(len(body)) + body


def _metric(labels: bytes, field: bytes, message: bytes) -> bytes:
    size = len(message)
    body = labels + field + (_SMALL[size] if size < 128 else varint(size)) + message
    size = len(body)
    return b'"' + (_SMALL[size] if size < 128 else varint(size)) + body


def _counters(snapshots: Sequence[Any], labels: _Labels) -> list[bytes]:
    out: list[bytes] = []
    append = out.append
    of = labels.of
    pack = _TAGGED_DOUBLE
    for snap in snapshots:
        exemplar = getattr(snap, "exemplar", None)
        if exemplar is None:
            body = of(snap.label_names, snap.label_values) + b"\x1a\x09" + pack(0x09, snap.value)
        else:
            message = pack(0x09, snap.value) + _field(b"\x12", _exemplar(exemplar, labels))
            body = of(snap.label_names, snap.label_values) + _field(b"\x1a", message)
        size = len(body)
        append(b'"' + (_SMALL[size] if size < 128 else varint(size)) + body)
    return out


def _gauges(snapshots: Sequence[Any], labels: _Labels) -> list[bytes]:
    out: list[bytes] = []
    append = out.append
    of = labels.of
    pack = _TAGGED_DOUBLE
    for snap in snapshots:
        body = of(snap.label_names, snap.label_values) + b"\x12\x09" + pack(0x09, snap.value)
        size = len(body)
        append(b'"' + (_SMALL[size] if size < 128 else varint(size)) + body)
    return out


def _summaries(snapshots: Sequence[Any], labels: _Labels) -> list[bytes]:
    out = []
    for snap in snapshots:
        parts = [b"\x08", varint(snap.count), _TAGGED_DOUBLE(0x11, snap.sum)]
        for q, value in snap.quantiles:
            parts.append(b"\x1a\x12" + _TAGGED_DOUBLE(0x09, q) + _TAGGED_DOUBLE(0x11, value))
        out.append(_metric(labels.of(snap.label_names, snap.label_values), b'"', b"".join(parts)))
    return out


def _side(spans_tag: bytes, deltas_tag: bytes, buckets: Sequence[tuple[int, int]]) -> bytes:
    """Spans and packed deltas of one side of a native histogram."""
    if not buckets:
        return b""
    spans, deltas = spans_and_deltas(buckets)
    out = [
        _field(spans_tag, b"\x08" + _zigzag(offset) + b"\x10" + varint(length))
        for offset, length in spans
    ]
    out.append(_field(deltas_tag, b"".join([_zigzag(d) for d in deltas])))
    return b"".join(out)


def encode_histogram(snap: Any, labels: _Labels | None = None) -> bytes:
    """The ``Histogram`` message of one histogram snapshot (classic buckets, and the
    native fields when the snapshot has native buckets)."""
    labels = labels if labels is not None else _Labels()
    parts = [b"\x08", varint(snap.count), _TAGGED_DOUBLE(0x11, snap.sum)]
    exemplars = snap.exemplars
    if not exemplars:
        # cumulative_count then upper_bound; the +Inf bucket is sample_count
        append = parts.append
        for bound, count in zip(_bound_fields(snap.bounds), snap.counts, strict=False):
            if count < 128:
                append(b"\x1a\x0b\x08" + _SMALL[count] + bound)
            else:
                counted = varint(count)
                append(b"\x1a" + _SMALL[10 + len(counted)] + b"\x08" + counted + bound)
    else:
        for position, (bound, count) in enumerate(zip(snap.bounds, snap.counts, strict=True)):
            if bound == math.inf:
                continue
            bucket = b"\x08" + varint(count) + _TAGGED_DOUBLE(0x11, bound)
            if exemplars[position] is not None:
                bucket += _field(b"\x1a", _exemplar(exemplars[position], labels))
            parts.append(_field(b"\x1a", bucket))
    native = snap.native
    if native is not None:
        parts += [
            b"\x28",
            _zigzag(native.schema),
            _TAGGED_DOUBLE(0x31, native.zero_threshold),
            b"\x38",
            varint(native.zero_count),
            _side(b"\x4a", b"\x52", native.negative),
            _side(b"\x62", b"\x6a", native.positive),
        ]
        for exemplar in native.exemplars:
            parts.append(_field(b"\x82\x01", _exemplar(exemplar, labels)))
    return b"".join(parts)


_BOUNDS: dict[tuple[float, ...], tuple[bytes, ...]] = {}


def _bound_fields(bounds: tuple[float, ...]) -> tuple[bytes, ...]:
    """The encoded ``upper_bound`` fields of *bounds* without ``+Inf`` (cached per
    bounds tuple, at most 256 tuples)."""
    found = _BOUNDS.get(bounds)
    if found is None:
        found = tuple(_TAGGED_DOUBLE(0x11, b) for b in bounds if b != math.inf)
        if len(_BOUNDS) >= 256:
            _BOUNDS.clear()
        _BOUNDS[bounds] = found
    return found


def _histograms(snapshots: Sequence[Any], labels: _Labels) -> list[bytes]:
    return [
        _metric(
            labels.of(snap.label_names, snap.label_values), b":", encode_histogram(snap, labels)
        )
        for snap in snapshots
    ]


_KINDS: Final[dict[str, tuple[int, Callable[[Sequence[Any], _Labels], list[bytes]]]]] = {
    "counter": (COUNTER, _counters),
    "gauge": (GAUGE, _gauges),
    "summary": (SUMMARY, _summaries),
    "histogram": (HISTOGRAM, _histograms),
}


def encode_families(
    instruments: Iterable[ExposedInstrument],
    *,
    reserved: frozenset[str] = frozenset(),
    on_error: ErrorHandler | None = None,
) -> tuple[list[bytes], set[str]]:
    """The delimited families of *instruments* and the sample names they occupy; an
    instrument that raises or clashes (with another or with *reserved*) is skipped."""
    out: list[bytes] = []
    used: set[str] = set(reserved)
    labels = _Labels()
    for instrument in instruments:
        try:
            kind = instrument.kind
            family, occupied = exposed_names(kind, instrument.name)
            if not used.isdisjoint(occupied):
                if on_error is not None:
                    on_error(instrument, "collision")
                continue
            code, fill = _KINDS.get(kind, (GAUGE, _gauges))
            metrics = fill(instrument.collect(), labels)
            if not metrics:
                used.update(occupied)
                continue
            encoded = _family(family, instrument.description, code, metrics)
        except Exception as exc:  # one broken instrument never breaks the exposition
            if on_error is not None:
                on_error(instrument, exc)
            continue
        used.update(occupied)
        out.append(encoded)
    return out, used


def encode_client_families(families: Iterable[Any]) -> list[bytes]:
    """prometheus_client ``Metric`` families (its process, GC and platform
    collectors) as delimited families: counters, gauges (``info`` as a gauge of 1
    named ``x_info``), summaries, histograms, and the rest untyped, one family per
    sample name. ``_created`` samples are left out, as in the text format."""
    out: list[bytes] = []
    labels = _Labels()
    for family in families:
        kind = family.type
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        if kind == "counter":
            metrics = [
                _metric(
                    labels.of(tuple(s.labels), tuple(s.labels.values())),
                    b"\x1a",
                    _TAGGED_DOUBLE(0x09, s.value),
                )
                for s in samples
                if s.name.endswith("_total")
            ]
            out.append(_family(family.name + "_total", family.documentation, COUNTER, metrics))
        elif kind in ("gauge", "info"):
            name = family.name + "_info" if kind == "info" else family.name
            metrics = [
                _metric(
                    labels.of(tuple(s.labels), tuple(s.labels.values())),
                    b"\x12",
                    _TAGGED_DOUBLE(0x09, s.value),
                )
                for s in samples
            ]
            out.append(_family(name, family.documentation, GAUGE, metrics))
        else:
            by_name: dict[str, list[bytes]] = {}
            for s in samples:
                by_name.setdefault(s.name, []).append(
                    _metric(
                        labels.of(tuple(s.labels), tuple(s.labels.values())),
                        b"*",
                        _TAGGED_DOUBLE(0x09, s.value),
                    )
                )
            for name, metrics in by_name.items():
                out.append(_family(name, family.documentation, UNTYPED, metrics))
    return out
