"""client_model's ``io.prometheus.client`` messages, built with the protobuf package.

The tests decode our protobuf exposition with the ``protobuf`` runtime (not with our
own encoder's logic): the message classes come from a ``FileDescriptorProto`` written
here from the field table of ``metrics.proto`` (proto2, the field numbers Prometheus
2.42 parses). :func:`decode_stream` splits a delimited body into ``MetricFamily``
messages.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.decoder import _DecodeVarint  # type: ignore[attr-defined]

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

_MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    "LabelPair": [("name", 1, _OPT, _F.TYPE_STRING, ""), ("value", 2, _OPT, _F.TYPE_STRING, "")],
    "Gauge": [("value", 1, _OPT, _F.TYPE_DOUBLE, "")],
    "Counter": [
        ("value", 1, _OPT, _F.TYPE_DOUBLE, ""),
        ("exemplar", 2, _OPT, _F.TYPE_MESSAGE, "Exemplar"),
    ],
    "Quantile": [("quantile", 1, _OPT, _F.TYPE_DOUBLE, ""), ("value", 2, _OPT, _F.TYPE_DOUBLE, "")],
    "Summary": [
        ("sample_count", 1, _OPT, _F.TYPE_UINT64, ""),
        ("sample_sum", 2, _OPT, _F.TYPE_DOUBLE, ""),
        ("quantile", 3, _REP, _F.TYPE_MESSAGE, "Quantile"),
    ],
    "Untyped": [("value", 1, _OPT, _F.TYPE_DOUBLE, "")],
    "Histogram": [
        ("sample_count", 1, _OPT, _F.TYPE_UINT64, ""),
        ("sample_sum", 2, _OPT, _F.TYPE_DOUBLE, ""),
        ("bucket", 3, _REP, _F.TYPE_MESSAGE, "Bucket"),
        ("sample_count_float", 4, _OPT, _F.TYPE_DOUBLE, ""),
        ("schema", 5, _OPT, _F.TYPE_SINT32, ""),
        ("zero_threshold", 6, _OPT, _F.TYPE_DOUBLE, ""),
        ("zero_count", 7, _OPT, _F.TYPE_UINT64, ""),
        ("zero_count_float", 8, _OPT, _F.TYPE_DOUBLE, ""),
        ("negative_span", 9, _REP, _F.TYPE_MESSAGE, "BucketSpan"),
        ("negative_delta", 10, _REP, _F.TYPE_SINT64, ""),
        ("negative_count", 11, _REP, _F.TYPE_DOUBLE, ""),
        ("positive_span", 12, _REP, _F.TYPE_MESSAGE, "BucketSpan"),
        ("positive_delta", 13, _REP, _F.TYPE_SINT64, ""),
        ("positive_count", 14, _REP, _F.TYPE_DOUBLE, ""),
        ("exemplars", 16, _REP, _F.TYPE_MESSAGE, "Exemplar"),
    ],
    "Bucket": [
        ("cumulative_count", 1, _OPT, _F.TYPE_UINT64, ""),
        ("upper_bound", 2, _OPT, _F.TYPE_DOUBLE, ""),
        ("exemplar", 3, _OPT, _F.TYPE_MESSAGE, "Exemplar"),
        ("cumulative_count_float", 4, _OPT, _F.TYPE_DOUBLE, ""),
    ],
    "BucketSpan": [
        ("offset", 1, _OPT, _F.TYPE_SINT32, ""),
        ("length", 2, _OPT, _F.TYPE_UINT32, ""),
    ],
    "Exemplar": [
        ("label", 1, _REP, _F.TYPE_MESSAGE, "LabelPair"),
        ("value", 2, _OPT, _F.TYPE_DOUBLE, ""),
        ("timestamp", 3, _OPT, _F.TYPE_MESSAGE, "Timestamp"),
    ],
    "Timestamp": [("seconds", 1, _OPT, _F.TYPE_INT64, ""), ("nanos", 2, _OPT, _F.TYPE_INT32, "")],
    "Metric": [
        ("label", 1, _REP, _F.TYPE_MESSAGE, "LabelPair"),
        ("gauge", 2, _OPT, _F.TYPE_MESSAGE, "Gauge"),
        ("counter", 3, _OPT, _F.TYPE_MESSAGE, "Counter"),
        ("summary", 4, _OPT, _F.TYPE_MESSAGE, "Summary"),
        ("untyped", 5, _OPT, _F.TYPE_MESSAGE, "Untyped"),
        ("histogram", 7, _OPT, _F.TYPE_MESSAGE, "Histogram"),
        ("timestamp_ms", 6, _OPT, _F.TYPE_INT64, ""),
    ],
    "MetricFamily": [
        ("name", 1, _OPT, _F.TYPE_STRING, ""),
        ("help", 2, _OPT, _F.TYPE_STRING, ""),
        ("type", 3, _OPT, _F.TYPE_ENUM, "MetricType"),
        ("metric", 4, _REP, _F.TYPE_MESSAGE, "Metric"),
    ],
}
_TYPES = ("COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM")


def _classes() -> dict[str, Any]:
    package = "io.prometheus.client.testcopy"
    file = descriptor_pb2.FileDescriptorProto(
        name="lexigram_test_metrics.proto", package=package, syntax="proto2"
    )
    enum = file.enum_type.add(name="MetricType")
    for number, name in enumerate(_TYPES):
        enum.value.add(name=name, number=number)
    for message, fields in _MESSAGES.items():
        described = file.message_type.add(name=message)
        for name, number, label, kind, type_name in fields:
            field = described.field.add(name=name, number=number, label=label, type=kind)
            if type_name:
                field.type_name = f".{package}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in _MESSAGES
    }


MESSAGES = _classes()
MetricFamily = MESSAGES["MetricFamily"]
Histogram = MESSAGES["Histogram"]


def decode_stream(body: bytes) -> list[Any]:
    """The ``MetricFamily`` messages of a length-delimited stream."""
    families = []
    position = 0
    while position < len(body):
        length, position = _DecodeVarint(body, position)
        family = MetricFamily()
        family.ParseFromString(body[position : position + length])
        families.append(family)
        position += length
    return families


def native_buckets(histogram: Any, side: str) -> list[tuple[int, int]]:
    """``(index, count)`` pairs of one side of a decoded native histogram, from its
    spans and deltas (empty buckets included)."""
    spans = getattr(histogram, f"{side}_span")
    deltas = list(getattr(histogram, f"{side}_delta"))
    out: list[tuple[int, int]] = []
    index = 0
    count = 0
    position = 0
    for number, span in enumerate(spans):
        index = span.offset if number == 0 else index + span.offset
        for _ in range(span.length):
            count += deltas[position]
            position += 1
            out.append((index, count))
            index += 1
    assert position == len(deltas), "spans and deltas disagree"
    return out
