"""The desk's Prometheus metrics: per-route request counts and latency, and GET /api/metrics.

/api/metrics is for admins (a bearer token from `makegood users token NAME` in Prometheus'
`authorization` setting): what it shows is operational, but it is not for the public.
"""

from __future__ import annotations

import time
from typing import Any

from sanic.response import HTTPResponse, json, raw

from makegood import metrics

METRICS_ROLES = ("admin",)


def register(app: Any) -> None:
    app.add_route(serve, "/api/metrics", methods=["GET"])
    app.register_middleware(_started, "request")
    app.register_middleware(_finished, "response")


async def _started(request: Any) -> None:
    request.ctx.metrics_started = time.perf_counter()


async def _finished(request: Any, response: Any) -> None:
    started = getattr(request.ctx, "metrics_started", None)
    if started is None or request.path.startswith("/static/"):
        return
    route = getattr(request, "route", None)
    # The route's template ("/proposals/<public_id:str>"), never the path: ids are not labels.
    template = getattr(route, "path", None) or "unmatched"
    template = "/" + template.lstrip("/") if template != "unmatched" else template
    metrics.DESK_REQUESTS.labels(template, metrics.status_class(response.status)).inc()
    metrics.DESK_SECONDS.labels(template).observe(time.perf_counter() - started)


async def serve(request: Any) -> HTTPResponse:
    principal = request.ctx.principal
    if principal.user.role not in METRICS_ROLES:
        return json({"error": "only admins read the metrics"}, status=403)
    body, content_type = metrics.exposition()
    return raw(body, content_type=content_type)
