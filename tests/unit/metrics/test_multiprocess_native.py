"""Native histograms in multi-process mode: each worker's buckets in its file, merged
at scrape, kept in the archive when a worker exits (``metrics._shared_native``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.backends.exporters._protobuf import encode_histogram
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector, NativeBuckets, set_exemplar_source
from lexigram.monitor.metrics._exponential import index_of
from lexigram.monitor.metrics._shared import ARCHIVE_NAME
from lexigram.monitor.metrics._shared_native import (
    SharedClassicNativeHistogram,
    SharedNativeHistogram,
)
from lexigram.monitor.metrics.bound import BoundPair
from lexigram.monitor.middleware import PrometheusMiddleware

from .test_multiprocess import CHILD, _child, _collector, _view

ZT = 2.0**-128


def _bucketed(values: list[float], schema: int) -> tuple[int, Any, Any]:
    """(zero count, positive, negative) of *values* at *schema*, computed directly."""
    sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
    zero = 0
    for value in values:
        if abs(value) <= ZT:
            zero += 1
            continue
        side = sides[0] if value > 0 else sides[1]
        index = index_of(value, schema)
        side[index] = side.get(index, 0) + 1
    return zero, tuple(sorted(sides[0].items())), tuple(sorted(sides[1].items()))


def _native(snapshot: Any) -> NativeBuckets:
    native: NativeBuckets = snapshot.native
    assert native is not None
    return native


def test_every_native_update_path_writes_the_shared_record(
    tmp_path: Path, update_mode: bool
) -> None:
    """Observe, a bound handle and BoundPair, with and without classic buckets, lock-free
    and locked, from several threads: the merged view equals this process's own
    numbers, buckets, classic counts and sum."""
    collector = _collector(tmp_path)
    native = collector.create_histogram("lat", native=True, classic=False, labels=None)
    both = collector.create_histogram("size", buckets=[1.0, 10.0], native=True, schema=2)
    counter = collector.create_counter("calls")
    assert type(native) is SharedNativeHistogram
    assert type(both) is SharedClassicNativeHistogram
    pair = BoundPair(counter.bind({"route": "/a"}), native.bind({"route": "/a"}))
    assert type(pair).__name__ == "SharedNativePair"
    classic_pair = BoundPair(counter.bind({"route": "/b"}), both.bind({"route": "/b"}))
    assert type(classic_pair).__name__ == "SharedClassicNativePair"
    observed = [0.0, 0.003, 0.5, 1.0, 2.0, 7.5, 100.0, -3.0, 1e-40, 1e12]

    def work() -> None:
        for value in observed:
            native.observe(value, {"route": "/a"})
            native.bind({"route": "/a"}).observe(value)
            pair.record(value)
            both.observe(value, {"route": "/b"})
            classic_pair.record(value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    view = _view(collector)
    merged = view["lat"][(("route", "/a"),)]
    assert merged.count == 12 * len(observed)
    assert merged.sum == native.get_sum({"route": "/a"}) == pytest.approx(sum(observed) * 12)
    own = native.get_native_buckets({"route": "/a"})  # type: ignore[attr-defined]
    assert _native(merged) == own
    zero, positive, negative = _bucketed(observed * 12, 3)
    assert (own.zero_count, own.positive, own.negative) == (zero, positive, negative)
    sized = view["size"][(("route", "/b"),)]
    assert sized.bounds == (1.0, 10.0, float("inf"))
    assert sized.counts == (48, 64, 80)  # 8 times: 6 values <= 1, 8 <= 10, 10 in all
    assert list(sized.counts) == list(both.get_bucket_counts({"route": "/b"}).values())
    assert _native(sized).schema == 2
    assert view["calls"][(("route", "/a"),)].value == 4 * len(observed)


def test_workers_native_buckets_merge_at_the_lowest_schema(tmp_path: Path) -> None:
    """Two worker processes that exited (schemas 3 and 1) and this one (schema 0): the
    view holds every observation at schema 0, the sum and classic counts add up, and
    the newest exemplars of all workers are kept; the dead workers live on in the
    archive."""
    body = """
    set_exemplar_source(lambda: ("{trace}", "00f067aa0ba902b7"))
    h = collector.create_histogram("dur", buckets=[1.0], native=True, schema={schema})
    for value in {values}:
        h.observe(value)
    """
    first = [0.001, 0.5, 1.0, 1.1, 2.0, 100.0, -3.0, 0.0]
    second = [0.2, 0.7, 5.0, 5.5, 12.0, -0.01]
    _child(tmp_path, body.format(trace="a" * 32, schema=3, values=first))
    _child(tmp_path, body.format(trace="b" * 32, schema=1, values=second))
    collector = _collector(tmp_path)
    mine = [3.0, 40.0]
    histogram = collector.create_histogram("dur", buckets=[1.0], native=True, schema=0)
    for value in mine:
        histogram.observe(value)
    view = _view(collector)
    names = sorted(os.listdir(tmp_path / "default"))
    assert ARCHIVE_NAME in names
    assert len([n for n in names if n.startswith("w-")]) == 1
    merged = view["dur"][()]
    everything = first + second + mine
    native = _native(merged)
    assert native.schema == 0
    assert (native.zero_count, native.positive, native.negative) == _bucketed(everything, 0)
    assert merged.count == len(everything)
    assert abs(merged.sum - sum(everything)) < 1e-9
    assert merged.counts == (sum(v <= 1.0 for v in everything), len(everything))
    # the newest ten of both workers' rings, oldest first; per classic bucket the newest
    assert [e.value for e in native.exemplars] == first[-4:] + second
    assert [e.trace_id for e in native.exemplars] == ["a" * 32] * 4 + ["b" * 32] * 6
    assert [e.value if e else None for e in merged.exemplars] == [-0.01, 12.0]
    # another scrape reads the archive alone for the dead workers: same numbers
    again = _view(collector)["dur"][()]
    assert _native(again) == native
    assert again.counts == merged.counts


def test_a_worker_past_its_bucket_limit_merges_at_its_lowered_schema(tmp_path: Path) -> None:
    """A worker whose many distinct values lowered its schema (bucket limit 8) merges
    with a full-resolution worker at the lowered schema, within the limit."""
    _child(
        tmp_path,
        """
        h = collector.create_histogram("wide", native=True, classic=False, max_buckets=8)
        for k in range(200):
            h.observe(1.05 ** k)
        """,
    )
    collector = _collector(tmp_path)
    histogram = collector.create_histogram("wide", native=True, classic=False, max_buckets=8)
    histogram.observe(1.5)
    merged = _view(collector)["wide"][()]
    native = _native(merged)
    values = [1.05**k for k in range(200)] + [1.5]
    assert len(native.positive) + len(native.negative) <= 8
    assert native.schema < 3
    assert (native.zero_count, native.positive, native.negative) == _bucketed(values, native.schema)
    assert merged.count == 201


def test_scrapes_never_see_a_worker_halfway_through_a_schema_change(tmp_path: Path) -> None:
    """A live worker lowering the schemas of many series (bucket limit 3) while this
    process scrapes again and again: no series' count ever goes down between scrapes,
    and each scrape's buckets hold all of its count (a copy taken mid-change would miss
    the buckets being moved)."""
    body = """
    h = collector.create_histogram("churn", native=True, classic=False, max_buckets=3)
    print("ready", flush=True)
    for k in range(120):
        for s in range(40):
            h.observe(1.07 ** k * (s + 1), {"s": str(s)})
    """
    code = CHILD.format(body=textwrap.dedent(body))
    with subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as worker:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n"
        collector = _collector(tmp_path)
        seen: dict[Any, int] = {}
        scrapes = 0
        while worker.poll() is None or scrapes < 2:
            scrapes += 1
            for labels, snapshot in _view(collector).get("churn", {}).items():
                native = _native(snapshot)
                assert native.count == snapshot.count
                assert snapshot.count >= seen.get(labels, 0), labels
                seen[labels] = snapshot.count
        worker.wait(timeout=60)
    assert worker.returncode == 0
    assert scrapes > 2
    assert sum(seen.values()) == 120 * 40


def test_a_forked_child_keeps_its_own_native_record(tmp_path: Path) -> None:
    """After ``fork`` the child's native series start from zero in its own file; the
    parent's buckets are neither written by the child nor counted twice."""
    collector = _collector(tmp_path)
    histogram = collector.create_histogram("forked", native=True, classic=False)
    histogram.observe(2.0)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            histogram.observe(2.0)
            histogram.observe(-8.0)
            code = 0 if histogram.get_count() == 2 else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert histogram.get_count() == 1
    native = _native(_view(collector)["forked"][()])
    assert native.positive == ((index_of(2.0, 3), 2),)
    assert native.negative == ((index_of(8.0, 3), 1),)


