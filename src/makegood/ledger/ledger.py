"""The proposal ledger: every proposal, every decision on it, and a tamper-evident audit chain.

Every write runs in one unit of work that also appends its audit events, so a proposal,
a decision or a review never exists without the event that vouches for it.

Audit chain. `audit_events` is append-only: event n stores prev_hash (event n-1's hash,
"0"*64 for the first) and hash = sha256(prev_hash + kind + payload + row_digest), where
payload is canonical JSON of the row as written (plus what changed) and row_digest is
sha256 of the canonical row. `verify()` recomputes all of it and compares every current
row with the last event written for it.

Optimistic concurrency. A decision (or a bot update) reads the proposal, applies the
rules, then writes with `UPDATE proposals SET ..., version = version + 1
WHERE id = :id AND version = :seen`. If someone else changed the proposal in between,
no row matches and DecisionConflict tells the person to reload. Every decision bumps
the version, so two agents co-signing at once cannot both count as "the first".

Attachments. A customer's photo is recorded (`record_attachment`) with an `attachment_added`
event in the same unit of work, so verify() covers it like any other row; the bytes themselves
live outside the database (makegood.services.attachments), named by the sha256 recorded here.
"""

from __future__ import annotations

import builtins  # `list` in the class body below is Ledger.list
import json
import random
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select, text, tuple_, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from makegood.db import is_sqlite, make_engine, session_factory, unit_of_work
from makegood.db import migrate as run_migrations
from makegood.errors import CaseError, DecisionConflict, LedgerError, StoreUnavailable
from makegood.ledger import schema as t
from makegood.ledger.appender import GroupCommit
from makegood.ledger.canonical import (
    GENESIS_HASH,
    audit_record,
    chain_hash,
    plain,
    row_digest,
    row_snapshot,
)
from makegood.ledger.model import (
    ACCEPTED,
    APPROVED,
    LOGGABLE_STATUSES,
    OFFERED,
    PENDING,
    Decision,
    Proposal,
    ProposalIn,
    Review,
    VerifyReport,
)
from makegood.ledger.rules import AGREEING, judge, same_person
from makegood.metrics import PROPOSALS, situation_label
from makegood.policy.tiers import Tier

GRANTED_STATUSES = (ACCEPTED, APPROVED)  # a proposal in one of these has given the customer something
GrantHook = Callable[[Session, Mapping[str, Any]], None]

# PostgreSQL: appends to the chain are serialised with a transaction-scoped advisory lock
# taken just before reading the last event. We chose it over `SELECT ... FOR UPDATE` on the
# last row because it also covers the empty table (two first writers would otherwise both
# see "no last row" and fork the chain at genesis) and it never blocks readers. It is held
# until commit or rollback, so the next writer reads the hash this one wrote (READ COMMITTED:
# each statement sees what was committed before it started). Row writes of a unit of work
# always come before its appends, so the lock is the last one taken: no deadlock cycle.
# SQLite: write units of work begin with BEGIN IMMEDIATE (makegood.db): the database's one
# write lock serialises them, the chain included.
# The lock is keyed by the current schema as well: ledgers in different schemas of one
# database (tests, tenants) have separate chains and need not wait for each other.
CHAIN_LOCK_KEY = 0x4D47_4155  # "MGAU"

# Group commit (log_proposal): at most this many proposals per transaction (PostgreSQL caps a
# statement at 65,535 parameters; a proposal row has 20).
MAX_GROUP = 500
DISPOSE_TIMEOUT_S = 30.0

PUBLIC_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud on the phone
PUBLIC_ID_LENGTH = 6
VERDICTS = ("upheld", "overturned")

_TABLES = {"proposals": t.proposals, "decisions": t.decisions, "reviews": t.reviews, "attachments": t.attachments}
OPEN_STATUSES = (OFFERED, PENDING)  # a case still being settled: where a photo the customer sends belongs


def _now() -> datetime:
    return datetime.now(timezone.utc)


def normalise_public_id(public_id: str) -> str:
    """'p-7f3k2q', '7F3K2Q' -> 'P-7F3K2Q'."""
    text_id = str(public_id or "").strip().upper()
    if text_id and not text_id.startswith("P-"):
        text_id = "P-" + text_id
    return text_id


