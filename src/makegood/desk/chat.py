"""The customer web chat: a public page and a small proxy to Rasa's REST channel.

    POST /chat/send {"sender": "web-…", "message": "…"} -> {"messages": [{"text", "buttons"?}]}

The proxy forwards to `{rasa_url}/webhooks/rest/webhook`. No sign-in: this is the
customer's side. Rasa unreachable -> 503 with a polite message the page shows.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import urllib.request
from typing import Any

from sanic.response import HTTPResponse, json

from makegood.desk.context import blocking, desk_of

log = logging.getLogger(__name__)

SENDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_MESSAGE = 2000
RASA_TIMEOUT_S = 30
UNAVAILABLE = (
    "Sorry, our assistant can't be reached right now. Please try again in a few minutes, or contact us another way."
)


def register(app: Any) -> None:
    app.add_route(chat_page, "/chat", methods=["GET"])
    app.add_route(chat_send, "/chat/send", methods=["POST"])


async def chat_page(request: Any) -> HTTPResponse:
    return desk_of(request).render(request, "chat.html", title="Chat with us", public=True)


async def chat_send(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    try:
        body = jsonlib.loads((request.body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return json({"error": 'the request body must be JSON: {"sender", "message"}'}, status=400)
    if not isinstance(body, dict):
        return json({"error": "the request body must be a JSON object"}, status=400)
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return json({"error": "sender must be 1 to 64 letters, digits, - or _"}, status=400)
    if not isinstance(message, str) or not message.strip():
        return json({"error": "message must be non-empty text"}, status=400)
    if len(message) > MAX_MESSAGE:
        return json({"error": f"message is too long (at most {MAX_MESSAGE} characters)"}, status=400)
    if not desk.rasa_url:
        return json({"error": UNAVAILABLE}, status=503)
    try:
        replies = await blocking(_post_to_rasa, desk.rasa_url, sender, message.strip())
    except (OSError, ValueError) as exc:
        log.warning("Rasa at %s unreachable: %s", desk.rasa_url, exc)
        return json({"error": UNAVAILABLE}, status=503)
    return json({"messages": replies})


def _post_to_rasa(rasa_url: str, sender: str, message: str) -> list[dict[str, Any]]:
    data = jsonlib.dumps({"sender": sender, "message": message}).encode("utf-8")
    req = urllib.request.Request(  # noqa: S310 - configured URL
        f"{rasa_url}/webhooks/rest/webhook", data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=RASA_TIMEOUT_S) as resp:  # noqa: S310 - configured URL
        payload = jsonlib.loads(resp.read().decode("utf-8") or "[]")
    if not isinstance(payload, list):
        raise ValueError("Rasa answered with something other than a list of messages")
    out = []
    for item in payload:
        if not isinstance(item, dict):
            continue
        reply: dict[str, Any] = {"text": str(item.get("text") or "")}
        buttons = item.get("buttons")
        if isinstance(buttons, list):
            reply["buttons"] = [
                {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")}
                for b in buttons
                if isinstance(b, dict)
            ]
        if reply["text"] or reply.get("buttons"):
            out.append(reply)
    return out