def test_native_and_classic_under_one_name_are_a_conflict(tmp_path: Path) -> None:
    """A worker writing a classic histogram where another writes a native one of the
    same name is left out of the merge, not mixed."""
    _child(tmp_path, 'collector.create_histogram("mixed", buckets=[1.0]).observe(5)')
    collector = _collector(tmp_path)
    collector.create_histogram("mixed", native=True, classic=False).observe(1.0)
    merged = _view(collector)["mixed"][()]
    assert merged.count == 1  # whichever was seen first; the other is left out
    assert (merged.native is None) == (merged.sum == 5.0)


def test_exemplars_without_a_source_are_absent(tmp_path: Path) -> None:
    """No exemplar source: the merged native buckets carry no exemplars."""
    set_exemplar_source(None)
    collector = _collector(tmp_path)
    collector.create_histogram("plain", native=True).observe(0.3)
    assert _native(_view(collector)["plain"][()]).exemplars == ()


def test_the_merged_view_encodes_to_the_specification_test_vector(tmp_path: Path) -> None:
    """The worked example of the specification, observed by two workers and this
    process, merges into buckets whose protobuf Histogram is the specification's
    65-byte test vector."""
    _child(
        tmp_path,
        """
        h = collector.create_histogram("nh", native=True, classic=False)
        for value in (0, 0.5, 1):
            h.observe(value)
        """,
    )
    _child(
        tmp_path,
        """
        h = collector.create_histogram("nh", native=True, classic=False, schema=5)
        for value in (1.1, 2):
            h.observe(value)
        """,
    )
    collector = _collector(tmp_path)
    histogram = collector.create_histogram("nh", native=True, classic=False)
    histogram.observe(100)
    histogram.observe(-3)
    (snapshot,) = _view(collector)["nh"].values()
    assert encode_histogram(snapshot).hex() == (
        "0807116666666666665940280631000000000000f03738014a04081a10015201026204080f100162"
        "04080e10036204080a10016204085a10016a06020001020000"
    )


