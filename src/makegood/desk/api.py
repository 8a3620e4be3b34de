"""The copilot HTTP API: JSON in, JSON out, errors as {"error": "..."}.

    POST /api/copilot/suggest   what the agent may offer in this live chat, and how to say it
    POST /api/copilot/log       record the option the agent is offering (a ledger proposal)
    GET  /api/openapi.json      the OpenAPI 3.0 description of the above

Bodies are parsed here, strictly: malformed JSON or a field of the wrong type is a 400
naming the field. Numbers are read as Decimal, never float.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, overload

from sanic.response import HTTPResponse, json

from makegood.desk import auth
from makegood.desk.context import blocking, desk_of
from makegood.desk.openapi import openapi_document
from makegood.errors import MakegoodError, shown
from makegood.jsonable import to_jsonable

MAX_TURNS = 200
SPEAKERS = ("customer", "agent")


class BadRequest(MakegoodError):
    """A request body the API cannot use; the message names the field."""


def register(app: Any) -> None:
    app.add_route(suggest, "/api/copilot/suggest", methods=["POST"])
    app.add_route(log_option, "/api/copilot/log", methods=["POST"])
    app.add_route(openapi, "/api/openapi.json", methods=["GET"])


def _error(message: str, status: int) -> HTTPResponse:
    return json({"error": shown(message)}, status=status)


def _copilot_allowed(request: Any) -> HTTPResponse | None:
    role = request.ctx.principal.role
    if role not in auth.COPILOT_ROLES:
        return _error(
            f"the copilot is for agents and supervisors; {request.ctx.principal.name} is "
            f"{'an' if role[:1] in 'aeiou' else 'a'} {role}",
            403,
        )
    return None


# -- body parsing -----------------------------------------------------------------------------------
def parse_body(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None
    try:
        body = jsonlib.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be a JSON object, got {_type(body)}")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@overload
def _text(body: Mapping[str, Any], field: str, *, required: Literal[True], limit: int = 128) -> str: ...
@overload
def _text(body: Mapping[str, Any], field: str, *, required: bool = False, limit: int = 128) -> str | None: ...
def _text(body: Mapping[str, Any], field: str, *, required: bool = False, limit: int = 128) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise BadRequest(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string, got {_type(value)}")
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{field} must not be empty")
    if len(value) > limit:
        raise BadRequest(f"{field} is too long ({len(value)} characters; at most {limit})")
    return value or None


def _facts(body: Mapping[str, Any]) -> dict[str, Any]:
    value = body.get("facts")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"facts must be an object of fact name to value, got {_type(value)}")
    for name, fact in value.items():
        if isinstance(fact, (dict, list)):
            raise BadRequest(f"facts.{name} must be a number, string or boolean, got {_type(fact)}")
    return dict(value)


def _turns(body: Mapping[str, Any], field: str, *, required: bool) -> list[dict[str, str]]:
    value = body.get(field)
    if value is None:
        if required:
            raise BadRequest(f'{field} is required: a list of {{"speaker", "text"}} objects')
        return []
    if not isinstance(value, list):
        raise BadRequest(f'{field} must be an array of {{"speaker", "text"}} objects, got {_type(value)}')
    if len(value) > MAX_TURNS:
        raise BadRequest(f"{field} has {len(value)} turns; at most {MAX_TURNS}")
    turns = []
    for i, turn in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(turn, dict):
            raise BadRequest(f"{where} must be an object with speaker and text, got {_type(turn)}")
        speaker = turn.get("speaker")
        if not isinstance(speaker, str) or speaker.strip().lower() not in SPEAKERS:
            raise BadRequest(f"{where}.speaker must be one of {', '.join(SPEAKERS)}, got {speaker!r}")
        text = turn.get("text")
        if not isinstance(text, str):
            raise BadRequest(f"{where}.text must be a string, got {_type(text)}")
        turns.append({"speaker": speaker.strip().lower(), "text": text})
    return turns


def _size(body: Mapping[str, Any]) -> str | None:
    value = body.get("size")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise BadRequest(f'size must be an amount (a string like "25.00" or a number), got {_type(value)}')
    text = str(value).strip()
    if not text:
        return None
    if len(text) > 32:
        raise BadRequest("size is too long")
    return text


def _ask(body: Mapping[str, Any]) -> Any:
    value = body.get("customer_ask")
    if value is None:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                raise BadRequest(f"customer_ask.{key} must be a number, string or boolean, got {_type(item)}")
        return dict(value)
    raise BadRequest(
        f'customer_ask must be an object like {{"remedy": "partial_refund", "size": "60"}}, got {_type(value)}'
    )


# -- routes -----------------------------------------------------------------------------------------
async def suggest(request: Any) -> HTTPResponse:
    refused = _copilot_allowed(request)
    if refused:
        return refused
    from makegood.services.copilot import SuggestRequest
    from makegood.services.copilot import suggest as copilot_suggest

    try:
        body = parse_body(request.body)
        suggest_request = SuggestRequest(
            turns=_turns(body, "turns", required=True),
            agent=request.ctx.principal.user,
            customer_id=_text(body, "customer_id", limit=32),
            order_id=_text(body, "order_id", limit=32),
            facts=_facts(body),
        )
    except BadRequest as exc:
        return _error(str(exc), 400)
    desk = desk_of(request)
    result = await blocking(lambda: copilot_suggest(desk.services(), desk.understanding, suggest_request))
    return json(to_jsonable(result))


async def log_option(request: Any) -> HTTPResponse:
    refused = _copilot_allowed(request)
    if refused:
        return refused
    from makegood.services.copilot import LogRequest
    from makegood.services.copilot import log as copilot_log

    try:
        body = parse_body(request.body)
        log_request = LogRequest(
            conversation_id=_text(body, "conversation_id", required=True),
            agent=request.ctx.principal.user,
            situation=_text(body, "situation", required=True, limit=64),
            order_id=_text(body, "order_id", limit=32),
            customer_id=_text(body, "customer_id", limit=32),
            facts=_facts(body),
            remedy=_text(body, "remedy", required=True, limit=64),
            size=_size(body),
            customer_ask=_ask(body),
            transcript=_turns(body, "transcript", required=False),
            idempotency_key=_text(body, "idempotency_key", limit=128),
        )
    except BadRequest as exc:
        return _error(str(exc), 400)
    desk = desk_of(request)
    proposal = await blocking(lambda: copilot_log(desk.services(), log_request))
    data = to_jsonable(proposal)
    return json(data, status=201 if getattr(proposal, "created", False) else 200)


async def openapi(request: Any) -> HTTPResponse:
    return json(openapi_document())
