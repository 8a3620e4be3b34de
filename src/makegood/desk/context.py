"""What the desk's routes share: the `Desk` (wiring, templates, flash messages), `desk_of(request)`
and `blocking(...)`. Its own module so that `app` (which registers the routes) and the route
modules (`pages`, `api`, `chat`) both import it, and neither imports the other's importer."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic.response import HTTPResponse, html

from makegood.desk.present import FILTERS

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"


class Desk:
    """What the routes share: the wiring, the templates and the flash messages."""

    def __init__(
        self,
        services_factory: Callable[[], Any],
        accounts: Any,
        understanding: Any,
        rasa_url: str | None,
        secure_cookies: bool,
    ) -> None:
        self.services_factory = services_factory
        self.accounts = accounts
        self.understanding = understanding
        self.rasa_url = rasa_url.rstrip("/") if rasa_url else None
        self.secure_cookies = secure_cookies
        self.templates = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(FILTERS)
        self._flashes: dict[str, list[tuple[str, str]]] = {}
        self._flash_lock = threading.Lock()

    def services(self) -> Any:
        return self.services_factory()

    # -- flash messages: kept server-side per session, shown once -----------------------------------
    def flash(self, request: Any, kind: str, text: str) -> None:
        principal = getattr(request.ctx, "principal", None)
        if principal is None or not principal.session_id:
            return
        with self._flash_lock:
            messages = self._flashes.setdefault(principal.session_id, [])
            messages.append((kind, text))
            del messages[:-5]

    def take_flashes(self, request: Any) -> list[tuple[str, str]]:
        principal = getattr(request.ctx, "principal", None)
        if principal is None or not principal.session_id:
            return []
        with self._flash_lock:
            return self._flashes.pop(principal.session_id, [])

    def forget_session(self, session_id: str) -> None:
        with self._flash_lock:
            self._flashes.pop(session_id, None)

    # -- rendering --------------------------------------------------------------------------------
    def render(self, request: Any, template: str, status: int = 200, **values: Any) -> HTTPResponse:
        principal = getattr(request.ctx, "principal", None)
        messages = self.take_flashes(request) + list(values.pop("messages", []))
        body = self.templates.get_template(template).render(
            user=principal.user if principal else None,
            csrf=principal.csrf if principal else None,
            messages=messages,
            path=request.path,
            **values,
        )
        return html(body, status=status)


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call (database, password hash, HTTP to Rasa) in the default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


def desk_of(request: Any) -> Desk:
    return request.app.ctx.desk
