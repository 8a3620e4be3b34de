"""User accounts: Argon2id passwords, API tokens and browser sessions, on the shared database.

    store = AccountStore(engine)            # the schema comes from `makegood.db.migrate`
    store.add_user("alice", "agent", "a long passphrase")
    store.authenticate("alice", "a long passphrase")   # -> User, or None
    sid, csrf = store.create_session("alice")
    store.session(sid)                                  # -> (User, csrf), or None once expired
    store.sign_in("alice", "...", "203.0.113.7")        # -> SignIn: throttled, audited (the desk's login)

Secrets handed out (API tokens, session ids) are returned once and stored only as their
sha256: a copy of the database does not let anyone in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from makegood.accounts import schema as t
from makegood.accounts.schema import ROLES
from makegood.accounts.throttle import (
    KeyState,
    ThrottlePolicy,
    account_key,
    address_key,
    after_failure,
    retry_after,
)
from makegood.db import session_factory, unit_of_work
from makegood.errors import MakegoodError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # Argon2 would take more, but nobody types this much: refuse instead of hashing megabytes
SESSION_HOURS = 8
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is written at most this often per token


class AccountError(MakegoodError):
    """An account operation was refused: bad name, role or password, unknown or duplicate user."""


@dataclass(frozen=True)
class User:
    name: str
    role: str  # agent | supervisor | reviewer | admin
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: `user` when it succeeded; otherwise `locked` says whether
    sign-in through this account or address is paused, for `retry_after` more seconds."""

    user: User | None
    locked: bool = False
    retry_after: int = 0  # seconds

    @property
    def ok(self) -> bool:
        return self.user is not None


@dataclass(frozen=True)
class TokenInfo:
    id: str  # the first TOKEN_ID_LENGTH hex digits of the token's sha256: names it, reveals nothing
    user_name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class SignInFailure:
    created_at: datetime
    user_name: str  # the name typed when it is a valid user name, else INVALID_NAME
    address: str
    reason: str  # password | unknown | inactive


TOKEN_ID_LENGTH = 12
INVALID_NAME = "-"  # what the audit keeps for a name that is not a user name (it may be a mistyped password)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def secret_hash(secret: str) -> str:
    """sha256 hex of a token or session id: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_id(token_hash: str) -> str:
    """A token's public id: the start of its sha256 (the stored hash)."""
    return token_hash[:TOKEN_ID_LENGTH]


def csrf_ok(expected: str, given: str | None) -> bool:
    """Does the CSRF token sent with a form match the session's? Constant-time."""
    if not expected or not given or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def normalise_name(name: object) -> str:
    return str(name or "").strip().lower()


def check_name(name: object) -> str:
    text = normalise_name(name)
    if not NAME_PATTERN.match(text):
        raise AccountError(
            f"invalid user name {str(name)!r}: 2 to 40 characters, lower-case letters, digits, "
            f"'.', '_' or '-', starting with a letter or digit"
        )
    return text


def check_role(role: object) -> str:
    text = str(role or "").strip().lower()
    if text not in ROLES:
        raise AccountError(f"unknown role {str(role)!r}; expected one of: {', '.join(ROLES)}")
    return text


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password can have at most {MAX_PASSWORD} characters")
    return password


def _user(row) -> User:
    return User(name=row["name"], role=row["role"], active=bool(row["active"]), created_at=row["created_at"])


