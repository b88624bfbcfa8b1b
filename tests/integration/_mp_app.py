"""The demo service as an importable app for multi-worker servers (uvicorn, gunicorn).

Its collector is the process default one, created at import, so the multi-process mode
follows ``LEX_MONITOR__METRICS__MULTIPROCESS_DIR`` of the server's environment. No
background traffic and no span file: the tests send the load.
"""

from __future__ import annotations

from lexigram.monitor.cli._demo_app import build_demo

app = build_demo(spans_stream=None, traffic_client=None).app
