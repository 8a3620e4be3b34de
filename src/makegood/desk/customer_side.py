"""What the customer's routes (/chat, /chat/send, /chat/rating, /chat/upload) share: the sender
id rule, and whose chat a signed customer token says it is."""

from __future__ import annotations

import re
from typing import Any

from makegood.customers.identity import BadToken, verify

SENDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def customer_of_token(desk: Any, token: object) -> str | None:
    """The customer a chat page's signed token names, or None (no token, forged, expired)."""
    if token in (None, ""):
        return None
    try:
        return verify(token, desk.services().identity_secret)
    except BadToken:
        return None
