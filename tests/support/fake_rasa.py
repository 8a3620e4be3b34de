"""A stand-in for Rasa's HTTP API on a loopback port, for the live-conversation tests: the
tracker routes the desk calls and the REST webhook the customer's chat page posts to.

It keeps trackers the way Rasa does for what the desk relies on: `pause`/`resume` events,
`paused` in the tracker, user turns logged while paused with no prediction, and, like
`makegood_rasa.channels`, no "with a colleague" filler once a person has written. A message
containing "person" hands the chat over: it pauses the conversation and calls `on_handoff`
(what the actions server's handoff does). Every append is recorded with its query.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AGENT_METADATA = "makegood_agent"
HANDOFF_REPLY = "A person will pick up right here shortly."
WAITING = "Your case is with a colleague. They'll reply right here."


class FakeRasa:
    def __init__(self, on_handoff: Callable[[str], None] | None = None) -> None:
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self.appended: list[tuple[str, dict[str, list[str]], list[dict[str, Any]]]] = []
        self.webhook_bodies: list[dict[str, Any]] = []  # what the chat proxy posted, metadata included
        self.on_handoff = on_handoff
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-rasa", daemon=True)

    def start(self) -> FakeRasa:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- state ------------------------------------------------------------------------------------
    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.trackers.get(conversation_id, []))

    def paused(self, conversation_id: str) -> bool:
        state = False
        for event in self.events(conversation_id):
            if event["event"] == "pause":
                state = True
            elif event["event"] == "resume":
                state = False
        return state

    def add(self, conversation_id: str, *events: dict[str, Any]) -> None:
        with self.lock:
            for event in events:
                self.trackers.setdefault(conversation_id, []).append({"timestamp": time.time(), **event})

    def hand_over(self, conversation_id: str) -> None:
        """What the bot's handoff leaves in the tracker: its line, then the pause."""
        self.add(conversation_id, {"event": "bot", "text": HANDOFF_REPLY}, {"event": "pause"})

    def _person_is_there(self, conversation_id: str) -> bool:
        for event in reversed(self.events(conversation_id)):
            if event["event"] == "pause":
                return False
            if event["event"] == "bot" and (event.get("metadata") or {}).get(AGENT_METADATA):
                return True
        return False

    def _webhook(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self.webhook_bodies.append(body)
        sender, text = str(body.get("sender")), str(body.get("message"))
        self.add(sender, {"event": "user", "text": text})
        if self.paused(sender):
            return [] if self._person_is_there(sender) else [{"recipient_id": sender, "text": WAITING}]
        if "person" in text.lower():
            self.hand_over(sender)
            if self.on_handoff is not None:
                self.on_handoff(sender)
            return [{"recipient_id": sender, "text": HANDOFF_REPLY}]
        reply = f"The bot heard: {text}"
        self.add(sender, {"event": "bot", "text": reply})
        return [{"recipient_id": sender, "text": reply}]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _parts(self) -> tuple[list[str], dict[str, list[str]]]:
                parsed = urllib.parse.urlsplit(self.path)
                return [urllib.parse.unquote(p) for p in parsed.path.split("/") if p], urllib.parse.parse_qs(
                    parsed.query
                )

            def do_GET(self) -> None:
                parts, _query = self._parts()
                if len(parts) == 3 and parts[0] == "conversations" and parts[2] == "tracker":
                    cid = parts[1]
                    self._send(200, {"sender_id": cid, "events": fake.events(cid), "paused": fake.paused(cid)})
                    return
                self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                parts, query = self._parts()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                if parts == ["webhooks", "rest", "webhook"]:
                    self._send(200, fake._webhook(body))
                    return
                if len(parts) == 4 and parts[0] == "conversations" and parts[2:] == ["tracker", "events"]:
                    events = body if isinstance(body, list) else [body]
                    with fake.lock:
                        fake.appended.append((parts[1], query, events))
                    fake.add(parts[1], *events)
                    self._send(200, {"sender_id": parts[1]})
                    return
                self._send(404, {"error": "not found"})

        return Handler
