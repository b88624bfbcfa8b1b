"""Prometheus monitoring backend: scrape endpoint, Pushgateway pushes, SQL sample store.

:func:`start_http_server` serves ``/metrics`` from a thread of its own, for any program,
synchronous or not; the backend uses the same server.

Everything :class:`~lexigram.monitor.config.PrometheusConfig` holds is honoured:

- ``host``/``port``/``path``/``auth_token`` — :meth:`PrometheusBackend.initialize`
  serves the exposition (the same render path as ``metrics_asgi_app``) at ``path``
  (other paths 404) with an optional bearer token, from the server thread of
  :class:`~._scrape_server.MetricsServer` (never the event loop: a blocked loop does not
  delay a scrape, and the server keeps serving after the loop that started it ended).
  ``port=0`` picks a free port, readable as :attr:`PrometheusBackend.port`. A port in
  use logs a warning and the backend runs without a server.
- ``enable_default_metrics`` — process/GC/platform collectors in the process registry.
- ``pushgateway_url``/``push_interval``/``job_name`` — periodic pushes (see
  ``_pushgateway``), a final push on shutdown.
- ``store_in_db``/``metrics_table``/``db_path`` — samples recorded through
  :meth:`PrometheusBackend.record_metric` are written in batches to ``metrics_table``
  (see ``_sqlstore``); the default provider is a sqlite3 file at ``db_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .._optional import require
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import DB_WRITE_FAILURES, count_failure
from ..config import PrometheusConfig
from ..exceptions import MonitorError
from ..metrics import MetricsCollector, get_default_collector
from ..tracing import Span, SpanContext, Tracer, get_default_tracer
from ._pushgateway import Pusher
from ._recording import InstrumentTable
from ._scrape_server import MetricsServer
from ._sqlstore import DatabaseProvider, SampleStore, SQLiteProvider, validate_table_name
from ._wiring import enable_exemplars

__all__ = ["DB_FLUSH_INTERVAL", "MetricsServer", "PrometheusBackend", "start_http_server"]

#: Seconds between two writes of buffered samples when ``store_in_db`` is on (a full
#: batch is written sooner).
DB_FLUSH_INTERVAL = 5.0
_DEFAULT_PORT = 8000

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.prometheus"))


def start_http_server(
    port: int,
    addr: str = "127.0.0.1",
    collector: MetricsCollector | None = None,
    auth_token: str | None = None,
    *,
    path: str = "/metrics",
) -> MetricsServer:
    """Serve ``/metrics`` on *addr*:*port* from a daemon thread; return the running server.

    Works from any program: a synchronous script, or an async service whose loop is
    blocked (the server has its own thread and event loop). ``port=0`` picks a free port
    (``server.port``); *addr* ``"0.0.0.0"`` or ``"::"`` listens on every interface.
    *collector* None serves the process registry (every instrument of the default
    collector, prometheus_client's default collectors); *auth_token* requires
    ``Authorization: Bearer <token>``. Content negotiation (text 0.0.4 or OpenMetrics),
    gzip and the token rule are those of ``metrics_asgi_app``; the server's own limits
    (431 for heads over 16 KiB, 10 s to send a head, 64 connections, no body on ``HEAD``)
    are in :mod:`~lexigram.monitor.backends._scrape_server`.

    The handle has ``port``, ``url``, ``serving`` and ``stop(timeout=5.0)``, and is a
    context manager (``with start_http_server(0) as server:``). The thread is a daemon:
    it never keeps the process alive. It also counts span drops into the default
    collector and keeps exemplars of the current span (idempotent wiring). Raises
    ``OSError`` when the address cannot be bound (e.g. the port is in use).
    """
    enable_exemplars()
    server = MetricsServer(addr, port, path, collector=collector, auth_token=auth_token)
    server.start()
    return server


class PrometheusBackend:
    """Prometheus monitoring backend.

    *port* is the metrics HTTP port; when a *config* is given and *port* is left at its
    default (8000), ``config.port`` is used. *collector* defaults to the process-wide
    collector (then ``/metrics`` shows the whole process registry); *tracer* (for
    :meth:`create_span`) to the default tracer; *db_provider* to a sqlite3 file at
    ``config.db_path``. Raises :class:`BackendNotAvailableError` naming the
    ``prometheus`` extra when prometheus-client is not installed.
    """

    def __init__(
        self,
        port: int = _DEFAULT_PORT,
        *,
        config: PrometheusConfig | None = None,
        collector: MetricsCollector | None = None,
        tracer: Tracer | None = None,
        db_provider: DatabaseProvider | None = None,
    ) -> None:
        require("prometheus", "prometheus_client")
        cfg = config if config is not None else PrometheusConfig()
        if config is None or port != _DEFAULT_PORT:
            cfg = PrometheusConfig.model_validate({**cfg.model_dump(), "port": port})
        self.config = cfg
        self._collector = collector
        self._tracer = tracer
        self._db_provider = db_provider
        self._owns_provider = False
        self._server: MetricsServer | None = None
        self._pusher: Pusher | None = None
        self._store: SampleStore | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._table = InstrumentTable(lambda: self.collector)

    # -- properties -------------------------------------------------------------------

    @property
    def collector(self) -> MetricsCollector:
        """The collector metrics are recorded into."""
        return self._collector if self._collector is not None else get_default_collector()

    @property
    def bound_port(self) -> int | None:
        """The port the metrics server listens on; None when it is not serving."""
        return None if self._server is None else self._server.bound_port

    @property
    def port(self) -> int:
        """The bound port while serving, else the configured one."""
        bound = self.bound_port
        return bound if bound is not None else self.config.port

    @property
    def serving(self) -> bool:
        """True while the metrics HTTP server thread is listening."""
        return self.bound_port is not None

    @property
    def server(self) -> MetricsServer | None:
        """The metrics HTTP server while it runs."""
        return self._server

    @property
    def pusher(self) -> Pusher | None:
        """The Pushgateway pusher while ``pushgateway_url`` is set and running."""
        return self._pusher

    @property
    def store(self) -> SampleStore | None:
        """The SQL sample store while ``store_in_db`` is on and running."""
        return self._store

    def attach_database(self, provider: DatabaseProvider) -> None:
        """Use *provider* (``execute``/``executemany``) for ``store_in_db`` samples.

        Must be called before :meth:`initialize` (``MonitorProvider.boot`` does this with
        the container's database provider); later calls raise ``RuntimeError``.
        """
        if self._store is not None:
            raise RuntimeError(
                "attach_database() must be called before initialize(); the sample store "
                "already writes through another provider"
            )
        self._db_provider = provider

    # -- lifecycle --------------------------------------------------------------------

    async def initialize(self) -> None:
        """Initialize Prometheus metrics server.

        If the configured port is already in use, log a warning and continue without
        failing the entire application startup. Idempotent.
        """
        from .exporters.prometheus import get_registry, set_default_metrics

        cfg = self.config
        self._loop = asyncio.get_running_loop()
        set_default_metrics(cfg.enable_default_metrics)
        enable_exemplars()
        await self.collector.start_collection()
        if self._server is None:
            server = MetricsServer(
                cfg.host, cfg.port, cfg.path, collector=self._collector, auth_token=cfg.auth_token
            )
            try:
                server.start()
            except OSError as exc:
                _log.warning(
                    "bind",
                    "Prometheus metrics server could not listen on %s:%d (%s); continuing "
                    "without it. Choose another port (PrometheusConfig.port, 0 = any free).",
                    cfg.host,
                    cfg.port,
                    exc.strerror or exc,
                )
            else:
                self._server = server
        if cfg.pushgateway_url and self._pusher is None:
            process = self._collector in (None, get_default_collector())
            registry = get_registry() if process else self._own_registry()
            self._pusher = Pusher(
                cfg.pushgateway_url, cfg.job_name, registry, interval=cfg.push_interval
            )
            self._pusher.start()
        if cfg.store_in_db and self._store is None:
            self._start_store()

    def _own_registry(self) -> Any:
        import prometheus_client

        from .exporters._bridge import SnapshotCollector

        registry = prometheus_client.CollectorRegistry(auto_describe=False)
        collector = self._collector
        registry.register(SnapshotCollector(lambda: collector))
        return registry

    def _start_store(self) -> None:
        cfg = self.config
        try:
            table = validate_table_name(cfg.metrics_table)
        except MonitorError as exc:
            _log.error("db-table", "%s; metric samples are not stored", exc)
            count_failure(DB_WRITE_FAILURES, "invalid_table")
            return
        provider = self._db_provider
        if provider is None:
            provider = SQLiteProvider(cfg.db_path)
            self._owns_provider = True
        self._store = SampleStore(provider, table)
        self._flush_wake = asyncio.Event()
        self._flush_task = asyncio.get_running_loop().create_task(
            self._flush_loop(self._store, self._flush_wake), name="lexigram-metrics-db"
        )

    @staticmethod
    async def _flush_loop(store: SampleStore, wake: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), DB_FLUSH_INTERVAL)
            wake.clear()
            await store.flush()

    async def shutdown(self) -> None:
        """Shutdown Prometheus server: stop serving, push and write a last time."""
        await self.collector.stop_collection()
        server, self._server = self._server, None
        if server is not None:
            await server.astop()
        pusher, self._pusher = self._pusher, None
        if pusher is not None:
            await pusher.stop(final_push=True)
        task, self._flush_task = self._flush_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store, self._store = self._store, None
        if store is not None:
            await store.flush()
            if self._owns_provider and isinstance(store.provider, SQLiteProvider):
                store.provider.close()

    # -- recording --------------------------------------------------------------------

    def record_metric(
        self,
        name: str,
        value: Any,
        metric_type: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Record a metric: ``counter`` adds, ``gauge`` sets, ``histogram``/``summary``
        observe. Names follow the facade rule (``.``/``-`` become ``_``). An unknown
        *metric_type* or a bad value raises :class:`InvalidMetricError`."""
        instrument = self._table.record(name, value, metric_type, labels)
        store = self._store
        if store is not None:
            store.add(instrument.name, instrument.kind, value, labels)
            if store.pending >= store.batch_size:
                self._wake_flush()

    def _wake_flush(self) -> None:
        loop, wake = self._loop, self._flush_wake
        if loop is None or wake is None or wake.is_set():
            return
        with contextlib.suppress(RuntimeError):  # loop closed: the final flush covers it
            loop.call_soon_threadsafe(wake.set)

    # -- tracing ----------------------------------------------------------------------

    def create_span(self, name: str, parent_context: SpanContext | None = None) -> Span:
        """Create a span (Prometheus does not store traces; the span feeds exemplars and
        the configured tracer). It continues *parent_context*'s trace when given."""
        tracer = self._tracer if self._tracer is not None else get_default_tracer()
        return tracer.start_span(name, context=parent_context)