def _required_text(value: Any, what: str, max_len: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # turn numbers
    if not isinstance(value, str) or not value.strip():
        raise LedgerError(f"a proposal needs a {what}; got {value!r}")
    value = value.strip()
    if len(value) > max_len:
        raise LedgerError(f"the {what} is too long ({len(value)} characters; at most {max_len})")
    return value


def _tier(value: Any) -> Tier:
    try:
        return value if isinstance(value, Tier) else Tier.parse(value)
    except CaseError as exc:
        raise LedgerError(str(exc)) from None


class Ledger:
    """The proposal ledger over an Engine (SQLite or PostgreSQL). Thread-safe: every call
    opens its own unit of work."""

    def __init__(self, engine: Engine, on_grant: GrantHook | None = None) -> None:
        self.engine = engine
        # Called inside the transaction that makes a proposal accepted or approved, after the
        # proposal's row is written: it may refuse (raise), and then nothing is written at all.
        self.on_grant = on_grant
        self._write = session_factory(engine)
        self._read = session_factory(engine, read_only=True)
        # log_proposal's writes, committed in groups: one group in flight at a time per ledger.
        self._appender: GroupCommit[Mapping[str, Any]] = GroupCommit(
            self._log_group, self._write_failed, max_group=MAX_GROUP
        )

    @classmethod
    def from_url(cls, url: str | URL, migrate: bool = True, on_grant: GrantHook | None = None) -> Ledger:
        engine = make_engine(url)
        if migrate:
            run_migrations(engine)
        return cls(engine, on_grant=on_grant)

    def _granting(self, s: Session, before: str | None, stored: Mapping[str, Any]) -> None:
        if self.on_grant is not None and stored["status"] in GRANTED_STATUSES and before not in GRANTED_STATUSES:
            self.on_grant(s, stored)

    def dispose(self, timeout: float = DISPOSE_TIMEOUT_S) -> None:
        """Flush: wait until every proposal handed in so far is committed (or has failed its
        caller), then close the engine's pooled connections. Writes still queued after
        `timeout` seconds fail their callers with a LedgerError; none is dropped unanswered."""
        self._appender.flush(timeout)
        self.engine.dispose()

    # -- logging ----------------------------------------------------------------------------------
    def log_proposal(self, p: ProposalIn) -> Proposal:
        """Store a proposal; idempotent on (conversation_id, turn_key).

        Returns the stored Proposal with `created=True` when this call inserted it, and the
        proposal already stored under that key, unchanged, with `created=False` otherwise.
        Returns only once the proposal and its audit event are committed. Concurrent calls
        are committed together, one transaction per group (see `_log_group`).
        """
        values = self._validated(p)
        for _attempt in range(5):
            result = self._appender.submit(values)
            if result is _AGAIN:  # the same turn was logged earlier in the same group: it is stored now
                continue
            if result.created:
                PROPOSALS.labels(situation_label(result.situation), result.tier_required, result.status).inc()
            return result
        raise LedgerError(
            f"could not log the proposal for conversation {values['conversation_id']!r} "
            f"turn {values['turn_key']!r}: it kept colliding with concurrent writes"
        )

    # -- group commit of log_proposal -------------------------------------------------------------
    def _log_group(self, items: Sequence[Mapping[str, Any]]) -> builtins.list[Any]:
        """Store a group of validated proposals in one transaction; one outcome per item, in
        order: the Proposal, _AGAIN, or the exception the grant hook raised for that item.
        Raises (and nothing of the group is written) when the database fails."""
        for _attempt in range(5):
            try:
                return self._write_group(items)
            except IntegrityError:
                # Another writer (another process) logged one of these turns, or drew one of our
                # public ids, a moment ago: the whole group is rolled back and tried again.
                continue
        raise _Collided()

    def _write_group(self, items: Sequence[Mapping[str, Any]]) -> builtins.list[Any]:
        outcomes: builtins.list[Any] = [None] * len(items)
        phase = ["writing"]
        try:
            with unit_of_work(self._write) as s:
                keys = [(v["conversation_id"], v["turn_key"]) for v in items]
                existing = {
                    (row["conversation_id"], row["turn_key"]): row
                    for row in s.execute(
                        select(t.proposals).where(
                            tuple_(t.proposals.c.conversation_id, t.proposals.c.turn_key).in_(sorted(set(keys)))
                        )
                    ).mappings()
                }
                new: builtins.list[int] = []
                already: builtins.list[int] = []
                claimed: set[tuple[str, str]] = set()
                for i, key in enumerate(keys):
                    if key in existing:
                        already.append(i)
                    elif key in claimed:
                        outcomes[i] = _AGAIN
                    else:
                        claimed.add(key)
                        new.append(i)
                if already:
                    for i, found in zip(already, self._proposals(s, [existing[keys[i]] for i in already]), strict=True):
                        outcomes[i] = found
                rows: builtins.list[tuple[int, dict[str, Any]]] = []
                for i, public_id in zip(new, self._new_public_ids(s, len(new)), strict=True):
                    now = _now()
                    rows.append((i, dict(items[i], public_id=public_id, version=1, created_at=now, updated_at=now)))
                hooked = [
                    (i, row) for i, row in rows if self.on_grant is not None and row["status"] in GRANTED_STATUSES
                ]
                plain_rows = [
                    (i, row) for i, row in rows if self.on_grant is None or row["status"] not in GRANTED_STATUSES
                ]
                stored: dict[int, dict[str, Any]] = {}
                if plain_rows:
                    inserted = self._insert_proposals(s, [row for _, row in plain_rows])
                    stored.update(zip([i for i, _ in plain_rows], inserted, strict=True))
                for i, row in hooked:
                    # A savepoint per granting proposal: a refused grant (LimitReached) fails that
                    # caller alone and leaves the rest of the group to commit.
                    try:
                        with s.begin_nested():
                            (granted,) = self._insert_proposals(s, [row])
                            self._granting(s, None, granted)
                    except sa_exc.SQLAlchemyError:
                        raise
                    except Exception as refused:  # noqa: BLE001 - the hook's refusal goes to its own caller
                        outcomes[i] = refused
                        continue
                    stored[i] = granted
                order = sorted(stored)  # the chain follows the order the callers handed their writes in
                if order:
                    # Row writes first, then the chain lock and the appends (see CHAIN_LOCK_KEY).
                    last_id, prev_hash = self._chain_head(s)
                    events = []
                    for n, i in enumerate(order, start=last_id + 1):
                        row = stored[i]
                        event = _event(
                            n, prev_hash, "proposal_logged", row, "proposals", row, {"status": row["status"]}
                        )
                        events.append(event)
                        prev_hash = event["hash"]
                    s.execute(insert(t.audit_events), events)
                phase[0] = "committing"  # leaving the block commits
        except sa_exc.SQLAlchemyError as exc:
            if isinstance(exc, IntegrityError) and phase[0] == "writing":
                raise
            raise _GroupFailed(exc, committing=phase[0] == "committing") from exc
        for i in order:
            outcomes[i] = _to_proposal(stored[i], [], [], created=True)
        return outcomes

    def _insert_proposals(self, s: Session, rows: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Insert rows (one statement) and read them back as stored, in the same order."""
        if is_sqlite(s):  # SQLAlchemy 1.4 has no RETURNING for SQLite: read the new ids back
            s.execute(insert(t.proposals), builtins.list(rows))
            # The public ids were checked free under the writer lock this transaction holds. The
            # row as stored is the row as inserted plus its id: SQLite keeps JSON text, strings and
            # microsecond timestamps as given, and every value was made plain JSON by _validated
            # (verify() would report any difference as an edited row).
            ids = dict(
                s.execute(
                    select(t.proposals.c.public_id, t.proposals.c.id).where(
                        t.proposals.c.public_id.in_([row["public_id"] for row in rows])
                    )
                ).all()
            )
            return [dict(row, id=ids[row["public_id"]]) for row in rows]
        # PostgreSQL: one executemany (psycopg2's execute_values) RETURNING every column as stored
        # (JSONB may spell a number differently from how it was sent).
        result = s.execute(insert(t.proposals).returning(*t.proposals.c), builtins.list(rows))
        by_public_id = {row["public_id"]: dict(row) for row in result.mappings()}
        return [by_public_id[row["public_id"]] for row in rows]

    def _write_failed(self, values: Mapping[str, Any], exc: BaseException) -> BaseException:
        """What one caller of a failed group is told: its own exception, naming its proposal."""
        what = f"the proposal for conversation {values['conversation_id']!r} turn {values['turn_key']!r}"
        error: BaseException
        if isinstance(exc, _Collided):
            error = LedgerError(f"could not log {what}: it kept colliding with concurrent writes")
        elif isinstance(exc, _GroupFailed):
            reason = _db_reason(exc.error)
            # The connection broke (server gone, network): StoreUnavailable, as when it cannot be reached.
            unreachable = isinstance(exc.error, sa_exc.DBAPIError) and exc.error.connection_invalidated
            kind = StoreUnavailable if unreachable else LedgerError
            if exc.committing:
                error = kind(
                    f"{what} may not have been stored: the database failed while committing it ({reason}); "
                    f"logging it again is safe, a conversation turn is never stored twice"
                )
            else:
                error = kind(f"{what} was not stored: the database failed ({reason}); nothing of it was written")
        elif isinstance(exc, StoreUnavailable):
            error = StoreUnavailable(str(exc))
        elif isinstance(exc, TimeoutError):
            error = LedgerError(f"{what} was not stored: {exc}")
        elif isinstance(exc, LedgerError):
            error = LedgerError(str(exc))
        elif isinstance(exc, Exception):  # a bug: it surfaces as one, in every caller
            error = RuntimeError(f"{what} was not stored: {type(exc).__name__}: {exc}")
        else:
            error = LedgerError(f"{what} was not stored: the process was interrupted ({type(exc).__name__})")
        error.__cause__ = exc
        return error

    def _validated(self, p: ProposalIn) -> dict[str, Any]:
        situation = _required_text(p.situation, "situation", 64)
        status = str(p.status or "").strip().lower()
        if status not in LOGGABLE_STATUSES:
            raise LedgerError(
                f"a proposal is logged as offered, accepted or pending, not {p.status!r}; "
                f"approved and rejected come from decisions"
            )
        tier = _tier(p.tier_required)
        if p.facts is not None and not isinstance(p.facts, Mapping):
            raise LedgerError(f"facts must be a mapping of fact name to value, got {type(p.facts).__name__}")
        if p.context is not None and not isinstance(p.context, Mapping):
            raise LedgerError(f"context must be a mapping, got {type(p.context).__name__}")
        if isinstance(p.options_offered, (str, bytes, Mapping)):
            raise LedgerError("options_offered must be a list of options")
        values = {
            "conversation_id": _required_text(p.conversation_id, "conversation id", 128),
            "turn_key": _required_text(p.turn_key, "turn key", 128),
            "channel": _required_text(p.channel, "channel", 32),
            "situation": situation,
            "customer_id": (p.customer_id or None) and _required_text(p.customer_id, "customer id", 32),
            "order_id": (p.order_id or None) and _required_text(p.order_id, "order id", 32),
            "facts": plain(dict(p.facts or {}), "facts"),
            "options_offered": plain(list(p.options_offered or ()), "options_offered"),
            "option_chosen": plain(p.option_chosen, "option_chosen"),
            "customer_ask": plain(p.customer_ask, "customer_ask"),
            "context": plain(dict(p.context or {}), "context"),
            "policy_version": _required_text(p.policy_version, "policy version", 64),
            "tier_required": tier.value,
            "requested_by": _required_text(p.requested_by, 'requester ("bot" or an agent\'s name)', 128),
            "status": status,
        }
        if status == ACCEPTED and values["option_chosen"] is None:
            raise LedgerError("an accepted proposal needs the option the customer chose (option_chosen)")
        return values

    def _new_public_ids(self, s: Session, n: int) -> builtins.list[str]:
        """`n` distinct public ids no stored proposal has (one query per draw)."""
        chosen: builtins.list[str] = []
        while len(chosen) < n:
            candidates = {_draw_public_id() for _ in range(n - len(chosen))} - set(chosen)
            taken = set(
                s.execute(select(t.proposals.c.public_id).where(t.proposals.c.public_id.in_(sorted(candidates))))
                .scalars()
                .all()
            )
            chosen.extend(c for c in sorted(candidates) if c not in taken)
        return chosen

    # -- the bot's later turns --------------------------------------------------------------------
    def update_proposal(
        self,
        public_id: str,
        *,
        option_chosen: Any = None,
        status: str | None = None,
        context_patch: Mapping[str, Any] | None = None,
        tier_required: Any = None,
        customer_ask: Any = None,
        expected_version: int | None = None,
    ) -> Proposal:
        """The customer chose an offer, asked for something, or the case is handed off.

        None means "leave as is". `context_patch` is merged key by key into the context.
        The status may move offered -> offered/accepted/pending (pending -> pending for a
        context patch); approved and rejected only come from `decide`. The chosen option,
        the ask and the tier can change only while the proposal is still offered.
        Same optimistic concurrency as `decide` (DecisionConflict when it changed meanwhile).
        """
        current = self.get(public_id)
        pid = current.public_id
        changes: dict[str, Any] = {}
        if status is not None:
            new_status = str(status).strip().lower()
            if new_status not in LOGGABLE_STATUSES:
                raise LedgerError(
                    f"{pid} cannot be set to {status!r} here: approved and rejected come from "
                    f"decisions, and the statuses the bot sets are offered, accepted and pending"
                )
            if new_status != current.status:
                if current.status != OFFERED:
                    raise LedgerError(f"{pid} is {current.status}: its status can no longer be changed by the bot")
                changes["status"] = new_status
        for name, value in (("option_chosen", option_chosen), ("customer_ask", customer_ask)):
            if value is not None:
                stored = plain(value, name)
                if stored != getattr(current, name):
                    if current.status != OFFERED:
                        raise LedgerError(
                            f"{pid} is {current.status}: its {name.replace('_', ' ')} can no longer change"
                        )
                    changes[name] = stored
        if tier_required is not None:
            tier = _tier(tier_required)
            if tier.value != current.tier_required:
                if current.status != OFFERED:
                    raise LedgerError(f"{pid} is {current.status}: its tier can only change by escalation")
                changes["tier_required"] = tier.value
        if context_patch:
            if not isinstance(context_patch, Mapping):
                raise LedgerError(f"context_patch must be a mapping, got {type(context_patch).__name__}")
            merged = dict(current.context)
            merged.update(plain(dict(context_patch), "context_patch"))
            if merged != current.context:
                changes["context"] = merged
        if changes.get("status") == ACCEPTED and changes.get("option_chosen", current.option_chosen) is None:
            raise LedgerError(f"{pid} cannot be accepted without the option the customer chose (option_chosen)")
        if not changes:
            return current
        seen = self._seen_version(current, expected_version)
        with unit_of_work(self._write) as s:
            now = _now()
            row_id = self._update_versioned(
                s,
                current,
                seen,
                dict(changes, updated_at=now),
                f"{pid} was changed by someone else a moment ago; reload it",
            )
            stored = self._proposal_row(s, row_id)
            self._granting(s, current.status, stored)
            change = {
                "fields": sorted(changes),
                "status": [current.status, stored["status"]],
                "version": stored["version"],
            }
            self._append(s, "status_changed", stored, "proposals", stored, change, now)
            return self._proposal(s, stored)

    # -- reading ----------------------------------------------------------------------------------
    def get(self, public_id: str) -> Proposal:
        pid = normalise_public_id(public_id)
        with unit_of_work(self._read) as s:
            row = s.execute(select(t.proposals).where(t.proposals.c.public_id == pid)).mappings().first()
            if row is None:
                raise LedgerError(f"no proposal {pid or repr(public_id)}")
            return self._proposal(s, row)

    def find(self, conversation_id: str, turn_key: str) -> Proposal | None:
        """The proposal logged for this conversation turn, if any."""
        with unit_of_work(self._read) as s:
            row = self._find_row(s, conversation_id, turn_key)
            return None if row is None else self._proposal(s, row)

    def list(
        self,
        status: str | None = None,
        situation: str | None = None,
        conversation_id: str | None = None,
        limit: int = 50,
        *,
        customer_id: str | None = None,
    ) -> list[Proposal]:
        """Proposals, newest first."""
        query = select(t.proposals)
        if status:
            query = query.where(t.proposals.c.status == status.strip().lower())
        if situation:
            query = query.where(t.proposals.c.situation == situation.strip())
        if conversation_id:
            query = query.where(t.proposals.c.conversation_id == conversation_id)
        if customer_id:
            query = query.where(t.proposals.c.customer_id == customer_id)
        query = query.order_by(t.proposals.c.created_at.desc(), t.proposals.c.id.desc()).limit(max(0, int(limit)))
        with unit_of_work(self._read) as s:
            rows = s.execute(query).mappings().all()
            return self._proposals(s, rows)

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(t.proposals)
        if status:
            query = query.where(t.proposals.c.status == status)
        with unit_of_work(self._read) as s:
            return int(s.execute(query).scalar_one())

    def counts(self) -> dict[str, int]:
        """Proposals by status, plus "total"."""
        query = select(t.proposals.c.status, func.count()).group_by(t.proposals.c.status)
        with unit_of_work(self._read) as s:
            by_status = {status: int(n) for status, n in s.execute(query).all()}
        by_status["total"] = sum(by_status.values())
        return by_status

    # -- deciding ---------------------------------------------------------------------------------
    def decide(
        self,
        public_id: str,
        actor: str,
        role: str,
        decision: str,
        note: str = "",
        *,
        expected_version: int | None = None,
    ) -> Proposal:
        """Approve, co-sign, reject or escalate a pending proposal (rules in ledger.rules).

        `expected_version`: the version the person was looking at. When given and the
        proposal has changed since, DecisionConflict. Either way the write only succeeds
        if nobody changed the proposal between this call's read and its write.
        """
        current = self.get(public_id)
        seen = self._seen_version(current, expected_version, decided=True)
        outcome = judge(current, actor, role, decision, note)
        pid = current.public_id
        with unit_of_work(self._write) as s:
            now = _now()
            values = {"status": outcome.status, "tier_required": outcome.tier_required.value, "updated_at": now}
            row_id = self._update_versioned(
                s, current, seen, values, f"{pid} was decided by someone else a moment ago; reload it"
            )
            decision_pk = s.execute(
                insert(t.decisions).values(
                    proposal_id=row_id,
                    actor=outcome.actor,
                    role=outcome.role,
                    decision=outcome.decision,
                    tier=current.tier_required,
                    note=outcome.note,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            decision_row = self._row(s, t.decisions, decision_pk)
            stored = self._proposal_row(s, row_id)
            self._granting(s, current.status, stored)
            # Row writes first, then the appends (see CHAIN_LOCK_KEY).
            self._append(s, "decision", stored, "decisions", decision_row, None, now)
            change = {
                "status": [current.status, stored["status"]],
                "tier_required": [current.tier_required, stored["tier_required"]],
                "version": stored["version"],
                "decision_id": decision_pk,
            }
            self._append(s, "status_changed", stored, "proposals", stored, change, now)
            return self._proposal(s, stored)

    def _seen_version(self, current: Proposal, expected: int | None, decided: bool = False) -> int:
        if expected is not None and int(expected) != current.version:
            what = "decided" if decided else "changed"
            raise DecisionConflict(f"{current.public_id} was {what} by someone else a moment ago; reload it")
        return current.version

    def _update_versioned(self, s: Session, current: Proposal, seen: int, values: dict[str, Any], conflict: str) -> int:
        row_id = s.execute(select(t.proposals.c.id).where(t.proposals.c.public_id == current.public_id)).scalar()
        if row_id is None:
            raise LedgerError(f"no proposal {current.public_id}")
        result = s.execute(
            update(t.proposals)
            .where(t.proposals.c.id == row_id, t.proposals.c.version == seen)
            .values(**values, version=t.proposals.c.version + 1)
        )
        if result.rowcount != 1:
            raise DecisionConflict(conflict)
        return row_id

    # -- reviews ----------------------------------------------------------------------------------
    def review_sample(self, n: int, seed: int | None = None) -> builtins.list[Proposal]:
        """Up to `n` approved peer-tier proposals nobody has reviewed yet, drawn at random
        (the same draw for the same seed and the same ledger)."""
        reviewed = select(t.reviews.c.proposal_id)
        query = (
            select(t.proposals.c.id)
            .where(
                t.proposals.c.status == APPROVED,
                t.proposals.c.tier_required == Tier.PEER.value,
                t.proposals.c.id.not_in(reviewed),
            )
            .order_by(t.proposals.c.id)
        )
        with unit_of_work(self._read) as s:
            candidates = list(s.execute(query).scalars())
            draw = random.Random(seed)  # noqa: S311 - a reproducible audit sample (same seed, same draw), no secret
            chosen = draw.sample(candidates, min(max(0, int(n)), len(candidates)))
            if not chosen:
                return []
            rows = s.execute(select(t.proposals).where(t.proposals.c.id.in_(chosen))).mappings().all()
            by_id = {row["id"]: row for row in rows}
            return self._proposals(s, [by_id[i] for i in chosen])

    def record_review(self, public_id: str, reviewer: str, verdict: str, note: str = "") -> Proposal:
        """A reviewer's verdict on an approved peer-tier proposal: upheld or overturned
        (overturned needs a note). One review per proposal; nobody reviews their own decision."""
        reviewer = (reviewer or "").strip()
        verdict = (verdict or "").strip().lower()
        note = (note or "").strip()
        pid = normalise_public_id(public_id)
        if not reviewer:
            raise LedgerError("a review needs the reviewer's name")
        if verdict not in VERDICTS:
            raise LedgerError(f"unknown verdict {verdict!r}; expected upheld or overturned")
        if verdict == "overturned" and not note:
            raise LedgerError(f"overturning {pid} needs a note saying what should have been decided")
        with unit_of_work(self._write) as s:
            # FOR UPDATE (PostgreSQL) so two reviewers of the same proposal take turns.
            row = (
                s.execute(select(t.proposals).where(t.proposals.c.public_id == pid).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise LedgerError(f"no proposal {pid}")
            current = self._proposal(s, row)
            if current.status != APPROVED or current.tier_required != Tier.PEER.value:
                raise LedgerError(
                    f"only approved peer-tier proposals are reviewed; {pid} is {current.status} "
                    f"at {current.tier_required} tier"
                )
            if current.reviews:
                first = current.reviews[0]
                raise LedgerError(f"{pid} was already reviewed by {first.reviewer} ({first.verdict})")
            involved = [current.requested_by] + [d.actor for d in current.decisions if d.decision in AGREEING]
            if any(same_person(reviewer, x) for x in involved):
                raise LedgerError(f"{reviewer} took part in {pid} and cannot review it; another reviewer must")
            now = _now()
            pk = s.execute(
                insert(t.reviews).values(
                    proposal_id=row["id"], reviewer=reviewer, verdict=verdict, note=note, created_at=now
                )
            ).inserted_primary_key[0]
            review_row = self._row(s, t.reviews, pk)
            self._append(s, "review", row, "reviews", review_row, None, now)
            return self._proposal(s, row)

    # -- attachments ------------------------------------------------------------------------------
    def record_attachment(
        self,
        conversation_id: str,
        sha256: str,
        *,
        media_type: str,
        size: int,
        width: int,
        height: int,
        before_commit: Callable[[], None] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Record a photo kept for a conversation, with its audit event; (row, created).

        Idempotent on (conversation_id, sha256): the same photo again returns the row already
        there with created=False and writes nothing. The row names the conversation's newest
        open (offered or pending) proposal, if any. `before_commit` runs inside the transaction
        after the audit event is appended, i.e. holding the chain lock: if it raises, nothing is
        recorded.
        """
        conversation_id = str(conversation_id or "").strip()
        if not conversation_id or len(conversation_id) > 128:
            raise LedgerError("an attachment needs a conversation id of 1 to 128 characters")
        if media_type not in t.ATTACHMENT_TYPES:
            raise LedgerError(f"an attachment is one of {', '.join(t.ATTACHMENT_TYPES)}, not {media_type!r}")
        where = (t.attachments.c.conversation_id == conversation_id, t.attachments.c.sha256 == sha256)
        for _attempt in range(3):
            try:
                with unit_of_work(self._write) as s:
                    found = s.execute(select(t.attachments).where(*where)).mappings().first()
                    if found is not None:
                        return dict(found), False
                    open_case = s.execute(
                        select(t.proposals.c.public_id)
                        .where(
                            t.proposals.c.conversation_id == conversation_id,
                            t.proposals.c.status.in_(OPEN_STATUSES),
                        )
                        .order_by(t.proposals.c.created_at.desc(), t.proposals.c.id.desc())
                        .limit(1)
                    ).scalar()
                    now = _now()
                    pk = s.execute(
                        insert(t.attachments).values(
                            conversation_id=conversation_id,
                            sha256=sha256,
                            media_type=media_type,
                            size=int(size),
                            width=int(width),
                            height=int(height),
                            proposal_public_id=open_case,
                            created_at=now,
                        )
                    ).inserted_primary_key[0]
                    row = self._row(s, t.attachments, pk)
                    # No proposal yet is normal (the photo may come first): the event then names none.
                    self._append(s, "attachment_added", {"public_id": open_case or ""}, "attachments", row, None, now)
                    if before_commit is not None:
                        before_commit()
                    return row, True
            except IntegrityError:
                continue  # the same photo from the same chat, a moment ago (PostgreSQL): read it back
        raise LedgerError(f"could not record the photo for conversation {conversation_id!r}: it kept colliding")

    def attachments(self, *, conversation_id: str | None = None, sha256: str | None = None) -> builtins.list[dict]:
        """Attachment rows, oldest first, of one conversation and/or one sha256 (at least one)."""
        if conversation_id is None and sha256 is None:
            raise LedgerError("attachments are listed by conversation or by sha256")
        query = select(t.attachments).order_by(t.attachments.c.id)
        if conversation_id is not None:
            query = query.where(t.attachments.c.conversation_id == conversation_id)
        if sha256 is not None:
            query = query.where(t.attachments.c.sha256 == sha256)
        with unit_of_work(self._read) as s:
            return [dict(row) for row in s.execute(query).mappings()]

    def release_attachment_file(self, sha256: str, remove: Callable[[], None]) -> bool:
        """Call `remove()` (which deletes the file named `sha256`) only if no attachment row
        refers to it, holding the chain lock, so a concurrent `record_attachment` of the same
        photo either committed first (and the file stays) or runs after (and puts it back)."""
        with unit_of_work(self._write) as s:
            self._lock_chain(s)
            used = s.execute(select(t.attachments.c.id).where(t.attachments.c.sha256 == sha256).limit(1)).first()
            if used is not None:
                return False
            remove()
            return True

    # -- audit chain ------------------------------------------------------------------------------
    @staticmethod
    def _lock_chain(s: Session) -> None:
        if not is_sqlite(s):  # SQLite: the write unit of work's BEGIN IMMEDIATE already holds the lock
            s.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": CHAIN_LOCK_KEY})

    def _chain_head(self, s: Session) -> tuple[int, str]:
        """Take the chain lock, then read (last id, last hash): what the next append links to."""
        self._lock_chain(s)
        last = s.execute(
            select(t.audit_events.c.id, t.audit_events.c.hash).order_by(t.audit_events.c.id.desc()).limit(1)
        ).first()
        return (int(last.id), str(last.hash)) if last is not None else (0, GENESIS_HASH)

    def _append(
        self,
        s: Session,
        kind: str,
        proposal_row: Mapping[str, Any],
        table: str,
        row: Mapping[str, Any],
        change: dict | None,
        now: datetime,
    ) -> None:
        last_id, prev_hash = self._chain_head(s)
        s.execute(
            insert(t.audit_events).values(**_event(last_id + 1, prev_hash, kind, proposal_row, table, row, change, now))
        )

    def head(self) -> tuple[int, str]:
        """(number of audit events, hash of the last one): what an anchor records. Events are
        numbered 1..n without gaps, so the last id is the count."""
        with unit_of_work(self._read) as s:
            last = s.execute(
                select(t.audit_events.c.id, t.audit_events.c.hash).order_by(t.audit_events.c.id.desc()).limit(1)
            ).first()
        return (0, GENESIS_HASH) if last is None else (int(last.id), str(last.hash))

    def verify(self, anchors: Sequence[Any] = ()) -> VerifyReport:
        """Walk the audit chain and compare it with the tables.

        Catches: an edited event (hash), a broken link (prev_hash), a deleted event (ids not
        contiguous), an edited proposal/decision/review row (differs from its last event),
        a deleted row (its last event has no row), a row written around the ledger (no
        event) and a row or event whose stored bytes no longer decode. A deleted or
        rewritten tail of the chain is caught with `anchors` (makegood.ledger.anchor.Anchor,
        read from a head-anchor log kept elsewhere): each anchored (events, head_hash) must
        still be in the chain at its position.

        Never raises for what it finds: an unreadable database is a problem in the report.
        """
        try:
            return self._verify(anchors)
        except StoreUnavailable as exc:
            problem = f"the ledger cannot be read: {exc}"
        except sa_exc.SQLAlchemyError as exc:
            problem = f"the ledger cannot be read (the database may be corrupt): {_db_reason(exc)}"
        return VerifyReport(ok=False, checked=0, problems=[problem], head_hash="", anchors=0)

    def _verify(self, anchors: Sequence[Any]) -> VerifyReport:
        problems: list[str] = []
        last_event: dict[tuple[str, int], tuple[int, str, dict, str]] = {}
        checked = 0
        expected_id = 1
        prev_hash: str | None = GENESIS_HASH
        anchored = {int(a.events) for a in anchors}
        hashes_at: dict[int, str] = {}
        with unit_of_work(self._read) as s:
            missing_tables = [
                name for name in ("audit_events", *_TABLES) if not sa_inspect(s.connection()).has_table(name)
            ]
            if missing_tables:
                return VerifyReport(
                    ok=False,
                    checked=0,
                    head_hash="",
                    anchors=0,
                    problems=[
                        f"the database has no ledger tables ({', '.join(missing_tables)} missing): it is not the "
                        f"ledger's database, or it was never migrated (makegood db upgrade)"
                    ],
                )
            events = select(*[t.audit_events.c[name] for name in _EVENT_COLUMNS]).order_by(t.audit_events.c.id)
            for event_id, ev, error in _readable(s, events, t.audit_events):
                checked += 1
                if ev is None:
                    problems.append(
                        f"audit event {event_id} cannot be read ({_short(error)}): its stored bytes "
                        f"were changed outside the ledger"
                    )
                    expected_id, prev_hash = event_id + 1, None
                    continue
                label = f"audit event {ev['id']} ({ev['kind']} on {ev['proposal_public_id'] or 'no proposal'})"
                if ev["id"] != expected_id:
                    if expected_id == 1:
                        problems.append(
                            f"audit events 1 to {ev['id'] - 1} are missing: the start of the chain was deleted"
                        )
                    elif ev["id"] > expected_id:
                        missing = (
                            f"event {expected_id} is"
                            if ev["id"] == expected_id + 1
                            else f"events {expected_id} to {ev['id'] - 1} are"
                        )
                        problems.append(
                            f"audit {missing} missing: ids jump from {expected_id - 1} to {ev['id']} "
                            f"(deleted from the chain)"
                        )
                elif prev_hash is not None and ev["prev_hash"] != prev_hash:
                    problems.append(
                        f"{label}: its prev_hash does not match the hash of event {ev['id'] - 1} "
                        f"(the chain was broken or rewritten)"
                    )
                try:
                    intact = chain_hash(ev["prev_hash"], ev["kind"], ev["payload"], ev["row_digest"]) == ev["hash"]
                except (TypeError, ValueError, AttributeError):
                    intact = False
                if not intact:
                    problems.append(f"{label}: its hash does not match its content (the event was edited)")
                expected_id = ev["id"] + 1
                prev_hash = ev["hash"]
                if ev["id"] in anchored:
                    hashes_at[ev["id"]] = ev["hash"]
                try:
                    payload = json.loads(ev["payload"])
                    table, row = payload["table"], payload["row"]
                    key = (table, int(row["id"]))
                    digest_ok = row_digest(row) == ev["row_digest"]
                except (ValueError, KeyError, TypeError, AttributeError):
                    problems.append(f"{label}: its payload is not a readable audit record")
                    continue
                if not digest_ok:
                    problems.append(f"{label}: its row_digest does not match the row in its payload")
                last_event[key] = (ev["id"], ev["row_digest"], row, ev["proposal_public_id"])
            last_id = expected_id - 1

            public_ids = dict(s.execute(select(t.proposals.c.id, t.proposals.c.public_id)).all())
            seen: set[tuple[str, int]] = set()
            for table_name, table in _TABLES.items():
                for row_id, row, error in _readable(s, select(table).order_by(table.c.id), table):
                    key = (table_name, row_id)
                    seen.add(key)
                    if row is None:
                        owner = f"{table_name[:-1]} row {row_id}"
                        problems.append(
                            f"{owner} cannot be read ({_short(error)}): its stored bytes were changed "
                            f"outside the ledger"
                        )
                        continue
                    what = _describe(table_name, row, public_ids)
                    if key not in last_event:
                        problems.append(f"{what} has no audit event: it was written around the ledger")
                        continue
                    event_id, digest, logged, _pid = last_event[key]
                    snapshot = row_snapshot(row)
                    if row_digest(snapshot) != digest:
                        fields = sorted(k for k in set(snapshot) | set(logged) if snapshot.get(k) != logged.get(k))
                        problems.append(
                            f"{what} does not match its last audit event {event_id}: "
                            f"{', '.join(fields) or 'its content'} changed outside the ledger"
                        )
            for key, (event_id, _digest, logged, pid) in last_event.items():
                if key not in seen:
                    table_name, row_id = key
                    what = _describe(table_name, logged, {}, pid)
                    problems.append(f"{what} is missing: it was deleted after audit event {event_id}")
        for a in anchors:
            problems.extend(_anchor_problems(a, last_id, hashes_at))
        return VerifyReport(
            ok=not problems,
            checked=checked,
            problems=problems,
            head_hash=prev_hash if prev_hash is not None else "",
            anchors=len(anchors),
        )

    # -- rows -> dataclasses ----------------------------------------------------------------------
    @staticmethod
    def _find_row(s: Session, conversation_id: str, turn_key: str):
        return (
            s.execute(
                select(t.proposals).where(
                    t.proposals.c.conversation_id == str(conversation_id).strip(),
                    t.proposals.c.turn_key == str(turn_key).strip(),
                )
            )
            .mappings()
            .first()
        )

    @staticmethod
    def _row(s: Session, table, pk: int) -> dict[str, Any]:
        return dict(s.execute(select(table).where(table.c.id == pk)).mappings().one())

    def _proposal_row(self, s: Session, pk: int) -> dict[str, Any]:
        return self._row(s, t.proposals, pk)

    def _proposal(self, s: Session, row: Mapping[str, Any]) -> Proposal:
        return self._proposals(s, [row])[0]

    def _proposals(self, s: Session, rows: Sequence[Mapping[str, Any]]) -> builtins.list[Proposal]:
        ids = [row["id"] for row in rows]
        decisions: dict[int, list[Decision]] = {i: [] for i in ids}
        reviews: dict[int, list[Review]] = {i: [] for i in ids}
        if ids:
            for d in s.execute(
                select(t.decisions).where(t.decisions.c.proposal_id.in_(ids)).order_by(t.decisions.c.id)
            ).mappings():
                decisions[d["proposal_id"]].append(
                    Decision(
                        id=d["id"],
                        actor=d["actor"],
                        role=d["role"],
                        decision=d["decision"],
                        tier=d["tier"],
                        note=d["note"],
                        created_at=d["created_at"],
                    )
                )
            for r in s.execute(
                select(t.reviews).where(t.reviews.c.proposal_id.in_(ids)).order_by(t.reviews.c.id)
            ).mappings():
                reviews[r["proposal_id"]].append(
                    Review(
                        id=r["id"],
                        reviewer=r["reviewer"],
                        verdict=r["verdict"],
                        note=r["note"],
                        created_at=r["created_at"],
                    )
                )
        return [_to_proposal(row, decisions[row["id"]], reviews[row["id"]]) for row in rows]


def _to_proposal(
    row: Mapping[str, Any], decisions: Iterable[Decision], reviews: Iterable[Review], created: bool = False
) -> Proposal:
    return Proposal(
        public_id=row["public_id"],
        conversation_id=row["conversation_id"],
        turn_key=row["turn_key"],
        channel=row["channel"],
        situation=row["situation"],
        customer_id=row["customer_id"],
        order_id=row["order_id"],
        facts=row["facts"] or {},
        options_offered=row["options_offered"] or [],
        option_chosen=row["option_chosen"],
        customer_ask=row["customer_ask"],
        context=row["context"] or {},
        policy_version=row["policy_version"],
        tier_required=row["tier_required"],
        requested_by=row["requested_by"],
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        decisions=list(decisions),
        reviews=list(reviews),
        created=created,
    )


def _created(p: Proposal) -> Proposal:
    return replace(p, created=True)


def _draw_public_id() -> str:
    """A random public id: one draw from the secrets module, written in PUBLIC_ID_ALPHABET."""
    n = secrets.randbelow(len(PUBLIC_ID_ALPHABET) ** PUBLIC_ID_LENGTH)
    letters = []
    for _ in range(PUBLIC_ID_LENGTH):
        n, digit = divmod(n, len(PUBLIC_ID_ALPHABET))
        letters.append(PUBLIC_ID_ALPHABET[digit])
    return "P-" + "".join(letters)


def _event(
    event_id: int,
    prev_hash: str,
    kind: str,
    proposal_row: Mapping[str, Any],
    table: str,
    row: Mapping[str, Any],
    change: dict | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The audit_events row that appends `row` to the chain after `prev_hash`."""
    at = now if now is not None else row["created_at"]
    payload, digest = audit_record(at, change, table, row)
    return {
        "id": event_id,
        "created_at": at,
        "kind": kind,
        "proposal_public_id": proposal_row["public_id"],
        "payload": payload,
        "row_digest": digest,
        "prev_hash": prev_hash,
        "hash": chain_hash(prev_hash, kind, payload, digest),
    }


_AGAIN = object()  # log_proposal: hand this write in again, in the next group


class _Collided(Exception):
    """A group kept colliding with concurrent writers (IntegrityError on every attempt)."""


class _GroupFailed(Exception):
    """The database failed during a group; `committing`: while committing it (outcome unknown)."""

    def __init__(self, error: BaseException, *, committing: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.committing = committing


def _describe(table: str, row: Mapping[str, Any], public_ids: Mapping[int, str], pid: str | None = None) -> str:
    if table == "proposals":
        return f"proposal {row.get('public_id') or pid} (row {row.get('id')})"
    if table == "attachments":
        return (
            f"attachment {row.get('id')} ({str(row.get('sha256') or '')[:12]}… "
            f"in conversation {row.get('conversation_id')})"
        )
    proposal_row = row.get("proposal_id")
    owner = (
        (public_ids.get(proposal_row) if proposal_row is not None else None) or pid or f"proposal row {proposal_row}"
    )
    noun = "decision" if table == "decisions" else "review"
    return f"{noun} {row.get('id')} on {owner}"


# -- verify(): reading what may be damaged -------------------------------------------------------------
_EVENT_COLUMNS = ("id", "kind", "proposal_public_id", "payload", "row_digest", "prev_hash", "hash")
# What decoding a damaged value raises (a datetime that is not one, JSON that is not JSON, money
# that is not a number), as opposed to the database itself failing.
_UNDECODABLE = (ValueError, TypeError, ArithmeticError, UnicodeError, KeyError, OverflowError)


def _readable(s: Session, query: Any, table: Any) -> Iterable[tuple[int, dict | None, BaseException | None]]:
    """(id, row as a dict, None) for every row of `query`, in id order; (id, None, error) for a
    row whose stored values no longer decode. Streams; only after a row fails to decode does
    it go on one row at a time, so one bad row never hides the others."""
    last: int | None = None
    try:
        for row in s.execute(query).mappings():
            values = dict(row)
            last = int(values["id"])
            yield last, values, None
        return
    except _UNDECODABLE:
        pass
    ids = select(table.c.id).order_by(table.c.id)
    if last is not None:
        ids = ids.where(table.c.id > last)
    for pk in list(s.execute(ids).scalars()):
        try:
            values = dict(s.execute(query.where(table.c.id == pk)).mappings().one())
        except _UNDECODABLE as exc:
            yield int(pk), None, exc
            continue
        yield int(pk), values, None


def _short(exc: BaseException | None) -> str:
    text = " ".join(str(exc or "").split())
    return (text[:120] + "...") if len(text) > 120 else (text or type(exc).__name__)


def _db_reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return _short(original)


def _anchor_problems(anchor: Any, last_id: int, hashes_at: Mapping[int, str]) -> list[str]:
    """What an anchored head says about the chain: it must still hold event `anchor.events`
    with hash `anchor.head_hash`."""
    n, expected = int(anchor.events), str(anchor.head_hash)
    where = f"the anchor of {anchor.at}" + (f" ({anchor.source} line {anchor.line})" if anchor.line else "")
    if n == 0:
        return (
            []
            if expected == GENESIS_HASH
            else [f"{where} records 0 events but a head hash: it is not an anchor of this ledger"]
        )
    if n > last_id:
        return [
            f"{where} records {n} events, but the chain now ends at event {last_id}: "
            f"{'every event was' if last_id == 0 else 'events after it were'} deleted (the tail is gone)"
        ]
    found = hashes_at.get(n)
    if found is None:
        return [f"{where} records event {n}, which is missing or unreadable"]
    if found != expected:
        return [
            f"{where} records event {n} with hash {expected[:16]}..., but the chain has {found[:16]}... there: "
            f"the chain was rewritten at or before event {n}"
        ]
    return []
