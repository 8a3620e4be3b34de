"""The customer web chat: a public page and a small proxy to Rasa's REST channel.

    GET  /chat[?token=…]          the page; a website that embeds it passes its customer's token
    GET  /chat?customer=C-1001    demo sign-in only: the desk signs a demo customer's token
    POST /chat/send {"sender": "web-…", "message": "…", "customer_token"?: "…"}
         -> {"messages": [{"text", "buttons"?}], "rate": bool}

The proxy forwards to `{rasa_url}/webhooks/rest/webhook`, the token as message metadata (the
bot trusts only a valid one: docs/identity.md). No desk sign-in: this is the customer's side.
`rate` says a case of this chat has closed and may be rated (POST /chat/rating).
Rasa unreachable -> 503 with a polite message the page shows.
"""

from __future__ import annotations

import json as jsonlib
import logging
import urllib.request
from typing import Any

from sanic.response import HTTPResponse, json

from makegood.desk.context import blocking, desk_of
from makegood.desk.customer_side import SENDER, customer_of_token
from makegood.desk.feedback import can_rate

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000
RASA_TIMEOUT_S = 30
UNAVAILABLE = (
    "Sorry, our assistant can't be reached right now. Please try again in a few minutes, or contact us another way."
)


def register(app: Any) -> None:
    app.add_route(chat_page, "/chat", methods=["GET"])
    app.add_route(chat_send, "/chat/send", methods=["POST"])


async def chat_page(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    demo = bool(getattr(request.app.ctx, "demo_sign_in", False))
    token, customer, customers = "", None, []
    given = request.args.get("token")
    if given and customer_of_token(desk, given):
        token, customer = given, customer_of_token(desk, given)
    elif demo:
        customers = await blocking(_demo_customers)
        wanted = (request.args.get("customer") or "").strip().upper()
        if wanted in {c["id"] for c in customers} and desk.services().identity_secret:
            from makegood.customers.identity import sign

            token, customer = sign(wanted, desk.services().identity_secret), wanted
    return desk.render(
        request,
        "chat.html",
        title="Chat with us",
        public=True,
        customer_token=token,
        customer=customer,
        demo_customers=customers,
    )


def _demo_customers() -> list[dict[str, str]]:
    from datetime import date

    from makegood.customers import demo_data

    customers, _, _ = demo_data(date.today())
    return [{"id": c.id, "name": c.name, "membership": c.membership} for c in customers]


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
    token = body.get("customer_token")
    if token is not None and (not isinstance(token, str) or len(token) > 1024):
        return json({"error": "customer_token, when given, is the text of a token"}, status=400)
    metadata = {"customer_token": token} if token else {}
    try:
        replies = await blocking(_post_to_rasa, desk.rasa_url, sender, message.strip(), metadata)
    except (OSError, ValueError) as exc:
        log.warning("Rasa at %s unreachable: %s", desk.rasa_url, exc)
        return json({"error": UNAVAILABLE}, status=503)
    return json({"messages": replies, "rate": await blocking(can_rate, desk, sender)})


def _post_to_rasa(
    rasa_url: str, sender: str, message: str, metadata: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    data = jsonlib.dumps({"sender": sender, "message": message, "metadata": metadata or {}}).encode("utf-8")
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
