"""Whose chat is it: a customer token the website signs, and the binding it gives a conversation.

    token = sign("C-1001", secret, ttl=timedelta(hours=8))      # the website, server-side
    verify(token, secret)                                        # -> "C-1001", or raises BadToken

A token is `v1.<payload>.<mac>`: the payload is base64url JSON `{"sub": customer id, "exp":
unix seconds}`, the mac HMAC-SHA256 over `v1.<payload>` with the configured secret. It travels
as message metadata (`customer_token`) on REST and socket.io. The first valid token of a
conversation binds it; a later token naming someone else is ignored and logged, so neither
metadata nor a typed `/intent{...}` can move a chat onto another customer's account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from makegood.errors import MakegoodError

log = logging.getLogger(__name__)

VERSION = "v1"
METADATA_KEY = "customer_token"
DEFAULT_TTL = timedelta(hours=8)
MAX_TTL = timedelta(days=31)
MAX_TOKEN_CHARS = 1024
MIN_SECRET_BYTES = 16


class BadToken(MakegoodError):
    """A customer token that is malformed, forged or expired: the chat stays anonymous."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, signed: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest())


def check_secret(secret: str | None) -> str:
    if not secret or len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise MakegoodError(
            f"the identity secret must be at least {MIN_SECRET_BYTES} bytes: set MAKEGOOD_IDENTITY_SECRET "
            "(scripts/env.sh generates one into var/identity-secret)"
        )
    return secret


def sign(customer_id: str, secret: str, *, ttl: timedelta = DEFAULT_TTL, now: float | None = None) -> str:
    customer_id = (customer_id or "").strip()
    if not customer_id or len(customer_id) > 64:
        raise MakegoodError("a customer id is 1 to 64 characters")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise MakegoodError(f"a token lives more than 0 seconds and at most {MAX_TTL.days} days")
    expires = int((time.time() if now is None else now) + ttl.total_seconds())
    payload = _b64(json.dumps({"sub": customer_id, "exp": expires}, separators=(",", ":")).encode("utf-8"))
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_mac(check_secret(secret), signed)}"


def verify(token: object, secret: str | None, *, now: float | None = None) -> str:
    """The customer id the token was signed for. Raises BadToken, never anything else."""
    if not secret:
        raise BadToken("no identity secret is configured, so no token can be trusted")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise BadToken("not a token")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise BadToken("not a v1 token")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, signed), parts[2]):
        raise BadToken("the signature does not match")
    try:
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise BadToken("the payload is not readable") from None
    subject, expires = (claims.get("sub"), claims.get("exp")) if isinstance(claims, dict) else (None, None)
    if not isinstance(subject, str) or not subject or not isinstance(expires, int):
        raise BadToken("the payload lacks a customer or an expiry")
    if expires <= (time.time() if now is None else now):
        raise BadToken("the token has expired")
    return subject


@dataclass(frozen=True)
class Binding:
    """The customer a conversation belongs to (None: anonymous), and whether a later token
    tried to name someone else."""

    customer_id: str | None
    refused: tuple[str, ...] = ()


def bind(tokens: Iterable[object], secret: str | None, *, now: float | None = None) -> Binding:
    """Read the conversation's tokens in order: the first valid one binds."""
    bound: str | None = None
    refused: list[str] = []
    for token in tokens:
        if token in (None, ""):
            continue
        try:
            customer = verify(token, secret, now=now)
        except BadToken:
            continue
        if bound is None:
            bound = customer
        elif customer != bound and customer not in refused:
            refused.append(customer)
    return Binding(bound, tuple(refused))