async def test_the_middleware_switch_shares_request_durations(tmp_path: Path) -> None:
    """MetricsConfig.native_histograms in multi-process mode: the Prometheus
    middleware's request durations go to a shared native histogram (classic buckets
    alongside) and reach the merged view."""
    collector = MetricsCollector(
        MetricsConfig(
            multiprocess_dir=str(tmp_path), native_histograms=True, native_histogram_schema=2
        )
    )
    app = PrometheusMiddleware(
        Starlette(routes=[Route("/items/{item}", _ok)]), metrics_collector=collector
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        for n in range(4):
            assert (await client.get(f"/items/{n}")).status_code == 200
    assert type(collector.get_metric("http_request_duration_seconds")) is (
        SharedClassicNativeHistogram
    )
    merged = list(_view(collector)["http_request_duration_seconds"].values())
    assert sum(snapshot.count for snapshot in merged) == 4
    assert all(_native(snapshot).schema <= 2 for snapshot in merged)
    assert sum(_native(snapshot).count for snapshot in merged) == 4


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def test_a_collector_without_the_mode_makes_in_process_native_histograms() -> None:
    """The same options on a single-process collector give the in-process classes."""
    histogram = MetricsCollector().create_histogram("solo", native=True, classic=False)
    assert type(histogram).__name__ == "NativeHistogram"
