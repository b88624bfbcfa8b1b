"""ASGI apps the integration tests run under real servers (uvicorn, gunicorn) in subprocesses."""
