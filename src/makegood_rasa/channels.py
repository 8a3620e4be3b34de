"""Makegood's customer channels for Rasa: REST and socket.io with input bounds and sessions
bound to the socket. Registered in rasa_project/credentials.yml by module path.

Both channels keep Rasa's URLs (`name()` decides them): `/webhooks/rest/webhook` and
socket.io on `/socket.io`. What they add:

- REST: a body that is not a JSON object, or has no sender, or whose message is not text,
  gets HTTP 400 with a clear JSON `{"error": ...}` (Rasa's own channel answers 500); a message
  longer than MAKEGOOD_MAX_MESSAGE_CHARS (default 5000) gets a polite bot reply without
  running the model, so one huge message cannot stall everyone else's turn.
- socket.io: the same checks; the conversation a socket acts in is the one *issued to that
  socket* by `session_request` (a session id the client brings back is honoured only when it
  carries our signature), so a client that sends another customer's session id neither joins
  their room nor speaks in their conversation. Browser connections from an origin outside
  MAKEGOOD_CORS_ORIGINS are refused. `enter_room` is awaited (python-socketio 5.x made it a
  coroutine; Rasa 3.6's channel calls it without awaiting, so it delivered no replies).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import uuid
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from makegood_rasa import action_response_check

logger = logging.getLogger(__name__)
# `rasa run` imports this module before it serves: the turns it serves check the actions
# server's responses without re-checking the constant schema each time.
action_response_check.install()

DEFAULT_MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
DEFAULT_CORS_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")
TOO_LONG = (
    "Sorry, that message is too long for me to read in one go (at most {limit} characters). "
    "Could you tell me in a few sentences what happened? You can send the rest afterwards."
)
SESSION_REFUSED = (
    "This chat window's session has expired or belongs to another chat. "
    "Please reload the page to start a new conversation."
)


def max_message_chars() -> int:
    """MAKEGOOD_MAX_MESSAGE_CHARS, or 5000; a value that is not a positive integer is refused."""
    raw = os.environ.get("MAKEGOOD_MAX_MESSAGE_CHARS", "").strip()
    if not raw:
        return DEFAULT_MAX_MESSAGE_CHARS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"MAKEGOOD_MAX_MESSAGE_CHARS must be a positive whole number of characters, not {raw!r}")
    return value


def max_body_bytes(limit_chars: int) -> int:
    """Bytes a request body may have (bigger: HTTP 413, unread). Up to this, an over-long message
    still gets the polite reply: 1 MB, or room for the message in 4-byte UTF-8 if that is more."""
    return max(1_000_000, limit_chars * 4 + 16_384)


def allowed_origins() -> tuple[str, ...]:
    """MAKEGOOD_CORS_ORIGINS (comma or space separated), default the desk's own origins."""
    raw = os.environ.get("MAKEGOOD_CORS_ORIGINS")
    if raw is None or not raw.strip():
        return DEFAULT_CORS_ORIGINS
    return tuple(o.rstrip("/") for o in raw.replace(",", " ").split() if o.strip())


class BadInput(ValueError):
    """A request a client got wrong: becomes HTTP 400 with this message."""


def validate_turn(payload: Any, limit: int) -> tuple[str, str, dict[str, Any] | None, bool]:
    """(sender, message, metadata, too_long) from a decoded REST body, or BadInput."""
    if not isinstance(payload, dict):
        raise BadInput('the request body must be a JSON object: {"sender": "...", "message": "..."}')
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadInput('"sender" is required: a non-empty string naming the conversation')
    if len(sender) > MAX_SENDER_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in sender):
        raise BadInput(f'"sender" must be at most {MAX_SENDER_CHARS} printable characters')
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        raise BadInput('"message" is required: non-empty text')
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadInput('"metadata", when given, must be a JSON object')
    # JSON may carry lone surrogates ("\ud800"): no store can write them, and Rasa's tracker
    # store answers an encoding error by stopping the whole server.
    for what, value in (("sender", sender), ("message", message), ("metadata", metadata)):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, RecursionError, TypeError, ValueError):
            raise BadInput(f'"{what}" must be valid UTF-8 text') from None
    return sender, message, metadata, len(message) > limit


