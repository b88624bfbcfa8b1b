"""A background worker without a web server: traced queue hand-off, buffered metrics, an SLO.

Run it from the repository root::

    .venv/bin/python -m examples.worker                 # until Ctrl-C
    .venv/bin/python -m examples.worker --jobs 300      # 300 jobs, then a summary
    PUSHGATEWAY_URL=http://127.0.0.1:9091 .venv/bin/python -m examples.worker --jobs 300

A producer publishes "welcome email" jobs on a bounded in-process queue (standing in for
a broker such as RabbitMQ). ``trace_publish`` writes the PRODUCER span's ``traceparent``
into the message headers; ``trace_consume`` reads them, so each job's CONSUMER span
continues the producer's trace. The consumer "sends" the email (20-80 ms; one in twelve
takes 300-600 ms, one in twenty-five fails) and records the outcome and duration through
a ``BufferedMetricRecorder``, which delivers them in batches to the collector's
``worker_jobs_total`` counter and ``worker_job_duration_seconds`` histogram, off the job
path. Each duration is also a sample of an ``SLOMonitor`` objective (p95 below 250 ms
over 5 minutes); every ``--evaluate-every`` jobs it is evaluated and a violation is
logged by the ``LoggingAlertDispatcher`` (logger ``lexigram.monitor.alerts``; at most one
alert per 5 minutes).

A batch process has no scrape endpoint, so when ``PUSHGATEWAY_URL`` is set the process
metrics are pushed to that Pushgateway (job ``email_worker``) after each evaluation and
when the worker stops; a failed push is logged and counted, never fatal. ``--spans``
prints the spans as JSON lines on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lexigram.monitor import (
    SLO,
    BufferedMetricRecorder,
    ConsoleSpanExporter,
    LoggingAlertDispatcher,
    MetricsCollector,
    SLOMonitor,
    SLOViolation,
    Tracer,
    TracingConfig,
    get_default_collector,
    trace_consume,
    trace_publish,
)

QUEUE = "emails"
PUSH_JOB = "email_worker"
SLO_METRIC = "email.send.duration"
QUEUE_SIZE = 100
"""Messages waiting at most; the producer waits when the queue is full."""

log = logging.getLogger("examples.worker")


class EmailFailedError(Exception):
    """The (simulated) mail server refused the message."""


@dataclass(frozen=True, slots=True)
class Message:
    """A queued job: its body and the headers carrying the trace context."""

    body: dict[str, Any]
    headers: dict[str, str]


class WorkerMetrics:
    """The instruments the recorder delivers to: one attribute per buffered metric name."""

    def __init__(self, collector: MetricsCollector) -> None:
        self.worker_jobs_total = collector.create_counter(
            "worker_jobs_total", "Jobs processed, by outcome."
        )
        self.worker_job_duration_seconds = collector.create_histogram(
            "worker_job_duration_seconds",
            "Time to process one job, in seconds.",
            buckets=[0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
        )


@dataclass
class WorkerStats:
    """What a run did."""

    published: int = 0
    processed: int = 0
    failed: int = 0
    violations: list[SLOViolation] = field(default_factory=list)
    pushes: int = 0
    push_failures: int = 0
    dropped_metrics: int = 0


Sleep = Callable[[float], Awaitable[Any]]
Push = Callable[[str, str], None]


def push_to_gateway(url: str, job: str) -> None:
    """Push the process registry (every instrument of the default collector) to *url*."""
    from prometheus_client import push_to_gateway as push

    from lexigram.monitor.backends.exporters.prometheus import get_registry

    push(url, job=job, registry=get_registry(), timeout=5.0)


async def send_email(body: dict[str, Any], rng: random.Random, sleep: Sleep) -> None:
    """Stand-in for an SMTP call: usually 20-80 ms, sometimes slow, sometimes refused."""
    roll = rng.random()
    await sleep(rng.uniform(0.3, 0.6) if roll < 1 / 12 else rng.uniform(0.02, 0.08))
    if rng.random() < 1 / 25:
        raise EmailFailedError(f"mail server refused the message to user {body['user_id']}")


async def produce(
    queue: asyncio.Queue[Message], jobs: int | None, tracer: Tracer, stats: WorkerStats
) -> None:
    """Publish *jobs* messages (None: without end), each with its trace context."""
    while jobs is None or stats.published < jobs:
        headers: dict[str, str] = {}
        async with trace_publish(QUEUE, "welcome_email", carrier=headers, tracer=tracer):
            await queue.put(Message({"user_id": stats.published + 1}, headers))
        stats.published += 1


async def run_worker(
    jobs: int | None = None,
    *,
    collector: MetricsCollector | None = None,
    tracer: Tracer | None = None,
    pushgateway_url: str | None = None,
    push: Push = push_to_gateway,
    evaluate_every: int = 50,
    sleep: Sleep = asyncio.sleep,
    timer: Callable[[], float] = time.perf_counter,
    rng: random.Random | None = None,
) -> WorkerStats:
    """Process *jobs* jobs (None: until cancelled), then flush, evaluate and push once more.

    Jobs are timed with *timer* (seconds); *sleep* is the simulated work's wait and *rng*
    its randomness, so tests drive a run without waiting.
    """
    rng = rng if rng is not None else random.Random()
    collector = collector if collector is not None else get_default_collector()
    tracer = tracer if tracer is not None else Tracer("email-worker", None)
    stats = WorkerStats()
    recorder = BufferedMetricRecorder(
        WorkerMetrics(collector), flush_interval=5.0, max_buffer_size=500
    )
    slos = SLOMonitor(dispatcher=LoggingAlertDispatcher(), suppression_window=timedelta(minutes=5))
    slos.register(
        SLO(
            name="email.p95_send_time",
            metric=SLO_METRIC,
            percentile=0.95,
            threshold_ms=250.0,
            window=timedelta(minutes=5),
            description="95 % of welcome emails are sent within 250 ms.",
        )
    )

    checked = -1  # jobs processed at the last checkpoint

    async def checkpoint() -> None:
        nonlocal checked
        if checked == stats.processed:
            return
        checked = stats.processed
        await recorder.flush()
        stats.violations.extend(await slos.evaluate())
        if pushgateway_url:
            try:
                await asyncio.to_thread(push, pushgateway_url, PUSH_JOB)
                stats.pushes += 1
            except Exception as exc:  # the worker goes on without its metrics push
                stats.push_failures += 1
                log.warning("push to the Pushgateway %s failed: %s", pushgateway_url, exc)

    queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=QUEUE_SIZE)
    await recorder.start()
    producer = asyncio.create_task(produce(queue, jobs, tracer, stats))
    try:
        while jobs is None or stats.processed < jobs:
            message = await queue.get()
            async with trace_consume(QUEUE, "welcome_email", message.headers, tracer=tracer):
                started = timer()
                try:
                    await send_email(message.body, rng, sleep)
                    outcome = "sent"
                except EmailFailedError as exc:
                    stats.failed += 1
                    outcome = "failed"
                    log.info("job %s failed: %s", message.body["user_id"], exc)
                elapsed = timer() - started
            stats.processed += 1
            recorder.record("worker_jobs_total", 1, {"outcome": outcome})
            recorder.record("worker_job_duration_seconds", elapsed)
            slos.record_sample(SLO_METRIC, elapsed * 1000.0)
            if stats.processed % evaluate_every == 0:
                await checkpoint()
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        await recorder.stop()
        await checkpoint()
        stats.dropped_metrics = recorder.dropped
    return stats


def summary(stats: WorkerStats) -> str:
    """One line per fact of the run."""
    lines = [f"processed {stats.processed} jobs ({stats.failed} failed)"]
    if stats.violations:
        worst = max(stats.violations, key=lambda v: v.measured_value)
        lines.append(
            f"SLO {worst.slo.name}: violated at {len(stats.violations)} evaluation(s); worst "
            f"{worst.slo.percentile_label} {worst.measured_value:.0f} ms "
            f"(threshold {worst.slo.threshold_ms:.0f} ms)"
        )
    else:
        lines.append("SLO email.p95_send_time: held")
    if stats.pushes or stats.push_failures:
        lines.append(f"Pushgateway: {stats.pushes} pushes, {stats.push_failures} failed")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m examples.worker [--jobs N] [--evaluate-every N] [--spans]``."""
    parser = argparse.ArgumentParser(prog="python -m examples.worker", description=__doc__)
    parser.add_argument("--jobs", type=int, default=None, help="stop after N jobs")
    parser.add_argument("--evaluate-every", type=int, default=50, metavar="N")
    parser.add_argument("--spans", action="store_true", help="print spans as JSON lines")
    args = parser.parse_args(argv)
    if (args.jobs is not None and args.jobs < 1) or args.evaluate_every < 1:
        parser.error("--jobs and --evaluate-every must be >= 1")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    tracer = Tracer(
        "email-worker",
        ConsoleSpanExporter() if args.spans else None,
        config=TracingConfig(service_name="email-worker"),
    )
    worker = run_worker(
        args.jobs,
        tracer=tracer,
        pushgateway_url=os.environ.get("PUSHGATEWAY_URL") or None,
        evaluate_every=args.evaluate_every,
    )
    try:
        stats = asyncio.run(worker)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    finally:
        tracer.shutdown()
    print(summary(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
