"""The live inbox: handed-over conversations a person picks up, over HTTP.

    GET  /api/conversations?state=waiting|mine|all     the inbox
    GET  /api/conversations/{id}                       transcript (Rasa's tracker), packet, proposals, photos
    POST /api/conversations/{id}/claim                 become the one owner (409 when someone was quicker)
    POST /api/conversations/{id}/messages {"text"}     write to the customer (403 unless the owner)
    POST /api/conversations/{id}/deliveries {"proposal_id", "text"}   tell the customer a decision
                                                       (services.delivery says who may; 403 otherwise)
    POST /api/conversations/{id}/release               hand it back to the bot
    GET  /live, /live/{id}                             the agent's pages
    GET  /chat/events?sender=…                         the customer's push (Server-Sent Events, public)

Agents and supervisors work conversations; reviewers and admins may read them. Each write goes
to Rasa first and is stored only once Rasa took it, so Rasa being down is a 503 with nothing
stored (a claim whose intro could not be delivered is undone).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from sanic.response import HTTPResponse, json

from makegood.desk.context import blocking, desk_of
from makegood.desk.rasa_api import RasaApi, RasaUnavailable, transcript
from makegood.errors import MakegoodError, StoreUnavailable, shown
from makegood.jsonable import to_jsonable
from makegood.services import delivery
from makegood.services.conversations import (
    ClaimConflict,
    ConversationError,
    NoSuchConversation,
    NotTheOwner,
    clean_text,
)

open_attachments: Callable[..., Any] | None
try:  # written alongside this module by another change; the inbox works without it
    from makegood.services.attachments import open_attachments
except ImportError:  # pragma: no cover - depends on what is deployed
    open_attachments = None

log = logging.getLogger(__name__)

WORK_ROLES = ("agent", "supervisor")
READ_ROLES = ("agent", "supervisor", "reviewer", "admin")
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
SENDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what /chat/send accepts
BACK_TO_BOT = "You're back with our assistant now. Your case and everything you've told us are kept."
STREAM_S = 25.0  # one customer stream holds a connection this long at most; EventSource reconnects
POLL_S = 1.0  # how often a stream looks in the database (other desk processes write there too)
IDLE_RETRY_MS = 15_000  # a chat no person is in is checked this rarely (the page also asks after each send)
LIVE_RETRY_MS = 1_000


def register(app: Any) -> None:
    app.add_route(inbox_api, "/api/conversations", methods=["GET"])
    app.add_route(conversation_api, "/api/conversations/<conversation_id:str>", methods=["GET"])
    app.add_route(claim_api, "/api/conversations/<conversation_id:str>/claim", methods=["POST"])
    app.add_route(message_api, "/api/conversations/<conversation_id:str>/messages", methods=["POST"])
    app.add_route(release_api, "/api/conversations/<conversation_id:str>/release", methods=["POST"])
    app.add_route(deliver_api, "/api/conversations/<conversation_id:str>/deliveries", methods=["POST"])
    app.add_route(inbox_page, "/live", methods=["GET"])
    app.add_route(conversation_page, "/live/<conversation_id:str>", methods=["GET"])
    app.add_route(customer_events, "/chat/events", methods=["GET"])


# -- shared bits ------------------------------------------------------------------------------------
def shown_as(agent: str) -> str:
    """How the customer sees the agent: their first name."""
    return agent[:1].upper() + agent[1:]


def _error(message: str, status: int) -> HTTPResponse:
    return json({"error": shown(message)}, status=status)


def _refused(request: Any, roles: tuple[str, ...], what: str) -> HTTPResponse | None:
    principal = request.ctx.principal
    if principal.role in roles:
        return None
    article = "an" if principal.role[:1] in "aeiou" else "a"
    return _error(
        f"{what} is for {' and '.join(r + 's' for r in roles)}; {principal.name} is {article} {principal.role}", 403
    )


def _store(request: Any) -> Any:
    store = getattr(desk_of(request).services(), "conversations", None)
    if store is None:
        raise StoreUnavailable("live conversations need the database; this desk was started without one")
    return store


def rasa_of(request: Any) -> RasaApi:
    """The Rasa client of this app (tests may put their own in `app.ctx.rasa_api`)."""
    ctx = request.app.ctx
    api = getattr(ctx, "rasa_api", None)
    if api is None:
        api = ctx.rasa_api = RasaApi.from_env(desk_of(request).rasa_url)
    return api


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, NoSuchConversation):
        return 404
    if isinstance(exc, (ClaimConflict, delivery.AlreadyTold)):
        return 409
    if isinstance(exc, NotTheOwner):
        return 403
    if isinstance(exc, (RasaUnavailable, StoreUnavailable)):
        return 503
    return 400


async def _answer(work: Any, status: int = 200) -> HTTPResponse:
    """Run the blocking `work()` and turn the errors it may raise into their statuses."""
    try:
        return json(to_jsonable(await blocking(work)), status=status)
    except MakegoodError as exc:
        return _error(str(exc), _status_of(exc))


def _valid_id(conversation_id: str) -> HTTPResponse | None:
    if CONVERSATION_ID.match(conversation_id or ""):
        return None
    return _error("a conversation id is 1 to 128 letters, digits or . : @ - _", 400)


def _body(request: Any, shape: str = '{"text": "…"}') -> dict[str, Any]:
    try:
        body = jsonlib.loads((request.body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ConversationError(f"the request body must be JSON: {shape}") from None
    if not isinstance(body, dict):
        raise ConversationError(f"the request body must be a JSON object: {shape}")
    return body


def _body_text(request: Any) -> str:
    return clean_text(_body(request).get("text"))


# -- the in-process bell: wakes this process's customer streams at once; others poll the database ----
_bells: dict[str, set[asyncio.Event]] = {}


def ring(conversation_id: str) -> None:
    for bell in _bells.get(conversation_id, ()):
        bell.set()


def _summary(c: Any, me: str) -> dict[str, Any]:
    return {
        "conversation_id": c.conversation_id,
        "state": c.state,
        "owner": c.owner,
        "mine": c.owner == me,
        "customer_id": c.customer_id,
        "handoff_proposal_id": c.handoff_proposal_id,
        "reason": c.reason,
        "handed_over_at": c.handed_over_at,
        "claimed_at": c.claimed_at,
        "updated_at": c.updated_at,
    }


# -- the API ----------------------------------------------------------------------------------------
async def inbox_api(request: Any) -> HTTPResponse:
    refused = _refused(request, READ_ROLES, "the live inbox")
    if refused:
        return refused
    state = request.args.get("state", "all")
    me = request.ctx.principal.name
    store = _store(request)
    return await _answer(lambda: {"conversations": [_summary(c, me) for c in store.list(state=state, agent=me)]})


def _proposal_view(p: Any) -> dict[str, Any]:
    return {
        "public_id": p.public_id,
        "status": p.status,
        "situation": p.situation,
        "tier_required": p.tier_required,
        "requested_by": p.requested_by,
        "option_chosen": p.option_chosen,
        "order_id": p.order_id,
        "created_at": p.created_at,
        "decisions": [{"actor": d.actor, "decision": d.decision, "role": d.role} for d in p.decisions],
    }


def _details(request: Any, conversation_id: str) -> dict[str, Any]:
    desk = desk_of(request)
    services = desk.services()
    me = request.ctx.principal.name
    conversation = _store(request).get(conversation_id)
    proposals = services.ledger.list(conversation_id=conversation_id, limit=50)
    handoff = next((p for p in proposals if p.public_id == conversation.handoff_proposal_id), None)
    try:
        turns, transcript_error = transcript(rasa_of(request).tracker(conversation_id)), None
    except RasaUnavailable as exc:  # the packet and the proposals still help the agent
        turns, transcript_error = [], str(exc)
    photos = []
    if open_attachments is not None:
        try:
            photos = [
                {"sha256": a.sha256, "media_type": a.media_type, "url": f"/attachments/{a.sha256}", "at": a.created_at}
                for a in open_attachments(services).list_for_conversation(conversation_id)
            ]
        except Exception:
            log.exception("could not list the photos of %s", conversation_id)
    return {
        "conversation": _summary(conversation, me),
        "may_work": request.ctx.principal.role in WORK_ROLES,
        "transcript": turns,
        "transcript_error": transcript_error,
        "case": None
        if handoff is None
        else {
            "situation": handoff.situation,
            "order_id": handoff.order_id,
            "customer_id": handoff.customer_id,
            "facts": handoff.facts,
            "tier_required": handoff.tier_required,
            "packet": handoff.context,
        },
        "proposals": [_proposal_view(p) for p in proposals],
        "attachments": photos,
        "tellings": [
            {**to_jsonable(t), "mine": delivery.same_person(t.teller, me)}
            for t in delivery.pending_tellings(services, conversation_id, proposals)
        ],
    }


async def conversation_api(request: Any, conversation_id: str) -> HTTPResponse:
    refused = _refused(request, READ_ROLES, "the live inbox") or _valid_id(conversation_id)
    if refused:
        return refused
    return await _answer(lambda: _details(request, conversation_id))


async def claim_api(request: Any, conversation_id: str) -> HTTPResponse:
    refused = _refused(request, WORK_ROLES, "taking a conversation") or _valid_id(conversation_id)
    if refused:
        return refused
    store, rasa, agent = _store(request), rasa_of(request), request.ctx.principal.name

    def claim() -> dict[str, Any]:
        conversation = store.claim(conversation_id, agent)
        intro = f"Hi, I'm {shown_as(agent)}, I'm looking at your case now."
        try:
            rasa.say_as_agent(conversation_id, intro, agent, shown_as(agent))
        except RasaUnavailable:
            store.unclaim(conversation_id, agent)  # the customer never heard of it: anyone may take it
            raise
        store.add_message(conversation_id, agent, intro)
        return {"conversation": _summary(conversation, agent), "intro": intro}

    response = await _answer(claim)
    ring(conversation_id)
    return response


async def message_api(request: Any, conversation_id: str) -> HTTPResponse:
    refused = _refused(request, WORK_ROLES, "writing to a customer") or _valid_id(conversation_id)
    if refused:
        return refused
    store, rasa, agent = _store(request), rasa_of(request), request.ctx.principal.name

    def send() -> dict[str, Any]:
        text = _body_text(request)
        store.check_owner(conversation_id, agent)
        rasa.say_as_agent(conversation_id, text, agent, shown_as(agent))
        return {"message": store.add_message(conversation_id, agent, text)}

    response = await _answer(send, status=201)
    ring(conversation_id)
    return response


async def release_api(request: Any, conversation_id: str) -> HTTPResponse:
    refused = _refused(request, WORK_ROLES, "handing a conversation back") or _valid_id(conversation_id)
    if refused:
        return refused
    store, rasa, agent = _store(request), rasa_of(request), request.ctx.principal.name

    def release() -> dict[str, Any]:
        store.check_owner(conversation_id, agent)
        rasa.resume(conversation_id, BACK_TO_BOT)
        conversation = store.release(conversation_id, agent)
        store.add_message(conversation_id, "bot", BACK_TO_BOT, kind="bot")
        return {"conversation": _summary(conversation, agent)}

    response = await _answer(release)
    ring(conversation_id)
    return response


async def deliver_api(request: Any, conversation_id: str) -> HTTPResponse:
    refused = _refused(request, WORK_ROLES, "telling a customer a decision") or _valid_id(conversation_id)
    if refused:
        return refused
    services, rasa, person = desk_of(request).services(), rasa_of(request), request.ctx.principal.name
    _store(request)  # a desk without the live inbox answers 503 before anything else

    def tell() -> dict[str, Any]:
        body = _body(request, '{"proposal_id": "P-…", "text": "…"}')
        proposal_id = body.get("proposal_id")
        if not isinstance(proposal_id, str) or not proposal_id.strip():
            raise ConversationError('proposal_id is required: {"proposal_id": "P-…", "text": "…"}')
        done = delivery.deliver(
            services,
            conversation_id,
            proposal_id[:32],
            person,
            body.get("text"),
            say=lambda text: rasa.say_as_agent(conversation_id, text, person, shown_as(person)),
        )
        return {"message": done.message, "telling": done.telling}

    response = await _answer(tell, status=201)
    ring(conversation_id)
    return response


# -- the agent's pages ------------------------------------------------------------------------------
async def inbox_page(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    return desk.render(request, "live.html", title="Live chats", may_work=request.ctx.principal.role in WORK_ROLES)


async def conversation_page(request: Any, conversation_id: str) -> HTTPResponse:
    desk = desk_of(request)
    if not CONVERSATION_ID.match(conversation_id or ""):
        return desk.render(
            request, "error.html", status=404, title="Not found", message="there is no such conversation"
        )
    found = await blocking(lambda: _store(request).find(conversation_id))
    if found is None:
        return desk.render(
            request,
            "error.html",
            status=404,
            title="Not found",
            message=f"no handed-over conversation {conversation_id}",
        )
    return desk.render(
        request,
        "live_conversation.html",
        title=f"Chat {conversation_id}",
        conversation=found,
        may_work=request.ctx.principal.role in WORK_ROLES,
    )


# -- the customer's push ----------------------------------------------------------------------------
def _state_of(conversation: Any) -> dict[str, Any]:
    if conversation is None or conversation.state == "released":
        return {"state": "bot" if conversation is not None else "none", "agent_name": None}
    return {
        "state": conversation.state,
        "agent_name": shown_as(conversation.owner) if conversation.state == "claimed" and conversation.owner else None,
    }


def _after(request: Any) -> int:
    raw = request.headers.get("last-event-id") or request.args.get("after") or "0"
    return int(raw) if raw.isdigit() and len(raw) < 18 else 0


async def customer_events(request: Any) -> HTTPResponse:
    """Server-Sent Events for one chat: `state` (who is answering) and `message` (id: the message's
    id, so a reconnecting EventSource resumes with Last-Event-ID). Streams end after STREAM_S; a
    chat no person is in ends at once and is asked again in IDLE_RETRY_MS."""
    sender = request.args.get("sender", "")
    if not SENDER.match(sender):
        return _error("sender must be 1 to 64 letters, digits, - or _", 400)
    try:
        store = _store(request)
        conversation = await blocking(store.find, sender)
    except MakegoodError as exc:
        return _error(str(exc), 503)
    after = _after(request)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    state = _state_of(conversation)
    live = state["state"] in ("waiting", "claimed")
    await response.send(
        f"retry: {LIVE_RETRY_MS if live else IDLE_RETRY_MS}\nevent: state\ndata: {jsonlib.dumps(state)}\n\n"
    )
    bell = asyncio.Event()
    _bells.setdefault(sender, set()).add(bell)
    try:
        deadline = time.monotonic() + STREAM_S
        while conversation is not None:
            for m in await blocking(store.messages_after, sender, after):
                after = m.id
                data = {"text": m.text, "kind": m.kind, "agent_name": shown_as(m.author) if m.kind == "agent" else None}
                await response.send(f"id: {m.id}\nevent: message\ndata: {jsonlib.dumps(data)}\n\n")
            now_state = _state_of(await blocking(store.find, sender))
            if now_state != state:
                state = now_state
                await response.send(f"event: state\ndata: {jsonlib.dumps(state)}\n\n")
            if state["state"] not in ("waiting", "claimed") or time.monotonic() >= deadline:
                break
            bell.clear()
            try:
                await asyncio.wait_for(bell.wait(), timeout=POLL_S)
            except asyncio.TimeoutError:
                pass
    except MakegoodError as exc:  # the database went away mid-stream: the page reconnects later
        log.warning("customer stream for %s ended: %s", sender, exc)
    finally:
        bells = _bells.get(sender)
        if bells is not None:
            bells.discard(bell)
            if not bells:
                _bells.pop(sender, None)
    await response.eof()
    return response
