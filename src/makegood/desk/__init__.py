"""The agent desk: a server-rendered web app (queue, proposal detail and decisions, review,
copilot panel, customer web chat) and the copilot HTTP API.

    python -m makegood.desk --host 127.0.0.1 --port 8000

`create_app(...)` builds the Sanic app from explicit wiring (tests pass fakes); `serve()` is
the command line entry point. Nothing is built at import time.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any):
    from makegood.desk.app import create_app as _create_app

    return _create_app(*args, **kwargs)


def serve(argv: Any = None) -> int:
    from makegood.desk.server import serve as _serve

    return _serve(argv)


__all__ = ["create_app", "serve"]
