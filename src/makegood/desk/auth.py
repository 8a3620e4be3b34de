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
from typing import Any

SESSION_COOKIE = "mg_session"
LOGIN_COOKIE = "mg_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

# Who may do what. The ledger re-checks every decision against its own rules.
COPILOT_ROLES = ("agent", "supervisor")
REVIEW_ROLES = ("reviewer", "supervisor", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

PUBLIC_EXACT = (
    "/login",
    "/health",
    "/chat",
    "/chat/send",
    "/chat/upload",
    "/chat/events",
    "/chat/rating",
    "/favicon.ico",
)
PUBLIC_PREFIXES = ("/static/",)


@dataclass(frozen=True)
class Principal:
    """The signed-in person and how they proved it."""

    user: Any  # makegood.accounts.User
    via: str  # "session" | "bearer"
    session_id: str | None = None
    csrf: str | None = None

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


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; "" when the header is
    there but malformed (so a bad header is refused rather than ignored)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def identify(
    accounts: Any, *, authorization: str | None, session_id: str | None, allow_bearer: bool
) -> Principal | None:
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


def cookie(response: Any, name: str, value: str, *, secure: bool, max_age: int | None = None, path: str = "/") -> None:
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


def safe_next(target: str | None, default: str = "/queue") -> str:
    """Only same-site paths: never `//evil.example` or `https://...` (open redirect)."""
    target = (target or "").strip()
    if (
        not target.startswith("/")
        or target.startswith(("//", "/login"))
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target


# -- transport security: Secure cookies off loopback, HSTS over TLS ---------------------------------
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto")
HSTS = "max-age=31536000"
SECURE_COOKIE_MODES = ("auto", "always", "never")


def _host_name(host: str | None) -> str:
    host = (host or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def over_tls(request: Any, trusted_proxies: tuple[str, ...] = ()) -> bool:
    """The browser reached us over HTTPS: TLS here, or X-Forwarded-Proto https from a proxy we trust."""
    if getattr(request, "scheme", "http") in ("https", "wss"):
        return True
    if trusted_proxies and getattr(request, "ip", None) in trusted_proxies:
        proto = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def on_loopback(request: Any) -> bool:
    """Served straight to this machine: a loopback Host and no proxy in between."""
    if any(request.headers.get(h) for h in FORWARDING_HEADERS):
        return False
    return _host_name(request.headers.get("host")) in LOOPBACK_HOSTS


def install_transport_security(
    app: Any, *, secure_cookies: str = "auto", trusted_proxies: tuple[str, ...] = ()
) -> None:
    """Mark every cookie Secure unless the desk is served on loopback (mode "auto"), always
    ("always") or never ("never", e.g. a plain-HTTP lab network); send HSTS over TLS."""
    if secure_cookies not in SECURE_COOKIE_MODES:
        raise ValueError(f"secure cookies must be one of {', '.join(SECURE_COOKIE_MODES)}, not {secure_cookies!r}")
    proxies = tuple(trusted_proxies)

    async def transport_security(request: Any, response: Any) -> None:
        tls = over_tls(request, proxies)
        if tls:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        secure = secure_cookies == "always" or (secure_cookies == "auto" and (tls or not on_loopback(request)))
        if secure:
            for morsel in response.cookies.values():
                morsel["secure"] = True

    app.register_middleware(transport_security, "response")