class AccountStore:
    """Users, API tokens and sessions over an Engine (SQLite or PostgreSQL). Thread-safe:
    every call opens its own unit of work.

    `hasher`: an argon2 PasswordHasher (default: argon2-cffi's Argon2id defaults). Hashes made
    with other parameters still verify and are upgraded at the next successful login.
    `now`: the clock (tests move it to expire sessions).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        now: Callable[[], datetime] = _now,
        session_hours: float = SESSION_HOURS,
        throttle: ThrottlePolicy | None = None,
    ) -> None:
        self.engine = engine
        self.throttle = throttle or ThrottlePolicy()
        self.hasher = hasher or PasswordHasher()
        self.now = now
        self.session_lifetime = timedelta(hours=session_hours)
        self._write = session_factory(engine)
        self._read = session_factory(engine, read_only=True)
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    # -- users ------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        name = check_name(name)
        role = check_role(role)
        check_password(password)
        if self.get(name) is not None:
            raise AccountError(f"user {name} already exists")
        password_hash = self.hasher.hash(password)
        created_at = self.now()
        try:
            with unit_of_work(self._write) as s:
                s.execute(
                    insert(t.users).values(
                        name=name, role=role, password_hash=password_hash, active=True, created_at=created_at
                    )
                )
        except IntegrityError:  # someone added the same name a moment ago
            raise AccountError(f"user {name} already exists") from None
        return self._require(name)

    def get(self, name: str) -> User | None:
        with unit_of_work(self._read) as s:
            row = s.execute(select(t.users).where(t.users.c.name == normalise_name(name))).mappings().first()
            return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        with unit_of_work(self._read) as s:
            return [_user(r) for r in s.execute(select(t.users).order_by(t.users.c.name)).mappings()]

    def set_role(self, name: str, role: str) -> User:
        role = check_role(role)
        self._update_user(name, role=role)
        return self._require(name)

    def set_active(self, name: str, active: bool) -> User:
        """Deactivate (or reactivate) a user: an inactive user cannot log in, and their
        sessions and tokens stop working (they are kept for the record)."""
        self._update_user(name, active=bool(active))
        return self._require(name)

    def set_password(self, name: str, password: str) -> User:
        self._update_user(name, password_hash=self.hasher.hash(check_password(password)))
        return self._require(name)

    def remove_user(self, name: str) -> dict[str, int]:
        """Delete a user with their sessions, API tokens and sign-in counter. The ledger keeps
        the name on decisions already taken (it never refers to the accounts tables), and the
        audit of failed sign-ins keeps its rows."""
        key = normalise_name(name)
        with unit_of_work(self._write) as s:
            sessions = s.execute(delete(t.sessions).where(t.sessions.c.user_name == key)).rowcount
            tokens = s.execute(delete(t.api_tokens).where(t.api_tokens.c.user_name == key)).rowcount
            s.execute(delete(t.signin_throttle).where(t.signin_throttle.c.key == account_key(key)))
            if s.execute(delete(t.users).where(t.users.c.name == key)).rowcount != 1:
                raise AccountError(f"no user {str(name).strip()!r}")
        return {"sessions": sessions, "tokens": tokens}

    def _update_user(self, name: str, **values) -> None:
        key = normalise_name(name)
        with unit_of_work(self._write) as s:
            result = s.execute(update(t.users).where(t.users.c.name == key).values(**values))
            if result.rowcount != 1:
                raise AccountError(f"no user {str(name).strip()!r}")

    def _require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise AccountError(f"no user {str(name).strip()!r}")
        return user

    # -- passwords --------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User | None:
        """The user when `password` is theirs and they are active; None otherwise, taking
        about as long whether or not the name exists."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return None
        key = normalise_name(name)
        row = None
        if NAME_PATTERN.match(key):
            with unit_of_work(self._read) as s:
                row = s.execute(select(t.users).where(t.users.c.name == key)).mappings().first()
        if row is None:
            self._verify(self._dummy(), password)  # same work as for a real user
            return None
        if not self._verify(row["password_hash"], password) or not row["active"]:
            return None
        if self._needs_rehash(row["password_hash"]):
            with unit_of_work(self._write) as s:
                s.execute(update(t.users).where(t.users.c.name == key).values(password_hash=self.hasher.hash(password)))
        return _user(row)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return False

    def _dummy(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            return self._dummy_hash

    # -- throttled, audited sign-in ---------------------------------------------------------------
    def sign_in(self, name: str, password: str, address: str | None = None) -> SignIn:
        """`authenticate`, throttled per account and per address (see makegood.accounts.throttle)
        with the state in the database, so every process agrees; failures are audited in
        `signin_failures`. While a key is locked the password is not even looked at.
        This is what a login form must call; `authenticate` is the bare check."""
        key = normalise_name(name)
        valid_name = bool(NAME_PATTERN.match(key))
        keys = ([account_key(key)] if valid_name else []) + [k for k in [address_key(address)] if k]
        now = self.now()
        wait = self._locked_for(keys, now)
        if wait:
            return SignIn(None, locked=True, retry_after=wait)
        user = self.authenticate(name, password)
        if user is not None:
            if valid_name:
                with unit_of_work(self._write) as s:
                    s.execute(delete(t.signin_throttle).where(t.signin_throttle.c.key == account_key(key)))
            return SignIn(user)
        reason = self._failure_reason(key) if valid_name else "unknown"
        wait = self._record_failure(keys, key if valid_name else INVALID_NAME, address, reason, now)
        return SignIn(None, locked=wait > 0, retry_after=wait)

    def _locked_for(self, keys: list[str], now: datetime) -> int:
        if not keys:
            return 0
        with unit_of_work(self._read) as s:
            until = s.execute(
                select(func.max(t.signin_throttle.c.locked_until)).where(t.signin_throttle.c.key.in_(keys))
            ).scalar()
        return retry_after(until, now)

    def _failure_reason(self, key: str) -> str:
        user = self.get(key)
        return "unknown" if user is None else ("password" if user.active else "inactive")

    def _record_failure(self, keys: list[str], who: str, address: str | None, reason: str, now: datetime) -> int:
        """Audit one failure and count it against every key; seconds any key is now locked for."""
        wait = 0
        with unit_of_work(self._write) as s:
            s.execute(
                insert(t.signin_failures).values(
                    created_at=now, user_name=who[:40], address=str(address or "")[:64], reason=reason
                )
            )
            for k in keys:
                state = self._throttle_row(s, k)
                new = after_failure(self.throttle, k, state, now)
                s.execute(
                    update(t.signin_throttle)
                    .where(t.signin_throttle.c.key == k)
                    .values(failures=new.failures, last_failure_at=new.last_failure_at, locked_until=new.locked_until)
                )
                wait = max(wait, retry_after(new.locked_until, now))
        return wait

    @staticmethod
    def _throttle_row(s, key: str) -> KeyState | None:
        """The key's state, its row locked for this transaction (created empty if missing: an
        upsert, so two processes counting the first failure at once do not collide)."""
        dialect = s.get_bind().dialect.name
        blank = {"key": key, "failures": 0, "last_failure_at": None, "locked_until": None}
        if dialect == "postgresql":
            s.execute(pg_insert(t.signin_throttle).values(**blank).on_conflict_do_nothing())
        elif dialect == "sqlite":
            s.execute(sqlite_insert(t.signin_throttle).values(**blank).on_conflict_do_nothing())
        else:  # pragma: no cover - Makegood runs on SQLite and PostgreSQL
            if s.execute(select(t.signin_throttle.c.key).where(t.signin_throttle.c.key == key)).first() is None:
                s.execute(insert(t.signin_throttle).values(**blank))
        row = (
            s.execute(select(t.signin_throttle).where(t.signin_throttle.c.key == key).with_for_update())
            .mappings()
            .one()
        )
        if not row["failures"] and row["locked_until"] is None:
            return None
        return KeyState(row["failures"], row["last_failure_at"], row["locked_until"])

    def unlock(self, name: str) -> bool:
        """Clear an account's sign-in counter and lockout (an admin vouched for the person).
        True when there was one."""
        with unit_of_work(self._write) as s:
            return bool(
                s.execute(
                    delete(t.signin_throttle).where(t.signin_throttle.c.key == account_key(normalise_name(name)))
                ).rowcount
            )

    def signin_failures(self, name: str | None = None, limit: int = 50) -> list[SignInFailure]:
        """The newest failed sign-ins, optionally for one name."""
        query = select(t.signin_failures).order_by(t.signin_failures.c.id.desc()).limit(max(1, int(limit)))
        if name:
            query = query.where(t.signin_failures.c.user_name == normalise_name(name))
        with unit_of_work(self._read) as s:
            return [
                SignInFailure(r["created_at"], r["user_name"], r["address"], r["reason"])
                for r in s.execute(query).mappings()
            ]

    # -- API tokens -------------------------------------------------------------------------------
    def issue_token(self, name: str) -> str:
        """A new API token for an active user. Returned once; only its sha256 is stored."""
        user = self._require(name)
        if not user.active:
            raise AccountError(f"user {user.name} is inactive; no token issued")
        # A prefix, so a token never starts with '-' (argparse would read `--token -x…` as an option).
        token = "mg_" + secrets.token_urlsafe(32)
        with unit_of_work(self._write) as s:
            s.execute(
                insert(t.api_tokens).values(
                    token_hash=secret_hash(token), user_name=user.name, created_at=self.now(), last_used_at=None
                )
            )
        return token

    def user_for_token(self, token: str | None) -> User | None:
        if not token or not isinstance(token, str) or len(token) > 256:
            return None
        digest = secret_hash(token)
        with unit_of_work(self._read) as s:
            row = (
                s.execute(
                    select(t.users, t.api_tokens.c.last_used_at)
                    .join(t.api_tokens, t.api_tokens.c.user_name == t.users.c.name)
                    .where(t.api_tokens.c.token_hash == digest)
                )
                .mappings()
                .first()
            )
        if row is None or not row["active"]:
            return None
        now = self.now()
        if row["last_used_at"] is None or now - row["last_used_at"] >= TOKEN_TOUCH_INTERVAL:
            with unit_of_work(self._write) as s:
                s.execute(update(t.api_tokens).where(t.api_tokens.c.token_hash == digest).values(last_used_at=now))
        return _user(row)

    def revoke_tokens(self, name: str) -> int:
        """Remove every API token of a user; how many there were."""
        with unit_of_work(self._write) as s:
            return s.execute(delete(t.api_tokens).where(t.api_tokens.c.user_name == normalise_name(name))).rowcount

    def list_tokens(self, name: str) -> list[TokenInfo]:
        """A user's API tokens, oldest first, by id (never the token itself: it is not stored)."""
        user = self._require(name)
        with unit_of_work(self._read) as s:
            rows = (
                s.execute(
                    select(t.api_tokens)
                    .where(t.api_tokens.c.user_name == user.name)
                    .order_by(t.api_tokens.c.created_at, t.api_tokens.c.token_hash)
                )
                .mappings()
                .all()
            )
        return [TokenInfo(token_id(r["token_hash"]), r["user_name"], r["created_at"], r["last_used_at"]) for r in rows]

    def revoke_token(self, name: str, token_id_: str) -> None:
        """Remove one API token of a user, named by its id (`list_tokens`, `makegood users tokens`)."""
        user = self._require(name)
        wanted = str(token_id_ or "").strip().lower()
        if not re.fullmatch(rf"[0-9a-f]{{{TOKEN_ID_LENGTH}}}", wanted):
            raise AccountError(
                f"a token id is {TOKEN_ID_LENGTH} hex digits (see: makegood users tokens "
                f"{user.name}); got {str(token_id_)[:40]!r}"
            )
        with unit_of_work(self._write) as s:
            hashes = [
                h
                for h in s.execute(
                    select(t.api_tokens.c.token_hash).where(t.api_tokens.c.user_name == user.name)
                ).scalars()
                if token_id(h) == wanted
            ]
            if not hashes:
                raise AccountError(f"{user.name} has no token {wanted}")
            s.execute(delete(t.api_tokens).where(t.api_tokens.c.token_hash.in_(hashes)))

    # -- browser sessions -------------------------------------------------------------------------
    def create_session(self, name: str) -> tuple[str, str]:
        """(session id, CSRF token) for an active user, valid for `session_hours`."""
        user = self._require(name)
        if not user.active:
            raise AccountError(f"user {user.name} is inactive")
        session_id = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = self.now()
        with unit_of_work(self._write) as s:
            s.execute(
                insert(t.sessions).values(
                    id_hash=secret_hash(session_id),
                    user_name=user.name,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
        return session_id, csrf_token

    def session(self, session_id: str | None) -> tuple[User, str] | None:
        """(user, CSRF token) for a live session of an active user; None when unknown or expired."""
        if not session_id or not isinstance(session_id, str) or len(session_id) > 256:
            return None
        digest = secret_hash(session_id)
        with unit_of_work(self._read) as s:
            row = (
                s.execute(
                    select(t.users, t.sessions.c.csrf_token, t.sessions.c.expires_at)
                    .join(t.sessions, t.sessions.c.user_name == t.users.c.name)
                    .where(t.sessions.c.id_hash == digest)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        if row["expires_at"] <= self.now():
            self.end_session(session_id)
            return None
        if not row["active"]:
            return None
        return _user(row), row["csrf_token"]

    def end_session(self, session_id: str | None) -> None:
        if not session_id or not isinstance(session_id, str):
            return
        with unit_of_work(self._write) as s:
            s.execute(delete(t.sessions).where(t.sessions.c.id_hash == secret_hash(session_id)))

    def purge_expired_sessions(self) -> int:
        with unit_of_work(self._write) as s:
            return s.execute(delete(t.sessions).where(t.sessions.c.expires_at <= self.now())).rowcount


# -- demo accounts --------------------------------------------------------------------------------
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("alice", "agent", "alice-demo-pass"),
    ("bob", "agent", "bob-demo-pass"),
    ("sam", "supervisor", "sam-demo-pass"),
    ("rita", "reviewer", "rita-demo-pass"),
    ("ada", "admin", "ada-demo-pass"),
)


def seed_demo_accounts(store: AccountStore) -> list[tuple[str, str, str]]:
    """Create the demo users that do not exist yet. Safe to repeat: an existing user is left
    alone (a changed password stays changed). Returns (name, role, password) for the users
    created now or that still log in with the demo password."""
    shown: list[tuple[str, str, str]] = []
    for name, role, password in DEMO_ACCOUNTS:
        existing = store.get(name)
        if existing is None:
            try:
                store.add_user(name, role, password)
                shown.append((name, role, password))
                continue
            except AccountError:
                existing = store.get(name)  # created concurrently: treat as existing
                if existing is None:
                    raise
        user = store.authenticate(name, password)
        if user is not None:
            shown.append((user.name, user.role, password))
    return shown
