"""The few calls the desk makes to Rasa's HTTP API for live conversations (blocking: call them
through `blocking`). Rasa's tracker is the transcript; the desk only appends events to it.

    rasa = RasaApi("http://localhost:5005", token)
    rasa.tracker("web-1a2b")                       # GET  /conversations/{id}/tracker
    rasa.say_as_agent("web-1a2b", "Hi…", "alice")  # POST /conversations/{id}/tracker/events (a bot event)
    rasa.resume("web-1a2b", "You're back with…")   # resume + the bot's line

Appending uses `execute_side_effects=true&output_channel=latest`, so a channel that can push
(socket.io) delivers the agent's words itself. The REST channel cannot push: its output channel
only collects replies to the request in flight, so for REST customers the desk pushes the
message to the chat page (`/chat/events`).

Every failure is a `RasaUnavailable` whose message says what to check; nothing is retried, so
a caller that writes nothing before the call has nothing half-written.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from makegood.errors import MakegoodError

TOKEN_ENV = "MAKEGOOD_RASA_TOKEN"
AGENT_METADATA = "makegood_agent"  # read by makegood_rasa.channels: a person is answering
TIMEOUT_S = 10


class RasaUnavailable(MakegoodError):
    """Rasa's HTTP API could not be reached or refused the call."""


class RasaApi:
    def __init__(self, base_url: str | None, token: str | None = None, timeout: float = TIMEOUT_S) -> None:
        self.base_url = (base_url or "").rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, base_url: str | None) -> RasaApi:
        return cls(base_url, os.environ.get(TOKEN_ENV) or None)

    # -- the calls --------------------------------------------------------------------------------
    def tracker(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's tracker (events since the last restart)."""
        tracker = self._call("GET", f"/conversations/{_quoted(conversation_id)}/tracker")
        if not isinstance(tracker, dict) or not isinstance(tracker.get("events", []), list):
            raise RasaUnavailable("Rasa answered the tracker request with something that is not a tracker")
        return tracker

    def append(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Append events and let Rasa's latest output channel deliver any bot message in them."""
        self._call(
            "POST",
            f"/conversations/{_quoted(conversation_id)}/tracker/events",
            body=events,
            query={"execute_side_effects": "true", "output_channel": "latest", "include_events": "NONE"},
        )

    def say_as_agent(self, conversation_id: str, text: str, agent: str, shown_as: str) -> None:
        """A person's message, as a bot event naming them (so the tracker is the one transcript)."""
        self.append(conversation_id, [agent_event(text, agent, shown_as)])

    def resume(self, conversation_id: str, text: str) -> None:
        """Back to the bot: ConversationResumed plus the bot's line. Slots and the case stay as they were.
        The closing action_listen makes the customer's next message read like any turn's: without
        it the policies see it straight after action_handoff (the messages logged while paused had
        no listen before them) and answer a "thanks" with another handoff."""
        self.append(
            conversation_id,
            [{"event": "resume"}, {"event": "bot", "text": text}, {"event": "action", "name": "action_listen"}],
        )

    # -- plumbing ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None) -> Any:
        if not self.base_url:
            raise RasaUnavailable("the desk has no Rasa server configured (MAKEGOOD_RASA_URL)")
        params = dict(query or {})
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the configured Rasa URL
            url, data=data, method=method, headers={"Content-Type": "application/json", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise RasaUnavailable(_refusal(err)) from None
        except (OSError, ValueError) as exc:
            raise RasaUnavailable(
                f"the assistant (Rasa at {self.base_url}) cannot be reached: {getattr(exc, 'reason', exc)}; "
                "nothing was sent, try again in a moment"
            ) from None
        try:
            return json.loads(raw.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            raise RasaUnavailable("the assistant (Rasa) answered with something that is not JSON") from None


def agent_event(text: str, agent: str, shown_as: str) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {AGENT_METADATA: agent, "agent_name": shown_as}}


def _quoted(conversation_id: str) -> str:
    return urllib.parse.quote(conversation_id, safe="")


def _refusal(err: urllib.error.HTTPError) -> str:
    if err.code in (401, 403):
        return f"the assistant (Rasa) refused the desk's token: check {TOKEN_ENV} matches Rasa's --auth-token"
    if err.code == 409:
        return "the assistant (Rasa) has no trained model loaded yet; try again once it has started"
    return f"the assistant (Rasa) refused the call (HTTP {err.code}); nothing was sent"


def transcript(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """Customer, bot and agent turns of a tracker, in the order they happened."""
    turns: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        if not isinstance(event, dict):
            continue
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
            continue
        metadata = event.get("metadata")
        agent = metadata.get(AGENT_METADATA) if kind == "bot" and isinstance(metadata, dict) else None
        turns.append(
            {
                "speaker": "customer" if kind == "user" else ("agent" if agent else "bot"),
                "text": text,
                "agent": agent,
                "at": event.get("timestamp"),
            }
        )
    return turns


def is_paused(tracker: dict[str, Any]) -> bool:
    return bool(tracker.get("paused"))
