"""The agent desk: a small server-rendered Sanic app, plus the copilot HTTP API.

    app = create_app(get_services, AccountStore(engine), RasaHttpUnderstanding(url), rasa_url=url)

Nothing is built at import time. The app never trusts the browser for authority: every
route resolves the person from the server-side session (or a bearer token) and checks
their role; every decision goes through `Ledger.decide`, which applies its own rules.
Blocking work (database, password hashing, Rasa) runs off the event loop.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse, json, redirect

from makegood.desk import analytics, api, auth, chat, feedback, live, metrics_route, pages, uploads
from makegood.desk.context import HERE, Desk, blocking, desk_of
from makegood.errors import DecisionConflict, LedgerError, MakegoodError, StoreUnavailable, shown

log = logging.getLogger(__name__)

STATIC = HERE / "static"
MAX_BODY = 1_000_000  # bytes: anything bigger is refused with 413

_names = itertools.count(1)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def _forbidden_errors() -> tuple[type, ...]:
    try:
        from makegood.services.copilot import CopilotForbidden
    except ImportError:  # pragma: no cover - the copilot package is part of the product
        return ()
    return (CopilotForbidden,)


def create_app(
    services_factory: Callable[[], Any],
    accounts: Any,
    understanding: Any,
    *,
    rasa_url: str | None = None,
    name: str | None = None,
    secure_cookies: bool = False,
    demo_sign_in: bool = False,
) -> Sanic:
    """The desk app. `services_factory()` returns makegood Services (called per request;
    get_services caches). `name` must be unique per process (Sanic's registry): the default
    is "makegood_desk" for the first app and a numbered variant after that. `demo_sign_in`: the
    chat page lets a visitor pick a demo customer and signs their token (demo only: anyone could
    be anyone)."""
    if name is None:
        n = next(_names)
        name = "makegood_desk" if n == 1 else f"makegood_desk_{n}"
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.demo_sign_in = demo_sign_in
    app.ctx.desk = Desk(services_factory, accounts, understanding, rasa_url, secure_cookies)
    app.static("/static", str(STATIC), name="static")

    pages.register(app)
    api.register(app)
    chat.register(app)
    feedback.register(app)
    metrics_route.register(app)
    uploads.register(app)
    analytics.register(app)
    live.register(app)

    app.register_middleware(_authenticate, "request")
    app.register_middleware(_security_headers, "response")
    app.error_handler.add(Exception, _on_error)
    return app


# -- middleware -------------------------------------------------------------------------------------
async def _authenticate(request: Any) -> HTTPResponse | None:
    request.ctx.principal = None
    path = request.path
    if auth.is_public(path):
        return None
    desk = desk_of(request)
    api = auth.is_api(path)
    principal = await blocking(
        auth.identify,
        desk.accounts,
        authorization=request.headers.get("authorization"),
        session_id=request.cookies.get(auth.SESSION_COOKIE),
        allow_bearer=api,
    )
    if principal is None:
        if api:
            return json(
                {
                    "error": "sign in first: send Authorization: Bearer <token>, or the desk's "
                    "session cookie with an X-CSRF-Token header"
                },
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="makegood"'},
            )
        from urllib.parse import quote

        target = path + (f"?{request.query_string}" if request.query_string else "")
        return redirect(f"/login?next={quote(target, safe='/')}", status=303)
    request.ctx.principal = principal
    if request.method in auth.SAFE_METHODS or principal.via == "bearer":
        return None
    given = request.headers.get(auth.CSRF_HEADER, "") if api else _form_value(request, auth.CSRF_FIELD)
    if not _csrf_ok(principal.csrf, given):
        message = (
            "missing or wrong X-CSRF-Token header"
            if api
            else "This form has expired or did not come from the desk. Go back, reload the page and try again."
        )
        if api:
            return json({"error": message}, status=403)
        return desk.render(request, "error.html", status=403, title="Forbidden", message=message)
    return None


def _csrf_ok(expected: str | None, given: str | None) -> bool:
    from makegood.accounts import csrf_ok

    if not expected or not given:
        return False
    return bool(csrf_ok(expected, given))


def _form_value(request: Any, field: str) -> str:
    try:
        form = request.form
    except Exception:  # noqa: BLE001 - not a form body (Sanic raises several kinds)
        return ""
    return (form.get(field) or "") if form else ""


async def _security_headers(request: Any, response: BaseHTTPResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


# -- errors -----------------------------------------------------------------------------------------
def classify(exc: BaseException) -> tuple[int, str]:
    """HTTP status and a message fit to show, for any exception a route let through."""
    if isinstance(exc, SanicException):
        status = getattr(exc, "status_code", 500) or 500
        if status == 413:
            return 413, f"the request body is larger than the limit of {MAX_BODY // 1_000_000} MB"
        if status == 404:
            return 404, "there is no such page"
        if status == 405:
            return 405, "that method is not allowed here"
        return status, str(exc) or "bad request"
    if isinstance(exc, _forbidden_errors()):
        return 403, str(exc)
    if isinstance(exc, DecisionConflict):
        return 409, str(exc)
    if isinstance(exc, StoreUnavailable):
        return 503, str(exc)
    if isinstance(exc, LedgerError) and str(exc).startswith("no proposal"):
        return 404, str(exc)
    if isinstance(exc, MakegoodError):
        return 400, str(exc)
    return 500, "something went wrong on our side; it has been logged"


async def _on_error(request: Any, exc: BaseException) -> HTTPResponse:
    status, message = classify(exc)
    message = shown(message)
    if status >= 500 and status != 503:
        log.error("desk error on %s", getattr(request, "path", "?"), exc_info=exc)
    if request is None or auth.is_api(request.path) or request.path in ("/chat/send", "/health"):
        return json({"error": message}, status=status)
    try:
        if not hasattr(request.ctx, "principal"):
            request.ctx.principal = None
        titles = {403: "Forbidden", 404: "Not found", 409: "Changed meanwhile", 413: "Too large", 503: "Unavailable"}
        return desk_of(request).render(
            request,
            "error.html",
            status=status,
            title=titles.get(status, "Error" if status >= 500 else "Not possible"),
            message=message,
        )
    except Exception:  # the error page itself failed: plain text, never a traceback
        log.exception("error page failed")
        return HTTPResponse(message, status=status, content_type="text/plain; charset=utf-8")
