"""The README quickstart shape under a real server: a Starlette app behind OTelMiddleware,
whose default tracer writes one JSON line per span (the README "Traces" tracer).

Each process appends to ``$SPANS_DIR/spans-<pid>.jsonl``, so gunicorn workers never share
a file. ``GET /work/{n}`` answers ``ok`` after a short await; every answered request's
SERVER span carries ``url.path`` ``/work/<n>``.
"""

from __future__ import annotations

import asyncio
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lexigram.monitor import ConsoleSpanExporter, Tracer, set_default_tracer
from lexigram.monitor.middleware import OTelMiddleware

_stream = open(  # noqa: SIM115 - open for the life of the process
    os.path.join(os.environ["SPANS_DIR"], f"spans-{os.getpid()}.jsonl"), "a", encoding="utf-8"
)
tracer = Tracer("shop", ConsoleSpanExporter(_stream))
set_default_tracer(tracer)


async def work(request: Request) -> PlainTextResponse:
    await asyncio.sleep(0.002)
    return PlainTextResponse("ok")


app = OTelMiddleware(Starlette(routes=[Route("/work/{n:int}", work)]))