def decode_body(body: bytes | None, limit: int) -> Any:
    if body is not None and len(body) > max_body_bytes(limit):
        raise BadInput(f"the request body is too large (at most {max_body_bytes(limit)} bytes)")
    try:
        return json.loads((body or b"").decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput("the request body must be UTF-8 encoded JSON") from None
    except ValueError:
        raise BadInput('the request body must be JSON: {"sender": "...", "message": "..."}') from None
    except RecursionError:
        raise BadInput("the request body is nested too deeply") from None


NO_REPLY = (
    "Sorry, I couldn't answer that just now because of a problem on our side. Please send it again "
    "in a minute, or type 'agent' and a person will help."
)


WAITING = (
    "Your case is with a colleague{reference}, who has everything you've told me, so you won't have to "
    "repeat yourself. They'll reply right here."
)
REFERENCE = re.compile(r"\bP-[23456789A-HJKMNP-Z]{6}\b")


AGENT_METADATA = "makegood_agent"  # on bot events a person wrote from the desk (makegood.desk.rasa_api)


def _person_is_there(tracker: Any) -> bool:
    """A person from the desk has written since the conversation last paused."""
    for event in reversed(tracker.events):
        if getattr(event, "type_name", "") == "pause":
            return False
        if getattr(event, "type_name", "") == "bot" and (getattr(event, "metadata", None) or {}).get(AGENT_METADATA):
            return True
    return False


async def _no_reply(request: Request, sender: str) -> str | None:
    """What to say when the turn said nothing. A chat waiting for a person (paused after a
    handoff) hears that its case is with a colleague, with its reference; any other silence is
    Rasa's answer to an unreachable actions server, and the customer hears to try again.
    A customer is never left with nothing, except by the person who now answers them in the
    desk (None: say nothing, their reply is pushed to the chat page)."""
    try:
        agent = request.app.ctx.agent
        tracker = await agent.tracker_store.retrieve(sender) if agent and agent.tracker_store else None
    except Exception:  # noqa: BLE001 - the store is down too: the customer still gets an answer
        tracker = None
    if tracker is not None and tracker.is_paused():
        if _person_is_there(tracker):
            return None
        said = [e.text for e in tracker.events if getattr(e, "type_name", "") == "bot" and getattr(e, "text", None)]
        found = next((m.group(0) for text in reversed(said) for m in [REFERENCE.search(text)] if m), None)
        return WAITING.format(reference=f" (reference {found})" if found else "")
    logger.error("rest: the turn for %s produced no reply; told the customer to try again", sender)
    return NO_REPLY


def too_long_reply(limit: int) -> str:
    return TOO_LONG.format(limit=limit)


class RestChannel(RestInput):
    """Rasa's REST channel (same URL, same answers) with input bounds; never answers 5xx."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        self.max_chars = max_message_chars()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | Any:
            return await self.handle(request, on_new_message)

        return webhook

    async def handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Any:
        try:
            sender, text, metadata, too_long = validate_turn(decode_body(request.body, self.max_chars), self.max_chars)
        except BadInput as exc:
            status = 413 if "too large" in str(exc) else 400
            return response.json({"error": str(exc)}, status=status)
        if too_long:
            logger.info(
                "rest: a %d-character message from %s was not read (limit %d)", len(text), sender, self.max_chars
            )
            return response.json([{"recipient_id": sender, "text": too_long_reply(self.max_chars)}])
        if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
            return response.stream(
                self.stream_response(on_new_message, text, sender, self.name(), metadata),
                content_type="text/event-stream",
            )
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        except CancelledError:
            logger.error("rest: the turn for %s timed out", sender)
        except Exception:  # a failing turn still answers with what was said so far
            logger.exception("rest: the turn for %s failed: %s", sender, copy.deepcopy(text)[:200])
        if not collector.messages:
            filler = await _no_reply(request, sender)
            if filler:
                collector.messages.append({"recipient_id": sender, "text": filler})
        return response.json(collector.messages)


class SessionSigner:
    """Session ids the server issues: `<conversation>.<signature>`. The conversation part is
    the Rasa sender id; the signature proves the id was issued here, so a client can resume
    its own conversation after a reconnect but cannot name someone else's."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is None:
            seed = os.environ.get("MAKEGOOD_RASA_TOKEN", "")
            key = (
                hashlib.sha256(b"makegood socket.io sessions\0" + seed.encode()).digest()
                if seed
                else secrets.token_bytes(32)
            )
        self._key = key

    def _sign(self, conversation: str) -> str:
        return hmac.new(self._key, conversation.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> tuple[str, str]:
        conversation = f"sio-{uuid.uuid4().hex}"
        return f"{conversation}.{self._sign(conversation)}", conversation

    def verify(self, session_id: Any) -> str | None:
        """The conversation behind a session id we issued, else None."""
        if not isinstance(session_id, str) or session_id.count(".") != 1 or len(session_id) > 200:
            return None
        conversation, signature = session_id.split(".")
        if not conversation.startswith("sio-"):
            return None
        return conversation if hmac.compare_digest(signature, self._sign(conversation)) else None


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel with sessions bound to the socket and the REST channel's bounds."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_chars = max_message_chars()
        self.origins = allowed_origins()
        self.signer = SessionSigner()
        # sid -> (session id given to the client, conversation id); forgotten on disconnect
        self.sessions: dict[str, tuple[str, str]] = {}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # cors_allowed_origins=[]: engine.io leaves CORS headers to the Rasa app's CORS set-up
        # (--cors), which would otherwise send Access-Control-Allow-Origin twice; the Origin of
        # a browser connection is checked in `connect` instead.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=max_body_bytes(self.max_chars)
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            return self.may_connect(environ, auth)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self.sessions.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            session_id, conversation = self.open_session(sid, data)
            await _maybe_await(sio.enter_room(sid, conversation, namespace=namespace))
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            await self.on_user_message(sid, data, on_new_message)

        return webhook

    # -- the decisions, apart from the socket plumbing so they can be tested alone ----------------
    def may_connect(self, environ: dict, auth: dict | None) -> bool:
        origin = (environ or {}).get("HTTP_ORIGIN")
        if origin and origin.rstrip("/") not in self.origins and "*" not in self.origins:
            logger.info("socket.io: connection from origin %s refused (not in MAKEGOOD_CORS_ORIGINS)", origin)
            return False
        if self.jwt_key:
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))
        return True

    def open_session(self, sid: str, data: Any) -> tuple[str, str]:
        """The session for this socket: the one the client brings back if we issued it, else new."""
        asked = data.get("session_id") if isinstance(data, dict) else None
        conversation = self.signer.verify(asked)
        if conversation is not None:
            session = (asked, conversation)
        else:
            if asked:
                logger.info("socket.io: %s asked for a session id we did not issue; a new one is issued", sid)
            session = self.signer.issue()
        self.sessions[sid] = session
        return session

    def conversation_for(self, sid: str, data: dict[str, Any]) -> str | None:
        """The conversation this socket may speak in, or None (the message is refused)."""
        if not self.session_persistence:
            return sid
        bound = self.sessions.get(sid)
        if bound is None:
            return None
        given = data.get("session_id")
        if given not in (None, "") and given != bound[0]:
            return None
        return bound[1]

    async def on_user_message(
        self, sid: str, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sio = self.sio
        if sio is None:  # blueprint() sets it before any handler can run
            raise RuntimeError("the socket.io server is not set up")
        output = SocketIOOutput(sio, self.bot_message_evt)
        if not isinstance(data, dict):
            await output.send_text_message(sid, 'Sorry, I could not read that: send {"message": "..."}.')
            return
        conversation = self.conversation_for(sid, data)
        if conversation is None:
            logger.warning("socket.io: %s sent a message for a session not issued to it; refused", sid)
            await output.send_text_message(sid, SESSION_REFUSED)
            return
        text = data.get("message")
        if not isinstance(text, str) or not text.strip():
            await output.send_text_message(sid, "Sorry, I could not read that: the message must be text.")
            return
        if len(text) > self.max_chars:
            await output.send_text_message(sid, too_long_reply(self.max_chars))
            return
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                metadata = {}
        if not isinstance(metadata, dict):
            metadata = {}
        try:
            await on_new_message(UserMessage(text, output, conversation, input_channel=self.name(), metadata=metadata))
        except Exception:  # the socket stays up; the customer hears that something went wrong
            logger.exception("socket.io: the turn for %s failed", conversation)


async def _maybe_await(result: Any) -> Any:
    """python-socketio 5.x returns a coroutine from AsyncServer.enter_room; older ones did not."""
    if hasattr(result, "__await__"):
        return await result
    return result
