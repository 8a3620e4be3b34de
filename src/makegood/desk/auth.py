"""Who is asking, and may they: sessions, bearer tokens, CSRF and roles for the desk.

Pages use a session cookie: a random server-side session id from the AccountStore
(HttpOnly, SameSite=Strict). Every POST form carries the session's CSRF token in a
hidden field. The API takes `Authorization: Bearer <token>`, or the session cookie
plus an `X-CSRF-Token` header. The login form itself, before any session exists, is
protected by a double-submit token: a random cookie echoed in a hidden field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Optional

SESSION_COOKIE = "mg_session"
LOGIN_COOKIE = "mg_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

# Who may do what. The ledger re-checks every decision against its own rules.
COPILOT_ROLES = ("agent", "supervisor")
REVIEW_ROLES = ("reviewer", "supervisor", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

PUBLIC_EXACT = ("/login", "/health", "/chat", "/chat/send", "/favicon.ico")
PUBLIC_PREFIXES = ("/static/",)


@dataclass(frozen=True)
class Principal:
    """The signed-in person and how they proved it."""

    user: Any  # makegood.accounts.User
    via: str  # "session" | "bearer"
    session_id: Optional[str] = None
    csrf: Optional[str] = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` header; "" when the header is
    there but malformed (so a bad header is refused rather than ignored)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def identify(accounts: Any, *, authorization: Optional[str], session_id: Optional[str],
             allow_bearer: bool) -> Optional[Principal]:
    """The principal behind a request, or None. Blocking (database): call off the event loop.

    A bearer header, when present and allowed, decides alone: a wrong token does not fall
    back to the cookie. Inactive users are nobody.
    """
    if allow_bearer:
        token = bearer_token(authorization)
        if token is not None:
            user = accounts.user_for_token(token) if token else None
            return Principal(user, "bearer") if _active(user) else None
    if session_id:
        found = accounts.session(session_id)
        if found is not None:
            user, csrf = found
            if _active(user):
                return Principal(user, "session", session_id, csrf)
    return None


def _active(user: Any) -> bool:
    return user is not None and bool(getattr(user, "active", True))


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def cookie(response: Any, name: str, value: str, *, secure: bool, max_age: Optional[int] = None,
           path: str = "/") -> None:
    response.cookies[name] = value
    morsel = response.cookies[name]
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["path"] = path
    if secure:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age


def forget_cookie(response: Any, name: str, *, secure: bool, path: str = "/") -> None:
    cookie(response, name, "", secure=secure, max_age=0, path=path)


def safe_next(target: Optional[str], default: str = "/queue") -> str:
    """Only same-site paths: never `//evil.example` or `https://...` (open redirect)."""
    target = (target or "").strip()
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(ch) < 32 for ch in target) or target.startswith("/login")):
        return default
    return target
